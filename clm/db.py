"""Where the database lives and how it is opened: engine, pragmas, locking, schema version and
migrations. The only module with dialect-specific code (SQLite and PostgreSQL)."""

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Connection, create_engine, event, inspect, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from clm import migrations as migrations_module
from clm.clock import Clock
from clm.errors import ClmError, Invalid
from clm.models import SQLModel, meta, migrations

BUSY_TIMEOUT_MS = 15_000
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
    for table in SQLModel.metadata.tables.values():
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
        self.engine = _sqlite_engine(url) if self.is_sqlite else _postgres_engine(url)

    @classmethod
    def open(cls, target: str | None, on_create: Callable[[Connection], None]) -> "Database":
        """Open (creating it on first use) and bring the schema up to date."""
        url, path = resolve(target)
        if path is not None:
            _create_private_file(path)
        db = cls(url, path)
        version = db.schema_version()
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
            SQLModel.metadata.create_all(conn)
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

    def backup(self, dest: Path) -> Path:
        """A consistent copy of the SQLite file (SQLite's backup API), private to its owner."""
        _create_private_file(dest, exclusive=True)
        source = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
        target = sqlite3.connect(dest)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return dest


def backup_path(path: Path, label: str) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    return path.with_name(f"{path.name}.{label}-{stamp}.bak")


def _create_private_file(path: Path, exclusive: bool = False) -> None:
    """Create an empty file readable by its owner only (SQLite gives its journal the same mode)."""
    if path.is_dir():
        raise Invalid(f"database path '{path}' is a directory")
    if path.exists() and not exclusive:
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
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


def optimize(database: "Database") -> None:
    """Let SQLite refresh the planner's statistics when they are stale (cheap when not), so
    the tick's queries keep choosing their indexes as the book grows; a server does its own."""
    if database.is_sqlite:
        with database.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA optimize")


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
        SQLModel.metadata.drop_all(Database(url, None).engine)
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
        SQLModel.metadata.create_all(conn)


def remove_copy(database: Database) -> None:
    """Undo a failed copy: the new file goes; on a server, the tables it created."""
    database.engine.dispose()
    if database.is_sqlite:
        for suffix in ("", "-journal"):
            Path(f"{database.path}{suffix}").unlink(missing_ok=True)
        return
    with database.write() as conn:
        SQLModel.metadata.drop_all(conn)


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
    with database.engine.connect() as conn:
        if database.is_sqlite:
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
