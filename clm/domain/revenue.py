"""Revenue from the ARR history: retention (GRR, NRR) over periods, churned ARR by reason,
stage left, owner and tenure, the renewal forecast, and cohorts by start quarter. Each is a
few grouped queries over the ARR log, whatever the book's size.

Retention follows the customers live at the start of a period (its cohort: ARR on the book
the day before). Within the period, their expansion (new ARR of a cohort customer counts as
expansion) and contraction are summed from the log, and their churned ARR (net of a win-back
within the period) is the rest of the change from starting to ending ARR. GRR = (starting -
contraction - churned) / starting, NRR = ending / starting. New business of customers not in
the cohort is reported apart, as new ARR.
"""

from collections.abc import Iterator
from datetime import date, timedelta

from sqlalchemy import Connection, and_, case, func, literal, or_, select

from clm.dates import RECURRENCES, period_name, quarter_of, quarter_start, split_period
from clm.db import days_from
from clm.domain.arr_history import CENT, terminal_stages
from clm.domain.forecast import CATEGORIES, category
from clm.domain.health_now import health_now
from clm.errors import Invalid
from clm.plain import number
from clm.storage.tables import arr_log, customer_tags, customers, transitions, users

GROUPS = ("owner", "team", "tag", "stage", "source", "term")
RETENTION_KEYS = (
    "period", "group", "starting_arr", "expansion", "contraction", "churned_arr",
    "ending_arr", "grr", "nrr", "new_arr", "logos", "logos_lost",
)  # fmt: skip
CHURN_KEYS = ("by", "value", "customers", "arr")
CHURN_BY = ("reason", "stage_left", "owner", "tenure")
FORECAST_KEYS = ("period", "renewal", "customer", "owner", "health", "forecast", "set_by", "arr")
COHORT_KEYS = (
    "cohort", "customers", "live", "logo_retention", "starting_arr", "arr", "arr_retention",
)  # fmt: skip
TENURES = ((91, "0-3 months"), (183, "3-6 months"), (366, "6-12 months"), (731, "12-24 months"))


def _money(value) -> int | float:
    return number(round(float(value or 0), 2))


def _share(part, whole) -> float | None:
    return round(float(part) / float(whole), 4) if whole and float(whole) > CENT else None


def check_group(by: str | None) -> str | None:
    if by is None:
        return None
    key = by.strip().lower()
    if key not in GROUPS:
        raise Invalid(f"invalid --by '{by}': use {', '.join(GROUPS)}")
    return key


def _grouped(by: str | None, source):
    """The column to group by and the FROM clause that has it (customers joined already)."""
    none = literal("(none)")
    if by is None:
        return literal("all"), source
    if by in ("owner", "team"):
        owner = users.alias("owner")
        column = owner.c.handle if by == "owner" else owner.c.team
        return func.coalesce(column, none), source.outerjoin(
            owner, owner.c.id == customers.c.owner_id
        )
    if by == "tag":
        return func.coalesce(customer_tags.c.tag, none), source.outerjoin(
            customer_tags, customer_tags.c.customer_id == customers.c.id
        )
    return func.coalesce(customers.c[by], none), source


# --- retention ---------------------------------------------------------------------------------


# Periods measured by one scan of the log: a query's columns grow with them, so a long range
# cut fine (every month over decades) is measured a batch at a time.
PERIODS_PER_SCAN = 24
# Groupings that put each customer in one group: the period's total is the sum of its groups.
PARTITIONS = ("owner", "team", "stage", "source", "term")


def _per_customer(periods: list[tuple[date, date]]):
    """Each customer's ARR movements over the periods (`first`..`upto`), in one scan of the log:
    its live ARR before each period and after it (`before_N`, one column per boundary day, a
    period's end shared with the next one's start), and its expansion and contraction within
    each period (`expansion_N`, `contraction_N`). Churn within a period is what is left of the
    change: every kind of entry is one of the three. Returns the subquery and each period's
    two boundary columns."""
    day, kind, change = arr_log.c.on, arr_log.c.kind, arr_log.c.change
    last = max(upto for _, upto in periods)

    def summed(name: str, *where):
        # FILTER, not a CASE in the sum: a row that fails skips the step (a fifth less time
        # on SQLite). A customer with no such row gets NULL, not 0: see `_retention_query`.
        return func.sum(change).filter(and_(*where)).label(name)

    # Each conditional sum is a step per row of the log, most of the query's time: each
    # boundary is summed once, not as a period's end and again as the next one's start.
    bounds = sorted({first for first, _ in periods}
                    | {upto + timedelta(days=1) for _, upto in periods if upto < last})  # fmt: skip
    columns = [summed(f"before_{n}", day < bound) for n, bound in enumerate(bounds)]
    columns.append(func.sum(change).label(f"before_{len(bounds)}"))  # to the last period's end
    for n, (first, upto) in enumerate(periods):
        during = and_(day >= first, day <= upto)
        columns += [
            summed(f"expansion_{n}", during, kind.in_(("new", "expansion"))),
            summed(f"contraction_{n}", during, kind == "contraction"),
        ]
    moved = (
        select(arr_log.c.customer_id, *columns)
        .where(day <= last)
        .group_by(arr_log.c.customer_id)
        .subquery("moved")
    )

    def before(bound: date):
        return moved.c[f"before_{bounds.index(bound)}"]

    ends = [moved.c[f"before_{len(bounds)}"] if upto == last else before(upto + timedelta(days=1))
            for _, upto in periods]  # fmt: skip
    return moved, list(zip([before(first) for first, _ in periods], ends, strict=True))


