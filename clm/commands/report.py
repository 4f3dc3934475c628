"""`clm report …`: the book per stage, the funnel, time in stage, renewals, overdue work,
handoffs and flows; as tables, data or pictures, and all of them on one dashboard page."""

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Annotated

import typer

from clm.cli.env import Env
from clm.commands.common import (
    FormatOpt,
    HtmlOpt,
    ListsItsCommands,
    SvgOpt,
    check_pictures,
    save_pictures,
)
from clm.render.output import Col, Format, say

app = typer.Typer(
    help=(
        "Reports: stages, funnel, time in stage, renewals, overdue, handoffs, flows, revenue "
        "(retention, forecast, churn, cohorts), health, dashboard."
    ),
    cls=ListsItsCommands,
)

Since = Annotated[
    str | None,
    typer.Option(metavar="DATE", help="Only what happened from this day on (default: always)."),
]
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", metavar="DATE", help="The book as it stood on this day, from the history."
    ),
]


def _as_of(env: Env, text: str | None):
    from clm.errors import Invalid

    day = env.date(text, "--as-of")
    if day is not None and day > env.today:
        raise Invalid(f"invalid --as-of {day}: it must not be after today ({env.today})")
    return day


def _show(
    env: Env,
    fmt: Format,
    columns: Sequence[Col],
    rows: Iterable[dict],
    page: Callable[[], list],
    pictures: tuple[str | None, str | None],
    name: str,
) -> None:
    """Data in `fmt`, or for people the report's page, also saved as pictures."""
    from clm.render.output import Listing, print_page, render_rows

    if fmt is not Format.table:
        render_rows(env, rows, columns, fmt, noun=name)
        return
    parts = page()
    if any(pictures):
        for part in parts:
            if isinstance(part, Listing):
                part.rows = list(part.rows)
    print_page(env, parts)
    save_pictures(env, parts, *pictures, title=f"clm report {name}", what=f"the {name} report")


@app.command("stages")
def stages(
    ctx: typer.Context,
    as_of: AsOf = None,
    fmt: FormatOpt = Format.table,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
) -> None:
    """Customers and ARR per stage, in lifecycle order, with a bar chart.

    Example: clm report stages --as-of 2026-09-30
    """
    env = ctx.obj
    from clm.domain.reports import stage_counts
    from clm.render.report_views import STAGES, stages_page

    check_pictures(fmt.value, svg, html)
    day = _as_of(env, as_of)
    with env.database().read() as conn:
        rows = stage_counts(conn, day)
    _show(env, fmt, STAGES, rows, lambda: stages_page(rows, day), (svg, html), "stages")


@app.command("funnel")
def funnel(
    ctx: typer.Context,
    since: Since = None,
    as_of: AsOf = None,
    fmt: FormatOpt = Format.table,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
) -> None:
    """Per stage: customers who entered, who moved on to a later stage, conversion, and the
    median days they took.

    Entries count: a customer who comes back to a stage counts again. A move into a terminal
    stage (churned) is not moving on.
    Example: clm report funnel --since 2026-01-01
    """
    env = ctx.obj
    from clm.domain.stay_counts import FUNNEL_KEYS, funnel
    from clm.render.report_views import funnel_page

    check_pictures(fmt.value, svg, html)
    start, day = env.date(since, "--since"), _as_of(env, as_of)
    with env.reads() as reads:
        rows = funnel(reads, start, day)
    columns = [Col(key) for key in FUNNEL_KEYS]
    _show(env, fmt, columns, rows, lambda: funnel_page(rows, start, day), (svg, html), "funnel")


