"""Export: the stored columns of a table, one streamed query written row by row in id order.

Removed (tombstoned) rows are left out, and so is whatever hangs off a removed customer.
References are exported as stored: a user's handle, a customer's slug, a milestone's id.
"""

import json
from collections.abc import Callable, Iterator
from typing import TextIO

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Float,
    Integer,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import Label

from clm.db import binary, iso_date, joined_cells, stream_rows
from clm.domain.engine.field_defs import field_defs
from clm.domain.health_now import health_now
from clm.domain.transfer import COLUMNS, LIST_COLUMNS, READ_COLUMNS
from clm.domain.transfer.delimited import list_items, write_delimited, write_lines
from clm.plain import (
    number,
    row_converter,
)
from clm.storage.tables import (
    arr_log,
    audit_log,
    contacts,
    ctas,
    customer_influencers,
    customer_tags,
    customers,
    metric_points,
    metrics,
    milestone_collaborators,
    milestone_reminders,
    milestones,
    notes,
    reminder_log,
    tasks,
    transitions,
    users,
)

STREAM_ROWS = 5000  # rows fetched at a time (a server-side cursor on PostgreSQL)


def _listed(name: str, link: Table, column: str, owner, guarded: bool = False):
    """The `;`-joined values of a link table's `column` for each row (`owner`: the link to
    the row; a `user_id` is shown as the handle, of live users only: a removed user is no
    longer a collaborator or an influencer), as a correlated subquery run only while the link
    table has any row. `guarded`: the list as csv writes it, guarded against formulas as a
    whole inside the subquery (outside, each look the guard takes would run it again)."""
    source, values = link, link.c[column]
    if column == "user_id":
        source, values = link.join(users, users.c.id == link.c.user_id), users.c.handle
        owner = and_(owner, users.c.deleted_at.is_(None))
    joined = func.aggregate_strings(values, ";")
    cell = _guarded(joined) if guarded else joined
    subquery = select(cell).select_from(source).where(owner)
    return _if_any(link, subquery.scalar_subquery()).label(name)


def _tags(guarded: bool = False):
    """SQL: a customer's tags, `;`-joined (`guarded`: as csv writes them)."""
    owner = customer_tags.c.customer_id == customers.c.id
    return _listed("tags", customer_tags, "tag", owner, guarded)


def _if_any(table: Table, value):
    """SQL: `value` (a subquery on `table` for each row) while `table` has a row, else NULL
    without a look: the database asks once a statement, so one statement serves any book
    (and is compiled ahead, clm.storage.read_sql) at no cost a row for an empty table."""
    return case((select(literal(1)).select_from(table).exists(), value), else_=null())


def _day(column):
    """A date column as the database returns it: ISO text from SQLite (SQLAlchemy would parse
    each one into a date, and the writer format it back), a date from PostgreSQL's driver."""
    return type_coerce(column, String).label(column.name)


def _live_customer():
    return customers.c.deleted_at.is_(None)


def _users(conn):
    return select(*(users.c[key] for key in COLUMNS["users"])).where(users.c.deleted_at.is_(None))


def _all_users(conn):
    """Removed users too, each with the day it was removed (`removed`; empty if live)."""
    removed = func.substr(cast(users.c.deleted_at, String), 1, 10).label("removed")
    return select(*(users.c[key] for key in COLUMNS["users"]), removed)


def _with_customer(table, person: str | None = None):
    """`table` joined to its customer and, when named, to the user its `person` column holds."""
    source = table.join(customers, customers.c.id == table.c.customer_id)
    if person is None:
        return source
    return source.outerjoin(users, users.c.id == table.c[person])


