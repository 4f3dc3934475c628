"""The health report as people read it: the book by band with its ARR (revenue at risk), by
stage and band, and the band counts week by week drawn as stacked bars."""

from datetime import date

from rich.text import Text

from clm.render.output import Col, Listing
from clm.render.report_views import percent, title

BAND_STYLES = {"red": "red", "amber": "yellow", "green": "green", "unscored": "dim"}
BANDS = tuple(BAND_STYLES)
BY_BAND = (
    Col("band"),
    Col("customers", number=True),
    Col("arr", "ARR", money=True),
    Col("arr_share", "share of ARR"),
)
BY_STAGE = (
    Col("stage"),
    Col("customers", number=True),
    *(Col(band, number=True) for band in BANDS),
    Col("arr", "ARR", money=True),
    *(Col(f"{band}_arr", f"{band} ARR", money=True, table=band == "red") for band in BANDS),
)
TREND = (Col("on", "week of"), *(Col(band, number=True) for band in BANDS))
COLUMNS = {"band": BY_BAND, "stage": BY_STAGE, "trend": TREND}
WIDTH = 30  # cells of the trend's widest bar


def _stacked(row: dict, most: int) -> Text:
    """One day's customers as a bar, a run of cells per band in its colour."""
    line = Text()
    for band in BANDS:
        cells = round(WIDTH * row[band] / most) if most else 0
        line.append("█" * cells, BAND_STYLES[band])
    return line


def _band_mark(row: dict) -> Text:
    return Text("■", BAND_STYLES[row["band"]])


def health_page(report: dict, as_of: date | None, view: str | None = None) -> list:
    """The report's page: every part, or the one `view` names."""
    parts: list = []
    if view in (None, "band"):
        bands = [row | {"arr_share": percent(row["arr_share"])} for row in report["bands"]]
        red = report["bands"][0]
        parts += [
            title("Health by band: customers and ARR", as_of=as_of),
            Listing(BY_BAND, bands, extra=[("", _band_mark)]),
            Text(
                f"Revenue at risk (red): {red['arr']:,.0f} ARR, {red['customers']:,} "
                f"customer{'' if red['customers'] == 1 else 's'}",
                style="bold",
            ),
        ]
    if view in (None, "stage"):
        parts += [Text(), title("Health by stage", as_of=as_of)]
        parts.append(Listing(BY_STAGE, report["stages"], empty="No stages."))
    if view in (None, "trend"):
        rows = report["trend"]
        most = max((sum(row[band] for band in BANDS) for row in rows), default=0)
        parts += [
            Text(),
            title("Health over 90 days: customers per band, week by week", as_of=as_of),
            Listing(TREND, rows, extra=[("", lambda row: _stacked(row, most))]),
            Text("red, amber, green, unscored (dim)", style="dim"),
        ]
    return parts[1:] if parts and not str(parts[0]) else parts
