"""The renewal forecast: each renewing customer's category (commit, likely, at risk, lost),
set by hand (`customer edit --forecast`) or, while unset, derived from its health band."""

from sqlalchemy import case, literal

from clm.errors import Invalid
from clm.storage.tables import customers

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
    health = customers.c.health
    derived = case(
        (health >= COMMIT_HEALTH, literal("commit")),
        (health < AT_RISK_BELOW, literal("at-risk")),
        else_=literal("likely"),
    )
    return case((customers.c.forecast.is_not(None), customers.c.forecast), else_=derived)
