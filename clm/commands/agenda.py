"""`clm` alone (or `clm agenda`): what the day asks for, with the command to act on each line."""

import typer

from clm.commands.common import FormatOpt
from clm.render.output import Col, Format, render_rows, say

TITLES = {
    "reminders": "Reminders of the last two weeks",
    "overdue": "Overdue",
    "over_sla": "Over their stage's expected days",
    "renewals": "Renewals in the next 30 days, or lapsed",
    "handoffs": "Handoffs pending",
    "notifications": "Notifications not sent",
}
COLUMNS = (
    Col("section", table=False),
    Col("kind", drop=3),  # the command says what it is
    Col("id", drop=1),
    Col("customer"),
    Col("title"),
    Col("due"),
    Col("detail", drop=2),
    Col("command", "do", drop=-1, whole=True),
)
START = (
    "No clm database yet at {where}. Start with one of:\n"
    "  clm demo                   a sample book of business to try clm on\n"
    "  clm init                   an empty book with the default lifecycle\n"
    "Then `clm help` lists the commands and topics."
)


def agenda(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """Today's agenda: reminders of the last two weeks, overdue work, customers over their
    stage's expected days, renewals in the next 30 days (or lapsed), pending handoffs,
    notifications that could not be sent, and what the last tick did. For the current user
    (--as USER or CLM_USER), else the whole book. `clm` alone shows it.

    Example: clm --as alice agenda
    """
    env = ctx.obj
    from clm.domain.day import day_agenda

    with env.reads(if_exists=True) as reads:
        day = None if reads is None else day_agenda(reads, env.today, env.user)
    if day is None:
        from pathlib import Path

        from clm.commands.db import DEMO_FILE
        from clm.db import resolve

        env.refuse_accidental_file()  # a mistyped --db or CLM_DB is an error, not a new start
        url, path = resolve(env.db_target)
        say(env, START.format(where=path if path is not None else url))
        if Path(DEMO_FILE).is_file():
            say(env, f"A demo book is here: export CLM_DB={Path(DEMO_FILE).resolve()}")
        if fmt is not Format.table:  # an empty agenda, for a script
            render_rows(env, [], COLUMNS, fmt, noun="items")
        return
    if fmt is not Format.table:
        render_rows(env, day.rows, COLUMNS, fmt, noun="items")
        return
    _show(env, day)


def _show(env, day) -> None:
    """The day's sections for people: Rich tables on a terminal, plain ones in a pipe."""
    from rich.text import Text

    from clm.domain.day import COUNTED_UP_TO
    from clm.render.output import Listing, print_page

    whose = f"for {day.user}" if day.user else "for the whole book (--as USER for yours)"
    parts = [Text(f"Agenda of {env.today}, {whose}")]
    for section, title in TITLES.items():
        rows = [row for row in day.rows if row["section"] == section]
        if not rows:
            continue
        count, rest = day.counts[section], day.counts[section] - len(rows)
        if count > COUNTED_UP_TO:  # counted this far, not to the end
            count, rest = f"{COUNTED_UP_TO}+", f"{COUNTED_UP_TO - len(rows)}+"
        parts += [Text(""), Text(f"{title} ({count})"), Listing(COLUMNS, rows)]
        if section in day.more:
            parts.append(Text(f"  … {rest} more: {day.more[section]}"))
    if not day.rows:
        parts.append(Text("Nothing due, overdue or renewing soon."))
    parts += [Text(""), Text(_tick_line(env.today, day.last_tick))]
    print_page(env, parts)


def _tick_line(today, last: dict | None) -> str:
    from datetime import date

    if last is None:
        return "No tick yet: `clm tick` applies the rules and fires reminders (cron: see README)."
    news = ", ".join(
        f"{last[key]} {label}"
        for key, label in (
            ("transitions", "stage changes"),
            ("reminders", "reminders"),
            ("ctas_opened", "CTAs opened"),
            ("tasks_created", "tasks created"),
        )
    )
    line = f"Last tick: {last['date']} ({news})."
    behind = (today - date.fromisoformat(last["date"])).days
    if behind > 0:
        line += f" {behind} days behind: run `clm tick`."
    return line
