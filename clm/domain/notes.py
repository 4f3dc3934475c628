"""Timeline entries: notes, calls, emails and meetings, and the entries clm writes itself."""

from datetime import date

from sqlalchemy import Connection, select

from clm.domain.records import get_customer, new_row
from clm.errors import Invalid
from clm.storage.tables import customers, milestones, notes


def add_note(
    conn: Connection,
    today: date,
    by: str | None,
    slug: str,
    text: str,
    kind: str = "note",
    on: date | None = None,
    milestone_id: int | None = None,
) -> None:
    """A timeline entry; on a milestone, it also shows on that milestone."""
    customer = get_customer(conn, slug)
    if not text.strip():
        raise Invalid("invalid note '': write some text")
    if milestone_id is not None:
        from clm.domain.milestones import get_milestone

        if get_milestone(conn, milestone_id).customer_id != customer.id:
            owner = conn.scalar(
                select(customers.c.slug)
                .join(milestones, milestones.c.customer_id == customers.c.id)
                .where(milestones.c.id == milestone_id)
            )
            raise Invalid(f"milestone {milestone_id} is on {owner}, not {customer.slug}")
    row = new_row(
        conn, customer_id=customer.id, on=on or today, kind=kind, text=text, by=by,
        milestone_id=milestone_id,
    )  # fmt: skip
    del row["stamps"], row["updated_at"]
    conn.execute(notes.insert().values(row))
