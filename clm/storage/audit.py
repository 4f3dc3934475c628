"""The audit log's dialect code: the triggers that write it and the per-transaction context
they read (who runs which command).

Triggers, not Python, write the log: every write path (a command's edit, the tick's
set-based moves, an import) is logged the same way without reading rows back. PostgreSQL gets
statement-level triggers over transition tables (one INSERT … SELECT per statement, however
many rows it changed); SQLite row triggers, generated from the table's live columns.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from sqlalchemy import Connection

from clm.storage.dialect import SQLITE_UUID7 as _SQLITE_UUID
from clm.storage.dialect import run_script

# Audited tables -> how a row names its customer: itself, a customer_id column, or not at all.
AUDITED = {
    "customers": "self",
    "milestones": "customer_id",
    "tasks": "customer_id",
    "ctas": "customer_id",
    "users": None,
    "stages": None,
    "rules": None,
    "playbooks": None,
}
# What a created row is called in the log (its `new` value).
LABELS = {
    "customers": "slug",
    "milestones": "title",
    "tasks": "title",
    "ctas": "reason",
    "users": "handle",
    "stages": "key",
    "rules": "name",
    "playbooks": "name",
}


# Link tables: a member added or removed is a change of a field of the record they belong to
# (`new` the member added, `old` the member removed). Table -> (record, field, key column,
# the member's value, the joins that name it, the record's uuid, its customer's uuid).
class Link(NamedTuple):
    record: str
    field: str
    key: str  # the link's column naming the record
    value: str  # SQL: the member as the log writes it (a tag, a user's handle)
    joins: str  # SQL: from the link row `r` to the record `p`, its customer and the member
    customer: str  # SQL: the customer's uuid


LINKS = {
    "customer_tags": Link(
        "customers", "tags", "customer_id", "r.tag", "JOIN customers p ON p.id = r.customer_id",
        "p.uuid",
    ),
    "customer_influencers": Link(
        "customers", "influencers", "customer_id", "u.handle",
        "JOIN customers p ON p.id = r.customer_id JOIN users u ON u.id = r.user_id", "p.uuid",
    ),
    "milestone_collaborators": Link(
        "milestones", "collaborators", "milestone_id", "u.handle",
        "JOIN milestones p ON p.id = r.milestone_id JOIN users u ON u.id = r.user_id",
        "(SELECT c.uuid FROM customers c WHERE c.id = p.customer_id)",
    ),
}  # fmt: skip
# Bookkeeping, not fields anyone edits: never logged.
UNLOGGED = ("id", "uuid", "created_at", "updated_at", "stamps")
COLUMNS = '(uuid, "at", "by", role, command, record, row_uuid, customer_uuid, field, "old", "new")'


def install_triggers(conn: Connection) -> None:
    """(Re)create the audit triggers for the audited tables as they are now: a migration that
    adds a column to one of them calls this again (SQLite's triggers list the columns)."""
    if conn.dialect.name == "postgresql":
        _install_postgres(conn)
    else:
        for table, link in AUDITED.items():
            _install_sqlite(conn, table, link)
        for table, link in LINKS.items():
            _install_sqlite_link(conn, table, link)


def drop_triggers(conn: Connection) -> None:
    """No audit triggers (a copy loads its rows first, logged where they were made)."""
    run_script(conn, _drop_statements(conn.dialect.name))


def _drop_statements(dialect: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS audit_{table}_{event}"
        + (f" ON {table}" if dialect == "postgresql" else "")
        for table in (*AUDITED, *LINKS)
        for event in ("update", "insert", "delete")
    ]


def set_context(conn: Connection, user: str | None, command: str | None, quiet=False) -> None:
    """Who writes in this transaction, with which command; `quiet`: nothing is logged (see
    `suspend`)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "SELECT set_config('clm.user', %(user)s, true), "
            "set_config('clm.command', %(command)s, true), "
            "set_config('clm.quiet', %(quiet)s, true)",
            {"user": user or "", "command": command or "", "quiet": "on" if quiet else ""},
        )
        return
    # One row, rewritten by each writer: SQLite writers hold the file's lock in turn.
    conn.exec_driver_sql(
        'INSERT INTO audit_context (id, "by", command, quiet) VALUES (1, ?, ?, ?) '
        'ON CONFLICT (id) DO UPDATE SET "by" = excluded."by", command = excluded.command, '
        "quiet = excluded.quiet",
        (user, command, quiet),
    )


def suspend(conn: Connection) -> None:
    """Nothing more is logged in this transaction (a merge writes changes the other copy's
    log already holds, and the union of both logs tells them)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT set_config('clm.quiet', 'on', true)")
    else:
        conn.exec_driver_sql(
            "INSERT INTO audit_context (id, quiet) VALUES (1, 1) "
            "ON CONFLICT (id) DO UPDATE SET quiet = 1"
        )


@contextmanager
def paused(conn: Connection) -> Iterator[None]:
    """Nothing logged inside (a set-based write whose rows keep their own history, as the
    tick's scores do in health_log), and after it as before it."""
    if conn.dialect.name == "postgresql":
        was = conn.exec_driver_sql("SELECT current_setting('clm.quiet', true)").scalar()
        suspend(conn)
        yield
        conn.exec_driver_sql("SELECT set_config('clm.quiet', %(was)s, true)", {"was": was or ""})
        return
    was = conn.exec_driver_sql("SELECT quiet FROM audit_context WHERE id = 1").scalar()
    suspend(conn)
    yield
    conn.exec_driver_sql("UPDATE audit_context SET quiet = ? WHERE id = 1", (was or 0,))


def log_summary(conn: Connection, record: str, summary: str) -> None:
    """One row for a bulk write whose rows were not logged one by one (an import: see
    `suspend`), in this transaction's writer's name: field `*`, the summary as its new value."""
    if conn.dialect.name == "postgresql":
        context = _PG_CONTEXT.replace("TG_TABLE_NAME", "%(record)s")
        conn.exec_driver_sql(
            f"INSERT INTO audit_log {COLUMNS} SELECT {context}, "
            "gen_random_uuid()::text, NULL, '*', NULL, %(summary)s",
            {"record": record, "summary": summary},
        )
        return
    conn.exec_driver_sql(
        f"INSERT INTO audit_log {COLUMNS} SELECT {_SQLITE_UUID}, {_SQLITE_AT}, "
        f"{_SQLITE_CONTEXT}, ?, {_SQLITE_UUID}, NULL, '*', NULL, ?",
        (record, summary),
    )


def clear_context(conn: Connection) -> None:
    """At commit on a file: a later write by another tool is not credited to this command."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            'UPDATE audit_context SET "by" = NULL, command = NULL, quiet = 0 WHERE id = 1'
        )


# --- SQLite ----------------------------------------------------------------------------------

_SQLITE_AT = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
# The clm user and command of the writer holding the lock; a file has no server role.
_SQLITE_CONTEXT = (
    '(SELECT "by" FROM audit_context WHERE id = 1), NULL, '
    "(SELECT command FROM audit_context WHERE id = 1)"
)


def _sqlite_customer(table: str, link: str | None) -> str:
    if link == "self":
        return "NEW.uuid"
    if link:
        return f"(SELECT uuid FROM customers WHERE id = NEW.{link})"
    return "NULL"


def _install_sqlite(conn: Connection, table: str, link: str | None) -> None:
    columns = [
        row[1]
        for row in conn.exec_driver_sql(f'PRAGMA table_info("{table}")')
        if row[1] not in UNLOGGED
    ]
    changed = " UNION ALL ".join(
        f"SELECT '{c}' AS field, CAST(OLD.\"{c}\" AS TEXT) AS was, "
        f'CAST(NEW."{c}" AS TEXT) AS becomes WHERE OLD."{c}" IS NOT NEW."{c}"'
        for c in columns
    )
    heard = "NOT coalesce((SELECT quiet FROM audit_context WHERE id = 1), 0)"
    common = (
        f"{_SQLITE_UUID}, {_SQLITE_AT}, {_SQLITE_CONTEXT}, '{table}', NEW.uuid, "
        + _sqlite_customer(table, link)
    )
    drop_sqlite = "DROP TRIGGER IF EXISTS audit_{}_{}"
    for event in ("update", "insert"):
        conn.exec_driver_sql(drop_sqlite.format(table, event))
    conn.exec_driver_sql(
        f"CREATE TRIGGER audit_{table}_update AFTER UPDATE ON {table} WHEN {heard} BEGIN "
        f"INSERT INTO audit_log {COLUMNS} SELECT {common}, field, was, becomes "
        f"FROM ({changed}); "
        "END"
    )
    conn.exec_driver_sql(
        f"CREATE TRIGGER audit_{table}_insert AFTER INSERT ON {table} WHEN {heard} BEGIN "
        f"INSERT INTO audit_log {COLUMNS} VALUES ({common}, '*', NULL, "
        f'CAST(NEW."{LABELS[table]}" AS TEXT)); END'
    )


def _install_sqlite_link(conn: Connection, table: str, link: Link) -> None:
    heard = "NOT coalesce((SELECT quiet FROM audit_context WHERE id = 1), 0)"
    for event, row, values in (("insert", "NEW", "NULL, {}"), ("delete", "OLD", "{}, NULL")):
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS audit_{table}_{event}")
        joins = link.joins.replace("r.", f"{row}.")
        conn.exec_driver_sql(
            f"CREATE TRIGGER audit_{table}_{event} AFTER {event.upper()} ON {table} "
            f"WHEN {heard} BEGIN INSERT INTO audit_log {COLUMNS} "
            f"SELECT {_SQLITE_UUID}, {_SQLITE_AT}, {_SQLITE_CONTEXT}, '{link.record}', "
            f"p.uuid, {link.customer}, '{link.field}', "
            + values.format(link.value.replace("r.", f"{row}."))
            + f" FROM (SELECT 1) AS one {joins}; END"
        )


# --- PostgreSQL ------------------------------------------------------------------------------

_PG_CONTEXT = (
    "gen_random_uuid()::text, "
    "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "nullif(current_setting('clm.user', true), ''), current_user, "
    "nullif(current_setting('clm.command', true), ''), TG_TABLE_NAME"
)
# TG_ARGV[0]: how a row names its customer (see AUDITED); TG_ARGV[1]: its label column.
_PG_CUSTOMER = (
    "CASE TG_ARGV[0] WHEN 'self' THEN n->>'uuid' WHEN '' THEN NULL "
    "ELSE (SELECT c.uuid FROM customers c WHERE c.id = (n->>TG_ARGV[0])::integer) END"
)
# `clm.quiet` (a merge, an import: see `suspend`) is heard only from a role above the policies
# (the owner) or an admin or the service role: a member who sets it is logged all the same.
_PG_QUIET = (
    "current_setting('clm.quiet', true) = 'on' "
    "AND (NOT row_security_active('audit_log') OR clm_sees_all(current_user))"
)
_PG_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION clm_audit_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF {_PG_QUIET} THEN RETURN NULL; END IF;
  INSERT INTO audit_log {COLUMNS}
  SELECT {_PG_CONTEXT}, n->>'uuid', {_PG_CUSTOMER}, f.key, o->>f.key, f.value #>> '{{}}'
  FROM (SELECT to_jsonb(nr) AS n, to_jsonb(orow) AS o
        FROM new_rows nr JOIN old_rows orow ON orow.id = nr.id) AS pairs,
       jsonb_each(n) AS f
  WHERE f.key NOT IN {UNLOGGED!r} AND f.value IS DISTINCT FROM o->f.key;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION clm_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF {_PG_QUIET} THEN RETURN NULL; END IF;
  INSERT INTO audit_log {COLUMNS}
  SELECT {_PG_CONTEXT}, n->>'uuid', {_PG_CUSTOMER}, '*', NULL, n->>TG_ARGV[1]
  FROM (SELECT to_jsonb(nr) AS n FROM new_rows nr) AS created;
  RETURN NULL;
END $$;
"""


def _pg_link_function(table: str, link: Link) -> str:
    """A link table's trigger function: the members its statement added, or removed."""
    context = _PG_CONTEXT.replace("TG_TABLE_NAME", f"'{link.record}'")
    logged = (
        f"INSERT INTO audit_log {COLUMNS} SELECT {context}, p.uuid, {link.customer}, "
        f"'{link.field}', {{}} FROM {{}} r {link.joins}"
    )
    return f"""
CREATE OR REPLACE FUNCTION clm_audit_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF {_PG_QUIET} THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    {logged.format("NULL, " + link.value, "new_rows")};
  ELSE
    {logged.format(link.value + ", NULL", "old_rows")};
  END IF;
  RETURN NULL;
END $$;
"""


def _install_postgres(conn: Connection) -> None:
    """The functions and triggers, sent as one script (see run_script)."""
    sql = [_PG_FUNCTIONS, *_drop_statements("postgresql")]
    for table, link in LINKS.items():
        sql.append(_pg_link_function(table, link))
        for event, rows in (
            ("insert", "NEW TABLE AS new_rows"),
            ("delete", "OLD TABLE AS old_rows"),
        ):
            sql.append(
                f"CREATE TRIGGER audit_{table}_{event} AFTER {event.upper()} ON {table} "
                f"REFERENCING {rows} FOR EACH STATEMENT EXECUTE FUNCTION clm_audit_{table}()"
            )
    for table, link in AUDITED.items():
        args = f"'{link or ''}', '{LABELS[table]}'"
        sql.append(
            f"CREATE TRIGGER audit_{table}_update AFTER UPDATE ON {table} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION clm_audit_update({args})"
        )
        sql.append(
            f"CREATE TRIGGER audit_{table}_insert AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION clm_audit_insert({args})"
        )
    run_script(conn, sql)