def _customers(conn):
    owner = users.alias("owner")
    tags = _tags()
    influencers = _listed(
        "influencers",
        customer_influencers,
        "user_id",
        customer_influencers.c.customer_id == customers.c.id,
    )
    return (
        select(
            customers.c.slug,
            customers.c.name,
            customers.c.stage,
            _day(customers.c.stage_entered),
            owner.c.handle.label("owner"),
            _day(customers.c.start),
            _day(customers.c.renewal),
            customers.c.term,
            customers.c.arr,
            health_now().label("health"),
            customers.c.lead_score,
            customers.c.source,
            tags,
            influencers,
            customers.c.uuid,
        )
        .select_from(customers.outerjoin(owner, owner.c.id == customers.c.owner_id))
        .where(_live_customer())
    )


def _milestones(conn):
    # Each milestone's reminder offsets joined by the database (a subquery on the index of
    # its id): one row per milestone, none per reminder to gather in Python.
    collaborators = _listed(
        "collaborators",
        milestone_collaborators,
        "user_id",
        milestone_collaborators.c.milestone_id == milestones.c.id,
    )
    source = _with_customer(milestones)
    remind = _if_any(milestone_reminders, _reminders_joined())
    return (
        select(
            milestones.c.id,
            customers.c.slug.label("customer"),
            milestones.c.title,
            _day(milestones.c.due),
            milestones.c.status,
            remind.label("remind"),
            milestones.c.every,
            collaborators,
            milestones.c.pinned,
            milestones.c.blocked_reason,
            _day(milestones.c.done_on),
            milestones.c.uuid,
            _reminded(conn),
        )
        .select_from(source)
        .where(milestones.c.deleted_at.is_(None), _live_customer())
    )


def _reminders_joined():
    """SQL: a milestone's reminder offsets, `;`-joined (put in order as they are written):
    its own few rows, read by the index on the milestone's id."""
    joined = func.aggregate_strings(milestone_reminders.c.offset, ";")
    return (
        select(joined)
        .where(milestone_reminders.c.milestone_id == milestones.c.id)
        .scalar_subquery()
    )


def _reminded(conn):
    """The reminders a milestone fired, `OFFSET@DAY` each (the reminder log, which travels
    with the milestone so an imported book fires nothing twice); NULL while nothing fired.
    A key logged for another day is already `OFFSET@DAY`."""
    log = reminder_log
    item = case(
        (log.c.offset.contains("@"), log.c.offset),
        else_=log.c.offset + "@" + cast(log.c.remind_on, String),
    )
    fired = (
        select(func.aggregate_strings(item, ";"))
        .where(log.c.milestone_uuid == milestones.c.uuid)
        .scalar_subquery()
    )
    return _if_any(log, fired).label("reminded")


def _tasks(conn):
    return (
        select(
            tasks.c.id,
            customers.c.slug.label("customer"),
            tasks.c.title,
            _day(tasks.c.due),
            tasks.c.status,
            users.c.handle.label("assignee"),
            tasks.c.milestone_id.label("milestone"),
            tasks.c.cta_id.label("cta"),
            tasks.c.source,
            tasks.c.uuid,
        )
        .select_from(_with_customer(tasks, person="assignee_id"))
        .where(tasks.c.deleted_at.is_(None), _live_customer())
    )


def _contacts(conn):
    return (
        select(
            contacts.c.id,
            customers.c.slug.label("customer"),
            contacts.c.name,
            contacts.c.role,
            contacts.c.email,
            contacts.c.phone,
            contacts.c.is_primary.label("primary"),
            _day(contacts.c.left_on),
            contacts.c.uuid,
        )
        .select_from(_with_customer(contacts))
        .where(contacts.c.deleted_at.is_(None), _live_customer())
    )


def _ctas(conn):
    return (
        select(
            ctas.c.id,
            customers.c.slug.label("customer"),
            ctas.c.type,
            ctas.c.reason,
            ctas.c.priority,
            ctas.c.status,
            users.c.handle.label("owner"),
            _day(ctas.c.due),
            _day(ctas.c.snoozed_until),
            ctas.c.outcome,
            ctas.c.source,
            ctas.c.uuid,
        )
        .select_from(_with_customer(ctas, person="owner_id"))
        .where(ctas.c.deleted_at.is_(None), _live_customer())
    )


