"""Agendas: `clm my` (what the current user owns, follows, is assigned and is reminded of) and
`clm` alone (what the day asks for: reminders, overdue work, customers over SLA, renewals)."""

from collections.abc import Iterator
from datetime import date
from typing import NamedTuple

from sqlalchemy import ColumnElement, Connection, Table, literal, or_, select, union_all

from clm.domain.day import LAST_TICK
from clm.domain.milestones import UNFINISHED
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


def my_statements() -> dict:
    """`clm my`'s statements by name (clm.domain.day reads them): the user's (`:user_id`)
    reminders that reached them (each way), open tasks and CTAs, the milestones they
    collaborate on and the customers they own or follow, as of `:today`."""
    from sqlalchemy import Date, Integer, bindparam

    from clm.domain.milestones import reminder_parts, reminder_query

    today = bindparam("today", type_=Date, required=False)
    user_id = bindparam("user_id", type_=Integer, required=False)
    live = (customers.c.deleted_at.is_(None),)
    owned, collaborating = reminder_parts(reminder_query(today, include_fired=True), user_id)
    following = select(customer_influencers.c.customer_id).where(
        customer_influencers.c.user_id == user_id
    )
    collaborated = select(milestone_collaborators.c.milestone_id).where(
        milestone_collaborators.c.user_id == user_id
    )
    return {
        "my.reminders.owned": owned,
        "my.reminders.collaborating": collaborating,
        "my.tasks": select(tasks.c.id, customers.c.slug, tasks.c.title, tasks.c.due)
        .join(customers, customers.c.id == tasks.c.customer_id)
        .where(
            tasks.c.assignee_id == user_id,
            tasks.c.status == "open",
            tasks.c.deleted_at.is_(None),
            *live,
        )
        .order_by(tasks.c.due.is_(None), tasks.c.due, tasks.c.id),
        "my.ctas": select(
            ctas.c.id, customers.c.slug, ctas.c.type, ctas.c.reason, ctas.c.due, ctas.c.priority
        )
        .join(customers, customers.c.id == ctas.c.customer_id)
        .where(
            ctas.c.owner_id == user_id,
            ctas.c.status == "open",
            ctas.c.deleted_at.is_(None),
            or_(ctas.c.snoozed_until.is_(None), ctas.c.snoozed_until <= today),
            *live,
        )
        .order_by(ctas.c.due.is_(None), ctas.c.due, ctas.c.id),
        "my.milestones": select(
            milestones.c.id,
            customers.c.slug,
            milestones.c.title,
            milestones.c.due,
            milestones.c.status,
        )
        .join(customers, customers.c.id == milestones.c.customer_id)
        .where(
            milestones.c.id.in_(collaborated),
            milestones.c.status.in_(UNFINISHED),
            milestones.c.deleted_at.is_(None),
            *live,
        )
        .order_by(milestones.c.due, milestones.c.id),
        "my.customers": select(
            customers.c.id,
            customers.c.slug,
            customers.c.name,
            customers.c.renewal,
            customers.c.stage,
            customers.c.owner_id,
        )
        .where(or_(customers.c.owner_id == user_id, customers.c.id.in_(following)), *live)
        .order_by(customers.c.slug),
    }


def _overdue_statement(today: date, by_owner: bool, limit: int | None):
    if limit is not None and not by_owner:
        query = first_past_due(today, limit)
    else:
        query = overdue_query(today, whole=limit is None)
    order = (query.c.due, query.c.kind, query.c.id)
    if by_owner:
        order = (query.c.handle.is_(None), query.c.handle, *order)
    return select(query).order_by(*order).limit(limit)


def overdue_statements() -> dict:
    """`clm report overdue`'s statement compiled ahead (clm.domain.overdue_list reads it):
    every overdue item by owner, as of `:today`."""
    from sqlalchemy import Date, bindparam

    today = bindparam("today", type_=Date, required=False)
    return {"overdue.by_owner": _overdue_statement(today, True, None)}


def overdue_items(
    conn: Connection, today: date, by_owner: bool = False, limit: int | None = None
) -> Iterator[dict]:
    """Unfinished milestones, open tasks and open (not snoozed) CTAs past due, oldest first
    (`by_owner`: grouped by owner, the unowned last), each with who it is on: the task's
    assignee, the CTA's owner, the customer's owner."""
    from clm.db import stream_rows
    from clm.domain.overdue_list import overdue_record

    statement = _overdue_statement(today, by_owner, limit)
    # A whole book's list (123,456 rows on book 2) is read as the driver gives it, a chunk at
    # a time (SQLAlchemy's rows cost a third of the query again), a day as SQLite's text made
    # a date. Not a first few: the tick reads those in its write transaction, where on
    # PostgreSQL stream_rows' server-side cursor failed (a syntax error at the tick's next
    # UPDATE). Unpacked, not read a column at a time.
    found = stream_rows(conn, statement, 5000) if limit is None else [conn.execute(statement)]
    for rows in found:
        for row in rows:
            yield overdue_record(row, today)


