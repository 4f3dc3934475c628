"""`clm` alone: what the day asks for (reminders, overdue work, customers over SLA, renewals,
handoffs, failed notifications), and `clm my`: what the current user owns, follows, is
assigned and is reminded of. Both read through statements compiled ahead (clm.storage.reads):
on a file, without importing SQLAlchemy. The statements are clm.domain.agenda's."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from clm.errors import Invalid, not_found

SHOWN_PER_SECTION = 5
COUNTED_UP_TO = 1000  # a section counts its rows this far; past it the agenda says "1000+"
LAST_TICK = "last_tick"  # meta key: a summary of the last tick that wrote
RENEWALS_WITHIN_DAYS = 30
REMINDERS_SINCE_DAYS = 14  # `clm my` lists older ones, until their milestone is due
DAY_KEYS = ("section", "kind", "id", "customer", "title", "due", "detail", "command")
ACT_ON = {
    "milestone": "clm milestone done {}",
    "task": "clm task done {}",
    "cta": "clm cta close {}",
}
RETRY = "clm notify retry"


@dataclass
class DayAgenda:
    """What the day asks for: rows by section (the first few of each), each section's count
    (up to COUNTED_UP_TO + 1: more than COUNTED_UP_TO) and the command that lists all of it,
    and what the last tick did."""

    user: str | None
    rows: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    more: dict[str, str] = field(default_factory=dict)
    last_tick: dict | None = None


@dataclass(frozen=True)
class _User:
    id: int
    handle: str
    team: str | None


def day_agenda(reads, today: date, handle: str | None, shown: int = SHOWN_PER_SECTION) -> DayAgenda:
    """Reminders that came up in the last two weeks for milestones not yet due, overdue work,
    customers over their stage's expected days, renewals in the next 30 days: each line with
    the command that acts on it. With a user: only theirs. The database returns each
    section's rows in order up to COUNTED_UP_TO + 1: the first `shown` are the agenda's, their
    number its count."""
    user = _user(reads, handle) if handle else None
    tick = reads.scalar("day.meta", key=LAST_TICK)
    agenda = DayAgenda(
        user=user.handle if user else None, last_tick=json.loads(tick) if tick else None
    )
    mine = f" --owner {user.handle}" if user else ""
    params = {
        "today": today,
        "since": today - timedelta(REMINDERS_SINCE_DAYS),
        "until": today + timedelta(RENEWALS_WITHIN_DAYS),
        "upto": COUNTED_UP_TO + 1,
    }
    if user is not None:
        params.update(user_id=user.id, team=user.team)
    sections = (
        ("reminders", _reminder, "clm my" if user else "clm milestone list --due-within 60d"),
        ("overdue", _overdue, "clm report overdue"),
        ("over_sla", None, f"clm customer list{mine}"),
        ("renewals", _renewal, f"clm customer list --renewal-within 30d{mine}"),
        ("handoffs", _handoff, "clm customer list --handoff-pending"),
        ("notifications", _notification, "clm notify log --failed"),
    )
    for section, to_row, more in sections:
        name = f"day.{section}" + (".mine" if user else "")
        if section == "over_sla":
            rows, count = _over_sla(reads, name, params, today, shown)
        else:
            # One read: the section's rows up to the count's bound; the first are shown.
            found = reads.all(name, **params)
            count, rows = len(found), [to_row(row, today, user) for row in found[:shown]]
        agenda.counts[section] = count
        agenda.rows += [{"section": section, **row} for row in rows]
        if count > shown:
            agenda.more[section] = more
    return agenda


def _user(reads, handle: str) -> _User:
    key = handle.strip().lower()
    row = reads.first("day.user", handle=key)
    if row is None:  # as records.find_live suggests: the handles sharing a prefix or the text
        prefix = key[:2].replace("%", "").replace("_", "")
        known = [h for (h,) in reads.all("day.user_handles") if h.startswith(prefix) or key in h]
        raise not_found("user", key, known[:500])
    return _User(row.id, row.handle, row.team)


def _over_sla(reads, name, params, today, shown) -> tuple[list[dict], int]:
    """Customers over their stage's expected days, one stage at a time, merged."""
    found = []
    for stage, days in reads.all("day.sla_stages"):
        bound = {**params, "stage": stage, "before": today - timedelta(days)}
        found += [(row, days) for row in reads.all(name, **bound)]
    found.sort(key=lambda pair: (pair[0].stage_entered, pair[0].slug))
    rows = [_over(row, days, today) for row, days in found[:shown]]
    return rows, min(len(found), COUNTED_UP_TO + 1)


