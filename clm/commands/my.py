"""`clm my`: the current user's agenda."""

import typer

from clm.commands.common import FormatOpt
from clm.render.output import Col, Format, render_rows

COLUMNS = (
    Col("kind", drop=1),
    Col("id"),
    Col("customer"),
    Col("title"),
    Col("due"),
    Col("detail", drop=2),
)


def my(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """Your agenda: reminders due, tasks and CTAs assigned, milestones you work on, customers
    you own or follow (needs --as USER or CLM_USER).

    Example: clm --as alice my
    """
    env = ctx.obj
    from clm.domain.day import my_items

    with env.reads() as reads:
        render_rows(env, my_items(reads, env.today, env.user), COLUMNS, fmt, noun="items")
