"""Milestones: dated objectives with reminders, recurrence and collaborators; the reminder log."""

from collections.abc import Iterable, Iterator
from datetime import date
from itertools import islice
from operator import itemgetter

from sqlalchemy import (
    Connection,
    String,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    text,
    update,
)

from clm.dates import Duration, parse_duration
from clm.db import bigger_write_cache, insert_ignore, insert_new, insert_new_rows, utcnow
from clm.domain.holidays import holiday_days
from clm.domain.list_filters import list_filters
from clm.domain.records import (
    find_by_id,
    new_row,
    new_uuid,
    set_member_stamps,
    shared_values,
    update_row,
    user_uuids,
)
from clm.domain.shapes import milestone_record
from clm.domain.users import user_ids
from clm.errors import Conflict, Invalid
from clm.storage.tables import (
    customers,
    milestone_collaborators,
    milestone_reminders,
    milestones,
    notes,
    reminder_log,
    stages,
    tasks,
    users,
)

STATUSES = ("open", "done", "blocked", "cancelled")
UNFINISHED = ("open", "blocked")


def _set_reminders(conn: Connection, milestone_id: int, due: date, offsets: Iterable[Duration]):
    """Replace a milestone's reminders: each offset's day computed from the due date (months
    clamp to month end; business days skip weekends and the model's holidays)."""
    conn.execute(
        delete(milestone_reminders).where(milestone_reminders.c.milestone_id == milestone_id)
    )
    rows = {str(d): d for d in offsets}
    if rows:
        days_off = holiday_days(conn) if any(d.unit == "bd" for d in rows.values()) else ()
        conn.execute(
            milestone_reminders.insert(),
            [
                {"milestone_id": milestone_id, "offset": key, "remind_on": d.before(due, days_off)}
                for key, d in rows.items()
            ],
        )
        settle_reminders(conn, milestone_id)


def log_offset(offset: str, remind_on: date) -> str:
    """The reminder log's key for an offset firing again on another day (the due date moved
    after it fired): the offset and the day, within the column's 16 characters. The first
    firing of an offset is logged under the bare offset."""
    dated = f"{offset}@{remind_on.isoformat()}"
    return dated if len(dated) <= 16 else f"{offset}@{remind_on.toordinal()}"


def logged_offset(key: str) -> str:
    """The offset a reminder log key is for (`1w` or `1w@2026-12-24`: 1w)."""
    return key.partition("@")[0]


def fired_days(conn: Connection, milestone_uuids: list[str]) -> dict[tuple[str, str], set[date]]:
    """(milestone uuid, offset) -> the reminder days it fired for."""
    fired: dict[tuple[str, str], set[date]] = {}
    log = reminder_log
    for start in range(0, len(milestone_uuids), 500):
        chunk = milestone_uuids[start : start + 500]
        query = select(log.c.milestone_uuid, log.c.offset, log.c.remind_on).where(
            log.c.milestone_uuid.in_(chunk)
        )
        for uuid, key, remind_on in conn.execute(query):
            fired.setdefault((uuid, logged_offset(key)), set()).add(remind_on)
    return fired


def _fired_here(log, reminder):
    """SQL: the log holds a firing of this reminder for its day (under either key)."""
    return and_(
        log.c.remind_on == reminder.c.remind_on,
        or_(log.c.offset == reminder.c.offset, log.c.offset.startswith(reminder.c.offset + "@")),
    )


def settle_reminders(conn: Connection, milestone_id: int) -> None:
    """Mark which of a milestone's reminders may still fire: not yet fired for its day (a due
    date moved after a reminder fired gives it a new day, which fires once), and the milestone
    unfinished and not removed."""
    row = conn.execute(select(milestones).where(milestones.c.id == milestone_id)).one()
    live = row.status in UNFINISHED and row.deleted_at is None
    fired = fired_days(conn, [row.uuid])
    for offset, remind_on in conn.execute(
        select(milestone_reminders.c.offset, milestone_reminders.c.remind_on).where(
            milestone_reminders.c.milestone_id == milestone_id
        )
    ).all():
        conn.execute(
            update(milestone_reminders)
            .where(
                milestone_reminders.c.milestone_id == milestone_id,
                milestone_reminders.c.offset == offset,
            )
            .values(pending=live and remind_on not in fired.get((row.uuid, offset), ()))
        )