def _transitions(conn):
    return (
        select(
            customers.c.slug.label("customer"),
            transitions.c.from_stage.label("from"),
            transitions.c.to_stage.label("to"),
            _day(transitions.c.on),
            transitions.c.by,
            transitions.c.rule,
            transitions.c.reason,
            transitions.c.uuid,
        )
        .select_from(_with_customer(transitions))
        .where(_live_customer())
    )


def _arr(conn):
    return (
        select(
            customers.c.slug.label("customer"),
            _day(arr_log.c.on),
            arr_log.c.kind,
            arr_log.c.arr,
            arr_log.c.change,
            arr_log.c.uuid,
        )
        .select_from(_with_customer(arr_log))
        .where(_live_customer())
    )


def _notes(conn):
    return (
        select(
            customers.c.slug.label("customer"),
            _day(notes.c.on),
            notes.c.kind,
            notes.c.text,
            notes.c.by,
            notes.c.uuid,
        )
        .select_from(_with_customer(notes))
        .where(_live_customer())
    )


def _metric_points(conn):
    """Every point of a live metric and customer, in the key's order (metric, customer, day):
    SQLite reads its clustered key, a server its primary key index, and nothing is sorted."""
    source = metric_points.join(customers, customers.c.id == metric_points.c.customer_id).join(
        metrics, metrics.c.id == metric_points.c.metric_id
    )
    return (
        select(
            customers.c.slug.label("customer"),
            type_coerce(metric_points.c.day, String).label("date"),
            metrics.c.name.label("metric"),
            metric_points.c.value,
        )
        .select_from(source)
        .where(_live_customer(), metrics.c.deleted_at.is_(None))
    )


def _log(conn):
    logged = audit_log.outerjoin(customers, customers.c.uuid == audit_log.c.customer_uuid)
    return select(
        audit_log.c.id, audit_log.c.at, audit_log.c.by, audit_log.c.role, audit_log.c.command,
        audit_log.c.record, customers.c.slug.label("customer"), audit_log.c.field,
        audit_log.c.old, audit_log.c.new, audit_log.c.uuid,
    ).select_from(logged)  # fmt: skip


QUERIES = {
    "users": (_users, users),
    "customers": (_customers, customers),
    "milestones": (_milestones, milestones),
    "tasks": (_tasks, tasks),
    "ctas": (_ctas, ctas),
    "contacts": (_contacts, contacts),
    "transitions": (_transitions, transitions),
    "notes": (_notes, notes),
    "arr": (_arr, arr_log),
    "log": (_log, audit_log),
    "metrics": (_metric_points, metric_points),
}


def export_statements() -> dict:
    """The csv export's statements compiled ahead (clm.domain.transfer.delimited runs them on
    a file): each table's lines, and its records of an id range (`:low` to `:high`) for a
    batch the csv writer must write."""
    from sqlalchemy import bindparam

    from clm.domain.transfer.delimited import COMPILED

    found = {}
    for table in COMPILED:
        build, stored = QUERIES[table]
        query = build(None).order_by(stored.c.id)  # no connection: one statement fits any book
        low, high = (bindparam(name, type_=Integer, required=False) for name in ("low", "high"))
        found[f"export.{table}.block"] = _block(query, stored.c.id)
        found[f"export.{table}.records"] = _as_text(query).where(stored.c.id.between(low, high))
    return found


def _block(query, key):
    """The last key of the next BLOCK rows after the key `:after` (NULL past the last row),
    and the lines of those rows (a removed one has none) joined into one text, with their
    count and their first and last keys. The driver makes one string of a few thousand
    lines (SQLite's group_concat takes the ordered subquery's rows in order), not a tuple
    and a string of each. The block's last key is looked up first: bounded on both sides,
    the rows are read by their key's range (open above, SQLite would build a Bloom filter of
    every customer for each block)."""
    from sqlalchemy import bindparam

    from clm.domain.transfer.delimited import BLOCK

    after = bindparam("after", type_=Integer, required=False)
    keys = select(key).where(key > after).order_by(key).limit(BLOCK).subquery()
    last = select(func.max(keys.c[0])).scalar_subquery()
    lines = _lines(query.where(key > after, key <= last), key, ",").subquery()
    found, line = lines.c
    text = func.aggregate_strings(line, "\n")
    return select(last.label("last"), func.count(), func.min(found), func.max(found), text)


