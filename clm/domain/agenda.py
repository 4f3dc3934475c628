"""`clm my`: what the current user owns, follows, is assigned and is reminded of."""

from collections.abc import Iterator
from datetime import date

from sqlalchemy import Connection, or_, select

from clm.domain.milestones import UNFINISHED, reminders_due
from clm.domain.users import get_user
from clm.errors import Invalid
from clm.models import (
    ctas,
    customer_influencers,
    customers,
    milestone_collaborators,
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
    query = _overdue(today)
    order = (query.c.due, query.c.kind, query.c.id)
    if by_owner:
        order = (query.c.handle.is_(None), query.c.handle, *order)
    for row in conn.execute(select(query).order_by(*order).limit(limit)):
        yield dict(
            zip(
                OVERDUE_KEYS,
                (
                    row.kind,
                    row.id,
                    row.slug,
                    row.title,
                    row.due,
                    (today - row.due).days,
                    row.handle,
                ),
                strict=True,
            )
        )


def overdue_by_owner(conn: Connection, today: date) -> list[tuple[str | None, int]]:
    """How many overdue items each owner has, most first."""
    from sqlalchemy import func

    query = _overdue(today)
    count = func.count().label("items")
    grouped = select(query.c.handle, count).group_by(query.c.handle)
    return [tuple(row) for row in conn.execute(grouped.order_by(count.desc(), query.c.handle))]


def _overdue(today: date):
    """The overdue items as one subquery: kind, id, slug, title, due, handle (of the owner)."""
    from sqlalchemy import literal, union_all

    owner = users.alias("owner")
    live = (customers.c.deleted_at.is_(None),)
    parts = [
        select(
            literal("milestone").label("kind"),
            milestones.c.id,
            customers.c.slug,
            milestones.c.title,
            milestones.c.due,
            owner.c.handle,
        )
        .select_from(
            milestones.join(customers, customers.c.id == milestones.c.customer_id).outerjoin(
                owner, owner.c.id == customers.c.owner_id
            )
        )
        .where(
            milestones.c.status.in_(UNFINISHED),
            milestones.c.due < today,
            milestones.c.deleted_at.is_(None),
            *live,
        ),
        select(
            literal("task").label("kind"),
            tasks.c.id,
            customers.c.slug,
            tasks.c.title,
            tasks.c.due,
            owner.c.handle,
        )
        .select_from(
            tasks.join(customers, customers.c.id == tasks.c.customer_id).outerjoin(
                owner, owner.c.id == tasks.c.assignee_id
            )
        )
        .where(tasks.c.status == "open", tasks.c.due < today, tasks.c.deleted_at.is_(None), *live),
        select(
            literal("cta").label("kind"),
            ctas.c.id,
            customers.c.slug,
            (ctas.c.type + literal(": ") + ctas.c.reason).label("title"),
            ctas.c.due,
            owner.c.handle,
        )
        .select_from(
            ctas.join(customers, customers.c.id == ctas.c.customer_id).outerjoin(
                owner, owner.c.id == ctas.c.owner_id
            )
        )
        .where(
            ctas.c.status == "open",
            ctas.c.due < today,
            ctas.c.deleted_at.is_(None),
            or_(ctas.c.snoozed_until.is_(None), ctas.c.snoozed_until <= today),
            *live,
        ),
    ]
    return union_all(*parts).subquery()
