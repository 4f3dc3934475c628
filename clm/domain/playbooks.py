"""Playbooks: templates of tasks and milestones, applied once per stage entry, start or CTA."""

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import Connection, func, select

from clm.dates import Duration, parse_duration, parse_offset
from clm.db import insert_new, utcnow
from clm.domain.holidays import holiday_days
from clm.domain.milestones import insert_milestones, milestone_row
from clm.domain.records import find_live, new_row, new_uuid
from clm.errors import Invalid
from clm.lifecycle import PlaybookSpec
from clm.storage.tables import milestones, playbook_items, playbook_runs, playbooks, stages, tasks

ANCHORS = ("entry", "start", "renewal", "run")
# A playbook item of this kind is a lifecycle phase: a marker on the customer's timeline that
# passes by itself on its day (see clm.domain.phases), never a to-do, never overdue.
PHASE = "phase"


def install_playbooks(conn: Connection, specs: Iterable[PlaybookSpec]) -> None:
    for spec in specs:
        row = new_row(conn, name=spec.name, description=spec.description, on_start=spec.on_start)
        playbook_id = conn.execute(playbooks.insert().values(row)).inserted_primary_key[0]
        insert_items(conn, playbook_id, [asdict(item) for item in spec.items])


def insert_items(conn: Connection, playbook_id: int, items: list[dict]) -> None:
    """A playbook's items (ItemSpec's fields, `remind` a list of offsets), numbered in order."""
    if items:
        conn.execute(
            playbook_items.insert(),
            [
                new_row(
                    conn,
                    playbook_id=playbook_id,
                    position=position,
                    **item | {"remind": ";".join(item["remind"])},
                )
                for position, item in enumerate(items, start=1)
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


def _anchor_day(anchors: dict[str, date | None]) -> date:
    return anchors.get("entry") or anchors.get("run") or anchors["start"]


def _split(joined: str | None) -> list[str]:
    return joined.split(";") if joined else []


def series_origin(
    anchor_day: date, sign: int, offset: Duration, every: str | None, due: date
) -> tuple[date, int]:
    """Where a recurring item's occurrences count from, and the first one's number: an item
    due a whole number of periods after its anchor day (`start +1y`, every year) counts from
    that day, so a leap-day start is due on Feb 29 again in leap years; any other from its
    first due date."""
    times = parse_duration(every).times_in(offset) if every and sign > 0 else None
    return (anchor_day, times) if times else (due, 0)


def _open_items(conn: Connection, wanted: list[tuple[int, str]]) -> dict[tuple, int]:
    """(customer id, source, kind, title) -> id of an unfinished milestone or open task that
    these (customer id, playbook) pairs made before: a few queries, whatever their number."""
    found: dict[tuple, int] = {}
    customer_ids = sorted({customer_id for customer_id, _ in wanted})
    sources = sorted({f"playbook:{name}" for _, name in wanted})
    for kind, table, statuses in (
        ("milestone", milestones, ("open", "blocked")),
        ("task", tasks, ("open",)),
    ):
        for start in range(0, len(customer_ids), 500):
            query = select(table.c.customer_id, table.c.source, table.c.title, table.c.id).where(
                table.c.customer_id.in_(customer_ids[start : start + 500]),
                table.c.source.in_(sources),
                table.c.status.in_(statuses),
                table.c.deleted_at.is_(None),
            )
            for customer_id, source, title, row_id in conn.execute(query):
                found.setdefault((customer_id, source, kind, title), row_id)
    return found


@dataclass
class Run:
    """One playbook to apply to one customer, once per `run_key`. Tasks go to `assignee_id`,
    else `owner_id` (the customer's owner)."""

    customer_id: int
    owner_id: int | None
    playbook: str
    run_key: str
    anchors: dict[str, date | None]
    cta_id: int | None = None
    assignee_id: int | None = None
    only_anchor: str | None = None  # apply only the items of this anchor


class Templates:
    """The playbooks' items, read once per name: a tick applies the same few playbooks to many
    customers."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self._found: dict[str, tuple[str, list[dict]]] = {}
        self._days_off: frozenset[date] | None = None

    def days_off(self) -> frozenset[date]:
        """The holidays a business-day offset skips, read once and only when one needs them."""
        if self._days_off is None:
            self._days_off = holiday_days(self.conn)
        return self._days_off

    def get(self, name: str) -> tuple[str, list[dict]]:
        """The playbook's name as stored and its items in order; NotFound names the closest."""
        key = name.strip().lower()
        if key not in self._found:
            playbook = get_playbook(self.conn, key)
            self._found[key] = (playbook.name, playbook_items_of(self.conn, playbook.id))
        return self._found[key]


def apply_playbooks(
    conn: Connection, runs: list[Run], templates: Templates | None = None
) -> list[dict | None]:
    """Apply many runs at once, in a few statements whatever their number: for each run, what
    it created (`playbook`, `milestones` and `tasks` ids in item order), or None when that run
    had happened already (the unique key of playbook_runs decides)."""
    if not runs:
        return []
    templates = templates or Templates(conn)
    resolved = [templates.get(run.playbook) for run in runs]
    now = utcnow()
    rows = [
        {
            "uuid": new_uuid(),
            "customer_id": run.customer_id,
            "playbook": name,
            "run_key": run.run_key,
            "anchor_day": _anchor_day(run.anchors),
            "created_at": now,
        }
        for run, (name, _) in zip(runs, resolved, strict=True)
    ]
    ran = {
        (r["customer_id"], r["playbook"], r["run_key"])
        for r in insert_new(conn, playbook_runs, rows)
    }
    results: list[dict | None] = [None] * len(runs)
    milestone_rows, reminders, task_rows, task_parent = [], [], [], []
    plans = []  # (run index, [("milestone"|"task", row uuid)])
    rerun = [
        (run.customer_id, name) for run, (name, _) in zip(runs, resolved, strict=True)
        if (run.customer_id, name, run.run_key) in ran and not run.cta_id
    ]  # fmt: skip
    still_open = _open_items(conn, rerun) if rerun else {}
    shifted: dict[tuple, date] = {}  # (anchor day, sign, offset) -> the day it gives
    for i, (run, (name, items)) in enumerate(zip(runs, resolved, strict=True)):
        if (run.customer_id, name, run.run_key) not in ran:
            continue
        results[i] = {"playbook": name, "milestones": [], "tasks": []}
        source = f"playbook:{name}"
        made, milestone_uuids, kept = [], {}, {}
        for item in items:
            anchor_day = run.anchors.get(item["anchor"])
            if anchor_day is None or run.only_anchor not in (None, item["anchor"]):
                continue
            if item["kind"] == PHASE:
                continue  # a marker computed from its anchor (clm.domain.phases), not a row
            # A re-entry keeps the same playbook's items still open for the customer: it adds
            # only the others (a CTA's playbook makes the CTA's own tasks).
            found = None if run.cta_id else still_open.get(
                (run.customer_id, source, item["kind"], item["title"].strip())
            )  # fmt: skip
            if found is not None:
                if item["kind"] == "milestone":
                    kept[item["title"]] = found
                continue
            sign, offset = parse_offset(item["offset"])
            due = shifted.get((anchor_day, sign, offset))
            if due is None:  # a catch-up's thousands of runs share a few hundred days
                days_off = templates.days_off() if offset.unit == "bd" else ()
                due = shifted[anchor_day, sign, offset] = offset.shift(anchor_day, sign, days_off)
            if item["kind"] == "milestone":
                origin, occurrence = series_origin(anchor_day, sign, offset, item["every"], due)
                row = milestone_row(
                    conn, run.customer_id, item["title"], due, item["every"], source,
                    occurrence=occurrence, anchor=origin,
                )  # fmt: skip
                milestone_rows.append(row)
                reminders.append((row["uuid"], due, [parse_duration(r) for r in item["remind"]]))
                milestone_uuids[item["title"]] = row["uuid"]
                made.append(("milestone", row["uuid"]))
            else:
                if not item["title"].strip():
                    raise Invalid("invalid title '': a task needs a title")
                row = new_row(
                    conn, customer_id=run.customer_id, title=item["title"].strip(), due=due,
                    status="open", assignee_id=run.assignee_id or run.owner_id,
                    milestone_id=None, cta_id=run.cta_id, source=source,
                )  # fmt: skip
                task_rows.append(row)
                task_parent.append(
                    (milestone_uuids.get(item["milestone"]), kept.get(item["milestone"]))
                )
                made.append(("task", row["uuid"]))
        plans.append((i, made))
    ids = insert_milestones(conn, milestone_rows, reminders)
    for row, (parent, kept_parent) in zip(task_rows, task_parent, strict=True):
        row["milestone_id"] = ids.get(parent) if parent else kept_parent
    if task_rows:
        returned = conn.execute(tasks.insert().returning(tasks.c.uuid, tasks.c.id), task_rows)
        ids |= dict(returned.all())
    for i, made in plans:
        for kind, row_uuid in made:
            results[i][f"{kind}s"].append(ids.get(row_uuid))
    return results
