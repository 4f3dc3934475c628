"""`clm init`, `clm demo`, `clm db …`, and how the database file is created and opened."""

import sqlite3
import stat

import pytest

from clm.storage.migrations import SCHEMA_VERSION
from tests.conftest import ON_PG, dump, sql


@pytest.mark.sqlite_only("the file's mode and journal")
def test_first_use_creates_a_private_db_in_rollback_journal_mode(clm, tmp_path, monkeypatch):
    # The default place is the one a first command makes (any other path needs `clm init`).
    monkeypatch.delenv("CLM_DB")
    db_path = tmp_path / "data" / "clm" / "clm.db"
    assert not db_path.exists()
    clm("customer", "list")
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    version = conn.execute("SELECT value FROM clm_meta WHERE key='schema_version'").fetchone()[0]
    assert version == str(SCHEMA_VERSION)


def test_default_db_lives_in_the_user_data_dir(clm, tmp_path, monkeypatch):
    monkeypatch.delenv("CLM_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert clm("db", "path").stdout == f"{tmp_path}/data/clm/clm.db\n"
    clm("customer", "add", "Acme")
    assert (tmp_path / "data" / "clm" / "clm.db").exists()


def test_db_option_beats_the_environment(clm, tmp_path):
    clm("--db", tmp_path / "other.db", "init")
    clm("--db", tmp_path / "other.db", "customer", "add", "Acme")
    assert clm.json("customer", "list") == []
    assert len(clm.json("--db", f"sqlite:///{tmp_path}/other.db", "customer", "list")) == 1


def test_a_password_on_the_command_line_is_refused(clm):
    error = clm.error("--db", "postgresql://me:secret@localhost/clm", "customer", "list")
    assert "CLM_DB" in error and "PGPASSWORD" in error and "secret" not in error


def test_unsupported_url(clm):
    assert "unsupported database 'mysql://x/y'" in clm.error(
        "--db", "mysql://x/y", "customer", "list"
    )


def test_invalid_today(clm):
    assert "invalid --today '2026-02-30'" in clm.error("--today", "2026-02-30", "customer", "list")


@pytest.mark.sqlite_only("the old file is kept beside the new one")
def test_init_refuses_an_existing_db_and_force_keeps_a_backup(clm, db_path, tmp_path):
    clm("customer", "add", "Acme")
    before = dump(db_path)
    assert "pass --force" in clm.error("init")
    assert dump(db_path) == before
    result = clm("init", "--force", "--template", "simple")
    assert "Saved the old database as" in result.stderr
    assert [s["key"] for s in clm.json("stage", "list")] == [
        "onboarding",
        "active",
        "renewal",
        "churned",
    ]
    assert clm.json("customer", "list") == []
    [backup] = tmp_path.glob("clm.db.before-init-*.bak")
    assert dump(backup) == before


def test_init_force_recreates_the_database_on_any_backend(clm):
    clm("customer", "add", "Acme")
    refusal = clm.error("init")
    assert "pass --force" in refusal
    # A file is set aside as a backup; a server is copied into a file first: it says which.
    assert ("a copy is saved as a SQLite file" in refusal) == ON_PG
    clm("init", "--force", "--yes", "--template", "simple")
    assert [s["key"] for s in clm.json("stage", "list")] == [
        "onboarding",
        "active",
        "renewal",
        "churned",
    ]
    assert clm.json("customer", "list") == []
    assert clm.json("milestone", "list") == []


def test_init_unknown_template(clm):
    assert clm.error("init", "--template", "nope") == (
        "Error: unknown template 'nope': use one of default, simple"
    )


def test_a_file_that_is_not_a_clm_db_is_refused(clm, tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (x)").connection.commit()
    assert clm.error("--db", other, "customer", "list") == f"Error: {other} is not a clm database"


def test_a_file_that_is_not_sqlite_or_is_unreadable_is_refused_in_one_line(clm, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("name,arr\nacme,100\n")
    for command in (("customer", "list"), ("db", "check"), ("db", "migrate")):
        assert clm.error("--db", junk, *command) == (
            f"Error: '{junk}' is not a SQLite database: name a clm database, or a new file to "
            "create one"
        )
    assert junk.read_text() == "name,arr\nacme,100\n"
    torn = tmp_path / "torn.db"
    torn.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    assert clm.error("--db", torn, "customer", "list") == (
        f"Error: {torn} is damaged (file is not a database): no backup was found beside it: "
        "restore a copy you keep elsewhere"
    )


def test_a_db_path_in_a_missing_directory_is_refused_not_made(clm, tmp_path, db_path):
    missing = tmp_path / "no" / "such" / "dir"
    assert clm.error("--db", missing / "clm.db", "db", "check") == (
        f"Error: no directory '{missing}' for 'clm.db': create it first"
    )
    assert not (tmp_path / "no").exists()
    clm("customer", "add", "Acme")
    if not ON_PG:
        assert clm.error("db", "backup", missing / "b.db") == (
            f"Error: no directory '{missing}' for 'b.db': create it first"
        )
        assert not (tmp_path / "no").exists()


def test_a_newer_schema_is_refused(clm, db_path):
    clm("stage", "list")
    sql(db_path, "UPDATE clm_meta SET value='99' WHERE key='schema_version'")
    assert (
        f"schema version 99, newer than this clm knows ({SCHEMA_VERSION}): upgrade clm"
        in clm.error("stage", "list")
    )


@pytest.mark.sqlite_only("integrity checks and backups of the file")
def test_db_check_and_backup(clm, db_path, tmp_path):
    clm("customer", "add", "Acme")
    out = clm("db", "check").stdout
    assert out == f"database: {db_path}\nschema version: {SCHEMA_VERSION}\nintegrity: ok\n"
    clm("db", "backup", tmp_path / "copy.db")
    assert stat.S_IMODE((tmp_path / "copy.db").stat().st_mode) == 0o600
    # The same rows, and a mark that tells it from a conflicted copy.
    copied = dict(dump(tmp_path / "copy.db"))
    assert copied["clm_meta"][0].startswith("('backup_at', ")
    copied["clm_meta"] = copied["clm_meta"][1:]
    assert copied == dict(dump(db_path))
    assert "already exists" in clm.error("db", "backup", tmp_path / "copy.db")


def test_demo_is_deterministic_and_only_overwrites_a_demo(clm, db_path):
    result = clm("demo", "--customers", "12")
    assert "Then try:" in result.stderr
    first = clm.json("--db", "clm-demo.db", "customer", "list")
    assert len(first) == 12
    assert {c["stage"] for c in first} >= {"lead", "onboarding", "adopting", "churned"}
    clm("demo", "--customers", "12")
    again = clm.json("--db", "clm-demo.db", "customer", "list")
    assert [c | {"uuid": ""} for c in again] == [c | {"uuid": ""} for c in first]
    clm("customer", "add", "Real")
    assert "not a demo" in clm.error("--db", str(db_path), "demo")
