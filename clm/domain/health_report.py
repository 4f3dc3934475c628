"""Health across the book: customers and ARR by band (the ARR in red is revenue at risk), by
stage and band, and the band counts week by week over 90 days, from the health history.

The book is the live customers outside a terminal stage (the churned have no health to
watch), now or as the history says they stood on a day: stage from the transitions, health
from the health log, ARR from the ARR log. Bands are the scorecard's (40 and 70 without one),
applied to every day of the history alike. A customer without a health is `unscored`."""

from datetime import date, timedelta

from sqlalchemy import Connection, func, select

from clm.domain.arr_history import arr_on
from clm.domain.reports import _stays, lifecycle
from clm.domain.scorecard import BANDS, Scorecard, book_card
from clm.plain import number
from clm.storage.tables import customers, health_log

UNSCORED = "unscored"
BAND_ROWS = (*BANDS, UNSCORED)
TREND_DAYS = 90
TREND_STEP = 7  # a week between the trend's days
VIEWS = ("band", "stage", "trend")  # what --by picks for data formats
BAND_KEYS = ("band", "customers", "arr", "arr_share")
STAGE_KEYS = ("stage", "customers", *BAND_ROWS, "arr", *(f"{band}_arr" for band in BAND_ROWS))
TREND_KEYS = ("on", *BAND_ROWS)


def health_on(day: date):
    """A subquery of each customer's health on `day` (`customer_id`, `health`): its latest
    entry of the health log on or before that day (the later of a day's two)."""
    latest = func.row_number().over(
        partition_by=health_log.c.customer_id,
        order_by=(health_log.c.on.desc(), health_log.c.id.desc()),
    )
    ranked = (
        select(health_log.c.customer_id, health_log.c.health, latest.label("latest"))
        .where(health_log.c.on <= day)
        .subquery("ranked_health")
    )
    return (
        select(ranked.c.customer_id, ranked.c.health)
        .where(ranked.c.latest == 1)
        .subquery("health_on")
    )


def _book(conn: Connection, card: Scorecard, as_of: date | None, with_arr: bool = True):
    """SQL: (stage, band, arr) of each customer of the book (see the module), now or on
    `as_of`."""
    live_stages = [stage["key"] for stage in lifecycle(conn) if not stage["terminal"]]
    if as_of is None:
        return (
            select(
                customers.c.stage,
                func.coalesce(card.band_sql(customers.c.health), UNSCORED).label("band"),
                customers.c.arr,
            )
            .where(customers.c.deleted_at.is_(None), customers.c.stage.in_(live_stages))
            .subquery("book")
        )
    stays, health = _stays(as_of), health_on(as_of)
    columns = [
        stays.c.stage,
        func.coalesce(card.band_sql(health.c.health), UNSCORED).label("band"),
    ]
    query = select(*columns).select_from(stays)
    if with_arr:
        arr = arr_on(as_of)
        joined = arr.c.customer_id == stays.c.customer_id
        query = query.add_columns(arr.c.arr).outerjoin(arr, joined)
    query = query.outerjoin(health, health.c.customer_id == stays.c.customer_id)
    return query.where(stays.c.left.is_(None), stays.c.stage.in_(live_stages)).subquery("book")


def _money(value) -> int | float:
    return number(round(float(value or 0), 2))


def by_band(conn: Connection, as_of: date | None = None) -> list[dict]:
    """Customers and ARR per band, red first; each band's share of the book's ARR."""
    book = _book(conn, book_card(conn), as_of)
    found = {
        band: (count, arr)
        for band, count, arr in conn.execute(
            select(book.c.band, func.count(), func.sum(book.c.arr)).group_by(book.c.band)
        )
    }
    total = sum(float(arr or 0) for _, arr in found.values())
    rows = []
    for band in BAND_ROWS:
        count, arr = found.get(band, (0, 0))
        share = round(float(arr or 0) / total, 4) if total else None
        rows.append({"band": band, "customers": count, "arr": _money(arr), "arr_share": share})
    return rows


def by_stage(conn: Connection, as_of: date | None = None) -> list[dict]:
    """Per stage outside the terminal ones, in lifecycle order: customers in each band, and
    the ARR of each."""
    book = _book(conn, book_card(conn), as_of)
    query = select(book.c.stage, book.c.band, func.count(), func.sum(book.c.arr)).group_by(
        book.c.stage, book.c.band
    )
    found: dict[str, dict] = {}
    for stage, band, count, arr in conn.execute(query):
        found.setdefault(stage, {})[band] = (count, arr)
    rows = []
    for stage in (s["key"] for s in lifecycle(conn) if not s["terminal"]):
        bands = found.get(stage, {})
        row = {"stage": stage, "customers": sum(c for c, _ in bands.values())}
        row |= {band: bands.get(band, (0, 0))[0] for band in BAND_ROWS}
        row["arr"] = _money(sum(float(a or 0) for _, a in bands.values()))
        row |= {f"{band}_arr": _money(bands.get(band, (0, 0))[1]) for band in BAND_ROWS}
        rows.append(row)
    return rows


def trend_days(last: date) -> list[date]:
    """The trend's days: every week back over `TREND_DAYS` days, to `last`."""
    return [last - timedelta(days=back) for back in range(TREND_DAYS // TREND_STEP * TREND_STEP,
                                                          -1, -TREND_STEP)]  # fmt: skip


def trend(conn: Connection, last: date) -> list[dict]:
    """The customers in each band on each of the trend's days, oldest first."""
    card = book_card(conn)
    rows = []
    for day in trend_days(last):
        book = _book(conn, card, day, with_arr=False)
        counts = dict(conn.execute(select(book.c.band, func.count()).group_by(book.c.band)).all())
        rows.append({"on": day} | {band: counts.get(band, 0) for band in BAND_ROWS})
    return rows


def health_report(conn: Connection, today: date, as_of: date | None = None) -> dict:
    """Every part of the report: by band, by stage, and the trend to `as_of` (or today)."""
    return {
        "bands": by_band(conn, as_of),
        "stages": by_stage(conn, as_of),
        "trend": trend(conn, as_of or today),
    }
