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


def customer_rows(reader, conn, now, stamps):
    """customers, their stage entries and health log entries, as clm's import writes them."""
    owners = dict(conn.execute("SELECT handle, id FROM users"))
    today = datetime.now(UTC).date().isoformat()
    for row_id, cells in enumerate(reader, start=1):
        slug, name, stage, entered, owner, start, renewal, term, arr, health, lead, source = cells[
            :12
        ]
        stay, owner_id = str(uuid.uuid4()), owners.get(owner)
        customer = (row_id, cells[14], now, now, stamps, slug, name, stage, entered, owner_id,
                    start, renewal or None, term, arr or None, health or None, lead or None,
                    source or None, today if health else None, today if lead else None,
                    today if arr else None, stay)  # fmt: skip
        entry = (stay, row_id, stage, entered, None, "imported", owner_id, now)
        score = (str(uuid.uuid4()), row_id, today, health, now) if health else None
        yield customer, entry, score


def milestone_rows(reader, conn, now, stamps):
    """milestones and their reminders (every one of a book's milestones has one)."""
    customers = dict(conn.execute("SELECT slug, id FROM customers"))
    for cells in reader:
        # The export's first twelve columns: those after (the reminder's last firing) are not
        # stored by an import.
        row_id, slug, title, due, status, remind, every, _, pinned, reason, done, row_uuid = cells[
            :12
        ]
        milestone = (int(row_id), row_uuid, now, now, stamps, customers[slug], title, due, status,
                     every or None, row_uuid, 0, due, pinned == "true", reason or None,
                     done or None)  # fmt: skip
        reminder = (int(row_id), remind, due, status in ("open", "blocked")) if remind else None
        yield milestone, reminder


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
        next(reader)
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
    for statement, rows in zip(INSERTS[table], zip(*batch, strict=True), strict=False):
        conn.executemany(statement, [row for row in rows if row is not None])


if __name__ == "__main__":
    main()
