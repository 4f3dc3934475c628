"""Reads through statements compiled ahead (clm/storage/read_sql.py, written by
`python -m clm.domain.read_statements`): on a file in its usual state with the sqlite3 module
alone, so a read path imports no SQLAlchemy; anywhere else (a server, a file to create,
migrate or recover) on the connection every command opens. Each statement is still written
once, with SQLAlchemy, in the domain."""

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from clm.storage.files import SQLITE_HEADER, damage_marker
from clm.storage.read_sql import COPYING, META_TABLE, SCHEMA_VERSION, STATEMENTS

_ROW_TYPES: dict[str, type] = {}


class Reads:
    """Runs compiled statements by name with keyword parameters; rows read by column name."""

    def __init__(
        self,
        execute: Callable[[str, dict], list],
        dialect: str,
        connection=None,
        stream: Callable[[str, dict, int], Iterator[list]] | None = None,
    ):
        self._execute, self.dialect = execute, dialect
        self.connection = connection  # the SQLAlchemy connection read on, if any
        self._stream = stream

    def batches(self, name: str, size: int, **params) -> Iterator[list[tuple]]:
        """A long list's rows `size` at a time, as plain tuples of what the driver returns
        (SQLite's text for a date, read back by the caller), memory flat on either backend."""
        sql, constants = STATEMENTS[name][self.dialect]
        if self.dialect == "sqlite":
            params = {k: v.isoformat() if isinstance(v, date) else v for k, v in params.items()}
        return self._stream(sql, {**constants, **params}, size)

    def all(self, name: str, **params) -> list:
        return self.run(name, STATEMENTS[name], **params)

    def run(self, name: str, entry: dict, **params) -> list:
        """The rows of a statement compiled as clm/storage/read_sql.py keeps them (by
        clm.storage.read_compiler.compile_statement): one compiled when it runs."""
        sql, constants = entry[self.dialect]
        row_type = _ROW_TYPES.get(name)
        if row_type is None:
            fields = [column for column, _ in entry["columns"]]
            row_type = _ROW_TYPES[name] = namedtuple("Row", fields, rename=True)
        if self.dialect != "sqlite":  # the server's driver converts both ways itself
            return [row_type(*row) for row in self._execute(sql, {**constants, **params})]
        given = {k: v.isoformat() if isinstance(v, date) else v for k, v in params.items()}
        readers = [_READ.get(kind) for _, kind in entry["columns"]]
        if not any(readers):
            return [row_type(*row) for row in self._execute(sql, {**constants, **given})]
        return [
            row_type(
                *(v if f is None or v is None else f(v) for f, v in zip(readers, row, strict=True))
            )
            for row in self._execute(sql, {**constants, **given})
        ]

    def dicts(self, name: str, **params) -> list[dict]:
        """The rows as dicts by column name (a name that is a keyword too: `from`)."""
        names = [column for column, _ in STATEMENTS[name]["columns"]]
        return [dict(zip(names, row, strict=True)) for row in self.all(name, **params)]

    def first(self, name: str, **params):
        rows = self.all(name, **params)
        return rows[0] if rows else None

    def scalars(self, name: str, **params) -> list:
        return [row[0] for row in self.all(name, **params)]

    def scalar(self, name: str, **params):
        row = self.first(name, **params)
        return None if row is None else row[0]


_READ = {"date": date.fromisoformat, "bool": bool}


def usual_file(path: Path | None) -> bool:
    """Whether a file can be read without the engine's care: a SQLite file with no journal
    beside it (a hot one is saved and recovered by Database.open), no damage marker, not
    a stopped copy, at the schema version these statements were compiled for."""
    if path is None or not path.is_file():
        return False
    if any(Path(f"{path}{end}").exists() for end in ("-journal", "-wal")):
        return False
    if damage_marker(path).exists():
        return False
    try:
        with path.open("rb") as f:
            if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                return False
    except OSError:
        return False
    return True


@contextmanager
def file_reads(path: Path, busy_ms: int) -> Iterator[Reads | None]:
    """One read transaction on a usual file through the sqlite3 module; None when the file
    is not as these statements expect (the caller opens it the usual way)."""
    conn = sqlite3.connect(path, timeout=busy_ms / 1000, isolation_level=None)
    try:
        try:
            # Not memory-mapped: a sync service that truncates or replaces the file under a
            # mapping kills the reader (SIGBUS); the statements keep the pages they read few.
            conn.execute(f"PRAGMA busy_timeout={busy_ms}")
            conn.execute("BEGIN")
            found = dict(
                conn.execute(
                    f"SELECT key, value FROM {META_TABLE} WHERE key IN (?, ?)",
                    ("schema_version", COPYING),
                )
            )
        except sqlite3.Error:  # not readable, busy, not a clm database: the usual way says
            found = {}
        if COPYING in found or found.get("schema_version") != str(SCHEMA_VERSION):
            yield None
            return

        def execute(sql: str, params: dict) -> list:
            return conn.execute(sql, params).fetchall()

        def stream(sql: str, params: dict, size: int) -> Iterator[list]:
            cursor = conn.execute(sql, params)
            try:
                while rows := cursor.fetchmany(size):
                    yield rows
            finally:
                cursor.close()

        yield Reads(execute, "sqlite", stream=stream)
    finally:
        conn.close()


def connection_reads(conn) -> Reads:
    """Reads on an open SQLAlchemy connection (a server, or a file opened the usual way)."""
    dialect = "sqlite" if conn.dialect.name == "sqlite" else "postgresql"

    def execute(sql: str, params: dict) -> list:
        return conn.exec_driver_sql(sql, params).fetchall()

    def stream(sql: str, params: dict, size: int) -> Iterator[list]:
        # As clm.db.stream_rows: a server-side cursor on PostgreSQL, SQLite's own cursor.
        if dialect == "sqlite":
            result = conn.exec_driver_sql(sql, params)
            try:
                while rows := result.cursor.fetchmany(size):
                    yield rows
            finally:
                result.close()
            return
        streamed = conn.execution_options(stream_results=True, yield_per=size)
        result = streamed.exec_driver_sql(sql, params)
        try:
            for rows in result.partitions():
                yield [tuple(row) for row in rows]
        finally:
            result.close()

    return Reads(execute, dialect, conn, stream)
