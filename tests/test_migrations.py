"""A database made by every released schema opens, migrates and ends up like a new one."""

import sqlite3
from pathlib import Path

import pytest

from clm.migrations import SCHEMA_VERSION

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("schema-*.sql"))


def schema(path) -> set:
    """Tables, their columns and indexes: what a migration must bring up to date."""
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    shape = {
        (t, c[1], c[2], c[3]) for t in tables for c in conn.execute(f'PRAGMA table_info("{t}")')
    }
    shape |= {
        ("index", r[0], r[1])
        for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type='index'")
    }
    conn.close()
    return shape


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_an_old_database_upgrades_to_the_current_schema(clm, tmp_path, fixture):
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.executescript(fixture.read_text())
    conn.close()
    assert clm.json("--db", old, "customer", "list")[0]["slug"] == "acme-corp"
    clm("--db", tmp_path / "new.db", "stage", "list")
    assert schema(old) == schema(tmp_path / "new.db")
    version = (
        sqlite3.connect(old)
        .execute("SELECT value FROM clm_meta WHERE key='schema_version'")
        .fetchone()[0]
    )
    assert int(version) == SCHEMA_VERSION


def test_the_newest_schema_has_a_fixture():
    """Release checklist: dump a db of each new schema to tests/fixtures/schema-NAME.sql."""
    from clm.migrations import MIGRATIONS

    assert FIXTURES[-1].stem == f"schema-{MIGRATIONS[-1][0]}"