def milestone_row(
    conn: Connection,
    customer_id: int,
    title: str,
    due: date,
    every: Duration | str | None = None,
    source: str | None = None,
    pinned: bool = False,
    series: str | None = None,
    occurrence: int = 0,
    anchor: date | None = None,
) -> dict:
    """The values of a new open milestone (the first of its series unless `series` is given)."""
    if not title.strip():
        raise Invalid("invalid title '': a milestone needs a title")
    if every:
        check_recurrence(every, due, anchor or due, occurrence)
    row = new_row(
        conn,
        customer_id=customer_id,
        title=title.strip(),
        due=due,
        status="open",
        every=str(every) if every else None,
        occurrence=occurrence,
        anchor=anchor or due,
        pinned=pinned,
        source=source,
    )
    row["series"] = series or row["uuid"]
    return row


def check_recurrence(every: Duration | str, due: date, anchor: date, occurrence: int) -> None:
    """Refuse a recurrence whose next occurrence is off the calendar (past 9999-12-31): the
    milestone could never be marked done."""
    duration = every if isinstance(every, Duration) else parse_duration(every)
    try:
        duration.shift(anchor, occurrence + 1)
    except Invalid:
        raise Invalid(
            f"a milestone due {due} cannot recur every {every}: its next occurrence would be "
            "past 9999-12-31"
        ) from None


def insert_milestones(
    conn: Connection, rows: list[dict], reminders: list[tuple[str, date, list[Duration]]]
) -> dict[str, int]:
    """Insert milestones (skipping an occurrence of a series that exists already: the unique
    key decides) and, for each (uuid, due, offsets) in `reminders`, the pending reminders of
    those that went in; uuid -> id of the inserted ones. A few statements for any number."""
    if not rows:
        return {}
    ids = dict(insert_ignore(conn, milestones, rows, (milestones.c.uuid, milestones.c.id)))
    wanted = [(ids.get(u), due, {str(d): d for d in offsets}) for u, due, offsets in reminders]
    days_off = ()
    if any(d.unit == "bd" for _, _, offsets in wanted for d in offsets.values()):
        days_off = holiday_days(conn)
    values = [
        {"milestone_id": i, "offset": key, "remind_on": d.before(due, days_off), "pending": True}
        for i, due, offsets in wanted
        for key, d in offsets.items()
        if i is not None
    ]
    if values:
        conn.execute(milestone_reminders.insert(), values)
    return ids


def refresh_reminders(conn: Connection, milestone_ids: Iterable[int]) -> None:
    """After a merge brought due dates, offsets, statuses or fired reminders from a copy: the
    reminder days of these milestones again (from their due date), then every pending flag."""
    for milestone_id in milestone_ids:
        due = conn.scalar(select(milestones.c.due).where(milestones.c.id == milestone_id))
        offsets = conn.scalars(
            select(milestone_reminders.c.offset).where(
                milestone_reminders.c.milestone_id == milestone_id
            )
        ).all()
        _set_reminders(conn, milestone_id, due, [parse_duration(o) for o in offsets])
    reminder, log = milestone_reminders, reminder_log
    may_fire = (
        select(milestones.c.id)
        .join(customers, customers.c.id == milestones.c.customer_id)
        .where(
            milestones.c.id == reminder.c.milestone_id,
            milestones.c.status.in_(UNFINISHED),
            milestones.c.deleted_at.is_(None),
            customers.c.deleted_at.is_(None),
            ~select(log.c.id)
            .where(log.c.milestone_uuid == milestones.c.uuid, _fired_here(log, reminder))
            .exists(),
        )
        .exists()
    )
    conn.execute(update(reminder).where(reminder.c.pending != may_fire).values(pending=may_fire))


