"""The read paths' statements compiled ahead (clm/storage/read_sql.py): current with the
statements the domain writes, and read the same through the sqlite3 module as through the
engine."""

import subprocess
import sys

import pytest

from clm.domain.read_statements import generated, target
from tests.conftest import clm_alone


def test_the_compiled_statements_are_current():
    # Stale: run `python -m clm.domain.read_statements` and commit clm/storage/read_sql.py.
    assert target().read_text() == generated(), "clm/storage/read_sql.py is stale"


@pytest.mark.sqlite_only("the sqlite3 module's path and the engine's, on one file")
def test_the_agenda_reads_the_same_without_the_engine(clm, db_path):
    clm("demo")
    clm("--db", db_path.parent / "clm-demo.db", "db", "copy", db_path)
    for who in ((), ("--as", "alice"), ("--as", "amy")):
        fast = (clm(*who).stdout, clm(*who, "agenda", "-f", "json").stdout)
        journal = db_path.with_name(f"{db_path.name}-journal")
        journal.write_bytes(b"")  # not a hot journal: the engine opens the file as usual
        try:
            usual = (clm(*who).stdout, clm(*who, "agenda", "-f", "json").stdout)
        finally:
            journal.unlink()
        assert fast == usual
        assert "Overdue (" in fast[0]


@pytest.mark.sqlite_only("a file read without the engine")
def test_the_agenda_on_a_file_does_not_load_sqlalchemy(clm, db_path):
    clm("demo")
    book = db_path.parent / "clm-demo.db"
    loaded, out = clm_alone("--db", book, "--as", "alice")
    assert not loaded
    assert "Agenda of 2026-11-23, for alice" in out


@pytest.mark.sqlite_only("a lock on the file")
def test_the_agenda_waits_for_a_writer_then_says_busy_in_one_line(clm, db_path):
    import os
    import sqlite3

    clm("customer", "add", "Acme", "--renewal", "+3d")
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # a writer committing: no reader may start
    try:
        env = os.environ | {"CLM_BUSY_TIMEOUT": "0.3"}
        command = [sys.executable, "-m", "clm", "--db", str(db_path)]
        result = subprocess.run(command, capture_output=True, text=True, env=env)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1
    assert result.stderr == "Error: database busy: another clm is writing; try again in a moment\n"
    assert "clm customer renew acme" in clm().stdout
