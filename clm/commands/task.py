"""`clm task …`: to-dos with a due date and an assignee, under a customer, milestone or CTA."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt, YesOpt, confirm, noun
from clm.render.output import Col, Format, print_handle, render_rows, say

app = noun("Tasks: to-dos with a due date and an assignee. Lists open ones by default.")

COLUMNS = (
    Col("id"),
    Col("uuid", table=False),
    Col("customer"),
    Col("title"),
    Col("due"),
    Col("status", drop=1),
    Col("assignee", drop=2),
    Col("milestone", drop=3),
    Col("cta", "CTA", drop=4),
    Col("source", table=False),
)

TaskId = Annotated[int, typer.Argument(metavar="ID", help="The task's id.")]


@app.command("add")
def add(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The customer's slug.")],
    title: Annotated[str, typer.Argument(help="What is to be done.")],
    milestone: Annotated[
        int | None, typer.Option(metavar="ID", help="Put it under this milestone of the customer.")
    ] = None,
    cta: Annotated[
        int | None, typer.Option(metavar="ID", help="Put it under this CTA of the customer.")
    ] = None,
    due: Annotated[str | None, typer.Option(metavar="DATE", help="Due date.")] = None,
    assignee: Annotated[
        str | None, typer.Option(metavar="USER", help="Who does it (default: the owner).")
    ] = None,
) -> None:
    """Add a task to a customer.

    Example: clm task add acme-corp "Send the QBR deck" --due +3d --assignee bob
    """
    env = ctx.obj
    from clm.domain.tasks import add_task

    due_day = env.date(due, "--due")
    with env.database().write() as conn:
        record = add_task(conn, slug, title, due_day, assignee, milestone, cta)
    text = f"Added task {record['id']} to {record['customer']}"
    text += f", due {record['due']}" if record["due"] else ""
    text += f", assigned to {record['assignee']}." if record["assignee"] else ", unassigned."
    say(env, text)
    print_handle(env, record["id"])


@app.command("list")
def list_(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option(help="Only this customer's.")] = None,
    assignee: Annotated[
        str | None, typer.Option(metavar="USER", help="Only those assigned to this user.")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="open, done, cancelled or all (default: open).")
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open ones past due.")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """List tasks by due date (undated last).

    Example: clm task list --assignee bob --overdue
    """
    env = ctx.obj
    from clm.domain.tasks import list_tasks

    with env.database().read() as conn:
        rows = list_tasks(conn, env.today, customer, assignee, status, overdue)
        render_rows(env, rows, COLUMNS, fmt, noun="tasks")


@app.command("done")
def done(ctx: typer.Context, task_id: TaskId) -> None:
    """Mark a task done today.

    Example: clm task done 12
    """
    env = ctx.obj
    from clm.domain.tasks import complete_task

    with env.database().write() as conn:
        result = complete_task(conn, env.today, task_id)
    state = "was already" if result["already"] else "is"
    say(env, f"Task {task_id} {state} done ({result['done_on']}).")


@app.command("rm")
def rm(ctx: typer.Context, task_id: TaskId, yes: YesOpt = False) -> None:
    """Remove a task (kept as a tombstone).

    Example: clm task rm 12 --yes
    """
    env = ctx.obj
    from clm.domain.tasks import get_task, remove_task

    with env.database().write() as conn:
        get_task(conn, task_id)
        confirm(env, f"remove task {task_id}", yes)
        title = remove_task(conn, task_id)
    say(env, f"Removed task {task_id} ({title}).")
