"""Health across the book: customers and ARR by band (the ARR in red is revenue at risk), by
stage and band, and the band counts week by week over 90 days, from the health history.

The book is the live customers outside a terminal stage (the churned have no health to
watch), now or as the history says they stood on a day: stage from the transitions, health
from the health log, ARR from the ARR log. Bands are the scorecard's (40 and 70 without one),
applied to every day of the history alike. A customer without a health is `unscored`."""

from datetime import date, timedelta

from sqlalchemy import Connection, and_, case, func, null, or_, select, union_all

from clm.db import days_from, greatest, least
from clm.domain.arr_history import arr_on
from clm.domain.health_now import health_now
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
                func.coalesce(card.band_sql(health_now()), UNSCORED).label("band"),
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


def _groups(conn: Connection, as_of: date | None) -> dict[tuple[str, str], tuple]:
    """The book's customers and ARR per (stage, band): one grouped query that both views
    read."""
    book = _book(conn, book_card(conn), as_of)
    query = select(book.c.stage, book.c.band, func.count(), func.sum(book.c.arr)).group_by(
        book.c.stage, book.c.band
    )
    return {(stage, band): (count, arr) for stage, band, count, arr in conn.execute(query)}


def by_band(conn: Connection, as_of: date | None = None, groups: dict | None = None) -> list[dict]:
    """Customers and ARR per band, red first; each band's share of the book's ARR."""
    groups = _groups(conn, as_of) if groups is None else groups
    found: dict[str, tuple] = {}
    for (_, band), (count, arr) in groups.items():
        had_count, had_arr = found.get(band, (0, 0.0))
        found[band] = (had_count + count, had_arr + float(arr or 0))
    total = sum(arr for _, arr in found.values())
    rows = []
    for band in BAND_ROWS:
        count, arr = found.get(band, (0, 0))
        share = round(float(arr or 0) / total, 4) if total else None
        rows.append({"band": band, "customers": count, "arr": _money(arr), "arr_share": share})
    return rows


def by_stage(conn: Connection, as_of: date | None = None, groups: dict | None = None) -> list[dict]:
    """Per stage outside the terminal ones, in lifecycle order: customers in each band, and
    the ARR of each."""
    groups = _groups(conn, as_of) if groups is None else groups
    found: dict[str, dict] = {}
    for (stage, band), counted in groups.items():
        found.setdefault(stage, {})[band] = counted
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


def _health_spans(last: date):
    """SQL: the spans of days each customer's health held, up to `last`: (`customer_id`,
    `health`, `since`, `until`), the entry's health from its day up to, not including, the next
    entry's (None: for ever); a day's earlier entry of two holds on none. Before its first
    entry a customer was unscored: a span with no health and no `since` (since for ever)."""
    window = {"partition_by": health_log.c.customer_id,
              "order_by": (health_log.c.on, health_log.c.id)}  # fmt: skip
    entries = select(
        health_log.c.customer_id,
        health_log.c.health,
        health_log.c.on.label("since"),
        func.lead(health_log.c.on).over(**window).label("until"),
    ).where(health_log.c.on <= last)
    before = (
        select(
            health_log.c.customer_id,
            null().label("health"),
            null().label("since"),
            func.min(health_log.c.on).label("until"),
        )
        .where(health_log.c.on <= last)
        .group_by(health_log.c.customer_id)
    )
    return union_all(entries, before).subquery("health_spans")


def _day_index(value, days: list[date], missing: int):
    """SQL: the index in `days` (a week apart, oldest first) of the first day on or after
    `value`, `len(days)` when none is; `missing` when `value` is None."""
    return case(
        (value.is_(None), missing),
        (value <= days[0], 0),
        (value > days[-1], len(days)),
        else_=(days_from(days[0], value) + TREND_STEP - 1) // TREND_STEP,
    )


def trend(conn: Connection, last: date) -> list[dict]:
    """The customers in each band on each of the trend's days, oldest first, in one query:
    each stay of the book is cut by the health spans of its customer into spans of one band;
    a span [start, end) counts on the trend's days from the first on or after its start to
    the last before its end, so SQL counts the spans per band and (first, past-the-last) day,
    a few hundred groups summed up here day by day."""
    card = book_card(conn)
    days = trend_days(last)
    live_stages = [stage["key"] for stage in lifecycle(conn) if not stage["terminal"]]
    every = _stays(last)
    stays = (  # the book's stays up to the last day that it left after the first
        select(every.c.customer_id, every.c.entered, every.c.left)
        .where(
            every.c.stage.in_(live_stages),
            or_(every.c.left.is_(None), every.c.left > days[0]),
        )
        .subquery("held_stays")
    )
    spans = _health_spans(last)
    overlap = and_(
        spans.c.customer_id == stays.c.customer_id,
        or_(spans.c.since.is_(None), stays.c.left.is_(None), spans.c.since < stays.c.left),
        or_(spans.c.until.is_(None), spans.c.until > stays.c.entered),
    )
    end = len(days)
    cut = (  # the later start and the earlier end of the stay and the span, as day indexes
        select(
            func.coalesce(card.band_sql(spans.c.health), UNSCORED).label("band"),
            greatest(
                _day_index(stays.c.entered, days, 0), _day_index(spans.c.since, days, 0)
            ).label("first"),
            least(_day_index(stays.c.left, days, end), _day_index(spans.c.until, days, end)).label(
                "past"
            ),
        )
        .select_from(stays.outerjoin(spans, overlap))
        .subquery("cut")
    )
    query = select(cut.c.band, cut.c.first, cut.c.past, func.count()).group_by(
        cut.c.band, cut.c.first, cut.c.past
    )
    counts = {band: [0] * len(days) for band in BAND_ROWS}
    for band, first, past, count in conn.execute(query):
        for index in range(first, past):
            counts[band][index] += count
    return [
        {"on": day} | {band: counts[band][index] for band in BAND_ROWS}
        for index, day in enumerate(days)
    ]


def health_report(conn: Connection, today: date, as_of: date | None = None) -> dict:
    """Every part of the report: by band, by stage, and the trend to `as_of` (or today)."""
    groups = _groups(conn, as_of)
    return {
        "bands": by_band(conn, as_of, groups),
        "stages": by_stage(conn, as_of, groups),
        "trend": trend(conn, as_of or today),
    }
