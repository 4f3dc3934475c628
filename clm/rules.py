"""Transition rules: conditions compiled to SQL, their actions, and the daily tick.

A condition's day count becomes a date bound computed once (`days_in_stage >= 30` is
`stage_entered <= day - 30`), so each rule is one indexed query returning only the customers
that match. A transition is dated the day its conditions became true, so a tick after missed
days writes the history daily ticks would have written.
"""

import json
import operator
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, and_, func, select

from clm.db import insert_ignore, set_meta
from clm.domain.records import find_live, new_row, update_row
from clm.errors import Conflict, Invalid
from clm.lifecycle import RuleSpec
from clm.models import customers, milestones, rule_firings, rules

DAY_FIELDS = ("days_in_stage", "days_since_start", "days_to_renewal")
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
        return self._milestones(day).exists()

    def _milestones(self, day: date, customer_id: int | None = None):
        """The customer's milestones that make this condition hold on `day` (correlated with
        the outer `customers` query unless `customer_id` is given)."""
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

    def since(self, row, first_milestone_day: date | None = None) -> date:
        """The day this condition became true for a customer row that matches it (for a
        milestone condition, given the first milestone day)."""
        entered = row.stage_entered
        n = int(self.value) if self.field in DAY_FIELDS else 0
        if self.field == "days_in_stage":
            return entered + timedelta(days=n + (self.op == ">"))
        if self.field == "days_since_start":
            return max(entered, row.start + timedelta(days=n + (self.op == ">")))
        if self.field == "days_to_renewal":
            return max(entered, row.renewal - timedelta(days=n - (self.op == "<")))
        if self.field in METRIC_FIELDS:
            return max(entered, getattr(row, f"{self.field}_on") or entered)
        overdue_from = first_milestone_day + timedelta(days=self.field == "milestone_overdue")
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
    if field not in ("arr",) and not float(value).is_integer():
        raise Invalid(f"invalid condition '{text}': {field} takes a whole number")
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
    from clm.db import utcnow

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


def _loaded(row) -> LoadedRule:
    return LoadedRule(
        row.name,
        row.from_stages.split(";"),
        row.to_stage,
        [parse_condition(text) for text in json.loads(row.conditions)],
        row.cta,
        row.playbook,
    )


def matches(conn: Connection, rule: LoadedRule, day: date) -> list[tuple[object, date]]:
    """The customers `rule` fires for on `day` (all conditions hold, not yet fired in this
    stay), each with the day its conditions became true; one indexed query."""
    firsts = {
        i: condition.first_milestone_day(day).label(f"first_{i}")
        for i, condition in enumerate(rule.conditions)
        if condition.field in MILESTONE_KINDS
    }
    fired = select(rule_firings.c.id).where(
        rule_firings.c.rule == rule.name,
        rule_firings.c.customer_id == customers.c.id,
        rule_firings.c.stay == customers.c.stay,
    )
    query = (
        select(customers, *firsts.values())
        .where(
            customers.c.deleted_at.is_(None),
            customers.c.stage.in_(rule.from_stages),
            customers.c.stage_entered <= day,
            *(condition.clause(day) for condition in rule.conditions),
            ~fired.exists(),
        )
        .order_by(customers.c.id)
    )
    found = []
    for row in conn.execute(query):
        became_true = max(
            row.stage_entered,
            *(
                condition.since(row, getattr(row, f"first_{i}", None))
                for i, condition in enumerate(rule.conditions)
            ),
        )
        if became_true <= day:  # an edit dated after `day` (by --today) is not true yet
            found.append((row, became_true))
    return found


