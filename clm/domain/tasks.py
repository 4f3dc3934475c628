"""Tasks: to-dos with a due date and an assignee, under a milestone, a CTA or a customer."""

from collections.abc import Iterator
from datetime import date

from sqlalchemy import Connection, select

from clm.db import utcnow
from clm.domain.list_filters import list_filters, listed_by_due
from clm.domain.milestones import get_milestone
from clm.domain.records import find_by_id, new_row, update_row
from clm.domain.users import get_user
from clm.errors import Invalid
from clm.storage.tables import customers, tasks, users

TASK_KEYS = (
    "id",
    "uuid",
    "customer",
    "title",
    "due",
    "status",
    "assignee",
    "milestone",
    "cta",
    "source",
)
STATUSES = ("open", "done", "cancelled")  # cancelled: its customer churned


def create_task(
    conn,
    customer_id: int,
    title: str,
    due: date | None = None,
    assignee_id: int | None = None,
    milestone_id: int | None = None,
    cta_id: int | None = None,
    source: str | None = None,
) -> int:
    """Insert an open task; its id."""
    if not title.strip():
        raise Invalid("invalid title '': a task needs a title")
    row = new_row(
        conn, customer_id=customer_id, title=title.strip(), due=due, status="open",
        assignee_id=assignee_id, milestone_id=milestone_id, cta_id=cta_id, source=source,
    )  # fmt: skip
    return conn.execute(tasks.insert().values(row)).inserted_primary_key[0]


def _check_same_customer(conn: Connection, customer, parent, kind: str) -> None:
    """A task's milestone or CTA must be on the task's own customer."""
    if parent.customer_id != customer.id:
        other = conn.scalar(select(customers.c.slug).where(customers.c.id == parent.customer_id))
        raise Invalid(
            f"{kind} {parent.id} is on customer '{other}', not '{customer.slug}': "
            f"a task goes under a {kind} of its own customer"
        )


def add_task(
    conn: Connection,
    slug: str,
    title: str,
    due: date | None = None,
    assignee: str | None = None,
    milestone_id: int | None = None,
    cta_id: int | None = None,
) -> dict:
    """Add a task to a customer, optionally under one of its milestones or CTAs; assigned to
    `assignee`, else the customer's owner."""
    from clm.domain.ctas import get_cta
    from clm.domain.records import get_customer

    customer = get_customer(conn, slug)
    if milestone_id is not None:
        _check_same_customer(conn, customer, get_milestone(conn, milestone_id), "milestone")
    if cta_id is not None:
        _check_same_customer(conn, customer, get_cta(conn, cta_id), "CTA")
    assignee_id = get_user(conn, assignee).id if assignee is not None else customer.owner_id
    task_id = create_task(conn, customer.id, title, due, assignee_id, milestone_id, cta_id)
    return next(_task_rows(conn, tasks.c.id == task_id))


def get_task(conn: Connection, task_id: int):
    """A live task of a live customer, or NotFound."""
    return find_by_id(conn, tasks, task_id, "task")


def _task_rows(conn: Connection, *where) -> Iterator[dict]:
    for row in conn.execute(task_query(*where)):
        yield row._asdict()


def task_query(*where):
    """Tasks of live customers (`where` more), by due date (undated last), with their
    assignee's handle."""
    return listed_by_due(
        select(
            tasks.c.id,
            tasks.c.uuid,
            customers.c.slug.label("customer"),
            tasks.c.title,
            tasks.c.due,
            tasks.c.status,
            users.c.handle.label("assignee"),
            tasks.c.milestone_id.label("milestone"),
            tasks.c.cta_id.label("cta"),
            tasks.c.source,
        ),
        tasks,
        tasks.c.assignee_id,
        *where,
    )


def list_tasks(
    conn: Connection,
    today: date,
    customer: str | None = None,
    assignee: str | None = None,
    status: str | None = None,
    overdue: bool = False,
) -> Iterator[dict]:
    """Tasks by due date (undated last): open ones unless `status` says otherwise."""
    where = list_filters(
        conn, today, tasks, STATUSES, ("open",),
        status=status, customer=customer, person=assignee, person_column="assignee_id",
        overdue=overdue,
    )  # fmt: skip
    return _task_rows(conn, *where)


def complete_task(conn: Connection, today: date, task_id: int) -> dict:
    """Mark a task done today; a task already done stays as it was."""
    row = get_task(conn, task_id)
    if row.status != "done":
        update_row(conn, tasks, row, {"status": "done", "done_on": today})
    return {
        "id": task_id,
        "already": row.status == "done",
        "done_on": row.done_on if row.status == "done" else today,
    }


def remove_task(conn: Connection, task_id: int) -> str:
    """Tombstone a task: it leaves every list."""
    row = get_task(conn, task_id)
    update_row(conn, tasks, row, {"deleted_at": utcnow()})
    return row.title


def task_rows(conn: Connection, task_ids: list[int]) -> Iterator[dict]:
    """The tasks with these ids (what a tick or a playbook created), by due date."""
    for start in range(0, len(task_ids), 500):
        yield from _task_rows(conn, tasks.c.id.in_(task_ids[start : start + 500]))
