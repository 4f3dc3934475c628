"""New rows and stamped edits of mergeable tables: uuid, times and per-field change stamps."""

import json
import os
import re
import time
from collections.abc import Iterable, Iterator
from datetime import date

from sqlalchemy import Connection, Table, select, update

from clm.db import clock, utcnow
from clm.errors import Invalid, NotFound, Refused, not_found
from clm.storage.tables import customers

HANDLE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}", re.ASCII)
# The stamp of fields never edited since the row was created.
CREATED = "*"
_CREATED_KEY = json.dumps(CREATED)
_json_string = json.encoder.encode_basestring_ascii  # what json.dumps writes for a str


def member_stamp(field: str, member: str, added: bool) -> str:
    """The stamp key of one member of a set field added (`tags+vip`) or removed (`tags-vip`):
    a merge keeps a member when its latest addition is later than its latest removal."""
    return f"{field}{'+' if added else '-'}{member}"


class UuidSource:
    """New uuids, as the database stores them, in increasing order: version 7 (RFC 9562),
    the time in milliseconds then a counter from a random start (its method 2). A table's
    unique index on `uuid` takes them as appends, where random ones (uuid4) cost a search
    and a page split each: a third of the time of inserting a million rows, and on a large
    book a different index page for each new row of a tick."""

    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """From now and a new random start (a forked process must not repeat its parent's)."""
        millis = time.time_ns() // 1_000_000
        start = int.from_bytes(os.urandom(10)) >> 7  # 73 random bits: room to count up
        self.next = (millis << 80) | (7 << 76) | ((start >> 62) << 64) | (start & _RAND_B)

    def block(self, size: int) -> tuple[str, int]:
        """`size` uuids in a row, for SQL to make (clm.db.uuid_in_block): the text of the
        first up to its counter, and its counter (rand_b); the i-th adds i to the counter."""
        value = self.next
        if (value & _RAND_B) + size > _RAND_B:  # carried into the 12 bits above, as one by one
            value = (value & ~_RAND_B) + (1 << 64)
        self.next = value + size
        h = f"{value | _VARIANT:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-", value & _RAND_B

    def __call__(self) -> str:
        value = self.next
        rand_b = (value & _RAND_B) + 1
        # The 12 bits above the variant carry the counter's overflow out of rand_b.
        self.next = (value & ~_RAND_B) + (1 << 64) if rand_b > _RAND_B else value + 1
        h = f"{value | _VARIANT:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_RAND_B = (1 << 62) - 1
_VARIANT = 2 << 62

# A fresh uuid for a new row: increasing within the process, which a command is (clm's
# commands are short-lived, so its timestamp is the command's start).
new_uuid = UuidSource()
os.register_at_fork(after_in_child=new_uuid.restart)


def new_row(conn: Connection, **fields) -> dict:
    """Values for inserting a mergeable row: a fresh uuid, times and the creation stamp."""
    now = utcnow()
    # json.dumps({CREATED: stamp}), without the encoder's setup for each of a tick's rows.
    stamps = f"{{{_CREATED_KEY}: {_json_string(clock(conn).stamp())}}}"
    return {
        "uuid": new_uuid(),
        "created_at": now,
        "updated_at": now,
        "stamps": stamps,
    } | fields


def update_row(conn: Connection, table: Table, row, changes: dict, touched=(), members=()) -> None:
    """Write `changes` to one row, stamping each changed field for merging copies later;
    `touched` names fields stored elsewhere (link tables) that changed too, and `members` the
    members of such a set added or removed (`member_stamp`), so copies merge it as a set."""
    if not changes and not touched:
        return
    stamps = json.loads(row.stamps)
    stamp = clock(conn).stamp()
    stamps.update(dict.fromkeys([*changes, *touched, *members], stamp))
    written = conn.execute(
        update(table)
        .where(table.c.id == row.id)
        .values(**changes, stamps=json.dumps(stamps, sort_keys=True), updated_at=utcnow())
    )
    if written.rowcount == 0:
        # Read, but not written: on a server, a row the role may see and not change (a
        # customer they collaborate on, another user); said, rather than reported as done.
        if table.name == "users":
            raise Refused(
                f"your role may read user {row.handle} but not change them: a member or "
                "manager may change only their own name, email and notifications"
            )
        raise Refused(
            f"your role may read {table.name[:-1]} {row.id} but not change it (a milestone "
            "collaborator may only mark it done or blocked and add tasks under it)"
        )


