"""How rows read from the database become the records commands show. No SQLAlchemy here: the
engine's reads and the compiled ones (clm.storage.reads, a page such as `customer show`
read on a file without the engine) share these."""

from collections.abc import Callable, Collection, Iterable
from datetime import date

from clm.dates import days_between, parse_offset

CUSTOMER_KEYS = (
    "slug", "name", "stage", "owner", "start", "renewal", "term", "arr", "health",
    "lead_score", "source", "tags", "influencers", "stage_entered", "days_in_stage", "uuid",
    "handoff_pending",
)  # fmt: skip
SPARKS = "▁▂▃▄▅▆▇█"


def split(joined: str | None) -> list[str]:
    """A column aggregated with ';' (aggregate_strings) as its items."""
    return joined.split(";") if joined else []


def customer_record(record: dict, today: date) -> dict:
    """A customer's row (clm.domain.customers' select) as commands show it."""
    record["tags"] = sorted(split(record["tags"]))
    record["influencers"] = sorted(split(record["influencers"]))
    record["days_in_stage"] = days_between(record["stage_entered"], today)
    return {key: record[key] for key in CUSTOMER_KEYS}


def milestone_record(record: dict) -> dict:
    """A milestone's row (clm.domain.milestones' select): its reminders latest first, its
    collaborators and tasks as lists."""
    pairs = sorted(
        zip(split(record["remind"]), split(record["remind_on"]), strict=True),
        key=lambda pair: pair[1],
        reverse=True,
    )
    record["remind"] = [offset for offset, _ in pairs]
    record["remind_on"] = [date.fromisoformat(day) for _, day in pairs]
    record["collaborators"] = sorted(split(record["collaborators"]))
    record["tasks"] = sorted(int(i) for i in split(record["tasks"]))
    return record


def cta_record(record: dict) -> dict:
    record["tasks"] = sorted(int(i) for i in split(record["tasks"]))
    return record


def daily_health(rows: Iterable) -> list[dict]:
    """Health scores (day, health) oldest first as a history: the last of a day only."""
    by_day = {on: health for on, health in rows}
    return [{"on": on, "health": health} for on, health in by_day.items()]


def sparkline(history: list[dict], last: int = 40) -> str:
    """Health over time in one line: `▇▇▂ 80 → 35 since 2026-09-01`; empty without history."""
    if not history:
        return ""
    shown = history[-last:]
    line = "".join(SPARKS[min(7, entry["health"] * 8 // 101)] for entry in shown)
    if len(shown) == 1:
        return f"{line} {shown[0]['health']} since {shown[0]['on']}"
    return f"{line} {shown[0]['health']} → {shown[-1]['health']} since {shown[0]['on']}"


def stays_of(entries: list, today: date) -> list[dict]:
    """A customer's stays from its transitions (stage entered, day) oldest first: stage,
    entered, left (None while it lasts) and days."""
    ends = [on for _, on in entries[1:]] + [None]
    return [
        {"stage": stage, "entered": entered, "left": left,
         "days": days_between(entered, left or today)}
        for (stage, entered), left in zip(entries, ends, strict=True)
    ]  # fmt: skip


PHASE_KEYS = ("title", "on", "status", "playbook")


def phases_of(
    rows: Iterable,
    start: date | None,
    renewal: date | None,
    today: date,
    holidays: Callable[[], Collection[date]],
) -> list[dict]:
    """The phases from the phase items of the playbooks applied to a customer (playbook,
    anchor_day, title, anchor, offset; clm.domain.phases), on their offsets from their anchor
    (`holidays()`: the days off, read when a phase counts business days)."""
    days_off = None
    found: dict[tuple, dict] = {}
    for row in rows:
        anchor_day = {"start": start, "renewal": renewal}.get(row.anchor, row.anchor_day)
        if anchor_day is None:
            continue
        sign, offset = parse_offset(row.offset)
        if offset.unit == "bd" and days_off is None:
            days_off = holidays()
        on = offset.shift(anchor_day, sign, days_off or ())
        status = "passed" if on <= today else "ahead"
        found.setdefault(
            (row.playbook, row.title, on),
            dict(zip(PHASE_KEYS, (row.title, on, status, row.playbook), strict=True)),
        )
    return sorted(found.values(), key=lambda phase: (phase["on"], phase["title"]))


def with_phases(
    entries: list[dict], phases: list[dict], since: date | None, kinds: tuple[str, ...]
) -> list[dict]:
    """A timeline's entries (oldest first) with the phases passed, each on its day after
    that day's other entries; of `kinds` if given (a kind or its first word)."""
    entries = entries + [
        {"on": p["on"], "kind": "phase", "text": p["title"], "by": None, "reason": None}
        for p in phases
        if p["status"] == "passed" and (since is None or p["on"] >= since)
    ]
    if kinds:
        entries = [e for e in entries if e["kind"].split()[0] in kinds]
    return sorted(entries, key=lambda e: e["on"])


def forecast_of(found) -> dict:
    """The forecast (category, set by hand) of a customer that renews; both None for one that
    renews nothing (`found` None)."""
    if found is None:
        return {"forecast": None, "forecast_set_by": None}
    kind, by_hand = found
    return {"forecast": kind, "forecast_set_by": "hand" if by_hand else "health"}
