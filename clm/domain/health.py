"""Health over time: every health score a customer is given is logged with its day."""

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, select

from clm.db import utcnow
from clm.domain.records import new_uuid
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


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(history: list[dict], last: int = 40) -> str:
    """Health over time in one line: `▇▇▂ 80 → 35 since 2026-09-01`; empty without history."""
    if not history:
        return ""
    shown = history[-last:]
    line = "".join(SPARKS[min(7, entry["health"] * 8 // 101)] for entry in shown)
    if len(shown) == 1:
        return f"{line} {shown[0]['health']} since {shown[0]['on']}"
    return f"{line} {shown[0]['health']} → {shown[-1]['health']} since {shown[0]['on']}"


def health_history(conn: Connection, customer_id: int) -> list[dict]:
    """A customer's health scores, oldest first, the last of a day only."""
    query = (
        select(health_log.c.on, health_log.c.health)
        .where(health_log.c.customer_id == customer_id)
        .order_by(health_log.c.on, health_log.c.id)
    )
    by_day = {row.on: row.health for row in conn.execute(query)}
    return [{"on": on, "health": health} for on, health in by_day.items()]
