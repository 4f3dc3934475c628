"""Marking a milestone done, where the customer's Renewal milestone stands for the renewal."""

from datetime import date

from sqlalchemy import Connection, select

from clm.domain.customers import open_renewal_milestone, renew_customer
from clm.domain.milestones import complete_milestone, get_milestone
from clm.storage.tables import customers


def mark_done(
    conn: Connection, today: date, by: str | None, milestone_id: int, on: date | None = None
) -> dict:
    """`milestone done`: mark a milestone done (see `complete_milestone`). The customer's open
    recurring Renewal milestone stands for the renewal itself, so marking it done records the
    renewal exactly as `customer renew` does (renewal date a term on, the series rolled, the
    renewal playbook's work done, back from the renewal stage): `renewed` holds what that did.
    Otherwise the renewal date would stay behind while its milestone moved on."""
    if on is not None and on > today:
        complete_milestone(conn, today, milestone_id, on)  # refuses with its message
    row = get_milestone(conn, milestone_id)
    customer = conn.execute(select(customers).where(customers.c.id == row.customer_id)).one()
    renews = (
        row.due == customer.renewal  # one moved off the renewal date by hand stands alone
        and row.status in ("open", "blocked")
        and open_renewal_milestone(conn, customer.id) == row.id
    )
    if not renews:
        return complete_milestone(conn, today, milestone_id, on) | {"renewed": None}
    renewed = renew_customer(conn, today, by, customer.slug, on=on)
    done = complete_milestone(conn, today, milestone_id, on)
    return done | {"already": False, "renewed": renewed}
