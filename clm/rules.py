"""Transition rules: conditions compiled to SQL, their actions, and the daily tick.

A condition's day count becomes a date bound computed once (`days_in_stage >= 30` is
`stage_entered <= day - 30`), so each rule is one indexed query returning only the customers
that match. A transition is dated the day its conditions became true, so a tick after missed
days writes the history daily ticks would have written.
"""

import json
import math
import operator
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, and_, func, or_, select

from clm.db import insert_new, roomy_write, set_meta, utcnow
from clm.domain.records import find_live, new_row, new_uuid, update_row
from clm.errors import Conflict, Invalid
from clm.lifecycle import RuleSpec
from clm.models import customers, milestones, notes, rule_firings, rules

DAY_FIELDS = ("days_in_stage", "days_since_start", "days_to_renewal")
DATE_FIELDS = {"days_since_start": "start", "days_to_renewal": "renewal"}  # the date counted from
MAX_DAYS = 36_500  # a century: any more and the day bound leaves the calendar
METRIC_FIELDS = ("health", "lead_score", "arr")
MILESTONE_KINDS = ("milestone_done", "milestone_overdue")
OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
    "!=": operator.ne,
}
# `day - column OP n` holds when `column FLIPPED(OP) day - n`.
FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_COMPARISON = re.compile(r"([a-z_]+)\s*(<=|>=|!=|=|<|>)\s*(-?\d+(?:\.\d+)?)", re.ASCII)
CONDITION_FORMS = (
    "FIELD OP NUMBER with FIELD one of days_in_stage, days_since_start, days_to_renewal, health, "
    "lead_score, arr and OP one of < <= > >= = !=; or milestone_done:TITLE, milestone_overdue:TITLE"
)
MAX_PASSES = 25  # a cycle of rules cannot loop for ever
BIG_DAY = 1000  # rules fired (or reminders: 5x) from which a tick asks for a bigger page cache
RULE_KEYS = ("name", "from", "to", "when", "cta", "playbook", "enabled")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: float | str  # a number, or a milestone title

    def __str__(self) -> str:
        if self.field in MILESTONE_KINDS:
            return f"{self.field}:{self.value}"
        value = int(self.value) if float(self.value).is_integer() else self.value
        return f"{self.field} {self.op} {value}"

    def clause(self, day: date):
        """The condition as SQL over `customers`, as of `day`."""
        compare = OPS[self.op]
        if self.field in ("days_in_stage", "days_since_start"):
            column = (
                customers.c.stage_entered if self.field == "days_in_stage" else customers.c.start
            )
            return OPS[FLIPPED[self.op]](column, day - timedelta(days=int(self.value)))
        if self.field == "days_to_renewal":
            return and_(
                customers.c.renewal.is_not(None),
                compare(customers.c.renewal, day + timedelta(days=int(self.value))),
            )
        if self.field in METRIC_FIELDS:
            column = customers.c[self.field]
            return and_(column.is_not(None), compare(column, self.value))
        return self.holding(day)

    def holding(self, day: date, customer_id=None):
        """SQL: the customer has milestones that make this (milestone) condition hold."""
        return self._milestones(day, customer_id).exists()

    def _milestones(self, day: date, customer_id=None):
        """The customer's milestones that make this condition hold on `day` (correlated with
        the outer `customers` query unless `customer_id`, an id or a column, is given)."""
        owner = customers.c.id if customer_id is None else customer_id
        mine = and_(
            milestones.c.customer_id == owner,
            milestones.c.title == self.value,
            milestones.c.deleted_at.is_(None),
        )
        if self.field == "milestone_done":
            return select(milestones.c.done_on).where(
                mine, milestones.c.status == "done", milestones.c.done_on <= day
            )
        return select(milestones.c.due).where(
            mine, milestones.c.status.in_(("open", "blocked")), milestones.c.due < day
        )

    def first_milestone_day(self, day: date, customer_id: int | None = None):
        """SQL for the earliest done (or due) day of the milestones that make it hold."""
        found = self._milestones(day, customer_id)
        return found.with_only_columns(func.min(found.selected_columns[0])).scalar_subquery()

    @property
    def on_a_row_day(self) -> bool:
        """Whether the day it became true needs a day read from other rows (`first_day`)."""
        return self.field in MILESTONE_KINDS or self.field in DATE_FIELDS

    def first_day(self, day: date, customer_id=None):
        """SQL for the day `since` needs besides the customer row: the first milestone day of
        a milestone condition; the day a date condition's field last changed (the latest of
        its timeline entries, NULL when it kept the value the customer was added with)."""
        if self.field in MILESTONE_KINDS:
            return self.first_milestone_day(day, customer_id)
        owner = customers.c.id if customer_id is None else customer_id
        kind = DATE_FIELDS[self.field]  # its timeline entries' kind
        return (
            select(func.max(notes.c.on))
            .where(notes.c.customer_id == owner, notes.c.kind == kind)
            .scalar_subquery()
        )

    def since(self, row, first_day: date | None = None) -> date:
        """The day this condition became true for a customer row that matches it, given its
        `first_day` (a milestone condition's first milestone day; for a date condition, the
        day the date last changed, if it did: a moved date holds from the move on)."""
        entered = row.stage_entered
        n = int(self.value) if self.field in DAY_FIELDS else 0
        if self.field == "days_in_stage":
            return entered + timedelta(days=n + (self.op == ">"))
        if self.field == "days_since_start":
            held = row.start + timedelta(days=n + (self.op == ">"))
            return max(entered, held, first_day or entered)
        if self.field == "days_to_renewal":
            held = row.renewal - timedelta(days=n - (self.op == "<"))
            return max(entered, held, first_day or entered)
        if self.field in METRIC_FIELDS:
            return max(entered, getattr(row, f"{self.field}_on") or entered)
        overdue_from = first_day + timedelta(days=self.field == "milestone_overdue")
        return max(entered, overdue_from)


