"""Rule conditions on what the account knows besides its own columns: custom fields
(`seats >= 50`, `segment = enterprise`, `go_live_date <= today`) and contacts
(`contact_left:champion`).

Each is the same shape as a `Condition` to the tick: SQL as of a day (`clause`), the day it
became true read from its rows (`first_day`, `since`) and what `explain` shows (`explained`)."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import String, and_, cast, func, select

from clm.domain.engine.field_defs import FieldDef
from clm.domain.engine.fields import MAX_DAYS
from clm.errors import Invalid, did_you_mean
from clm.lifecycle import CONTACT_ROLES
from clm.storage.tables import contacts, customers, field_values

OPS = ("<", "<=", ">", ">=", "=", "!=")
ORDERED = ("number", "date")  # the kinds `<` and `>` compare
ROLES = CONTACT_ROLES  # the default list; a book's is the model's (clm.domain.contacts)
CONTACT_LEFT = "contact_left"
TODAY = "today"
_FIELD_COMPARISON = re.compile(r"([a-z][a-z0-9_]*)\s*(<=|>=|!=|=|<|>)\s*(.+)", re.ASCII)
# `today`, `today+30d`, `today-2w`: a day relative to each day the rule is tried.
_RELATIVE = re.compile(r"today(?:\s*([+-])\s*(\d+)\s*([dw]))?", re.ASCII)


def compare(op: str, left, right):
    return {
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
        "=": left == right,
        "!=": left != right,
    }[op]


@dataclass(frozen=True)
class FieldCondition:
    """`NAME OP VALUE` on a custom field; a date field may compare with `today`, or a number of
    days from it (`today+30d`, `today-14d`)."""

    custom: FieldDef
    op: str
    value: object  # the typed value (a float, text, date), or TODAY
    for_days: int = 0
    offset: int = 0  # with TODAY: days after it (before it when negative)
    reads = None  # not one of the customer's columns

    @property
    def field(self) -> str:
        return self.custom.name

    def __str__(self) -> str:
        value = self.custom.shown(self.value) if self.value != TODAY else TODAY
        if self.on_today and self.offset:
            value = f"{TODAY}{self.offset:+d}d"
        if isinstance(value, bool):
            value = str(value).lower()
        return f"{self.field} {self.op} {value}"

    @property
    def on_today(self) -> bool:
        return self.value == TODAY

    def _mine(self, customer_id):
        return and_(
            field_values.c.customer_id == customer_id,
            field_values.c.field_id == self.custom.id,
            field_values.c.deleted_at.is_(None),
        )

    def bound(self, day: date):
        """What the field compares with on `day`."""
        return day + timedelta(days=self.offset) if self.on_today else self.value

    def clause(self, day: date):
        column = field_values.c[self.custom.column]
        bound = self.bound(day)
        held = select(field_values.c.id).where(
            self._mine(customers.c.id), column.is_not(None), compare(self.op, column, bound)
        )
        return held.exists()

    on_a_row_day = True

    def first_day(self, day: date, customer=None):
        """SQL: the day its value was set, and for a date compared with today the date too
        (`SET|DATE`): it became true on the later of the two."""
        owner = customers.c.id if customer is None else customer.id
        changed = field_values.c.changed_on
        read = changed
        if self.on_today:
            read = cast(changed, String) + "|" + cast(field_values.c.date_value, String)
        return select(read).where(self._mine(owner)).scalar_subquery()

    def since(self, row, first_day) -> date:
        entered = row.stage_entered
        if first_day is None:
            return entered
        if not isinstance(first_day, str):
            return max(entered, first_day)
        changed, _, when = first_day.partition("|")
        held = date.fromisoformat(when[:10])
        # `DATE < today` holds from the day after DATE (`DATE <= today+30d` from DATE - 30);
        # `>` and `>=` hold from the day it was set.
        if self.op in ("<", "<=", "="):
            held += timedelta(days=(self.op == "<") - self.offset)
        else:
            held = entered
        return max(entered, date.fromisoformat(changed[:10]), held)

    def explained(self, conn, customer, today: date) -> dict:
        column = field_values.c[self.custom.column]
        value = conn.scalar(select(column).where(self._mine(customer.id)))
        bound = self.bound(today)
        holds = value is not None and compare(self.op, value, bound)
        since = None
        if holds:
            since = self.since(customer, conn.scalar(select(self.first_day(today, customer))))
        shown = self.custom.shown(value)
        return {"condition": str(self), "value": shown, "holds": holds, "since": since}


@dataclass(frozen=True)
class ContactCondition:
    """`contact_left:ROLE`: a contact of that role left during the customer's current stay."""

    role: str
    field = CONTACT_LEFT
    op = "="
    for_days = 0
    reads = None
    on_a_row_day = True

    @property
    def value(self) -> str:
        return self.role

    def __str__(self) -> str:
        return f"{CONTACT_LEFT}:{self.role}"

    def _left(self, day: date, customer=None):
        customer = customers.c if customer is None else getattr(customer, "c", customer)
        return select(contacts.c.left_on).where(
            contacts.c.customer_id == customer.id,
            contacts.c.role == self.role,
            contacts.c.deleted_at.is_(None),
            contacts.c.left_on <= day,
            contacts.c.left_on >= customer.stage_entered,
        )

    def clause(self, day: date):
        return self._left(day).exists()

    def first_day(self, day: date, customer=None):
        found = self._left(day, customer)
        return found.with_only_columns(func.min(contacts.c.left_on)).scalar_subquery()

    def since(self, row, first_day) -> date:
        return max(row.stage_entered, first_day or row.stage_entered)

    def problem(self, conn) -> str | None:
        """What is wrong with it in this book (a role the model does not list), if anything."""
        from clm.domain.contacts import contact_roles

        roles = contact_roles(conn)
        if self.role in roles:
            return None
        return (
            f"invalid condition '{self}': {CONTACT_LEFT}: takes a role, one of "
            f"{', '.join(roles)}{did_you_mean(self.role, roles)}"
        )

    def explained(self, conn, customer, today: date) -> dict:
        first = conn.scalar(select(self.first_day(today, customer)))
        return {
            "condition": str(self),
            "value": f"left {first}" if first else "no",
            "holds": first is not None,
            "since": self.since(customer, first) if first else None,
        }


