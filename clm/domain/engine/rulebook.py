"""The rule book: rules as records (checked, added, listed, enabled, removed), in the order
the tick tries them."""

import json
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from sqlalchemy import Connection, func, select

from clm.db import utcnow
from clm.domain.engine.conditions import parse_condition
from clm.domain.engine.field_defs import field_defs
from clm.domain.engine.fields import MOVE_TARGETS
from clm.domain.records import find_live, new_row, update_row
from clm.errors import Conflict, Invalid, Problem, listed
from clm.lifecycle import RuleSpec
from clm.storage.tables import rules


def rule_problems(
    conn: Connection,
    name: str,
    from_stages: Iterable[str],
    to: str | None,
    when: Iterable[str],
    cta: str | None,
    playbook: str | None,
    churn_reason: str | None = None,
) -> list[Problem]:
    """Every problem of a rule, each naming what is wrong (empty when it is sound); about the
    rule as a whole, so without a place. A rule into a terminal stage needs a churn reason of
    the model's list (its moves record it), and only such a rule has one."""
    from clm.domain.ctas import TYPES
    from clm.domain.playbooks import get_playbook
    from clm.domain.stages import get_stage
    from clm.errors import ClmError

    messages: list[str] = []
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", name):
        messages.append(f"invalid rule name '{name}': use lowercase letters, digits, '.', '_', '-'")
    from_stages = list(from_stages)
    if not from_stages:
        messages.append("a rule needs --from STAGE")
    for key in [*from_stages, *([to] if to and to not in MOVE_TARGETS else [])]:
        try:
            get_stage(conn, key)
        except ClmError as exc:
            messages.append(str(exc))
    messages += _churn_reason_problems(conn, to, churn_reason)
    if to and to in from_stages:
        messages.append(f"--to {to} is also a --from stage: the rule would move a customer nowhere")
    conditions = list(when)
    if not conditions:
        messages.append("a rule needs at least one --when CONDITION")
    custom = field_defs(conn)
    for text in conditions:
        try:
            condition = parse_condition(text, custom)
        except Invalid as exc:
            messages.append(str(exc))
            continue
        if hasattr(condition, "problem") and (problem := condition.problem(conn)):
            messages.append(problem)  # a metric's condition names a metric this book has
    if cta is not None:
        kind, _, reason = cta.partition(":")
        if kind not in TYPES or not reason.strip():
            messages.append(
                f"invalid --cta '{cta}': use TYPE:REASON with TYPE one of {', '.join(TYPES)}"
            )
    if playbook is not None:
        try:
            get_playbook(conn, playbook)
        except ClmError as exc:
            messages.append(str(exc))
    if not to and cta is None and playbook is None:
        messages.append("a rule needs an action: --to STAGE, --cta TYPE:REASON or --playbook NAME")
    return [Problem("", message) for message in messages]


def _churn_reason_problems(conn: Connection, to: str | None, churn_reason: str | None) -> list:
    from clm.domain.churn import churn_reasons
    from clm.domain.stages import live_stages

    terminal = {row.key for row in live_stages(conn) if row.terminal}
    accepted = churn_reasons(conn)
    if to in terminal and churn_reason is None:
        return [f"--to {to} churns the customers it moves: name the reason they churn for with "
                f"--churn-reason, one of {', '.join(accepted)}"]  # fmt: skip
    if churn_reason is not None and to not in terminal:
        return [f"--churn-reason {churn_reason}: only a rule that moves customers into a "
                f"terminal stage ({', '.join(sorted(terminal)) or 'none'}) has one"]  # fmt: skip
    if churn_reason is not None and churn_reason not in accepted:
        return [f"invalid --churn-reason '{churn_reason}': use {', '.join(accepted)}"]
    return []


def _reason_key(reason: str | None) -> str | None:
    from clm.domain.churn import reason_key

    return None if reason is None else reason_key(reason)


def add_rule(
    conn: Connection,
    name: str,
    from_stages: Iterable[str],
    when: Iterable[str],
    to: str | None = None,
    cta: str | None = None,
    playbook: str | None = None,
    enabled: bool = True,
    churn_reason: str | None = None,
) -> dict:
    """Add a rule after checking all of it; every problem is reported at once."""
    churn_reason = _reason_key(churn_reason)
    name, from_stages, when = (
        name.strip().lower(),
        [s.strip().lower() for s in from_stages],
        list(when),
    )
    problems = rule_problems(conn, name, from_stages, to, when, cta, playbook, churn_reason)
    if conn.scalar(select(rules.c.id).where(rules.c.name == name, rules.c.deleted_at.is_(None))):
        problems.insert(0, Problem("", f"rule '{name}' already exists"))
    if problems:
        raise Invalid("; ".join(listed(problems)))
    position = (conn.scalar(select(func.max(rules.c.position))) or 0) + 1
    row = new_row(
        conn,
        name=name,
        position=position,
        from_stages=";".join(from_stages),
        to_stage=to.strip().lower() if to else None,
        conditions=json.dumps([str(parse_condition(text, field_defs(conn))) for text in when]),
        cta=cta.strip() if cta else None,
        playbook=playbook,
        enabled=enabled,
        churn_reason=churn_reason,
    )
    conn.execute(rules.insert().values(row))
    return next(r for r in list_rules(conn) if r["name"] == name)