@app.command("time-in-stage")
def time_in_stage(
    ctx: typer.Context,
    over: Annotated[
        bool, typer.Option("--over", help="List the customers over their stage's SLA instead.")
    ] = False,
    fmt: FormatOpt = Format.table,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
) -> None:
    """Median and p90 days per stage against its expected days, and who is over.

    Stays that have not ended count up to today.
    Example: clm report time-in-stage --over --format csv
    """
    env = ctx.obj
    from clm.domain.stay_counts import TIME_KEYS, first_over_sla, time_in_stage
    from clm.render.output import Listing
    from clm.render.report_views import OVER, time_page, title

    check_pictures(fmt.value, svg, html)
    if over:
        from clm.domain.reports import over_sla

        with env.database().read() as conn:
            rows = over_sla(conn, env.today)
            page = [title("Customers over their stage's SLA"), Listing(OVER, rows, empty="None.")]
            _show(env, fmt, OVER, rows, lambda: page, (svg, html), "time-in-stage")
        return
    with env.reads() as reads:
        rows = time_in_stage(reads, env.today)
        if fmt is not Format.table:
            shown = []
        elif reads.connection is None:  # a file read without the engine
            shown = first_over_sla(reads, env.today, limit=20)
        else:
            from clm.domain.reports import over_sla

            shown = list(over_sla(reads.connection, env.today, limit=20))
        more = sum(row["over"] for row in rows) - len(shown)
    columns = [Col(key) for key in TIME_KEYS]
    page = partial(time_page, rows, shown, more)
    _show(env, fmt, columns, rows, page, (svg, html), "time-in-stage")


@app.command("renewals")
def renewals(
    ctx: typer.Context,
    within: Annotated[
        str, typer.Option(metavar="DUR", help="How far ahead, e.g. 30d, 2m, 1y.")
    ] = "90d",
    fmt: FormatOpt = Format.table,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
) -> None:
    """Renewals lapsed (days left below 0) or due within --within, soonest first; ARR at stake.

    Example: clm report renewals --within 30d
    """
    env = ctx.obj
    from clm.commands.customer import COLUMNS
    from clm.domain.holidays import days_off_for
    from clm.domain.reports import renewals, renewals_at_stake
    from clm.render.report_views import renewals_page

    check_pictures(fmt.value, svg, html)
    window = env.duration(within, "--within")
    with env.database().read() as conn:
        days = (window.after(env.today, days_off_for(conn, window)) - env.today).days
        # People see the table's columns (and pictures of it); data has every customer key.
        rows = renewals(conn, env.today, days, brief=fmt is Format.table)
        count, arr = renewals_at_stake(conn, env.today, days)
        columns = (*COLUMNS, Col("days_left"))
        page = partial(renewals_page, rows, count, arr, days)
        _show(env, fmt, columns, rows, page, (svg, html), "renewals")


@app.command("overdue")
def overdue(
    ctx: typer.Context,
    fmt: FormatOpt = Format.table,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
) -> None:
    """Overdue milestones, tasks and CTAs by owner, with the days overdue.

    Example: clm report overdue --format csv
    """
    env = ctx.obj
    from clm.domain.overdue_list import overdue_columns, overdue_rows
    from clm.render.output import Columns
    from clm.render.report_views import OVERDUE, overdue_page

    check_pictures(fmt.value, svg, html)
    with env.reads() as reads:
        # Data streams; a table measures every row first: they are read a column at a time.
        if fmt is Format.table:
            rows = Columns(overdue_columns(reads, env.today))
        else:
            rows = overdue_rows(reads, env.today)
        _show(env, fmt, OVERDUE, rows, lambda: overdue_page(rows), (svg, html), "overdue")


@app.command("handoffs")
def handoffs(
    ctx: typer.Context,
    since: Since = None,
    fmt: FormatOpt = Format.table,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
) -> None:
    """Stage changes that handed a customer to another team, with the owner before and after.

    Example: clm report handoffs --since 2026-10-01
    """
    env = ctx.obj
    from clm.domain.reports import handoffs
    from clm.render.report_views import HANDOFFS, handoffs_page

    check_pictures(fmt.value, svg, html)
    start = env.date(since, "--since")
    with env.database().read() as conn:
        rows = handoffs(conn, start)
        page = partial(handoffs_page, rows, start)
        _show(env, fmt, HANDOFFS, rows, page, (svg, html), "handoffs")


