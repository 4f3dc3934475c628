"""`clm log` and `clm undo`: the audit log of every change, and undoing one."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt
from clm.render.output import Col, Format, render_rows, say

COLUMNS = (
    Col("id", number=True),
    Col("at", drop=-1),
    Col("by"),
    Col("role", drop=3),
    Col("command", drop=2),
    Col("record"),
    Col("customer"),
    Col("field"),
    Col("old"),
    Col("new"),
)


def log(
    ctx: typer.Context,
    customer: Annotated[
        str | None,
        typer.Argument(
            metavar="[CUSTOMER]",
            help="Only this customer: its fields and its milestones', tasks' and CTAs'.",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", metavar="USER", help="Only changes by this user (or server role)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="DATE", help="Only changes from this day on.")
    ] = None,
    field: Annotated[
        str | None,
        typer.Option("--field", metavar="FIELD", help="Only changes of this field (* created)."),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Show the audit log: every change to a customer, milestone, task, CTA, user, stage, rule
    or playbook, field by field (old and new value; tags, influencers and collaborators member
    by member), who made it (the clm user, and on a server the database role), when (UTC) and
    with which command. A created record is one line of field *. The id is what `clm undo`
    takes.

    Example: clm log acme-corp --since -7d --field health
    """
    env = ctx.obj
    from clm.domain.audit import changes

    day = env.date(since, "--since")
    who = by.strip().lower() if by else None
    with env.database().read() as conn:
        rows = (change._asdict() for change in changes(conn, customer, who, day, field))
        render_rows(env, rows, COLUMNS, fmt, noun="changes")


def undo(
    ctx: typer.Context,
    change_id: Annotated[
        int, typer.Argument(metavar="CHANGE_ID", help="The change's id in `clm log`.")
    ],
) -> None:
    """Undo one change of the audit log: put the field back to its old value (a tag,
    influencer or collaborator back in or out), when nothing changed it since (else undo the
    later change first). The undo is logged too.

    Example: clm undo 42
    """
    env = ctx.obj
    from clm.domain.audit import MEMBER_FIELDS
    from clm.domain.audit import undo as undo_change

    with env.database().write() as conn:
        change = undo_change(conn, change_id)
    record = change.record[:-1]
    if (change.record, change.field) in MEMBER_FIELDS:
        if change.old is None:
            said = f"{change.new} is out of the {record}'s {change.field} again"
        else:
            said = f"{change.old} is back in the {record}'s {change.field}"
    else:
        said = f"{record} {change.field} is {'nothing' if change.old is None else change.old} again"
    say(env, f"Undid change {change.id}: {said}.")
