"""Every test gets its own database and a frozen today; none touches a real db or clock.

Two backends, one suite. By default each test's database is a SQLite file in its tmp_path.
With `CLM_TEST_DB=postgresql:///clm_test` (a base URL: server and database name) the run
creates a database `clm_test_PID` on that server, gives each test an empty schema of its own
in it, reached through the URL's `options=-csearch_path=SCHEMA`, and drops the whole database
when the run ends. (Measured: a schema costs milliseconds, a database per test, even cloned
from a template, half a second or more; dropping schemas one by one costs as much as making
their tables, dropping the run's database costs one step.) A server that cannot be reached
ends the run with its reason. Writing tests for both:

- `db_path` is the test's database, `$CLM_DB`: a Path on SQLite, a URL on PostgreSQL. Pass it
  to `--db`, `Database.open(str(db_path), …)`, `dump(db_path)` (every row of every table)
  and `sql(db_path, "SELECT …")` (one statement, committed), which work on either backend.
  Never `sqlite3.connect(db_path)` or `db_path.read_bytes()` on it.
- `new_db()` gives one more empty database on the same backend (a file, or a schema).
- A test about the SQLite file itself (its mode, pragmas, journal, backup) is marked
  `@pytest.mark.sqlite_only("why")`, skipped on the PostgreSQL run; a test that makes its own
  file (`--db tmp_path / "x.db"`) stays on SQLite in either run. `@pytest.mark.pg_only`
  marks a test that needs a server; it is skipped on the SQLite run.

Run on PostgreSQL: `CLM_TEST_DB=postgresql:///clm_test .venv/bin/pytest` (.ci/run does both).
"""

import functools
import itertools
import json
import os
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import typer.testing
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from clm.cli.app import app

# No test asserts a time: Hypothesis's own clocks (a 200 ms deadline per example, a health
# check on how fast examples are drawn) failed property tests on a loaded two-core machine
# for a pause of the machine's, not of clm's.
settings.register_profile("clm", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("clm")

TODAY = date(2026, 11, 23)
# The base URL of the PostgreSQL run, or None for the SQLite run.
TEST_DB = os.environ.get("CLM_TEST_DB") or None
ON_PG = TEST_DB is not None
_schemas = itertools.count(1)


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only(reason): the test is about the SQLite file")
    config.addinivalue_line("markers", "pg_only: the test needs a PostgreSQL server")
    config.addinivalue_line("markers", "package: builds the package (CI, or CLM_TEST_PACKAGE=1)")
    if ON_PG:
        _PG.start(TEST_DB)


def pytest_unconfigure(config):
    if ON_PG:
        _PG.stop()


def pytest_report_header(config):
    where = f"PostgreSQL, {_PG.url}" if ON_PG else "SQLite files (CLM_TEST_DB=postgresql:///…)"
    return f"clm test database: {where}"


def pytest_collection_modifyitems(config, items):
    for item in items:
        mark = item.get_closest_marker("sqlite_only")
        if ON_PG and mark:
            reason = mark.args[0] if mark.args else "about the SQLite file"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))
        if not ON_PG and item.get_closest_marker("pg_only"):
            item.add_marker(pytest.mark.skip(reason="needs CLM_TEST_DB=postgresql:///…"))


