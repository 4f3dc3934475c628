"""Rule conditions on the health band (red, amber, green: health against the scorecard's
bands, 40 and 70 without a scorecard):

- `band = red`, `band != green`: the band of the customer's health now; it became true the
  first day of the run of health scores in that band (from the health history);
- `band changed`, `band changed to red`, `band from green`, `band from green to amber`: the
  band changed in the customer's current stay (from the band before, to the band now); dated
  the day of the change.

The history is read through today's bands: a score logged when the bands were different is
banded as they are now. Two scores on one day: the later one is the day's."""

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Integer, and_, case, func, literal, select, tuple_

from clm.domain.health_card import band_sql
from clm.domain.health_now import health_now
from clm.domain.scorecard import DEFAULT_BANDS as SCORECARD_BANDS
from clm.errors import Invalid, did_you_mean
from clm.storage.tables import customers, health_log

BAND = "band"
BANDS = ("red", "amber", "green")
# Health from which a customer is amber, and green, without a scorecard (the tick binds the
# scorecard's with `with_bands`).
DEFAULT_BANDS = (SCORECARD_BANDS["amber"], SCORECARD_BANDS["green"])
_IS = re.compile(r"band\s*(=|!=)\s*([a-z]+)", re.ASCII)
_CHANGE = re.compile(r"band(?:\s+(changed))?(?:\s+from\s+([a-z]+))?(?:\s+to\s+([a-z]+))?", re.ASCII)


@dataclass(frozen=True)
class BandCondition:
    op: str  # "=", "!=", or "changed"
    band: str | None = None  # = and !=: the band; changed: the band now (None: any)
    before: str | None = None  # changed: the band before (None: any)
    bands: tuple[int, int] = DEFAULT_BANDS
    field = BAND
    for_days = 0
    reads = None  # not a customer column
    on_a_row_day = True  # dated from the health history

    @property
    def value(self) -> str:
        return self.band or ""

    def __str__(self) -> str:
        if self.op != "changed":
            return f"band {self.op} {self.band}"
        parts = ["band changed"]
        if self.before:
            parts.append(f"from {self.before}")
        if self.band:
            parts.append(f"to {self.band}")
        return " ".join(parts)

    def with_bands(self, amber: int, green: int) -> "BandCondition":
        return BandCondition(self.op, self.band, self.before, (amber, green))

    # --- SQL --------------------------------------------------------------------------

    def band_of(self, health):
        """SQL: the band of a health (NULL without one)."""
        return band_sql(health, *self.bands)

    def _now(self, customer):
        return self.band_of(_health(customer))

    def _log(self, customer, day: date, alias: str):
        log = health_log.alias(alias)
        return log, and_(log.c.customer_id == customer.id, log.c.on <= day)

    def _change_day(self, customer, day: date):
        """SQL: the first day of the latest run of scores in the band of the health now: the
        day of the first score after the latest one in another band (index seeks on the
        customer's history, not a search of the later scores for each of its scores), or with
        none in another band, of its first score in this band; NULL without a score in it."""
        run, mine = self._log(customer, day, "run")
        other, theirs = self._log(customer, day, "other")
        elsewhere = (
            select(other.c.on, other.c.id)
            .where(theirs, self.band_of(other.c.health) != self._now(customer))
            .order_by(other.c.on.desc(), other.c.id.desc())
            .limit(1)
        )
        other_on = elsewhere.with_only_columns(other.c.on).scalar_subquery()
        other_id = elsewhere.with_only_columns(other.c.id).scalar_subquery()
        after = (
            select(run.c.on)
            .where(mine, tuple_(run.c.on, run.c.id) > tuple_(other_on, other_id))
            .order_by(run.c.on, run.c.id)
            .limit(1)
            .scalar_subquery()
        )
        first, its = self._log(customer, day, "first")
        only_this = (
            select(func.min(first.c.on))
            .where(its, self.band_of(first.c.health) == self._now(customer))
            .scalar_subquery()
        )
        return case((other_on.is_(None), only_this), else_=after)

    def _band_before(self, customer, day: date):
        """SQL: the band of the latest score in another band than the health now's."""
        other, theirs = self._log(customer, day, "before")
        return (
            select(self.band_of(other.c.health))
            .where(theirs, self.band_of(other.c.health) != self._now(customer))
            .order_by(other.c.on.desc(), other.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    def clause(self, day: date, customer=None):
        customer = customers.c if customer is None else getattr(customer, "c", customer)
        now = self._now(customer)
        if self.op == "=":
            return now == self.band
        if self.op == "!=":
            return and_(_health(customer).is_not(None), now != self.band)
        before = self._band_before(customer, day)
        return and_(
            _health(customer).is_not(None),
            *([now == self.band] if self.band else []),
            before.is_not(None) if self.before is None else before == self.before,
            self._change_day(customer, day) >= customer.stage_entered,
        )

    def first_day(self, day: date, customer=None):
        customer = customers.c if customer is None else getattr(customer, "c", customer)
        return self._change_day(customer, day)

    def since(self, row, first_day) -> date:
        entered = row.stage_entered
        if first_day is None:  # no score in the history: from its health's day
            return max(entered, row.health_on or entered)
        if isinstance(first_day, str):  # SQLite hands a scalar subquery's date back as text
            first_day = date.fromisoformat(first_day[:10])
        return max(entered, first_day)

    # --- explain ----------------------------------------------------------------------

    def explained(self, conn, customer, today: date) -> dict:
        """The band now, with the health it comes from, the band before and the change day."""
        holds = bool(conn.scalar(select(literal(1)).where(self.clause(today, customer))))
        now = conn.scalar(select(self._now(customer)))
        if now is None:
            value = "no health"
        else:
            value = f"{now} (health {customer.health})"
            changed = conn.scalar(select(self._change_day(customer, today)))
            before = conn.scalar(select(self._band_before(customer, today)))
            if changed is not None:
                value += f" since {changed}"
            if before is not None:
                value += f", {before} before"
        first = conn.scalar(select(self.first_day(today, customer))) if holds else None
        since = self.since(customer, first) if holds else None
        return {"condition": str(self), "value": value, "holds": holds, "since": since}


def _health(customer):
    """SQL: the customer's health, from its column or (explain's) its row's value."""
    health = customer.health
    return health_now(customer) if hasattr(health, "is_not") else literal(health, Integer)


def _band(text: str, word: str | None) -> str | None:
    if word is not None and word not in BANDS:
        raise Invalid(
            f"invalid condition '{text}': no band '{word}': use {', '.join(BANDS)}"
            f"{did_you_mean(word, BANDS)}"
        )
    return word


def parse_band_condition(text: str) -> BandCondition | None:
    """A condition on the band, or None when `text` is not about the band."""
    word = " ".join(text.split()).lower()
    if not re.match(r"band\b", word):
        return None
    match = _IS.fullmatch(word)
    if match:
        op, band = match.groups()
        return BandCondition(op, _band(text, band))
    match = _CHANGE.fullmatch(word)
    if match and any(match.groups()):
        _, before, band = match.groups()
        if before is not None and before == band:
            raise Invalid(f"invalid condition '{text}': from and to name the same band")
        return BandCondition("changed", _band(text, band), _band(text, before))
    raise Invalid(
        f"invalid condition '{text}': use band = BAND, band != BAND or "
        f"band changed [from BAND] [to BAND], with BAND one of {', '.join(BANDS)}"
    )
