"""Export: the stored columns of a table, one streamed query written row by row in id order.

Removed (tombstoned) rows are left out, and so is whatever hangs off a removed customer.
References are exported as stored: a user's handle, a customer's slug, a milestone's id.
"""

import csv
import io
import json
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import islice
from typing import TextIO

from sqlalchemy import Connection, String, Table, func, literal, null, select, type_coerce

from clm.dates import parse_duration
from clm.db import stream_rows
from clm.domain.transfer import COLUMNS, LIST_COLUMNS
from clm.models import (
    ctas,
    customer_influencers,
    customer_tags,
    customers,
    milestone_collaborators,
    milestone_reminders,
    milestones,
    notes,
    tasks,
    transitions,
    users,
)
from clm.output import neutralise_formula, number, visible

STREAM_ROWS = 5000  # rows fetched at a time (a server-side cursor on PostgreSQL)


def _listed(conn: Connection, name: str, link: Table, column: str, owner):
    """The `;`-joined values of a link table's `column` for each row (`owner`: the link to
    the row; a `user_id` is shown as the handle), as a correlated subquery; just NULL while
    the link table has no rows at all."""
    if conn.scalar(select(literal(1)).select_from(link).limit(1)) is None:
        return null().label(name)
    source, values = link, link.c[column]
    if column == "user_id":
        source, values = link.join(users, users.c.id == link.c.user_id), users.c.handle
    subquery = select(func.aggregate_strings(values, ";")).select_from(source).where(owner)
    return subquery.scalar_subquery().label(name)


def _day(column):
    """A date column as the database returns it: ISO text from SQLite (SQLAlchemy would parse
    each one into a date, and the writer format it back), a date from PostgreSQL's driver."""
    return type_coerce(column, String).label(column.name)


def _live_customer():
    return customers.c.deleted_at.is_(None)


def _users(conn):
    return select(*(users.c[key] for key in COLUMNS["users"])).where(users.c.deleted_at.is_(None))


def _customers(conn):
    owner = users.alias("owner")
    tags = _listed(
        conn, "tags", customer_tags, "tag", customer_tags.c.customer_id == customers.c.id
    )
    influencers = _listed(
        conn,
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
            customers.c.health,
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
    remind = _listed(
        conn,
        "remind",
        milestone_reminders,
        "offset",
        milestone_reminders.c.milestone_id == milestones.c.id,
    )
    collaborators = _listed(
        conn,
        "collaborators",
        milestone_collaborators,
        "user_id",
        milestone_collaborators.c.milestone_id == milestones.c.id,
    )
    return (
        select(
            milestones.c.id,
            customers.c.slug.label("customer"),
            milestones.c.title,
            _day(milestones.c.due),
            milestones.c.status,
            remind,
            milestones.c.every,
            collaborators,
            milestones.c.pinned,
            milestones.c.blocked_reason,
            _day(milestones.c.done_on),
            milestones.c.uuid,
        )
        .select_from(milestones.join(customers, customers.c.id == milestones.c.customer_id))
        .where(milestones.c.deleted_at.is_(None), _live_customer())
    )


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
        .select_from(
            tasks.join(customers, customers.c.id == tasks.c.customer_id).outerjoin(
                users, users.c.id == tasks.c.assignee_id
            )
        )
        .where(tasks.c.deleted_at.is_(None), _live_customer())
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
        .select_from(
            ctas.join(customers, customers.c.id == ctas.c.customer_id).outerjoin(
                users, users.c.id == ctas.c.owner_id
            )
        )
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
        .select_from(transitions.join(customers, customers.c.id == transitions.c.customer_id))
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
        .select_from(notes.join(customers, customers.c.id == notes.c.customer_id))
        .where(_live_customer())
    )


QUERIES = {
    "users": (_users, users),
    "customers": (_customers, customers),
    "milestones": (_milestones, milestones),
    "tasks": (_tasks, tasks),
    "ctas": (_ctas, ctas),
    "transitions": (_transitions, transitions),
    "notes": (_notes, notes),
}


def export_table(conn: Connection, table: str, stream: TextIO, fmt: str) -> int:
    """Write `table` to `stream` in `fmt` (csv, tsv, json or jsonl), streamed in id order; the
    number of rows written."""
    build, stored = QUERIES[table]
    rows = stream_rows(conn, build(conn).order_by(stored.c.id), STREAM_ROWS)
    if fmt in ("csv", "tsv"):
        return _write_delimited(stream, COLUMNS[table], rows, "\t" if fmt == "tsv" else ",")
    return _write_json(stream, COLUMNS[table], rows, array=fmt == "json")


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
    }
)
DATES = frozenset({"stage_entered", "start", "renewal", "due", "done_on", "snoozed_until", "on"})
_RISKY = ("'", "=", "+", "-", "@", "\t", "\r")
_DAYS = {"d": 1, "bd": 1.4, "w": 7, "m": 30.44, "y": 365.25}


