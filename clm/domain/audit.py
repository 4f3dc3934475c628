"""The audit log: who changed which field of what, when, from what, with which command
(written by the database's triggers, see clm.storage.audit), and undoing one change."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import NamedTuple

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    and_,
    delete,
    insert,
    or_,
    select,
)

from clm.db import AUDITED, LINKS, UNLOGGED
from clm.domain.records import set_member_stamps, update_row
from clm.errors import Conflict, Invalid, NotFound
from clm.storage.tables import audit_log, customers, metadata, users

CREATED = "*"  # the field of a row that says a record was created
# Fields whose value another record mirrors (the stage history, the current stay): an undo
# of one alone would leave the two disagreeing, so it is refused with the command to use.
NOT_UNDONE = {
    ("customers", "stage"): "clm customer move",
    ("customers", "stay"): "clm customer move",
    ("customers", "owner_id"): "clm customer assign",
}


# Fields that are sets of members (tags, influencers, collaborators): a change adds a member
# (`new`) or removes one (`old`).
MEMBER_FIELDS = {(link.record, link.field) for link in LINKS.values()}


class Change(NamedTuple):
    id: int
    at: str
    by: str | None
    role: str | None
    command: str | None
    record: str
    customer: str | None
    field: str
    old: str | None
    new: str | None


def audited_fields() -> list[str]:
    """Every field the log may name: the audited tables' columns, and `*` (created)."""
    names = {
        column.name
        for table in AUDITED
        for column in metadata.tables[table].c
        if column.name not in UNLOGGED
    }
    return [CREATED, *sorted(names | {link.field for link in LINKS.values()})]


def changes(
    conn: Connection,
    customer: str | None = None,
    by: str | None = None,
    since: date | None = None,
    field: str | None = None,
) -> Iterator[Change]:
    """The log, oldest first: of one customer (its own fields and its milestones', tasks'
    and CTAs'), by one user (the clm user or the server role), from a day on, of one field."""
    query = select(
        audit_log.c.id,
        audit_log.c.at,
        audit_log.c.by,
        audit_log.c.role,
        audit_log.c.command,
        audit_log.c.record,
        customers.c.slug.label("customer"),
        audit_log.c.field,
        audit_log.c.old,
        audit_log.c.new,
    ).select_from(audit_log.outerjoin(customers, customers.c.uuid == audit_log.c.customer_uuid))
    if customer is not None:
        row = conn.execute(select(customers.c.uuid).where(customers.c.slug == customer)).first()
        if row is None:
            raise NotFound(f"no customer '{customer}'")
        query = query.where(audit_log.c.customer_uuid == row.uuid)
    if by is not None:
        query = query.where(or_(audit_log.c.by == by, audit_log.c.role == by))
    if since is not None:
        query = query.where(audit_log.c.at >= since.isoformat())
    if field is not None:
        if field not in audited_fields():
            raise Invalid(
                f"unknown field '{field}': use one of {', '.join(audited_fields())} "
                "(* is a record created)"
            )
        query = query.where(audit_log.c.field == field)
    for row in conn.execute(query.order_by(audit_log.c.id)):
        yield Change(*row)


