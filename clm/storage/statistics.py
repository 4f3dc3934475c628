"""The planner's statistics and page cache: ANALYZE where it pays, a roomier cache for a big
write or read."""

from sqlalchemy import Connection


def server_statistics(conn: Connection, analyze: bool = False) -> None:
    """On a server, statistics of the pending reminders' days taken together: on its own, the
    planner multiplies the share of pending reminders by the share of days up to today and
    expects a hundred times the few reminders due, so it reads every milestone and customer
    (hash joins over sequential scans) instead of looking up the due ones' (0.4 s a tick on
    100,000 customers). `analyze` gathers them now, for a table already filled. SQLite plans
    that query from the partial index and needs nothing."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(
        "CREATE STATISTICS IF NOT EXISTS st_milestone_reminders_pending (mcv) "
        "ON pending, remind_on FROM milestone_reminders"
    )
    # One most-common-values entry per (pending, day) pair: a few thousand days.
    conn.exec_driver_sql("ALTER STATISTICS st_milestone_reminders_pending SET STATISTICS 10000")
    if analyze:
        conn.exec_driver_sql("ANALYZE milestone_reminders")


def bigger_write_cache(conn: Connection, cache_mb: int = 64) -> None:
    """Room for a large write transaction (a catch-up tick rewrites a good part of the file):
    on SQLite, up to `cache_mb` of pages kept in memory, so that dirty pages are seldom spilled
    to the file mid-transaction (each spill syncs the journal). 64 MB, not the 256 it was: a
    100,000-customer catch-up then peaks at half the memory, for ten syncs (0.05 s) and a few
    seconds of system time re-reading spilled pages from the OS's cache. Memory grows only
    with the pages touched, and the connection closes with the command. A server needs
    nothing."""
    _sqlite_page_cache(conn, cache_mb)


def bigger_read_cache(conn: Connection, cache_mb: int = 64) -> None:
    """Room for a report that reads the same tables several times (the dashboard scans the
    customers for five of its parts): on SQLite, keep up to `cache_mb` of pages in memory
    rather than reading them from the file again. A server keeps its own cache."""
    _sqlite_page_cache(conn, cache_mb)


def _sqlite_page_cache(conn: Connection, cache_mb: int) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{cache_mb * 1024}")


def has_statistics(conn: Connection) -> bool:
    """Whether a SQLite file has planner statistics (ANALYZE ever ran in it)."""
    query = "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
    return conn.exec_driver_sql(query).first() is not None


def refresh_statistics(conn: Connection, table=None) -> None:
    """Fresh planner statistics, of one table or all (after a bulk load). Without them SQLite
    picks an index by its shape, not by what it selects: on an imported book the tick's
    `milestone_done:` rule read every done milestone for each customer, 25 s instead of a few
    ms on 10,000 customers; and a server plans as if the tables were empty. Whole, not
    sampled (`analysis_limit`): samples misjudged how few rows an owner or a status selects,
    and a full pass costs about 0.6 s on a million milestones."""
    target = "" if table is None else " " + conn.dialect.identifier_preparer.quote(table.name)
    conn.exec_driver_sql("ANALYZE" + target)


def analyze_unanalyzed(conn: Connection) -> None:
    """On SQLite, statistics of the tables that have rows and none: those that were empty when
    the book was last analyzed (an import analyzes it before any tick made a task). `PRAGMA
    optimize` leaves them out: it looks only at the tables its connection's queries used, and
    it runs on a connection of its own after the tick's. Without them the tick's lookup of a
    customer's open tasks read every open task through the (status, due) index (81 ms on a
    100,000-customer book with 93,616 tasks, 0.7 ms through the customer index). An empty table
    has no statistics either: checking it costs one row read a tick."""
    if conn.dialect.name != "sqlite":
        return
    quote = conn.dialect.identifier_preparer.quote
    analyzed = {table for (table,) in conn.exec_driver_sql("SELECT DISTINCT tbl FROM sqlite_stat1")}
    tables = conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).all()
    for (table,) in tables:
        has_rows = f"SELECT 1 FROM {quote(table)} LIMIT 1"
        if table not in analyzed and conn.exec_driver_sql(has_rows).first():
            conn.exec_driver_sql(f"ANALYZE {quote(table)}")


def refresh_table_statistics(conn: Connection, *tables: str) -> None:
    """Planner statistics of `tables` again, after a migration changed their indexes, where
    the database keeps statistics: a SQLite file that has none yet gets them whole on its
    next tick (`optimize`)."""
    quote = conn.dialect.identifier_preparer.quote
    if conn.dialect.name == "sqlite" and not has_statistics(conn):
        return
    for table in tables:
        conn.exec_driver_sql(f"ANALYZE {quote(table)}")