def parse_condition(text: str) -> Condition:
    """`days_in_stage >= 30`, `health < 40`, `milestone_done:Kick-off`; else Invalid."""
    word = text.strip()
    kind, _, title = word.partition(":")
    if kind.strip() in MILESTONE_KINDS:
        if not title.strip():
            raise Invalid(f"invalid condition '{text}': {kind.strip()}: needs a milestone title")
        return Condition(kind.strip(), "=", title.strip())
    match = _COMPARISON.fullmatch(word)
    if not match or match.group(1) not in (*DAY_FIELDS, *METRIC_FIELDS):
        raise Invalid(f"invalid condition '{text}': use {CONDITION_FORMS}")
    field, op, value = match.groups()
    if not math.isfinite(float(value)):
        raise Invalid(f"invalid condition '{text}': {value} is not a finite number")
    if field not in ("arr",) and not float(value).is_integer():
        raise Invalid(f"invalid condition '{text}': {field} takes a whole number")
    if field in DAY_FIELDS and abs(float(value)) > MAX_DAYS:
        raise Invalid(f"invalid condition '{text}': {field} takes at most {MAX_DAYS} days")
    return Condition(field, op, float(value))


# --- the rule book -------------------------------------------------------------------------


def rule_problems(
    conn: Connection,
    name: str,
    from_stages: Iterable[str],
    to: str | None,
    when: Iterable[str],
    cta: str | None,
    playbook: str | None,
) -> list[str]:
    """Every problem of a rule, each naming what is wrong (empty when it is sound)."""
    from clm.domain.ctas import TYPES
    from clm.domain.playbooks import get_playbook
    from clm.domain.stages import get_stage
    from clm.errors import ClmError

    problems = []
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", name):
        problems.append(f"invalid rule name '{name}': use lowercase letters, digits, '.', '_', '-'")
    from_stages = list(from_stages)
    if not from_stages:
        problems.append("a rule needs --from STAGE")
    for key in [*from_stages, *([to] if to else [])]:
        try:
            get_stage(conn, key)
        except ClmError as exc:
            problems.append(str(exc))
    if to and to in from_stages:
        problems.append(f"--to {to} is also a --from stage: the rule would move a customer nowhere")
    conditions = list(when)
    if not conditions:
        problems.append("a rule needs at least one --when CONDITION")
    for text in conditions:
        try:
            parse_condition(text)
        except Invalid as exc:
            problems.append(str(exc))
    if cta is not None:
        kind, _, reason = cta.partition(":")
        if kind not in TYPES or not reason.strip():
            problems.append(
                f"invalid --cta '{cta}': use TYPE:REASON with TYPE one of {', '.join(TYPES)}"
            )
    if playbook is not None:
        try:
            get_playbook(conn, playbook)
        except ClmError as exc:
            problems.append(str(exc))
    if not to and cta is None and playbook is None:
        problems.append("a rule needs an action: --to STAGE, --cta TYPE:REASON or --playbook NAME")
    return problems


