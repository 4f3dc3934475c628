"""Playbooks: templates of tasks and milestones, applied once per stage entry, start or CTA."""

from collections.abc import Iterable, Iterator
from datetime import date

from sqlalchemy import Connection, func, select

from clm.dates import parse_duration, parse_offset
from clm.db import insert_ignore
from clm.domain.milestones import create_milestone
from clm.domain.records import find_live, new_row
from clm.domain.tasks import create_task
from clm.lifecycle import PlaybookSpec
from clm.models import playbook_items, playbook_runs, playbooks, stages

ANCHORS = ("entry", "start", "renewal", "run")


def install_playbooks(conn: Connection, specs: Iterable[PlaybookSpec]) -> None:
    for spec in specs:
        row = new_row(conn, name=spec.name, description=spec.description, on_start=spec.on_start)
        playbook_id = conn.execute(playbooks.insert().values(row)).inserted_primary_key[0]
        conn.execute(
            playbook_items.insert(),
            [
                new_row(
                    conn,
                    playbook_id=playbook_id,
                    position=position,
                    kind=item.kind,
                    title=item.title,
                    anchor=item.anchor,
                    offset=item.offset,
                    remind=";".join(item.remind),
                    every=item.every,
                    milestone=item.milestone,
                )
                for position, item in enumerate(spec.items, start=1)
            ],
        )


def get_playbook(conn: Connection, name: str):
    return find_live(conn, playbooks, "name", name.strip().lower(), "playbook")


def list_playbooks(conn: Connection) -> Iterator[dict]:
    items = (
        select(func.count())
        .where(
            playbook_items.c.playbook_id == playbooks.c.id, playbook_items.c.deleted_at.is_(None)
        )
        .scalar_subquery()
    )
    used_by = (
        select(func.aggregate_strings(stages.c.key, ";"))
        .where(stages.c.playbook == playbooks.c.name, stages.c.deleted_at.is_(None))
        .scalar_subquery()
    )
    query = (
        select(
            playbooks.c.name,
            playbooks.c.description,
            playbooks.c.on_start,
            items.label("items"),
            used_by.label("stages"),
        )
        .where(playbooks.c.deleted_at.is_(None))
        .order_by(playbooks.c.name)
    )
    for row in conn.execute(query):
        record = row._asdict()
        record["stages"] = sorted(record["stages"].split(";")) if record["stages"] else []
        yield record


def playbook_items_of(conn: Connection, playbook_id: int) -> list[dict]:
    query = (
        select(
            playbook_items.c.position,
            playbook_items.c.kind,
            playbook_items.c.title,
            playbook_items.c.anchor,
            playbook_items.c.offset,
            playbook_items.c.remind,
            playbook_items.c.every,
            playbook_items.c.milestone,
        )
        .where(playbook_items.c.playbook_id == playbook_id, playbook_items.c.deleted_at.is_(None))
        .order_by(playbook_items.c.position)
    )
    return [row._asdict() | {"remind": _split(row.remind)} for row in conn.execute(query)]


def show_playbook(conn: Connection, name: str) -> tuple[dict, list[dict]]:
    playbook = get_playbook(conn, name)
    record = next(r for r in list_playbooks(conn) if r["name"] == playbook.name)
    return record, playbook_items_of(conn, playbook.id)


def _split(joined: str | None) -> list[str]:
    return joined.split(";") if joined else []


def apply_playbook(
    conn: Connection,
    customer,
    name: str,
    run_key: str,
    anchors: dict[str, date | None],
    cta_id: int | None = None,
    assignee_id: int | None = None,
) -> dict | None:
    """Create the playbook's milestones and tasks for `customer`, once per `run_key` (the
    run's unique key decides); None when it ran already. Items whose anchor day is unknown
    (no renewal date) are skipped. Tasks go to `assignee_id`, else the customer's owner."""
    playbook = get_playbook(conn, name)
    run = new_row(
        conn,
        customer_id=customer.id,
        playbook=playbook.name,
        run_key=run_key,
        anchor_day=anchors.get("entry") or anchors.get("run") or anchors["start"],
    )
    del run["stamps"], run["updated_at"]
    if not insert_ignore(conn, playbook_runs, [run]):
        return None
    source = f"playbook:{playbook.name}"
    created: dict = {"playbook": playbook.name, "milestones": [], "tasks": []}
    milestone_ids: dict[str, int] = {}
    for item in playbook_items_of(conn, playbook.id):
        anchor_day = anchors.get(item["anchor"])
        if anchor_day is None:
            continue
        sign, offset = parse_offset(item["offset"])
        due = offset.shift(anchor_day, sign)
        if item["kind"] == "milestone":
            every = parse_duration(item["every"]) if item["every"] else None
            milestone_id = create_milestone(
                conn,
                customer.id,
                item["title"],
                due,
                [parse_duration(r) for r in item["remind"]],
                every,
                source=source,
            )
            milestone_ids[item["title"]] = milestone_id
            created["milestones"].append(milestone_id)
        else:
            task_id = create_task(
                conn,
                customer.id,
                item["title"],
                due,
                assignee_id or customer.owner_id,
                milestone_ids.get(item["milestone"]),
                cta_id,
                source,
            )
            created["tasks"].append(task_id)
    return created
