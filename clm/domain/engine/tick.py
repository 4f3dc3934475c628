"""Matching and firing rules, one day of the tick, and `explain`.

A transition is dated the day its conditions became true, so a tick after missed days writes
the history daily ticks would have written."""

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Connection, Row, and_, func, or_, select

from clm.db import bigger_write_cache, insert_new, set_meta, utcnow
from clm.domain.engine.conditions import MILESTONE_KINDS, OPS, Condition, parse_condition
from clm.domain.engine.field_defs import field_defs
from clm.domain.engine.fields import PREVIOUS
from clm.domain.health_now import customer_columns
from clm.domain.records import new_uuid
from clm.domain.spool import Spool
from clm.lifecycle import RULE_CHURN_REASON
from clm.storage.tables import customers, rule_firings, rules, transitions

MAX_PASSES = 25  # a cycle of rules cannot loop for ever
# The overdue rows a day of the tick lists, oldest first (all of them are counted): the backlog
# is not the day's news, and on a large book it is the size of the book (`clm report overdue`
# lists it whole).
OVERDUE_LISTED = 1000
BIG_DAY = 1000  # rules fired (or reminders: 5x) from which a tick asks for a bigger page cache


@dataclass
class LoadedRule:
    name: str
    from_stages: list[str]
    to: str | None
    conditions: list[Condition]
    cta: str | None
    playbook: str | None
    uuid: str  # what its firings are recorded under: a rule re-added under a name is new
    created_at: datetime
    # Firings recorded under its name (before firings named the rule's uuid) that are its own,
    # made since it was added: those of a removed rule of the same name are not.
    named_firings: bool = False
    churn_reason: str | None = None  # what its moves into a terminal stage record


def _loaded(
    conn: Connection, row, custom: dict | None = None, bands: tuple[int, int] | None = None
) -> LoadedRule:
    """A rule row as the tick uses it; its band conditions read the book's `bands`."""
    named = select(rule_firings.c.id).where(
        rule_firings.c.rule == row.name, rule_firings.c.created_at >= row.created_at
    )
    return LoadedRule(
        row.name,
        row.from_stages.split(";"),
        row.to_stage,
        [_with_bands(parse_condition(text, custom), bands) for text in json.loads(row.conditions)],
        row.cta,
        row.playbook,
        row.uuid,
        row.created_at,
        conn.scalar(named.limit(1)) is not None,
        row.churn_reason,
    )


def _with_bands(condition, bands: tuple[int, int] | None):
    if bands is None or not hasattr(condition, "with_bands"):
        return condition
    return condition.with_bands(*bands)


def book_bands(conn: Connection) -> tuple[int, int]:
    """The health from which a customer is amber, and green: the scorecard's bands."""
    from clm.domain.scorecard import book_card

    card = book_card(conn)
    return card.amber, card.green


def fired_in_stay(rule: LoadedRule, customer_id, stay):
    """SQL: the rule's firings for a customer in a stay (ids or columns)."""
    mine = rule_firings.c.rule == rule.uuid
    if rule.named_firings:
        mine = and_(
            rule_firings.c.rule.in_((rule.uuid, rule.name)),
            or_(mine, rule_firings.c.created_at >= rule.created_at),
        )
    return and_(mine, rule_firings.c.customer_id == customer_id, rule_firings.c.stay == stay)


ID_CHUNK = 500  # ids per IN list (SQLite's old limit on bound parameters is 999)


def matches(
    conn: Connection, rule: LoadedRule, day: date, among: list[int] | None = None
) -> list[tuple[object, date]]:
    """The customers `rule` fires for on `day` (all conditions hold, not yet fired in this
    stay), each with the day its conditions became true; one indexed query (with `among`, only
    those customers, a few hundred ids a query)."""
    if among is not None:
        return [
            found
            for start in range(0, len(among), ID_CHUNK)
            for found in _matches(conn, rule, day, among[start : start + ID_CHUNK])
        ]
    return _matches(conn, rule, day)


