"""`clm cta …`: calls to action, opened by hand or by rules, snoozed and closed."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt, noun
from clm.render.output import Col, Format, print_handle, render_rows, say

app = noun("CTAs (calls to action): open, list, close, snooze. Lists open ones by default.")

COLUMNS = (
    Col("id"),
    Col("uuid", table=False),
    Col("customer"),
    Col("type"),
    Col("reason"),
    Col("priority", drop=2),
    Col("status", drop=3),
    Col("owner", drop=1),
    Col("due"),
    Col("tasks", drop=4),
    Col("source", table=False),
)

CtaId = Annotated[int, typer.Argument(metavar="ID", help="The CTA's id.")]


@app.command("open")
def open_(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The customer's slug.")],
    type_: Annotated[
        str,
        typer.Option(
            "--type",
            metavar="TYPE",
            help="risk, lifecycle, expansion, objective or activity.",
            show_default=False,
        ),
    ],
    reason: Annotated[
        str, typer.Option(metavar="TEXT", help="Why it needs action.", show_default=False)
    ],
    priority: Annotated[str, typer.Option(metavar="LEVEL", help="low, medium or high.")] = "medium",
    due: Annotated[str | None, typer.Option(metavar="DATE", help="Due date.")] = None,
    owner: Annotated[
        str | None, typer.Option(metavar="USER", help="Who acts (default: the customer's owner).")
    ] = None,
    playbook: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Run this playbook: its tasks go under the CTA."),
    ] = None,
) -> None:
    """Open a CTA on a customer; refused while one of the same type and reason is open.

    Example: clm cta open acme-corp --type risk --reason "usage dropped" --playbook save
    """
    env = ctx.obj
    from clm.domain.ctas import open_cta

    due_day = env.date(due, "--due")
    with env.database().write() as conn:
        record, created = open_cta(
            conn, env.today, slug, type_, reason, priority, due_day, owner, playbook
        )
    owned = f", owned by {record['owner']}" if record["owner"] else ", no owner"
    about = f"{record['type']}: {record['reason']}"
    say(env, f"Opened CTA {record['id']} on {record['customer']} ({about}){owned}.")
    print_handle(env, record["id"])
    if created:
        made = [
            f"{len(created[kind])} {kind if len(created[kind]) != 1 else kind[:-1]}"
            for kind in ("tasks", "milestones")
            if created[kind]
        ]
        say(env, f"Playbook {created['playbook']} added {' and '.join(made) or 'nothing'}.")


@app.command("list")
def list_(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option(help="Only this customer's.")] = None,
    status: Annotated[
        str | None,
        typer.Option(help="open, closed, snoozed, cancelled or all (default: open, not snoozed)."),
    ] = None,
    owner: Annotated[
        str | None, typer.Option(metavar="USER", help="Only those this user owns.")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """List CTAs by due date (undated last).

    Example: clm cta list --status snoozed --format csv
    """
    env = ctx.obj
    from clm.domain.ctas import list_ctas

    with env.database().read() as conn:
        rows = list_ctas(conn, env.today, customer, status, owner)
        render_rows(env, rows, COLUMNS, fmt, noun="CTAs")


@app.command("close")
def close(
    ctx: typer.Context,
    cta_id: CtaId,
    outcome: Annotated[str | None, typer.Option(help="What came of it.")] = None,
) -> None:
    """Close a CTA, with its outcome.

    Example: clm cta close 3 --outcome "exec sponsor re-engaged"
    """
    env = ctx.obj
    from clm.domain.ctas import close_cta

    with env.database().write() as conn:
        result = close_cta(conn, env.today, cta_id, outcome)
    say(env, f"CTA {cta_id} closed ({result['closed_on']}).")


@app.command("snooze")
def snooze(
    ctx: typer.Context,
    cta_id: CtaId,
    until: Annotated[
        str, typer.Option(metavar="DATE", help="Hide it until this day; it is open again then.")
    ],
) -> None:
    """Snooze an open CTA: it leaves the open list until the given day.

    Example: clm cta snooze 3 --until +2w
    """
    env = ctx.obj
    from clm.domain.ctas import snooze_cta

    day = env.date(until, "--until")
    with env.database().write() as conn:
        result = snooze_cta(conn, env.today, cta_id, day)
    say(env, f"CTA {cta_id} snoozed until {result['until']}.")