def edit_rule(
    conn: Connection,
    name: str,
    from_stages: Iterable[str] | None = None,
    add_from: Iterable[str] = (),
    remove_from: Iterable[str] = (),
    when: Iterable[str] | None = None,
    add_when: Iterable[str] = (),
    remove_when: Iterable[str] = (),
    to: str | None = None,
    cta: str | None = None,
    playbook: str | None = None,
    clear: Iterable[str] = (),
    churn_reason: str | None = None,
) -> tuple[dict, list[str]]:
    """Change a rule in place (its name, position and firings stay): its from-stages (all of
    them, or some added or removed), conditions (likewise), target stage, CTA and playbook;
    `clear` names the actions to drop (`to`, `cta`, `playbook`). The rule as it ends up is
    checked as `add_rule` checks a new one, every problem at once. A rule that no longer churns
    drops its churn reason. The rule and what changed."""
    row = get_rule(conn, name)
    rule = _rule_dict(row)
    stages = [s.strip().lower() for s in (rule["from"] if from_stages is None else from_stages)]
    stages += [s.strip().lower() for s in add_from if s.strip().lower() not in stages]
    problems = [
        Problem("", f"--remove-from {key}: rule '{row.name}' does not apply in {key}")
        for key in remove_from
        if key.strip().lower() not in stages
    ]
    stages = [s for s in stages if s not in {k.strip().lower() for k in remove_from}]
    conditions = list(rule["when"] if when is None else when)
    for text in add_when:
        conditions.append(text)
    for text in remove_when:
        kept = [c for c in conditions if not _same_condition(c, text)]
        if len(kept) == len(conditions):
            has = ", ".join(conditions)
            problems.append(
                Problem("", f"--remove-when '{text}': rule '{row.name}' has no such condition "
                            f"(it has: {has})")
            )  # fmt: skip
        conditions = kept
    actions = {"to": rule["to"], "cta": rule["cta"], "playbook": rule["playbook"]}
    for action, value in (("to", to), ("cta", cta), ("playbook", playbook)):
        if action in clear and value is not None:
            problems.append(Problem("", f"--{action} and --no-{action} contradict each other"))
        actions[action] = (
            None if action in clear else value if value is not None else actions[action]
        )
    reason = _reason_key(churn_reason)
    if reason is None and not _churn_reason_problems(conn, actions["to"], rule["churn_reason"]):
        reason = rule["churn_reason"]
    problems += rule_problems(conn, row.name, stages, actions["to"], conditions, actions["cta"],
                              actions["playbook"], reason)  # fmt: skip
    if problems:
        raise Invalid("; ".join(listed(problems)))
    changes = {
        "from_stages": ";".join(stages),
        "to_stage": actions["to"].strip().lower() if actions["to"] else None,
        "conditions": json.dumps([str(parse_condition(text)) for text in conditions]),
        "cta": actions["cta"].strip() if actions["cta"] else None,
        "playbook": actions["playbook"],
        "churn_reason": reason,
    }
    changes = {field: value for field, value in changes.items() if getattr(row, field) != value}
    update_row(conn, rules, row, changes)
    shown = {"from_stages": "from", "to_stage": "to", "conditions": "when"}
    return _rule_dict(get_rule(conn, row.name)), [shown.get(f, f) for f in changes]


def _same_condition(written: str, text: str) -> bool:
    """Whether a stored condition is the one `text` writes (as parsed: spacing aside)."""
    try:
        return str(parse_condition(written)) == str(parse_condition(text))
    except Invalid:
        return written.strip() == text.strip()


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
        "churn_reason": row.churn_reason,
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


class StageAdded(NamedTuple):
    """A stage inserted, the rules that apply on both sides of it (`spanning`: a customer in it
    would escape them) and those that move customers across it (`passing`: they skip it)."""

    stage: dict
    spanning: list[str]
    passing: list[str]


def add_stage(conn: Connection, inherit_rules: bool = False, **fields) -> StageAdded:
    """Insert a stage (see clm.domain.stages.add_stage) and find the rules around the gap it
    opens; with `inherit_rules` the spanning ones apply in it too (listed in lifecycle order)."""
    from clm.domain.stages import add_stage as add_stage_row
    from clm.domain.stages import live_stages

    stage = add_stage_row(conn, **fields)
    keys = [row.key for row in live_stages(conn)]
    at = keys.index(stage["key"])
    if stage["terminal"] or at == 0 or at == len(keys) - 1:
        return StageAdded(stage, [], [])
    before, after = keys[at - 1], keys[at + 1]
    rulebook = list(list_rules(conn))
    spanning = [rule for rule in rulebook if {before, after} <= set(rule["from"])]
    passing = [r["name"] for r in rulebook if before in r["from"] and r["to"] == after]
    for rule in spanning if inherit_rules else ():
        wanted = set(rule["from"]) | {stage["key"]}
        edit_rule(conn, rule["name"], from_stages=[key for key in keys if key in wanted])
    return StageAdded(stage, [rule["name"] for rule in spanning], passing)


def remove_stage(conn: Connection, key: str, force: bool = False) -> list[str]:
    """Tombstone a stage (see clm.domain.stages.remove_stage). Rules that use it refuse the
    removal, unless `force`, which removes them too: their names."""
    from clm.domain.stages import get_stage
    from clm.domain.stages import remove_stage as remove_stage_row

    used = sorted(rules_using(conn, get_stage(conn, key).key)) if force else []
    for rule in used:
        remove_rule(conn, rule)
    remove_stage_row(conn, key, lambda stage: rules_using(conn, stage))
    return used
