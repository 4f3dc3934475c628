"""The outbox: what each person is to be told, written in the tick's own transaction.

One row per user, day and kind (the unique key): re-runs of a day, catch-up, concurrent ticks
and merged copies never queue two digests for one person and day. Items carry keys, so news
queued twice (two ticks racing, a re-run) is told once; news that comes after the day's digest
went out waits for the next day's."""

import json
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, or_, select, update

from clm.db import get_meta, insert_new, set_meta, utcnow
from clm.domain.notify.teams import subscribed_teams, team_news
from clm.domain.records import new_uuid
from clm.storage.tables import (
    ctas,
    customers,
    milestone_collaborators,
    milestones,
    outbox,
    stages,
    transitions,
    users,
)

DIGEST = "digest"
ID_CHUNK = 500


SINCE = "notified_through"  # meta key: the moment the last tick gathered people's news


def notified_through(conn: Connection) -> datetime | None:
    text = get_meta(conn, SINCE)
    return datetime.fromisoformat(text) if text else None


def queue_digests(conn: Connection, day: date, results: list, since: datetime | None) -> bool:
    """Queue the day's digest of everyone with a channel: what the tick's `results` (its
    days) brought them, and what people did since the last tick (`since`): milestones they
    collaborate on blocked or done, customers handed to them; and of each team with a channel
    (`teams.team_news`). Whether anything waits to be sent (queued now or before)."""
    now = utcnow()
    set_meta(conn, SINCE, now.isoformat())  # after all the tick's writes: its news is before
    wanted = _subscribers(conn)
    teams = subscribed_teams(conn)
    if not wanted and not teams:
        return False
    since = since or now - timedelta(days=1)  # a first tick: the last day's news only
    if wanted:
        news = _news(conn, results, wanted) + _since(conn, since, wanted)
        queue(conn, day, DIGEST, _by_recipient(news))
    if teams:
        queue(conn, day, DIGEST, _by_recipient(team_news(conn, results, since, teams)), "team")
    waiting = select(outbox.c.id).where(outbox.c.state == "pending", outbox.c.day <= day)
    return conn.scalar(waiting.limit(1)) is not None


def _by_recipient(news: list[tuple]) -> dict:
    """(recipient, item) pairs as recipient -> items, each item (by its key) once."""
    found: dict = defaultdict(dict)
    for recipient, item in news:
        found[recipient][item["key"]] = item
    return {recipient: list(items.values()) for recipient, items in found.items()}


def queue(conn: Connection, day: date, kind: str, items: dict, to: str = "user_id") -> None:
    """Queue `items` (recipient -> items; a recipient is a user id, or with `to="team"` a team)
    for `day`: new rows in one insert; a recipient's row of that day and kind that is still
    pending takes the items it lacks; one already sent passes them to the next day's."""
    if not items:
        return
    now = utcnow()
    rows = [
        {"uuid": new_uuid(), to: recipient, "day": day, "kind": kind,
         "payload": json.dumps(found), "state": "pending", "attempts": 0, "created_at": now}
        for recipient, found in items.items() if found
    ]  # fmt: skip
    went_in = {row[to] for row in insert_new(conn, outbox, rows)}
    left = {r: found for r, found in items.items() if r not in went_in and found}
    if not left:
        return
    recipient = outbox.c[to]
    existing = conn.execute(
        select(outbox.c.id, recipient.label("recipient"), outbox.c.payload, outbox.c.state).where(
            outbox.c.day == day, outbox.c.kind == kind, recipient.in_(list(left))
        )
    ).all()
    later: dict = {}
    for row in existing:  # one row a recipient: those with news, not the book
        told = json.loads(row.payload)
        keys = {item["key"] for item in told}
        new = [item for item in left[row.recipient] if item["key"] not in keys]
        if not new:
            continue
        if row.state == "pending":
            conn.execute(
                update(outbox).where(outbox.c.id == row.id).values(payload=json.dumps(told + new))
            )
        else:
            later[row.recipient] = new
    queue(conn, day + timedelta(days=1), kind, later, to)


