"""Revenue from the ARR history: churned ARR by reason, stage left, owner and tenure, the
renewal forecast, and cohorts by start quarter (retention: clm.domain.retention). Each is a
few grouped queries over the ARR log, whatever the book's size."""

from collections.abc import Iterator
from datetime import date, timedelta

from sqlalchemy import Connection, and_, case, func, literal, or_, select

from clm.dates import RECURRENCES, quarter_of, quarter_start, split_period
from clm.db import days_from
from clm.domain.arr_history import terminal_stages
from clm.domain.forecast import CATEGORIES, category
from clm.domain.health_now import health_now
from clm.domain.retention import money as _money
from clm.domain.retention import retention
from clm.domain.retention import share as _share
from clm.storage.tables import arr_log, customers, transitions, users

CHURN_KEYS = ("by", "value", "customers", "arr")
CHURN_BY = ("reason", "stage_left", "owner", "tenure")
FORECAST_KEYS = ("period", "renewal", "customer", "owner", "health", "forecast", "set_by", "arr")
COHORT_KEYS = (
    "cohort", "customers", "live", "logo_retention", "starting_arr", "arr", "arr_retention",
)  # fmt: skip
TENURES = ((91, "0-3 months"), (183, "3-6 months"), (366, "6-12 months"), (731, "12-24 months"))


# --- churn -------------------------------------------------------------------------------------


def _tenure(days):
    """SQL: how long the customer had been one when it churned, in a few bands of months."""
    return case(*[(days < limit, literal(name)) for limit, name in TENURES], else_="24+ months")


def churn_report(conn: Connection, start: date, end: date) -> list[dict]:
    """The customers that churned from `start` to `end` (moved into a terminal stage from a
    live one) and their lost ARR: by reason, by the stage they left, by their owner then, by
    how long they had been customers. Within each, most ARR first; a total last."""
    terminal = sorted(terminal_stages(conn))
    lost = (
        select(arr_log.c.customer_id, arr_log.c.on, func.sum(-arr_log.c.change).label("arr"))
        .where(arr_log.c.kind == "churn", arr_log.c.on.between(start, end))
        .group_by(arr_log.c.customer_id, arr_log.c.on)
        .subquery("lost")
    )
    owner = users.alias("owner")
    # Since its ARR came on the book (new business or a win-back): the start of the contract
    # it churned from, where a win-back has since moved the customer's start on.
    began = (
        select(func.max(arr_log.c.on))
        .where(
            arr_log.c.customer_id == transitions.c.customer_id,
            arr_log.c.kind.in_(("new", "reactivation")),
            arr_log.c.on <= transitions.c.on,
        )
        .scalar_subquery()
    )
    tenure = _tenure(days_from(func.coalesce(began, customers.c.start), transitions.c.on))
    joined = (
        transitions.join(
            customers,
            and_(customers.c.id == transitions.c.customer_id, customers.c.deleted_at.is_(None)),
        )
        .outerjoin(
            lost,
            and_(lost.c.customer_id == transitions.c.customer_id, lost.c.on == transitions.c.on),
        )
        .outerjoin(owner, owner.c.id == transitions.c.from_owner_id)
    )
    dimensions = (
        func.coalesce(transitions.c.reason, "(none)"),
        func.coalesce(transitions.c.from_stage, "(none)"),
        func.coalesce(owner.c.handle, "(none)"),
        tenure,
    )
    query = (
        select(*dimensions, func.count(), func.coalesce(func.sum(lost.c.arr), 0.0))
        .select_from(joined)
        .where(
            transitions.c.to_stage.in_(terminal),
            or_(transitions.c.from_stage.is_(None), transitions.c.from_stage.not_in(terminal)),
            transitions.c.on.between(start, end),
        )
        .group_by(*dimensions)
    )
    found = conn.execute(query).all()
    rows = []
    for index, by in enumerate(CHURN_BY):
        totals: dict[str, list] = {}
        for row in found:
            total = totals.setdefault(row[index], [0, 0.0])
            total[0] += row[4]
            total[1] += float(row[5])
        ordered = sorted(totals.items(), key=lambda item: (-item[1][1], -item[1][0], item[0]))
        rows += [
            {"by": by, "value": value, "customers": count, "arr": _money(arr)}
            for value, (count, arr) in ordered
        ]
    count, arr = sum(row[4] for row in found), sum(float(row[5]) for row in found)
    rows.append({"by": "total", "value": "all", "customers": count, "arr": _money(arr)})
    return rows


# --- the renewal forecast ----------------------------------------------------------------------


def forecast_quarters(today: date, quarters: int) -> list[tuple[date, date]]:
    """The current quarter (from its start) and the `quarters` - 1 after it."""
    first = quarter_start(today)
    last = date(first.year + (first.month - 1 + 3 * quarters) // 12,
                (first.month - 1 + 3 * quarters) % 12 + 1, 1) - timedelta(days=1)  # fmt: skip
    return split_period(first, last, RECURRENCES["quarter"])


def _renewing(conn: Connection, periods: list[tuple[date, date]]):
    """SQL: the live customers renewing by the end of the last period."""
    terminal = sorted(terminal_stages(conn))
    return and_(
        customers.c.deleted_at.is_(None),
        customers.c.renewal <= periods[-1][1],
        customers.c.stage.not_in(terminal),
    )


