"""Custom fields on customers: their definitions (`clm field`, the model file) and each
customer's values, stored typed so filters and rules compare them in SQL."""

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, func, select, update

from clm.db import utcnow
from clm.domain.engine.field_defs import KINDS, FieldDef, field_defs, get_field, shown_values
from clm.domain.engine.fields import FIELDS, data_name
from clm.domain.records import new_row, update_row
from clm.errors import Conflict, Invalid
from clm.storage.tables import field_values, fields

# Names a custom field cannot take: the customer's own columns and what rules read already.
RESERVED = frozenset(
    {"slug", "name", "stage", "owner", "start", "renewal", "term", "arr", "health",
     "lead_score", "source", "tags", "influencers", "stage_entered", "uuid", "today",
     "days_in_stage", "handoff_pending", "contact_left", "and", "pinned", "health_trend",
     "churn_reason", "lost_arr", "contacts", "fields", *FIELDS}
)  # fmt: skip


def check_definition(name: str, kind: str, choices: Iterable[str]) -> tuple[str, str, str | None]:
    name = data_name(name, "field", RESERVED)
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise Invalid(f"invalid field kind '{kind}': use one of {', '.join(KINDS)}")
    values = [c.strip() for c in choices if c.strip()]
    if kind == "choice" and not values:
        raise Invalid(f"field {name} is a choice: give its values (--choice VALUE, repeatable)")
    if kind != "choice" and values:
        raise Invalid(f"field {name} is a {kind}: only a choice has values")
    if any(";" in v for v in values) or len(set(values)) != len(values):
        raise Invalid(f"invalid choices for field {name}: distinct values without ';'")
    return name, kind, ";".join(values) or None


def add_field(
    conn: Connection, name: str, kind: str, choices: Iterable[str] = (), description=None
) -> FieldDef:
    """Define a custom field; Conflict if the name is taken."""
    name, kind, joined = check_definition(name, kind, choices)
    if name in field_defs(conn):
        raise Conflict(f"field {name} exists already: clm field edit {name}")
    _no_metric_named(conn, name)
    conn.execute(
        fields.insert().values(
            new_row(conn, name=name, kind=kind, choices=joined, description=description)
        )
    )
    return field_defs(conn)[name]


def edit_field(
    conn: Connection,
    name: str,
    choices: Iterable[str] | None = None,
    description: str | None = None,
    today: date | None = None,
) -> FieldDef:
    """Change a field's choices or description. A choice still held by a customer stays."""
    field = get_field(conn, name)
    changes = {}
    if description is not None:
        changes["description"] = description.strip() or None
    if choices is not None:
        _, _, joined = check_definition(field.name, field.kind, choices)
        kept = set(joined.split(";")) if joined else set()
        held = conn.scalars(
            select(field_values.c.text_value)
            .where(field_values.c.field_id == field.id, field_values.c.deleted_at.is_(None))
            .distinct()
        )
        missing = sorted(set(held) - kept)
        if missing:
            raise Conflict(
                f"field {field.name}: customers hold {', '.join(missing)}; keep those choices "
                "or change their values first"
            )
        changes["choices"] = joined
    row = conn.execute(select(fields).where(fields.c.id == field.id)).one()
    update_row(conn, fields, row, changes)
    return get_field(conn, field.name)


def remove_field(conn: Connection, name: str, by_model: bool = False) -> tuple[FieldDef, int]:
    """Remove a field and its values (tombstoned); returns it and how many values went. A rule
    reading it must go first (`by_model`: the model file's rules replace them, checked after)."""
    field = get_field(conn, name)
    if not by_model:
        _refuse_if_read_by_rules(conn, field)
    now = utcnow()
    gone = conn.execute(
        update(field_values)
        .where(field_values.c.field_id == field.id, field_values.c.deleted_at.is_(None))
        .values(deleted_at=now, updated_at=now)
    ).rowcount
    row = conn.execute(select(fields).where(fields.c.id == field.id)).one()
    update_row(conn, fields, row, {"deleted_at": now})
    return field, gone


def _no_metric_named(conn: Connection, name: str) -> None:
    """A field and a metric of one name: a rule's `name >= 10` could not tell them apart."""
    from clm.storage.tables import metrics

    if conn.scalar(
        select(metrics.c.id).where(metrics.c.name == name, metrics.c.deleted_at.is_(None))
    ):
        raise Conflict(f"a metric is named {name}: give the field another name")


def write_fields(conn: Connection, wanted: list[dict]) -> list:
    """Make the fields those of the model file (`model apply`): add, change and remove; a
    field removed or changed in kind while customers hold values is a problem, not a loss."""
    from clm.errors import Problem

    current = field_defs(conn)
    held = _held(conn)
    problems = []
    names = {entry["name"] for entry in wanted}
    for name, field in current.items():
        if name not in names and held.get(field.id):
            problems.append(
                Problem("fields", f"the file removes field '{name}' but {held[field.id]} "
                        "customers hold a value: keep it, or clm field rm it first")
            )  # fmt: skip
        elif name not in names:
            remove_field(conn, name, by_model=True)
    for entry in wanted:
        field = current.get(entry["name"])
        joined = ";".join(entry["choices"]) or None
        if field is None:
            _no_metric_named(conn, entry["name"])
            conn.execute(
                fields.insert().values(
                    new_row(conn, name=entry["name"], kind=entry["kind"], choices=joined,
                            description=entry["description"])
                )
            )  # fmt: skip
            continue
        if field.kind != entry["kind"] and held.get(field.id):
            problems.append(
                Problem("fields", f"field '{field.name}' is a {field.kind} held by customers: "
                        f"it cannot become a {entry['kind']}")
            )  # fmt: skip
            continue
        row = conn.execute(select(fields).where(fields.c.id == field.id)).one()
        values = {"kind": entry["kind"], "choices": joined, "description": entry["description"]}
        update_row(conn, fields, row, {k: v for k, v in values.items() if getattr(row, k) != v})
    return problems


