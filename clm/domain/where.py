"""`customer list --where`: a small filter language over a customer's fields, compiled to
SQLAlchemy expressions (values are bound parameters, names are looked up: nothing typed is
ever SQL).

    FILTER  := TEST ("and" TEST)*
    TEST    := NAME OP VALUE | NAME "is" ["not"] "set"
    OP      := = | != | < | <= | > | >=
    VALUE   := a word without spaces, or 'quoted' / "quoted" ('' or "" inside for the quote)

NAME is a custom field or one of the customer's own: stage, source, arr, health, lead_score,
start, renewal. `<`, `>` compare numbers and dates; a date may be `today` or `+30d` as
everywhere. `!=` and comparisons match customers that have a value; `is not set` those that
have none. Several --where options all hold."""

import re
from datetime import date

from sqlalchemy import and_, not_, select

from clm.domain.engine.field_conditions import ORDERED, compare
from clm.domain.engine.field_defs import FieldDef, field_defs
from clm.domain.health_now import column_holds, customer_column
from clm.errors import Invalid, did_you_mean
from clm.plain import is_text
from clm.storage.tables import customers, field_values

OPERATORS = ("<=", ">=", "!=", "=", "<", ">")
# The customer's own columns a filter may name, with the kind of value each holds.
OWN = {
    "stage": "text",
    "source": "text",
    "arr": "number",
    "health": "number",
    "lead_score": "number",
    "start": "date",
    "renewal": "date",
}
WHERE_FORMS = "NAME OP VALUE [and …] (OP one of = != < <= > >=) or NAME is [not] set"
_TOKEN = re.compile(
    r"\s*(?:'(?P<single>(?:[^']|'')*)'|\"(?P<double>(?:[^\"]|\"\")*)\"|(?P<op><=|>=|!=|=|<|>)"
    r"|(?P<word>[^\s'\"<>=!]+))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: `value` for a quoted string, `op`, `word`."""
    found, at, rest = [], 0, text.rstrip()
    while at < len(rest):
        match = _TOKEN.match(rest, at)
        if match is None or match.end() == at:
            raise Invalid(f"invalid --where '{text}': cannot read '{rest[at:].strip()}'; use "
                          f"{WHERE_FORMS}")  # fmt: skip
        if match.group("single") is not None:
            found.append(("value", match.group("single").replace("''", "'")))
        elif match.group("double") is not None:
            found.append(("value", match.group("double").replace('""', '"')))
        elif match.group("op"):
            found.append(("op", match.group("op")))
        else:
            found.append(("word", match.group("word")))
        at = match.end()
    return found


def where_clause(conn, texts: list[str], today: date):
    """SQL over `customers` for the --where filters (all must hold); None for none."""
    if not texts:
        return None
    for text in texts:
        if not is_text(text):
            shown = text.encode("utf-8", "backslashreplace").decode()
            raise Invalid(f"invalid --where '{shown}': it is not valid text (UTF-8)")
    defs = field_defs(conn)
    tests = [test for text in texts for test in _parse(text, defs, today)]
    return and_(*tests)


def _parse(text: str, defs: dict[str, FieldDef], today: date) -> list:
    tokens, tests = _tokens(text), []
    while True:
        if len(tokens) < 3:
            raise Invalid(f"invalid --where '{text}': use {WHERE_FORMS}")
        (kind, name), (op_kind, op), (value_kind, value) = tokens[:3]
        if kind != "word":
            raise Invalid(f"invalid --where '{text}': a test starts with a field name")
        if op_kind == "word" and op.lower() == "is":
            negated = value_kind == "word" and value.lower() == "not"
            end = tokens[3:4] if negated else tokens[2:3]
            if not end or end[0][0] != "word" or end[0][1].lower() != "set":
                raise Invalid(f"invalid --where '{text}': use NAME is set or NAME is not set")
            test = _is_set(name, defs, text)
            tests.append(not_(test) if negated else test)
            tokens = tokens[4 if negated else 3 :]
        else:
            if op_kind != "op":
                raise Invalid(f"invalid --where '{text}': after {name}, use one of "
                              f"{' '.join(OPERATORS)} or 'is [not] set'")  # fmt: skip
            if value_kind == "op":
                raise Invalid(f"invalid --where '{text}': {name} {op} needs a value")
            tests.append(_test(name, op, value, defs, text, today))
            tokens = tokens[3:]
        if not tokens:
            return tests
        if tokens[0][0] != "word" or tokens[0][1].lower() != "and":
            raise Invalid(f"invalid --where '{text}': join tests with 'and'")
        tokens = tokens[1:]


def _field(name: str, defs: dict[str, FieldDef], text: str) -> FieldDef | str:
    """The custom field or own column `name` names; else Invalid with a suggestion."""
    key = name.lower()
    if key in OWN:
        return key
    if key in defs:
        return defs[key]
    hint = did_you_mean(key, [*OWN, *defs])
    raise Invalid(f"invalid --where '{text}': no field '{name}'{hint}")


def _is_set(name: str, defs, text: str):
    field = _field(name, defs, text)
    if isinstance(field, str):
        return customer_column(field).is_not(None)
    return customers.c.id.in_(_values_of(field).with_only_columns(field_values.c.customer_id))


def _values_of(field: FieldDef):
    return select(field_values.c[field.column]).where(
        field_values.c.field_id == field.id, field_values.c.deleted_at.is_(None)
    )


def _test(name: str, op: str, value: str, defs, text: str, today: date):
    field = _field(name, defs, text)
    kind = OWN[field] if isinstance(field, str) else field.kind
    if op not in ("=", "!=") and kind not in ORDERED:
        raise Invalid(f"invalid --where '{text}': {name} is {kind}: compare it with = or !=")
    if isinstance(field, str):
        typed = FieldDef(0, field, kind, (), None).parse(value, today)
        return column_holds(field, lambda column: compare(op, column, typed))
    typed = field.parse(value, today)
    column = field_values.c[field.column]
    matching = _values_of(field).where(column.is_not(None), compare(op, column, typed))
    return customers.c.id.in_(matching.with_only_columns(field_values.c.customer_id))
