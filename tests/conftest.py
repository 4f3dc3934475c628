"""Every test gets its own database and a frozen today; none touches a real db or clock."""

import json
import sqlite3
from datetime import date

import pytest
from typer.testing import CliRunner

from clm.cli import app

TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def env_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("CLM_DB", str(tmp_path / "clm.db"))
    monkeypatch.setenv("CLM_TODAY", TODAY.isoformat())
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # this machine's id
    for name in ("CLM_USER", "CLM_DEBUG", "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "clm.db"


class Clm:
    """Runs `clm ARGS` in-process and checks the exit code a test expects."""

    def __init__(self):
        self.runner = CliRunner()

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


def dump(path) -> list:
    """Every row of every table: for asserting a refused command changed nothing."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [
            (t, sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"')))) for t in sorted(tables)
        ]
    finally:
        conn.close()
