"""A customer's contract: the renewal a start gives, the close-out of a renewal (its playbook's
open work done, the customer back where it came from) and the items anchored on the start."""

from datetime import date

from sqlalchemy import Connection, select

from clm.dates import Duration, parse_duration, parse_offset
from clm.domain.holidays import days_off_for, holiday_days
from clm.domain.stages import entry_stage, live_stages
from clm.lifecycle import RENEWAL_STAGE
from clm.storage.tables import (
    milestones,
    playbook_items,
    playbooks,
    stages,
    tasks,
    transitions,
)


def first_renewal(conn: Connection, start: date, term: Duration, today: date) -> date:
    """The renewal of a contract that started on `start`: start + k × term, the first after
    today (a start years ago renews next, not in the past), computed from the start, never
    chained, so month ends and leap days hold (Jan 31 + 1m = Feb 28/29)."""
    return term.first_after(start, max(start, today), days_off_for(conn, term))


def follows_start(old_start: date, renewal: date | None, term: Duration) -> int | None:
    """k when `renewal` is start + k × term (k >= 1): a renewal that counts from the start
    moves with it."""
    if renewal is None:
        return None
    return term.position_of(old_start, renewal) or None


def renewal_playbook(conn: Connection) -> str | None:
    """The playbook the renewal stage runs, if the model has that stage."""
    live = (stages.c.key == RENEWAL_STAGE, stages.c.deleted_at.is_(None))
    return conn.scalar(select(stages.c.playbook).where(*live))


def close_renewal_work(conn: Connection, today: date, customer_id: int) -> dict[str, list[int]]:
    """Mark done the customer's open milestones and tasks of the renewal stage's playbook (the
    renewal is signed: "Renewal signed" and its proposal are done); their ids."""
    from clm.domain.milestones import UNFINISHED, complete_milestone
    from clm.domain.tasks import complete_task

    name = renewal_playbook(conn)
    if name is None:
        return {"milestones": [], "tasks": []}
    source = f"playbook:{name}"
    mine = (milestones.c.customer_id == customer_id, milestones.c.source == source)
    open_milestones = conn.scalars(
        select(milestones.c.id).where(
            *mine, milestones.c.status.in_(UNFINISHED), milestones.c.deleted_at.is_(None)
        )
    ).all()
    open_tasks = conn.scalars(
        select(tasks.c.id).where(
            tasks.c.customer_id == customer_id,
            tasks.c.source == source,
            tasks.c.status == "open",
            tasks.c.deleted_at.is_(None),
        )
    ).all()
    for milestone_id in open_milestones:
        complete_milestone(conn, today, milestone_id)
    for task_id in open_tasks:
        complete_task(conn, today, task_id)
    return {"milestones": list(open_milestones), "tasks": list(open_tasks)}


def stage_after_renewal(conn: Connection, customer):
    """Where a renewed customer in the renewal stage goes: the stage it entered renewal from,
    unless that is the entry stage or before it (a customer on a short term reaches renewal
    from onboarding): then the first stage after the entry stage. Never the entry stage, never
    a terminal stage; None when the model has no such stage."""
    came_from = conn.scalar(
        select(transitions.c.from_stage)
        .where(transitions.c.customer_id == customer.id, transitions.c.to_stage == RENEWAL_STAGE)
        .order_by(transitions.c.on.desc(), transitions.c.id.desc())
        .limit(1)
    )
    ordered = live_stages(conn)
    entry = next((row for row in ordered if row.key == entry_stage(conn)), None)
    entry_position = entry.position if entry else 0
    usable = [row for row in ordered if not row.terminal and row.key != RENEWAL_STAGE]
    back = next((row for row in usable if row.key == came_from), None)
    if back is not None and back.position > entry_position:
        return back
    return next((row for row in usable if row.position > entry_position), None)


def reanchor_start_items(conn: Connection, customer_id: int, start: date) -> list[int]:
    """Move the customer's unfinished milestones that a playbook anchored on its start date to
    the same offsets from `start` (their pending reminders follow); the ids moved. A recurring
    one keeps its occurrence number in its series, counted from the new start."""
    from clm.domain.milestones import UNFINISHED, get_milestone, rebase_series
    from clm.domain.playbooks import series_origin

    rows = conn.execute(
        select(
            milestones.c.id,
            milestones.c.occurrence,
            milestones.c.every,
            playbook_items.c.offset,
        )
        .join(
            playbooks,
            (milestones.c.source == "playbook:" + playbooks.c.name)
            & playbooks.c.deleted_at.is_(None),
        )
        .join(
            playbook_items,
            (playbook_items.c.playbook_id == playbooks.c.id)
            & (playbook_items.c.title == milestones.c.title)
            & (playbook_items.c.kind == "milestone")
            & (playbook_items.c.anchor == "start")
            & playbook_items.c.deleted_at.is_(None),
        )
        .where(
            milestones.c.customer_id == customer_id,
            milestones.c.status.in_(UNFINISHED),
            milestones.c.deleted_at.is_(None),
        )
    ).all()
    moved = []
    for row in rows:
        sign, offset = parse_offset(row.offset)
        first_due = offset.shift(start, sign, holiday_days(conn) if offset.unit == "bd" else ())
        if row.every:
            every = parse_duration(row.every)
            origin, first = series_origin(start, sign, offset, row.every, first_due)
            occurrence = max(row.occurrence, first)
            due = every.shift(origin, occurrence)
            changed = rebase_series(conn, row.id, due, every, origin, occurrence)
        else:
            changed = _move_due(conn, get_milestone(conn, row.id), first_due)
        if changed:
            moved.append(row.id)
    return moved


def _move_due(conn: Connection, row, due: date) -> bool:
    from clm.domain.milestones import edit_milestone

    if row.due == due:
        return False
    edit_milestone(conn, row.id, due=due)
    return True