def check_handle(value: str, what: str) -> str:
    """A user handle or team name: lowercase letters, digits, `.`, `_` and `-`."""
    handle = value.strip().lower()
    if not HANDLE.fullmatch(handle):
        raise Invalid(
            f"invalid {what} '{value}': use lowercase letters, digits, '.', '_' and '-' "
            "(up to 64, starting with a letter or digit)"
        )
    return handle


def find_by_id(conn: Connection, table: Table, row_id: int, kind: str):
    """The live row with this id, or NotFound; a row with a customer must be of a live one."""
    row = conn.execute(
        select(table).where(table.c.id == row_id, table.c.deleted_at.is_(None))
    ).first()
    if row is None:
        raise NotFound(f"no {kind} {row_id}")
    if "customer_id" in table.c and conn.scalar(
        select(customers.c.deleted_at).where(customers.c.id == row.customer_id)
    ):
        raise NotFound(f"no {kind} {row_id} (its customer was removed)")
    return row


def find_live(conn: Connection, table: Table, key_column: str, key: str, kind: str, columns=None):
    """The live row whose `key_column` is `key` (its `columns`, by default all), or NotFound
    with the closest keys suggested."""
    column = table.c[key_column]
    query = select(*(columns or [table])).where(column == key, table.c.deleted_at.is_(None))
    row = conn.execute(query).first()
    if row is not None:
        return row
    # Suggest from the keys that share a prefix or contain the text, not the whole table.
    like = key[:2].replace("%", "").replace("_", "") + "%"
    candidates = conn.scalars(
        select(column)
        .where(
            table.c.deleted_at.is_(None), column.like(like) | column.contains(key, autoescape=True)
        )
        .limit(500)
    )
    raise not_found(kind, key, candidates)


def get_customer(conn: Connection, slug: str):
    """The live customer with this slug (its health as now: clm.domain.health_now), else
    NotFound with the closest slugs."""
    from clm.domain.health_now import customer_columns

    return find_live(conn, customers, "slug", slug.strip().lower(), "customer", customer_columns())


def set_member_stamps(field: str, added, removed) -> list[str]:
    """The stamp keys of the members of a set field added and removed by one edit."""
    return [member_stamp(field, str(m), True) for m in added] + [
        member_stamp(field, str(m), False) for m in removed
    ]


def user_uuids(conn: Connection, *id_lists) -> list[list[str]]:
    """Each list of user ids as the users' uuids: a set of users merges by uuid."""
    from clm.storage.tables import users

    wanted = {i for ids in id_lists for i in ids}
    found = (
        dict(conn.execute(select(users.c.id, users.c.uuid).where(users.c.id.in_(wanted))).all())
        if wanted
        else {}
    )
    return [[found[i] for i in ids] for ids in id_lists]


def shared_values(rows: Iterable[dict]) -> Iterator[dict]:
    """The rows, with equal strings and dates made one object: a catch-up tick keeps a quarter
    of a million reminders, whose titles, days, customers and handles repeat (a row read makes
    each anew), until it prints them."""
    same: dict = {}
    for row in rows:
        for key, value in row.items():
            if isinstance(value, str | date):
                row[key] = same.setdefault(value, value)
            elif isinstance(value, list):
                row[key] = [same.setdefault(v, v) if isinstance(v, str) else v for v in value]
        yield row
