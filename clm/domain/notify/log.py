"""`clm notify log`: the outbox as people read it."""

import json
from collections.abc import Iterator

from sqlalchemy import Connection, func, select

from clm.domain.notify.digest import subject
from clm.storage.tables import outbox, users


def notification_log(
    conn: Connection, failed: bool = False, handle: str | None = None, team: str | None = None
) -> Iterator[dict]:
    """Every message, a user's or a team channel's (`user` or `team` set); with `handle`
    only that user's, with `team` (a team's name, checked) only that team channel's."""
    query = (
        select(
            outbox.c.id,
            outbox.c.day,
            users.c.handle.label("user"),
            outbox.c.team,
            outbox.c.kind,
            outbox.c.state,
            outbox.c.channel,
            outbox.c.attempts,
            outbox.c.sent_at,
            outbox.c.payload.label("items"),
            outbox.c.error,
            outbox.c.uuid,
        )
        .select_from(outbox.outerjoin(users, users.c.id == outbox.c.user_id))
        .order_by(outbox.c.day, outbox.c.id)
    )
    if failed:
        query = query.where(outbox.c.state == "failed")
    if handle is not None:
        from clm.domain.records import find_live

        user = find_live(conn, users, "handle", handle.strip().lower(), "user")
        query = query.where(outbox.c.user_id == user.id)
    if team is not None:
        query = query.where(outbox.c.team == team)
    for row in conn.execute(query):
        found = row._asdict()
        found["subject"] = subject(row.day, json.loads(found.pop("items")))
        if found["sent_at"] is not None:
            found["sent_at"] = found["sent_at"].strftime("%Y-%m-%d %H:%M:%SZ")
        yield found


def failed_count(conn: Connection) -> int:
    """How many messages are parked as failed (for `db check`)."""
    return conn.scalar(select(func.count()).where(outbox.c.state == "failed"))


RETRY = "clm notify retry"


def failed_for_agenda(user):
    """The agenda's section of messages parked as failed: a query and its row maker. With a
    user: only theirs and their team channel's."""
    query = (
        select(outbox.c.id, outbox.c.day, outbox.c.payload, outbox.c.error, users.c.handle,
               outbox.c.team)
        .select_from(outbox.outerjoin(users, users.c.id == outbox.c.user_id))
        .where(outbox.c.state == "failed")
        .order_by(outbox.c.day, outbox.c.id)
    )  # fmt: skip
    if user is not None:
        theirs = outbox.c.user_id == user.id
        query = query.where(theirs | (outbox.c.team == user.team) if user.team else theirs)

    def to_row(row) -> dict:
        to = row.handle or f"team {row.team}"
        return {
            "kind": "notification", "id": row.id, "customer": None,
            "title": subject(row.day, json.loads(row.payload)), "due": row.day,
            "detail": f"to {to}: {row.error or 'failed'}", "command": RETRY,
        }  # fmt: skip

    return query, to_row
