"""What every command module shares: the format and picture options, the default-to-list group,
confirmation, new files."""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from clm.cli.env import Env
from clm.errors import Conflict, Invalid, Refused
from clm.render.output import Format

FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format", "-f", help="table (default), csv, tsv, json or jsonl.", case_sensitive=False
    ),
]
SvgOpt = Annotated[
    str | None,
    typer.Option("--svg", metavar="FILE", help="Also save what the table shows as an SVG picture."),
]
HtmlOpt = Annotated[
    str | None,
    typer.Option("--html", metavar="FILE", help="Also save it as a self-contained HTML page."),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
HELP_OPTIONS = ("--help", "-h")


class ListByDefault(TyperGroup):
    """A noun group whose bare form (`clm customer`, `clm customer --stage lead`) lists."""

    def parse_args(self, ctx, args):
        if ctx.resilient_parsing:  # completing: `clm customer <TAB>` offers the subcommands
            return super().parse_args(ctx, args)
        if not args or (args[0].startswith("-") and args[0] not in HELP_OPTIONS):
            args = ["list", *args]
        return super().parse_args(ctx, args)


class ListsItsCommands(TyperGroup):
    """A group that, called alone, shows its help (its commands) and exits 0, as a noun
    group that lists does: nothing went wrong."""

    def parse_args(self, ctx, args):
        if not args and not ctx.resilient_parsing:
            typer.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)


def noun(help_text: str) -> typer.Typer:
    return typer.Typer(cls=ListByDefault, help=help_text, no_args_is_help=False)


def refuse_contradiction(adding: str, added, removing: str, removed) -> None:
    """An item both added and removed by one command (`--tag x --untag x`) is refused: which
    one was meant is not for clm to guess."""
    both = sorted(
        {i.strip().lower() for i in added or ()} & {i.strip().lower() for i in removed or ()}
    )
    if both:
        raise Invalid(
            f"{adding} {both[0]} and {removing} {both[0]} contradict each other: give one"
        )


def confirm(env: Env, question: str, yes: bool) -> None:
    """Go on with `--yes` or a yes at the prompt; never prompt when stdin is not a terminal."""
    if yes:
        return
    if not env.interactive():
        raise Refused(f"{question} needs confirmation: pass --yes (stdin is not a terminal)")
    if not typer.confirm(f"{question}?", default=False, err=True):
        raise Refused(f"{question}: not confirmed; nothing changed")


def refuse_existing(file: str, hint: str) -> None:
    if os.path.lexists(file):
        raise Conflict(f"'{file}' already exists: {hint}")


def write_new_file(env: Env, file: str, text: str, force: bool = False) -> None:
    """Write a new file readable by its owner only, all or nothing; with `force`, an existing
    file (or symlink: never followed) is replaced, but never the database, its journal or its
    backups."""
    refuse_own_file(env, file)
    if os.path.isdir(file):
        raise Invalid(f"'{file}' is a directory: name a file")
    if not os.path.isdir(os.path.dirname(file) or "."):
        raise Invalid(f"cannot write '{file}': no such directory")
    from clm.db import write_private_file

    write_private_file(Path(file), text, replace=force)


def refuse_own_file(env: Env, file: str) -> None:
    """clm never writes over its own database, journal or backups, whatever --force says."""
    from clm.db import is_own_file, own_file_kind, resolve

    database = resolve(env.db_target)[1]
    if is_own_file(Path(file), database):
        raise Conflict(f"'{file}' {own_file_kind(Path(file), database)}: write to another file")


def check_pictures(fmt: str, svg: str | None, html: str | None) -> None:
    """Before any work: pictures are of the table, and never overwrite a file."""
    for option, file in (("--svg", svg), ("--html", html)):
        if file is None:
            continue
        if fmt != "table":
            raise Invalid(f"{option} saves the table drawing: leave out --format {fmt}")
        refuse_existing(file, "choose another name or remove it")


def save_pictures(
    env: Env, parts: Sequence, svg: str | None, html: str | None, title: str, what: str
) -> None:
    """Save the page `parts` as an SVG and/or HTML picture of a terminal."""
    from clm.render.output import console, picture, say

    out = console(env)
    width = out.width if out.is_terminal else 120
    for kind, file in (("svg", svg), ("html", html)):
        if file is not None:
            write_new_file(env, file, picture(parts, kind, title, width))
            say(env, f"Saved {what} to {file}.")