def create_milestone(
    conn: Connection,
    customer_id: int,
    title: str,
    due: date,
    remind: Iterable[Duration] = (),
    every: Duration | None = None,
    collaborator_ids: Iterable[int] = (),
    pinned: bool = False,
    source: str | None = None,
    series: str | None = None,
    occurrence: int = 0,
    anchor: date | None = None,
) -> int | None:
    """Insert a milestone with its reminders and collaborators; None when this occurrence of
    its series exists already (the database's unique key decides)."""
    row = milestone_row(
        conn, customer_id, title, due, every, source, pinned, series, occurrence, anchor
    )
    milestone_id = insert_milestones(conn, [row], [(row["uuid"], due, list(remind))]).get(
        row["uuid"]
    )
    if milestone_id is None:
        return None
    collaborators = [
        {"milestone_id": milestone_id, "user_id": i} for i in dict.fromkeys(collaborator_ids)
    ]
    if collaborators:
        conn.execute(milestone_collaborators.insert(), collaborators)
    return milestone_id


def add_milestone(
    conn: Connection,
    slug: str,
    title: str,
    due: date,
    remind: Iterable[Duration] = (),
    every: Duration | None = None,
    collaborators: Iterable[str] = (),
    pinned: bool = False,
) -> dict:
    from clm.domain.records import get_customer

    customer = get_customer(conn, slug)
    ids = user_ids(conn, collaborators).values()
    milestone_id = create_milestone(conn, customer.id, title, due, remind, every, ids, pinned)
    return next(_milestone_rows(conn, milestones.c.id == milestone_id))


def get_milestone(conn: Connection, milestone_id: int):
    """A live milestone of a live customer, or NotFound."""
    return find_by_id(conn, milestones, milestone_id, "milestone")


def _milestone_rows(conn: Connection, *where) -> Iterator[dict]:
    for row in conn.execute(milestone_query(*where)):
        yield milestone_record(row._asdict())


def milestone_query(*where):
    """Live milestones of live customers (`where` more), by due date: each with its customer,
    its reminders (offsets and days), collaborators and tasks aggregated with ';'."""
    offsets = (
        select(func.aggregate_strings(milestone_reminders.c.offset, ";"))
        .where(milestone_reminders.c.milestone_id == milestones.c.id)
        .scalar_subquery()
    )
    remind_days = (
        select(func.aggregate_strings(cast(milestone_reminders.c.remind_on, String), ";"))
        .where(milestone_reminders.c.milestone_id == milestones.c.id)
        .scalar_subquery()
    )
    collaborators = (
        select(func.aggregate_strings(users.c.handle, ";"))
        .select_from(
            milestone_collaborators.join(users, users.c.id == milestone_collaborators.c.user_id)
        )
        .where(
            milestone_collaborators.c.milestone_id == milestones.c.id, users.c.deleted_at.is_(None)
        )
        .scalar_subquery()
    )
    task_ids = (
        select(func.aggregate_strings(cast(tasks.c.id, String), ";"))
        .where(tasks.c.milestone_id == milestones.c.id, tasks.c.deleted_at.is_(None))
        .scalar_subquery()
    )
    return (
        select(
            milestones.c.id,
            milestones.c.uuid,
            customers.c.slug.label("customer"),
            milestones.c.title,
            milestones.c.due,
            milestones.c.status,
            offsets.label("remind"),
            remind_days.label("remind_on"),
            milestones.c.every,
            collaborators.label("collaborators"),
            milestones.c.pinned,
            milestones.c.blocked_reason,
            milestones.c.done_on,
            task_ids.label("tasks"),
        )
        .select_from(milestones.join(customers, customers.c.id == milestones.c.customer_id))
        .where(milestones.c.deleted_at.is_(None), customers.c.deleted_at.is_(None), *where)
        .order_by(milestones.c.due, milestones.c.id)
    )


