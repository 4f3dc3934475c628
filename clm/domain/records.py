"""New rows and stamped edits of mergeable tables: uuid, times and per-field change stamps."""

import json
import os
import re
import time

from sqlalchemy import Connection, Table, select, update

from clm.db import clock, utcnow
from clm.errors import Invalid, NotFound, not_found
from clm.models import customers

HANDLE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}", re.ASCII)
# The stamp of fields never edited since the row was created.
CREATED = "*"


_last = [0, 0]  # the last uuid's milliseconds and sequence number, in this process


def new_uuid() -> str:
    """A fresh time-ordered UUID (version 7, RFC 9562): 48 bits of Unix milliseconds, a 12-bit
    sequence, 62 random bits. Rows a command adds get increasing uuids, so the uuid indexes
    take them at their right edge, a few pages for a batch, where random uuids (version 4)
    would each land on a different page of a large book's index."""
    ms = time.time_ns() // 1_000_000
    last_ms, seq = _last
    if ms > last_ms:
        seq = int.from_bytes(os.urandom(2)) & 0x7FF  # room to count up within the millisecond
    else:  # the same millisecond (or the clock went back): count on, never repeat an order
        ms, seq = last_ms, seq + 1
        if seq > 0xFFF:
            ms, seq = ms + 1, 0
    _last[:] = ms, seq
    value = (ms << 80) | (0x7000 | seq) << 64 | 2 << 62 | int.from_bytes(os.urandom(8)) >> 2
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def new_row(conn: Connection, **fields) -> dict:
    """Values for inserting a mergeable row: a fresh uuid, times and the creation stamp."""
    now = utcnow()
    stamps = json.dumps({CREATED: clock(conn).stamp()})
    return {
        "uuid": new_uuid(),
        "created_at": now,
        "updated_at": now,
        "stamps": stamps,
    } | fields


def update_row(conn: Connection, table: Table, row, changes: dict, touched=()) -> None:
    """Write `changes` to one row, stamping each changed field for merging copies later;
    `touched` names fields stored elsewhere (link tables) that changed too."""
    if not changes and not touched:
        return
    stamps = json.loads(row.stamps)
    stamp = clock(conn).stamp()
    stamps.update(dict.fromkeys([*changes, *touched], stamp))
    conn.execute(
        update(table)
        .where(table.c.id == row.id)
        .values(**changes, stamps=json.dumps(stamps, sort_keys=True), updated_at=utcnow())
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


def find_live(conn: Connection, table: Table, key_column: str, key: str, kind: str):
    """The live row whose `key_column` is `key`, or NotFound with the closest keys suggested."""
    column = table.c[key_column]
    row = conn.execute(select(table).where(column == key, table.c.deleted_at.is_(None))).first()
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