def undo(conn: Connection, change_id: int) -> Change:
    """Put the field of change `change_id` back to its old value, stamped as a new edit (so a
    merge carries it, and the log records the undo itself). Refused when the field changed
    again since, or the change created a record."""
    found = conn.execute(select(audit_log).where(audit_log.c.id == change_id)).first()
    if found is None:
        raise NotFound(f"no change {change_id} in the log (clm log lists them)")
    if found.field == CREATED:
        raise Invalid(
            f"change {change_id} created a {found.record[:-1]}: remove it with its rm command"
        )
    link = next(
        (
            table
            for table, link in LINKS.items()
            if (link.record, link.field) == (found.record, found.field)
        ),
        None,
    )
    if link is not None:
        return _undo_member(conn, found, link)
    command = NOT_UNDONE.get((found.record, found.field))
    if command:
        raise Invalid(
            f"change {change_id} is of {found.record[:-1]} {found.field}, which the history "
            f"follows: use {command}"
        )
    later = conn.scalar(
        select(audit_log.c.id)
        .where(
            and_(
                audit_log.c.row_uuid == found.row_uuid,
                audit_log.c.field == found.field,
                audit_log.c.id > change_id,
            )
        )
        .order_by(audit_log.c.id)
        .limit(1)
    )
    if later is not None:
        raise Conflict(
            f"{found.field} changed again since change {change_id} (change {later}): "
            f"undo that first, or set it by hand"
        )
    table = metadata.tables[found.record]
    row = conn.execute(select(table).where(table.c.uuid == found.row_uuid)).first()
    column = table.c[found.field]
    if row is None or _as_text(row._mapping[found.field], column) != _as_text(
        _value(found.new, column), column
    ):
        raise Conflict(f"{found.field} is no longer what change {change_id} made it")
    update_row(conn, table, row, {found.field: _value(found.old, column)})
    return Change(
        found.id, found.at, found.by, found.role, found.command, found.record, None,
        found.field, found.old, found.new,
    )  # fmt: skip


def _undo_member(conn: Connection, found, name: str) -> Change:
    """Undo a member added to a set (remove it) or removed from one (add it back), when no
    later change added or removed the same member."""
    link, table = LINKS[name], metadata.tables[name]
    member = found.new if found.old is None else found.old
    later = conn.scalar(
        select(audit_log.c.id)
        .where(
            audit_log.c.row_uuid == found.row_uuid,
            audit_log.c.field == found.field,
            audit_log.c.id > found.id,
            or_(audit_log.c.old == member, audit_log.c.new == member),
        )
        .order_by(audit_log.c.id)
        .limit(1)
    )
    if later is not None:
        raise Conflict(
            f"{member} was added or removed again since change {found.id} (change {later}): "
            "undo that first"
        )
    record = metadata.tables[link.record]
    row = conn.execute(select(record).where(record.c.uuid == found.row_uuid)).first()
    if row is None:
        raise Conflict(f"the {link.record[:-1]} of change {found.id} is gone")
    key = {link.key: row.id}
    stamped = member  # a set of users merges by the users' uuids (see set_member_stamps)
    if name == "customer_tags":
        key["tag"] = member
    else:
        user = conn.execute(select(users.c.id, users.c.uuid).where(users.c.handle == member))
        user = user.first()
        if user is None:
            raise Conflict(f"user {member} of change {found.id} is gone")
        key["user_id"], stamped = user.id, user.uuid
    there = conn.scalar(select(table.c[link.key]).where(*(table.c[k] == v for k, v in key.items())))
    if (there is not None) != (found.old is None):
        raise Conflict(f"{link.field} no longer what change {found.id} made them")
    if found.old is None:
        conn.execute(delete(table).where(*(table.c[k] == v for k, v in key.items())))
    else:
        conn.execute(insert(table).values(key))
    adding = found.old is not None
    update_row(
        conn, record, row, {}, [link.field],
        set_member_stamps(link.field, [stamped] if adding else [], [] if adding else [stamped]),
    )  # fmt: skip
    return Change(
        found.id, found.at, found.by, found.role, found.command, found.record, None,
        found.field, found.old, found.new,
    )  # fmt: skip


def _value(text: str | None, column):
    """A logged value (text as the database rendered it) as the column's type."""
    if text is None:
        return None
    kind = getattr(column.type, "impl", column.type)  # (UTCDateTime decorates DateTime)
    if isinstance(kind, Boolean):
        return text.lower() in ("1", "true")
    if isinstance(kind, Integer):
        return int(float(text))
    if isinstance(kind, Float):
        return float(text)
    if isinstance(kind, DateTime):
        moment = datetime.fromisoformat(text)  # SQLite's naive text is UTC
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if isinstance(kind, Date):
        return date.fromisoformat(text[:10])
    return text


def _as_text(value, column) -> str | None:
    """A value in one spelling whichever dialect rendered it, to compare two."""
    if value is None:
        return None
    if isinstance(column.type, Boolean):
        return str(bool(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
