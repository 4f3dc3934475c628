"""Lifecycle phases: markers on a customer's life (Introduction, Adoption, Retention) that pass
by themselves on their day. Computed from the playbooks applied to the customer and its dates,
never stored: a new start moves them, a start years ago shows them passed, and they are never
overdue work and never remind."""

from datetime import date

from sqlalchemy import Connection, select

from clm.domain.holidays import holiday_days
from clm.domain.playbooks import PHASE
from clm.domain.shapes import phases_of
from clm.storage.tables import customers, playbook_items, playbook_runs, playbooks


def customer_phases(conn: Connection, customer_id: int, today: date) -> list[dict]:
    """The customer's phases by day: each phase item of a playbook applied to it, on its
    offset from its anchor (the customer's start or renewal as they are now; a stage entry or
    run day as that run had it), `passed` once its day has come, else `ahead`."""
    customer = conn.execute(
        select(customers.c.start, customers.c.renewal).where(customers.c.id == customer_id)
    ).one()
    rows = conn.execute(phase_items_query(customer_id)).all()
    return phases_of(rows, customer.start, customer.renewal, today, lambda: holiday_days(conn))


def phase_items_query(customer_id):
    """The phase items of the playbooks applied to a customer (playbook, anchor_day, title,
    anchor, offset), in the order they were applied; `customer_id` an id or a parameter."""
    return (
        select(
            playbook_runs.c.playbook,
            playbook_runs.c.anchor_day,
            playbook_items.c.title,
            playbook_items.c.anchor,
            playbook_items.c.offset,
        )
        .join(
            playbooks,
            (playbooks.c.name == playbook_runs.c.playbook) & playbooks.c.deleted_at.is_(None),
        )
        .join(
            playbook_items,
            (playbook_items.c.playbook_id == playbooks.c.id)
            & (playbook_items.c.kind == PHASE)
            & playbook_items.c.deleted_at.is_(None),
        )
        .where(playbook_runs.c.customer_id == customer_id)
        .order_by(playbook_runs.c.id, playbook_items.c.position)
    )
