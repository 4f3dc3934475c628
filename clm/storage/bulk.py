"""Bulk writes: batched inserts that skip or return rows, deferred indexes, id sequences and
streamed reads."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import (
    Connection,
    String,
    select,
    true,
)

from clm.storage.statistics import refresh_statistics


def insert_ignore(conn: Connection, table, rows: list[dict], returning=None) -> list:
    """Insert rows, skipping those a unique key already holds; the `returning` columns (by
    default the primary key) of the rows that went in. The database decides uniqueness, so
    concurrent writers can never both insert."""
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # Count the rows RETURNING gives back: psycopg reports no rowcount for a batch.
    columns = returning or tuple(table.primary_key.columns)
    return conn.execute(insert(table).on_conflict_do_nothing().returning(*columns), rows).all()


def advance_id_sequence(conn: Connection, table) -> None:
    """After rows were inserted with their own ids: a server's id sequence moves past them
    (SQLite's rowid needs nothing)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"(SELECT max(id) FROM {table.name}))"
        )


BULK_CACHE_KIB = 16 * 1024  # SQLite page cache for a bulk load: index pages stay in memory
# While rows go into a table whose secondary indexes wait: room for the indexes still kept up
# (a million milestones' uuids, inserted at random places), so SQLite neither spills dirty
# pages nor reads them back (4.4-4.7 s -> 2.2-2.4 s of system time on 1M milestones). Back
# to the bulk cache before the indexes are built: the sort's memory follows the cache size
# (1M milestones peak at 143 MiB on either book).
LOAD_CACHE_KIB = 40 * 1024


def bulk_load(conn: Connection) -> None:
    """Settings for a large write in this transaction: SQLite keeps more pages in memory, so
    it neither spills nor re-reads index pages (the connection closes with the command)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")


def secondary_indexes(conn: Connection, table) -> list[tuple[str, str]]:
    """(name, DDL) of a table's indexes that no constraint owns (a primary key or a UNIQUE
    column keeps its own), exactly as the database has them."""
    if conn.dialect.name == "postgresql":
        query = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %(name)s AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        return [tuple(row) for row in conn.exec_driver_sql(query, {"name": table.name})]
    query = (
        "SELECT name, sql FROM sqlite_master "
        "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
    )
    return [tuple(row) for row in conn.exec_driver_sql(query, (table.name,))]


@contextmanager
def indexes_deferred(conn: Connection, table, keep: tuple[str, ...] = ()) -> Iterator[None]:
    """Rows loaded into an empty `table` in this transaction without maintaining its secondary
    indexes (but those in `keep`): each is built once at the end, a sort instead of a million
    random inserts. A unique one that the rows break fails when it is built, and the
    transaction with it: uniqueness holds either way."""
    deferred = [(name, ddl) for name, ddl in secondary_indexes(conn, table) if name not in keep]
    quote = conn.dialect.identifier_preparer.quote
    for name, _ in deferred:
        conn.exec_driver_sql(f"DROP INDEX {quote(name)}")
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}")
    yield
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    for _, ddl in deferred:
        conn.exec_driver_sql(ddl)
    refresh_statistics(conn, table)


@contextmanager
def audit_unfired(conn: Connection, tables) -> Iterator[None]:
    """SQLite: the audit triggers of `tables` dropped while rows are loaded in this transaction,
    and made again as they were after. For a load that suspended the audit log (it writes
    one summary line instead): each trigger would still run its WHEN test on every row, a
    microsecond and a half a milestone. A server's triggers stay (a failed load rolls back
    either way)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    names = [table.name for table in tables]
    query = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit\\_%' "
        "ESCAPE '\\' AND tbl_name IN (SELECT value FROM json_each(?)) ORDER BY rowid"
    )
    triggers = [tuple(row) for row in conn.exec_driver_sql(query, (json.dumps(names),))]
    quote = conn.dialect.identifier_preparer.quote
    for name, _ in triggers:
        conn.exec_driver_sql(f"DROP TRIGGER {quote(name)}")
    yield
    for _, ddl in triggers:
        conn.exec_driver_sql(ddl)


def insert_rows(
    conn: Connection, table, columns: tuple[str, ...], rows: list[tuple], skip_taken: bool = False
) -> int:
    """Insert rows given as tuples of `columns`, straight through the driver's executemany:
    values are as the column types bind them (SQLite: dates as ISO text, datetimes as
    SQLAlchemy writes them), converted here only for the columns whose type converts.
    `skip_taken`: a row a unique key already holds is left out. The rows inserted."""
    if not rows:
        return 0
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    if skip_taken:
        sql += " ON CONFLICT DO NOTHING"
    result = conn.exec_driver_sql(sql, _bound(conn.dialect, table, columns, rows))
    return result.rowcount