def queue_blocked(conn: Connection, day: date, milestone_id: int, by: str | None) -> bool:
    """A milestone just blocked: a message of its own, now, to each of its collaborators and
    its customer's owner who asked for immediate notifications (`--digest immediate`), but not
    to `by`, who blocked it. Whether one was queued (the caller sends after the commit)."""
    row = conn.execute(
        select(milestones.c.uuid, milestones.c.title, milestones.c.blocked_reason,
               milestones.c.due, customers.c.slug, customers.c.owner_id)
        .select_from(milestones.join(customers, customers.c.id == milestones.c.customer_id))
        .where(milestones.c.id == milestone_id)
    ).one()  # fmt: skip
    collaborators = select(milestone_collaborators.c.user_id).where(
        milestone_collaborators.c.milestone_id == milestone_id
    )
    to = conn.scalars(
        select(users.c.id).where(
            users.c.deleted_at.is_(None),
            users.c.notify != "none",
            users.c.digest == "immediate",
            or_(users.c.id.in_(collaborators), users.c.id == row.owner_id),
            users.c.handle != (by or ""),
        )
    ).all()
    item = {
        "kind": "blocked", "key": f"blocked:{row.uuid}", "customer": row.slug,
        "title": f"{row.title} ({row.blocked_reason})", "due": str(row.due),
        "act": f"clm milestone reopen {milestone_id}",
    }  # fmt: skip
    # A kind of its own per block (each block is news, even the same milestone's twice a day)
    queue(conn, day, f"blocked:{new_uuid()}", {user_id: [item] for user_id in to})
    return bool(to)


def _subscribers(conn: Connection) -> dict[int, str]:
    """Live users with a channel: id -> handle."""
    query = select(users.c.id, users.c.handle).where(
        users.c.deleted_at.is_(None), users.c.notify != "none"
    )
    return dict(conn.execute(query).all())


def _news(conn: Connection, results: list, wanted: dict[int, str]) -> list[tuple[int, dict]]:
    """What the tick itself did for each subscriber: reminders addressed to them, CTAs opened
    for them, tasks assigned to them."""
    by_handle = {handle: user_id for user_id, handle in wanted.items()}
    found = []
    opened = {}
    for result in results:
        for r in result.reminders:
            item = {
                "kind": "reminder", "key": f"reminder:{r['milestone']}:{r['remind_on']}",
                "customer": r["customer"], "title": r["title"], "due": str(r["due"]),
                "act": f"clm milestone done {r['milestone']}",
            }  # fmt: skip
            found += [(by_handle[h], item) for h in r["recipients"] if h in by_handle]
        for t in result.tasks_created:
            if t["assignee"] in by_handle:
                item = {
                    "kind": "task", "key": f"task:{t['uuid']}", "customer": t["customer"],
                    "title": t["title"], "due": str(t["due"] or ""),
                    "act": f"clm task done {t['id']}",
                }  # fmt: skip
                found.append((by_handle[t["assignee"]], item))
        opened |= {c["id"]: c for c in result.ctas_opened}
    ids = list(opened)
    for start in range(0, len(ids), ID_CHUNK):
        query = select(ctas.c.id, ctas.c.uuid, ctas.c.owner_id, ctas.c.due).where(
            ctas.c.id.in_(ids[start : start + ID_CHUNK]), ctas.c.owner_id.in_(list(wanted))
        )
        for cta in conn.execute(query):
            c = opened[cta.id]
            item = {
                "kind": "cta", "key": f"cta:{cta.uuid}", "customer": c["customer"],
                "title": f"{c['type']}: {c['reason']}", "due": str(cta.due or ""),
                "act": f"clm cta close {cta.id}",
            }  # fmt: skip
            found.append((cta.owner_id, item))
    return found


def _since(conn: Connection, since: datetime, wanted: dict[int, str]) -> list[tuple[int, dict]]:
    return (
        _milestones_changed(conn, since, wanted)
        + handoffs(conn, since, wanted)
        + unowned(conn, wanted)
    )


