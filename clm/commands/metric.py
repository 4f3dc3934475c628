"""`clm metric …`: usage metrics, a value per customer and day."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt, YesOpt, noun
from clm.commands.transfer import DataFormat, run_metric_import
from clm.render.output import Col, Format, render_rows, say

app = noun("Usage metrics: a value per customer and day, set or imported. Lists by default.")

Name = Annotated[str, typer.Argument(metavar="METRIC", help="The metric's name.")]
Customer = Annotated[str, typer.Argument(metavar="CUSTOMER", help="The customer's slug.")]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="METRIC", help="Its name: lowercase letters, digits and _.")
    ],
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="What it counts.")
    ] = None,
) -> None:
    """Add a metric a book tracks, so values can be set and imported and rules can read it.

    Example: clm metric add active_users --description 'Users active in the last 7 days'
    """
    env = ctx.obj
    from clm.domain.metrics import add_metric

    with env.database().write() as conn:
        added = add_metric(conn, name, description)
    say(env, f"Added metric {added}.")


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """List the metrics.

    Example: clm metric list
    """
    env = ctx.obj
    from clm.domain.metrics import list_metrics

    with env.database().read() as conn:
        render_rows(env, list_metrics(conn), (Col("name"), Col("description")), fmt, noun="metrics")


@app.command("rm")
def rm(ctx: typer.Context, name: Name, yes: YesOpt = False) -> None:
    """Remove a metric and its values (a metric with values needs --yes; one a rule or the
    scorecard reads is refused: change those first).

    Example: clm metric rm active_users --yes
    """
    env = ctx.obj
    from clm.domain.metrics import remove_metric

    with env.database().write() as conn:
        points = remove_metric(conn, name, yes)
    values = f" and {points} values" if points else ""
    say(env, f"Removed metric {name.strip().lower()}{values}.")


@app.command("set")
def set_(
    ctx: typer.Context,
    customer: Customer,
    name: Name,
    value: Annotated[str, typer.Argument(metavar="VALUE", help="A number.")],
    on: Annotated[
        str | None, typer.Option("--on", metavar="DATE", help="The day (default: today).")
    ] = None,
) -> None:
    """Set a customer's value of a metric for a day (today unless --on). Setting the value
    a day has already changes nothing.

    Example: clm metric set acme-corp active_users 42 --on yesterday
    """
    env = ctx.obj
    from clm.domain.metrics import set_point

    day = env.date(on, "--on") if on else env.today
    with env.database().write() as conn:
        changed = set_point(conn, env.today, customer, name, value, day)
    what = f"{customer.strip().lower()} {name.strip().lower()} on {day}"
    say(env, f"Set {what}." if changed else f"Unchanged: {what} already had that value.")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="The file ('-': standard input).")],
    fmt: Annotated[
        DataFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, tsv, json or jsonl (default: from FILE's extension).",
            case_sensitive=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and count; write nothing.")
    ] = False,
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="'HEADER=column'",
            help="Read the file's column HEADER as column (customer, date, metric, value or a "
            "metric's name; repeatable); 'HEADER=' skips it.",
        ),
    ] = None,
) -> None:
    """Import metric values: the long form (customer,date,metric,value) or the wide form
    (customer,date and a column per metric; an empty cell is no value).

    A value is set by customer, metric and day: importing the same file again changes
    nothing. Dates are ISO (a date-time's time is ignored), not after today. Every row is
    checked first: bad rows are listed with their line, and nothing is imported.
    Example: clm metric import usage.csv --map 'Account=customer' --map 'DAU=active_users'
    """
    run_metric_import(ctx.obj, file, fmt.value if fmt else None, dry_run, maps or ())


@app.command("show")
def show(
    ctx: typer.Context,
    customer: Customer,
    name: Name,
    since: Annotated[
        str | None, typer.Option("--since", metavar="DATE", help="From this day on.")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Show a customer's values of a metric: a sparkline on a terminal, the days and values
    in a pipe or in csv/json.

    Example: clm metric show acme-corp active_users --since -90d
    """
    env = ctx.obj
    from clm.domain.metrics import series
    from clm.render.output import is_terminal
    from clm.render.sparkline import print_series

    with env.database().read() as conn:
        points = series(conn, customer, name, env.date(since, "--since"))
    if fmt is Format.table and is_terminal(env):
        print_series(env, f"{customer.strip().lower()} {name.strip().lower()}", points)
        return
    render_rows(env, points, (Col("day"), Col("value", number=True)), fmt, noun="values")
