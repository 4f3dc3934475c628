"""`clm export` as csv of a file: run through the statements compiled ahead with the sqlite3
module alone (no SQLAlchemy imported), and written exactly as the engine's path writes it."""

import os
import subprocess
import sys

import pytest

from tests.conftest import clm_alone

TABLES = ("customers", "milestones", "tasks")


def _exports(clm, db_path) -> dict[str, str]:
    return {table: clm("export", table).stdout for table in TABLES}


def _through_the_engine(clm, db_path) -> dict[str, str]:
    """The same exports with a (cold) journal beside the file: the engine opens it as usual."""
    journal = db_path.with_name(f"{db_path.name}-journal")
    journal.write_bytes(b"")
    try:
        return _exports(clm, db_path)
    finally:
        journal.unlink()


@pytest.fixture
def book(clm, db_path):
    """The demo book, and rows the csv writer must see: a comma, a quote and a newline in a
    cell, a tag and a title starting like a formula, collaborators, several reminders."""
    clm("demo")
    clm("--db", db_path.parent / "clm-demo.db", "db", "copy", db_path)
    clm("customer", "add", "Quote, Inc", "--slug", "quote", "--tag", "=cmd", "--tag", "b")
    clm("customer", "add", "Plain", "--slug", "plain", "--tag", "-1", "--source", "+x")
    clm("milestone", "add", "quote", 'Say "hi",\nthen go', "--due", "2026-12-01")
    clm("milestone", "add", "plain", "=SUM(A1)", "--due", "2026-12-02", "--remind", "1w",
        "--remind", "2d", "--collaborator", "alice")  # fmt: skip
    return db_path


@pytest.mark.sqlite_only("a file read without the engine")
def test_csv_exports_of_a_file_match_the_engines(clm, book):
    fast = _exports(clm, book)
    assert fast == _through_the_engine(clm, book)
    assert '"Say ""hi"",\nthen go"' in fast["milestones"]
    assert "'=SUM(A1)" in fast["milestones"] and ",2d;1w," in fast["milestones"]
    assert "'=cmd;b" in fast["customers"] and ",'-1," in fast["customers"]
    assert ",'+x," in fast["customers"]


@pytest.mark.sqlite_only("a file read without the engine")
def test_a_csv_export_of_a_file_does_not_load_sqlalchemy(clm, book):
    for table in TABLES:
        loaded, out = clm_alone("--db", book, "export", table)
        assert not loaded, table
        assert out == clm("export", table).stdout


@pytest.mark.sqlite_only("a file read without the engine")
def test_custom_fields_are_exported_through_the_engine(clm, book):
    clm("field", "add", "region", "--kind", "text")
    clm("customer", "edit", "quote", "--set", "region==EU")
    loaded, out = clm_alone("--db", book, "export", "customers")
    assert loaded  # the book's own columns: the query is built for it
    assert out.splitlines()[0].endswith(",uuid,region")
    assert ",'=EU" in out  # the value =EU, guarded


@pytest.fixture
def long_book(clm, book, tmp_path):
    """More milestones than the database joins at a time (5,000): the first 11,000 of a
    removed customer, then 7,000 with two reminders and one with a comma in its title."""
    rows = ["customer,title,due,remind"]
    rows += [f"quote,Gone {i},2026-12-01," for i in range(11_000)]
    rows += [f"plain,Kept {i},2026-12-01,1m;1w" for i in range(7_000)]
    rows[14_000] = 'plain,"Kept, with a comma",2026-12-01,2d'
    file = tmp_path / "many.csv"
    file.write_text("\n".join(rows) + "\n")
    clm("import", "milestones", file)
    clm("customer", "rm", "quote", "--yes")
    return book


@pytest.mark.sqlite_only("a file read without the engine")
def test_a_long_export_of_a_file_goes_past_blocks_with_nothing_to_write(clm, long_book):
    """A block whose rows all belong to a removed customer writes nothing and the export goes
    on; a block with a comma in a cell goes through the csv writer; lists are in order in
    every block."""
    fast = clm("export", "milestones").stdout
    assert fast == _through_the_engine(clm, long_book)["milestones"]
    kept = [line for line in fast.splitlines() if ",Kept " in line]
    assert len(kept) == 6_999 and all(",1w;1m," in line for line in kept)
    assert ',"Kept, with a comma",' in fast and "Gone" not in fast


@pytest.mark.sqlite_only("a file read without the engine")
def test_a_reader_that_goes_away_ends_a_long_export_quietly(long_book):
    """`clm export milestones | head -1` of many blocks: clm stops quietly and exits 0."""
    env = os.environ | {"CLM_DB": str(long_book), "CLM_TODAY": "2026-11-23"}
    clm = subprocess.Popen(
        [sys.executable, "-m", "clm", "export", "milestones"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    head = subprocess.run(["head", "-1"], stdin=clm.stdout, capture_output=True, check=True)
    clm.stdout.close()  # only head holds the pipe now: when it exits, the pipe is closed
    assert clm.wait(timeout=60) == 0
    said = clm.stderr.read().decode()  # the demo book beside it is warned of, nothing else
    assert "Error" not in said and "Traceback" not in said and "Exception" not in said
    assert head.stdout.decode().startswith("id,customer,title,")
