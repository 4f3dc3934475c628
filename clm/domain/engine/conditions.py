"""Rule conditions: parsed from text, compiled to SQL as of a day, and dated the day they
became true.

A condition's day count becomes a date bound computed once (`days_in_stage >= 30` is
`stage_entered <= day - 30`), so each rule is one indexed query returning only the customers
that match."""

import math
import operator
import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, or_, select

from clm.domain.engine.fields import (
    CONDITION_FORMS,
    FIELDS,
    MAX_DAYS,
    METRIC_FORMS,
    MILESTONE_KINDS,
    RuleField,
)
from clm.domain.engine.metric_conditions import parse_metric_condition
from clm.domain.health_now import column_holds, customer_column
from clm.errors import Invalid, did_you_mean
from clm.storage.tables import customers, milestones, notes

OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
    "!=": operator.ne,
}
# `day - column OP n` holds when `column FLIPPED(OP) day - n`.
FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_COMPARISON = re.compile(
    r"([a-z_]+)\s*(<=|>=|!=|=|<|>)\s*(-?\d+(?:\.\d+)?)(?:\s+for\s+(\d+)\s*(?:d|days?))?",
    re.ASCII,
)


@dataclass(frozen=True)
class Condition:
    field: str  # a name of FIELDS, or one of MILESTONE_KINDS
    op: str
    value: float | str  # a number, or a milestone title
    for_days: int = 0  # a metric's condition: how long it must have held in the stay

    def __str__(self) -> str:
        if self.field in MILESTONE_KINDS:
            return f"{self.field}:{self.value}"
        value = int(self.value) if float(self.value).is_integer() else self.value
        held = f" for {self.for_days}d" if self.for_days else ""
        return f"{self.field} {self.op} {value}{held}"

    @property
    def reads(self) -> RuleField | None:
        """The customer field it compares (None for a milestone condition)."""
        return FIELDS.get(self.field)

    def clause(self, day: date):
        """The condition as SQL over `customers`, as of `day`: a day count becomes a date bound
        computed here, once."""
        field = self.reads
        if field is None:
            return self.holding(day)
        column = customer_column(field.column)
        if field.measure == "days_since":
            return OPS[FLIPPED[self.op]](column, day - timedelta(days=int(self.value)))
        if field.measure == "days_until":
            bound = day + timedelta(days=int(self.value))
            return and_(column.is_not(None), OPS[self.op](column, bound))
        holds = column_holds(field.column, lambda value: OPS[self.op](value, self.value))
        if not self.for_days:
            return holds
        # Held N days in the stay: since the later of the entry and the metric's last change.
        bound = day - timedelta(days=self.for_days)
        changed = customer_column(field.changed_on)
        return and_(
            holds,
            customers.c.stage_entered <= bound,
            or_(changed.is_(None), changed <= bound),
        )

    def value_of(self, customer, today: date):
        """What the condition compares for one customer row today (None: no value)."""
        field = self.reads
        stored = getattr(customer, field.column)
        if field.measure == "value" or stored is None:
            return stored
        days = (today - stored).days
        return days if field.measure == "days_since" else -days

    def holding(self, day: date, customer=None):
        """SQL: the customer has milestones that make this (milestone) condition hold."""
        return self._milestones(day, customer).exists()

    def _milestones(self, day: date, customer=None):
        """The customer's milestones that make this condition hold on `day`, in its current
        stay only: done since it entered its stage, or gone overdue since (a milestone done in
        an earlier stay never moves on a customer moved back by hand). Correlated with the
        outer `customers` query unless `customer` (an alias of it, or a row) is given."""
        customer = customers.c if customer is None else getattr(customer, "c", customer)
        mine = and_(
            milestones.c.customer_id == customer.id,
            milestones.c.title == self.value,
            milestones.c.deleted_at.is_(None),
        )
        if self.field == "milestone_done":
            return select(milestones.c.done_on).where(
                mine,
                milestones.c.status == "done",
                milestones.c.done_on <= day,
                milestones.c.done_on >= customer.stage_entered,
            )
        return select(milestones.c.due).where(
            mine,
            milestones.c.status.in_(("open", "blocked")),
            milestones.c.due < day,
            milestones.c.due >= customer.stage_entered,
        )

    def first_milestone_day(self, day: date, customer=None):
        """SQL for the earliest done (or due) day of the milestones that make it hold."""
        found = self._milestones(day, customer)
        return found.with_only_columns(func.min(found.selected_columns[0])).scalar_subquery()

    @property
    def on_a_row_day(self) -> bool:
        """Whether the day it became true needs a day read from other rows (`first_day`)."""
        return self.reads is None or self.reads.changed_as is not None

    def first_day(self, day: date, customer=None):
        """SQL for the day `since` needs besides the customer row: the first milestone day of
        a milestone condition; the day a date condition's field last changed (the latest of
        its timeline entries, NULL when it kept the value the customer was added with)."""
        if self.reads is None:
            return self.first_milestone_day(day, customer)
        owner = customers.c.id if customer is None else customer.id
        return (
            select(func.max(notes.c.on))
            .where(notes.c.customer_id == owner, notes.c.kind == self.reads.changed_as)
            .scalar_subquery()
        )

    def since(self, row, first_day: date | None = None) -> date:
        """The day this condition became true for a customer row that matches it, given its
        `first_day` (a milestone condition's first milestone day; for a date condition, the
        day the date last changed, if it did: a moved date holds from the move on). Never
        before the customer entered its stage."""
        entered = row.stage_entered
        field = self.reads
        if field is None:
            overdue_from = first_day + timedelta(days=self.field == "milestone_overdue")
            return max(entered, overdue_from)
        if field.measure == "value":
            held = max(entered, getattr(row, field.changed_on) or entered)
            return held + timedelta(days=self.for_days)
        n = int(self.value)
        if field.measure == "days_since":
            held = getattr(row, field.column) + timedelta(days=n + (self.op == ">"))
        else:
            held = getattr(row, field.column) - timedelta(days=n - (self.op == "<"))
        return max(entered, held, first_day or entered)