# A table without an id column: streamed in the order of its primary key.
KEYED_BY = {"metrics": tuple(metric_points.primary_key.columns)}


def export_table(
    conn: Connection, table: str, stream: TextIO, fmt: str, removed: bool = False
) -> int:
    """Write `table` to `stream` in `fmt` (csv, tsv, json or jsonl), streamed in id order; the
    number of rows written. `removed` (users only): removed users too, and the day each was
    removed."""
    build, stored = QUERIES[table]
    columns = COLUMNS[table]
    if removed:
        build, columns = _all_users, READ_COLUMNS[table]
    order = KEYED_BY.get(table) or (stored.c.id,)
    query = build(conn).order_by(*order)
    custom = {}
    if table == "customers":  # then a column per custom field, by its name
        custom = field_defs(conn)
        cells = [_custom_cell(f, fmt in ("csv", "tsv")) for f in custom.values()]
        query, columns = query.add_columns(*cells), (*columns, *custom)
    if fmt in ("csv", "tsv"):
        delimiter = "\t" if fmt == "tsv" else ","
        # On a terminal control characters are shown, never sent; a table without ids goes
        # through the csv writer (write_lines reads a batch again by its id range).
        if stream.isatty() or table in KEYED_BY:
            cells = _records(conn, _as_text(query), table)
            return write_delimited(stream, columns, cells, delimiter)
        lines = stream_rows(conn, _lines(query, stored.c.id, delimiter), STREAM_ROWS)
        records = _as_text(query)

        def again(low, high):
            return _records(conn, records.where(stored.c.id.between(low, high)), table)

        return write_lines(lines, again, columns, stream, delimiter)
    converters = {name: _JSON_VALUE[f.kind] for name, f in custom.items()}
    rows = _records(conn, query, table)
    return _write_json(stream, columns, rows, array=fmt == "json", custom=converters)


# A custom field's stored value as json takes it (a date is ISO text).
_JSON_VALUE = {"number": number, "bool": bool, "date": str, "text": None, "choice": None}


def _custom_cell(field, as_text: bool):
    """SQL: a customer's value of a custom field, as csv and tsv write it (`as_text`: a whole
    number without `.0`, a bool as true or false, text guarded against formulas) or as
    stored."""
    from clm.domain.custom_fields import value_column

    value = value_column(field, customers.c.id)
    if not as_text:
        return value.label(field.name)
    if field.kind == "number":
        whole = (func.abs(value) < 1e15) & (value == func.round(value))
        text = case((whole, cast(cast(value, BigInteger), String)), else_=cast(value, String))
    elif field.kind == "bool":
        text = case((value.is_(None), null()), (value == 1, "true"), else_="false")
    elif field.kind == "date":
        text = iso_date(value)
    else:
        text = _guarded(value)
    return type_coerce(text, String).label(field.name)


def _lines(query, key, delimiter: str):
    """The query as (key, line): each row's cells joined into its csv or tsv line by the
    database, NULLs and whole numbers left as they are (delimited.write_lines checks each
    batch)."""
    bare = _as_text(query, bare=True).selected_columns
    cells = [column.element if isinstance(column, Label) else column for column in bare]
    return query.with_only_columns(key, joined_cells(delimiter, *cells))


def _records(conn: Connection, query, table: str) -> Iterator[list[tuple]]:
    """The query's rows a batch at a time, one per record."""
    return stream_rows(conn, query, STREAM_ROWS)