def overdue_count(conn: Connection, today: date) -> int:
    """How many items are overdue (as `overdue_items` lists them), counted from the items'
    (status, due, customer, deleted) indexes alone: an item's customer is looked for among the
    few removed or in a terminal stage (a list made once), not read from its row. On a book of
    100,000 customers with 176,879 overdue items, 0.40 s of CPU joined, 0.07 s so."""
    from sqlalchemy import func, union_all

    gone = union_all(
        select(customers.c.id).where(customers.c.deleted_at.is_not(None)),
        select(customers.c.id).where(customers.c.stage.in_(_terminal_stages())),
    )
    counted = [
        select(kind.table.c.id).where(*kind.where, kind.table.c.customer_id.not_in(gone))
        for kind in _past_due_kinds(today)
    ]
    return conn.scalar(select(func.count()).select_from(union_all(*counted).subquery()))


def overdue_by_owner(conn: Connection, today: date) -> list[tuple[str | None, int]]:
    """How many overdue items each owner has, most first."""
    from sqlalchemy import func

    query = overdue_query(today)
    count = func.count().label("items")
    grouped = select(query.c.handle, count).group_by(query.c.handle)
    return [tuple(row) for row in conn.execute(grouped.order_by(count.desc(), query.c.handle))]


def overdue_query(today, whole: bool = False):
    """Unfinished milestones, open tasks and open (not snoozed) CTAs past due, as one
    subquery (kind, id, slug, title, due, handle), each with who it is on: the task's
    assignee, the CTA's owner, the customer's owner. `today` a date or a bound parameter;
    `whole`: to be read to the end (see `past_due_parts`)."""
    from sqlalchemy import union_all

    return union_all(*past_due_parts(today, whole=whole)).subquery()


def first_past_due(today, upto, person=None):
    """The first `upto` rows of each kind of `overdue_query` (and of each unfinished status),
    in due order, as one subquery: each read in that order from its index, so the first rows
    overall cost no more than they number. `upto` an int or a bound parameter."""
    from sqlalchemy import union_all

    # A user's milestones: from their customers' unfinished ones (the partial index), not
    # from the whole book's in due order, most of them someone else's.
    parts = past_due_parts(today, person, by_status=person is None, whole=person is not None)
    firsts = [
        select(part.order_by(part.selected_columns.due, part.selected_columns.id)
               .limit(upto).subquery())
        for part in parts
    ]  # fmt: skip
    return union_all(*firsts).subquery()


def past_due_parts(today, person=None, by_status: bool = False, whole: bool = False) -> list:
    """The selects of `overdue_query`, one per kind (`by_status`: the milestones' one per
    unfinished status, so each can be read in due order from its index); with `person` (a
    user id or a bound parameter) only the items on that user. `whole`: every row is wanted,
    so the milestones are read customer by customer, each one's unfinished past due from the
    `ix_milestones_unfinished` index, rather than in due order from the (status, due) one (on
    a large book with a large backlog, fetching each from where that index points costs twice
    as much)."""
    owner = users.alias("owner")
    # Not a churned customer's: its work was cancelled, and what is added later is no debt.
    live = (customers.c.deleted_at.is_(None), customers.c.stage.not_in(_terminal_stages()))
    return [
        select(
            literal(kind.kind).label("kind"),
            kind.table.c.id,
            customers.c.slug,
            kind.title,
            kind.table.c.due,
            owner.c.handle,
        )
        .select_from(
            kind.table.join(customers, customers.c.id == kind.table.c.customer_id).outerjoin(
                owner, owner.c.id == kind.on
            )
        )
        .where(*kind.where, *live, *(() if person is None else (kind.on == person,)))
        for kind in _past_due_kinds(today, by_status, whole)
    ]


class _PastDue(NamedTuple):
    """A kind of overdue item: its table, title, who it is on (a column) and the conditions
    on its own row that make it overdue."""

    kind: str
    table: Table
    title: ColumnElement
    on: ColumnElement
    where: tuple


