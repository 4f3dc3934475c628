"""Health over time: every health score a customer is given is logged with its day."""

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, select

from clm.db import utcnow
from clm.models import health_log


def log_health(conn: Connection, scores: Iterable[tuple[int, date, int]]) -> None:
    """Append (customer id, day, health) entries to the log."""
    now = utcnow()
    rows = [
        {"uuid": str(uuid.uuid4()), "customer_id": customer_id, "on": on, "health": health,
         "created_at": now}
        for customer_id, on, health in scores
    ]  # fmt: skip
    if rows:
        conn.execute(health_log.insert(), rows)


def health_history(conn: Connection, customer_id: int) -> list[dict]:
    """A customer's health scores, oldest first, the last of a day only."""
    query = (
        select(health_log.c.on, health_log.c.health)
        .where(health_log.c.customer_id == customer_id)
        .order_by(health_log.c.on, health_log.c.id)
    )
    by_day = {row.on: row.health for row in conn.execute(query)}
    return [{"on": on, "health": health} for on, health in by_day.items()]
