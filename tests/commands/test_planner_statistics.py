"""The planner has statistics to choose indexes by: an import into an empty table and the
daily tick leave them, so a `milestone_done:` rule looks up each customer's milestones by
customer instead of reading every done milestone for each one (quadratic on a large book)."""

import pytest

from tests.conftest import sql

pytestmark = pytest.mark.sqlite_only("sqlite_stat1 and EXPLAIN QUERY PLAN are SQLite's")


def _analysed(db_path) -> set[str]:
    return {row[0] for row in sql(db_path, "SELECT DISTINCT tbl FROM sqlite_stat1")}


def test_an_import_into_an_empty_book_leaves_statistics(clm, db_path, tmp_path):
    book = tmp_path / "book.db"
    clm("--db", book, "init")
    clm("--db", book, "customer", "add", "Acme", "--stage", "onboarding")
    clm("--db", book, "milestone", "add", "acme", "Kickoff", "--due", "2026-11-01")
    for table in ("customers", "milestones"):
        clm("--db", book, "export", table, "--output", tmp_path / f"{table}.csv")
    clm("init")
    clm("import", "customers", tmp_path / "customers.csv")
    clm("import", "milestones", tmp_path / "milestones.csv")
    assert {"customers", "milestones"} <= _analysed(db_path)


def test_a_book_built_command_by_command_gets_statistics_from_its_first_tick(clm, db_path):
    clm("customer", "add", "Acme")
    assert not sql(db_path, "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
    clm("tick", "-q")
    assert "customers" in _analysed(db_path)


def test_a_copy_into_a_new_file_leaves_statistics(clm, db_path, tmp_path):
    clm("customer", "add", "Acme")
    clm("db", "copy", tmp_path / "copy.db")
    assert "customers" in _analysed(tmp_path / "copy.db")


def test_a_table_empty_when_the_book_was_analysed_gets_statistics_from_a_tick(clm, db_path):
    """An import analyses the book before any task exists; a later tick leaves statistics of
    the tasks (`PRAGMA optimize`, on a connection of its own, would not)."""
    clm("customer", "add", "Acme")
    clm("tick", "-q")
    sql(db_path, "DELETE FROM sqlite_stat1 WHERE tbl = 'tasks'")  # as if analysed without any
    clm("task", "add", "acme", "Call back", "--due", "2026-12-01")
    clm("tick", "-q")
    assert "tasks" in _analysed(db_path)