# How each kind of column is written. Text people type may start like a formula: csv and tsv
# guard it. Keys (slugs, handles, stage keys, uuids, statuses, durations), numbers and dates
# never do. The csv writer writes None as an empty cell and a date as its ISO text.
TEXT = frozenset(
    {
        "name",
        "email",
        "title",
        "blocked_reason",
        "source",
        "reason",
        "outcome",
        "by",
        "text",
        "kind",
        "phone",
    }
)
DATES = frozenset(
    {"stage_entered", "start", "renewal", "due", "done_on", "snoozed_until", "on", "left_on"}
    | {"date"}
)
_RISKY = ("'", "=", "+", "-", "@", "\t", "\r")


def _as_text(query, bare: bool = False):
    """The query with each cell as the text csv and tsv write (an empty one for NULL), made by
    the database: a million rows then cost the driver's strings and no Python per cell. Only
    a float (arr) is left to Python, which writes it as it always has. `bare`: NULLs and
    whole numbers left as they are, for `joined_cells`, which writes them so, and a float
    written by the database only when it holds a whole number."""
    cells = (_text_cell(column, bare) for column in query.selected_columns)
    return query.with_only_columns(*cells)


def _text_cell(column, bare: bool):
    name = column.name
    value = column.element if isinstance(column, Label) else column
    if isinstance(value.type, Float):
        return (_whole_number(value) if bare else value).label(name)
    if isinstance(value.type, Boolean):
        return case((value, "true"), else_="false").label(name)
    if name in LIST_COLUMNS:
        text = _tags(guarded=True).element if name == "tags" else value
    elif name in DATES:
        text = iso_date(value)
    elif name in TEXT:
        text = _guarded(value)
    elif isinstance(value.type, Integer) and not bare:
        text = cast(value, String)
    else:
        text = value
    return (text if bare else func.coalesce(text, "")).label(name)


def _whole_number(number):
    """SQL: a float that holds a whole number (short of 15 digits) as its digits, as Python
    writes it; any other as a lone quote, which sends its batch to the csv writer."""
    whole = (func.abs(number) < 1e15) & (number == func.round(number))
    text = cast(cast(number, BigInteger), String)
    return case((number.is_(None), null()), (whole, text), else_=literal('"', String))


def _guarded(text):
    """SQL for `neutralise_formula`: a leading ' on text that, past its leading 's, starts
    like a formula. Those characters all sort before 'A': most text is passed by one
    comparison."""
    first = func.substr(text, 1, 1)
    risky = (
        (binary(text) < literal("A", String))
        & first.in_(_RISKY)
        & func.substr(func.ltrim(text, "'"), 1, 1).in_(_RISKY[1:])
    )
    return case((risky, literal("'", String) + text), else_=text)


def _json_cell(column: str) -> Callable | None:
    """How a value (never None) of a column becomes what json takes; None when it is already."""
    if column in LIST_COLUMNS:
        return lambda joined: list(list_items(joined, column))
    if column in ("default_owner", "pinned", "primary"):  # the driver may give 0/1
        return bool
    if column in ("arr", "change", "value"):
        return number
    if column in DATES:
        return str
    return None


def _json_cells(columns: tuple[str, ...], custom: dict | None = None) -> Callable[[tuple], list]:
    custom = custom or {}
    converters = {
        i: custom[column] if column in custom else _json_cell(column)
        for i, column in enumerate(columns)
    }
    lists = {i: () for i, column in enumerate(columns) if column in LIST_COLUMNS}
    return row_converter({i: f for i, f in converters.items() if f is not None}, lists)


def _write_json(
    stream: TextIO, columns: tuple[str, ...], rows, array: bool, custom: dict | None = None
) -> int:
    """One object per line (jsonl), or one array written an object at a time (json);
    `custom`: how each custom field's values become json."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    separator = ",\n " if array else "\n"
    convert = _json_cells(columns, custom or {})
    count = 0
    if array:
        stream.write("[")
    for batch in rows:
        for cells in map(convert, batch):
            obj = encode(dict(zip(columns, cells, strict=True)))
            stream.write((separator if count else "") + obj)
            count += 1
    stream.write("]\n" if array else ("\n" if count else ""))
    return count