def update_rows(conn: Connection, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Update rows given as tuples of `columns`, the last of which finds the row (its key) and
    the others are set, straight through the driver's executemany, values bound as in
    `insert_rows`: a batch of a tick's moves without SQLAlchemy's per-row parameter work."""
    if not rows:
        return
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    *changed, key = columns
    sql = (
        f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(c)} = {mark}' for c in changed)} "
        f"WHERE {quote(key)} = {mark}"
    )
    conn.exec_driver_sql(sql, _bound(dialect, table, columns, rows))


def upsert_rows(
    conn: Connection,
    table,
    columns: tuple[str, ...],
    keyed: int,
    rows: list[tuple],
    along: tuple[str, ...] = (),
    newer: str | None = None,
) -> int:
    """Insert rows given as tuples of `columns`, whose first `keyed` columns are the table's
    key; a row whose key is taken updates the rest of its columns, but only where a value
    differs. The rows new or changed (an unchanged row is not written, so upserting the same
    rows again changes nothing). `along`: columns written with a change but never compared
    (a stamp: each write has its own). `newer`: a column the row there keeps when its value
    is later than the one given (a day: an older value never replaces a newer one)."""
    if not rows:
        return 0
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    name = quote(table.name)
    key, rest = [quote(c) for c in columns[:keyed]], [quote(c) for c in columns[keyed:]]
    differs = "IS DISTINCT FROM" if dialect.name == "postgresql" else "IS NOT"
    sql = (
        f"INSERT INTO {name} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in rest)
        + " WHERE "
        + ("" if newer is None else f"{name}.{quote(newer)} <= excluded.{quote(newer)} AND (")
        + " OR ".join(
            f"{name}.{c} {differs} excluded.{c}" for c in rest if c not in map(quote, along)
        )
        + ("" if newer is None else ")")
    )
    result = conn.exec_driver_sql(sql, _bound(conn.dialect, table, columns, rows))
    return result.rowcount


def upsert_from(conn: Connection, table, query, key: tuple[str, ...]) -> None:
    """Insert the rows of `query` (its columns named as the table's), a row whose `key` is
    taken updating the rest of that row's columns: one statement where an UPDATE … FROM and an
    INSERT of the rows not there would each read the rows again. At most one row a key."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    names = [column.name for column in query.selected_columns]
    # SQLite reads an ON after a SELECT without WHERE as a join's: a WHERE there always.
    statement = insert(table).from_select(names, query.where(true()))
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=list(key),
            set_={name: statement.excluded[name] for name in names if name not in key},
        )
    )


def insert_new(conn: Connection, table, rows: list[dict]) -> list[dict]:
    """Insert rows (dicts of the same keys, each with a new `uuid`), skipping those a unique
    key already holds (`insert_new_rows`); the rows that went in."""
    if not rows:
        return []
    columns = tuple(rows[0])
    values = [tuple(row[c] for c in columns) for row in rows]
    went_in = insert_new_rows(conn, table, columns, values)
    if len(went_in) == len(rows):
        return rows
    at = columns.index("uuid")
    kept = {value[at] for value in went_in}
    return [row for row in rows if row["uuid"] in kept]


def insert_new_rows(
    conn: Connection, table, columns: tuple[str, ...], rows: list[tuple]
) -> list[tuple]:
    """Insert rows given as tuples of `columns` (one of them a new `uuid`), skipping those a
    unique key already holds, straight through the driver (`insert_rows`: SQLAlchemy's
    per-row parameter handling costs more than the insert); the rows that went in. Usually
    all do: only when some did not are the new uuids looked up."""
    if insert_rows(conn, table, columns, rows, skip_taken=True) == len(rows):
        return rows
    at = columns.index("uuid")
    went_in = set()
    for start in range(0, len(rows), 500):
        chunk = [row[at] for row in rows[start : start + 500]]
        went_in |= set(conn.scalars(select(table.c.uuid).where(table.c.uuid.in_(chunk))))
    return [row for row in rows if row[at] in went_in]


def _bound(dialect, table, columns: tuple[str, ...], rows: list[tuple]) -> list[tuple]:
    """Rows with their values as their column types bind them, converted a column at a time
    (map and zip run in C: a closure per row cost a microsecond, two seconds on a million
    milestones and their reminders). Few distinct values (dates) repeat: each is converted
    once."""
    converters = _column_converters(dialect, table, columns)
    if not converters:
        return rows
    cells = list(zip(*rows, strict=True))
    for i, convert in converters:
        cells[i] = map(convert, cells[i])
    return list(zip(*cells, strict=True))


@lru_cache(maxsize=64)
def _column_converters(dialect, table, columns: tuple[str, ...]) -> tuple:
    """(place, converter) of the columns whose type converts a value to bind it; a None is
    bound as None."""
    converters = []
    for i, column in enumerate(columns):
        proc = table.c[column].type._cached_bind_processor(dialect)
        if proc is not None:
            converters.append((i, lru_cache(maxsize=65536)(_none_kept(proc))))  # scalars
    return tuple(converters)


def _none_kept(proc):
    return lambda value: None if value is None else proc(value)


def in_values(conn: Connection, column, values: list):
    """`column IN values` as one bound parameter however many values (text or whole numbers):
    a JSON array on SQLite, an array on PostgreSQL. An `IN` list of thousands of parameters
    costs more to build and bind than the lookup itself."""
    from sqlalchemy import any_, bindparam, func, literal_column

    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    listed = bindparam(None, json.dumps(list(values)), type_=String)
    return column.in_(select(literal_column("value")).select_from(func.json_each(listed)))


def stream_rows(conn: Connection, query, batch: int) -> Iterator[list[tuple]]:
    """The rows of a query a batch at a time, as plain tuples of what the driver returns (no
    result processing: a boolean may come as 0/1). SQLite: straight from the driver's cursor;
    PostgreSQL: through a server-side cursor, so memory stays flat either way."""
    if conn.dialect.name != "sqlite":
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        for rows in result.partitions():
            yield [tuple(row) for row in rows]
        return
    # Executed by SQLAlchemy (its parameters bound as it binds them: a date as ISO text), read
    # from the driver's cursor (SQLAlchemy reads nothing ahead without stream_results).
    result = conn.execute(query)
    try:
        while rows := result.cursor.fetchmany(batch):
            yield rows
    finally:
        result.close()