def list_milestones(
    conn: Connection,
    today: date,
    customer: str | None = None,
    status: str | None = None,
    due_within: Duration | None = None,
    overdue: bool = False,
) -> Iterator[dict]:
    """Milestones by due date: unfinished (open or blocked) unless `status` says otherwise."""
    where = list_filters(
        conn, today, milestones, STATUSES, UNFINISHED,
        status=status, customer=customer, overdue=overdue, due_within=due_within,
    )  # fmt: skip
    return _milestone_rows(conn, *where)


def show_milestone(conn: Connection, milestone_id: int) -> tuple[dict, list[dict]]:
    """A milestone and the notes written on it."""
    get_milestone(conn, milestone_id)
    record = next(_milestone_rows(conn, milestones.c.id == milestone_id))
    events = [
        row._asdict()
        for row in conn.execute(
            select(notes.c.on, notes.c.kind, notes.c.text, notes.c.by)
            .where(notes.c.milestone_id == milestone_id)
            .order_by(notes.c.on, notes.c.id)
        )
    ]
    return record, events


def complete_milestone(
    conn: Connection, today: date, milestone_id: int, on: date | None = None
) -> dict:
    """Mark done; a recurring milestone gets its next occurrence, computed from the series'
    anchor, once however often this runs. Done is a fact: never dated after today."""
    if on is not None and on > today:
        raise Invalid(f"invalid --on {on}: a milestone cannot be done after today ({today})")
    row = get_milestone(conn, milestone_id)
    if row.status == "cancelled":
        raise Conflict(f"milestone {milestone_id} is cancelled: reopen it first")
    done_on = row.done_on if row.status == "done" else (on or today)
    next_id = None
    if row.status == "done":
        next_id = _find_occurrence(conn, row.series, row.occurrence + 1)
    else:
        update_row(
            conn, milestones, row, {"status": "done", "done_on": done_on, "blocked_reason": None}
        )
        settle_reminders(conn, milestone_id)
        if row.every:
            next_id = _next_occurrence(conn, row)
    return {
        "id": milestone_id,
        "already": row.status == "done",
        "done_on": done_on,
        "next": next_id,
    }


def _next_occurrence(conn: Connection, row) -> int | None:
    every = parse_duration(row.every)
    offsets = conn.scalars(
        select(milestone_reminders.c.offset).where(milestone_reminders.c.milestone_id == row.id)
    )
    collaborator_ids = conn.scalars(
        select(milestone_collaborators.c.user_id).where(
            milestone_collaborators.c.milestone_id == row.id
        )
    )
    created = create_milestone(
        conn,
        row.customer_id,
        row.title,
        every.shift(row.anchor, row.occurrence + 1),
        [parse_duration(o) for o in offsets],
        every,
        list(collaborator_ids),
        row.pinned,
        row.source,
        row.series,
        row.occurrence + 1,
        row.anchor,
    )
    return created or _find_occurrence(conn, row.series, row.occurrence + 1)


def rebase_series(
    conn: Connection, milestone_id: int, due: date, every: Duration, anchor: date, occurrence: int
) -> bool:
    """Move an unfinished recurring milestone to `due`, recurring `every` counted from `anchor`
    (`due` is its occurrence number `occurrence`): the next ones follow from there. Whether
    anything changed."""
    row = get_milestone(conn, milestone_id)
    changes = {"due": due, "every": str(every), "anchor": anchor, "occurrence": occurrence}
    changes = {key: value for key, value in changes.items() if getattr(row, key) != value}
    if not changes:
        return False
    if {"anchor", "occurrence"} & changes.keys():
        # It begins a series of its own (the old one's numbers may be taken by its past rows):
        # its own uuid names it, unless successors of its own already hold that number.
        taken = conn.scalar(
            select(milestones.c.id).where(
                milestones.c.series == row.uuid,
                milestones.c.occurrence == occurrence,
                milestones.c.id != row.id,
                milestones.c.deleted_at.is_(None),
            )
        )
        changes["series"] = new_uuid() if taken else row.uuid
    if "due" in changes:
        offsets = conn.scalars(
            select(milestone_reminders.c.offset).where(milestone_reminders.c.milestone_id == row.id)
        ).all()
        _set_reminders(conn, row.id, due, [parse_duration(o) for o in offsets])
    update_row(conn, milestones, row, changes)
    return True