def _offset_order(offset: str) -> tuple:
    duration = parse_duration(offset)
    return (duration.count * _DAYS[duration.unit], offset)


@lru_cache(maxsize=4096)
def _items(joined: str | None, column: str) -> tuple[str, ...]:
    """A `;`-joined list from the database, in order: reminder offsets nearest the due date
    first (as `milestone list` shows them), the others sorted."""
    if not joined:
        return ()
    parts = joined.split(";")
    return tuple(sorted(parts, key=_offset_order) if column == "remind" else sorted(parts))


@lru_cache(maxsize=4096)
def _cell_items(joined: str, column: str) -> str:
    """A list as one csv cell (tags are text people type: guarded)."""
    cell = ";".join(_items(joined, column))
    return neutralise_formula(cell) if column == "tags" else cell


def _cell(column: str, i: int, as_json: bool) -> str:
    """The expression of one cell of row `r` as the writer takes it."""
    value = f"r[{i}]"
    if column in LIST_COLUMNS:
        if as_json:
            return f"list(items({value}, {column!r}))"
        return f"((x := {value}) and cell_items(x, {column!r}))"
    if column in ("default_owner", "pinned"):  # the driver may give 0/1
        if as_json:
            return f"(None if (x := {value}) is None else bool(x))"
        return f'("true" if {value} else "false")'
    if column == "arr":
        return f"(None if (x := {value}) is None else number(x))"
    if column in TEXT and not as_json:
        return f"(guarded(x) if (x := {value}) and x.startswith(RISKY) else x)"
    if column in DATES and as_json:
        return f"(None if (x := {value}) is None else str(x))"
    return value


def _converter(columns: tuple[str, ...], as_json: bool) -> Callable[[tuple], tuple]:
    """One function turning a row into the cells the writer takes, `(r[0], f(r[1]), …)`,
    compiled once per export (as dataclasses build their methods): a loop over the columns
    of each of a million rows would cost more than the query."""
    cells = ", ".join(_cell(column, i, as_json) for i, column in enumerate(columns))
    namespace = {
        "items": _items,
        "cell_items": _cell_items,
        "number": number,
        "guarded": neutralise_formula,
        "RISKY": _RISKY,
    }
    exec(f"def row(r):\n    return ({cells},)\n", namespace)  # our own text, never input
    return namespace["row"]


def _converted(rows, columns: tuple[str, ...], as_json: bool) -> Iterator[tuple]:
    """Each row as the cells the writer takes, fetched a batch at a time."""
    convert = _converter(columns, as_json)
    for batch in rows:
        yield from map(convert, batch)


def _write_delimited(stream: TextIO, columns: tuple[str, ...], rows, delimiter: str) -> int:
    """csv or tsv, a batch of rows at a time. The csv module quotes a field with a newline but
    not one with a lone carriage return (when lines end in a newline): such a row is written
    with every field quoted, so it reads back as it was."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    quoted = csv.writer(buffer, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    stream.write(buffer.getvalue())
    buffer.seek(0)
    buffer.truncate()
    cells = _converted(rows, columns, as_json=False)
    if stream.isatty():  # on a terminal, control characters are shown, never sent
        cells = ([visible(c) if isinstance(c, str) else c for c in row] for row in cells)
    count = 0
    for batch in _batches(cells):
        writer.writerows(batch)
        if "\r" in buffer.getvalue():
            buffer.seek(0)
            buffer.truncate()
            for row in batch:
                returns = any(isinstance(cell, str) and "\r" in cell for cell in row)
                (quoted if returns else writer).writerow(row)
        stream.write(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
        count += len(batch)
    return count


def _batches(cells: Iterator[list]) -> Iterator[list[list]]:
    while batch := list(islice(cells, STREAM_ROWS)):
        yield batch


def _write_json(stream: TextIO, columns: tuple[str, ...], rows, array: bool) -> int:
    """One object per line (jsonl), or one array written an object at a time (json)."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    separator = ",\n " if array else "\n"
    count = 0
    if array:
        stream.write("[")
    for cells in _converted(rows, columns, as_json=True):
        stream.write((separator if count else "") + encode(dict(zip(columns, cells, strict=True))))
        count += 1
    stream.write("]\n" if array else ("\n" if count else ""))
    return count
