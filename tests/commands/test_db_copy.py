"""`clm db copy`: a whole database into an empty one, and back. On the PostgreSQL run the
middle of each round trip is the test's server schema: file -> server -> file."""

import stat

import pytest

from clm.storage.migrations import SCHEMA_VERSION
from tests.commands.test_transfer import FORMATS
from tests.conftest import ON_PG, dump, latest_values, sql

TABLES = ("customers", "milestones", "tasks", "ctas", "transitions", "notes", "users")


@pytest.fixture
def book_file(clm, tmp_path):
    """A SQLite book with history of every kind: moves, notes, reminders fired, rule firings,
    CTAs, playbook tasks, a removed customer."""
    book = tmp_path / "book.db"
    clm("--db", book, "demo", "--customers", "12")
    clm("--db", book, "milestone", "block", "1", "--reason", 'waiting, "as usual"')
    clm("--db", book, "customer", "rm", "initech-corp", "--yes")
    clm("--db", book, "--today", "2026-12-15", "tick")
    return book


def exports(clm, db) -> dict:
    return {
        (table, fmt): clm("--db", db, "export", table, "-f", fmt).stdout
        for table in TABLES
        for fmt in FORMATS
    }


def test_file_to_the_test_database_and_back_keeps_every_row_and_export(
    clm, book_file, db_path, tmp_path
):
    original = exports(clm, book_file)
    result = clm("--db", book_file, "db", "copy", db_path)
    assert result.stderr.startswith("Copied ") and result.stderr.count("\n") == 1  # no bar
    assert exports(clm, db_path) == original
    assert latest_values(db_path) == latest_values(book_file) != []
    back = tmp_path / "back.db"
    clm("--db", db_path, "db", "copy", back)
    assert stat.S_IMODE(back.stat().st_mode) == 0o600
    assert exports(clm, back) == original
    assert dump(back) == dump(book_file)  # every table, history and meta included


def test_the_copy_goes_on_where_the_original_left_off(clm, book_file, db_path):
    clm("--db", book_file, "db", "copy", db_path)
    [(last,)] = sql(book_file, "SELECT max(id) FROM customers")  # the removed one too
    assert clm.json("--today", "2026-12-15", "tick")["reminders"] == []  # fired already
    clm("customer", "add", "Newco")
    assert sql(db_path, "SELECT id FROM customers WHERE slug = 'newco'") == [(last + 1,)]


def test_a_copy_never_overwrites(clm, book_file, db_path, tmp_path):
    clm("customer", "add", "Acme")
    before = dump(db_path)
    error = clm.error("--db", book_file, "db", "copy", db_path)
    assert "not empty" in error or "already exists" in error
    assert dump(db_path) == before
    other = tmp_path / "other.db"
    other.write_text("x")
    assert clm.error("--db", book_file, "db", "copy", other) == (
        f"Error: '{other}' already exists: copy into a new file"
    )
    assert other.read_text() == "x"


def test_a_password_on_the_command_line_is_refused(clm, book_file):
    error = clm.error("--db", book_file, "db", "copy", "postgresql://me:secret@localhost/clm")
    assert "PGPASSWORD" in error and "secret" not in error


def test_an_unknown_destination_is_refused(clm, book_file, tmp_path):
    assert "unsupported database" in clm.error("--db", book_file, "db", "copy", "mysql://x/y")
    assert not list(tmp_path.glob("*.db-journal"))


def test_a_failed_copy_is_removed(clm, book_file, db_path, tmp_path, monkeypatch):
    def broken(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("clm.domain.db_copy._verify", broken)
    with pytest.raises(AssertionError, match="disk on fire"):
        clm("--db", book_file, "db", "copy", tmp_path / "half.db")
    assert not (tmp_path / "half.db").exists()
    with pytest.raises(AssertionError, match="disk on fire"):
        clm("--db", book_file, "db", "copy", db_path)
    monkeypatch.undo()
    clm("--db", book_file, "db", "copy", db_path)  # empty again: the copy can be rerun


@pytest.mark.pg_only
def test_db_check_on_a_server_reports_the_connection_and_versions(clm):
    lines = clm("db", "check").stdout.splitlines()
    assert lines[0].startswith("database: postgresql://")
    assert lines[1].startswith("connection: ok (as ")
    assert lines[2].startswith("server: PostgreSQL ")
    assert lines[3] == f"schema version: {SCHEMA_VERSION}"


@pytest.mark.pg_only
def test_backup_on_a_server_points_to_pg_dump(clm, tmp_path):
    error = clm.error("db", "backup", tmp_path / "b.db")
    assert "for SQLite files" in error and "pg_dump" in error
    assert not (tmp_path / "b.db").exists()


@pytest.mark.pg_only
def test_server_sessions_read_timestamps_in_utc(clm, db_path, monkeypatch):
    from clm.db import Database
    from clm.domain.new_book import install_template

    monkeypatch.setenv("PGTZ", "America/New_York")
    assert sql(db_path, "SHOW TimeZone") == [("America/New_York",)]
    database = Database.open(str(db_path), on_create=install_template)
    with database.read() as conn:
        assert conn.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"


def test_the_test_database_is_the_backend_asked_for(db_path):
    assert str(db_path).startswith("postgresql://") == ON_PG
