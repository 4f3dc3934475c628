"""Revenue reports as people read them: retention with GRR and NRR, churned ARR by reason,
stage, owner and tenure, the renewal forecast per quarter, and cohorts by start quarter."""

from itertools import groupby

from rich.text import Text

from clm.render.output import Bar, Col, Listing
from clm.render.report_views import percent, title

RETENTION = (
    Col("period"),
    Col("group"),
    Col("starting_arr", "starting ARR", money=True),
    Col("expansion", money=True),
    Col("contraction", money=True),
    Col("churned_arr", "churned ARR", money=True),
    Col("ending_arr", "ending ARR", money=True),
    Col("grr", "GRR"),
    Col("nrr", "NRR"),
    Col("new_arr", "new ARR", money=True),
    Col("logos", number=True),
    Col("logos_lost", "logos lost", number=True),
)
CHURN = (
    Col("by"),
    Col("value"),
    Col("customers", number=True),
    Col("arr", "lost ARR", money=True),
)
FORECAST = (
    Col("period", "quarter"),
    Col("renewal"),
    Col("customer"),
    Col("owner"),
    Col("health", number=True),
    Col("forecast"),
    Col("set_by", "set by"),
    Col("arr", "ARR", money=True),
)
FORECAST_TOTALS = (
    Col("period", "quarter"),
    Col("forecast"),
    Col("customers", number=True),
    Col("arr", "ARR", money=True),
)
COHORTS = (
    Col("cohort"),
    Col("customers", number=True),
    Col("live", number=True),
    Col("logo_retention", "logo retention"),
    Col("starting_arr", "starting ARR", money=True),
    Col("arr", "ARR now", money=True),
    Col("arr_retention", "ARR retention"),
)
FORECAST_STYLES = {"commit": "green", "likely": "cyan", "at-risk": "yellow", "lost": "red"}
SHOWN = 50  # renewals listed on the forecast's page; the rest are counted


def _percents(row: dict, *keys: str) -> dict:
    return row | {key: percent(row[key]) for key in keys}


def retention_page(rows: list[dict], period: str, by: str | None) -> list:
    shown = [_percents(row, "grr", "nrr") for row in rows]
    heading = f"Revenue retention, {period}" + (f", by {by}" if by else "")
    notes = Text(
        "GRR = (starting - contraction - churned) / starting; NRR = ending / starting; "
        "over the customers on the book when each period began (new ARR: the others).",
        style="dim",
    )
    return [title(heading), Listing(RETENTION, shown, empty="No ARR in the period."), notes]


def churn_page(rows: list[dict], period: str) -> list:
    parts = [title(f"Churned customers and lost ARR, {period}")]
    total = rows[-1]
    if not total["customers"]:
        return [*parts, Text("No customer churned in the period.")]
    for by, group in groupby(rows[:-1], key=lambda row: row["by"]):
        found = list(group)
        most = max((row["arr"] for row in found), default=0)
        parts += [
            Text(f"by {by.replace('_', ' ')}", style="bold"),
            Listing(CHURN[1:], found, extra=[Bar(lambda row, m=most: row["arr"] / m if m else 0,
                                                 "red", 20)]),
        ]  # fmt: skip
    parts.append(
        Text(f"{total['customers']:,} customers churned, lost ARR {total['arr']:,.0f}", "bold")
    )
    return parts


def forecast_page(rows: list[dict], totals: list[dict], at_risk: float) -> list:
    parts = [title("Renewal forecast: ARR renewing per quarter, by forecast category")]
    parts.append(Listing(FORECAST_TOTALS, totals, extra=[("", _category_mark)]))
    parts.append(Text(f"Revenue at risk (at-risk and lost): {at_risk:,.0f}", style="bold"))
    parts += [Text(), title("Renewals")]
    parts.append(Listing(FORECAST, rows[:SHOWN], empty="No renewals in these quarters."))
    renewals = sum(total["customers"] for total in totals)
    if renewals > SHOWN:
        more = renewals - SHOWN
        parts.append(Text(f"… and {more:,} more: --format csv lists them all", "dim"))
    return parts


def _category_mark(row: dict) -> Text:
    return Text("■" * min(20, round(row["customers"])), FORECAST_STYLES[row["forecast"]])


def cohorts_page(rows: list[dict]) -> list:
    shown = [_percents(row, "logo_retention", "arr_retention") for row in rows]
    return [
        title("Cohorts by start quarter: logos and ARR kept"),
        Listing(COHORTS, shown, empty="No customers with ARR.",
                extra=[Bar(lambda row: min(1, row["arr_retention"] or 0), "green", 20)]),
    ]  # fmt: skip
