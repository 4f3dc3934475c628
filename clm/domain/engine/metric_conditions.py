"""Rule conditions on usage metrics, compiled to SQL over the metric's points as of a day:

- `active_users >= 10`: the latest value on or before the day compares; it became true the
  first day of the run of values that hold (the day after the last value that did not);
- `active_users change <= -30% over 30d`: the latest value against the latest one on or
  before `day - 30`, as a percentage of that one (none when it is 0); dated the day of the
  latest value;
- `active_users stale 14d`: no value for 14 days (or none at all); dated the last value's
  day + 14.

Each is dated no earlier than the customer's entry into its stage (the tick's `since`). A
metric removed after the rule was written has no points: its conditions never hold (but
`stale`, which then holds)."""

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, and_, case, func, literal, not_, or_, select

from clm.domain.engine.fields import MAX_DAYS, OPERATORS
from clm.errors import Invalid, did_you_mean
from clm.storage.tables import customers, metric_points, metrics

NUMBER = r"-?\d+(?:\.\d+)?"
_FORMS = {
    "compare": re.compile(rf"([a-z][a-z0-9_]*)\s*(<=|>=|!=|=|<|>)\s*({NUMBER})", re.ASCII),
    "change": re.compile(
        rf"([a-z][a-z0-9_]*)\s+change\s*(<=|>=|!=|=|<|>)\s*({NUMBER})\s*%\s+over\s+(\d+)\s*d",
        re.ASCII,
    ),
    "stale": re.compile(r"([a-z][a-z0-9_]*)\s+stale\s+(\d+)\s*d", re.ASCII),
}
_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
assert set(_OPS) == set(OPERATORS)


