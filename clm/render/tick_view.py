"""`clm tick` as people and programs read it: a table per kind of news for each day (only the
news with --quiet, nothing on a quiet day) and the overdue count with its oldest items, or one
JSON object per day (an array of the days with --until, a line each with jsonl)."""

import json

from clm.plain import jsonable, number
from clm.render import Streams
from clm.render.output import Col, Format, Listing, print_parts, say

TRANSITIONS = (Col("customer"), Col("from"), Col("to"), Col("on"), Col("rule"))
REMINDERS = (
    Col("milestone"),
    Col("customer"),
    Col("title"),
    Col("due"),
    Col("remind_on"),
    Col("recipients"),
    Col("to_team", "to team (no owner)"),
)
PENDING = (Col("customer"), Col("team"), Col("on"), Col("owner", "owner kept"), Col("rule"))
UNDELIVERABLE = (
    Col("milestone"),
    Col("customer"),
    Col("title"),
    Col("due"),
    Col("remind_on"),
    Col("to_team", "team"),
)
CTAS = (Col("id"), Col("customer"), Col("type"), Col("reason"), Col("on"), Col("rule"))
TASKS = (Col("id"), Col("customer"), Col("title"), Col("due"), Col("assignee"))
OVERDUE = (Col("kind"), Col("id"), Col("customer"), Col("title"), Col("due"), Col("days_overdue"))
OVERDUE_SHOWN = 5  # oldest overdue items a day's table shows, as the agenda's sections
NEWS = (
    ("transitions", "Stage changes", TRANSITIONS),
    ("reminders", "Reminders", REMINDERS),
    ("ctas_opened", "CTAs opened", CTAS),
    ("tasks_created", "Tasks created", TASKS),
    ("handoffs_pending", "Handoffs pending: nobody to assign (clm customer assign)", PENDING),
    ("undeliverable", "Reminders not sent: no owner, collaborator or team member", UNDELIVERABLE),
)


def render_tick(env: Streams, days: list, fmt: Format, quiet: bool, until: bool) -> None:
    """Write the days of a tick (clm.domain.engine.tick.TickResult) in `fmt`."""
    if fmt in (Format.json, Format.jsonl):
        objects = [_day_object(day) for day in days if not quiet or _news(day)]
        out = env.stdout
        if fmt is Format.jsonl:  # one object a day, a line each
            for day in objects:
                _write_day(out, day)
                out.write("\n")
        elif until:  # --until: one array of the days
            out.write("[")
            for i, day in enumerate(objects):
                out.write(", " if i else "")
                _write_day(out, day)
            out.write("]\n")
        elif objects:
            _write_day(out, objects[0])
            out.write("\n")
        return
    for day in days:
        _render_day(env, day, quiet)


def _news(day) -> bool:
    return any(getattr(day, key) for key, _, _ in NEWS)


def _day_object(day) -> dict:
    """A day as JSON: its news whole; of the overdue list the oldest (at most
    clm.domain.engine.tick.OVERDUE_LISTED), how many in all, and whether some were left out."""
    return {
        "date": day.date,
        **{k: getattr(day, k) for k, _, _ in NEWS},
        "overdue": [_overdue_row(row) for row in day.overdue],
        "overdue_count": day.overdue_count,
        "overdue_truncated": _left_out(day) > 0,
        "dry_run": day.dry_run,
    }


def _left_out(day) -> int:
    return (day.overdue_count or 0) - len(day.overdue)


def _overdue_row(row: dict) -> dict:
    return {k: number(v) if isinstance(v, float) else v for k, v in row.items()}


ROWS_PER_WRITE = 2000


def _write_day(out, day: dict) -> None:
    """A day's object as `json.dumps` writes it, byte for byte, but each list of news encoded
    and written a chunk of rows at a time, as its spool reads them back: a catch-up tick lists
    hundreds of thousands of rows, which in one `json.dumps` became one string and, before it,
    the encoder's list of every piece (a few hundred MB)."""
    for i, (key, value) in enumerate(day.items()):
        out.write(("{" if i == 0 else ", ") + _json(key) + ": ")
        if hasattr(value, "chunks") or isinstance(value, list):
            _write_rows(out, value.chunks() if hasattr(value, "chunks") else _slices(value))
        else:
            out.write(_json(value))
    out.write("}" if day else "{}")


def _slices(rows: list):
    for start in range(0, len(rows), ROWS_PER_WRITE):
        yield rows[start : start + ROWS_PER_WRITE]


def _write_rows(out, chunks) -> None:
    """A JSON array written a chunk of rows at a time: as `json.dumps` of the whole list."""
    first = True
    for rows in chunks:
        if rows:
            out.write(("[" if first else ", ") + _json(rows)[1:-1])  # without [ ]
            first = False
    out.write("[]" if first else "]")


def _json(value) -> str:
    # `default` writes dates and times as `jsonable` does: a first tick can list tens of
    # thousands of rows, which json.dumps then writes in one pass.
    return json.dumps(value, ensure_ascii=False, default=jsonable)


def _render_day(env: Streams, day, quiet: bool) -> None:
    news = _news(day)
    if quiet and not news:
        return
    from rich.text import Text

    prefix = "Dry run: " if day.dry_run else ""
    parts = [Text(f"{prefix}tick of {day.date}")]
    for key, title, columns in NEWS:
        rows = getattr(day, key)
        if key == "reminders" and not any(row.get("to_team") for row in rows):
            columns = columns[:-1]  # every reminder had its addressee: no team column
        if rows:
            parts += [Text(f"{title} ({len(rows):,})"), Listing(columns, rows)]
    if day.overdue and not quiet:
        # The backlog, not the day's news: its count and oldest items, and where the rest is.
        shown = day.overdue[:OVERDUE_SHOWN]
        parts += [Text(f"Overdue ({day.overdue_count:,})"), Listing(OVERDUE, shown)]
        if day.overdue_count > len(shown):
            more = day.overdue_count - len(shown)
            parts.append(Text(f"  … {more:,} more: clm report overdue"))
    print_parts(env, parts)
    if not news and not quiet:
        say(env, "Nothing new today.")