def fire(conn: Connection, rule: LoadedRule, customer, on: date, today: date) -> dict | None:
    """Record the firing (once per stay: the unique key decides), open its CTA, run its
    playbook, and move the customer; what it did, or None when it fired already."""
    from clm.domain.ctas import create_cta
    from clm.domain.playbooks import apply_playbook
    from clm.domain.stages import get_stage
    from clm.domain.transitions import enter_stage

    firing = new_row(conn, rule=rule.name, customer_id=customer.id, stay=customer.stay, fired_on=on)
    del firing["stamps"], firing["updated_at"]
    if not insert_ignore(conn, rule_firings, [firing]):
        return None
    done: dict = {"cta": None, "tasks": [], "transition": None}
    source = f"rule:{rule.name}"
    if rule.cta:
        kind, _, reason = rule.cta.partition(":")
        done["cta"] = create_cta(
            conn, on, customer, kind, reason, source=source, playbook=rule.playbook
        )
    elif rule.playbook:
        anchors = {"run": on, "entry": on, "start": customer.start, "renewal": customer.renewal}
        ran = apply_playbook(conn, customer, rule.playbook, f"{source}:{customer.stay}", anchors)
        done["tasks"] += ran["tasks"] if ran else []
    if rule.to:
        reason = " and ".join(map(str, rule.conditions))
        moved = enter_stage(conn, customer, get_stage(conn, rule.to), on, source, rule.name, reason)
        done["transition"] = moved
    return done


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
    `trying` names disabled rules to apply as if enabled (for a dry run before enabling)."""
    from clm.domain.agenda import overdue_items
    from clm.domain.milestones import fire_reminders
    from clm.domain.tasks import task_rows

    moved, opened, task_ids = [], [], []
    loaded = [
        _loaded(row)
        for row in conn.execute(
            select(rules)
            .where(rules.c.deleted_at.is_(None), rules.c.enabled | rules.c.name.in_(trying))
            .order_by(rules.c.position)
        )
    ]
    for _ in range(MAX_PASSES):
        # Fire in the order the days came: the history a tick every day would have written.
        candidates = sorted(
            (
                (on, position, rule, customer)
                for position, rule in enumerate(loaded)
                for customer, on in matches(conn, rule, today)
            ),
            key=lambda c: (c[0], c[1], c[3].id),
        )
        fired_any = False
        for on, _position, rule, customer in candidates:
            current = conn.execute(select(customers).where(customers.c.id == customer.id)).one()
            if current.stay != customer.stay:
                continue  # moved earlier in this pass: it is matched again in the next one
            done = fire(conn, rule, current, on, today)
            if done is None:
                continue
            fired_any = True
            if done["transition"]:
                moved.append(done["transition"] | {"rule": rule.name})
                task_ids += (done["transition"]["playbook"] or {}).get("tasks", [])
            if done["cta"]:
                kind, _, reason = rule.cta.partition(":")
                opened.append(
                    {
                        "id": done["cta"]["id"],
                        "customer": current.slug,
                        "type": kind,
                        "reason": reason,
                        "on": on,
                        "rule": rule.name,
                    }
                )
                task_ids += (done["cta"]["playbook"] or {}).get("tasks", [])
            task_ids += done["tasks"]
        if not fired_any:
            break
    reminders = fire_reminders(conn, today)
    if not dry_run:
        set_meta(conn, "last_tick", today.isoformat())
    return TickResult(
        today,
        [{k: t[k] for k in ("customer", "from", "to", "on", "rule")} for t in moved],
        [
            {k: r[k] for k in ("milestone", "customer", "title", "due", "remind_on", "recipients")}
            for r in reminders
        ],
        opened,
        list(task_rows(conn, task_ids)),
        list(overdue_items(conn, today)) if with_overdue else [],
        dry_run,
    )


def explain(conn: Connection, today: date, slug: str) -> Iterator[dict]:
    """Each rule from the customer's stage: every condition's value now, whether it holds and
    since when, and what the rule would do, or why it will not."""
    from clm.domain.customers import get_customer

    customer = get_customer(conn, slug)
    query = select(rules).where(rules.c.deleted_at.is_(None)).order_by(rules.c.position)
    for row in conn.execute(query):
        rule = _loaded(row)
        if customer.stage not in rule.from_stages:
            continue
        fired_on = conn.scalar(
            select(rule_firings.c.fired_on).where(
                rule_firings.c.rule == rule.name,
                rule_firings.c.customer_id == customer.id,
                rule_firings.c.stay == customer.stay,
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
    if field in MILESTONE_KINDS:
        first = conn.scalar(select(condition.first_milestone_day(today, customer.id)))
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
    since = condition.since(customer) if holds else None
    return {"condition": str(condition), "value": value, "holds": holds, "since": since}
