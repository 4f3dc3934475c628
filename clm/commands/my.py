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
    from clm.domain.agenda import my_agenda

    with env.database().read() as conn:
        render_rows(env, my_agenda(conn, env.today, env.user), COLUMNS, fmt, noun="items")
