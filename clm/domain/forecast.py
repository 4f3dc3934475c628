"""The renewal forecast: each renewing customer's category (commit, likely, at risk, lost),
set by hand (`customer edit --forecast`) or, while unset, derived from its health band."""

from sqlalchemy import Connection, case, literal, select

from clm.domain.health_now import health_now
from clm.domain.shapes import forecast_of
from clm.errors import Invalid
from clm.storage.tables import customers, stages

CATEGORIES = ("commit", "likely", "at-risk", "lost")
AUTO = "auto"
# Health bands, as the default lifecycle reads them: below 40 will churn, 70 and up recovers.
COMMIT_HEALTH, AT_RISK_BELOW = 70, 40


def check_forecast(text: str) -> str | None:
    """A forecast category as typed; None for `auto` (derived from health from now on)."""
    word = "-".join(text.strip().lower().replace("_", " ").replace("-", " ").split())
    if word == AUTO:
        return None
    if word not in CATEGORIES:
        raise Invalid(f"invalid --forecast '{text}': use {', '.join(CATEGORIES)} or {AUTO}")
    return word


def category():
    """SQL: the customer's forecast category: the one set by hand, else from its health
    (70 and up: commit; below 40: at risk; between, or no health yet: likely)."""
    health = health_now()
    derived = case(
        (health >= COMMIT_HEALTH, literal("commit")),
        (health < AT_RISK_BELOW, literal("at-risk")),
        else_=literal("likely"),
    )
    return case((customers.c.forecast.is_not(None), customers.c.forecast), else_=derived)


def customer_forecast(conn: Connection, customer_id: int) -> dict:
    """A customer's renewal forecast (`forecast`) and whether it was set by `hand` or comes
    from its `health` (`forecast_set_by`); both None for a customer that renews nothing (no
    renewal date, or churned), as the forecast report leaves it out."""
    return forecast_of(conn.execute(forecast_query(customer_id)).first())


def forecast_query(customer_id):
    """A renewing customer's forecast category and whether it was set by hand (no row for one
    that renews nothing)."""
    terminal = select(stages.c.key).where(stages.c.terminal, stages.c.deleted_at.is_(None))
    return select(
        category().label("forecast"), customers.c.forecast.is_not(None).label("by_hand")
    ).where(
        customers.c.id == customer_id,
        customers.c.renewal.is_not(None),
        customers.c.stage.not_in(terminal),
    )