@app.command("flows")
def flows(
    ctx: typer.Context,
    since: Since = None,
    as_of: AsOf = None,
    fmt: FormatOpt = Format.table,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
) -> None:
    """How many customers moved from each stage to each other stage: forward, backward, churn.

    Example: clm report flows --since 2026-01-01
    """
    env = ctx.obj
    from clm.domain.reports import flows, lifecycle
    from clm.render.report_views import FLOWS, flows_page

    check_pictures(fmt.value, svg, html)
    start, day = env.date(since, "--since"), _as_of(env, as_of)
    with env.database().read() as conn:
        rows = flows(conn, start, day)
        keys = [stage["key"] for stage in lifecycle(conn)]
    _show(env, fmt, FLOWS, rows, lambda: flows_page(rows, keys, start), (svg, html), "flows")


Period = Annotated[
    str | None,
    typer.Option(
        metavar="PERIOD",
        help="2026Q3, 2026, 2026-07, or FROM..TO of those or of dates (default: this quarter).",
    ),
]


def _period(env: Env, text: str | None) -> tuple:
    """The period asked for, or this quarter to date; and how it is written."""
    from clm.dates import parse_period, period_name, quarter_start

    start, end = parse_period(text, env.today) if text else (quarter_start(env.today), env.today)
    return start, end, period_name(start, end) if text else f"{start}..{end}"


@app.command("retention")
def retention(
    ctx: typer.Context,
    period: Period = None,
    by: Annotated[
        str | None,
        typer.Option(metavar="GROUP", help="Per owner, team, tag, stage, source or term."),
    ] = None,
    every: Annotated[
        str | None,
        typer.Option(metavar="EVERY", help="One row per quarter, month or year of the period."),
    ] = None,
    fmt: FormatOpt = Format.table,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
) -> None:
    """Revenue retention: starting ARR, expansion, contraction, churned ARR, GRR and NRR.

    The figures follow the customers on the book when the period began; new ARR is that of
    the others. A period is counted up to today. Groups are as customers are now; a customer
    with several tags counts under each.
    Example: clm report retention --period 2026 --every quarter --by owner
    """
    env = ctx.obj
    from clm.dates import parse_every
    from clm.domain.retention import check_group, retention
    from clm.render.revenue_views import RETENTION, retention_page

    check_pictures(fmt.value, svg, html)
    start, end, name = _period(env, period)
    group, cut = check_group(by), parse_every(every) if every is not None else None
    with env.reads() as reads:
        rows = retention(reads, start, end, env.today, group, cut)
    page = partial(retention_page, rows, name, group)
    _show(env, fmt, RETENTION, rows, page, (svg, html), "retention")


@app.command("forecast")
def forecast(
    ctx: typer.Context,
    quarters: Annotated[
        int, typer.Option(min=1, max=40, help="How many quarters, from this one.")
    ] = 2,
    fmt: FormatOpt = Format.table,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
) -> None:
    """Renewals due per quarter with each customer's forecast category and ARR; revenue at risk.

    The category is the one set by hand (clm customer edit --forecast), else from health:
    70 and up commit, below 40 at risk, else likely. A lapsed renewal counts in this quarter.
    Example: clm report forecast --quarters 4
    """
    env = ctx.obj
    from clm.domain.revenue import at_risk, forecast, forecast_totals
    from clm.render.revenue_views import FORECAST, SHOWN, forecast_page

    check_pictures(fmt.value, svg, html)
    # People see the totals and the first renewals; the data formats list every renewal.
    shown = SHOWN if fmt is Format.table else None
    with env.database().read() as conn:
        totals = forecast_totals(conn, env.today, quarters)
        rows = list(forecast(conn, env.today, quarters, limit=shown))
    page = partial(forecast_page, rows, totals, at_risk(totals))
    _show(env, fmt, FORECAST, rows, page, (svg, html), "forecast")