def _matches(conn: Connection, rule: LoadedRule, day: date, among=None):
    firsts = {
        i: condition.first_day(day).label(f"first_{i}")
        for i, condition in enumerate(rule.conditions)
        if condition.on_a_row_day
    }
    fired = select(rule_firings.c.id).where(fired_in_stay(rule, customers.c.id, customers.c.stay))
    # No `stage_entered <= day` here (the day check below covers it): the planner then picks
    # the index of the rule's own condition (lead score, health, renewal…) after the stage.
    where = [
        customers.c.deleted_at.is_(None),
        customers.c.stage.in_(rule.from_stages),
        *(c.clause(day) for c in rule.conditions if c.field not in MILESTONE_KINDS),
        ~fired.exists(),
        *([customers.c.id.in_(among)] if among is not None else []),
    ]
    on_milestones = [c for c in rule.conditions if c.field in MILESTONE_KINDS]
    if on_milestones:
        # The customers whose milestones hold, found from a stage index and the milestones'
        # alone: a stage of a large book holds thousands of customers and few of them qualify,
        # whose rows only are read.
        candidate = customers.alias("candidate")
        holding = select(candidate.c.id).where(
            candidate.c.stage.in_(rule.from_stages),
            *(c.holding(day, candidate) for c in on_milestones),
        )
        where.append(customers.c.id.in_(holding))
    # Health as now (the score, or a health set by hand): `since` reads its day.
    query = select(*customer_columns(), *firsts.values()).where(*where)
    found = []
    for row in conn.execute(query):
        became_true = max(
            row.stage_entered,
            *(
                condition.since(row, getattr(row, f"first_{i}", None))
                for i, condition in enumerate(rule.conditions)
            ),
        )
        if became_true <= day:  # an edit or entry dated after `day` (by --today) is not true yet
            found.append((row, became_true))
    return found


class Match(NamedTuple):
    """A rule that holds for a customer, dated the day its conditions became true."""

    on: date
    position: int  # the rule's place in the rule book: ties fire in its order
    rule: LoadedRule
    customer: Row


class Firing(NamedTuple):
    on: date
    rule: LoadedRule
    customer: Row


@dataclass
class TickResult:
    """One day of the tick: what it did and what is overdue."""

    date: date
    # Each list of news is a Spool: past a chunk of rows, kept in a temporary file until the
    # output and the digests read it (a catch-up makes hundreds of thousands).
    transitions: Spool
    reminders: Spool
    ctas_opened: Spool
    tasks_created: Spool
    # The first OVERDUE_LISTED overdue items, oldest first, and how many there are in all
    # (None: not listed, as with --quiet).
    overdue: list[dict]
    overdue_count: int | None = None
    dry_run: bool = False
    # Handoffs to a team with nobody to assign (the owner kept), and reminders with nobody to
    # send them to (not sent: they stay pending).
    handoffs_pending: Spool = field(default_factory=Spool)
    undeliverable: list[dict] = field(default_factory=list)


def tick(
    conn: Connection,
    today: date,
    dry_run: bool = False,
    trying: Iterable[str] = (),
    with_overdue: bool = True,
) -> TickResult:
    """One day of the engine: rules to a fixed point, due reminders fired once, overdue listed.
    Runs inside the caller's write transaction; a dry run is rolled back by the caller.
    `trying` names disabled rules to apply as if enabled (for a dry run before enabling).

    Each pass matches every rule (one query each), then fires what matched, all customers at
    once: a pass costs a fixed number of statements, whatever the number of customers moved.
    The next pass looks only at the customers the last one touched: nobody else changed."""
    from clm.domain.milestones import fire_reminders
    from clm.domain.scorecard import score_customers
    from clm.domain.tasks import task_rows
    from clm.domain.transitions import Lookups

    score_customers(conn, today)  # today's health first: the rules on health read it

    news = {"moved": Spool(), "opened": Spool(), "task_ids": [], "pending": Spool()}
    custom, bands = field_defs(conn), book_bands(conn)
    loaded = [
        _loaded(conn, row, custom, bands)
        for row in conn.execute(
            select(rules)
            .where(rules.c.deleted_at.is_(None), rules.c.enabled | rules.c.name.in_(trying))
            .order_by(rules.c.position)
        )
    ]
    lookups = None
    touched: dict[int, str] | None = None  # customer id -> stage, after the last pass
    for _ in range(MAX_PASSES):
        found = []
        for position, rule in enumerate(loaded):
            if touched is None:
                among = None
            else:
                among = [i for i, stage in touched.items() if stage in rule.from_stages]
                if not among:
                    continue
            found += [Match(on, position, rule, c) for c, on in matches(conn, rule, today, among)]
        # Fire in the order the days came: the history a tick every day would have written.
        # A customer's move ends its stay: its later matches wait for the next pass.
        found.sort(key=lambda match: (match.on, match.position, match.customer.id))
        firing, moving = [], set()
        for match in found:
            if match.customer.id not in moving:
                firing.append(Firing(match.on, match.rule, match.customer))
                if match.rule.to:
                    moving.add(match.customer.id)
        if not firing:
            break
        del found  # its customer rows live on in `firing`, a chunk at a time below
        lookups = lookups or Lookups(conn)
        touched = _fire_in_chunks(conn, firing, lookups, news)
        if not touched:
            break
    reminders, undeliverable = fire_reminders(conn, today, REMINDER_KEYS, into=Spool())
    if not dry_run:
        set_meta(conn, "last_tick", today.isoformat())
    overdue, overdue_count = [], None
    if with_overdue:  # not with --quiet: cron's tick skips the queries and their imports
        from clm.domain.agenda import overdue_count as count_overdue
        from clm.domain.agenda import overdue_items

        overdue = list(overdue_items(conn, today, limit=OVERDUE_LISTED))
        overdue_count = len(overdue)
        if overdue_count == OVERDUE_LISTED:  # maybe more: counted in SQL, not listed
            overdue_count = count_overdue(conn, today)
    return TickResult(
        today,
        news["moved"],
        reminders,
        news["opened"],
        Spool(task_rows(conn, news["task_ids"])),
        overdue,
        overdue_count,
        dry_run,
        news["pending"],
        [{k: r[k] for k in REMINDER_KEYS if k != "recipients"} for r in undeliverable],
    )


