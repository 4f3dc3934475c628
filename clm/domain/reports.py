"""Reports over the book and its history, computed in SQL: stages, funnel, time in stage,
renewals, overdue work, handoffs and flows. `as_of` rebuilds the book as it stood on a day
from the transition history.

A stay is one customer's time in one stage: from a transition into the stage to the next
transition of that customer (or, while it lasts, to today), found with a window function over
the (customer, day) index, or looked up in it per stay. Medians and p90s come from the count
of stays per stage and whole days: a histogram of a few thousand entries, however long the
history, counted in Python from one text SQL aggregates (a token per stay).
"""

from collections.abc import Iterator
from datetime import date, timedelta

from sqlalchemy import (
    Connection,
    String,
    and_,
    case,
    cast,
    false,
    func,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter

from clm.db import bigger_read_cache, days_from, sorted_by
from clm.domain.agenda import overdue_by_owner, overdue_items
from clm.domain.arr_history import arr_on
from clm.domain.stay_counts import OVER_KEYS, STAY_FIELDS, STAYS_APART, per_stage, stay_days
from clm.plain import number
from clm.storage.tables import customers, stages, transitions, users

HANDOFF_KEYS = ("customer", "on", "from_stage", "to_stage", "from_owner", "to_owner")
FLOW_KEYS = ("from_stage", "to_stage", "moves", "direction")
RENEWAL_WITHIN_DAYS = 90


def _lifecycle_query():
    return (
        select(stages.c.key, stages.c.name, stages.c.team, stages.c.position,
               stages.c.expected_days, stages.c.terminal)
        .where(stages.c.deleted_at.is_(None))
        .order_by(stages.c.position)
    )  # fmt: skip


def lifecycle(conn: Connection) -> list[dict]:
    """The live stages in order: key, name, team, position, expected days, terminal."""
    return [row._asdict() for row in conn.execute(_lifecycle_query())]


def _per_stage(conn: Connection, found: dict[str, dict], empty: dict) -> list[dict]:
    """One row per stage in lifecycle order (zeros where none), then stages no longer in the
    model that the history still names."""
    return per_stage(lifecycle(conn), found, empty)


def _live_customer():
    return and_(customers.c.id == transitions.c.customer_id, customers.c.deleted_at.is_(None))


def _of_live_customer():
    """A transition of a customer not removed (the removed are few: no join with every row)."""
    removed = select(customers.c.id).where(customers.c.deleted_at.is_not(None))
    return transitions.c.customer_id.not_in(removed)


def _stays(as_of: date | None = None, next_stage: bool = True, ids: tuple | None = None):
    """Every stay of a live customer: stage, entered, the next stage and the day it left
    (None while it lasts). With `as_of`, the history as it stood that day; with `ids` (first,
    last), the customers of those ids alone. Without
    `next_stage` (None for every stay), the day it left is looked up per stay, the next
    transition of the customer in the (customer, day, id, stage) index: on SQLite a third
    cheaper than the window, which copies each customer's stays aside to read the next."""
    live = _of_live_customer()
    if ids is not None:
        live = and_(live, transitions.c.customer_id.between(*ids))
    if next_stage:
        window = {"partition_by": transitions.c.customer_id,
                  "order_by": (transitions.c.on, transitions.c.id)}  # fmt: skip
        query = select(
            transitions.c.customer_id,
            transitions.c.to_stage.label("stage"),
            transitions.c.on.label("entered"),
            func.lead(transitions.c.to_stage).over(**window).label("next_stage"),
            func.lead(transitions.c.on).over(**window).label("left"),
        ).where(live)
        if isinstance(as_of, BindParameter):  # a day given when the statement runs, or None
            query = query.where(or_(as_of.is_(None), transitions.c.on <= as_of))
        elif as_of is not None:
            query = query.where(transitions.c.on <= as_of)
        return query.subquery("stays")
    later = transitions.alias("later")
    after = [
        later.c.customer_id == transitions.c.customer_id,
        tuple_(later.c.on, later.c.id) > tuple_(transitions.c.on, transitions.c.id),
    ]
    if as_of is not None:
        after.append(later.c.on <= as_of)
    left = select(later.c.on).where(*after).order_by(later.c.on, later.c.id).limit(1)
    query = select(
        transitions.c.customer_id,
        transitions.c.to_stage.label("stage"),
        transitions.c.on.label("entered"),
        null().label("next_stage"),
        left.scalar_subquery().label("left"),
    ).where(live)
    if as_of is not None:
        query = query.where(transitions.c.on <= as_of)
    return query.subquery("stays")


def _standing(as_of: date):
    """Each live customer's stage on `as_of` (None before its first): where its latest move up
    to that day took it."""
    # Looked up per customer, latest first, in the (customer, day, id, stage) index: a fifth
    # of the time of numbering every stay in a window and keeping the last (0.06 s against
    # 0.26 s on 100,000 customers).
    latest = (
        select(transitions.c.to_stage)
        .where(transitions.c.customer_id == customers.c.id, transitions.c.on <= as_of)
        .order_by(transitions.c.on.desc(), transitions.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(customers.c.id.label("customer_id"), latest.label("stage"))
        .where(customers.c.deleted_at.is_(None))
        .subquery("standing")
    )


def _money(value) -> int | float:
    return number(round(float(value or 0), 2))


# --- the book per stage ----------------------------------------------------------------------


def stage_counts(conn: Connection, as_of: date | None = None) -> list[dict]:
    """Customers and ARR per stage: now, or as the history says they stood on `as_of`; and
    whether the stage is terminal (its ARR is lost ARR, out of the book's totals). ARR is the
    customer's ARR on that day (from its history): a churned customer's, the ARR it had."""
    if as_of is None:
        stage = customers.c.stage
        query = select(stage, func.count(), func.sum(customers.c.arr)).where(
            customers.c.deleted_at.is_(None)
        )
    else:
        standing = _standing(as_of)  # each customer's stage that day, from the history
        stage = standing.c.stage
        arr = arr_on(as_of)  # and its ARR that day, from the ARR history
        query = (
            select(stage, func.count(), func.sum(arr.c.arr))
            .select_from(standing)
            .outerjoin(arr, arr.c.customer_id == standing.c.customer_id)
            .where(stage.is_not(None))
        )
    found = {
        key: {"customers": count, "arr": _money(arr)}
        for key, count, arr in conn.execute(query.group_by(stage))
    }
    terminal = {row["key"] for row in lifecycle(conn) if row["terminal"]}
    return [
        row | {"terminal": row["stage"] in terminal}
        for row in _per_stage(conn, found, {"customers": 0, "arr": 0})
    ]


def book_totals(rows: list[dict]) -> dict:
    """The book's totals from `stage_counts`: the live customers and their ARR; the churned
    (in a terminal stage) and their ARR, lost, counted apart."""
    live = [row for row in rows if not row["terminal"]]
    gone = [row for row in rows if row["terminal"]]
    return {
        "customers": sum(row["customers"] for row in live),
        "arr": _money(sum(row["arr"] for row in live)),
        "churned": sum(row["customers"] for row in gone),
        "lost_arr": _money(sum(row["arr"] for row in gone)),
    }


def _stay_days(
    conn: Connection,
    stage_list: list[dict],
    today: date | None,
    since: date | None = None,
    as_of: date | None = None,
    moves: bool = True,
) -> list[tuple]:
    """clm.domain.stay_counts.stay_days on an open connection."""
    from clm.storage.reads import connection_reads

    return stay_days(connection_reads(conn), stage_list, today, since, as_of, moves)


def _stay_tokens(moves: bool):
    """SQL: the text of the stays of customers `:low`..`:high` for `stay_days`, their open
    stays counted up to `:today` (when given). With `moves`, the stays entered from `:since`
    and the history up to `:as_of` (each when given)."""
    from sqlalchemy import Date, Integer, bindparam

    def given(name: str, sql_type):
        return bindparam(name, type_=sql_type, required=False)

    today = given("today", Date)
    ids = (given("low", Integer), given("high", Integer))
    as_of = given("as_of", Date) if moves else None
    stays = _stays(as_of, next_stage=moves, ids=ids)
    days = func.coalesce(cast(days_from(stays.c.entered, func.coalesce(stays.c.left, today)),
                              String), "")  # fmt: skip
    token = stays.c.stage + STAY_FIELDS + days
    if moves:
        token = token + STAY_FIELDS + func.coalesce(stays.c.next_stage, "")
    query = select(func.coalesce(func.aggregate_strings(token, STAYS_APART), ""))
    if not moves:
        return query
    since = given("since", Date)
    return query.where(or_(since.is_(None), stays.c.entered >= since))


def stays_statements() -> dict:
    """The funnel's and time in stage's statements compiled ahead (clm.domain.stay_counts)."""
    return {
        "stays.lifecycle": _lifecycle_query(),
        "stays.ids": select(func.min(transitions.c.customer_id),
                            func.max(transitions.c.customer_id)),
        "stays.moves": _stay_tokens(moves=True),
        "stays.days": _stay_tokens(moves=False),
        "stays.now": _now_per_stage(),
        "stays.over": _first_over(),
    }  # fmt: skip


def funnel(conn: Connection, since: date | None = None, as_of: date | None = None,
           stay_days: list[tuple] | None = None) -> list[dict]:  # fmt: skip
    """clm.domain.stay_counts.funnel on an open connection."""
    from clm.domain.stay_counts import funnel as funnel_of
    from clm.storage.reads import connection_reads

    return funnel_of(connection_reads(conn), since, as_of, stay_days)


def _sla_bounds(today: date, stage_list: list[dict]) -> list:
    """SQL, one per stage with an SLA: the customer is in it longer than its expected days."""
    return [
        and_(
            customers.c.stage == stage["key"],
            customers.c.stage_entered < today - timedelta(days=stage["expected_days"]),
        )
        for stage in stage_list
        if stage["expected_days"]
    ]


def _over_sla(today: date, stage_list: list[dict]):
    """SQL: the customer has been in its stage longer than the stage's expected days."""
    bounds = _sla_bounds(today, stage_list)
    return or_(*bounds) if bounds else false()


def time_in_stage(
    conn: Connection, today: date, stay_days: list[tuple] | None = None
) -> list[dict]:
    """clm.domain.stay_counts.time_in_stage on an open connection."""
    from clm.domain.stay_counts import time_in_stage as time_in_stage_of
    from clm.storage.reads import connection_reads

    return time_in_stage_of(connection_reads(conn), today, stay_days)


def _now_per_stage():
    """SQL: the customers in each stage now, and those in it longer than its expected days
    (`:today`). The stage's days are joined (one shape whatever the lifecycle): a fifth more
    than a test per stage (0.06 s against 0.05 s on book 2)."""
    from sqlalchemy import Date, bindparam

    today = bindparam("today", type_=Date, required=False)
    expected = stages.c.expected_days
    late = and_(expected != 0, days_from(customers.c.stage_entered, today) > expected)
    live_stage = and_(stages.c.key == customers.c.stage, stages.c.deleted_at.is_(None))
    return (
        select(customers.c.stage, func.count(), func.sum(case((late, 1), else_=0)))
        .select_from(customers.outerjoin(stages, live_stage))
        .where(customers.c.deleted_at.is_(None))
        # Grouped from the table read in storage order (SQLite otherwise walks a stage index
        # and fetches each customer's row from wherever it lies: 0.16 s against 0.06 s).
        .group_by(sorted_by(customers.c.stage))
    )


def _first_over():
    """SQL: the first `:limit` customers of stage `:stage` that entered it before `:cutoff`,
    from the (stage, day entered) index."""
    from sqlalchemy import Date, Integer, String, bindparam

    def given(name: str, sql_type):
        return bindparam(name, type_=sql_type, required=False)

    owner = users.alias("owner")
    shown = (customers.c.slug, customers.c.stage, owner.c.handle, customers.c.stage_entered)
    return (
        select(*shown)
        .select_from(customers.outerjoin(owner, owner.c.id == customers.c.owner_id))
        .where(
            customers.c.deleted_at.is_(None),
            customers.c.stage == given("stage", String),
            customers.c.stage_entered < given("cutoff", Date),
        )
        .order_by(customers.c.stage_entered, customers.c.slug)
        .limit(given("limit", Integer))
    )


def over_sla(conn: Connection, today: date, limit: int | None = None) -> Iterator[dict]:
    """The customers in their stage longer than its expected days, longest over first (the
    first `limit` of them)."""
    stage_list = lifecycle(conn)
    expected = {stage["key"]: stage["expected_days"] for stage in stage_list}
    owner = users.alias("owner")

    def over(bound) -> Select:
        shown = (customers.c.slug, customers.c.stage, owner.c.handle, customers.c.stage_entered)
        return (
            select(*shown)
            .select_from(customers.outerjoin(owner, owner.c.id == customers.c.owner_id))
            .where(customers.c.deleted_at.is_(None), bound)
        )

    if limit is None:
        query = over(_over_sla(today, stage_list)).order_by(
            customers.c.stage_entered, customers.c.slug
        )
    else:
        # The first few of each stage, each read in order from the (stage, day entered)
        # index, then the first of those: not every customer over (26,000 of book 2) sorted.
        bounds = _sla_bounds(today, stage_list)
        firsts = [
            select(
                over(bound)
                .order_by(customers.c.stage_entered, customers.c.slug)
                .limit(limit)
                .subquery()
            )
            for bound in bounds
        ]
        if not firsts:
            return
        found = union_all(*firsts).subquery()
        query = select(found).order_by(found.c.stage_entered, found.c.slug).limit(limit)
    for slug, stage, handle, entered in conn.execute(query):
        days = (today - entered).days
        yield dict(zip(OVER_KEYS, (slug, stage, handle, days, expected[stage],
                                   days - expected[stage]), strict=True))  # fmt: skip


# --- renewals and overdue work -----------------------------------------------------------------


def _renewing(today: date, within_days: int):
    """Live customers (not churned) renewing by `within_days` ahead, or whose renewal date has
    passed without a renewal (`customer renew` moves the date on): those a CSM needs most."""
    terminal = select(stages.c.key).where(stages.c.terminal, stages.c.deleted_at.is_(None))
    return and_(
        customers.c.deleted_at.is_(None),
        customers.c.renewal <= today + timedelta(days=within_days),
        customers.c.stage.not_in(terminal),
    )


def renewals(
    conn: Connection, today: date, within_days: int, brief: bool = False
) -> Iterator[dict]:
    """Customers (not churned) renewing within `within_days`, lapsed ones (negative days left)
    first, then soonest first, with the days left. `brief`: only what the report's table
    shows (slug, stage, owner, health, ARR, renewal), not each customer's tags and followers."""
    from clm.domain.customer_rows import select_customers
    from clm.domain.customers import _as_dict
    from clm.domain.health_now import health_now

    order = (customers.c.renewal, customers.c.slug)
    if brief:
        owner = users.alias("owner")
        query = (
            select(customers.c.slug, customers.c.stage, owner.c.handle.label("owner"),
                   health_now().label("health"), customers.c.arr, customers.c.renewal)
            .select_from(customers.outerjoin(owner, owner.c.id == customers.c.owner_id))
            .where(_renewing(today, within_days))
        )  # fmt: skip
        for row in conn.execute(query.order_by(*order)):
            yield row._asdict() | {"days_left": (row.renewal - today).days}
        return
    query = select_customers().where(_renewing(today, within_days))
    for row in conn.execute(query.order_by(*order)):
        record = _as_dict(row, today)
        yield record | {"days_left": (record["renewal"] - today).days}


def renewals_at_stake(conn: Connection, today: date, within_days: int) -> tuple[int, float]:
    """How many customers renew in the window or have lapsed, and their ARR."""
    query = select(func.count(), func.sum(customers.c.arr)).where(_renewing(today, within_days))
    count, arr = conn.execute(query).one()
    return count, _money(arr)


# --- moves -------------------------------------------------------------------------------------


def _moves(since: date | None, as_of: date | None) -> list:
    where = [transitions.c.from_stage.is_not(None)]
    if since is not None:
        where.append(transitions.c.on >= since)
    if as_of is not None:
        where.append(transitions.c.on <= as_of)
    return where


def _handed_off(stage_list: list[dict]):
    """SQL: a move into a stage of a team from a stage of another (or of none, or removed)."""
    moves = [
        and_(transitions.c.to_stage == stage["key"],
             transitions.c.from_stage.not_in([other["key"] for other in stage_list
                                              if other["team"] == stage["team"]]))
        for stage in stage_list
        if stage["team"]
    ]  # fmt: skip
    return or_(*moves) if moves else false()


def _handoffs(stage_list: list[dict], since: date | None) -> Select:
    here, there = stages.alias("here"), stages.alias("there")
    before, after = users.alias("before"), users.alias("after")
    joined = (
        transitions.join(customers, _live_customer())
        .outerjoin(here, and_(here.c.key == transitions.c.from_stage, here.c.deleted_at.is_(None)))
        .outerjoin(there, and_(there.c.key == transitions.c.to_stage, there.c.deleted_at.is_(None)))
        .outerjoin(before, before.c.id == transitions.c.from_owner_id)
        .outerjoin(after, after.c.id == transitions.c.to_owner_id)
    )
    shown = (
        customers.c.slug, transitions.c.on, transitions.c.from_stage, transitions.c.to_stage,
        before.c.handle, after.c.handle, here.c.team, there.c.team,
    )  # fmt: skip
    return select(*shown).select_from(joined).where(*_moves(since, None), _handed_off(stage_list))


def handoffs(
    conn: Connection, since: date | None = None, latest: int | None = None
) -> Iterator[dict]:
    """Stage changes into a stage another team owns, with the owner before and after (a move
    into a stage of no team, such as churned, hands nothing off); oldest first, or the
    `latest` few, newest first."""
    query = _handoffs(lifecycle(conn), since)
    keys = (*HANDOFF_KEYS, "from_team", "to_team")
    if latest is not None:
        query = query.order_by(transitions.c.on.desc(), transitions.c.id.desc()).limit(latest)
        for row in conn.execute(query):
            yield dict(zip(keys, row, strict=True))
        return
    # All of them: sorted here, the few handoffs among the moves. Ordered in SQL, SQLite walks
    # the day index and reads every move's row out of order to test it (5x the time of a
    # straight scan on a book of 300,000 moves).
    found = conn.execute(query.add_columns(transitions.c.id)).all()
    found.sort(key=lambda row: (row.on, row.id))
    for row in found:
        yield dict(zip(keys, row[:-1], strict=True))


def handoff_count(conn: Connection, since: date | None = None) -> int:
    query = select(func.count()).where(
        *_moves(since, None), _of_live_customer(), _handed_off(lifecycle(conn))
    )
    return conn.scalar(query)


def flows(conn: Connection, since: date | None = None, as_of: date | None = None) -> list[dict]:
    """How many moves went from each stage to each other stage, and which way: forward,
    backward, or churn (into a terminal stage). In lifecycle order."""
    query = (
        select(transitions.c.from_stage, transitions.c.to_stage, func.count())
        .where(*_moves(since, as_of), _of_live_customer())
        .group_by(transitions.c.from_stage, transitions.c.to_stage)
    )
    stage_list = {stage["key"]: stage for stage in lifecycle(conn)}
    far = len(stage_list) + 1

    def position(key: str) -> int:
        return stage_list[key]["position"] if key in stage_list else far

    rows = []
    for from_stage, to_stage, moves in conn.execute(query):
        if to_stage in stage_list and stage_list[to_stage]["terminal"]:
            direction = "churn"
        elif from_stage not in stage_list or to_stage not in stage_list:
            direction = "other"
        else:
            direction = "forward" if position(to_stage) > position(from_stage) else "backward"
        rows.append(dict(zip(FLOW_KEYS, (from_stage, to_stage, moves, direction), strict=True)))
    return sorted(rows, key=lambda r: (position(r["from_stage"]), position(r["to_stage"]),
                                       r["from_stage"], r["to_stage"]))  # fmt: skip


# --- everything on one page -------------------------------------------------------------------

LISTED = 50  # rows of a long list on the dashboard; the rest are counted


def dashboard(conn: Connection, today: date, since: date | None = None) -> dict:
    """Every report for the dashboard page, long lists cut to their first rows and counted."""
    from itertools import islice

    from clm.domain.model_file import edges, read_model
    from clm.domain.revenue import revenue_summary

    bigger_read_cache(conn)
    model = read_model(conn)
    # Without `since` the funnel and time in stage read the same stays: one pass serves both.
    stay_days = _stay_days(conn, lifecycle(conn), today) if since is None else None
    return {
        "today": today,
        "since": since,
        "lifecycle": lifecycle(conn),
        "rules": edges(model),
        "stages": stage_counts(conn),
        "funnel": funnel(conn, since, stay_days=stay_days),
        "time_in_stage": time_in_stage(conn, today, stay_days),
        "over_sla": list(over_sla(conn, today, limit=LISTED)),
        "renewals": list(islice(renewals(conn, today, RENEWAL_WITHIN_DAYS), LISTED)),
        "renewals_at_stake": renewals_at_stake(conn, today, RENEWAL_WITHIN_DAYS),
        "overdue": list(overdue_items(conn, today, limit=LISTED)),
        "overdue_by_owner": overdue_by_owner(conn, today),
        "handoffs": list(handoffs(conn, since, latest=LISTED)),
        "handoff_count": handoff_count(conn, since),
        "flows": flows(conn, since),
        "revenue": revenue_summary(conn, today, since),
    }