def _retention_query(periods: list[tuple[date, date]], by: str | None):
    """Per group: for each period, the seven figures `_retention_row` reads. A customer with
    no entry before a boundary has NULL there: never in that period's cohort, and left out of
    the sums (it had no ARR)."""
    moved, bounds = _per_customer(periods)
    figures = []
    for n, (starting, ending) in enumerate(bounds):
        cohort = starting > CENT

        def of_cohort(value, cohort=cohort):
            return func.coalesce(func.sum(value).filter(cohort), 0.0)

        figures += [
            of_cohort(starting),
            of_cohort(moved.c[f"expansion_{n}"]),
            of_cohort(-moved.c[f"contraction_{n}"]),
            of_cohort(ending),
            func.coalesce(func.sum(ending), 0.0),  # everyone's: the new ARR is the rest
            func.count().filter(cohort),
            func.count().filter(and_(cohort, ending <= CENT)),
        ]
    source = moved.join(customers, customers.c.id == moved.c.customer_id)
    key, source = _grouped(by, source)
    return (
        select(key.label("group"), *figures)
        .select_from(source)
        .where(customers.c.deleted_at.is_(None))
        .group_by(key)
        .order_by(key)
    )


FIGURES = 7  # per period, per group: what `_retention_query` sums


def _retention_row(period: str, group: str, values) -> dict:
    starting, expansion, contraction, ending, everyone, logos, lost = (
        float(value) if index < 5 else value for index, value in enumerate(values)
    )
    new = everyone - ending  # the ending ARR of the customers not in the cohort
    churned = starting + expansion - contraction - ending  # the rest of the cohort's change
    return {
        "period": period,
        "group": group,
        "starting_arr": _money(starting),
        "expansion": _money(expansion),
        "contraction": _money(contraction),
        "churned_arr": _money(churned),
        "ending_arr": _money(ending),
        "grr": _share(starting - contraction - churned, starting),
        "nrr": _share(ending, starting),
        "new_arr": _money(new),
        "logos": logos,
        "logos_lost": lost,
    }


def retention(
    conn: Connection, start: date, end: date, today: date, by: str | None = None, every=None
) -> list[dict]:
    """Per period (the whole of start..end, or cut `every` quarter, month, year) and, with
    `by`, per group (the customer's owner, its owner's team, a tag, or a field as it is now):
    the cohort's starting ARR, expansion, contraction, churned ARR, ending ARR, GRR and NRR,
    its logos and those lost; the new ARR of customers not in it. A period is counted up to
    today at most (one that starts later is left out); a group row's figures, then the
    period's total as group `all`."""
    if start > today:
        raise Invalid(f"invalid --period: it starts on {start}, after today ({today})")
    periods = split_period(start, end, every) if every is not None else [(start, end)]
    names = [period_name(first, last) for first, last in periods if first <= today]
    periods = [(first, min(last, today)) for first, last in periods if first <= today]
    rows = []
    for i in range(0, len(periods), PERIODS_PER_SCAN):
        batch = slice(i, i + PERIODS_PER_SCAN)
        rows += _retention_of(conn, names[batch], periods[batch], by)
    return rows


def _retention_of(
    conn: Connection, names: list[str], periods: list[tuple[date, date]], by: str | None
) -> list:
    """The rows of `retention` for a few periods (named `names`): each group's, then the
    total."""
    groups = conn.execute(_retention_query(periods, by)).all() if by is not None else []
    if by is None or by not in PARTITIONS:
        total = conn.execute(_retention_query(periods, None)).first()
        totals = total[1:] if total else (0,) * (FIGURES * len(periods))
    else:
        totals = [sum(values) for values in zip(*(row[1:] for row in groups), strict=True)]
        totals = totals or (0,) * (FIGURES * len(periods))
    rows = []
    for n, name in enumerate(names):
        figures = slice(FIGURES * n, FIGURES * (n + 1))
        rows += [_retention_row(name, group, values[figures]) for group, *values in groups]
        rows.append(_retention_row(name, "all", tuple(totals)[figures]))
    return rows


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
    start = since or quarter_start(today)
    totals = forecast_totals(conn, today, 2)
    return {
        "since": start,
        "retention": retention(conn, start, today, today)[-1],
        "churn": [row for row in churn_report(conn, start, today) if row["by"] == "reason"],
        "forecast": totals,
        "at_risk": at_risk(totals),
    }