def _find_occurrence(conn: Connection, series: str, occurrence: int) -> int | None:
    return conn.scalar(
        select(milestones.c.id).where(
            milestones.c.series == series,
            milestones.c.occurrence == occurrence,
            milestones.c.deleted_at.is_(None),
        )
    )


def set_status(
    conn: Connection,
    milestone_id: int,
    status: str,
    reason: str | None = None,
    today: date | None = None,
    by: str | None = None,
) -> None:
    """Block (with a reason), reopen or cancel a milestone. A block goes on the customer's
    timeline (dated `today`): the milestone keeps only its current status, and a reopen
    would erase when and why it was blocked."""
    row = get_milestone(conn, milestone_id)
    if status == "blocked" and not (reason and reason.strip()):
        raise Invalid("blocking a milestone needs --reason")
    if row.status == status and status != "blocked":
        raise Conflict(f"milestone {milestone_id} is already {status}")
    if row.status == "done" and status != "open":
        # Done is done: a later occurrence may already stand in for it.
        raise Conflict(
            f"milestone {milestone_id} is done (on {row.done_on}): reopen it first "
            f"(clm milestone reopen {milestone_id})"
        )
    update_row(
        conn,
        milestones,
        row,
        {"status": status, "blocked_reason": reason if status == "blocked" else None}
        | ({"done_on": None} if status == "open" else {}),
    )
    settle_reminders(conn, milestone_id)
    if status == "blocked" and today is not None:
        entry = new_row(
            conn, customer_id=row.customer_id, on=today, kind="blocked",
            text=f"{row.title}: {reason.strip()}", by=by, milestone_id=row.id,
        )  # fmt: skip
        del entry["stamps"], entry["updated_at"]
        conn.execute(notes.insert().values(entry))


def edit_milestone(
    conn: Connection,
    milestone_id: int,
    title: str | None = None,
    due: date | None = None,
    remind: list[Duration] | None = None,
    add_collaborators: Iterable[str] = (),
    remove_collaborators: Iterable[str] = (),
    pinned: bool | None = None,
) -> list[str]:
    """Change the given fields; the names of what changed. A new due date moves the reminders."""
    row = get_milestone(conn, milestone_id)
    changes = {}
    if title is not None:
        if not title.strip():
            raise Invalid("invalid title '': a milestone needs a title")
        changes["title"] = title.strip()
    if due is not None:
        changes["due"] = due
        # A new first due re-anchors its series: a playbook's first occurrence counted from
        # its start (occurrence 1 of start +1y) too, while it has no successor yet.
        alone = row.series == row.uuid and not _find_occurrence(
            conn, row.series, row.occurrence + 1
        )
        if row.occurrence == 0 or alone:
            changes |= {"anchor": due, "occurrence": 0}
        if row.every:
            check_recurrence(
                row.every,
                due,
                changes.get("anchor", row.anchor),
                changes.get("occurrence", row.occurrence),
            )
    if pinned is not None:
        changes["pinned"] = pinned
    changes = {key: value for key, value in changes.items() if getattr(row, key) != value}
    touched = []
    current = list(
        conn.scalars(
            select(milestone_reminders.c.offset).where(milestone_reminders.c.milestone_id == row.id)
        )
    )
    if remind is not None and sorted(map(str, remind)) != sorted(current):
        touched.append("remind")
    if "due" in changes or touched:
        offsets = remind if remind is not None else [parse_duration(o) for o in current]
        _set_reminders(conn, row.id, changes.get("due", row.due), offsets)
    link = milestone_collaborators
    present = set(conn.scalars(select(link.c.user_id).where(link.c.milestone_id == row.id)))
    add = [i for i in user_ids(conn, add_collaborators).values() if i not in present]
    remove = [i for i in user_ids(conn, remove_collaborators).values() if i in present]
    if add:
        conn.execute(link.insert(), [{"milestone_id": row.id, "user_id": i} for i in add])
    if remove:
        conn.execute(delete(link).where(link.c.milestone_id == row.id, link.c.user_id.in_(remove)))
    members = []
    if add or remove:
        touched.append("collaborators")
        members = set_member_stamps("collaborators", *user_uuids(conn, add, remove))
    update_row(conn, milestones, row, changes, touched, members)
    return [key for key in changes if key not in ("anchor", "occurrence")] + touched


