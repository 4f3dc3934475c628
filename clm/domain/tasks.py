"""Tasks: to-dos with a due date and an assignee, under a milestone, a CTA or a customer."""

from datetime import date

from clm.domain.records import new_row
from clm.errors import Invalid
from clm.models import tasks

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