class _Server:
    """The PostgreSQL run's own database, NAME_PID beside the base URL's NAME: created when the
    run starts, one schema per test, dropped whole when the run ends (dropping a database is
    one cheap step; dropping each test's schema costs about as much as creating its tables)."""

    url: str = ""
    conn = None

    def start(self, base: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import OperationalError

        from clm.db import resolve

        if "?" in base:
            pytest.exit(f"CLM_TEST_DB={base}: give a base URL without a query", returncode=4)
        base_url = make_url(resolve(base)[0])
        name = f"{base_url.database or 'clm_test'}_{os.getpid()}"
        server = create_engine(base_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with server.connect() as conn:
                self._drop_stale(conn, name.rsplit("_", 1)[0])
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except OperationalError as exc:
            pytest.exit(f"CLM_TEST_DB={base}: cannot reach the server: {exc.orig}", returncode=4)
        finally:
            server.dispose()
        self.server_url = base_url.set(database="postgres")
        self.url = base.rsplit("/", 1)[0] + "/" + name
        self.engine = create_engine(resolve(self.url)[0], isolation_level="AUTOCOMMIT", pool_size=1)
        self.conn = self.engine.connect()

    @staticmethod
    def _drop_stale(conn, prefix: str) -> None:
        """Databases left by runs that were killed (their process is gone)."""
        names = conn.exec_driver_sql(
            "SELECT datname FROM pg_database WHERE datname LIKE %(p)s", {"p": prefix + "_%"}
        ).scalars()
        for stale in list(names):
            pid = stale.rsplit("_", 1)[-1]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{stale}"')

    def schema(self) -> str:
        """A new empty schema: the URL of a database of its own for one test."""
        schema = f"t{next(_schemas)}"
        self.conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        return f"{self.url}?options=-csearch_path%3D{schema}"

    def stop(self) -> None:
        from sqlalchemy import create_engine

        if self.conn is None:
            return
        self.conn.close()
        self.engine.dispose()
        server = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            name = self.url.rsplit("/", 1)[1]
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


_PG = _Server()


@pytest.fixture
def db_path(tmp_path):
    """The test's database: a Path on SQLite, a URL on PostgreSQL (what $CLM_DB holds)."""
    return os.environ["CLM_DB"] if ON_PG else tmp_path / "clm.db"


def empty_file(path: Path) -> Path:
    """An empty private file where a database goes: the place a user made for a new book
    (clm fills an empty file as it would a new one; a missing path other than the default
    is an error, so that a typo never starts a book)."""
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    return path


@pytest.fixture
def new_db(tmp_path):
    """A function giving one more empty database on the test's backend each call: a new file
    on SQLite, a new schema's URL on PostgreSQL."""
    made = itertools.count(1)
    return lambda: _PG.schema() if ON_PG else empty_file(tmp_path / f"new-{next(made)}.db")


@pytest.fixture(autouse=True)
def env_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("CLM_DB", _PG.schema() if ON_PG else str(empty_file(tmp_path / "clm.db")))
    monkeypatch.setenv("CLM_TODAY", TODAY.isoformat())
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # this machine's id
    monkeypatch.setenv("CLM_CONFIG", str(tmp_path / "config" / "config.toml"))  # none yet
    for name in (
        "CLM_USER", "CLM_DEBUG", "CLM_PAGER", "CLM_SMTP_URL",
        "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@functools.cache
def _built(typer_app):
    return typer.main.get_command(typer_app)


class _Runner(CliRunner):
    """Typer's runner with clm's Click command built once a run instead of at every call:
    Typer reads the signature of each of the sixty-odd commands to build it (24 ms of CPU, in
    some 15,000 calls a run). `clm` itself builds its command once a process, and a built
    command keeps no state of an invocation (see clm/cli/fields.py)."""

    def invoke(self, typer_app, *args, **kwargs):
        build, typer.testing._get_command = typer.testing._get_command, _built
        try:
            return super().invoke(typer_app, *args, **kwargs)
        finally:
            typer.testing._get_command = build


class Clm:
    """Runs `clm ARGS` in-process and checks the exit code a test expects."""

    def __init__(self):
        self.runner = _Runner()

    def __call__(self, *args: str, code: int = 0, input: str | None = None):
        result = self.runner.invoke(app, [str(a) for a in args], input=input)
        if result.exit_code != code:
            raise AssertionError(
                f"clm {' '.join(map(str, args))}: exit {result.exit_code}, expected {code}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
            )
        return result

    def json(self, *args: str):
        return json.loads(self(*args, "--format", "json").stdout)

    def error(self, *args: str, code: int = 1) -> str:
        """The one `Error: …` line of a refused command (no traceback)."""
        result = self(*args, code=code)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        return lines[0]


@pytest.fixture
def clm():
    return Clm()


@pytest.fixture
def team(clm):
    """Users of the default lifecycle's teams, each its team's default owner."""
    for handle, team_name in (
        ("mia", "marketing"),
        ("sam", "sales"),
        ("alice", "customer-success"),
        ("amy", "account-management"),
    ):
        clm("user", "add", handle, "--team", team_name, "--default-owner")
    clm("user", "add", "bob", "--team", "customer-success")
    return clm


def dump(target) -> list:
    """Every row of every table of a database (a SQLite path or a URL, as `db_path` gives):
    for asserting a refused command changed nothing."""
    from sqlalchemy import inspect

    if isinstance(target, Path) and not target.exists():
        return []  # (without creating the file)
    with _connect(target) as conn:
        return [
            (t, sorted(map(repr, conn.exec_driver_sql(f'SELECT * FROM "{t}"'))))
            for t in sorted(inspect(conn).get_table_names())
        ]


def sql(target, statement: str, **params) -> list:
    """Run one SQL statement on a database (a path or a URL) and commit; its rows, if any."""
    from sqlalchemy import text

    with _connect(target) as conn:
        result = conn.execute(text(statement), params)
        rows = result.all() if result.returns_rows else []
        conn.commit()
        return rows


LATEST_KEPT = """
SELECT c.slug, m.name, l.day, l.value FROM metric_latest l
JOIN customers c ON c.id = l.customer_id JOIN metrics m ON m.id = l.metric_id
ORDER BY c.slug, m.name"""
LATEST_OF_POINTS = """
SELECT c.slug, m.name, p.day, p.value FROM metric_points p
JOIN customers c ON c.id = p.customer_id JOIN metrics m ON m.id = p.metric_id
WHERE p.day = (SELECT max(q.day) FROM metric_points q
               WHERE q.metric_id = p.metric_id AND q.customer_id = p.customer_id)
ORDER BY c.slug, m.name"""


def latest_values(target) -> list[tuple]:
    """Each customer's latest value of each metric as metric_latest keeps it, as (slug, metric,
    day, value), after checking it is what the points say (the latest day's point of each)."""
    kept = [(s, m, str(d), v) for s, m, d, v in sql(target, LATEST_KEPT)]
    assert kept == [(s, m, str(d), v) for s, m, d, v in sql(target, LATEST_OF_POINTS)]
    return kept


@contextmanager
def _connect(target):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from clm.db import resolve

    engine = create_engine(resolve(str(target))[0], poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def clm_alone(*args: str) -> tuple[bool, str]:
    """clm run with `args` in a Python process of its own, this tree's clm whatever the
    working directory: whether it imported SQLAlchemy, and what it wrote to stdout."""
    import subprocess
    import sys

    import clm as package

    code = (
        "import sys\nfrom clm.cli.app import app\n"
        f"try:\n    app({list(map(str, args))!r}, prog_name='clm')\n"
        "except SystemExit:\n    pass\n"
        "print('sqlalchemy' in sys.modules, file=sys.stderr)\n"
    )
    env = os.environ | {"PYTHONPATH": str(Path(package.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return result.stderr.strip().splitlines()[-1] == "True", result.stdout
