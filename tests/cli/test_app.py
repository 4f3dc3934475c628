"""The whole command tree: help everywhere, the version, errors, and a light start-up."""

import os
import subprocess
import sys

import pytest
import typer

from clm import __version__
from clm.cli.app import app


def _commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name)
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(clm, path):
    result = clm(*path, "--help")
    assert result.stdout.strip()
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    assert command.get_short_help_str().strip(), f"clm {' '.join(path)} has no summary"
    if not hasattr(command, "commands"):
        assert "Example:" in (command.help or ""), f"clm {' '.join(path)} has no example"


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "clm")
def test_help_command_shows_the_same_help(clm, path):
    assert clm("help", *path).stdout.startswith(clm(*path, "--help").stdout.rstrip())
    if path:
        assert clm("help", *path).stdout == clm(*path, "--help").stdout


@pytest.mark.parametrize("path", [["tick"], ["customer"], ["customer", "list"], ["db", "path"]])
def test_help_of_the_console_script_is_the_commands_own(path):
    """The console script builds commands lazily: `clm help` builds the one it shows."""

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "clm", *args], capture_output=True, text=True, check=True
        ).stdout

    shown = run("help", *path)
    assert shown == run(*path, "--help")
    assert "Options:" in shown and "Show this message and exit." in shown
    if path == ["customer"]:
        assert "  list " in shown and "  add " in shown
    if path == ["tick"]:
        assert "--dry-run" in shown


@pytest.mark.parametrize("group", ["report", "db", "model"])
def test_a_group_called_alone_lists_its_commands(clm, group):
    result = clm(group)
    assert result.stdout == clm(group, "--help").stdout
    assert "Commands:" in result.stdout and result.stderr == ""


def test_help_topics_and_suggestions(clm):
    assert "Help topics (clm help TOPIC):" in clm("help").stdout
    dates = clm("help", "dates").stdout
    assert "+5bd" in dates and "eoq" in dates and "Jan 31 + 1m" in dates
    assert clm.error("help", "dtaes") == "Error: no command or topic 'dtaes'; did you mean 'dates'?"
    assert clm.error("help", "customer", "shwo") == (
        "Error: no command 'clm customer shwo'; did you mean 'show'?"
    )
    assert "Did you mean 'customer'" in clm("custmer", code=2).stderr


def test_mistyped_names_get_suggestions(team):
    clm = team
    clm("customer", "add", "Acme Corp")
    clm("customer", "add", "Acme Labs")
    assert clm.error("customer", "show", "acme") == (
        "Error: no customer 'acme'; did you mean 'acme-corp' or 'acme-labs'?"
    )
    assert clm.error("customer", "move", "acme-corp", "onbaording") == (
        "Error: no stage 'onbaording'; did you mean 'onboarding'?"
    )
    assert clm.error("customer", "list", "--owner", "alcie").endswith("did you mean 'alice'?")
    assert clm.error("rule", "disable", "qualfy").endswith("did you mean 'qualify'?")
    assert clm.error("playbook", "show", "onbording").endswith("did you mean 'onboarding'?")


def test_version(clm):
    assert clm("--version").stdout == f"clm {__version__}\n"


def test_usage_errors_exit_2(clm):
    assert clm("customer", "frobnicate", code=2).stdout == ""
    assert "Missing argument" in clm("customer", "add", code=2).stderr


def test_debug_shows_tracebacks_otherwise_one_line(clm, monkeypatch):
    monkeypatch.setattr("clm.domain.stages.list_stages", lambda conn: 1 / 0)
    assert clm.error("stage", "list").startswith("Error: unexpected ZeroDivisionError")
    monkeypatch.setenv("CLM_DEBUG", "1")
    result = clm("stage", "list", code=1)
    assert isinstance(result.exception, ZeroDivisionError)


# Typer itself imports pydantic to coerce any option value it parses, so only the bare
# `--help` and `--version` avoid it; no help or completion opens the database.
@pytest.mark.parametrize(
    ("args", "heavy"),
    [
        (["--help"], ("sqlalchemy", "sqlmodel", "pydantic")),
        (["--version"], ("sqlalchemy", "sqlmodel", "pydantic")),
        (["customer", "--help"], ("sqlalchemy", "sqlmodel")),
        (["customer", "add", "--help"], ("sqlalchemy", "sqlmodel")),
    ],
)
def test_help_and_version_do_not_import_the_database_stack(args, heavy, tmp_path):
    code = (
        "import sys\n"
        "from clm.cli.app import app\n"
        f"try:\n    app({args!r}, prog_name='clm')\n"
        "except SystemExit:\n    pass\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)\n"
    )
    env = os.environ | {"CLM_DB": str(tmp_path / "x.db")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.stderr.strip() == ""
    assert not (tmp_path / "x.db").exists()


def test_the_console_script_answers_version_before_loading_typer():
    code = (
        "import sys\n"
        "sys.argv = ['clm', '--version']\n"
        "from clm.__main__ import main\n"
        "main()\n"
        "print('typer' in sys.modules, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout == f"clm {__version__}\n"
    assert result.stderr.strip() == "False"


@pytest.mark.parametrize("columns", ["80", "132"])
def test_the_console_script_prints_the_clis_own_help_without_loading_typer(columns):
    code = (
        "import sys\n"
        "sys.argv = ['clm', '--help']\n"
        "from clm.__main__ import main\n"
        "main()\n"
        "print('typer' in sys.modules, file=sys.stderr)\n"
    )
    env = os.environ | {"COLUMNS": columns}
    fast = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    slow = subprocess.run(
        [sys.executable, "-c", "from clm.cli.app import main; main()", "--help"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert fast.stdout == slow.stdout
    assert "Commands:" in fast.stdout
    assert fast.stderr.strip() == "False"


def test_a_narrow_terminal_gets_help_wrapped_by_the_cli():
    env = os.environ | {"COLUMNS": "60"}
    result = subprocess.run(
        [sys.executable, "-m", "clm", "--help"], capture_output=True, text=True, env=env
    )
    assert max(len(line) for line in result.stdout.splitlines()) <= 60
