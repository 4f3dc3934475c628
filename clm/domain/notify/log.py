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
