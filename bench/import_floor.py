#!/usr/bin/env python3
"""The least any Python import of a book's csv into clm's schema costs: the file read by the
csv module, each row made a tuple with no check at all, and SQLite writing them as clm's
import does (the same tables, rows and settings: executemany into a table empty at the start,
secondary indexes dropped and built at the end, a 16 MB page cache, foreign keys on, one
transaction, ANALYZE). What clm's import adds to this is its checks of each row.

    import_floor.py [--loosest] DB customers|milestones CSV

`--loosest`: the least SQLite itself can take to keep what clm keeps, whatever the import:
foreign keys off, and every index but the tables' own keys built after the rows are in (the
uuid uniqueness too, which clm's schema has inside the table: the empty tables are made
again without it first). A schema-independent yardstick for the target against the shell.

DB is a clm database (made by `clm init`, holding the users, and for milestones the customers
the file names); the rows go into it. `bench/run` times this in the same hyperfine run as clm's
import and its peers.
"""

import csv
import json
import re
import sqlite3
import sys
import uuid
from datetime import UTC, datetime

BATCH = 5000
# Secondary indexes clm's import keeps up while it loads (its lookups need them).
KEPT = {"uq_customers_slug", "ix_milestones_customer_id"}
TABLES = {
    "customers": ("customers", "transitions", "health_log"),
    "milestones": ("milestones", "milestone_reminders"),
}


def columns(reader, names: str) -> "callable":
    """A getter of the named cells of a row, by the file's header (a column the file lacks
    reads as empty): book 1's export and book 2's files order and name them differently."""
    header = {name: i for i, name in enumerate(next(reader))}
    wanted = [header.get(name) for name in names.split()]
    return lambda cells: [("" if i is None else cells[i]) for i in wanted]


def customer_rows(reader, conn, now, stamps):
    """customers, their stage entries and health log entries, as clm's import writes them
    (tags and influencers left out: a floor's yardstick, looser than clm)."""
    cells_of = columns(
        reader, "slug name stage stage_entered owner start renewal term arr health lead_score "
        "source uuid",
    )  # fmt: skip
    owners = dict(conn.execute("SELECT handle, id FROM users"))
    today = datetime.now(UTC).date().isoformat()
    for row_id, cells in enumerate(reader, start=1):
        *named, row_uuid = cells_of(cells)
        slug, name, stage, entered, owner, start, renewal, term, arr, health, lead, source = named
        stay, owner_id = str(uuid.uuid4()), owners.get(owner)
        customer = (row_id, row_uuid, now, now, stamps, slug, name, stage, entered, owner_id,
                    start, renewal or None, term or "1y", arr or None, health or None, lead or None,
                    source or None, today if health else None, today if lead else None,
                    today if arr else None, stay)  # fmt: skip
        entry = (stay, row_id, stage, entered, None, "imported", owner_id, now)
        score = (str(uuid.uuid4()), row_id, today, health, now) if health else None
        yield customer, entry, score


def milestone_rows(reader, conn, now, stamps):
    """milestones and their reminders (the export's `reminded`, the reminders' last firing,
    is not stored by an import). Rows are numbered in file order when the file has no id."""
    cells_of = columns(
        reader, "id customer title due status remind every pinned blocked_reason done_on uuid"
    )
    customers = dict(conn.execute("SELECT slug, id FROM customers"))
    for number, cells in enumerate(reader, start=1):
        row_id, slug, title, due, status, remind, every, pinned, reason, done, row_uuid = cells_of(
            cells
        )
        row_id = int(row_id or number)
        milestone = (row_id, row_uuid, now, now, stamps, customers[slug], title, due, status,
                     every or None, row_uuid, 0, due, pinned == "true", reason or None,
                     done or None)  # fmt: skip
        pending = status in ("open", "blocked")
        reminders = [(row_id, offset, due, pending) for offset in remind.split(";") if offset]
        yield milestone, reminders


INSERTS = {
    "customers": (
        "INSERT INTO customers (id, uuid, created_at, updated_at, stamps, slug, name, stage, "
        "stage_entered, owner_id, start, renewal, term, arr, health, lead_score, source, "
        "health_on, lead_score_on, arr_on, stay) VALUES (" + ", ".join("?" * 21) + ")",
        'INSERT INTO transitions (uuid, customer_id, to_stage, "on", "by", reason, to_owner_id, '
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        'INSERT INTO health_log (uuid, customer_id, "on", health, created_at) '
        "VALUES (?, ?, ?, ?, ?)",
    ),
    "milestones": (
        "INSERT INTO milestones (id, uuid, created_at, updated_at, stamps, customer_id, title, "
        "due, status, every, series, occurrence, anchor, pinned, blocked_reason, done_on) "
        "VALUES (" + ", ".join("?" * 16) + ") ON CONFLICT DO NOTHING",
        'INSERT INTO milestone_reminders (milestone_id, "offset", remind_on, pending) '
        "VALUES (?, ?, ?, ?)",
    ),
}


def main() -> None:
    loosest = sys.argv[1] == "--loosest"
    db, table, path = sys.argv[1 + loosest : 4 + loosest]
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(f"PRAGMA foreign_keys={'OFF' if loosest else 'ON'}")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA cache_size=-16384")
    conn.execute("BEGIN IMMEDIATE")
    deferred = []
    for name in TABLES[table]:
        if loosest:
            deferred += unique_keys_taken_out(conn, name)
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        for index, ddl in conn.execute(query + "AND sql IS NOT NULL", (name,)).fetchall():
            if loosest or index not in KEPT:
                conn.execute(f"DROP INDEX {index}")
                deferred.append(ddl)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    stamps = json.dumps({"created": "0"})
    with open(path, newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream)
        rows = (customer_rows if table == "customers" else milestone_rows)(
            reader, conn, now, stamps
        )
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                write(conn, table, batch)
                batch = []
        write(conn, table, batch)
    for ddl in deferred:
        conn.execute(ddl)
    for name in TABLES[table]:
        conn.execute(f"ANALYZE {name}")
    conn.execute("COMMIT")


def unique_keys_taken_out(conn, name: str) -> list[str]:
    """Make the (empty) table again without its UNIQUE constraints; the indexes that build
    them afterwards."""
    (ddl,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    found = re.findall(r",\s*(?:CONSTRAINT \w+ )?UNIQUE \(([^)]*)\)", ddl)
    if not found:
        return []
    indexes = [
        (idx, ddl_)
        for idx, ddl_ in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (name,),
        )
    ]
    conn.execute(f"DROP TABLE {name}")
    conn.execute(re.sub(r",\s*(?:CONSTRAINT \w+ )?UNIQUE \([^)]*\)", "", ddl))
    for _, index_ddl in indexes:
        conn.execute(index_ddl)
    return [f"CREATE UNIQUE INDEX uq_{name}_{i} ON {name} ({cols})" for i, cols in enumerate(found)]


def write(conn, table: str, batch: list[tuple]) -> None:
    statements = INSERTS[table]
    conn.executemany(statements[0], [row[0] for row in batch])
    if table == "customers":
        conn.executemany(statements[1], [row[1] for row in batch])
        conn.executemany(statements[2], [row[2] for row in batch if row[2] is not None])
    else:
        conn.executemany(statements[1], [r for row in batch for r in row[1]])


if __name__ == "__main__":
    main()