REMINDER_KEYS = ("milestone", "customer", "title", "due", "remind_on", "recipients", "to_team")


@dataclass
class TickRun:
    """The days a tick played, in order, and the machine it took the tick over from."""

    days: list[TickResult]
    took_over_from: str | None = None
    queued: bool = False  # notifications wait in the outbox (of any day)


def run_ticks(
    database,
    first: date,
    last: date,
    dry_run: bool = False,
    trying: Iterable[str] = (),
    take_over: bool = False,
    with_overdue: bool = True,
    on_day: Callable[[], None] | None = None,
) -> TickRun:
    """`clm tick`: every day from `first` to `last`, in one write transaction (rolled back for a
    dry run), each day as `tick` plays it; then the summary `clm` shows and, after the commit,
    the planner's statistics refreshed. `on_day` is called after each day (a progress bar).

    Everyone's digest is queued in the same transaction (sent after the commit, by the
    caller). A file may be synced to diverged copies, so one machine owns its tick (`claim_tick`); a
    server has one copy, and any machine ticks it."""
    from clm.db import optimize
    from clm.domain.agenda import remember_tick
    from clm.domain.engine.owner import claim_tick
    from clm.domain.engine.rulebook import get_rule
    from clm.domain.notify.outbox import notified_through, queue_digests

    trying = list(trying)
    run = TickRun([])
    with database.write(dry_run=dry_run, scattered=True) as conn:
        if not dry_run and database.is_sqlite:
            run.took_over_from = claim_tick(conn, take_over)
        for name in trying:
            get_rule(conn, name)  # a typo is an error, not a rule silently left out
        since = notified_through(conn)  # people's news since then goes in the digests
        day = first
        while day <= last:
            run.days.append(tick(conn, day, dry_run, trying, with_overdue))
            day += timedelta(days=1)
            if on_day:
                on_day()
        if not dry_run:
            run.queued = queue_digests(conn, last, run.days, since)
            remember_tick(conn, first, run.days)
    if not dry_run:
        optimize(database)
    return run


FIRE_CHUNK = 5000  # firings written at a time: a catch-up's rows are never all built at once


def _fire_in_chunks(conn: Connection, firing: list[Firing], lookups, news: dict) -> dict[int, str]:
    """`_fire` a chunk of firings at a time, in their order (`firing` is emptied as it goes):
    the statements per chunk stay few, and the rows built for them (transitions, customers'
    changes, playbooks' milestones and tasks) are let go before the next chunk (on a
    100,000-customer catch-up, 60,000 moves made at once held 500 MB). The customers touched,
    with their stage now: a move's stage, whichever chunk its customer's other firings were
    in."""
    touched, moved = {}, {}
    while firing:
        chunk = firing[:FIRE_CHUNK]
        del firing[:FIRE_CHUNK]  # consumed: the customers' rows go with their chunk
        fired_now, moved_now = _fire(conn, chunk, lookups, news)
        touched |= fired_now
        moved |= moved_now
    return touched | moved


