"""A database made by every released schema opens, migrates and ends up like a new one, on
SQLite and (on the PostgreSQL run) on a server."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clm.storage.migrations import SCHEMA_VERSION
from tests.conftest import ON_PG, latest_values, sql

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures").glob("schema-*.sql"))


def sqlite_schema(path) -> set:
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


def server_schema(url) -> set:
    """The same on a server: columns with their types and nullability; indexes, unique
    constraints and foreign keys with their columns (and a partial index's condition)."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.pool import NullPool

    from clm.db import resolve

    engine = create_engine(resolve(url)[0], poolclass=NullPool)
    try:
        found = inspect(engine)
        shape = set()
        for t in found.get_table_names():
            shape |= {(t, c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(t)}
            shape |= {
                (t, "index", i["name"], tuple(i["column_names"]), bool(i["unique"]),
                 str(i.get("dialect_options", {}).get("postgresql_where")))
                for i in found.get_indexes(t)
            }  # fmt: skip
            shape |= {
                (t, "unique", tuple(u["column_names"])) for u in found.get_unique_constraints(t)
            }
            shape |= {
                (t, "fk", tuple(f["constrained_columns"]), f["referred_table"])
                for f in found.get_foreign_keys(t)
            }
        return shape
    finally:
        engine.dispose()


def old_database(fixture: Path, tmp_path: Path, new_db):
    """A database of the fixture's schema and rows: the file itself, or on the PostgreSQL run
    the same tables on the server, typed as clm types them there."""
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.executescript(fixture.read_text())
    conn.close()
    if not ON_PG:
        return old
    target = new_db()
    _to_server(old, target)
    return target


def _to_server(path: Path, url: str) -> None:
    from sqlalchemy import (
        Column,
        ForeignKey,
        Index,
        MetaData,
        PrimaryKeyConstraint,
        Table,
        UniqueConstraint,
        create_engine,
        select,
        text,
    )
    from sqlalchemy.pool import NullPool

    from clm.db import advance_id_sequence, resolve
    from clm.storage.tables import metadata

    source = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    found = MetaData()
    found.reflect(source)
    server = MetaData()
    for table in found.sorted_tables:
        model = metadata.tables.get(table.name)
        columns = [
            Column(
                c.name,
                model.c[c.name].type if model is not None and c.name in model.c else c.type,
                *[ForeignKey(f"{fk.column.table.name}.{fk.column.name}") for fk in c.foreign_keys],
                nullable=c.nullable,
                unique=any(
                    list(u.columns.keys()) == [c.name]
                    for u in table.constraints
                    if u.__class__.__name__ == "UniqueConstraint"
                ),
            )
            for c in table.c
        ]
        # The primary key in its own column order, and unique keys of several columns, by name.
        keys = [
            UniqueConstraint(*u.columns.keys(), name=u.name)
            for u in table.constraints
            if u.__class__.__name__ == "UniqueConstraint" and len(u.columns) > 1
        ]
        primary = table.primary_key
        key = PrimaryKeyConstraint(*primary.columns.keys(), name=primary.name)
        copy = Table(table.name, server, *columns, key, *keys)
        for index in table.indexes:
            where = index.dialect_options["sqlite"].get("where")
            Index(
                index.name,
                *[copy.c[c.name] for c in index.columns],
                unique=index.unique,
                postgresql_where=text(str(where)) if where is not None else None,
            )
    dest = create_engine(resolve(url)[0], poolclass=NullPool)
    with source.connect() as reader, dest.begin() as writer:
        server.create_all(writer)
        for table in found.sorted_tables:
            rows = [
                {k: _utc(v) for k, v in r._mapping.items()} for r in reader.execute(select(table))
            ]
            if rows:
                writer.execute(server.tables[table.name].insert(), rows)
            if "id" in table.c:
                advance_id_sequence(writer, server.tables[table.name])
    source.dispose()
    dest.dispose()


def _utc(value):
    """SQLite keeps times naive, in UTC; clm's time columns take them with their zone."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_an_old_database_upgrades_to_the_current_schema(clm, tmp_path, fixture, new_db):
    old = old_database(fixture, tmp_path, new_db)
    assert clm.json("--db", old, "customer", "list")[0]["slug"] == "acme-corp"
    new = new_db()
    clm("--db", new, "stage", "list")
    shape = server_schema if ON_PG else sqlite_schema
    assert shape(old) == shape(new)
    [(version,)] = sql(old, "SELECT value FROM clm_meta WHERE key='schema_version'")
    assert int(version) == SCHEMA_VERSION


def test_the_newest_schema_has_a_fixture():
    """Release checklist: dump a db of each new schema to tests/fixtures/schema-NAME.sql."""
    from clm.storage.migrations import MIGRATIONS

    assert FIXTURES[-1].stem == f"schema-{MIGRATIONS[-1][0]}"


# Rows of an old book beside the 0009 fixture's playbook-made phase milestones (Introduction,
# Adoption, Retention of acme-corp): Retention pinned by its owner, an "Adoption" milestone of
# the user's own, and a reminder due on each Adoption.
OWN_MILESTONES = """
UPDATE milestones SET pinned = 1 WHERE title = 'Retention';
INSERT INTO milestones VALUES(9,'0d3e5f1a-7b2c-4d8e-9f60-a1b2c3d4e5f6','2026-11-23 13:42:00',
  '2026-11-23 13:42:00',NULL,'{"*": "1795441272290-0000-f7767a46"}',1,'Adoption','2026-12-15',
  'open',NULL,'0d3e5f1a-7b2c-4d8e-9f60-a1b2c3d4e5f6',0,'2026-12-15',0,NULL,NULL,NULL);
INSERT INTO milestone_reminders VALUES(2,'1w','2026-11-24',1);
INSERT INTO milestone_reminders VALUES(9,'1w','2026-11-24',1);
COMMIT;
"""


def test_old_phase_milestones_become_phases(clm, tmp_path, new_db):
    fixture = tmp_path / "schema-0009-with-own-milestones.sql"
    dump = (FIXTURES[0].parent / "schema-0009_notifications.sql").read_text()
    fixture.write_text(dump.replace("COMMIT;", OWN_MILESTONES.strip(), 1))
    old = old_database(fixture, tmp_path, new_db)

    shown = clm.json("--db", old, "customer", "show", "acme-corp")
    assert shown["phases"] == [
        {"title": "Introduction", "on": "2026-10-01", "status": "passed"},
        {"title": "Adoption", "on": "2026-12-01", "status": "ahead"},
        {"title": "Retention", "on": "2027-09-01", "status": "ahead"},
    ]
    # The phases made by the playbook are gone from the work; the pinned one and the user's
    # own Adoption stay, as do the Renewal series and the onboarding milestones.
    left = [(m["title"], m["due"]) for m in shown["milestones"]]
    assert ("Introduction", "2026-10-01") not in left
    assert ("Adoption", "2026-12-01") not in left
    assert {("Retention", "2027-09-01"), ("Adoption", "2026-12-15")} <= set(left)
    assert ("Renewal", "2027-09-01") in left and ("Product delivery", "2026-09-15") in left
    overdue = clm.json("--db", old, "milestone", "list", "--overdue")
    assert "Introduction" not in [m["title"] for m in overdue]

    items = clm.json("--db", old, "playbook", "show", "lifecycle")["items"]
    assert [(i["kind"], i["title"], i["remind"]) for i in items] == [
        ("phase", "Introduction", []),
        ("phase", "Adoption", []),
        ("phase", "Retention", []),
        ("milestone", "Renewal", ["2m"]),
    ]
    # The removed Adoption's reminder never fires; the user's own does.
    tick = clm.json("--db", old, "tick", "--today", "2026-11-24", "--dry-run")
    assert [(r["milestone"], r["title"]) for r in tick["reminders"]] == [(9, "Adoption")]


def test_the_arr_history_begins_with_each_customers_arr_as_new_business(clm, tmp_path, new_db):
    """Migration 0012: a customer's ARR as new business on its start day; one in a terminal
    stage churned on the day it entered it (its ARR kept, as lost ARR)."""
    fixture = next(path for path in FIXTURES if path.stem == "schema-0009_notifications")
    old = old_database(fixture, tmp_path, new_db)
    sql(old, "UPDATE customers SET stage = 'churned', stage_entered = '2026-11-01'")
    clm("--db", old, "customer", "list")
    history = sql(old, 'SELECT "on", kind, arr, change FROM arr_log ORDER BY id')
    assert [(str(on), kind, arr, change) for on, kind, arr, change in history] == [
        ("2026-09-01", "new", 24000, 24000),
        ("2026-11-01", "churn", 24000, -24000),
    ]
    retention = clm.json("--db", old, "report", "retention", "--period", "2026Q4")
    assert (retention[0]["starting_arr"], retention[0]["churned_arr"]) == (24000, 24000)


def test_the_outbox_keeps_its_messages_when_it_learns_of_teams(clm, tmp_path, new_db):
    """0017 rebuilds the outbox on SQLite (its user becomes optional): nothing queued is lost,
    and a message still goes to one user a day."""
    fixture = next(path for path in FIXTURES if path.stem == "schema-0015_audit_log")
    dump = fixture.read_text()
    queued = (
        "INSERT INTO outbox (id, uuid, user_id, day, kind, payload, state, attempts, created_at) "
        "SELECT 7, 'a7d0c3d2-0000-4000-8000-000000000007', id, '2026-11-23', 'digest', '[]', "
        "'pending', 0, '2026-11-23 08:00:00' FROM users ORDER BY id LIMIT 1;\nCOMMIT;"
    )
    with_message = tmp_path / "schema-0015-with-a-message.sql"
    with_message.write_text(dump.replace("COMMIT;", queued, 1))
    old = old_database(with_message, tmp_path, new_db)
    [message] = clm.json("--db", old, "notify", "log")
    assert (message["id"], message["day"], message["state"]) == (7, "2026-11-23", "pending")
    assert message["user"] and message["team"] is None


# 3,000 more customers beside the fixture's acme-corp: every fifth without ARR, every third
# churned, every sixth of those having entered its stage before it started.
MANY_CUSTOMERS = """
INSERT INTO customers (id, uuid, created_at, updated_at, stamps, slug, name, stage,
    stage_entered, owner_id, start, renewal, term, arr, health, health_on, arr_on, stay)
WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < 3001)
SELECT i, 'uuid-' || i, c.created_at, c.updated_at, c.stamps, 'c-' || i, 'C ' || i,
    CASE WHEN i % 3 = 0 THEN 'churned' ELSE 'adopting' END, c.stage_entered, c.owner_id,
    c.start, c.renewal, c.term, (i % 5) * 1000.0, c.health, c.health_on, c.arr_on, c.stay
FROM n, customers c WHERE c.id = 1
"""


def test_the_arr_history_is_seeded_set_based_on_a_book_of_many_customers(clm, tmp_path, new_db):
    """Migration 0012 on thousands of customers: one new-business entry per customer with ARR
    and one churn per churned one, on the days the per-customer rule gives, each its own
    uuid."""
    fixture = next(path for path in FIXTURES if path.stem == "schema-0009_notifications")
    old = old_database(fixture, tmp_path, new_db)
    sql(old, MANY_CUSTOMERS)
    sql(old, "UPDATE customers SET stage_entered = '2026-08-01' WHERE id % 6 = 0")
    people = sql(old, "SELECT id, arr, start, stage, stage_entered FROM customers")
    expected = []
    for customer_id, arr, start, stage, entered in people:
        if arr:
            expected.append((customer_id, str(start), "new", arr, arr))
            if stage == "churned":
                expected.append((customer_id, str(max(start, entered)), "churn", arr, -arr))
    clm("--db", old, "customer", "list")
    found = sql(old, 'SELECT customer_id, "on", kind, arr, change, uuid FROM arr_log')
    assert sorted((c, str(on), k, a, ch) for c, on, k, a, ch, _ in found) == sorted(expected)
    assert len(expected) == 2400 + 1 + 800
    uuids = [row[-1] for row in found]
    assert len(set(uuids)) == len(uuids)
    assert all(len(u) == 36 and u[14] == "4" for u in uuids)
    churned = sql(old, """SELECT min("on"), max("on") FROM arr_log WHERE kind = 'churn'""")
    assert [tuple(map(str, row)) for row in churned] == [("2026-09-01", "2026-10-15")]


def test_a_scorecards_health_moves_to_its_score_rows_and_reads_the_same(clm, tmp_path, new_db):
    """Migration 0020: in a book with a scorecard, a health not set by hand over it moves to
    the customer's score row, with its day; the health read is the same."""
    fixture = next(path for path in FIXTURES if path.stem == "schema-0019_arr_log_covering_index")
    old = old_database(fixture, tmp_path, new_db)
    card = '{"measures": [], "amber": 40, "green": 70}'
    sql(old, "INSERT INTO clm_meta VALUES ('scorecard', :card)", card=card)
    clm("--db", old, "customer", "list")
    assert [(h, str(on)) for h, on in sql(old, 'SELECT health, "on" FROM health_scores')] == [
        (35, "2026-10-15")
    ]
    shown = clm.json("--db", old, "--today", "2026-11-23", "customer", "show", "acme-corp")
    assert (shown["health"], shown["band"]) == (35, "red")


# Metric points of a book from before their latest values were kept apart (0023).
POINTS = """
INSERT INTO metrics VALUES(1,'5b7e0c1e-3f0a-4d2b-9c61-0a1b2c3d4e5f','2026-11-23 13:42:00',
  '2026-11-23 13:42:00',NULL,'{"*": "1795441272290-0000-f7767a46"}','active_users',NULL);
INSERT INTO metric_points VALUES(1,1,'2026-11-20',10.0,NULL);
INSERT INTO metric_points VALUES(1,1,'2026-11-22',12.5,NULL);
INSERT INTO metric_points VALUES(1,1,'2026-11-21',11.0,NULL);
COMMIT;
"""


def test_the_latest_values_are_kept_from_the_points_there_were(clm, tmp_path, new_db):
    fixture = tmp_path / "schema-0022-with-points.sql"
    dump = (FIXTURES[0].parent / "schema-0022_tick_covering_indexes.sql").read_text()
    fixture.write_text(dump.replace("COMMIT;", POINTS.strip(), 1))
    old = old_database(fixture, tmp_path, new_db)
    clm("--db", old, "db", "migrate")
    assert latest_values(old) == [("acme-corp", "active_users", "2026-11-22", 12.5)]
    clm("--db", old, "metric", "set", "acme-corp", "active_users", "9", "--on", "2026-11-21")
    assert latest_values(old) == [("acme-corp", "active_users", "2026-11-22", 12.5)]
