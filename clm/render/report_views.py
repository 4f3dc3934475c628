"""Reports as people read them on a terminal and in pictures: titled tables, bar charts and the
flows matrix, as Rich renderables and listings for `clm.render.output.print_page`."""

from collections.abc import Iterable
from datetime import date

from rich.table import Table
from rich.text import Text

from clm.render.output import Bar, Col, Listing, visible

DIRECTION_STYLES = {"forward": "green", "backward": "yellow", "churn": "red", "other": "dim"}

STAGES = (
    Col("stage"),
    Col("customers", number=True),
    Col("arr", "ARR", money=True),
    Col("terminal", table=False),  # its ARR is lost ARR, out of the totals
)
FUNNEL = (
    Col("stage"),
    Col("entered", number=True),
    Col("moved_on", "moved on", number=True),
    Col("conversion"),
    Col("median_days", "median days", number=True),
)
TIME = (
    Col("stage"),
    Col("customers", number=True),
    Col("median_days", "median days", number=True),
    Col("p90_days", "p90 days", number=True),
    Col("expected_days", "SLA days", number=True),
    Col("over", "over SLA", number=True),
)
OVER = (
    Col("customer"),
    Col("stage"),
    Col("owner"),
    Col("days_in_stage", "days in stage", number=True),
    Col("expected_days", "SLA days", number=True),
    Col("days_over", "days over", number=True),
)
RENEWALS_TABLE = (
    Col("renewal"),
    Col("days_left", "days left", number=True),
    Col("slug", "customer"),
    Col("stage"),
    Col("owner"),
    Col("health", number=True),
    Col("arr", "ARR", money=True),
)
OVERDUE = (
    Col("kind"),
    Col("id"),
    Col("customer"),
    Col("title"),
    Col("due"),
    Col("days_overdue", "days overdue", number=True),
    Col("owner"),
)
OVERDUE_TABLE = (OVERDUE[-1], *OVERDUE[:-1])
HANDOFFS = (
    Col("customer"),
    Col("on"),
    Col("from_stage", "from stage"),
    Col("to_stage", "to stage"),
    Col("from_owner", "from owner"),
    Col("to_owner", "to owner"),
    Col("from_team", "from team", table=False),
    Col("to_team", "to team", table=False),
)
HANDOFFS_TABLE = (*HANDOFFS[:4], Col("from_team", "from team"), Col("to_team", "to team"),
                  *HANDOFFS[4:6])  # fmt: skip
FLOWS = (
    Col("from_stage", "from"),
    Col("to_stage", "to"),
    Col("moves", number=True),
    Col("direction"),
)


def percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"


def title(text: str, since: date | None = None, as_of: date | None = None) -> Text:
    line = Text(text, style="bold")
    if since is not None:
        line.append(f" since {since}", style="bold")
    if as_of is not None:
        line.append(f", as of {as_of}", style="bold")
    return line


def stages_page(rows: list[dict], as_of: date | None) -> list:
    most = max((row["customers"] for row in rows), default=0)
    from clm.domain.reports import book_totals

    totals = book_totals(rows)
    shown = [row | {"arr": f"lost {row['arr']:,.0f}"} if row["terminal"] else row for row in rows]
    line = f"{totals['customers']:,} customers, ARR {totals['arr']:,.0f}"
    if totals["churned"]:
        line += f" (not counted: {totals['churned']:,} churned, lost ARR {totals['lost_arr']:,.0f})"
    return [
        title("Customers per stage", as_of=as_of),
        Listing(STAGES, shown, extra=[Bar(lambda row: row["customers"] / most if most else 0)]),
        Text(line),
    ]


def funnel_page(rows: list[dict], since: date | None, as_of: date | None) -> list:
    shown = [row | {"conversion": percent(row["conversion"])} for row in rows]
    return [
        title("Funnel: entered, moved on to a later stage, conversion", since, as_of),
        Listing(FUNNEL, shown, extra=[Bar(_conversion, "green", 20)]),
    ]


def _conversion(row: dict) -> float | None:
    return row["moved_on"] / row["entered"] if row["entered"] else None


def time_page(rows: list[dict], over: list[dict], more: int) -> list:
    parts = [
        title("Time in stage (days): median and p90 of every stay, against the SLA"),
        Listing(TIME, rows, extra=[("", _sla_mark)]),
    ]
    if over:
        parts += [Text(), title("Customers over their stage's SLA"), Listing(OVER, over)]
        if more:
            parts.append(Text(f"… and {more:,} more: clm report time-in-stage --over", "dim"))
    return parts


def _sla_mark(row: dict) -> Text:
    expected, median = row["expected_days"], row["median_days"]
    if not expected or median is None:
        return Text("")
    return (
        Text("median over SLA", "red") if median > expected else Text("median within SLA", "green")
    )


def renewals_page(rows: Iterable[dict], count: int, arr: float, within: int) -> list:
    return [
        title(f"Renewals lapsed or due in the next {within} days"),
        Listing(RENEWALS_TABLE, rows, empty="No renewals."),
        Text(f"{count:,} renewals, ARR at stake {arr:,.0f}", style="bold"),
    ]


def overdue_page(rows: Iterable[dict]) -> list:
    return [
        title("Overdue milestones, tasks and CTAs, by owner"),
        Listing(OVERDUE_TABLE, rows, empty="Nothing overdue."),
    ]


def handoffs_page(rows: Iterable[dict], since: date | None) -> list:
    return [
        title("Handoffs: stage changes to another team", since),
        Listing(HANDOFFS_TABLE, rows, empty="No handoffs."),
    ]


def flows_page(rows: list[dict], stage_keys: list[str], since: date | None) -> list:
    """The from-stage × to-stage matrix, each cell coloured by the way it goes."""
    named = {row["from_stage"] for row in rows} | {row["to_stage"] for row in rows}
    keys = [key for key in stage_keys if key in named] + sorted(named - set(stage_keys))
    cells = {(row["from_stage"], row["to_stage"]): row for row in rows}
    matrix = Table(title=None, show_edge=False, pad_edge=False, box=None, padding=(0, 1))
    matrix.add_column("from \\ to", style="bold")
    for key in keys:
        matrix.add_column(visible(key), justify="right")
    matrix.add_column("total", justify="right", style="bold")
    for source in keys:
        line = [cells.get((source, target)) for target in keys]
        total = sum(cell["moves"] for cell in line if cell)
        matrix.add_row(
            Text(visible(source)),
            *(Text(f"{cell['moves']:,}", DIRECTION_STYLES[cell["direction"]]) if cell
              else Text("·", "dim") for cell in line),
            Text(f"{total:,}" if total else ""),
        )  # fmt: skip
    legend = Text("green forward, yellow backward, red churn", style="dim")
    if not rows:
        return [title("Flows between stages", since), Text("No moves.")]
    return [title("Flows between stages: moves from each stage (rows) to each (columns)", since),
            matrix, legend]  # fmt: skip
