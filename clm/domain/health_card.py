"""A health scorecard as values: its measures (each scores a metric 0-100 with a weight) and
the bands health falls into. No SQLAlchemy imported here (its SQL is built on demand), so
`customer show` reads a customer's band and measures without the engine; clm.domain.scorecard
stores, checks and computes with it."""

import json
from dataclasses import dataclass
from itertools import pairwise

META_KEY = "scorecard"
DEFAULT_BANDS = {"amber": 40, "green": 70}


@dataclass(frozen=True)
class Measure:
    metric: str
    weight: float
    low: float  # scored 0 (scale), or the first threshold
    high: float  # scored 100 (scale), or the second threshold
    steps: bool = False  # thresholds: 0, 50, 100 rather than a line

    def score(self, value: float) -> float:
        """This measure's score of a value, 0-100 (as `score_sql` computes it)."""
        low, high = self.low, self.high
        if self.steps:
            below = (lambda a, b: a < b) if low < high else (lambda a, b: a > b)
            return 0.0 if below(value, low) else 50.0 if below(value, high) else 100.0
        scaled = (value - low) * 100 / (high - low)
        return min(100.0, max(0.0, scaled))

    def score_sql(self, value, nullable: bool = True):
        """SQL: the score of `value` (NULL without a value; `nullable=False` for a value that
        is never NULL), as `score` computes it. It is computed for every customer and metric
        each day, so each use of the value is counted: SQLite evaluates every one."""
        from sqlalchemy import case, literal_column

        from clm.db import greatest, least

        low, high = self.low, self.high
        if self.steps:
            below = (lambda a, b: a < b) if low < high else (lambda a, b: a > b)
            score = case((below(value, low), 0.0), (below(value, high), 50.0), else_=100.0)
        else:
            # A plain division by a literal (SQLAlchemy's `/` adds `+ 0.0` to the divisor).
            scaled = ((value - low) * 100.0).op("/")(literal_column(repr(float(high - low))))
            score = least(greatest(scaled, 0.0), 100.0)
        return case((value.is_(None), None), else_=score) if nullable else score


@dataclass(frozen=True)
class Scorecard:
    measures: tuple[Measure, ...]
    amber: int = DEFAULT_BANDS["amber"]  # health from which a customer is amber
    green: int = DEFAULT_BANDS["green"]

    def band(self, health: int | None) -> str | None:
        if health is None:
            return None
        return "green" if health >= self.green else "amber" if health >= self.amber else "red"

    def band_run(self, history: list[dict]) -> str | None:
        """How long the band of the latest health has held, from a health history (oldest
        first, one score a day): `amber since 2026-11-25, green before`; None without one."""
        if not history:
            return None
        now = self.band(history[-1]["health"])
        start, before = history[0]["on"], None
        for older, newer in pairwise(history):
            if self.band(older["health"]) != now:
                start, before = newer["on"], self.band(older["health"])
        return f"{now} since {start}" + (f", {before} before" if before else "")

    def band_sql(self, health):
        """SQL: the band of a health (NULL without one), as `band` says it."""
        return band_sql(health, self.amber, self.green)


def band_sql(health, amber: int, green: int):
    """SQL: the band of a health against the bands' thresholds (NULL without a health)."""
    from sqlalchemy import case, literal

    return case(
        (health.is_(None), None),
        (health < amber, literal("red")),
        (health < green, literal("amber")),
        else_=literal("green"),
    )


def card_of(stored: str | None) -> Scorecard | None:
    """The scorecard kept (as JSON) in clm_meta; None without one."""
    if not stored:
        return None
    data = json.loads(stored)
    return Scorecard(tuple(Measure(**m) for m in data["measures"]), data["amber"], data["green"])


def measured(card: Scorecard, values: dict) -> dict:
    """One customer's measures from its latest value of each metric (None without one): each
    one's value, score and share of the health (`weight x score / the weights of the measures
    with a value`), and the measures without a value."""
    present = [m for m in card.measures if values[m.metric] is not None]
    total = sum(m.weight for m in present)
    return {
        "measures": [
            {
                "metric": m.metric,
                "value": values[m.metric],
                "score": round(m.score(values[m.metric])),
                "weight": m.weight,
                "contribution": round(m.weight * m.score(values[m.metric]) / total, 1),
            }
            for m in present
        ],
        "missing": [m.metric for m in card.measures if values[m.metric] is None],
    }