def _past_due_kinds(today, by_status: bool = False, whole: bool = False) -> list[_PastDue]:
    """Unfinished milestones, open tasks and open (not snoozed) CTAs past due: the milestones
    once per unfinished status with `by_status`; `whole` (see `past_due_parts`)."""

    def past_due(table, *unfinished) -> tuple:
        return (table.c.due < today, table.c.deleted_at.is_(None), *unfinished)

    not_snoozed = or_(ctas.c.snoozed_until.is_(None), ctas.c.snoozed_until <= today)
    cta_title = (ctas.c.type + literal(": ") + ctas.c.reason).label("title")
    statuses = [(s,) for s in UNFINISHED] if by_status else [UNFINISHED]

    def unfinished_in(status: tuple):
        if not whole:
            return milestones.c.status.in_(status)
        # Written into the SQL: SQLite uses a partial index only for a query that spells its
        # condition, never for one with parameters in its place.
        return milestones.c.status.in_([literal(s, literal_execute=True) for s in status])

    return [
        *(
            _PastDue(
                "milestone",
                milestones,
                milestones.c.title,
                customers.c.owner_id,
                past_due(milestones, unfinished_in(unfinished)),
            )
            for unfinished in statuses
        ),
        _PastDue(
            "task", tasks, tasks.c.title, tasks.c.assignee_id,
            past_due(tasks, tasks.c.status == "open"),
        ),
        _PastDue(
            "cta", ctas, cta_title, ctas.c.owner_id,
            past_due(ctas, ctas.c.status == "open", not_snoozed),
        ),
    ]  # fmt: skip


def _terminal_stages():
    """SQL: the keys of the live terminal stages."""
    from clm.storage.tables import stages

    return select(stages.c.key).where(stages.c.terminal, stages.c.deleted_at.is_(None))


# `clm` alone: the day's agenda (clm.domain.day reads it). Its statements are written here and
# compiled ahead into clm/storage/read_sql.py (`python -m clm.domain.read_statements`), so the
# agenda runs without building them, or importing SQLAlchemy on a file.