def parse_condition(text: str, custom: dict | None = None):
    """`days_in_stage >= 30`, `health < 40`, `milestone_done:Kick-off`; a condition on one of
    the `custom` fields (by name) or a contact (clm.domain.engine.field_conditions), or a
    metric's (clm.domain.engine.metric_conditions), or the health band's
    (clm.domain.engine.band_conditions); else Invalid."""
    from clm.domain.engine.band_conditions import parse_band_condition
    from clm.domain.engine.field_conditions import parse_extra_condition

    word = text.strip()
    on_the_band = parse_band_condition(word)
    if on_the_band is not None:
        return on_the_band
    extra = parse_extra_condition(word, custom)
    if extra is not None:
        return extra
    kind, _, title = word.partition(":")
    if kind.strip() in MILESTONE_KINDS:
        if not title.strip():
            raise Invalid(f"invalid condition '{text}': {kind.strip()}: needs a milestone title")
        return Condition(kind.strip(), "=", title.strip())
    match = _COMPARISON.fullmatch(word)
    if not match or match.group(1) not in FIELDS:
        on_a_metric = parse_metric_condition(word)
        if on_a_metric is not None and on_a_metric.field not in FIELDS:
            return on_a_metric
        name = re.match(r"[a-z_][a-z0-9_]*", word, re.ASCII)
        known = [*FIELDS, *(custom or ())]
        hint = did_you_mean(name.group(), known) if name and name.group() not in known else ""
        metric_forms = ", ".join(METRIC_FORMS)
        raise Invalid(f"invalid condition '{text}': use {CONDITION_FORMS}; or {metric_forms}{hint}")
    name, op, value, for_days = match.groups()
    field, number = FIELDS[name], float(value)
    if not math.isfinite(number):
        raise Invalid(f"invalid condition '{text}': {value} is not a finite number")
    if field.whole and not number.is_integer():
        raise Invalid(f"invalid condition '{text}': {name} takes a whole number")
    if field.bounds and not field.bounds[0] <= number <= field.bounds[1]:
        unit = " days" if field.counts_days else ""
        raise Invalid(f"invalid condition '{text}': {name} takes at most {field.bounds[1]:g}{unit}")
    if for_days is not None:
        if field.counts_days:
            raise Invalid(
                f"invalid condition '{text}': 'for N days' goes after a metric "
                f"({', '.join(f.name for f in FIELDS.values() if not f.counts_days)}), "
                f"not after {name}, which counts days already"
            )
        if not 0 < int(for_days) <= MAX_DAYS:
            raise Invalid(f"invalid condition '{text}': use for 1d to for {MAX_DAYS}d")
    return Condition(name, op, number, int(for_days or 0))
