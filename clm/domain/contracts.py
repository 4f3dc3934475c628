"""A customer's contract: where its renewal dates count from, its recurring Renewal milestone
kept on them, and the new contract of a customer won back."""

from datetime import date

from sqlalchemy import Connection, select

from clm.dates import parse_duration
from clm.domain.holidays import days_off_for
from clm.domain.notes import add_note
from clm.domain.records import update_row
from clm.lifecycle import RENEWAL_MILESTONE
from clm.storage.tables import customers, milestones, playbooks


def renewal_origin(conn: Connection, customer, renewal: date) -> tuple[date, int]:
    """What a renewal date of `customer` counts from, and its number in that series: the
    start when it is start + k × term (the contract's own series); else the anchor of the
    Renewal milestone due on it (a date set by hand, as its series remembers it); else itself."""
    term = parse_duration(customer.term)
    k = term.position_of(customer.start, renewal)
    if k:
        return customer.start, k
    in_step = open_renewal_milestone(
        conn, customer.id, milestones.c.due == renewal, milestones.c.every == str(term)
    )
    if in_step is not None:
        series = conn.execute(
            select(milestones.c.anchor, milestones.c.occurrence).where(milestones.c.id == in_step)
        ).one()
        if term.shift(series.anchor, series.occurrence) == renewal:
            return series.anchor, series.occurrence
    return renewal, 0


def open_renewal_milestone(conn: Connection, customer_id: int, *where):
    """The id of the customer's first unfinished recurring Renewal milestone, if any."""
    return conn.scalar(
        select(milestones.c.id)
        .where(
            milestones.c.customer_id == customer_id,
            milestones.c.title == RENEWAL_MILESTONE,
            milestones.c.every.is_not(None),
            milestones.c.status.in_(("open", "blocked")),
            milestones.c.deleted_at.is_(None),
            *where,
        )
        .order_by(milestones.c.due, milestones.c.id)
        .limit(1)
    )


def follow_renewal(conn: Connection, customer_id: int) -> None:
    """Keep the customer's recurring Renewal milestone on its renewal date, recurring with its
    term and counted from where the renewal counts from (see `renewal_origin`)."""
    from clm.domain.milestones import rebase_series

    customer = conn.execute(select(customers).where(customers.c.id == customer_id)).one()
    milestone_id = open_renewal_milestone(conn, customer_id)
    if customer.renewal is None or milestone_id is None:
        return
    origin, occurrence = renewal_origin(conn, customer, customer.renewal)
    term = parse_duration(customer.term)
    rebase_series(conn, milestone_id, customer.renewal, term, origin, occurrence)


def win_back(conn: Connection, customer_id: int, on: date, by: str | None, entry_key: str):
    """A churned customer won back starts a new contract on `on`: start that day, renewal one
    term later, the lifecycle-phase playbooks run again from it (its old items were cancelled
    at churn), each date change on the timeline as an edit's is."""
    from clm.domain.playbooks import Run, apply_playbooks

    customer = conn.execute(select(customers).where(customers.c.id == customer_id)).one()
    term = parse_duration(customer.term)
    renewal = term.after(on, days_off_for(conn, term))
    changes = {"start": on, "renewal": renewal}
    update_row(conn, customers, customer, changes)
    for field, value in changes.items():
        was = getattr(customer, field)
        text = f"{field} date set to {value}" + (f" (was {was})" if was else "") + ", won back"
        add_note(conn, on, by, customer.slug, text, kind=field)
    anchors = {"start": on, "renewal": renewal, "run": on, "entry": on}
    runs = [
        Run(customer.id, customer.owner_id, name, f"start:{entry_key}", anchors)
        for name in conn.scalars(
            select(playbooks.c.name).where(playbooks.c.on_start, playbooks.c.deleted_at.is_(None))
        )
    ]
    apply_playbooks(conn, runs)
    follow_renewal(conn, customer.id)
    return changes