def unowned(conn: Connection, wanted) -> list[tuple[int, dict]]:
    """Customers left without an owner in a subscriber's team, told in each day's digest until
    someone takes them: those handed to the team while it had nobody to assign (the handoff
    pending), and those with no owner at all in a stage the team works."""
    member = users.alias("member")
    in_team = or_(
        customers.c.handoff_pending == member.c.team,
        customers.c.owner_id.is_(None)
        & customers.c.stage.in_(
            select(stages.c.key).where(
                stages.c.team == member.c.team,
                stages.c.deleted_at.is_(None),
                stages.c.terminal.is_(False),
            )
        ),
    )
    query = (
        select(member.c.id, member.c.handle, customers.c.uuid, customers.c.slug,
               customers.c.name, customers.c.stage, customers.c.handoff_pending)
        .select_from(customers.join(member, in_team))
        .where(member.c.id.in_(list(wanted)), customers.c.deleted_at.is_(None))
    )  # fmt: skip
    found = []
    for row in conn.execute(query):
        why = (
            f"handed to team {row.handoff_pending}, nobody to assign"
            if row.handoff_pending
            else f"no owner, in {row.stage}"
        )
        item = {
            "kind": "unowned", "key": f"unowned:{row.uuid}", "customer": row.slug,
            "title": f"{row.name} ({why})", "due": "",
            "act": f"clm customer assign {row.slug} --owner {row.handle}",
        }  # fmt: skip
        found.append((row.id, item))
    return found


def _milestones_changed(conn: Connection, since: datetime, wanted) -> list[tuple[int, dict]]:
    """Milestones a subscriber collaborates on that were blocked or marked done since."""
    query = (
        select(
            milestone_collaborators.c.user_id,
            milestones.c.id,
            milestones.c.uuid,
            milestones.c.title,
            milestones.c.status,
            milestones.c.blocked_reason,
            milestones.c.due,
            customers.c.slug,
        )
        .select_from(
            milestones.join(
                milestone_collaborators,
                milestone_collaborators.c.milestone_id == milestones.c.id,
            ).join(customers, customers.c.id == milestones.c.customer_id)
        )
        .where(
            milestones.c.status.in_(("blocked", "done")),
            milestones.c.updated_at > since,
            # a blocked one was told at once to those who asked for immediate messages
            (milestones.c.status == "done")
            | milestone_collaborators.c.user_id.not_in(
                select(users.c.id).where(users.c.digest == "immediate")
            ),
            milestones.c.deleted_at.is_(None),
            milestone_collaborators.c.user_id.in_(list(wanted)),
        )
    )
    found = []
    for row in conn.execute(query):
        blocked = row.status == "blocked"
        item = {
            "kind": row.status, "key": f"{row.status}:{row.uuid}", "customer": row.slug,
            "title": row.title + (f" ({row.blocked_reason})" if blocked else ""),
            "due": str(row.due),
            "act": f"clm milestone reopen {row.id}" if blocked else f"clm customer show {row.slug}",
        }  # fmt: skip
        found.append((row.user_id, item))
    return found


def handoffs(conn: Connection, since: datetime, wanted) -> list[tuple[int, dict]]:
    """Customers handed to a subscriber since: the transitions that changed the owner to them.
    The seam for ownership policy (pending handoffs): another source of `handoff` items."""
    query = (
        select(
            transitions.c.uuid,
            transitions.c.to_owner_id,
            transitions.c.to_stage,
            transitions.c.on,
            customers.c.slug,
            customers.c.name,
        )
        .select_from(transitions.join(customers, customers.c.id == transitions.c.customer_id))
        .where(
            transitions.c.created_at > since,
            transitions.c.from_stage.is_not(None),  # a customer added is not handed over
            transitions.c.to_owner_id.in_(list(wanted)),
            or_(
                transitions.c.from_owner_id.is_(None),
                transitions.c.from_owner_id != transitions.c.to_owner_id,
            ),
            customers.c.deleted_at.is_(None),
        )
    )
    return [
        (row.to_owner_id, {
            "kind": "handoff", "key": f"handoff:{row.uuid}", "customer": row.slug,
            "title": f"{row.name}, now in {row.to_stage}", "due": str(row.on),
            "act": f"clm customer show {row.slug}",
        })
        for row in conn.execute(query)
    ]  # fmt: skip
