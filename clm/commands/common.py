"""What every command module shares: the format option, the default-to-list group, confirmation."""

from typing import Annotated

import typer
from typer.core import TyperGroup

from clm.context import Env
from clm.errors import Refused
from clm.output import Format

FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format", "-f", help="table (default), csv, tsv, json or jsonl.", case_sensitive=False
    ),
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


def noun(help_text: str) -> typer.Typer:
    return typer.Typer(cls=ListByDefault, help=help_text, no_args_is_help=False)


def confirm(env: Env, question: str, yes: bool) -> None:
    """Go on with `--yes` or a yes at the prompt; never prompt when stdin is not a terminal."""
    if yes:
        return
    if not env.interactive():
        raise Refused(f"{question} needs confirmation: pass --yes (stdin is not a terminal)")
    if not typer.confirm(f"{question}?", default=False, err=True):
        raise Refused(f"{question}: not confirmed; nothing changed")
