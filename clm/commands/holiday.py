"""`clm holiday …`: days business-day durations skip."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt, noun
from clm.render.output import Col, Format, print_handle, render_rows, say

app = noun("Holidays that business-day durations (5bd) skip. Lists by default.")

Day = Annotated[str, typer.Argument(metavar="DATE", help="The day.")]


@app.command("add")
def add(
    ctx: typer.Context,
    day: Day,
    name: Annotated[str | None, typer.Argument(help="What it is.")] = None,
) -> None:
    """Add a holiday. Reminders added afterwards skip it.

    Example: clm holiday add 2026-12-25 Christmas
    """
    env = ctx.obj
    from clm.domain.holidays import add_holiday

    when = env.date(day, "holiday")
    with env.database().write() as conn:
        add_holiday(conn, when, name)
    say(env, f"Added holiday {when}.")
    print_handle(env, when)


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """List holidays.

    Example: clm holiday list
    """
    env = ctx.obj
    from clm.domain.holidays import list_holidays

    with env.database().read() as conn:
        render_rows(env, list_holidays(conn), (Col("day"), Col("name")), fmt, noun="holidays")


@app.command("rm")
def rm(ctx: typer.Context, day: Day) -> None:
    """Remove a holiday.

    Example: clm holiday rm 2026-12-25
    """
    env = ctx.obj
    from clm.domain.holidays import remove_holiday

    when = env.date(day, "holiday")
    with env.database().write() as conn:
        remove_holiday(conn, when)
    say(env, f"Removed holiday {when}.")
