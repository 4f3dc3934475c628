"""The lifecycle model's stages: their order, owning teams and SLAs, and its templates."""

from collections.abc import Iterator

from sqlalchemy import Connection, delete, select

from clm.db import get_meta, set_meta
from clm.domain.playbooks import install_playbooks
from clm.domain.records import find_live, new_row
from clm.errors import Invalid
from clm.lifecycle import DEFAULT_TEMPLATE, TEMPLATES
from clm.models import playbook_items, playbooks, rules, stages

STAGE_KEYS = ("key", "name", "position", "team", "expected_days", "playbook", "terminal")


def install_template(conn: Connection, name: str = DEFAULT_TEMPLATE) -> None:
    """Replace the model (stages, playbooks, rules) with those of a lifecycle template."""
    from clm.rules import install_rules

    template = TEMPLATES.get(name)
    if template is None:
        raise Invalid(f"unknown template '{name}': use one of {', '.join(TEMPLATES)}")
    conn.execute(delete(rules))
    conn.execute(delete(stages))
    conn.execute(delete(playbook_items))
    conn.execute(delete(playbooks))
    install_playbooks(conn, template.playbooks)
    conn.execute(
        stages.insert(),
        [
            new_row(
                conn,
                key=spec.key,
                name=spec.name,
                position=position,
                team=spec.team,
                expected_days=spec.expected_days,
                terminal=spec.terminal,
                playbook=spec.playbook,
            )
            for position, spec in enumerate(template.stages, start=1)
        ],
    )
    set_meta(conn, "entry_stage", template.entry_stage)
    install_rules(conn, template.rules)


def get_stage(conn: Connection, key: str):
    return find_live(conn, stages, "key", key.strip().lower(), "stage")


def entry_stage(conn: Connection) -> str:
    """The stage a customer added without --stage enters (the deal is won)."""
    return get_meta(conn, "entry_stage") or conn.scalar(
        select(stages.c.key).where(stages.c.deleted_at.is_(None)).order_by(stages.c.position)
    )


def list_stages(conn: Connection) -> Iterator[dict]:
    query = (
        select(*(stages.c[key] for key in STAGE_KEYS))
        .where(stages.c.deleted_at.is_(None))
        .order_by(stages.c.position)
    )
    for row in conn.execute(query):
        yield row._asdict()