@app.command("churn")
def churn(
    ctx: typer.Context,
    period: Period = None,
    fmt: FormatOpt = Format.table,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
) -> None:
    """Churned customers and lost ARR by reason, stage left, owner and months since start.

    Example: clm report churn --period 2026Q3
    """
    env = ctx.obj
    from clm.domain.revenue import churn_report
    from clm.errors import Invalid
    from clm.render.revenue_views import CHURN, churn_page

    check_pictures(fmt.value, svg, html)
    start, end, name = _period(env, period)
    if start > env.today:
        raise Invalid(f"invalid --period: it starts on {start}, after today ({env.today})")
    with env.database().read() as conn:
        rows = churn_report(conn, start, min(end, env.today))
    _show(env, fmt, CHURN, rows, partial(churn_page, rows, name), (svg, html), "churn")


@app.command("cohorts")
def cohorts(
    ctx: typer.Context,
    by: Annotated[
        str, typer.Option(metavar="COHORT", help="How customers are grouped: start-quarter.")
    ] = "start-quarter",
    fmt: FormatOpt = Format.table,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
) -> None:
    """Logo and ARR retention of customers by the quarter they started.

    Example: clm report cohorts --by start-quarter --format csv
    """
    env = ctx.obj
    from clm.domain.revenue import cohorts
    from clm.errors import Invalid
    from clm.render.revenue_views import COHORTS, cohorts_page

    if by.strip().lower() != "start-quarter":
        raise Invalid(f"invalid --by '{by}': use start-quarter")
    check_pictures(fmt.value, svg, html)
    with env.database().read() as conn:
        rows = cohorts(conn, env.today)
    _show(env, fmt, COHORTS, rows, lambda: cohorts_page(rows), (svg, html), "cohorts")


@app.command("health")
def health(
    ctx: typer.Context,
    by: Annotated[
        str | None,
        typer.Option(
            metavar="PART",
            help="One part: band, stage or trend (for -f json/csv: band unless given).",
        ),
    ] = None,
    as_of: AsOf = None,
    fmt: FormatOpt = Format.table,
    svg: SvgOpt = None,
    html: HtmlOpt = None,
) -> None:
    """Health across the book: customers and ARR by band (red ARR is revenue at risk), by
    stage and band, and the customers per band week by week over 90 days.

    Bands are the scorecard's (40 and 70 without one); the churned are left out, and a
    customer without a health is unscored. --as-of reads stage, health and ARR from history.
    Example: clm report health --by trend --format csv
    """
    env = ctx.obj
    from clm.domain.health_report import VIEWS, health_report
    from clm.errors import Invalid
    from clm.render.health_views import COLUMNS, health_page

    view = by.strip().lower() if by is not None else None
    if view is not None and view not in VIEWS:
        raise Invalid(f"invalid --by '{by}': use {', '.join(VIEWS)}")
    check_pictures(fmt.value, svg, html)
    day = _as_of(env, as_of)
    with env.database().read() as conn:
        report = health_report(conn, env.today, day)
    part = view or "band"
    rows = {"band": report["bands"], "stage": report["stages"], "trend": report["trend"]}[part]
    page = partial(health_page, report, day, view)
    _show(env, fmt, COLUMNS[part], rows, page, (svg, html), "health")


@app.command("dashboard")
def dashboard(
    ctx: typer.Context,
    html: Annotated[
        str, typer.Option("--html", metavar="FILE", help="The page to write, e.g. book.html.")
    ],
    since: Since = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Write every report and the lifecycle drawn on one self-contained HTML page.

    The page needs no network to view: send it to a team or open it in a browser. Its revenue
    section (GRR and NRR, churned ARR by reason, the forecast) covers --since to today (default:
    this quarter to date).
    Example: clm report dashboard --html book.html --since 2026-10-01
    """
    env = ctx.obj
    from clm.commands.common import refuse_existing, refuse_own_file, write_new_file
    from clm.domain.health_report import health_report
    from clm.domain.reports import dashboard
    from clm.render.dashboard import render

    refuse_own_file(env, html)
    if not force:
        refuse_existing(html, "pass --force to overwrite it")
    start = env.date(since, "--since")
    with env.database().read() as conn:
        data = dashboard(conn, env.today, start)
        data["health"] = health_report(conn, env.today)  # (it reads the stays reports read)
    write_new_file(env, html, render(data), force=force)
    say(env, f"Wrote the dashboard to {html}.")