def _item(kind, item_id, customer, title, due, detail, command) -> dict:
    values = (kind, item_id, customer, title, due, detail, command)
    return dict(zip(DAY_KEYS[1:], values, strict=True))


def _reminder(row, today, user) -> dict:
    detail = f"{row.offset} before, since {row.remind_on}"
    command = f"clm milestone done {row.id}"
    return _item("reminder", row.id, row.slug, row.title, row.due, detail, command)


def _overdue(row, today, user) -> dict:
    late = f"{(today - row.due).days} days overdue"
    detail = late if user else f"{late}, {row.handle or 'nobody'}"
    command = ACT_ON[row.kind].format(row.id)
    return _item(row.kind, row.id, row.slug, row.title, row.due, detail, command)


def _over(row, expected, today) -> dict:
    days = (today - row.stage_entered).days
    detail = f"{days} days in {row.stage}, expected {expected}"
    return _item("customer", None, row.slug, row.name, None, detail, f"clm explain {row.slug}")


def _renewal(row, today, user) -> dict:
    arr = f", ARR {row.arr:,.0f}" if row.arr is not None else ""
    days = (row.renewal - today).days
    detail = (f"in {days} days" if days >= 0 else f"lapsed {-days} days ago") + arr
    command = f"clm customer renew {row.slug}"
    return _item("renewal", None, row.slug, row.name, row.renewal, detail, command)


def _handoff(row, today, user) -> dict:
    to = user.handle if user is not None and user.team else "USER"
    detail = f"team {row.handoff_pending} has nobody to assign; owner {row.handle or 'none'}"
    command = f"clm customer assign {row.slug} --owner {to}"
    return _item("handoff", None, row.slug, row.name, None, detail, command)


def _notification(row, today, user) -> dict:
    from clm.domain.notify.digest import subject

    to = row.handle or f"team {row.team}"
    return {
        "kind": "notification", "id": row.id, "customer": None,
        "title": subject(row.day, json.loads(row.payload)), "due": row.day,
        "detail": f"to {to}: {row.error or 'failed'}", "command": RETRY,
    }  # fmt: skip


# `clm my`

MY_KEYS = ("kind", "id", "customer", "title", "due", "detail")


def my_items(reads, today: date, handle: str | None) -> Iterator[dict]:
    """Reminders due, tasks and CTAs assigned, milestones collaborated on, customers owned or
    followed: one row each, in that order."""
    if handle is None:
        raise Invalid("who are you? pass --as USER or set CLM_USER")
    user = _user(reads, handle)
    mine = {"today": today, "user_id": user.id}
    reminders = reads.all("my.reminders.owned", **mine) + reads.all(
        "my.reminders.collaborating", **mine
    )
    for row in sorted(reminders, key=lambda row: (row.remind_on, row.milestone)):
        detail = f"{row.offset} before, on {row.remind_on}"
        yield _mine("reminder", row.milestone, row.customer, row.title, row.due, detail)
    for row in reads.all("my.tasks", **mine):
        yield _mine("task", row.id, row.slug, row.title, row.due, _lateness(row.due, today))
    for row in reads.all("my.ctas", **mine):
        yield _mine("cta", row.id, row.slug, f"{row.type}: {row.reason}", row.due, row.priority)
    for row in reads.all("my.milestones", **mine):
        late = _lateness(row.due, today) or (row.status if row.status != "open" else None)
        yield _mine("milestone", row.id, row.slug, row.title, row.due, late)
    for row in reads.all("my.customers", **mine):
        relation = "owner" if row.owner_id == user.id else "influencer"
        yield _mine("customer", None, row.slug, row.name, row.renewal, f"{row.stage}, {relation}")


def _lateness(due: date | None, today: date) -> str | None:
    return f"{(today - due).days} days overdue" if due is not None and due < today else None


def _mine(kind, row_id, customer, title, due, detail) -> dict:
    return dict(zip(MY_KEYS, (kind, row_id, customer, title, due, detail), strict=True))
