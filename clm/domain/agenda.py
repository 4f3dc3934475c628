"""Agendas: `clm my` (what the current user owns, follows, is assigned and is reminded of) and
`clm` alone (what the day asks for: reminders, overdue work, customers over SLA, renewals)."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Connection, or_, select

from clm.domain.milestones import UNFINISHED, reminders_due
from clm.domain.users import get_user
from clm.errors import Invalid
from clm.storage.tables import (
    ctas,
    customer_influencers,
    customers,
    milestone_collaborators,
    milestone_reminders,
    milestones,
    tasks,
    users,
)

AGENDA_KEYS = ("kind", "id", "customer", "title", "due", "detail")


def my_agenda(conn: Connection, today: date, handle: str | None) -> Iterator[dict]:
    """Reminders due, tasks and CTAs assigned, milestones collaborated on, customers owned or
    followed: one row each, in that order."""
    if handle is None:
        raise Invalid("who are you? pass --as USER or set CLM_USER")
    user = get_user(conn, handle)
    live = (customers.c.deleted_at.is_(None),)
    for reminder in reminders_due(conn, today, user.id, include_fired=True):
        yield _row(
            "reminder",
            reminder["milestone"],
            reminder["customer"],
            reminder["title"],
            reminder["due"],
            f"{reminder['offset']} before, on {reminder['remind_on']}",
        )
    query = (
        select(tasks.c.id, customers.c.slug, tasks.c.title, tasks.c.due)
        .join(customers, customers.c.id == tasks.c.customer_id)
        .where(
            tasks.c.assignee_id == user.id,
            tasks.c.status == "open",
            tasks.c.deleted_at.is_(None),
            *live,
        )
        .order_by(tasks.c.due.is_(None), tasks.c.due, tasks.c.id)
    )
    for row in conn.execute(query):
        yield _row("task", row.id, row.slug, row.title, row.due, _lateness(row.due, today))
    query = (
        select(ctas.c.id, customers.c.slug, ctas.c.type, ctas.c.reason, ctas.c.due, ctas.c.priority)
        .join(customers, customers.c.id == ctas.c.customer_id)
        .where(
            ctas.c.owner_id == user.id,
            ctas.c.status == "open",
            ctas.c.deleted_at.is_(None),
            or_(ctas.c.snoozed_until.is_(None), ctas.c.snoozed_until <= today),
            *live,
        )
        .order_by(ctas.c.due.is_(None), ctas.c.due, ctas.c.id)
    )
    for row in conn.execute(query):
        yield _row("cta", row.id, row.slug, f"{row.type}: {row.reason}", row.due, row.priority)
    collaborating = select(milestone_collaborators.c.milestone_id).where(
        milestone_collaborators.c.user_id == user.id
    )
    query = (
        select(
            milestones.c.id,
            customers.c.slug,
            milestones.c.title,
            milestones.c.due,
            milestones.c.status,
        )
        .join(customers, customers.c.id == milestones.c.customer_id)
        .where(
            milestones.c.id.in_(collaborating),
            milestones.c.status.in_(UNFINISHED),
            milestones.c.deleted_at.is_(None),
            *live,
        )
        .order_by(milestones.c.due, milestones.c.id)
    )
    for row in conn.execute(query):
        yield _row(
            "milestone",
            row.id,
            row.slug,
            row.title,
            row.due,
            _lateness(row.due, today) or (row.status if row.status != "open" else None),
        )
    following = select(customer_influencers.c.customer_id).where(
        customer_influencers.c.user_id == user.id
    )
    query = (
        select(
            customers.c.id,
            customers.c.slug,
            customers.c.name,
            customers.c.renewal,
            customers.c.stage,
            customers.c.owner_id,
        )
        .where(or_(customers.c.owner_id == user.id, customers.c.id.in_(following)), *live)
        .order_by(customers.c.slug)
    )
    for row in conn.execute(query):
        relation = "owner" if row.owner_id == user.id else "influencer"
        yield _row("customer", None, row.slug, row.name, row.renewal, f"{row.stage}, {relation}")


def _lateness(due: date | None, today: date) -> str | None:
    return f"{(today - due).days} days overdue" if due is not None and due < today else None


def _row(kind, row_id, customer, title, due, detail) -> dict:
    return dict(zip(AGENDA_KEYS, (kind, row_id, customer, title, due, detail), strict=True))


OVERDUE_KEYS = ("kind", "id", "customer", "title", "due", "days_overdue", "owner")


def overdue_items(
    conn: Connection, today: date, by_owner: bool = False, limit: int | None = None
) -> Iterator[dict]:
    """Unfinished milestones, open tasks and open (not snoozed) CTAs past due, oldest first
    (`by_owner`: grouped by owner, the unowned last), each with who it is on: the task's
    assignee, the CTA's owner, the customer's owner."""
    query = overdue_query(today)
    order = (query.c.due, query.c.kind, query.c.id)
    if by_owner:
        order = (query.c.handle.is_(None), query.c.handle, *order)
    for kind, item_id, slug, title, due, handle in conn.execute(
        select(query).order_by(*order).limit(limit)
    ):  # (a whole book's list: unpacked, not read a column at a time)
        yield {
            "kind": kind,
            "id": item_id,
            "customer": slug,
            "title": title,
            "due": due,
            "days_overdue": (today - due).days,
            "owner": handle,
        }


def overdue_by_owner(conn: Connection, today: date) -> list[tuple[str | None, int]]:
    """How many overdue items each owner has, most first."""
    from sqlalchemy import func

    query = overdue_query(today)
    count = func.count().label("items")
    grouped = select(query.c.handle, count).group_by(query.c.handle)
    return [tuple(row) for row in conn.execute(grouped.order_by(count.desc(), query.c.handle))]


def overdue_query(today: date):
    """Unfinished milestones, open tasks and open (not snoozed) CTAs past due, as one
    subquery (kind, id, slug, title, due, handle), each with who it is on: the task's
    assignee, the CTA's owner, the customer's owner."""
    from sqlalchemy import literal, union_all

    from clm.storage.tables import stages

    owner = users.alias("owner")
    # Not a churned customer's: its work was cancelled, and what is added later is no debt.
    terminal = select(stages.c.key).where(stages.c.terminal, stages.c.deleted_at.is_(None))
    live = (customers.c.deleted_at.is_(None), customers.c.stage.not_in(terminal))

    def past_due(kind: str, table, title, person, *unfinished):
        """The rows of `table` past due and unfinished, with who they are on (`person`)."""
        return (
            select(
                literal(kind).label("kind"),
                table.c.id,
                customers.c.slug,
                title,
                table.c.due,
                owner.c.handle,
            )
            .select_from(
                table.join(customers, customers.c.id == table.c.customer_id).outerjoin(
                    owner, owner.c.id == person
                )
            )
            .where(table.c.due < today, table.c.deleted_at.is_(None), *unfinished, *live)
        )

    not_snoozed = or_(ctas.c.snoozed_until.is_(None), ctas.c.snoozed_until <= today)
    cta_title = (ctas.c.type + literal(": ") + ctas.c.reason).label("title")
    parts = [
        past_due(
            "milestone",
            milestones,
            milestones.c.title,
            customers.c.owner_id,
            milestones.c.status.in_(UNFINISHED),
        ),
        past_due("task", tasks, tasks.c.title, tasks.c.assignee_id, tasks.c.status == "open"),
        past_due("cta", ctas, cta_title, ctas.c.owner_id, ctas.c.status == "open", not_snoozed),
    ]
    return union_all(*parts).subquery()


# `clm` alone: the day's agenda, for the current user or the whole book.

SHOWN_PER_SECTION = 5
LAST_TICK = "last_tick"  # meta key: a summary of the last tick that wrote
RENEWALS_WITHIN_DAYS = 30
REMINDERS_SINCE_DAYS = 14  # `clm my` lists older ones, until their milestone is due
DAY_KEYS = ("section", "kind", "id", "customer", "title", "due", "detail", "command")
ACT_ON = {
    "milestone": "clm milestone done {}",
    "task": "clm task done {}",
    "cta": "clm cta close {}",
}


@dataclass
class DayAgenda:
    """What the day asks for: rows by section (the first few of each), each section's full
    count and the command that lists all of it, and what the last tick did."""

    user: str | None
    rows: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    more: dict[str, str] = field(default_factory=dict)
    last_tick: dict | None = None


def day_agenda(
    conn: Connection, today: date, handle: str | None, shown: int = SHOWN_PER_SECTION
) -> DayAgenda:
    """Reminders that came up in the last two weeks for milestones not yet due, overdue work,
    customers over their stage's expected days, renewals in the next 30 days: each line with
    the command that acts on it. With a user: only theirs. The database counts each section
    and returns only its first `shown` rows."""
    from sqlalchemy import func

    user = get_user(conn, handle) if handle else None
    agenda = DayAgenda(user=user.handle if user else None, last_tick=last_tick(conn))
    mine = f" --owner {user.handle}" if user else ""
    sections = (
        ("reminders", _reminders, "clm my" if user else "clm milestone list --due-within 60d"),
        ("overdue", _overdue, "clm report overdue"),
        ("over_sla", _over_sla, f"clm customer list{mine}"),
        ("renewals", _renewals, f"clm customer list --renewal-within 30d{mine}"),
        ("handoffs", _handoffs, "clm customer list --handoff-pending"),
        ("notifications", _failed_notifications, "clm notify log --failed"),
    )
    for section, build, more in sections:
        query, to_row = build(conn, today, user)
        rows = conn.execute(query.limit(shown)).all()
        count = len(rows)
        if count == shown:  # only a full page may have more: then the database counts them
            count = conn.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        agenda.counts[section] = count
        agenda.rows += [{"section": section, **to_row(row)} for row in rows]
        if count > shown:
            agenda.more[section] = more
    return agenda


def _item(kind, item_id, customer, title, due, detail, command) -> dict:
    values = (kind, item_id, customer, title, due, detail, command)
    return dict(zip(DAY_KEYS[1:], values, strict=True))


def _reminders(conn, today, user):
    query = (
        select(
            milestones.c.id,
            customers.c.slug,
            milestones.c.title,
            milestones.c.due,
            milestone_reminders.c.offset,
            milestone_reminders.c.remind_on,
        )
        .select_from(
            milestone_reminders.join(
                milestones, milestones.c.id == milestone_reminders.c.milestone_id
            ).join(customers, customers.c.id == milestones.c.customer_id)
        )
        .where(
            milestone_reminders.c.remind_on <= today,
            milestone_reminders.c.remind_on > today - timedelta(REMINDERS_SINCE_DAYS),
            milestones.c.due >= today,
            milestones.c.status.in_(UNFINISHED),
            milestones.c.deleted_at.is_(None),
            customers.c.deleted_at.is_(None),
        )
        .order_by(milestones.c.due, milestones.c.id, milestone_reminders.c.remind_on)
    )
    if user is not None:
        collaborating = select(milestone_collaborators.c.milestone_id).where(
            milestone_collaborators.c.user_id == user.id
        )
        query = query.where(
            or_(customers.c.owner_id == user.id, milestones.c.id.in_(collaborating))
        )

    def to_row(row) -> dict:
        detail = f"{row.offset} before, since {row.remind_on}"
        command = f"clm milestone done {row.id}"
        return _item("reminder", row.id, row.slug, row.title, row.due, detail, command)

    return query, to_row


def _overdue(conn, today, user):
    items = overdue_query(today)
    query = select(items).order_by(items.c.due, items.c.kind, items.c.id)
    if user is not None:
        query = query.where(items.c.handle == user.handle)

    def to_row(row) -> dict:
        late = f"{(today - row.due).days} days overdue"
        detail = late if user else f"{late}, {row.handle or 'nobody'}"
        command = ACT_ON[row.kind].format(row.id)
        return _item(row.kind, row.id, row.slug, row.title, row.due, detail, command)

    return query, to_row


def _over_sla(conn, today, user):
    from sqlalchemy import false

    from clm.storage.tables import stages

    sla = dict(
        conn.execute(
            select(stages.c.key, stages.c.expected_days).where(
                stages.c.expected_days.is_not(None), stages.c.deleted_at.is_(None)
            )
        ).all()
    )
    # One bound per stage, computed here: the query stays portable and uses the stage index.
    over = or_(
        false(),
        *(
            (customers.c.stage == key) & (customers.c.stage_entered < today - timedelta(days))
            for key, days in sla.items()
        ),
    )
    query = _customers_of(user).where(over).order_by(customers.c.stage_entered, customers.c.slug)

    def to_row(row) -> dict:
        days = (today - row.stage_entered).days
        detail = f"{days} days in {row.stage}, expected {sla[row.stage]}"
        return _item("customer", None, row.slug, row.name, None, detail, f"clm explain {row.slug}")

    return query, to_row


def _renewals(conn, today, user):
    from clm.storage.tables import stages

    terminal = select(stages.c.key).where(stages.c.terminal, stages.c.deleted_at.is_(None))
    query = (
        _customers_of(user)
        .where(  # lapsed ones too (not renewed yet): those first, as `report renewals` lists
            customers.c.renewal <= today + timedelta(RENEWALS_WITHIN_DAYS),
            customers.c.stage.not_in(terminal),
        )
        .order_by(customers.c.renewal, customers.c.slug)
    )

    def to_row(row) -> dict:
        arr = f", ARR {row.arr:,.0f}" if row.arr is not None else ""
        days = (row.renewal - today).days
        detail = (f"in {days} days" if days >= 0 else f"lapsed {-days} days ago") + arr
        command = f"clm customer renew {row.slug}"
        return _item("renewal", None, row.slug, row.name, row.renewal, detail, command)

    return query, to_row


def _handoffs(conn, today, user):
    """Customers handed to a team with nobody to assign: for a user, those of their team and
    those they still own (the owner the handoff kept)."""
    owner = users.alias("owner")
    query = (
        select(customers.c.slug, customers.c.name, customers.c.handoff_pending, owner.c.handle)
        .select_from(customers.outerjoin(owner, owner.c.id == customers.c.owner_id))
        .where(customers.c.handoff_pending.is_not(None), customers.c.deleted_at.is_(None))
        .order_by(customers.c.slug)
    )
    if user is not None:
        query = query.where(
            or_(customers.c.handoff_pending == user.team, customers.c.owner_id == user.id)
        )
    to = user.handle if user is not None and user.team else "USER"

    def to_row(row) -> dict:
        detail = f"team {row.handoff_pending} has nobody to assign; owner {row.handle or 'none'}"
        command = f"clm customer assign {row.slug} --owner {to}"
        return _item("handoff", None, row.slug, row.name, None, detail, command)

    return query, to_row


def _failed_notifications(conn, today, user):
    from clm.domain.notify.log import failed_for_agenda

    return failed_for_agenda(user)


def _customers_of(user):
    columns = (
        customers.c.slug,
        customers.c.name,
        customers.c.stage,
        customers.c.stage_entered,
        customers.c.renewal,
        customers.c.arr,
    )
    query = select(*columns).where(customers.c.deleted_at.is_(None))
    return query if user is None else query.where(customers.c.owner_id == user.id)


def remember_tick(conn: Connection, day: date, results) -> None:
    """Keep a short summary of what a tick did (counts of each kind of news), for `clm`."""
    import json

    from clm.db import set_meta, utcnow

    summary = {
        "date": day.isoformat(),
        "ran_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days": len(results),
        **{
            key: sum(len(getattr(r, key)) for r in results)
            for key in ("transitions", "reminders", "ctas_opened", "tasks_created")
        },
    }
    set_meta(conn, LAST_TICK, json.dumps(summary))


def last_tick(conn: Connection) -> dict | None:
    import json

    from clm.db import get_meta

    text = get_meta(conn, LAST_TICK)
    return json.loads(text) if text else None
