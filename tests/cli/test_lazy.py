"""The lazily built command tree behaves as the one Typer builds whole."""

import pytest
import typer.testing
from typer.testing import CliRunner

from clm.cli.app import app
from clm.cli.lazy import lazy_root

ARGS = [
    [], ["--help"], ["--version"], ["frobnicate"], ["custmer"], ["customer"],
    ["customer", "--help"], ["customer", "frob"], ["customer", "list", "--help"],
    ["customer", "list", "--limit", "x"],
    ["note", "--help"], ["my", "--help"], ["--as", "alice", "my"], ["tick", "--help"],
    ["db", "--help"], ["customer", "show", "zzz"], ["stage", "list", "-f", "csv"],
]  # fmt: skip


def _run(args):
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args", ARGS, ids=" ".join)
def test_same_output_and_exit_code(args, team, monkeypatch):
    eager = _run(args)
    monkeypatch.setattr(typer.testing, "_get_command", lazy_root)
    assert _run(args) == eager


def test_builds_only_what_the_line_names(team, monkeypatch):
    root = lazy_root(app)
    assert set(root.pending) >= {"customer", "my", "tick", "stage", "note"}
    monkeypatch.setattr(typer.testing, "_get_command", lambda _: root)
    assert _run(["--as", "alice", "my"])[0] == 0
    assert "my" not in root.pending and "customer" in root.pending
