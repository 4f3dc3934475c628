"""`clm tick`: the daily engine cron runs."""

import json
from datetime import timedelta
from typing import Annotated

import typer

from clm.render.output import Col, Format, console, say

TRANSITIONS = (Col("customer"), Col("from"), Col("to"), Col("on"), Col("rule"))
REMINDERS = (
    Col("milestone"),
    Col("customer"),
    Col("title"),
    Col("due"),
    Col("remind_on"),
    Col("recipients"),
)
CTAS = (Col("id"), Col("customer"), Col("type"), Col("reason"), Col("on"), Col("rule"))
TASKS = (Col("id"), Col("customer"), Col("title"), Col("due"), Col("assignee"))
OVERDUE = (Col("kind"), Col("id"), Col("customer"), Col("title"), Col("due"), Col("days_overdue"))
NEWS = (
    ("transitions", "Stage changes", TRANSITIONS),
    ("reminders", "Reminders", REMINDERS),
    ("ctas_opened", "CTAs opened", CTAS),
    ("tasks_created", "Tasks created", TASKS),
)


def tick(
    ctx: typer.Context,
    today: Annotated[
        str | None,
        typer.Option(
            "--today", metavar="DATE", help="The day to tick (as clm --today: default today)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what it would do; write nothing.")
    ] = False,
    until: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="With --dry-run: play every day from today to DATE."),
    ] = None,
    trying: Annotated[
        list[str] | None,
        typer.Option("--try", metavar="RULE", help="With --dry-run: apply this disabled rule too."),
    ] = None,
    take_over: Annotated[
        bool,
        typer.Option(
            "--take-over", help="Tick here from now on (a synced db is ticked by one machine)."
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only what is new; nothing on a quiet day.")
    ] = False,
    fmt: Annotated[
        Format,
        typer.Option(
            "--format",
            "-f",
            help="table (default), json (one object; with --until an array of the days) or "
            "jsonl (an object a day).",
            case_sensitive=False,
        ),
    ] = Format.table,
) -> None:
    """Apply the rules, fire due reminders, list what is overdue: once a day, from cron.

    Example: clm tick --dry-run --until +30d --try stalled
    """
    from clm.rules import get_rule

    env = ctx.obj
    from clm.dates import DRY_RUN_YEARS, Duration, check_today
    from clm.errors import Invalid
    from clm.rules import tick as run_tick

    if today is not None:
        env.today = check_today(env.date(today, "--today"))
    last = env.date(until, "--until") or env.today
    furthest = Duration(DRY_RUN_YEARS, "y").shift(env.today)
    if last > furthest:
        raise Invalid(
            f"invalid --until {last}: a dry run plays at most {DRY_RUN_YEARS} years ahead "
            f"(to {furthest}); start a later one with --today"
        )
    if (until or trying) and not dry_run:
        raise Invalid("--until and --try play what would happen: use them with --dry-run")
    if last < env.today:
        raise Invalid(f"invalid --until {last}: it must not be before today ({env.today})")
    if fmt not in (Format.table, Format.json, Format.jsonl):
        raise Invalid(f"invalid --format '{fmt.value}' for tick: use table, json or jsonl")
    from clm.render.progress import progress

    results = []
    database = env.database()
    days = (last - env.today).days + 1
    with (
        progress(env, "Ticking", total=days if days > 1 else None, unit="days") as bar,
        database.write(dry_run=dry_run) as conn,
    ):
        # A file may be synced to diverged copies; a server has one copy, any machine ticks it.
        if not dry_run and database.is_sqlite:
            from clm.domain.engine.owner import claim_tick

            previous = claim_tick(conn, take_over)
            if previous:
                say(env, f"Took the tick over from {previous}.")
        for name in trying or ():
            get_rule(conn, name)
        day = env.today
        while day <= last:
            # --quiet shows only news: the backlog of overdue work is not worth its query.
            result = run_tick(conn, day, dry_run, trying or (), with_overdue=not quiet)
            results.append(result)
            day += timedelta(days=1)
            bar.advance()
        if not dry_run:
            from clm.domain.agenda import remember_tick

            remember_tick(conn, env.today, results)
    if not dry_run:
        from clm.db import optimize

        optimize(database)
    if fmt in (Format.json, Format.jsonl):
        days = [_day_object(result) for result in results if not quiet or _news(result)]
        if fmt is Format.jsonl:  # one object a day, a line each
            env.stdout.writelines(_json(day) + "\n" for day in days)
        elif len(results) > 1:  # --until: one array of the days
            env.stdout.write(_json(days) + "\n")
        elif days:
            env.stdout.write(_json(days[0]) + "\n")
        return
    for result in results:
        _render(env, result, quiet)


def _json_value(value):
    """What json.dumps cannot write itself, as `jsonable` writes it (dates, times, floats
    become what `jsonable` makes of them): a first tick can list tens of thousands of rows."""
    from clm.render.output import jsonable

    return jsonable(value)


def _news(result) -> bool:
    return any(getattr(result, key) for key, _, _ in NEWS)


def _day_object(result) -> dict:
    from clm.render.output import number

    return {
        "date": result.date,
        **{k: getattr(result, k) for k, _, _ in NEWS},
        "overdue": [
            {k: number(v) if isinstance(v, float) else v for k, v in row.items()}
            for row in result.overdue
        ],
        "dry_run": result.dry_run,
    }


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_value)


def _render(env, result, quiet: bool) -> None:
    news = _news(result)
    if quiet and not news:
        return
    from clm.render.output import table

    out = console(env)
    prefix = "Dry run: " if result.dry_run else ""
    out.print(f"{prefix}tick of {result.date}", markup=False, highlight=False)
    sections = [*NEWS] + ([] if quiet else [("overdue", "Overdue", OVERDUE)])
    for key, title, columns in sections:
        rows = getattr(result, key)
        if rows:
            out.print(table(columns, rows, title=f"{title} ({len(rows)})"))
    if not news and not quiet:
        say(env, "Nothing new today.")