def day_statements() -> dict:
    """The agenda's statements by name: each section's rows in order, up to `:upto`
    (`day.SECTION`), for the whole book and, `….mine`, for the user `:user_id`; the users,
    the stages' SLAs and the last tick."""
    from sqlalchemy import Date, Integer, String, bindparam

    from clm.storage.dialect import sorted_by
    from clm.storage.tables import meta, outbox, stages

    def given(name: str, sql_type):
        """A parameter the caller gives when it runs the statement."""
        return bindparam(name, type_=sql_type, required=False)

    today, since, until = (given(n, Date) for n in ("today", "since", "until"))
    user_id, upto = (given(n, Integer) for n in ("user_id", "upto"))
    team = given("team", String)
    found: dict = {
        "day.user": select(users.c.id, users.c.handle, users.c.team).where(
            users.c.handle == given("handle", String), users.c.deleted_at.is_(None)
        ),
        "day.user_handles": select(users.c.handle).where(users.c.deleted_at.is_(None)),
        "day.meta": select(meta.c.value).where(meta.c.key == given("key", String)),
        "day.sla_stages": select(stages.c.key, stages.c.expected_days)
        .where(stages.c.expected_days.is_not(None), stages.c.deleted_at.is_(None))
        .order_by(stages.c.position, stages.c.key),
    }

    def add(name: str, query, order, page=None) -> None:
        """A section's rows in order, up to :upto (the agenda counts them that far, and
        says "1000+" past it: the section's full listing counts exactly)."""
        found[name] = (page if page is not None else query.order_by(*order)).limit(upto)

    terminal = select(stages.c.key).where(stages.c.terminal, stages.c.deleted_at.is_(None))
    for suffix, mine in (("", False), (".mine", True)):
        person = user_id if mine else None
        # Reminders that came up in the last two weeks for milestones not yet due.
        columns = (
            milestones.c.id,
            customers.c.slug,
            milestones.c.title,
            milestones.c.due,
            milestone_reminders.c.offset,
            milestone_reminders.c.remind_on,
        )
        window = (
            milestone_reminders.c.remind_on <= today,
            milestone_reminders.c.remind_on > since,
            milestones.c.due >= today,
            milestones.c.deleted_at.is_(None),
            customers.c.deleted_at.is_(None),
        )
        order = (milestones.c.due, milestones.c.id, milestone_reminders.c.remind_on)
        if not mine:
            book = (
                select(*columns)
                .select_from(
                    milestone_reminders.join(
                        milestones, milestones.c.id == milestone_reminders.c.milestone_id
                    ).join(customers, customers.c.id == milestones.c.customer_id)
                )
                .where(*window, milestones.c.status.in_(UNFINISHED))
            )
            add(f"day.reminders{suffix}", book, order)
        else:
            # A user's: from their customers' unfinished milestones (the partial index, its
            # statuses spelled out) and from the milestones they collaborate on, not from
            # the whole book's reminders of the fortnight.
            unfinished = milestones.c.status.in_(
                [literal(s, literal_execute=True) for s in UNFINISHED]
            )
            owned = (
                select(*columns)
                .select_from(
                    customers.join(milestones, milestones.c.customer_id == customers.c.id).join(
                        milestone_reminders,
                        milestone_reminders.c.milestone_id == milestones.c.id,
                    )
                )
                .where(customers.c.owner_id == user_id, unfinished, *window)
            )
            collaborating = (
                select(*columns)
                .select_from(
                    milestone_collaborators.join(
                        milestones, milestones.c.id == milestone_collaborators.c.milestone_id
                    )
                    .join(customers, customers.c.id == milestones.c.customer_id)
                    .join(
                        milestone_reminders,
                        milestone_reminders.c.milestone_id == milestones.c.id,
                    )
                )
                .where(
                    milestone_collaborators.c.user_id == user_id,
                    customers.c.owner_id.is_distinct_from(user_id),
                    unfinished,
                    *window,
                )
            )
            both = union_all(owned, collaborating).subquery("reminded")
            add(
                f"day.reminders{suffix}",
                None,
                (),
                page=select(both).order_by(both.c.due, both.c.id, both.c.remind_on),
            )
        # Overdue work: each kind's first rows (read in due order from its index), merged.
        merged = first_past_due(today, upto, person)
        add(
            f"day.overdue{suffix}",
            None,
            (),
            page=select(merged).order_by(merged.c.due, merged.c.kind, merged.c.id),
        )
        # Customers over their stage's expected days: one stage at a time (its bound
        # computed by the caller keeps the statement portable and on the stage's index).
        of_user = (customers.c.owner_id == user_id,) if mine else ()
        columns = (
            customers.c.slug,
            customers.c.name,
            customers.c.stage,
            customers.c.stage_entered,
            customers.c.renewal,
            customers.c.arr,
        )
        of_book = select(*columns).where(customers.c.deleted_at.is_(None), *of_user)
        # A user's from their customers (the owner index), not from the stage's.
        stage = sorted_by(customers.c.stage) if mine else customers.c.stage
        add(
            f"day.over_sla{suffix}",
            of_book.where(
                stage == given("stage", String),
                customers.c.stage_entered < given("before", Date),
            ),
            (customers.c.stage_entered, customers.c.slug),
        )
        # Renewals in the next 30 days, lapsed ones too (not renewed yet): those first.
        add(
            f"day.renewals{suffix}",
            of_book.where(customers.c.renewal <= until, customers.c.stage.not_in(terminal)),
            (customers.c.renewal, customers.c.slug),
        )
        # Customers handed to a team with nobody to assign: for a user, those of their team
        # and those they still own (the owner the handoff kept). Few: sorted, not walked in
        # slug order through the whole table.
        owner = users.alias("owner")
        handoffs = (
            select(customers.c.slug, customers.c.name, customers.c.handoff_pending, owner.c.handle)
            .select_from(customers.outerjoin(owner, owner.c.id == customers.c.owner_id))
            .where(customers.c.handoff_pending.is_not(None), customers.c.deleted_at.is_(None))
        )
        if mine:  # (the few pending read from their index, then tested: not the owner's)
            handoffs = handoffs.where(
                or_(customers.c.handoff_pending == team, sorted_by(customers.c.owner_id) == user_id)
            )
        add(f"day.handoffs{suffix}", handoffs, (sorted_by(customers.c.slug),))
        # Notifications parked as failed: a user's own and their team channel's.
        failed = (
            select(outbox.c.id, outbox.c.day, outbox.c.payload, outbox.c.error, users.c.handle,
                   outbox.c.team)
            .select_from(outbox.outerjoin(users, users.c.id == outbox.c.user_id))
            .where(outbox.c.state == "failed")
        )  # fmt: skip
        if mine:
            failed = failed.where(or_(outbox.c.user_id == user_id, outbox.c.team == team))
        add(f"day.notifications{suffix}", failed, (outbox.c.day, outbox.c.id))
    return found


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