def _fire(
    conn: Connection, firing: list[Firing], lookups, news: dict
) -> tuple[dict[int, str], dict[int, str]]:
    """Fire rules for customers, in a few statements for all of them: record each firing (once
    per stay: the unique key decides), open the CTAs, run the rules' playbooks, move the
    customers. Adds what happened to `news`; the customers fired for, with their stage before,
    and those moved, with their stage now."""
    from clm.domain.ctas import NewCta, insert_ctas
    from clm.domain.playbooks import Run
    from clm.domain.transitions import Move, enter_stages

    if len(firing) >= BIG_DAY:
        bigger_write_cache(conn)  # a catch-up: keep its many dirty pages in memory until the commit
    now = utcnow()
    rows = [
        {"uuid": new_uuid(), "rule": rule.uuid, "customer_id": customer.id,
         "stay": customer.stay, "fired_on": on, "created_at": now}
        for on, rule, customer in firing
    ]  # fmt: skip
    recorded = {
        (r["rule"], r["customer_id"], r["stay"]): r["uuid"]
        for r in insert_new(conn, rule_firings, rows)
    }
    firing_of = {}  # (rule uuid, customer id) -> the uuid of the firing recorded
    for _on, rule, customer in firing:
        key = (rule.uuid, customer.id, customer.stay)
        if key in recorded:
            firing_of[rule.uuid, customer.id] = recorded[key]
    fired = [f for f in firing if (f.rule.uuid, f.customer.id) in firing_of]
    with_cta = [f for f in fired if f.rule.cta]
    wanted = []
    for on, rule, customer in with_cta:
        kind, _, reason = rule.cta.partition(":")
        source = f"rule:{rule.name}"
        wanted.append(NewCta(on, customer, kind, reason, playbook=rule.playbook, source=source))
    opened = insert_ctas(conn, wanted, lookups.templates)
    runs, opened_news = [], []
    for (on, rule, customer), cta in zip(with_cta, opened, strict=True):
        if cta is None:
            continue
        kind, _, reason = rule.cta.partition(":")
        cta_id, run = cta
        opened_news.append(
            {
                "id": cta_id,
                "customer": customer.slug,
                "type": kind,
                "reason": reason,
                "on": on,
                "rule": rule.name,
            }
        )
        if run is not None:
            runs.append(run)
    for on, rule, customer in fired:
        if rule.playbook and not rule.cta:
            anchors = {"run": on, "entry": on, "start": customer.start, "renewal": customer.renewal}
            # Once per firing (itself once per stay): a rule re-added under the same name
            # runs its playbook again.
            key = f"firing:{firing_of[rule.uuid, customer.id]}"
            runs.append(Run(customer.id, customer.owner_id, rule.playbook, key, anchors))
    came_from = _came_from(conn, [c.stay for _, rule, c in fired if rule.to == PREVIOUS])
    moves = [
        Move(customer, to, on, f"rule:{rule.name}", rule.name, _reason(rule, to))
        for on, rule, customer in fired
        if (to := _target(lookups, rule, customer, came_from)) is not None
    ]
    moved, ran = enter_stages(conn, moves, lookups, runs)
    for move, done in zip(moves, moved, strict=True):
        news["moved"].append(
            {k: done[k] for k in ("customer", "from", "to", "on")} | {"rule": move.rule}
        )
        if done["pending"]:
            news["pending"].append(
                {"customer": done["customer"], "team": done["pending"], "on": done["on"],
                 "owner": done["from_owner"], "rule": move.rule}
            )  # fmt: skip
        news["task_ids"] += (done["playbook"] or {}).get("tasks", [])
    news["opened"].extend(opened_news)
    for done in ran:
        news["task_ids"] += (done or {}).get("tasks", [])
    touched = {customer.id: customer.stage for _, _, customer in fired}
    return touched, {move.customer.id: move.to.key for move in moves}


def _reason(rule: LoadedRule, to) -> str:
    """Why a rule moved a customer: its conditions; into a terminal stage, a churn reason."""
    if to.terminal:
        # A rule added before rules had churn reasons, into a stage made terminal since.
        return rule.churn_reason or RULE_CHURN_REASON
    return " and ".join(map(str, rule.conditions))


