"""`clm config …`: the config file's settings, and which value is in effect where."""

import os
from typing import Annotated

import typer

from clm.commands.common import FormatOpt, noun
from clm.render.output import Col, Format, render_rows, say

app = noun("Settings of the config file (database, user, pager, notifications). Lists by default.")

KeyArg = Annotated[
    str,
    typer.Argument(
        metavar="KEY", help="database, user, pager, dates or notify.smtp_url (`clm config list`)."
    ),
]
COLUMNS = (
    Col("key"),
    Col("value"),
    Col("from", drop=1),  # an option, a variable, the config file, or clm's default
    Col("about", drop=2),
)


def _in_effect(env, name: str) -> tuple[str | None, str]:
    """A setting's value in effect for this command, and where it came from."""
    from clm.storage.config_file import KEYS

    if name == "database" and env.db_option:
        return env.db_option, "--db"
    if name == "user" and env.user_from == "--as":
        return env.user, "--as"
    variable = KEYS[name].variable
    if os.environ.get(variable):
        return os.environ[variable], variable
    configured = env.configured(name)
    if configured is not None:
        return configured, "config file"
    if name == "database":
        from clm.cli.names import sqlite_file

        return str(sqlite_file(None)), "default"
    if name == "pager":
        from clm.cli.pager import pager_command

        if os.environ.get("PAGER") is not None:
            return os.environ["PAGER"], "PAGER"
        return pager_command() or "", "default"
    if name == "dates":
        return "iso", "default"
    return None, ""


def _shown(name: str, value: str | None) -> str | None:
    from clm.plain import hide_password

    return hide_password(value) if value and name == "database" else value


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """List every setting: its value in effect, where that comes from (an option, an
    environment variable, the config file or the default) and what it is.

    Example: clm config list
    """
    env = ctx.obj
    from clm.storage.config_file import KEYS

    def row(name: str) -> dict:
        value, source = _in_effect(env, name)
        about = KEYS[name].about
        return {"key": name, "value": _shown(name, value), "from": source, "about": about}

    render_rows(env, map(row, KEYS), COLUMNS, fmt, noun="settings")


@app.command("get")
def get(ctx: typer.Context, name: KeyArg) -> None:
    """Print a setting's value in effect (exit 1 when it has none).

    Example: clm config get database
    """
    env = ctx.obj
    from clm.errors import NotFound
    from clm.storage.config_file import KEYS, config_path, key

    key(name)
    value, _ = _in_effect(env, name)
    if value is None:
        raise NotFound(f"{name} is not set: not in {KEYS[name].variable}, nor in {config_path()}")
    env.stdout.write(_shown(name, value) + "\n")


@app.command("set")
def set_(
    ctx: typer.Context,
    name: KeyArg,
    value: Annotated[str, typer.Argument(metavar="VALUE", help="The value.")],
) -> None:
    """Set a setting in the config file (made readable by you only; comments in it are not
    kept). Environment variables and options still win over it. Passwords never go in it: a
    database's goes in CLM_DB, PGPASSWORD or ~/.pgpass, a mail server's in CLM_SMTP_PASSWORD
    or ~/.netrc.

    Example: clm config set user alice
    """
    env = ctx.obj
    from clm.storage.config_file import key, read_config, write_setting

    checked = key(name).check(value)
    config = read_config(strict=False)
    write_setting(config, name, checked)
    say(env, f"Set {name} = {_shown(name, checked)} in {config.path}.")
    variable = key(name).variable
    if os.environ.get(variable):
        say(env, f"Note: {variable} is set, and wins over the config file.")
    if name == "database" and "://" not in checked:
        from pathlib import Path

        path = Path(checked).expanduser()
        if not path.exists():
            say(env, f"No database at {path} yet: `clm init` makes one.")


@app.command("unset")
def unset(ctx: typer.Context, name: KeyArg) -> None:
    """Remove a setting from the config file (clm's default applies again).

    Example: clm config unset pager
    """
    env = ctx.obj
    from clm.storage.config_file import key, read_config, write_setting

    config = read_config(strict=False)
    if name not in config.present:  # (a key clm does not know but the file has goes too)
        key(name)
        say(env, f"{name} was not set in {config.path}.")
        return
    write_setting(config, name, None)
    say(env, f"Unset {name} in {config.path}.")


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print where the config file is ($CLM_CONFIG, else the user config dir), made or not.

    Example: clm config path
    """
    from clm.storage.config_file import config_path

    ctx.obj.stdout.write(f"{config_path()}\n")
