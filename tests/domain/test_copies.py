"""Conflicted copies beside the db: every sync service's naming, confirmed by lineage."""

import shutil
import sqlite3

import pytest

from clm.domain.conflicted_copies import find_copies

pytestmark = pytest.mark.sqlite_only("conflicted copies are files beside a SQLite db")

COPIES = {
    "clm (Mia's conflicted copy 2026-11-20).db": "Dropbox",
    "clm (Sam Smith's conflicted copy 2026-11-20 (1)).db": "Dropbox",
    "clm.sync-conflict-20261120-142233-ABCDEF7.db": "Syncthing",
    "clm (conflicted copy mia 2026-11-20 142233).db": "Nextcloud",
    "clm-LAPTOP-MIA.db": "OneDrive",
    "clm 2.db": "iCloud",
    "clm (1).db": "Google Drive or Box",
    "customers-archive.db": "renamed",
}


@pytest.fixture
def book(clm, db_path):
    clm("customer", "add", "Acme")
    return db_path


@pytest.mark.parametrize(("name", "service"), COPIES.items())
def test_every_conflicted_copy_pattern_is_found(clm, book, name, service):
    shutil.copyfile(book, book.with_name(name))
    [copy] = find_copies(book)
    assert (copy.path.name, copy.service) == (name, service)
    result = clm("customer", "list")
    # Every command warns of a sync service's conflicted copy; a copy made by hand (renamed)
    # is often meant: `db check` lists it.
    warning = (
        f"Warning: 1 conflicted copy of clm.db beside it ({name}): "
        "clm db check shows them, clm db merge FILE folds one in\n"
    )
    assert result.stderr == ("" if service == "renamed" else warning)
    out = clm("db", "check").stdout
    kind = "copy" if service == "renamed" else "conflicted copy"
    assert f"{kind} ({service}): {book.with_name(name)}\n  merge it: clm db merge" in out


def test_a_merged_copy_is_no_longer_one_to_merge_until_it_changes(clm, book):
    copy = book.with_name("clm (1).db")
    shutil.copyfile(book, copy)
    clm("--db", copy, "customer", "add", "Globex")
    assert "1 conflicted copy" in clm("customer", "list").stderr
    assert clm("db", "merge", copy).stderr.endswith(": the copy can be deleted now.\n")
    assert clm("customer", "list").stderr == ""
    assert "merged, and unchanged since: it can be deleted" in clm("db", "check").stdout
    clm("--db", copy, "customer", "add", "Initech")  # changed again: to merge again
    assert "1 conflicted copy" in clm("customer", "list").stderr
    assert "merge it: clm db merge" in clm("db", "check").stdout


def test_no_false_positives(clm, book, tmp_path):
    # Named like a copy but another database; a journal, clm's backups, exports, a db backup.
    other = tmp_path / "other"
    other.mkdir()
    clm("--db", other / "clm.db", "init")
    shutil.copyfile(other / "clm.db", tmp_path / "clm (1).db")
    shutil.copyfile(other / "clm.db", tmp_path / "clm-old.db")
    (tmp_path / "clm 2.db").write_text("not a database")
    sqlite3.connect(tmp_path / "clm-notes.db").execute("CREATE TABLE t (x)").connection.close()
    shutil.copyfile(book, tmp_path / "clm.db.before-merge-20261120T101010.bak")
    clm("export", "customers", "--output", tmp_path / "clm-export.csv")
    clm("db", "backup", tmp_path / "clm-backup.db")
    assert find_copies(book) == []
    assert clm("customer", "list").stderr == ""
    assert "conflicted" not in clm("db", "check").stdout


def test_help_and_version_do_not_look_for_copies(clm, book):
    shutil.copyfile(book, book.with_name("clm (1).db"))
    assert clm("--help").stderr == ""
    assert clm("--version").stderr == ""
    assert clm("customer", "--help").stderr == ""
