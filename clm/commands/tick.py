"""`clm tick`: the daily engine cron runs."""

from typing import Annotated

import typer

from clm.render.output import Format, say


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
    no_send: Annotated[
        bool,
        typer.Option("--no-send", help="Queue the notifications only; clm notify send sends them."),
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

    Then it sends each person with a channel (clm user edit --notify) their digest, after the
    commit: a notification that fails is an Error line and exit 1, the tick's work is kept.

    Example: clm tick --dry-run --until +30d --try stalled
    """
    from clm.errors import Invalid
    from clm.render.progress import progress
    from clm.render.tick_view import render_tick
    from clm.rules import run_ticks

    env = ctx.obj
    from clm.dates import DRY_RUN_YEARS, Duration, check_today

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
    days = (last - env.today).days + 1
    with progress(env, "Ticking", total=days if days > 1 else None, unit="days") as bar:
        run = run_ticks(
            env.database(), env.today, last, dry_run, trying or (), take_over,
            with_overdue=not quiet,  # --quiet: news only, the overdue backlog not worth a query
            on_day=bar.advance,
        )  # fmt: skip
    if run.took_over_from:
        say(env, f"Took the tick over from {run.took_over_from}.")
    render_tick(env, run.days, fmt, quiet, until=days > 1)
    if not dry_run and not no_send and run.queued:
        # After the commit: a notification that fails never undoes the tick's work.
        from clm.commands.notify import deliver

        deliver(env)
