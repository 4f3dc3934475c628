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

from sqlalchemy import and_, func, select

from clm.errors import Invalid
from clm.storage.tables import customers, milestones, notes

DAY_FIELDS = ("days_in_stage", "days_since_start", "days_to_renewal")
DATE_FIELDS = {"days_since_start": "start", "days_to_renewal": "renewal"}  # the date counted from
MAX_DAYS = 36_500  # a century: any more and the day bound leaves the calendar
METRIC_FIELDS = ("health", "lead_score", "arr")
MILESTONE_KINDS = ("milestone_done", "milestone_overdue")
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
_COMPARISON = re.compile(r"([a-z_]+)\s*(<=|>=|!=|=|<|>)\s*(-?\d+(?:\.\d+)?)", re.ASCII)
CONDITION_FORMS = (
    "FIELD OP NUMBER with FIELD one of days_in_stage, days_since_start, days_to_renewal, health, "
    "lead_score, arr and OP one of < <= > >= = !=; or milestone_done:TITLE, milestone_overdue:TITLE"
)


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: float | str  # a number, or a milestone title

    def __str__(self) -> str:
        if self.field in MILESTONE_KINDS:
            return f"{self.field}:{self.value}"
        value = int(self.value) if float(self.value).is_integer() else self.value
        return f"{self.field} {self.op} {value}"

    def clause(self, day: date):
        """The condition as SQL over `customers`, as of `day`."""
        compare = OPS[self.op]
        if self.field in ("days_in_stage", "days_since_start"):
            column = (
                customers.c.stage_entered if self.field == "days_in_stage" else customers.c.start
            )
            return OPS[FLIPPED[self.op]](column, day - timedelta(days=int(self.value)))
        if self.field == "days_to_renewal":
            return and_(
                customers.c.renewal.is_not(None),
                compare(customers.c.renewal, day + timedelta(days=int(self.value))),
            )
        if self.field in METRIC_FIELDS:
            column = customers.c[self.field]
            return and_(column.is_not(None), compare(column, self.value))
        return self.holding(day)

    def holding(self, day: date, customer_id=None):
        """SQL: the customer has milestones that make this (milestone) condition hold."""
        return self._milestones(day, customer_id).exists()

    def _milestones(self, day: date, customer_id=None):
        """The customer's milestones that make this condition hold on `day` (correlated with
        the outer `customers` query unless `customer_id`, an id or a column, is given)."""
        owner = customers.c.id if customer_id is None else customer_id
        mine = and_(
            milestones.c.customer_id == owner,
            milestones.c.title == self.value,
            milestones.c.deleted_at.is_(None),
        )
        if self.field == "milestone_done":
            return select(milestones.c.done_on).where(
                mine, milestones.c.status == "done", milestones.c.done_on <= day
            )
        return select(milestones.c.due).where(
            mine, milestones.c.status.in_(("open", "blocked")), milestones.c.due < day
        )

    def first_milestone_day(self, day: date, customer_id: int | None = None):
        """SQL for the earliest done (or due) day of the milestones that make it hold."""
        found = self._milestones(day, customer_id)
        return found.with_only_columns(func.min(found.selected_columns[0])).scalar_subquery()

    @property
    def on_a_row_day(self) -> bool:
        """Whether the day it became true needs a day read from other rows (`first_day`)."""
        return self.field in MILESTONE_KINDS or self.field in DATE_FIELDS

    def first_day(self, day: date, customer_id=None):
        """SQL for the day `since` needs besides the customer row: the first milestone day of
        a milestone condition; the day a date condition's field last changed (the latest of
        its timeline entries, NULL when it kept the value the customer was added with)."""
        if self.field in MILESTONE_KINDS:
            return self.first_milestone_day(day, customer_id)
        owner = customers.c.id if customer_id is None else customer_id
        kind = DATE_FIELDS[self.field]  # its timeline entries' kind
        return (
            select(func.max(notes.c.on))
            .where(notes.c.customer_id == owner, notes.c.kind == kind)
            .scalar_subquery()
        )

    def since(self, row, first_day: date | None = None) -> date:
        """The day this condition became true for a customer row that matches it, given its
        `first_day` (a milestone condition's first milestone day; for a date condition, the
        day the date last changed, if it did: a moved date holds from the move on)."""
        entered = row.stage_entered
        n = int(self.value) if self.field in DAY_FIELDS else 0
        if self.field == "days_in_stage":
            return entered + timedelta(days=n + (self.op == ">"))
        if self.field == "days_since_start":
            held = row.start + timedelta(days=n + (self.op == ">"))
            return max(entered, held, first_day or entered)
        if self.field == "days_to_renewal":
            held = row.renewal - timedelta(days=n - (self.op == "<"))
            return max(entered, held, first_day or entered)
        if self.field in METRIC_FIELDS:
            return max(entered, getattr(row, f"{self.field}_on") or entered)
        overdue_from = first_day + timedelta(days=self.field == "milestone_overdue")
        return max(entered, overdue_from)


def parse_condition(text: str) -> Condition:
    """`days_in_stage >= 30`, `health < 40`, `milestone_done:Kick-off`; else Invalid."""
    word = text.strip()
    kind, _, title = word.partition(":")
    if kind.strip() in MILESTONE_KINDS:
        if not title.strip():
            raise Invalid(f"invalid condition '{text}': {kind.strip()}: needs a milestone title")
        return Condition(kind.strip(), "=", title.strip())
    match = _COMPARISON.fullmatch(word)
    if not match or match.group(1) not in (*DAY_FIELDS, *METRIC_FIELDS):
        raise Invalid(f"invalid condition '{text}': use {CONDITION_FORMS}")
    field, op, value = match.groups()
    if not math.isfinite(float(value)):
        raise Invalid(f"invalid condition '{text}': {value} is not a finite number")
    if field not in ("arr",) and not float(value).is_integer():
        raise Invalid(f"invalid condition '{text}': {field} takes a whole number")
    if field in DAY_FIELDS and abs(float(value)) > MAX_DAYS:
        raise Invalid(f"invalid condition '{text}': {field} takes at most {MAX_DAYS} days")
    return Condition(field, op, float(value))
