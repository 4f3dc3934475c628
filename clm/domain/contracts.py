"""A customer's contract: the renewal a start gives and where a renewal counts from, its
recurring Renewal milestone kept on it, the close-out of a renewal (its playbook's open work
done, the customer back where it came from), the items anchored on the start, and the new
contract of a customer won back."""

from collections.abc import Callable, Collection
from datetime import date
from typing import NamedTuple

from sqlalchemy import Connection, select

from clm.dates import Duration, parse_duration, parse_offset
from clm.domain.holidays import days_off_for, holiday_days
from clm.domain.records import new_row, update_row
from clm.domain.stages import entry_stage, live_stages
from clm.lifecycle import RENEWAL_MILESTONE, RENEWAL_STAGE
from clm.storage.tables import (
    customers,
    milestones,
    notes,
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


def renewal_origin(conn: Connection, customer, renewal: date) -> tuple[date, int]:
    """What a renewal date of `customer` counts from, and its number in that series: the
    start when it is start + k × term (the contract's own series); else the anchor of the
    Renewal milestone due on it (a date set by hand, as its series remembers it); else itself."""
    term = parse_duration(customer.term)
    k = term.position_of(customer.start, renewal)
    if k:
        return customer.start, k
    in_step = open_renewal_milestone(
        conn, customer.id, milestones.c.due == renewal, milestones.c.every == str(term)
    )
    if in_step is not None:
        series = conn.execute(
            select(milestones.c.anchor, milestones.c.occurrence).where(milestones.c.id == in_step)
        ).one()
        if term.shift(series.anchor, series.occurrence) == renewal:
            return series.anchor, series.occurrence
    return renewal, 0


def open_renewal_milestone(conn: Connection, customer_id: int, *where):
    """The id of the customer's first unfinished recurring Renewal milestone, if any."""
    return conn.scalar(
        select(milestones.c.id)
        .where(
            milestones.c.customer_id == customer_id,
            milestones.c.title == RENEWAL_MILESTONE,
            milestones.c.every.is_not(None),
            milestones.c.status.in_(("open", "blocked")),
            milestones.c.deleted_at.is_(None),
            *where,
        )
        .order_by(milestones.c.due, milestones.c.id)
        .limit(1)
    )


def follow_renewal(conn: Connection, customer_id: int) -> None:
    """Keep the customer's recurring Renewal milestone on its renewal date, recurring with its
    term and counted from where the renewal counts from (see `renewal_origin`)."""
    from clm.domain.milestones import rebase_series

    customer = conn.execute(select(customers).where(customers.c.id == customer_id)).one()
    milestone_id = open_renewal_milestone(conn, customer_id)
    if customer.renewal is None or milestone_id is None:
        return
    origin, occurrence = renewal_origin(conn, customer, customer.renewal)
    term = parse_duration(customer.term)
    rebase_series(conn, milestone_id, customer.renewal, term, origin, occurrence)


class Contract(NamedTuple):
    start: date
    renewal: date | None


def new_contract(
    customer, on: date, days_off: Callable[[], Collection[date]], keep_renewal: bool = False
) -> Contract:
    """The contract a customer starts on `on`, a deal won or a churned customer won back: it
    starts that day and renews a term later (`days_off`: the holidays, asked for only by a
    business-day term). `keep_renewal` keeps a renewal after that day set by hand (a won
    prospect's); a win-back's old renewal belongs to the contract it lost."""
    if keep_renewal and customer.renewal is not None and customer.renewal > on:
        return Contract(on, customer.renewal)
    term = parse_duration(customer.term)
    return Contract(on, term.after(on, days_off() if term.unit == "bd" else ()))


def contract_notes(
    conn: Connection, customer, on: date, by: str | None, contract: Contract, why: str
) -> list[dict]:
    """Timeline entries (rows for `notes`) for a new contract's dates that changed, dated the
    day it began: a date rule on them became true that day."""
    rows = []
    for field, value in contract._asdict().items():
        was = getattr(customer, field)
        if value != was:
            text = f"{field} date set to {value}" + (f" (was {was})" if was else "") + f": {why}"
            row = new_row(conn, customer_id=customer.id, on=on, kind=field, text=text, by=by,
                          milestone_id=None)  # fmt: skip
            del row["stamps"], row["updated_at"]
            rows.append(row)
    return rows


def win_back(conn: Connection, customer_id: int, on: date, by: str | None, entry_key: str):
    """A churned customer won back starts a new contract on `on` (see `new_contract`), the
    lifecycle-phase playbooks run again from it (its old items were cancelled at churn), each
    date change on the timeline."""
    from clm.domain.playbooks import Run, apply_playbooks

    customer = conn.execute(select(customers).where(customers.c.id == customer_id)).one()
    contract = new_contract(customer, on, lambda: holiday_days(conn))
    changes = contract._asdict()
    update_row(conn, customers, customer, changes)
    dated = contract_notes(conn, customer, on, by, contract, "won back")
    if dated:
        conn.execute(notes.insert(), dated)
    renewal = contract.renewal
    anchors = {"start": on, "renewal": renewal, "run": on, "entry": on}
    runs = [
        Run(customer.id, customer.owner_id, name, f"start:{entry_key}", anchors)
        for name in conn.scalars(
            select(playbooks.c.name).where(playbooks.c.on_start, playbooks.c.deleted_at.is_(None))
        )
    ]
    apply_playbooks(conn, runs)
    follow_renewal(conn, customer.id)
    return changes