def _target(lookups, rule: LoadedRule, customer, came_from: dict[str, str | None]):
    """The stage row a firing moves the customer to, or None (no move). `--to previous` is the
    stage its stay came from (`came_from`: stay -> from-stage), if that is a live stage that is
    not terminal (a customer never goes back into churn by a rule)."""
    if not rule.to:
        return None
    if rule.to != PREVIOUS:
        return lookups.stage(rule.to)
    stage = lookups.stages.get(came_from.get(customer.stay) or "")
    return None if stage is None or stage.terminal or stage.key == customer.stage else stage


def _came_from(conn: Connection, stays: list[str]) -> dict[str, str | None]:
    """Stay -> the stage the customer was in before it (its entry's from-stage)."""
    found = {}
    for start in range(0, len(stays), ID_CHUNK):
        query = select(transitions.c.uuid, transitions.c.from_stage).where(
            transitions.c.uuid.in_(stays[start : start + ID_CHUNK])
        )
        found.update(conn.execute(query).all())
    return found


def explain(conn: Connection, today: date, slug: str) -> Iterator[dict]:
    """Each rule from the customer's stage: every condition's value now, whether it holds and
    since when, and what the rule would do, or why it will not."""
    from clm.domain.records import get_customer

    customer = get_customer(conn, slug)
    query = select(rules).where(rules.c.deleted_at.is_(None)).order_by(rules.c.position)
    custom, bands = field_defs(conn), book_bands(conn)
    for row in conn.execute(query).all():
        rule = _loaded(conn, row, custom, bands)
        if customer.stage not in rule.from_stages:
            continue
        fired_on = conn.scalar(
            select(func.min(rule_firings.c.fired_on)).where(
                fired_in_stay(rule, customer.id, customer.stay)
            )
        )
        checks = [_check(conn, customer, condition, today) for condition in rule.conditions]
        action = ", ".join(
            part
            for part in (
                _move_text(conn, rule, customer) if rule.to else "",
                f"open a {rule.cta.partition(':')[0]} CTA '{rule.cta.partition(':')[2]}'"
                if rule.cta
                else "",
                f"run playbook {rule.playbook}" if rule.playbook and not rule.cta else "",
            )
            if part
        )
        failing = [c["condition"] for c in checks if not c["holds"]]
        if not row.enabled:
            verdict = f"won't: the rule is disabled (it would {action})"
        elif fired_on is not None:
            verdict = f"won't: it fired on {fired_on} in this stay"
        elif failing and all(c["holds"] or c["since"] for c in checks):
            # Only waiting for a metric to have held its days: the day it will act.
            on = max([customer.stage_entered, *(c["since"] for c in checks)])
            verdict = f"will {action} on {on}, when {' and '.join(failing)} holds"
        elif failing:
            verdict = f"won't yet: {' and '.join(failing)} does not hold"
        else:
            on = min(max([customer.stage_entered, *(c["since"] for c in checks)]), today)
            verdict = f"will {action}, dated {on}"
        for check in checks:
            yield {"rule": rule.name, **check, "verdict": verdict}


def _move_text(conn: Connection, rule: LoadedRule, customer) -> str:
    if rule.to != PREVIOUS:
        return f"move to {rule.to}"
    back = _came_from(conn, [customer.stay]).get(customer.stay)
    return f"move back to {back or 'the stage it came from'}"


def _check(conn: Connection, customer, condition: Condition, today: date) -> dict:
    """One condition for one customer now: its value, whether it holds, since when."""
    if hasattr(condition, "explain"):  # a metric's: the values it read
        return condition.explain(conn, customer, today)
    explained = getattr(condition, "explained", None)  # a field's or a contact's condition
    if explained is not None:
        return explained(conn, customer, today)
    first = None
    if condition.on_a_row_day:
        first = conn.scalar(select(condition.first_day(today, customer)))
    if condition.reads is None:  # a milestone condition
        holds = first is not None
        since = condition.since(customer, first) if holds else None
        return {
            "condition": str(condition),
            "value": "yes" if holds else "no",
            "holds": holds,
            "since": since,
        }
    value = condition.value_of(customer, today)
    holds = value is not None and OPS[condition.op](value, condition.value)
    since = condition.since(customer, first) if holds else None
    if since is not None and condition.for_days and since > today:
        # Not held long enough yet: what it waits for, and from when it will hold.
        value, holds = f"{value} (holds from {since})", False
    return {"condition": str(condition), "value": value, "holds": holds, "since": since}