def remove_milestone(conn: Connection, milestone_id: int) -> str:
    """Tombstone a milestone: it leaves every list and never reminds again."""
    row = get_milestone(conn, milestone_id)
    update_row(conn, milestones, row, {"deleted_at": utcnow()})
    settle_reminders(conn, milestone_id)
    return row.title


def reminders_due(
    conn: Connection, day: date, user_id: int | None = None, include_fired: bool = False
) -> Iterator[dict]:
    """Reminders whose day has come (remind_on <= day) and that have not fired, of unfinished
    milestones of live customers; one indexed query. With `user_id`: those addressed to them;
    with `include_fired`: fired ones too, while their milestone is not yet past due."""
    query = reminder_query(day, include_fired)
    if user_id is None:
        # Read as consumed (a tick fires a backlog a chunk at a time), a batch of rows a fetch:
        # a row a fetch was 5% of a catch-up of 260,000 reminders.
        rows = (row for part in conn.execute(query).partitions(1000) for row in part)
        ids = query.with_only_columns(milestones.c.id).order_by(None)
        if not include_fired:
            # The same milestones, read from the pending reminders' index alone: the due query
            # again would read every due milestone and its customer a second time.
            ids = select(milestone_reminders.c.milestone_id).where(
                text("milestone_reminders.pending"), milestone_reminders.c.remind_on <= day
            )
    else:
        rows = sorted(
            (row for part in reminder_parts(query, user_id) for row in conn.execute(part)),
            key=lambda row: (row.remind_on, row.milestone),
        )
        ids = [row.milestone for row in rows]
    yield from _addressed(conn, rows, ids)


def reminder_query(day, include_fired: bool):
    """The select of `reminders_due` (`day` a date or a bound parameter)."""
    owner = users.alias("owner")
    query = (
        select(
            milestones.c.id.label("milestone"),
            milestones.c.uuid,
            customers.c.slug.label("customer"),
            milestones.c.title,
            milestones.c.due,
            milestone_reminders.c.remind_on,
            milestone_reminders.c.offset,
            owner.c.handle.label("owner"),
            customers.c.stage,
        )
        .select_from(
            milestone_reminders.join(
                milestones, milestones.c.id == milestone_reminders.c.milestone_id
            )
            .join(customers, customers.c.id == milestones.c.customer_id)
            .outerjoin(owner, (owner.c.id == customers.c.owner_id) & owner.c.deleted_at.is_(None))
        )
        .where(
            milestone_reminders.c.remind_on <= day,
        )
        .order_by(milestone_reminders.c.remind_on, milestones.c.id)
    )
    if include_fired:
        query = query.where(
            milestones.c.due >= day,
            milestones.c.status.in_(UNFINISHED),
            milestones.c.deleted_at.is_(None),
            customers.c.deleted_at.is_(None),
        )
    else:
        # Bare `pending` (not `pending = 1`) so the partial index on pending reminders is used;
        # a pending reminder's milestone is unfinished and live by construction.
        query = query.where(text("milestone_reminders.pending"))
    return query


