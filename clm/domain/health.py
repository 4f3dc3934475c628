"""Health over time: every health score a customer is given is logged with its day."""

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, select

from clm.db import utcnow
from clm.domain.records import new_uuid
from clm.domain.shapes import daily_health
from clm.storage.tables import health_log


def log_health(conn: Connection, scores: Iterable[tuple[int, date, int]]) -> None:
    """Append (customer id, day, health) entries to the log."""
    now = utcnow()
    rows = [
        {"uuid": new_uuid(), "customer_id": customer_id, "on": on, "health": health,
         "created_at": now}
        for customer_id, on, health in scores
    ]  # fmt: skip
    if rows:
        conn.execute(health_log.insert(), rows)


def health_history(conn: Connection, customer_id: int) -> list[dict]:
    """A customer's health scores, oldest first, the last of a day only."""
    return daily_health(conn.execute(health_query(customer_id)))


def health_query(customer_id):
    """A customer's health scores (on, health) in the order they were given."""
    return (
        select(health_log.c.on, health_log.c.health)
        .where(health_log.c.customer_id == customer_id)
        .order_by(health_log.c.on, health_log.c.id)
    )