def parse_extra_condition(text: str, custom: dict[str, FieldDef] | None):
    """A condition on a custom field or a contact, or None when `text` is neither (it is then
    one of the built-in forms, or wrong)."""
    kind, colon, role = text.partition(":")
    if colon and kind.strip() == CONTACT_LEFT:
        role = role.strip().lower()
        # A role of the book's model (`problem` checks that): here, one that could be.
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", role, re.ASCII):
            raise Invalid(
                f"invalid condition '{text}': {CONTACT_LEFT}: takes a role of the model "
                f"(clm model show), such as {', '.join(ROLES)}"
            )
        return ContactCondition(role)
    match = _FIELD_COMPARISON.fullmatch(text)
    if not match or not custom or match.group(1) not in custom:
        return None
    name, op, raw = match.groups()
    field = custom[name]
    if op not in ("=", "!=") and field.kind not in ORDERED:
        raise Invalid(
            f"invalid condition '{text}': {name} is a {field.kind}: compare it with = or !="
        )
    word = raw.strip()
    relative = _RELATIVE.fullmatch(word.lower())
    if field.kind == "date" and relative:
        sign, count, unit = relative.groups()
        days = int(count or 0) * (7 if unit == "w" else 1) * (-1 if sign == "-" else 1)
        if abs(days) > MAX_DAYS:
            raise Invalid(f"invalid condition '{text}': use today-{MAX_DAYS}d to today+{MAX_DAYS}d")
        return FieldCondition(field, op, TODAY, offset=days)
    if field.kind == "date":
        try:
            return FieldCondition(field, op, date.fromisoformat(word))
        except ValueError:
            raise Invalid(
                f"invalid condition '{text}': {name} is a date: compare it with today, "
                "today+30d, today-14d (days or weeks) or a YYYY-MM-DD date"
            ) from None
    return FieldCondition(field, op, field.parse(word, date.min))