def _held(conn: Connection) -> dict[int, int]:
    """How many customers hold a value of each field (by field id)."""
    return dict(
        conn.execute(
            select(field_values.c.field_id, func.count())
            .where(field_values.c.deleted_at.is_(None))
            .group_by(field_values.c.field_id)
        ).all()
    )


def _refuse_if_read_by_rules(conn: Connection, field: FieldDef) -> None:
    import json

    from clm.domain.engine.conditions import parse_condition
    from clm.storage.tables import rules

    defs = field_defs(conn)
    for rule, texts in conn.execute(
        select(rules.c.name, rules.c.conditions).where(rules.c.deleted_at.is_(None))
    ):
        if any(parse_condition(t, defs).field == field.name for t in json.loads(texts)):
            raise Conflict(f"rule '{rule}' reads field {field.name}: change or remove it first")


def list_fields(conn: Connection) -> list[dict]:
    """The fields with how many customers hold a value of each."""
    counts = _held(conn)
    return [
        {"name": f.name, "kind": f.kind, "choices": ";".join(f.choices) or None,
         "description": f.description, "customers": counts.get(f.id, 0)}
        for f in field_defs(conn).values()
    ]  # fmt: skip


def parse_assignments(
    conn: Connection, pairs: Iterable[str], today: date, defs: dict | None = None
) -> dict[FieldDef, object]:
    """`--set NAME=VALUE` options as {field: typed value}; an empty VALUE unsets (None)."""
    defs = field_defs(conn) if defs is None else defs
    values = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals:
            raise Invalid(f"invalid --set '{pair}': use NAME=VALUE (an empty VALUE unsets)")
        field = get_field(conn, name, defs)
        values[field] = field.parse(text, today) if text.strip() else None
    return values


def set_values(conn: Connection, customer_id: int, values: dict, today: date) -> list[str]:
    """Write a customer's field values (None removes one); returns the names that changed."""
    if not values:
        return []
    live = {
        row.field_id: row
        for row in conn.execute(
            select(field_values).where(
                field_values.c.customer_id == customer_id, field_values.c.deleted_at.is_(None)
            )
        )
    }
    changed = []
    for field, value in values.items():
        row = live.get(field.id)
        if value is None:
            if row is not None:
                update_row(conn, field_values, row, {"deleted_at": utcnow()})
                changed.append(field.name)
            continue
        if row is None:
            conn.execute(
                field_values.insert().values(
                    new_row(conn, customer_id=customer_id, field_id=field.id,
                            changed_on=today, **{field.column: value})
                )
            )  # fmt: skip
        elif getattr(row, field.column) != value:
            update_row(conn, field_values, row, {field.column: value, "changed_on": today})
        else:
            continue
        changed.append(field.name)
    return changed


def set_many(conn: Connection, today: date, values: list[tuple[int, dict]]) -> dict:
    """Many customers' field values at once (an import): `(customer_id, {field: value})`,
    None removing one. The stored values are read in one query per chunk, the new ones
    inserted together; only the values that differ are written. Returns what changed:
    customer id -> [(field name, old value, new value)]."""
    from clm.db import in_values

    changed: dict[int, list] = {}
    values = [(customer_id, found) for customer_id, found in values if found]
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        ids = [customer_id for customer_id, _ in chunk]
        stored = {
            (row.customer_id, row.field_id): row
            for row in conn.execute(
                select(field_values).where(
                    in_values(conn, field_values.c.customer_id, ids),
                    field_values.c.deleted_at.is_(None),
                )
            )
        }
        inserts = []
        for customer_id, found in chunk:
            for field, value in found.items():
                row = stored.get((customer_id, field.id))
                old = None if row is None else getattr(row, field.column)
                if old != value:
                    shown = (field.name, field.shown(old), field.shown(value))
                    changed.setdefault(customer_id, []).append(shown)
                if row is None and value is not None:
                    inserts.append(
                        new_row(conn, customer_id=customer_id, field_id=field.id,
                                changed_on=today,
                                **dict.fromkeys(VALUE_COLUMNS) | {field.column: value})
                    )  # fmt: skip
                elif row is not None and value is None:
                    update_row(conn, field_values, row, {"deleted_at": utcnow()})
                elif row is not None and getattr(row, field.column) != value:
                    update_row(conn, field_values, row, {field.column: value, "changed_on": today})
        if inserts:
            conn.execute(field_values.insert(), inserts)
    return changed


VALUE_COLUMNS = ("number_value", "text_value", "date_value")


def values_of(conn: Connection, customer_id: int) -> dict[str, object]:
    """A customer's field values by name, in the fields' order (unset ones left out)."""
    return shown_values(field_defs(conn), conn.execute(values_query(customer_id)))


def values_query(customer_id):
    """A customer's stored field values (field_id and each value column)."""
    return select(
        field_values.c.field_id, *(field_values.c[column] for column in VALUE_COLUMNS)
    ).where(field_values.c.customer_id == customer_id, field_values.c.deleted_at.is_(None))


def value_column(field: FieldDef, customer_id):
    """SQL: the field's stored value for the customer `customer_id` (a column or id), or NULL."""
    column = field_values.c[field.column]
    return (
        select(column)
        .where(
            field_values.c.customer_id == customer_id,
            field_values.c.field_id == field.id,
            field_values.c.deleted_at.is_(None),
        )
        .scalar_subquery()
    )
