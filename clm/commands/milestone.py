"""`clm milestone …`: dated objectives with reminders, recurrence and collaborators."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt, YesOpt, confirm, noun, refuse_contradiction
from clm.render.output import Col, Format, Section, print_handle, render_record, render_rows, say

app = noun("Milestones: dated objectives with reminders. Lists unfinished ones by default.")

COLUMNS = (
    Col("id"),
    Col("uuid", table=False),
    Col("customer"),
    Col("title"),
    Col("due"),
    Col("status"),
    Col("remind", table=False),
    Col("remind_on", "reminds", drop=2),
    Col("every", drop=3),
    Col("collaborators", table=False),
    Col("pinned", table=False),
    Col("blocked_reason", "blocked because"),
    Col("done_on", table=False),
    Col("tasks", table=False),
)
EVENTS = (Col("on"), Col("kind"), Col("text"), Col("by"))

MilestoneId = Annotated[int, typer.Argument(metavar="ID", help="The milestone's id.")]
Remind = Annotated[
    list[str] | None,
    typer.Option(
        "--remind",
        metavar="DUR",
        help="Remind this long before the due date, e.g. 2m, 5bd (repeatable).",
    ),
]
Collaborators = Annotated[
    list[str] | None, typer.Option("--collaborator", help="A user who works on it (repeatable).")
]


def _durations(env, texts):
    return None if texts is None else [env.duration(t, "--remind") for t in texts]


@app.command("add")
def add(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The customer's slug.")],
    title: Annotated[str, typer.Argument(help="What is to be achieved.")],
    due: Annotated[str, typer.Option(metavar="DATE", help="Due date.")],
    remind: Remind = None,
    every: Annotated[
        str | None, typer.Option(help="Recur: year, quarter, month, week or a duration like 6m.")
    ] = None,
    collaborator: Collaborators = None,
    pin: Annotated[
        bool, typer.Option("--pin", help="Show its date among the customer's details.")
    ] = False,
) -> None:
    """Add a milestone to a customer.

    Example: clm milestone add acme-corp "Retainer renewal" --due 2018-01-31 --remind 2m
    """
    env = ctx.obj
    from clm.dates import parse_every
    from clm.domain.milestones import add_milestone

    due_day = env.date(due, "--due")
    offsets = _durations(env, remind) or []
    recurrence = parse_every(every) if every is not None else None
    with env.database().write() as conn:
        record = add_milestone(
            conn, slug, title, due_day, offsets, recurrence, collaborator or (), pin
        )
    reminds = ", ".join(map(str, record["remind_on"]))
    say(
        env,
        f"Added milestone {record['id']} to {record['customer']}, due {record['due']}"
        + (f", reminding on {reminds}" if reminds else "")
        + ".",
    )
    print_handle(env, record["id"])


@app.command("list")
def list_(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option(help="Only this customer's.")] = None,
    status: Annotated[
        str | None,
        typer.Option(help="open, done, blocked, cancelled or all (default: open and blocked)."),
    ] = None,
    due_within: Annotated[
        str | None, typer.Option(metavar="DUR", help="Only due from today to this far ahead.")
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only unfinished ones past due.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """List milestones by due date.

    Example: clm milestone list --due-within 30d
    """
    env = ctx.obj
    from clm.domain.milestones import list_milestones

    within = env.duration(due_within, "--due-within")
    with env.database().read() as conn:
        rows = list_milestones(conn, env.today, customer, status, within, overdue)
        render_rows(env, rows, COLUMNS, fmt, noun="milestones")


@app.command("show")
def show(ctx: typer.Context, milestone_id: MilestoneId, fmt: FormatOpt = Format.table) -> None:
    """Show a milestone and the notes written on it.

    Example: clm milestone show 3
    """
    env = ctx.obj
    from clm.domain.milestones import show_milestone

    with env.database().read() as conn:
        record, events = show_milestone(conn, milestone_id)
    title = f"{record['title']} ({record['customer']}, milestone {record['id']})"
    render_record(env, title, record, COLUMNS, fmt, [Section("notes", "Notes", EVENTS, events)])


@app.command("done")
def done(
    ctx: typer.Context,
    milestone_id: MilestoneId,
    on: Annotated[str | None, typer.Option(metavar="DATE", help="When (default: today).")] = None,
) -> None:
    """Mark a milestone done; a recurring one gets its next occurrence.

    The customer's Renewal milestone stands for the renewal: marking it done records the
    renewal as clm customer renew does (renewal date a term on, back from the renewal stage).

    Example: clm milestone done 3
    """
    env = ctx.obj
    from clm.domain.renewals import mark_done

    when = env.date(on, "--on")
    with env.database().write() as conn:
        result = mark_done(conn, env.today, env.author(conn), milestone_id, when)
    state = "was already" if result["already"] else "is"
    text = f"Milestone {milestone_id} {state} done ({result['done_on']})."
    if result["next"]:
        text += f" Next occurrence: milestone {result['next']}."
    say(env, text)
    if result["renewed"]:
        from clm.commands.customer import renewed_lines

        for line in renewed_lines(result["renewed"], as_milestone=True):
            say(env, line)


def _set_status(env, milestone_id: int, status: str, reason: str | None = None) -> None:
    from clm.domain.milestones import set_status
    from clm.domain.notify.outbox import queue_blocked

    queued = False
    with env.database().write() as conn:
        set_status(conn, milestone_id, status, reason, env.today, env.author(conn))
        if status == "blocked":
            queued = queue_blocked(conn, env.today, milestone_id, env.user)
    say(env, f"Milestone {milestone_id} is {status}.")
    if queued:  # after the commit: a message that fails never undoes the block
        from clm.commands.notify import deliver

        deliver(env, only_the_sender=True)


@app.command("block")
def block(
    ctx: typer.Context,
    milestone_id: MilestoneId,
    reason: Annotated[str, typer.Option(help="What it waits for.")],
) -> None:
    """Mark a milestone blocked, with the reason.

    Its collaborators and its customer's owner who asked for immediate notifications
    (clm user edit HANDLE --digest immediate) are told at once; the others in their digest.

    Example: clm milestone block 4 --reason "waiting for the customer's IT"
    """
    _set_status(ctx.obj, milestone_id, "blocked", reason)


@app.command("reopen")
def reopen(ctx: typer.Context, milestone_id: MilestoneId) -> None:
    """Reopen a done, blocked or cancelled milestone.

    Example: clm milestone reopen 4
    """
    _set_status(ctx.obj, milestone_id, "open")


@app.command("cancel")
def cancel(ctx: typer.Context, milestone_id: MilestoneId) -> None:
    """Cancel a milestone (it stops reminding; reopen brings it back).

    Example: clm milestone cancel 4
    """
    _set_status(ctx.obj, milestone_id, "cancelled")


@app.command("edit")
def edit(
    ctx: typer.Context,
    milestone_id: MilestoneId,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    due: Annotated[str | None, typer.Option(metavar="DATE", help="New due date.")] = None,
    remind: Remind = None,
    no_remind: Annotated[bool, typer.Option("--no-remind", help="Remove every reminder.")] = False,
    collaborator: Collaborators = None,
    remove_collaborator: Annotated[
        list[str] | None, typer.Option("--remove-collaborator", help="Remove a collaborator.")
    ] = None,
    pin: Annotated[
        bool | None, typer.Option("--pin/--unpin", help="Pin or unpin its date.")
    ] = None,
) -> None:
    """Change a milestone; --remind replaces the reminders.

    Example: clm milestone edit 3 --due 2026-12-15 --remind 1w --collaborator bob
    """
    env = ctx.obj
    from clm.domain.milestones import edit_milestone
    from clm.errors import Invalid

    if no_remind and remind:
        raise Invalid("--remind and --no-remind contradict each other: give one")
    refuse_contradiction(
        "--collaborator", collaborator, "--remove-collaborator", remove_collaborator
    )
    offsets = [] if no_remind else _durations(env, remind)
    due_day = env.date(due, "--due")
    if (title, due_day, offsets, pin) == (None, None, None, None) and not (
        collaborator or remove_collaborator
    ):
        raise Invalid("nothing to change: pass at least one option (see clm milestone edit --help)")
    with env.database().write() as conn:
        changed = edit_milestone(
            conn,
            milestone_id,
            title,
            due_day,
            offsets,
            collaborator or (),
            remove_collaborator or (),
            pin,
        )
    say(
        env,
        f"Changed {', '.join(changed)} of milestone {milestone_id}."
        if changed
        else f"No change to milestone {milestone_id}.",
    )


@app.command("rm")
def rm(ctx: typer.Context, milestone_id: MilestoneId, yes: YesOpt = False) -> None:
    """Remove a milestone (a tombstone: it never reminds again).

    Example: clm milestone rm 4 --yes
    """
    env = ctx.obj
    from clm.domain.milestones import get_milestone, remove_milestone

    with env.database().write() as conn:
        get_milestone(conn, milestone_id)
        confirm(env, f"remove milestone {milestone_id}", yes)
        title = remove_milestone(conn, milestone_id)
    say(env, f"Removed milestone {milestone_id} ({title}).")
