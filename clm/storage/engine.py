"""Where the database lives and how it is opened: engine, pragmas, locking, schema version,
migrations, statistics and the meta table."""

import os
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import (
    Connection,
    create_engine,
    create_mock_engine,
    event,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from clm.errors import ClmError, Invalid
from clm.plain import has_password, hide_password
from clm.storage import migrations as migrations_module
from clm.storage.audit import clear_context, install_triggers, set_context
from clm.storage.clock import Clock, utcnow
from clm.storage.dialect import run_script
from clm.storage.files import (
    SQLITE_HEADER,
    backup_path,
    create_private_file,
    damage_marker,
    newest_backup,
    refuse_other_files,
    save_hot_journal,
    sqlite_meta,
)
from clm.storage.journal import STAMP_PAGE_ONE
from clm.storage.location import busy_timeout_ms, resolve
from clm.storage.statistics import (
    analyze_unanalyzed,
    has_statistics,
    refresh_statistics,
    server_statistics,
)
from clm.storage.tables import meta, metadata, migrations
from clm.storage.team import (
    MODEL,
    MODEL_REFUSAL,
    REFUSED,
    USERS_REFUSAL,
    after_migrations,
    drop_cross_table_policies,
    install_policies,
)

STATEMENT_TIMEOUT_TIMES = 20  # a statement may run this many lock waits long
# Every write on a server takes this transaction-level advisory lock: the PostgreSQL
# counterpart of SQLite's BEGIN IMMEDIATE, so read-modify-write commands never lose updates.
PG_WRITE_LOCK = 0x636C6D  # "clm"


def _sqlite_engine(url: str):
    busy_ms = busy_timeout_ms()
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": busy_ms / 1000})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # transactions are begun below, not by pysqlite
        for pragma in (
            "foreign_keys=ON",
            f"busy_timeout={busy_ms}",
            # Not WAL: sync services copy -wal/-shm apart from the db and corrupt it.
            "journal_mode=DELETE",
            "synchronous=FULL",
        ):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # Writers take the lock up front; a deferred BEGIN would fail or lose updates later.
        options = conn.get_execution_options()
        write = options.get("clm_write")
        if options.get("clm_scattered"):
            # Read when the transaction begins: statement journals in memory. A statement that
            # fires a trigger or checks several unique keys keeps one, and past 64 KiB SQLite
            # writes it to a temporary file (on a 100,000-customer tick, half of its writes).
            conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
        if write:
            conn.exec_driver_sql(STAMP_PAGE_ONE)  # ties the journal to this file

    return engine


def _postgres_engine(url: str):
    busy_ms = busy_timeout_ms()
    try:
        # One connection kept for the whole command: each new one is a server process that
        # starts with cold catalog caches (a command opens a transaction per step; a test
        # suite measured 28 connections per test). Extra ones opened while it is in use are
        # closed when given back; `Database.close` ends them all.
        engine = create_engine(
            url, pool_size=1, max_overflow=-1, connect_args={"application_name": "clm"}
        )
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
        # Every wait has a bound: a lock held elsewhere (clm's advisory write lock, which any
        # role that can connect can take, or a row lock) ends in "database busy", not a hang.
        dbapi_conn.execute(f"SET lock_timeout = {busy_ms}")
        dbapi_conn.execute(f"SET statement_timeout = {busy_ms * STATEMENT_TIMEOUT_TIMES}")
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
        # The audit log's context of each write: set once the schema has the log (see open).
        self.audited = False
        self.actor: str | None = None  # the clm user (--as, CLM_USER)
        self.command: str | None = None
        self.engine = _sqlite_engine(url) if self.is_sqlite else _postgres_engine(url)

    @classmethod
    def open(cls, target: str | None, on_create: Callable[[Connection], None]) -> "Database":
        """Open (creating it on first use) and bring the schema up to date."""
        url, path = resolve(target)
        saved = None
        if path is not None:
            refuse_other_files(path)
            # The default place is made on first use; a path given by hand must exist (a typo
            # in CLM_DB would otherwise start an empty book somewhere).
            create_private_file(path, make_parents=not target)
            saved = save_hot_journal(path)
        db = cls(url, path)
        if path is not None:
            db._check_recovery(saved)
        try:
            version = db.schema_version()
        except DBAPIError as exc:
            if db.damaged:
                raise ClmError(db.damaged) from None
            message = friendly_error(exc, target)
            if message:
                raise ClmError(message) from None
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
        db.audited = True
        return db

    def close(self) -> None:
        """End the connections this database keeps (a server's pooled one)."""
        self.engine.dispose()

    def describe(self) -> str:
        if self.is_sqlite:
            return str(self.path)
        # As people write it (a plain postgresql:// means psycopg), any password hidden.
        return hide_password(self.engine.url.set(drivername="postgresql").render_as_string())

    @contextmanager
    def connect(
        self, write: bool, dry_run: bool = False, scattered: bool = False
    ) -> Iterator[Connection]:
        """One transaction; a writer holds the write lock from its first statement. A dry run
        does all its work and rolls it back: what it shows is exactly what would happen.
        `scattered`: many small writes all over a large file (the tick), for which a file
        keeps its statement journals in memory. (Not a bigger page cache: on a steady tick
        the fresh memory it takes costs more CPU than the spills it saves; a catch-up asks
        for one, `bigger_write_cache`.)"""
        if write and self.damaged:
            raise ClmError(self.damaged)
        try:
            with self._transaction(write, dry_run, scattered) as conn:
                yield conn
        except OperationalError as exc:
            if self.is_sqlite or "lock timeout" not in str(exc.orig):
                raise
            raise ClmError(lock_holder_message(self)) from None

    @contextmanager
    def _transaction(self, write: bool, dry_run: bool, scattered: bool) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if write:
                conn.execution_options(clm_write=True, clm_scattered=scattered)
            transaction = conn.begin()
            try:
                if write and self.audited:
                    set_context(conn, self.actor, self.command)
                yield conn
                clock = conn.info.pop("clm_clock", None)
                if clock is not None and not dry_run:
                    set_meta(conn, "hlc", clock.last)
                if write and self.audited:
                    clear_context(conn)
            except BaseException:
                transaction.rollback()
                raise
            if dry_run:
                transaction.rollback()
            else:
                transaction.commit()

    def read(self):
        return self.connect(write=False)

    def write(self, dry_run: bool = False, scattered: bool = False):
        return self.connect(write=True, dry_run=dry_run, scattered=scattered)

    def schema_version(self) -> int | None:
        """The schema version, read with one query; None for an empty database."""
        try:
            with self.read() as conn:
                keys = ("schema_version", COPYING)
                found = dict(
                    conn.execute(select(meta.c.key, meta.c.value).where(meta.c.key.in_(keys))).all()
                )
        except (OperationalError, DBAPIError) as exc:
            if "permission denied" in str(exc.orig):
                raise ClmError(friendly_error(exc)) from None
            if inspect(self.engine).get_table_names():
                raise ClmError(f"{self.describe()} is not a clm database") from None
            return None
        if COPYING in found:  # what a killed `db copy` left: never opened as a book
            raise ClmError(
                f"{self.describe()} holds a copy that was stopped part way: run the same "
                "clm db copy again, which starts it over"
            )
        value = found.get("schema_version")
        return None if value is None else int(value)

    def _create(self, on_create: Callable[[Connection], None]) -> None:
        try:
            self._create_tables(on_create)
        except DBAPIError as exc:
            text = str(exc.orig)
            if self.is_sqlite or not ("permission denied" in text or "no schema" in text):
                raise
            raise ClmError(
                f"{self.describe()} has no clm tables this role can see, and it may not create "
                "them: the database's owner creates them (clm init) and grants the rights in "
                "`clm help server`"
            ) from None

    def _create_tables(self, on_create: Callable[[Connection], None]) -> None:
        with self.write() as conn:
            if inspect(conn).has_table(meta.name):  # another process created it meanwhile
                return
            create_tables(conn)
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
            install_triggers(conn)  # after the template: a new book's log starts empty
            install_policies(conn)

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
        if pending and not self.is_sqlite:
            with self.write() as conn:
                after_migrations(conn)
        return [name for name, _ in pending]

    def backup(self, dest: Path, mark: bool = False) -> Path:
        """A consistent copy of the SQLite file (SQLite's backup API: one read transaction, so
        writers elsewhere wait rather than tear it), private to its owner and checked. `mark`
        records it as a backup, so it is not taken for a conflicted copy beside the db."""
        create_private_file(dest, exclusive=True)
        try:
            self._backup_into(dest, mark)
        except BaseException as exc:
            # No empty or partial backup left behind: a retry would call it "already exists".
            for leftover in (dest, Path(f"{dest}-journal")):
                leftover.unlink(missing_ok=True)
            if isinstance(exc, sqlite3.Error):
                raise ClmError(f"cannot write the backup {dest}: {exc}; nothing was kept") from None
            raise
        return dest

    def _backup_into(self, dest: Path, mark: bool) -> None:
        source = sqlite3.connect(self.path, timeout=busy_timeout_ms() / 1000)
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


def create_tables(conn: Connection) -> None:
    """The current schema's tables and indexes, in a database that has none of them. On a
    server as one script (see run_script): some 100 statements, compiled once a process."""
    if conn.dialect.name != "postgresql":
        metadata.create_all(conn)
        return
    run_script(conn, list(_server_ddl()))


@cache
def _server_ddl() -> tuple[str, ...]:
    statements: list[str] = []
    collect = create_mock_engine(
        "postgresql+psycopg://",
        lambda ddl, *_, **__: statements.append(str(ddl.compile(dialect=collect.dialect))),
    )
    # No existence checks: the caller holds the write lock and found no clm tables.
    metadata.create_all(collect, checkfirst=False)
    return tuple(statements)


def optimize(database: "Database") -> None:
    """Keep SQLite's planner statistics fresh (cheap when they are), so the tick's queries
    keep choosing their indexes as the book grows: a book that never had any (built command by
    command) gets them; else `PRAGMA optimize` refreshes what is stale, and the tables that
    were empty when they were made get theirs. A server does its own."""
    if database.is_sqlite:
        with database.write() as conn:  # BEGIN IMMEDIATE: waits its turn behind other writers
            if has_statistics(conn):
                conn.exec_driver_sql("PRAGMA optimize")
                analyze_unanalyzed(conn)
            else:
                refresh_statistics(conn)


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


def friendly_error(exc: BaseException, target: str | None = None) -> str | None:
    """A one-line message for a database error, saying what to do: never the SQL, its
    parameters (customer data) or a link to SQLAlchemy's docs. None for other errors."""
    text = str(getattr(exc, "orig", exc))
    first = (text.strip().splitlines() or [""])[0].strip()
    if "database is locked" in text or "database is busy" in text:
        return "database busy: another clm is writing; try again in a moment"
    if "lock timeout" in text or "canceling statement due to statement timeout" in text:
        return (
            "database busy: another session held a lock for longer than CLM_BUSY_TIMEOUT "
            f"({busy_timeout_ms() / 1000:g} s); try again in a moment"
        )
    if "disk is full" in text or "No space left on device" in text or "disk full" in text:
        return "the disk is full: nothing was changed; free some space and run the command again"
    if "malformed" in text or "file is not a database" in text:
        return damaged_message(target, first)
    if "unable to open database" in text or "readonly database" in text:
        return f"cannot open the database: {first}"
    if REFUSED in first:  # the server's own refusal (clm.storage.team) says what is allowed
        return first[first.index(REFUSED) + len(REFUSED) :]
    if "violates row-level security policy" in text:
        return (
            "your role may not change that: it is out of your scope (a milestone collaborator "
            "may only mark it done or blocked and add tasks under it)"
        )
    denied = re.search(r"permission denied for table (\w+)", first)
    if denied and denied.group(1) in MODEL:
        return MODEL_REFUSAL
    if denied and denied.group(1) == "users":
        return USERS_REFUSAL
    if "permission denied" in text or "must be owner" in text:
        return (
            f"the database role lacks a right ({first}): ask the database's owner to grant "
            "the rights in `clm help server`"
        )
    if "could not connect" in text or "connection failed" in text:
        if first.rstrip().endswith("does not exist") and "database" in first:
            first += " (create it with createdb NAME)"
        return f"cannot connect to the database server: {first}"
    if isinstance(exc, DBAPIError):
        return f"database error: {first} (CLM_DEBUG=1 shows the details)"
    return None


def lock_holder_message(database: Database) -> str:
    """Who holds the lock a writer waited for in vain (clm's advisory write lock), as far as
    the server tells: its session, role, client and how long; else a plain "busy"."""
    waited = f"{busy_timeout_ms() / 1000:g} s"
    query = (
        "SELECT a.pid, a.usename, a.application_name, a.client_addr, "
        "extract(epoch FROM now() - coalesce(a.xact_start, a.backend_start)) "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = %(key)s "
        "AND a.pid <> pg_backend_pid() LIMIT 1"
    )
    try:
        with database.engine.connect() as conn:
            row = conn.exec_driver_sql(query, {"key": PG_WRITE_LOCK}).first()
    except DBAPIError:
        row = None
    if row is None:
        return (
            f"database busy: another session held a lock for longer than CLM_BUSY_TIMEOUT "
            f"({waited}); try again in a moment"
        )
    pid, role, app, client, seconds = row
    who = f"session {pid} ({app or 'no application name'}, role {role}"
    who += f", from {client})" if client else ", local)"
    return (
        f"database busy: {who} has held clm's write lock for {float(seconds or 0):.0f} s "
        f"(waited {waited}, CLM_BUSY_TIMEOUT); try again when it is done, or ask the "
        f"database's owner to end it: SELECT pg_terminate_backend({pid})"
    )


def damaged_message(target: str | None, why: str) -> str:
    """A database SQLite cannot read: what to do, with the newest backup beside it."""
    try:
        path = resolve(target)[1]
    except ClmError:
        path = None
    if path is None:
        return f"the database is damaged ({why}): restore it from a dump"
    newest = newest_backup(path)
    restore = (
        f"the newest backup is {newest}: copy it over the db"
        if newest
        else "no backup was found beside it: restore a copy you keep elsewhere"
    )
    return f"{path} is damaged ({why}): {restore}"


def recreate(target: str | None) -> Path | None:
    """Clear the way for a new database at `target`: a file is moved aside as a backup (its
    path returned); a server database has its clm tables dropped."""
    url, path = resolve(target)
    if path is None:
        with Database(url, None).engine.begin() as conn:
            drop_cross_table_policies(conn)
            metadata.drop_all(conn)
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
    try:
        with database.read() as conn:
            problems = [
                r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check") if r[0] != "ok"
            ]
    except DBAPIError as exc:
        return [str(exc.orig)]
    with database.read() as conn:
        problems += [
            f"foreign key: {table} row {rowid} points to a missing {parent}"
            for table, rowid, parent, _ in conn.exec_driver_sql("PRAGMA foreign_key_check")
        ]
    return problems


# --- bulk loads (import) ---------------------------------------------------------------------


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


COPY_SCHEMA = "theirs"


def attach_copy(conn: Connection, other: Connection) -> str:
    """The file `other` reads (a copy open_copy checked) made readable, read-only, from `conn`
    as the schema named here, so one query can compare rows of both (db merge). SQLite only.
    It stays attached until `conn` closes: a transaction that read it cannot detach it."""
    path = next(row[2] for row in other.exec_driver_sql("PRAGMA database_list") if row[1] == "main")
    uri = f"{Path(path).as_uri()}?mode=ro"
    conn.exec_driver_sql(f"ATTACH DATABASE ? AS {COPY_SCHEMA}", (uri,))
    return COPY_SCHEMA


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
    if has_password(target):
        raise Invalid(
            "a database password on the command line is visible to other users: "
            "use PGPASSWORD or ~/.pgpass"
        )
    url, path = resolve(target)
    if path is not None:
        if path.is_symlink() or (path.exists() and path.stat().st_size > 0):
            raise ClmError(f"'{path}' already exists: copy into a new file")
        # The copy is made under another name and renamed when whole (finish_copy): a copy
        # killed part way leaves no DEST, only this file, which the next copy starts over.
        partial = partial_copy_path(path)
        for stale in (partial, Path(f"{partial}-journal")):
            stale.unlink(missing_ok=True)
        create_private_file(partial)
        return Database(f"sqlite:///{partial}", partial)
    database = Database(url, None)
    try:
        tables = inspect(database.engine).get_table_names()
    except OperationalError as exc:
        raise ClmError(friendly_error(exc) or str(exc.orig).strip()) from None
    if tables and _interrupted_copy(database):
        remove_copy(database)  # clm's own copy, killed part way: start it over
        database = Database(url, None)
        tables = []
    if tables:
        raise ClmError(
            f"{database.describe()} is not empty ({len(tables)} tables): copy into an empty "
            "database (createdb NAME) or schema"
        )
    return database


COPYING = "copy_incomplete"  # meta key: a copy in progress (set first, removed when whole)


def partial_copy_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.copying")


def _interrupted_copy(database: Database) -> bool:
    """A server database holding only what a killed `db copy` left: its marker is there."""
    try:
        with database.read() as conn:
            return conn.scalar(select(meta.c.value).where(meta.c.key == COPYING)) is not None
    except DBAPIError:
        return False


def create_schema(database: Database) -> None:
    """The current schema, without any rows (a copy brings its own) and without the audit
    triggers (`audit_copied`: the rows come with their log), marked as a copy in progress
    until finish_copy."""
    with database.write() as conn:
        create_tables(conn)
        server_statistics(conn)
        if not database.is_sqlite:
            conn.execute(meta.insert().values(key=COPYING, value="1"))


def finish_copy(database: Database, target: str) -> Database:
    """A whole copy takes its place: a file is renamed to DEST (refused if DEST appeared
    meanwhile); a server database loses its in-progress marker."""
    if not database.is_sqlite:
        with database.write() as conn:
            conn.execute(meta.delete().where(meta.c.key == COPYING))
        return database
    url, path = resolve(target)
    database.engine.dispose()
    if path.exists() and path.stat().st_size > 0:
        raise ClmError(f"'{path}' appeared while copying: the copy is left at {database.path}")
    os.replace(database.path, path)
    return Database(url, path)


def audit_copied(database: Database) -> None:
    """The audit triggers of a copy, once its rows are in."""
    with database.write() as conn:
        install_triggers(conn)
        install_policies(conn)


def remove_copy(database: Database) -> None:
    """Undo a failed copy: the new file goes; on a server, the tables it created."""
    database.engine.dispose()
    if database.is_sqlite:
        for suffix in ("", "-journal"):
            Path(f"{database.path}{suffix}").unlink(missing_ok=True)
        return
    with database.write() as conn:
        drop_cross_table_policies(conn)
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