def add_rule(
    conn: Connection,
    name: str,
    from_stages: Iterable[str],
    when: Iterable[str],
    to: str | None = None,
    cta: str | None = None,
    playbook: str | None = None,
    enabled: bool = True,
) -> dict:
    """Add a rule after checking all of it; every problem is reported at once."""
    name, from_stages, when = (
        name.strip().lower(),
        [s.strip().lower() for s in from_stages],
        list(when),
    )
    problems = rule_problems(conn, name, from_stages, to, when, cta, playbook)
    if conn.scalar(select(rules.c.id).where(rules.c.name == name, rules.c.deleted_at.is_(None))):
        problems.insert(0, f"rule '{name}' already exists")
    if problems:
        raise Invalid("; ".join(problems))
    position = (conn.scalar(select(func.max(rules.c.position))) or 0) + 1
    row = new_row(
        conn,
        name=name,
        position=position,
        from_stages=";".join(from_stages),
        to_stage=to.strip().lower() if to else None,
        conditions=json.dumps([str(parse_condition(text)) for text in when]),
        cta=cta.strip() if cta else None,
        playbook=playbook,
        enabled=enabled,
    )
    conn.execute(rules.insert().values(row))
    return next(r for r in list_rules(conn) if r["name"] == name)


def install_rules(conn: Connection, specs: Iterable[RuleSpec]) -> None:
    for spec in specs:
        add_rule(conn, spec.name, spec.from_stages, spec.when, spec.to, spec.cta, spec.playbook)


def get_rule(conn: Connection, name: str):
    return find_live(conn, rules, "name", name.strip().lower(), "rule")


def _rule_dict(row) -> dict:
    return {
        "name": row.name,
        "from": row.from_stages.split(";"),
        "to": row.to_stage,
        "when": json.loads(row.conditions),
        "cta": row.cta,
        "playbook": row.playbook,
        "enabled": row.enabled,
    }


def list_rules(conn: Connection) -> Iterator[dict]:
    query = select(rules).where(rules.c.deleted_at.is_(None)).order_by(rules.c.position)
    for row in conn.execute(query):
        yield _rule_dict(row)


def remove_rule(conn: Connection, name: str) -> None:
    update_row(conn, rules, get_rule(conn, name), {"deleted_at": utcnow()})


def set_enabled(conn: Connection, name: str, enabled: bool) -> None:
    row = get_rule(conn, name)
    if row.enabled == enabled:
        raise Conflict(f"rule '{row.name}' is already {'enabled' if enabled else 'disabled'}")
    update_row(conn, rules, row, {"enabled": enabled})


def rules_using(conn: Connection, stage: str) -> list[str]:
    """The names of the live rules that move customers from or to `stage`."""
    return [
        row.name
        for row in conn.execute(select(rules).where(rules.c.deleted_at.is_(None)))
        if stage in row.from_stages.split(";") or row.to_stage == stage
    ]


# --- matching and firing -------------------------------------------------------------------


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


def _loaded(conn: Connection, row) -> LoadedRule:
    named = select(rule_firings.c.id).where(
        rule_firings.c.rule == row.name, rule_firings.c.created_at >= row.created_at
    )
    return LoadedRule(
        row.name,
        row.from_stages.split(";"),
        row.to_stage,
        [parse_condition(text) for text in json.loads(row.conditions)],
        row.cta,
        row.playbook,
        row.uuid,
        row.created_at,
        conn.scalar(named.limit(1)) is not None,
    )


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
            *(c.holding(day, candidate.c.id) for c in on_milestones),
        )
        where.append(customers.c.id.in_(holding))
    query = select(customers, *firsts.values()).where(*where)
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


