"""The rule book: rules as records (checked, added, listed, enabled, removed), in the order
the tick tries them."""

import json
import re
from collections.abc import Iterable, Iterator

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
) -> list[Problem]:
    """Every problem of a rule, each naming what is wrong (empty when it is sound); about the
    rule as a whole, so without a place."""
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
    if to and to in from_stages:
        messages.append(f"--to {to} is also a --from stage: the rule would move a customer nowhere")
    conditions = list(when)
    if not conditions:
        messages.append("a rule needs at least one --when CONDITION")
    custom = field_defs(conn)
    for text in conditions:
        try:
            parse_condition(text, custom)
        except Invalid as exc:
            messages.append(str(exc))
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