def reminder_parts(query, user_id) -> tuple:
    """`query` (a reminder_query) for the reminders that reach a user: one select for each
    way, each led by its own index (an OR of the two scanned every unfinished milestone: 2 s
    on 100,000 customers). Their rows together, by (remind_on, milestone), are the user's."""
    owned = query.where(customers.c.owner_id == user_id)
    collaborating = query.join(
        milestone_collaborators,
        (milestone_collaborators.c.milestone_id == milestones.c.id)
        & (milestone_collaborators.c.user_id == user_id),
    ).where(or_(customers.c.owner_id.is_(None), customers.c.owner_id != user_id))
    return owned, collaborating


def _addressed(conn: Connection, rows, ids) -> Iterator[dict]:
    """Each reminder row with its recipients (the owner and collaborators, else the stage's
    team) as a record."""
    # The collaborators of the same milestones: one query, whatever their number.
    collaborators = _collaborators(conn, ids)
    keys = ("milestone", "uuid", "customer", "title", "due", "remind_on", "offset")
    teams = None
    for row in rows:
        record = dict(zip(keys, row, strict=False))
        owner_handle = row.owner
        others = collaborators.get(row.milestone)
        if others:
            recipients = list(dict.fromkeys([owner_handle, *others] if owner_handle else others))
        else:
            recipients = [owner_handle] if owner_handle else []
        record["recipients"], record["to_team"], record["undeliverable"] = recipients, None, False
        if not recipients:
            # No addressee: the stage's team hears of it, or nobody can (undeliverable).
            teams = teams if teams is not None else _stage_teams(conn)
            team, members = teams.get(row.stage, (None, []))
            record["recipients"], record["to_team"] = members, team
            record["undeliverable"] = not members
        yield record


def _stage_teams(conn: Connection) -> dict[str, tuple[str | None, list[str]]]:
    """Stage key -> its team and the team's live members' handles (read once: a few rows)."""
    members: dict[str, list[str]] = {}
    query = select(users.c.team, users.c.handle).where(
        users.c.deleted_at.is_(None), users.c.team.is_not(None)
    )
    for team, handle in conn.execute(query.order_by(users.c.handle)):
        members.setdefault(team, []).append(handle)
    live = select(stages.c.key, stages.c.team).where(stages.c.deleted_at.is_(None))
    return {key: (team, members.get(team, [])) for key, team in conn.execute(live)}


def _collaborators(conn: Connection, milestone_ids) -> dict[int, list[str]]:
    """Milestone id -> its live collaborators' handles in order, for the ids a query selects."""
    found: dict[int, list[str]] = {}
    query = (
        select(milestone_collaborators.c.milestone_id, users.c.handle)
        .join(users, users.c.id == milestone_collaborators.c.user_id)
        .where(
            milestone_collaborators.c.milestone_id.in_(milestone_ids), users.c.deleted_at.is_(None)
        )
        .order_by(users.c.handle)
    )
    for milestone_id, handle in conn.execute(query):
        found.setdefault(milestone_id, []).append(handle)
    return found


REMINDER_CHUNK = 5000  # reminders read, logged and kept at a time: a backlog is never held whole