def forecast(
    conn: Connection, today: date, quarters: int, limit: int | None = None
) -> Iterator[dict]:
    """The live customers renewing from the start of this quarter to the end of the
    `quarters`-th, soonest first (one that lapsed earlier, still not renewed, counts in this
    quarter), the first `limit` of them if given: each one's forecast category, set by hand or
    from its health, and its ARR."""
    periods = forecast_quarters(today, quarters)
    owner = users.alias("owner")
    query = (
        select(
            customers.c.renewal, customers.c.slug, owner.c.handle, health_now(),
            category().label("forecast"), customers.c.forecast.is_not(None), customers.c.arr,
        )
        .select_from(customers.outerjoin(owner, owner.c.id == customers.c.owner_id))
        .where(_renewing(conn, periods))
        .order_by(customers.c.renewal, customers.c.slug)
        .limit(limit)
    )  # fmt: skip
    first = periods[0][0]
    for renewal, slug, handle, health, kind, by_hand, arr in conn.execute(query):
        yield dict(zip(FORECAST_KEYS, (
            quarter_of(max(renewal, first)), renewal, slug, handle, health, kind,
            "hand" if by_hand else "health", _money(arr),
        ), strict=True))  # fmt: skip


def forecast_totals(conn: Connection, today: date, quarters: int) -> list[dict]:
    """Per quarter and category: the renewals and their ARR (every category, even empty),
    counted by the database."""
    periods = forecast_quarters(today, quarters)
    quarter = case(
        *[(customers.c.renewal <= last, n) for n, (_, last) in enumerate(periods[:-1])],
        else_=len(periods) - 1,
    )
    kind = category()
    query = (
        select(quarter, kind, func.count(), func.coalesce(func.sum(customers.c.arr), 0.0))
        .where(_renewing(conn, periods))
        .group_by(quarter, kind)
    )
    totals = {
        (n, kind): {"period": quarter_of(first), "forecast": kind, "customers": 0, "arr": 0}
        for n, (first, _) in enumerate(periods) for kind in CATEGORIES
    }  # fmt: skip
    for n, kind, count, arr in conn.execute(query):
        totals[n, kind] |= {"customers": count, "arr": _money(arr)}
    return list(totals.values())


def at_risk(totals: list[dict]) -> float:
    """Revenue at risk: the ARR of renewals forecast at risk or lost."""
    return _money(sum(t["arr"] for t in totals if t["forecast"] in ("at-risk", "lost")))


# --- cohorts -----------------------------------------------------------------------------------


def cohorts(conn: Connection, today: date) -> list[dict]:
    """Per quarter customers started in, oldest first (customers that ever had ARR): how many,
    how many are live today (not churned), their ARR when first entered and their live ARR
    today, and the two retentions."""
    # The first entry's ARR looked up per customer: the log is read once, in the order of its
    # (customer, day) index, with no window to sort it.
    first = arr_log.alias("first")
    first_arr = (
        select(first.c.arr)
        .where(first.c.customer_id == arr_log.c.customer_id, first.c.on <= today)
        .order_by(first.c.on, first.c.id)
        .limit(1)
        .scalar_subquery()
    )
    per_customer = (
        select(
            arr_log.c.customer_id,
            first_arr.label("starting"),
            func.sum(arr_log.c.change).label("live"),
        )
        .where(arr_log.c.on <= today)
        .group_by(arr_log.c.customer_id)
        .subquery("per_customer")
    )
    terminal = sorted(terminal_stages(conn))
    year = func.extract("year", customers.c.start)
    month = func.extract("month", customers.c.start)
    alive = customers.c.stage.not_in(terminal)
    query = (
        select(
            year, month, func.count(), func.count(case((alive, 1))),
            func.coalesce(func.sum(per_customer.c.starting), 0.0),
            func.coalesce(func.sum(per_customer.c.live), 0.0),
        )
        .select_from(customers.join(per_customer, per_customer.c.customer_id == customers.c.id))
        .where(customers.c.deleted_at.is_(None), customers.c.start <= today)
        .group_by(year, month)
    )  # fmt: skip
    found: dict[str, list] = {}
    for y, m, count, live, starting, arr in conn.execute(query):
        total = found.setdefault(quarter_of(date(int(y), int(m), 1)), [0, 0, 0.0, 0.0])
        for index, value in enumerate((count, live, float(starting), float(arr))):
            total[index] += value
    rows = []
    for name, (count, live, starting, arr) in sorted(found.items()):
        values = (name, count, live, _share(live, count), _money(starting), _money(arr),
                  _share(arr, starting))  # fmt: skip
        rows.append(dict(zip(COHORT_KEYS, values, strict=True)))
    return rows


# --- the dashboard's revenue section -----------------------------------------------------------


def revenue_summary(conn: Connection, today: date, since: date | None) -> dict:
    """What the dashboard shows of revenue: retention since `since` (default: the start of this
    quarter) to today, churned ARR by reason, and the forecast of this quarter and the next."""
    from clm.storage.reads import connection_reads

    start = since or quarter_start(today)
    totals = forecast_totals(conn, today, 2)
    return {
        "since": start,
        "retention": retention(connection_reads(conn), start, today, today)[-1],
        "churn": [row for row in churn_report(conn, start, today) if row["by"] == "reason"],
        "forecast": totals,
        "at_risk": at_risk(totals),
    }