@dataclass
class TickResult:
    date: date
    transitions: list[dict]
    reminders: list[dict]
    ctas_opened: list[dict]
    tasks_created: list[dict]
    overdue: list[dict]
    dry_run: bool = False


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
    from clm.domain.tasks import task_rows
    from clm.domain.transitions import Lookups

    news = {"moved": [], "opened": [], "task_ids": []}
    loaded = [
        _loaded(conn, row)
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
            found += [(on, position, rule, c) for c, on in matches(conn, rule, today, among)]
        # Fire in the order the days came: the history a tick every day would have written.
        # A customer's move ends its stay: its later matches wait for the next pass.
        found.sort(key=lambda c: (c[0], c[1], c[3].id))
        firing, moving = [], set()
        for on, _position, rule, customer in found:
            if customer.id not in moving:
                firing.append((on, rule, customer))
                if rule.to:
                    moving.add(customer.id)
        if not firing:
            break
        lookups = lookups or Lookups(conn)
        touched = _fire(conn, firing, lookups, news)
        if not touched:
            break
    reminders = fire_reminders(conn, today)
    if not dry_run:
        set_meta(conn, "last_tick", today.isoformat())
    overdue = []
    if with_overdue:  # not with --quiet: cron's tick skips the query and its imports
        from clm.domain.agenda import overdue_items

        overdue = list(overdue_items(conn, today))
    return TickResult(
        today,
        news["moved"],
        [
            {k: r[k] for k in ("milestone", "customer", "title", "due", "remind_on", "recipients")}
            for r in reminders
        ],
        news["opened"],
        list(task_rows(conn, news["task_ids"])),
        overdue,
        dry_run,
    )


def _fire(conn: Connection, firing: list, lookups, news: dict) -> dict[int, str]:
    """Fire rules for customers, in a few statements for all of them: record each firing (once
    per stay: the unique key decides), open the CTAs, run the rules' playbooks, move the
    customers. Adds what happened to `news`; the customers touched, with their stage now."""
    from clm.domain.ctas import NewCta, insert_ctas
    from clm.domain.playbooks import Run
    from clm.domain.transitions import Move, enter_stages

    if len(firing) >= BIG_DAY:
        roomy_write(conn)  # a catch-up: keep its many dirty pages in memory until the commit
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
    fired = [f for f in firing if (f[1].uuid, f[2].id) in firing_of]
    with_cta = [f for f in fired if f[1].cta]
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
    moves = [
        Move(
            customer,
            lookups.stage(rule.to),
            on,
            f"rule:{rule.name}",
            rule.name,
            " and ".join(map(str, rule.conditions)),
        )
        for on, rule, customer in fired
        if rule.to
    ]
    moved, ran = enter_stages(conn, moves, lookups, runs)
    for move, done in zip(moves, moved, strict=True):
        news["moved"].append(
            {k: done[k] for k in ("customer", "from", "to", "on")} | {"rule": move.rule}
        )
        news["task_ids"] += (done["playbook"] or {}).get("tasks", [])
    news["opened"] += opened_news
    for done in ran:
        news["task_ids"] += (done or {}).get("tasks", [])
    touched = {customer.id: customer.stage for _, _, customer in fired}
    touched |= {move.customer.id: move.to.key for move in moves}
    return touched


def explain(conn: Connection, today: date, slug: str) -> Iterator[dict]:
    """Each rule from the customer's stage: every condition's value now, whether it holds and
    since when, and what the rule would do, or why it will not."""
    from clm.domain.customers import get_customer

    customer = get_customer(conn, slug)
    query = select(rules).where(rules.c.deleted_at.is_(None)).order_by(rules.c.position)
    for row in conn.execute(query).all():
        rule = _loaded(conn, row)
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
                f"move to {rule.to}" if rule.to else "",
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
        elif failing:
            verdict = f"won't yet: {' and '.join(failing)} does not hold"
        else:
            on = min(max([customer.stage_entered, *(c["since"] for c in checks)]), today)
            verdict = f"will {action}, dated {on}"
        for check in checks:
            yield {"rule": rule.name, **check, "verdict": verdict}


def _check(conn: Connection, customer, condition: Condition, today: date) -> dict:
    """One condition for one customer now: its value, whether it holds, since when."""
    field = condition.field
    first = None
    if condition.on_a_row_day:
        first = conn.scalar(select(condition.first_day(today, customer.id)))
    if field in MILESTONE_KINDS:
        holds = first is not None
        since = condition.since(customer, first) if holds else None
        return {
            "condition": str(condition),
            "value": "yes" if holds else "no",
            "holds": holds,
            "since": since,
        }
    value = {
        "days_in_stage": (today - customer.stage_entered).days,
        "days_since_start": (today - customer.start).days,
        "days_to_renewal": (customer.renewal - today).days if customer.renewal else None,
    }.get(field, getattr(customer, field, None))
    holds = value is not None and OPS[condition.op](value, condition.value)
    since = condition.since(customer, first) if holds else None
    return {"condition": str(condition), "value": value, "holds": holds, "since": since}