def fire_reminders(
    conn: Connection, day: date, keys: tuple[str, ...] | None = None, into=None
) -> tuple[list[dict], list[dict]]:
    """Fire every reminder due by `day` that has not fired: each is logged once, the log's
    unique key deciding, so re-runs and concurrent ticks never fire one twice. A reminder that
    has nobody to go to (no owner, collaborator or member of the stage's team) is not sent: it
    stays pending, to fire once someone can hear it. The reminders fired (each cut down to
    `keys`; appended to `into`, a list or a spool, when given), and those not sent.

    Read and logged a chunk at a time: a catch-up's backlog (a quarter of a million reminders
    on a 100,000-customer book) is kept only as the records returned (in `into`: a tick's
    spool keeps them on disk), not also as the rows read and the log's rows."""
    fired = [] if into is None else into
    # A record cut down to `keys` (a tuple of its values, zipped with them).
    cut = itemgetter(*keys) if keys else None
    if keys is not None and len(keys) == 1:
        cut = lambda r: (r[keys[0]],)  # noqa: E731 (itemgetter of one key gives no tuple)
    undeliverable, any_due = [], False
    found = reminders_due(conn, day)
    if into is None:
        found = shared_values(found)  # held in a list: equal strings made one
    while chunk := list(islice(found, REMINDER_CHUNK)):
        if len(chunk) == REMINDER_CHUNK and not fired:
            bigger_write_cache(conn)  # a backlog: keep its dirty pages in memory until the commit
        due = [r for r in chunk if not r["undeliverable"]]
        any_due = any_due or bool(due)
        undeliverable += [r for r in chunk if r["undeliverable"]]
        logged = _log_reminders(conn, day, due)
        fired.extend(
            logged if keys is None else (dict(zip(keys, cut(r), strict=True)) for r in logged)
        )
        del chunk, due, logged
    if any_due:
        # Exactly the reminders read above: the pending ones whose day has come.
        conn.execute(
            update(milestone_reminders)
            .where(text("milestone_reminders.pending"), milestone_reminders.c.remind_on <= day)
            .values(pending=False)
        )
    _keep_pending(conn, day, undeliverable)
    return fired, undeliverable


LOG_COLUMNS = (
    "uuid", "milestone_uuid", "offset", "remind_on", "fired_on", "recipients", "created_at",
)  # fmt: skip


def _log_reminders(conn: Connection, day: date, due: list[dict]) -> list[dict]:
    """Log the reminders `due` as fired on `day`; those logged now (not by another copy)."""
    if not due:
        return []
    now = utcnow()
    values = [
        (new_uuid(), r["uuid"], r["offset"], r["remind_on"], day, ";".join(r["recipients"]), now)
        for r in due
    ]
    # Usually every one goes in (as tuples, no dicts built): only when some did not (another
    # copy of the file logged them already: not fired again) are they sorted.
    went_in = insert_new_rows(conn, reminder_log, LOG_COLUMNS, values)
    if len(went_in) == len(values):
        return due
    logged = {(milestone_uuid, offset) for _, milestone_uuid, offset, *_ in went_in}
    entries = [dict(zip(LOG_COLUMNS, v, strict=True)) for v in values]
    missed = [e for e in entries if (e["milestone_uuid"], e["offset"]) not in logged]
    if missed:
        # Offsets that fired before for another day (their due date moved since): logged again
        # under a dated key, unless they fired for this very day.
        fired = fired_days(conn, list({e["milestone_uuid"] for e in missed}))
        again = [
            e | {"offset": log_offset(e["offset"], e["remind_on"])}
            for e in missed
            if e["remind_on"] not in fired.get((e["milestone_uuid"], e["offset"]), ())
        ]
        logged |= {
            (e["milestone_uuid"], logged_offset(e["offset"]))
            for e in insert_new(conn, reminder_log, again)
        }
    return [r for r in due if (r["uuid"], r["offset"]) in logged]


def _keep_pending(conn: Connection, day: date, undeliverable: list[dict]) -> None:
    """The reminders not sent for want of a recipient stay pending (the update above is one
    statement over the day's reminders; these few are put back)."""
    from sqlalchemy import bindparam

    if undeliverable:
        conn.execute(
            update(milestone_reminders)
            .where(
                milestone_reminders.c.milestone_id == bindparam("m"),
                milestone_reminders.c.offset == bindparam("o"),
            )
            .values(pending=True),
            [{"m": r["milestone"], "o": r["offset"]} for r in undeliverable],
        )