@dataclass(frozen=True)
class MetricCondition:
    field: str  # the metric's name
    kind: str  # compare, change or stale
    op: str = ""
    value: float = 0.0
    days: int = 0  # change: the window; stale: the days without a value
    for_days: int = 0  # (the tick asks every condition)

    def __str__(self) -> str:
        number = int(self.value) if float(self.value).is_integer() else self.value
        if self.kind == "compare":
            return f"{self.field} {self.op} {number}"
        if self.kind == "change":
            return f"{self.field} change {self.op} {number}% over {self.days}d"
        return f"{self.field} stale {self.days}d"

    reads = None  # no customer column: explain asks `explain` below
    on_a_row_day = True  # the day it became true comes from the points (`first_day`)

    # --- SQL --------------------------------------------------------------------------

    def _points(self, customer, until: date, points=metric_points):
        """SQL: the customer's points of this metric on or before `until` (of `points`, an
        alias where a query nests in another over the points)."""
        metric = (
            select(metrics.c.id)
            .where(metrics.c.name == self.field, metrics.c.deleted_at.is_(None))
            .scalar_subquery()
        )
        return and_(
            points.c.metric_id == metric, points.c.customer_id == customer.id, points.c.day <= until
        )

    def _latest(self, customer, column, until: date):
        return (
            select(column)
            .where(self._points(customer, until))
            .order_by(metric_points.c.day.desc())
            .limit(1)
            .scalar_subquery()
        )

    def _holding(self, value):
        return _OPS[self.op](value, self.value)

    def _change(self, customer, day: date):
        """SQL: the change in percent from the latest value `days` before `day` (on or before
        `day - days`) to the latest value."""
        now = self._latest(customer, metric_points.c.value, day)
        then = self._latest(customer, metric_points.c.value, day - timedelta(days=self.days))
        return case((then != 0, (now - then) * 100.0 / then), else_=None)

    def clause(self, day: date, customer=None):
        customer = customers.c if customer is None else getattr(customer, "c", customer)
        if self.kind == "compare":
            return self._holding(self._latest(customer, metric_points.c.value, day))
        if self.kind == "change":
            return self._holding(self._change(customer, day))
        last = self._latest(customer, metric_points.c.day, day)
        return or_(last.is_(None), last <= day - timedelta(days=self.days))

    def first_day(self, day: date, customer=None):
        """SQL for the day the condition became true (before the stay's clamp)."""
        customer = customers.c if customer is None else getattr(customer, "c", customer)
        if self.kind == "change":
            return self._latest(customer, metric_points.c.day, day)
        if self.kind == "stale":
            # The last value's day; `since` adds the days (none: from the stage entry on).
            return self._latest(customer, metric_points.c.day, day)
        earlier = metric_points.alias("earlier")
        failing = (
            select(func.max(earlier.c.day))
            .where(self._points(customer, day, earlier), not_(self._holding(earlier.c.value)))
            .scalar_subquery()
        )
        return (
            select(func.min(metric_points.c.day))
            .where(
                self._points(customer, day),
                or_(failing.is_(None), metric_points.c.day > failing),
            )
            .scalar_subquery()
        )

    def since(self, row, first_day) -> date:
        entered = row.stage_entered
        if first_day is None:
            return entered
        if isinstance(first_day, str):  # SQLite hands a scalar subquery's date back as text
            first_day = date.fromisoformat(first_day)
        if self.kind == "stale":
            first_day += timedelta(days=self.days)
        return max(entered, first_day)

    # --- explain ----------------------------------------------------------------------

    def explain(self, conn: Connection, customer, today: date) -> dict:
        """For `explain`: the values read, whether it holds now and since when."""
        latest = conn.execute(
            select(metric_points.c.day, metric_points.c.value)
            .where(self._points(customer, today))
            .order_by(metric_points.c.day.desc())
            .limit(1)
        ).first()
        holds = bool(conn.scalar(select(literal(1)).where(self.clause(today, customer))))
        first = conn.scalar(select(self.first_day(today, customer))) if holds else None
        since = self.since(customer, first) if holds else None
        if latest is None:
            value = "no value"
        elif self.kind == "change":
            then = conn.execute(
                select(metric_points.c.day, metric_points.c.value)
                .where(self._points(customer, today - timedelta(days=self.days)))
                .order_by(metric_points.c.day.desc())
                .limit(1)
            ).first()
            if then is None:
                value = f"{_number(latest.value)} on {latest.day}, none {self.days}d before"
            elif then.value == 0:
                value = f"{_number(then.value)} on {then.day} → {_number(latest.value)}"
            else:
                change = (latest.value - then.value) * 100 / then.value
                value = (
                    f"{change:+.0f}% ({_number(then.value)} on {then.day} → "
                    f"{_number(latest.value)} on {latest.day})"
                )
        elif self.kind == "stale":
            value = f"last value on {latest.day} ({(today - latest.day).days} days ago)"
        else:
            value = f"{_number(latest.value)} on {latest.day}"
        return {"condition": str(self), "value": value, "holds": holds, "since": since}

    def problem(self, conn: Connection) -> str | None:
        """What is wrong with it in this book (an unknown metric), if anything."""
        from clm.domain.engine.field_defs import field_defs
        from clm.domain.engine.fields import FIELDS

        names = list(conn.scalars(select(metrics.c.name).where(metrics.c.deleted_at.is_(None))))
        if self.field in names:
            return None
        # A typo may be of a metric, a custom field or a field every customer has.
        known = [*names, *field_defs(conn), *FIELDS]
        return (
            f"invalid condition '{self}': no metric '{self.field}'{did_you_mean(self.field, known)}"
            " (add it with clm metric add)"
        )


def _number(value: float) -> str:
    return f"{value:g}"


def parse_metric_condition(text: str) -> MetricCondition | None:
    """A metric condition, or None when the text is of none of the metric forms."""
    word = " ".join(text.split())
    for kind, form in _FORMS.items():
        match = form.fullmatch(word)
        if match is None:
            continue
        if kind == "stale":
            name, days = match.groups()
            return MetricCondition(name, kind, days=_days(text, days))
        name, op, number = match.groups()[:3]
        value = float(number)
        if not math.isfinite(value):
            raise Invalid(f"invalid condition '{text}': {number} is not a finite number")
        days = _days(text, match.group(4)) if kind == "change" else 0
        return MetricCondition(name, kind, op, value, days)
    return None


def _days(text: str, days: str) -> int:
    if not 0 < int(days) <= MAX_DAYS:
        raise Invalid(f"invalid condition '{text}': use 1d to {MAX_DAYS}d")
    return int(days)
