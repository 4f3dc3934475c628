"""Team channels: a team's webhook, and what its daily digest tells: what concerns the
customers in the team's stages (reminders, CTAs opened, customers handed into the team, those
it has still to assign). Queued in the tick's transaction like a person's, one a team a day."""

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Connection, and_, or_, select

from clm.domain.notify.settings import check_webhook, webhook_style
from clm.domain.records import new_row, update_row
from clm.storage.bulk import in_values
from clm.storage.tables import customers, stages, team_channels, transitions, users


def set_webhook(conn: Connection, team: str, url: str) -> str | None:
    """Set (or with '' remove) team `team`'s webhook URL; the URL it had."""
    url = check_webhook(url) if url.strip() else None
    row = conn.execute(
        select(team_channels).where(
            team_channels.c.team == team, team_channels.c.deleted_at.is_(None)
        )
    ).first()
    if row is None:
        if url is not None:
            conn.execute(team_channels.insert().values(new_row(conn, team=team, webhook=url)))
        return None
    if row.webhook != url:
        update_row(conn, team_channels, row, {"webhook": url})
    return row.webhook


def webhook_of(conn: Connection, team: str) -> str | None:
    return conn.scalar(
        select(team_channels.c.webhook).where(
            team_channels.c.team == team, team_channels.c.deleted_at.is_(None)
        )
    )


def shown(url: str | None) -> str:
    """A webhook as people see it: its style and host, never its path (often the secret)."""
    if not url:
        return "none"
    style, target = webhook_style(url)
    parts = urlsplit(target)
    return f"{parts.scheme}://{parts.netloc}/… ({style})"


def subscribed_teams(conn: Connection) -> list[str]:
    """The teams with a live channel."""
    return list(
        conn.scalars(
            select(team_channels.c.team).where(
                team_channels.c.deleted_at.is_(None), team_channels.c.webhook.is_not(None)
            )
        )
    )


def team_news(
    conn: Connection, results: list, since: datetime, teams: list[str]
) -> list[tuple[str, dict]]:
    """(team, item) for each team in `teams`: the tick's reminders and CTAs on customers in the
    team's stages, customers handed into the team since `since`, and those it has to assign."""
    found = _tick_news(conn, results, teams)
    return found + _handoffs_into(conn, since, teams) + _unassigned(conn, teams)


def _tick_news(conn: Connection, results: list, teams: list[str]) -> list[tuple[str, dict]]:
    # Read from the days' spools twice (a catch-up's news is not held in lists)
    def reminders():
        return (r for result in results for r in result.reminders)

    def opened():
        return (c for result in results for c in result.ctas_opened)

    slugs = {r["customer"] for r in reminders()} | {c["customer"] for c in opened()}
    if not slugs:
        return []
    # The team of each customer concerned: one query, whatever the day's count.
    team_of = dict(
        conn.execute(
            select(customers.c.slug, stages.c.team)
            .select_from(customers.join(stages, stages.c.key == customers.c.stage))
            .where(
                in_values(conn, customers.c.slug, sorted(slugs)),
                stages.c.team.in_(teams),
                stages.c.deleted_at.is_(None),
                customers.c.deleted_at.is_(None),
            )
        ).all()
    )
    found = []
    for r in reminders():
        if r["customer"] in team_of:
            to = ", ".join(r["recipients"]) or "nobody"  # the owner first, collaborators
            found.append((team_of[r["customer"]], {
                "kind": "reminder", "key": f"reminder:{r['milestone']}:{r['remind_on']}",
                "customer": r["customer"], "title": f"{r['title']} (to {to})",
                "due": str(r["due"]), "act": f"clm milestone done {r['milestone']}",
            }))  # fmt: skip
    for c in opened():
        if c["customer"] in team_of:
            found.append((team_of[c["customer"]], {
                "kind": "cta", "key": f"cta:{c['id']}", "customer": c["customer"],
                "title": f"{c['type']}: {c['reason']}", "due": "",
                "act": f"clm cta close {c['id']}",
            }))  # fmt: skip
    return found


def _handoffs_into(conn: Connection, since: datetime, teams: list[str]) -> list[tuple[str, dict]]:
    """Customers that moved since into a stage of the team from a stage of another (or none)."""
    into = stages.alias("into_stage")
    came_from = stages.alias("from_stage")
    owner = users.alias("owner")
    query = (
        select(into.c.team, transitions.c.uuid, transitions.c.to_stage, transitions.c.on,
               customers.c.slug, customers.c.name, owner.c.handle)
        .select_from(
            transitions.join(customers, customers.c.id == transitions.c.customer_id)
            .join(into, and_(into.c.key == transitions.c.to_stage, into.c.deleted_at.is_(None)))
            .outerjoin(came_from, and_(came_from.c.key == transitions.c.from_stage,
                                       came_from.c.deleted_at.is_(None)))
            .outerjoin(owner, owner.c.id == transitions.c.to_owner_id)
        )
        .where(
            transitions.c.created_at > since,
            transitions.c.from_stage.is_not(None),  # a customer added is not handed over
            into.c.team.in_(teams),
            or_(came_from.c.team.is_(None), came_from.c.team != into.c.team),
            customers.c.deleted_at.is_(None),
        )
    )  # fmt: skip
    return [
        (row.team, {
            "kind": "handoff", "key": f"handoff:{row.uuid}", "customer": row.slug,
            "title": f"{row.name}, now in {row.to_stage}, owner {row.handle or 'none'}",
            "due": str(row.on), "act": f"clm customer show {row.slug}",
        })
        for row in conn.execute(query)
    ]  # fmt: skip


def _unassigned(conn: Connection, teams: list[str]) -> list[tuple[str, dict]]:
    """Customers the team has to assign: handed to it with nobody to assign (the handoff
    pending), or without an owner in one of its stages. Told each day until assigned."""
    query = (
        select(customers.c.uuid, customers.c.slug, customers.c.name, customers.c.stage,
               customers.c.handoff_pending, stages.c.team)
        .select_from(customers.outerjoin(
            stages, and_(stages.c.key == customers.c.stage, stages.c.deleted_at.is_(None))
        ))
        .where(
            customers.c.deleted_at.is_(None),
            or_(
                customers.c.handoff_pending.in_(teams),
                customers.c.owner_id.is_(None)
                & stages.c.team.in_(teams)
                & stages.c.terminal.is_(False),
            ),
        )
    )  # fmt: skip
    found = []
    for row in conn.execute(query):
        team = row.handoff_pending if row.handoff_pending in teams else row.team
        why = "nobody to assign" if row.handoff_pending else f"no owner, in {row.stage}"
        found.append((team, {
            "kind": "unowned", "key": f"unowned:{row.uuid}", "customer": row.slug,
            "title": f"{row.name} ({why})", "due": "",
            "act": f"clm customer assign {row.slug} --owner HANDLE",
        }))  # fmt: skip
    return found
