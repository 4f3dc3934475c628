"""Where the database lives and how it is opened: engine, pragmas, locking, schema version and
migrations. The only module with dialect-specific code (SQLite and PostgreSQL)."""

import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import (
    Boolean,
    Connection,
    Integer,
    String,
    create_engine,
    event,
    inspect,
    literal,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.functions import FunctionElement

from clm import migrations as migrations_module
from clm.clock import Clock
from clm.errors import ClmError, Invalid, NotFound
from clm.models import meta, metadata, migrations

# How long a writer waits for another's write lock before "database busy" (CLM_BUSY_TIMEOUT
# seconds overrides it).
BUSY_TIMEOUT_MS = int(float(os.environ.get("CLM_BUSY_TIMEOUT", "15")) * 1000)
# Every write on a server takes this transaction-level advisory lock: the PostgreSQL
# counterpart of SQLite's BEGIN IMMEDIATE, so read-modify-write commands never lose updates.
PG_WRITE_LOCK = 0x636C6D  # "clm"


def default_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("clm") / "clm.db"


def resolve(target: str | None) -> tuple[str, Path | None]:
    """The SQLAlchemy URL and (for SQLite) the file path of `--db`/`CLM_DB` or the default."""
    if not target:
        path = default_path()
    elif "://" not in target:
        path = Path(target).expanduser()
    elif target.startswith("sqlite:///") and len(target) > len("sqlite:///"):
        path = Path(target.removeprefix("sqlite:///")).expanduser()
    elif target.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + target.split("://", 1)[1], None
    elif target.startswith("postgresql+psycopg://"):
        return target, None
    else:
        raise Invalid(
            f"unsupported database '{target}': use a file path, sqlite:///PATH or postgresql://…"
        )
    return f"sqlite:///{path}", path


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_engine(url: str):
    engine = create_engine(
        url, poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # transactions are begun below, not by pysqlite
        for pragma in (
            "foreign_keys=ON",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
            # Not WAL: sync services copy -wal/-shm apart from the db and corrupt it.
            "journal_mode=DELETE",
            "synchronous=FULL",
        ):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # Writers take the lock up front; a deferred BEGIN would fail or lose updates later.
        write = conn.get_execution_options().get("clm_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _postgres_engine(url: str):
    try:
        engine = create_engine(url, poolclass=NullPool)
    except ModuleNotFoundError as exc:
        raise ClmError("PostgreSQL needs the driver: pip install 'clm[postgres]'") from exc
    for table in metadata.tables.values():
        for index in table.indexes:
            if "where" in index.info:
                index.dialect_options["postgresql"]["where"] = index.info["where"]

    @event.listens_for(engine, "connect")
    def _utc(dbapi_conn, _record):
        # Timestamps read back in UTC whatever the server's or the client's (PGTZ) zone, as
        # they do from SQLite, so SQL on dates of timestamps agrees on every machine.
        dbapi_conn.execute("SET TIME ZONE 'UTC'")
        dbapi_conn.commit()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        if conn.get_execution_options().get("clm_write"):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")

    return engine


class Database:
    """One database, SQLite file or PostgreSQL server, opened for one command."""

    def __init__(self, url: str, path: Path | None):
        self.url, self.path = url, path
        self.is_sqlite = path is not None
        self.notices: list[str] = []  # warnings for the user (stderr), once per command
        self.damaged: str | None = None  # why writes are refused, when they are
        self.engine = _sqlite_engine(url) if self.is_sqlite else _postgres_engine(url)

    @classmethod
    def open(cls, target: str | None, on_create: Callable[[Connection], None]) -> "Database":
        """Open (creating it on first use) and bring the schema up to date."""
        url, path = resolve(target)
        saved = None
        if path is not None:
            _refuse_other_files(path)
            # The default place is made on first use; a path given by hand must exist (a typo
            # in CLM_DB would otherwise start an empty book somewhere).
            _create_private_file(path, make_parents=not target)
            saved = save_hot_journal(path)
        db = cls(url, path)
        if path is not None:
            db._check_recovery(saved)
        try:
            version = db.schema_version()
        except DBAPIError as exc:
            if db.damaged:
                raise ClmError(db.damaged) from None
            if path is not None and "not a database" in str(exc.orig):
                raise ClmError(
                    f"cannot read '{path}': {exc.orig} (damaged?): restore it from a backup"
                ) from None
            raise
        if version is None:
            db._create(on_create)
        elif version < migrations_module.SCHEMA_VERSION:
            db.migrate()
        elif version > migrations_module.SCHEMA_VERSION:
            raise ClmError(
                f"{db.describe()} has schema version {version}, newer than this clm knows "
                f"({migrations_module.SCHEMA_VERSION}): upgrade clm"
            )
        return db

    def describe(self) -> str:
        if self.is_sqlite:
            return str(self.path)
        # As people write it (a plain postgresql:// means psycopg), any password hidden.
        return self.engine.url.set(drivername="postgresql").render_as_string()

    @contextmanager
    def connect(self, write: bool, dry_run: bool = False) -> Iterator[Connection]:
        """One transaction; a writer holds the write lock from its first statement. A dry run
        does all its work and rolls it back: what it shows is exactly what would happen."""
        if write and self.damaged:
            raise ClmError(self.damaged)
        with self.engine.connect() as conn:
            if write:
                conn.execution_options(clm_write=True)
            transaction = conn.begin()
            try:
                yield conn
                clock = conn.info.pop("clm_clock", None)
                if clock is not None and not dry_run:
                    set_meta(conn, "hlc", clock.last)
            except BaseException:
                transaction.rollback()
                raise
            if dry_run:
                transaction.rollback()
            else:
                transaction.commit()

    def read(self):
        return self.connect(write=False)

    def write(self, dry_run: bool = False):
        return self.connect(write=True, dry_run=dry_run)

    def schema_version(self) -> int | None:
        """The schema version, read with one query; None for an empty database."""
        try:
            with self.read() as conn:
                value = conn.scalar(select(meta.c.value).where(meta.c.key == "schema_version"))
        except (OperationalError, DBAPIError):
            if inspect(self.engine).get_table_names():
                raise ClmError(f"{self.describe()} is not a clm database") from None
            return None
        return int(value)

    def _create(self, on_create: Callable[[Connection], None]) -> None:
        with self.write() as conn:
            if inspect(conn).has_table(meta.name):  # another process created it meanwhile
                return
            metadata.create_all(conn)
            server_statistics(conn)
            now = utcnow()
            conn.execute(
                meta.insert(),
                [
                    {"key": "schema_version", "value": str(migrations_module.SCHEMA_VERSION)},
                    {"key": "lineage", "value": str(uuid.uuid4())},
                    {"key": "created_at", "value": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
                ],
            )
            conn.execute(
                migrations.insert(),
                [{"name": name, "applied_at": now} for name, _ in migrations_module.MIGRATIONS],
            )
            on_create(conn)

    def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen, after a backup; their names."""
        with self.read() as conn:
            done = set(conn.scalars(select(migrations.c.name)))
        pending = [(n, f) for n, f in migrations_module.MIGRATIONS if n not in done]
        if pending and self.is_sqlite:
            self.backup(backup_path(self.path, f"before-{pending[0][0]}"))
        for name, apply in pending:
            with self.write() as conn:
                # Another process may have applied it while we waited for the lock.
                if not conn.scalar(select(migrations.c.name).where(migrations.c.name == name)):
                    apply(conn)
                    conn.execute(migrations.insert().values(name=name, applied_at=utcnow()))
                done.add(name)
                set_meta(conn, "schema_version", str(len(done)))
        return [name for name, _ in pending]

    def backup(self, dest: Path, mark: bool = False) -> Path:
        """A consistent copy of the SQLite file (SQLite's backup API: one read transaction, so
        writers elsewhere wait rather than tear it), private to its owner and checked. `mark`
        records it as a backup, so it is not taken for a conflicted copy beside the db."""
        _create_private_file(dest, exclusive=True)
        source = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
        target = sqlite3.connect(dest)
        try:
            source.backup(target)
            if mark:
                target.execute(
                    "INSERT OR REPLACE INTO clm_meta VALUES ('backup_at', ?)",
                    (utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),),
                )
                target.commit()
            status = target.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            target.close()
            source.close()
        if status != "ok":
            raise ClmError(f"the backup {dest} does not check out ({status}): keep the db as is")
        return dest

    def _check_recovery(self, saved: tuple[Path, Path] | None) -> None:
        """After a hot journal: let SQLite roll it back, then check the result before any write.
        A damaged file stays refused (a marker beside it) until `clm db check` finds it sound."""
        marker = damage_marker(self.path)
        if saved:
            self.notices.append(
                f"found a hot journal beside {self.path} (a crash, or a journal a sync service "
                f"brought from another machine): saved the db and journal as {saved[0]} and "
                f"{saved[1]}, then recovered it"
            )
            try:
                with self.engine.connect() as conn:
                    status = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check")]
            except DBAPIError as exc:
                status = [str(exc.orig)]
            if status != ["ok"]:
                newest = newest_backup(self.path)
                restore = (
                    f"the newest backup is {newest}: copy it over the db"
                    if newest
                    else "no backup was found: copy a sound copy over the db"
                )
                marker.write_text(
                    f"{self.path} is damaged after recovering a hot journal ({status[0]}): "
                    f"writes are refused. The db and journal as found are saved as {saved[0]} "
                    f"and {saved[1]}; {restore}, then run clm db check\n"
                )
        if marker.exists():
            self.damaged = marker.read_text().strip()


def backup_path(path: Path, label: str) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    backup, n = path.with_name(f"{path.name}.{label}-{stamp}.bak"), 1
    while backup.exists():  # two backups within a second
        n += 1
        backup = path.with_name(f"{path.name}.{label}-{stamp}-{n}.bak")
    return backup


def _refuse_other_files(path: Path) -> None:
    """A file that is there and is not SQLite is never opened as the database."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return  # made, refused or reported where it is opened
    if head and head != SQLITE_HEADER[: len(head)]:
        raise ClmError(
            f"'{path}' is not a SQLite database: name a clm database, or a new file to create one"
        )


def _create_private_file(path: Path, exclusive: bool = False, make_parents: bool = False) -> None:
    """Create an empty file readable by its owner only (SQLite gives its journal the same mode);
    its directory must exist unless `make_parents`."""
    if path.is_dir():
        raise Invalid(f"database path '{path}' is a directory")
    if path.exists() and not exclusive:
        return
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif not path.parent.is_dir():
        raise NotFound(f"no directory '{path.parent}' for '{path.name}': create it first")
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
    except FileExistsError:
        if exclusive:
            raise ClmError(f"'{path}' already exists") from None


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


def roomy_write(conn: Connection, cache_mb: int = 256) -> None:
    """Room for a large write transaction (a catch-up tick rewrites a good part of the file):
    on SQLite, up to `cache_mb` of pages kept in memory, so that dirty pages are not spilled
    to the file mid-transaction (each spill syncs the journal: a hundred syncs instead of one
    on a 100,000-customer catch-up). Memory grows only with the pages touched, and the
    connection closes with the command. A server needs nothing."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{cache_mb * 1024}")


def roomy_read(conn: Connection, cache_mb: int = 64) -> None:
    """Room for a report that reads the same tables several times (the dashboard scans the
    customers for five of its parts): on SQLite, keep up to `cache_mb` of pages in memory
    rather than reading them from the file again. A server keeps its own cache."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{cache_mb * 1024}")


def optimize(database: "Database") -> None:
    """Keep SQLite's planner statistics fresh (cheap when they are), so the tick's queries
    keep choosing their indexes as the book grows: a book that never had any (built command by
    command) gets them; else `PRAGMA optimize` refreshes what is stale. A server does its own."""
    if database.is_sqlite:
        with database.write() as conn:  # BEGIN IMMEDIATE: waits its turn behind other writers
            if _has_statistics(conn):
                conn.exec_driver_sql("PRAGMA optimize")
            else:
                refresh_statistics(conn)


def _has_statistics(conn: Connection) -> bool:
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


def restat(conn: Connection, *tables: str) -> None:
    """Planner statistics of `tables` again, after a migration changed their indexes, where
    the database keeps statistics: a SQLite file that has none yet gets them whole on its
    next tick (`optimize`)."""
    quote = conn.dialect.identifier_preparer.quote
    if conn.dialect.name == "sqlite" and not _has_statistics(conn):
        return
    for table in tables:
        conn.exec_driver_sql(f"ANALYZE {quote(table)}")


def advance_id_sequence(conn: Connection, table) -> None:
    """After rows were inserted with their own ids: a server's id sequence moves past them
    (SQLite's rowid needs nothing)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"(SELECT max(id) FROM {table.name}))"
        )


def get_meta(conn: Connection, key: str) -> str | None:
    return conn.scalar(select(meta.c.value).where(meta.c.key == key))


def set_meta(conn: Connection, key: str, value: str) -> None:
    if conn.execute(update(meta).where(meta.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(meta.insert().values(key=key, value=value))


def clock(conn: Connection) -> Clock:
    """The hybrid logical clock of this write transaction, saved when it commits."""
    if "clm_clock" not in conn.info:
        conn.info["clm_clock"] = Clock(get_meta(conn, "hlc"))
    return conn.info["clm_clock"]


def friendly_error(exc: BaseException) -> str | None:
    """A one-line message for a database error a user can act on, or None."""
    text = str(getattr(exc, "orig", exc))
    if "database is locked" in text or "database is busy" in text:
        return "database busy: another clm is writing; try again in a moment"
    if "unable to open database" in text or "readonly database" in text:
        return f"cannot open the database: {text}"
    if "could not connect" in text or "connection failed" in text:
        first = text.splitlines()[0]
        if first.rstrip().endswith("does not exist") and "database" in first:
            first += " (create it with createdb NAME)"
        return f"cannot connect to the database server: {first}"
    return None


def recreate(target: str | None) -> Path | None:
    """Clear the way for a new database at `target`: a file is moved aside as a backup (its
    path returned); a server database has its clm tables dropped."""
    url, path = resolve(target)
    if path is None:
        metadata.drop_all(Database(url, None).engine)
        return None
    if not path.exists() or path.stat().st_size == 0:
        return None
    saved = backup_path(path, "before-init")
    path.rename(saved)
    for suffix in ("-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return saved


def exists(target: str | None) -> bool:
    """Whether `target` already holds a clm database (without creating anything)."""
    url, path = resolve(target)
    if path is not None and (not path.exists() or path.stat().st_size == 0):
        return False
    return inspect(Database(url, path).engine).has_table(meta.name)


def integrity_problems(database: Database) -> list[str]:
    """SQLite's integrity and foreign key checks, as lines; empty when the file is sound."""
    if not database.is_sqlite:
        return []
    with database.read() as conn:
        problems = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [
            f"foreign key: {table} row {rowid} points to a missing {parent}"
            for table, rowid, parent, _ in conn.exec_driver_sql("PRAGMA foreign_key_check")
        ]
    return problems


# --- bulk loads (import) ---------------------------------------------------------------------

BULK_CACHE_KIB = 16 * 1024  # SQLite page cache for a bulk load: index pages stay in memory


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
    yield
    for _, ddl in deferred:
        conn.exec_driver_sql(ddl)
    refresh_statistics(conn, table)


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
    convert = _row_converter(conn.dialect, table, columns)
    result = conn.exec_driver_sql(sql, rows if convert is None else list(map(convert, rows)))
    return result.rowcount


def insert_new(conn: Connection, table, rows: list[dict]) -> list[dict]:
    """Insert rows (dicts of the same keys, each with a new `uuid`), skipping those a unique
    key already holds, straight through the driver (`insert_rows`: SQLAlchemy's per-row
    parameter handling costs more than the insert); the rows that went in. Usually all do:
    only when some did not are the new uuids looked up."""
    if not rows:
        return []
    columns = tuple(rows[0])
    values = [tuple(row[c] for c in columns) for row in rows]
    if insert_rows(conn, table, columns, values, skip_taken=True) == len(rows):
        return rows
    went_in = set()
    for start in range(0, len(rows), 500):
        chunk = [row["uuid"] for row in rows[start : start + 500]]
        went_in |= set(conn.scalars(select(table.c.uuid).where(table.c.uuid.in_(chunk))))
    return [row for row in rows if row["uuid"] in went_in]


@lru_cache(maxsize=64)
def _row_converter(dialect, table, columns: tuple[str, ...]):
    """A function converting a row's values as their column types bind them, compiled once
    (a loop over the columns of each row would cost more than the insert); None when no
    column converts. Few distinct values (dates) repeat: each is converted once."""
    namespace, cells, converts = {}, [], False
    for i, column in enumerate(columns):
        proc = table.c[column].type._cached_bind_processor(dialect)
        if proc is None:
            cells.append(f"r[{i}]")
            continue
        converts = True
        namespace[f"p{i}"] = lru_cache(maxsize=65536)(proc)  # scalars, hashable
        cells.append(f"(None if (x := r[{i}]) is None else p{i}(x))")
    if not converts:
        return None
    exec(f"def row(r):\n    return ({', '.join(cells)},)\n", namespace)  # our own text
    return namespace["row"]


def one_of(conn: Connection, column, values: list):
    """`column IN values` as one bound parameter however many values (text or whole numbers):
    a JSON array on SQLite, an array on PostgreSQL. An `IN` list of thousands of parameters
    costs more to build and bind than the lookup itself."""
    from sqlalchemy import String, any_, bindparam, func, literal_column

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


class iso_date(FunctionElement):
    """SQL: a date column as its ISO text (`2026-11-23`), on either dialect: SQLite stores it
    so; PostgreSQL's own text for a date follows the session's DateStyle, so it is spelled out."""

    type = String()
    name = "iso_date"
    inherit_cache = True


@compiles(iso_date, "sqlite")
def _iso_date_sqlite(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(iso_date, "postgresql")
def _iso_date_postgresql(element, compiler, **kw) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD')"


class joined_cells(FunctionElement):
    """SQL: cells joined by a delimiter into one text (NULL as an empty cell, a whole number
    as its digits), on either dialect: a line a driver returns as one string, not a dozen.
    SQLite has no concat_ws before 3.44 and its `||` copies the line once per cell: its
    printf writes it once (a NUL would end a cell there, and clm stores none: imports refuse
    it, arguments cannot hold it)."""

    type = String()
    name = "joined_cells"
    inherit_cache = False  # the delimiter is rendered into the SQL text: never a cached form

    def __init__(self, delimiter: str, *cells):
        self.delimiter = delimiter
        super().__init__(*cells)


@compiles(joined_cells, "sqlite")
def _joined_cells_sqlite(element, compiler, **kw) -> str:
    delimiter = element.delimiter.replace("%", "%%").replace("'", "''")
    spec = delimiter.join(["%s"] * len(element.clauses))
    return f"printf('{spec}', {compiler.process(element.clauses, **kw)})"


@compiles(joined_cells, "postgresql")
def _joined_cells_postgresql(element, compiler, **kw) -> str:
    delimiter = compiler.process(literal(element.delimiter, String()), **kw)
    cells = ", ".join(
        f"coalesce(({compiler.process(cell, **kw)})::text, '')" for cell in element.clauses
    )
    return f"concat_ws({delimiter}, {cells})"


# Characters every renderer shows one cell wide, escapes never and strips never: printable
# ASCII and the Latin letters and signs of U+00A1–U+024F (no control, space, combining mark or
# wide character). Text of only these is as long as it is wide, so the database can pad it.
NARROW_CHARS = " -~\u00a1-\u024f"


class has_other_chars(FunctionElement):
    """SQL: whether text holds a character outside NARROW_CHARS (NULL for NULL)."""

    type = Boolean()
    name = "has_other_chars"
    inherit_cache = True


@compiles(has_other_chars, "sqlite")
def _has_other_chars_sqlite(element, compiler, **kw) -> str:
    # GLOB costs a microsecond or two a name: ASCII text (as long in characters as in bytes)
    # is checked for controls with cheaper functions (json_quote escapes C0 controls, and `"`
    # and `\`, which it then sends to the GLOB too).
    text = f"({compiler.process(element.clauses, **kw)})"
    return (
        f"(CASE WHEN length({text}) = length(CAST({text} AS BLOB))"
        f" AND length(json_quote({text})) = length({text}) + 2 THEN instr({text}, char(127)) > 0"
        f" ELSE {text} GLOB '*[^{NARROW_CHARS}]*' END)"
    )


@compiles(has_other_chars, "postgresql")
def _has_other_chars_postgresql(element, compiler, **kw) -> str:
    return f"(({compiler.process(element.clauses, **kw)}) ~ '[^{NARROW_CHARS}]')"


class grouped_digits(FunctionElement):
    """SQL: a whole number's digits with a comma between thousands (`1,234,567`), as Python's
    `f"{n:,}"` writes it."""

    type = String()
    name = "grouped_digits"
    inherit_cache = True


@compiles(grouped_digits, "sqlite")
def _grouped_digits_sqlite(element, compiler, **kw) -> str:
    return f"printf('%,d', {compiler.process(element.clauses, **kw)})"


@compiles(grouped_digits, "postgresql")
def _grouped_digits_postgresql(element, compiler, **kw) -> str:
    pattern = "FM" + ",".join(["999"] * 7)  # up to 21 digits; a bigint has 19
    return f"to_char({compiler.process(element.clauses, **kw)}, '{pattern}')"


class padded_line(FunctionElement):
    """SQL: text cells each padded with spaces to its width (on the left when flush right),
    joined by three spaces, trailing spaces trimmed: a line of a plain table. Widths count
    characters (SQLite's printf counts bytes unless told `!`); a NULL cell is empty."""

    type = String()
    name = "padded_line"
    inherit_cache = False  # the widths are rendered into the SQL text: never a cached form

    def __init__(self, layout: list[tuple[int, bool]], *cells):
        self.layout = layout  # (width, flush right) of each cell
        super().__init__(*cells)


def _line_spec(layout: list[tuple[int, bool]], bang: str) -> str:
    return "   ".join(f"%{'' if right else '-'}{bang}{int(width)}s" for width, right in layout)


@compiles(padded_line, "sqlite")
def _padded_line_sqlite(element, compiler, **kw) -> str:
    spec = _line_spec(element.layout, "!")
    return f"rtrim(printf('{spec}', {compiler.process(element.clauses, **kw)}))"


@compiles(padded_line, "postgresql")
def _padded_line_postgresql(element, compiler, **kw) -> str:
    spec = compiler.process(literal(_line_spec(element.layout, ""), String()), **kw)
    return f"rtrim(format({spec}, {compiler.process(element.clauses, **kw)}))"


class sorted_by(FunctionElement):
    """SQL: an ORDER BY term that SQLite sorts by rather than follows an index (`+column`):
    for most of a table, reading it in storage order and sorting costs half of walking an
    index and fetching each row from wherever it lies. PostgreSQL chooses by cost itself."""

    name = "sorted_by"
    inherit_cache = True


@compiles(sorted_by, "sqlite")
def _sorted_by_sqlite(element, compiler, **kw) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


@compiles(sorted_by, "postgresql")
def _sorted_by_postgresql(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


class binary(FunctionElement):
    """SQL: text compared byte by byte (code point order), whatever the collation: SQLite's
    own; PostgreSQL's "C"."""

    type = String()
    name = "binary"
    inherit_cache = True


@compiles(binary, "sqlite")
def _binary_sqlite(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(binary, "postgresql")
def _binary_postgresql(element, compiler, **kw) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


class days_from(FunctionElement):
    """SQL: the whole days from the first date to the second (`b - a`), on either dialect."""

    type = Integer()
    name = "days_from"
    inherit_cache = True


@compiles(days_from, "sqlite")
def _days_from_sqlite(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"


@compiles(days_from, "postgresql")
def _days_from_postgresql(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


# Shared files: hot journals, copies beside the db, read-only copies to merge.

SQLITE_HEADER = b"SQLite format 3\x00"
JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
_PENDING_BYTE = 0x40000000  # SQLite's lock bytes: PENDING, then RESERVED


def damage_marker(path: Path) -> Path:
    return path.with_name(f"{path.name}.damaged")


def newest_backup(path: Path) -> Path | None:
    """The newest backup clm made beside the db (before a migration, init or merge)."""
    backups = [p for p in path.parent.glob(f"{path.name}.*.bak") if ".hot-" not in p.name]
    return max(backups, key=lambda p: p.stat().st_mtime, default=None)


def _journal_is_hot(path: Path, journal: Path) -> bool:
    """A journal with a valid header whose writer is gone: no process holds the db's RESERVED
    or PENDING lock (a live writer's journal is not hot, it is in use)."""
    import fcntl
    import struct

    try:
        with journal.open("rb") as f:
            if f.read(8) != JOURNAL_MAGIC:
                return False
    except OSError:
        return False
    layout = "hhqqi"  # struct flock: type, whence, start, len, pid
    fd = os.open(path, os.O_RDONLY)
    try:
        probe = struct.pack(layout, fcntl.F_WRLCK, os.SEEK_SET, _PENDING_BYTE, 2, 0)
        held = struct.unpack(layout, fcntl.fcntl(fd, fcntl.F_GETLK, probe))[0]
    finally:
        os.close(fd)
    return held == fcntl.F_UNLCK


def save_hot_journal(path: Path) -> tuple[Path, Path] | None:
    """Before SQLite rolls a hot journal back into the db, save both aside (a journal a sync
    service delivered from another machine would turn the db into garbage); their paths."""
    journal = Path(f"{path}-journal")
    if not journal.exists() or not _journal_is_hot(path, journal):
        return None
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    pair = (path.with_name(f"{path.name}.hot-{stamp}.db.bak"),
            path.with_name(f"{path.name}.hot-{stamp}.journal.bak"))  # fmt: skip
    for source, dest in zip((path, journal), pair, strict=True):
        _create_private_file(dest, exclusive=True)
        shutil.copyfile(source, dest)
    return pair


def sqlite_meta(path: Path, keys: tuple[str, ...]) -> dict[str, str] | None:
    """Some meta values of a SQLite file, read without locking or recovering it (cheap: for
    files beside the db); None when it is not a clm database."""
    try:
        with path.open("rb") as f:
            if f.read(16) != SQLITE_HEADER:
                return None
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except OSError:
        return None
    try:
        marks = ",".join("?" * len(keys))
        rows = conn.execute(f"SELECT key, value FROM clm_meta WHERE key IN ({marks})", keys)
        return dict(rows.fetchall())
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()


@contextmanager
def open_copy(path: Path) -> Iterator[Connection]:
    """A connection to another clm SQLite file, read-only and checked first (a clm db, sound,
    a schema this clm knows). A copy of an older schema is migrated in a temporary snapshot:
    the file itself is never modified."""
    import tempfile

    if not path.is_file():
        raise Invalid(f"no database file '{path}'")
    if Path(f"{path}-journal").exists():
        raise ClmError(
            f"{path} has a journal beside it (a crash, or a sync in progress): open it once "
            f"with clm (clm --db '{path}' db check) to recover it, then merge"
        )
    with path.open("rb") as f:
        if f.read(16) != SQLITE_HEADER:
            raise ClmError(f"{path} is not a clm database")
    raw = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        try:
            status = [r[0] for r in raw.execute("PRAGMA integrity_check")]
            status += [
                f"foreign key problem in {r[0]}" for r in raw.execute("PRAGMA foreign_key_check")
            ]
        except sqlite3.DatabaseError as exc:
            status = [str(exc)]
        if status != ["ok"]:
            raise ClmError(f"{path} is damaged ({status[0]}): it cannot be merged")
        found = sqlite_meta(path, ("schema_version",))
        if not found:
            raise ClmError(f"{path} is not a clm database")
        version = int(found["schema_version"])
        if version > migrations_module.SCHEMA_VERSION:
            raise ClmError(
                f"{path} has schema version {version}, newer than this clm knows: upgrade"
            )
        with tempfile.TemporaryDirectory() as tmp:
            if version < migrations_module.SCHEMA_VERSION:
                snapshot = Path(tmp) / "copy.db"
                target = sqlite3.connect(snapshot)
                raw.backup(target)
                target.close()
                Database.open(str(snapshot), on_create=lambda conn: None)
                raw.close()
                raw = sqlite3.connect(f"{snapshot.as_uri()}?mode=ro", uri=True)
            engine = create_engine("sqlite://", poolclass=NullPool, creator=lambda: raw)
            with engine.connect() as conn:
                yield conn
            engine.dispose()
    finally:
        raw.close()


# --- Copying a whole database (clm db copy) -------------------------------------------------


@contextmanager
def snapshot(database: Database) -> Iterator[Connection]:
    """A read transaction that sees one moment of the whole database, however long it lasts:
    SQLite's read transaction does; a server needs REPEATABLE READ."""
    if database.is_sqlite:
        with database.read() as conn:
            yield conn
        return
    with database.engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield conn


def open_empty(target: str) -> Database:
    """The database at `target` (a path or a URL) to copy into: a new (or empty) file, or a
    server database without tables. Anything else is refused: a copy never overwrites."""
    if "://" in target and urlsplit(target).password:
        raise Invalid(
            "a database password on the command line is visible to other users: "
            "use PGPASSWORD or ~/.pgpass"
        )
    url, path = resolve(target)
    if path is not None:
        if path.is_symlink() or (path.exists() and path.stat().st_size > 0):
            raise ClmError(f"'{path}' already exists: copy into a new file")
        _create_private_file(path)
        return Database(url, path)
    database = Database(url, None)
    try:
        tables = inspect(database.engine).get_table_names()
    except OperationalError as exc:
        raise ClmError(friendly_error(exc) or str(exc.orig).strip()) from None
    if tables:
        raise ClmError(
            f"{database.describe()} is not empty ({len(tables)} tables): copy into an empty "
            "database (createdb NAME) or schema"
        )
    return database


def create_schema(database: Database) -> None:
    """The current schema, without any rows (a copy brings its own)."""
    with database.write() as conn:
        metadata.create_all(conn)
        server_statistics(conn)


def remove_copy(database: Database) -> None:
    """Undo a failed copy: the new file goes; on a server, the tables it created."""
    database.engine.dispose()
    if database.is_sqlite:
        for suffix in ("", "-journal"):
            Path(f"{database.path}{suffix}").unlink(missing_ok=True)
        return
    with database.write() as conn:
        metadata.drop_all(conn)


def server_description(database: Database) -> dict[str, str]:
    """What `db check` reports about a server: who is connected, and the server's version."""
    if database.is_sqlite:
        return {}
    with database.read() as conn:
        user, version = conn.exec_driver_sql(
            "SELECT current_user, current_setting('server_version')"
        ).one()
    return {"connection": f"ok (as {user})", "server": f"PostgreSQL {version}"}


def analyze(database: Database) -> None:
    """Fresh planner statistics after a bulk load: without them a server plans the first
    queries on a copied book as if its tables were empty (sequential scans, bad joins)."""
    if database.is_sqlite:
        with database.write() as conn:  # committed: a bare connection's ANALYZE rolled back
            refresh_statistics(conn)
    else:
        with database.engine.connect() as conn:
            refresh_statistics(conn.execution_options(isolation_level="AUTOCOMMIT"))
