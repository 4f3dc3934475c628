"""The custom fields' definitions as rules, filters and commands read them: each field's kind,
the column its values live in, and how a value typed by a person becomes a stored one."""

import math
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

from clm.dates import parse_date
from clm.errors import Invalid, did_you_mean, not_found

if TYPE_CHECKING:  # not imported: `customer show` reads the definitions without the engine
    from sqlalchemy import Connection

KINDS = ("number", "text", "date", "choice", "bool")
# The column a kind's value lives in.
VALUE_COLUMN = {
    "number": "number_value",
    "bool": "number_value",
    "text": "text_value",
    "choice": "text_value",
    "date": "date_value",
}
TRUE, FALSE = ("true", "yes", "y", "1"), ("false", "no", "n", "0")


class FieldDef(NamedTuple):
    id: int
    name: str
    kind: str
    choices: tuple[str, ...]
    description: str | None

    @property
    def column(self) -> str:
        return VALUE_COLUMN[self.kind]

    def accepts(self) -> str:
        """What a value of this field may be, as an error message says it."""
        return {
            "number": "a number",
            "text": "any text",
            "date": "a date (YYYY-MM-DD, today, +30d, …)",
            "bool": "true or false",
            "choice": "one of " + ", ".join(self.choices),
        }[self.kind]

    def parse(self, text: str, today: date):
        """The typed value of `text` for this field (what its column stores), else Invalid
        naming the field and what it accepts."""
        word = text.strip()
        wrong = Invalid(f"invalid value '{text}' for field {self.name}: use {self.accepts()}")
        if self.kind == "number":
            try:
                number = float(word.replace(",", ""))
            except ValueError:
                raise wrong from None
            if not math.isfinite(number):
                raise wrong
            return number
        if self.kind == "bool":
            if word.lower() not in TRUE + FALSE:
                raise wrong
            return float(word.lower() in TRUE)
        if self.kind == "date":
            try:
                return parse_date(word, today, f"value for field {self.name}")
            except Invalid:
                raise wrong from None
        if self.kind == "choice" and word not in self.choices:
            raise Invalid(
                f"invalid value '{text}' for field {self.name}: use {self.accepts()}"
                f"{did_you_mean(word, self.choices)}"
            )
        if not word or "\x00" in word:  # a NUL: no database stores one in text
            raise wrong
        return word

    def shown(self, value):
        """A stored value as people read it."""
        if value is None:
            return None
        if self.kind == "bool":
            return bool(value)
        if self.kind == "number":
            return int(value) if float(value).is_integer() else value
        return value


def _def(row) -> FieldDef:
    choices = tuple(row.choices.split(";")) if row.choices else ()
    return FieldDef(row.id, row.name, row.kind, choices, row.description)


def field_defs(conn: "Connection") -> dict[str, FieldDef]:
    """The live custom fields by name, in the order they were defined."""
    return defs_of(conn.execute(field_defs_query()))


def defs_of(rows) -> dict[str, FieldDef]:
    """The definitions from the rows of `field_defs_query`."""
    return {row.name: _def(row) for row in rows}


def field_defs_query():
    from sqlalchemy import select

    from clm.storage.tables import fields

    return (
        select(fields.c.id, fields.c.name, fields.c.kind, fields.c.choices, fields.c.description)
        .where(fields.c.deleted_at.is_(None))
        .order_by(fields.c.id)
    )


def shown_values(defs: dict[str, FieldDef], rows) -> dict[str, object]:
    """A customer's field values by name as people read them, in the fields' order (unset
    ones left out), from its rows (field_id and the value columns)."""
    by_id = {f.id: f for f in defs.values()}
    found = {}
    for row in rows:
        field = by_id.get(row.field_id)
        if field is not None:
            found[field.name] = field.shown(getattr(row, field.column))
    return {name: found[name] for name in defs if name in found}


def get_field(conn: "Connection", name: str, defs: dict | None = None) -> FieldDef:
    """The custom field named `name`, else NotFound with the closest name."""
    defs = field_defs(conn) if defs is None else defs
    found = defs.get(name.strip().lower())
    if found is None:
        raise not_found("field", name.strip(), defs)
    return found
