"""Revenue retention over periods (GRR, NRR), read through statements compiled ahead
(clm.storage.reads): on a file, `report retention` imports no SQLAlchemy.

Retention follows the customers live at the start of a period (its cohort: ARR on the book
the day before). Within the period, their expansion (new ARR of a cohort customer counts as
expansion) and contraction are summed from the log, and their churned ARR (net of a win-back
within the period) is the rest of the change from starting to ending ARR. GRR = (starting -
contraction - churned) / starting, NRR = ending / starting. New business of customers not in
the cohort is reported apart, as new ARR.
"""

from datetime import date

from clm.dates import period_name, split_period
from clm.errors import Invalid
from clm.plain import CENT, number

GROUPS = ("owner", "team", "tag", "stage", "source", "term")
RETENTION_KEYS = (
    "period", "group", "starting_arr", "expansion", "contraction", "churned_arr",
    "ending_arr", "grr", "nrr", "new_arr", "logos", "logos_lost",
)  # fmt: skip
# Periods measured by one scan of the log: a query's columns grow with them, so a long range
# cut fine (every month over decades) is measured a batch at a time.
PERIODS_PER_SCAN = 24
# Scans of up to this many periods (a period alone, the quarters or months of a quarter, a
# year's quarters) run statements compiled ahead, their days as parameters; a longer one builds
# its statement when it runs (SQLAlchemy then loads).
COMPILED_PERIODS = 4
# Groupings that put each customer in one group: the period's total is the sum of its groups.
PARTITIONS = ("owner", "team", "stage", "source", "term")
FIGURES = 7  # per period, per group: what `_retention_query` sums
# A statement's shape: the whole book in one row, one row per group of a column (the
# customer's own or its owner's, named by the parameter `by`), or one row per tag.
SHAPES = ("all", "column", "tag")


def money(value) -> int | float:
    return number(round(float(value or 0), 2))


def share(part, whole) -> float | None:
    return round(float(part) / float(whole), 4) if whole and float(whole) > CENT else None


def check_group(by: str | None) -> str | None:
    if by is None:
        return None
    key = by.strip().lower()
    if key not in GROUPS:
        raise Invalid(f"invalid --by '{by}': use {', '.join(GROUPS)}")
    return key


def _shape(by: str | None) -> str:
    return "all" if by is None else "tag" if by == "tag" else "column"


def _grouped(shape: str, source):
    """The column to group by and the FROM clause that has it (customers joined already)."""
    from sqlalchemy import String, bindparam, case, func, literal

    from clm.storage.tables import customer_tags, customers, users

    none = literal("(none)")
    if shape == "all":
        return literal("all"), source
    if shape == "tag":
        return func.coalesce(customer_tags.c.tag, none), source.outerjoin(
            customer_tags, customer_tags.c.customer_id == customers.c.id
        )
    owner = users.alias("owner")
    by = bindparam("by", type_=String, required=False)
    columns = {"owner": owner.c.handle, "team": owner.c.team}
    columns |= {name: customers.c[name] for name in PARTITIONS if name not in columns}
    column = case({literal(name): value for name, value in columns.items()}, value=by)
    return func.coalesce(column, none), source.outerjoin(owner, owner.c.id == customers.c.owner_id)


def _per_customer(count: int):
    """Each customer's ARR movements over `count` periods one after the other, the first
    starting on `:first_0`, the next on `:first_1`…, the last ending on `:last`, in one scan of
    the log: its live ARR before each period's start (`before_N`) and at the last one's end
    (`before_<count>`), and its expansion and contraction within each period (`expansion_N`,
    `contraction_N`). Churn within a period is what is left of the change: every kind of
    entry is one of the three. A period's end is the next one's start."""
    from sqlalchemy import Date, and_, bindparam, func, select

    from clm.storage.tables import arr_log

    day, kind, change = arr_log.c.on, arr_log.c.kind, arr_log.c.change
    firsts = [bindparam(f"first_{n}", type_=Date, required=False) for n in range(count)]
    last = bindparam("last", type_=Date, required=False)

    def summed(name: str, *where):
        # FILTER, not a CASE in the sum: a row that fails skips the step (a fifth less time
        # on SQLite). A customer with no such row gets NULL, not 0: see `_retention_query`.
        return func.sum(change).filter(and_(*where)).label(name)

    # Each conditional sum is a step per row of the log, most of the query's time: each
    # boundary is summed once, not as a period's end and again as the next one's start.
    columns = [summed(f"before_{n}", day < first) for n, first in enumerate(firsts)]
    columns.append(func.sum(change).label(f"before_{count}"))  # to the last period's end
    for n, first in enumerate(firsts):
        during = (day >= first, day < firsts[n + 1]) if n + 1 < count else (day >= first,)
        columns += [
            summed(f"expansion_{n}", *during, kind.in_(("new", "expansion"))),
            summed(f"contraction_{n}", *during, kind == "contraction"),
        ]
    return (
        select(arr_log.c.customer_id, *columns)
        .where(day <= last)
        .group_by(arr_log.c.customer_id)
        .subquery("moved")
    )


def _retention_query(count: int, shape: str):
    """Per group: for each of `count` periods, the seven figures `_retention_row` reads. A
    customer with no entry before a boundary has NULL there: never in that period's cohort,
    and left out of the sums (it had no ARR)."""
    from sqlalchemy import and_, func, select

    from clm.storage.tables import customers

    moved = _per_customer(count)
    figures = []
    for n in range(count):
        starting, ending = moved.c[f"before_{n}"], moved.c[f"before_{n + 1}"]
        cohort = starting > CENT

        def of_cohort(value, cohort=cohort):
            return func.coalesce(func.sum(value).filter(cohort), 0.0)

        figures += [
            of_cohort(starting).label(f"starting_{n}"),
            of_cohort(moved.c[f"expansion_{n}"]).label(f"expansion_{n}"),
            of_cohort(-moved.c[f"contraction_{n}"]).label(f"contraction_{n}"),
            of_cohort(ending).label(f"ending_{n}"),
            # everyone's: the new ARR is the rest
            func.coalesce(func.sum(ending), 0.0).label(f"everyone_{n}"),
            func.count().filter(cohort).label(f"logos_{n}"),
            func.count().filter(and_(cohort, ending <= CENT)).label(f"lost_{n}"),
        ]
    source = moved.join(customers, customers.c.id == moved.c.customer_id)
    key, source = _grouped(shape, source)
    query = (
        select(key.label("group"), *figures)
        .select_from(source)
        .where(customers.c.deleted_at.is_(None))
    )
    # The whole book is one row, even of no customer (zeros): no grouping to sort.
    return query if shape == "all" else query.group_by(key).order_by(key)


def retention_statements() -> dict:
    """The statements compiled ahead, by name (`retention.SHAPE.COUNT`)."""
    return {
        f"retention.{shape}.{count}": _retention_query(count, shape)
        for shape in SHAPES
        for count in range(1, COMPILED_PERIODS + 1)
    }


def _retention_row(period: str, group: str, values) -> dict:
    starting, expansion, contraction, ending, everyone, logos, lost = (
        float(value) if index < 5 else value for index, value in enumerate(values)
    )
    new = everyone - ending  # the ending ARR of the customers not in the cohort
    churned = starting + expansion - contraction - ending  # the rest of the cohort's change
    return {
        "period": period,
        "group": group,
        "starting_arr": money(starting),
        "expansion": money(expansion),
        "contraction": money(contraction),
        "churned_arr": money(churned),
        "ending_arr": money(ending),
        "grr": share(starting - contraction - churned, starting),
        "nrr": share(ending, starting),
        "new_arr": money(new),
        "logos": logos,
        "logos_lost": lost,
    }


def retention(reads, start: date, end: date, today: date, by: str | None = None, every=None):
    """Per period (the whole of start..end, or cut `every` quarter, month, year) and, with
    `by`, per group (the customer's owner, its owner's team, a tag, or a field as it is now):
    the cohort's starting ARR, expansion, contraction, churned ARR, ending ARR, GRR and NRR,
    its logos and those lost; the new ARR of customers not in it. A period is counted up to
    today at most (one that starts later is left out); a group row's figures, then the
    period's total as group `all`. `reads`: clm.storage.reads.Reads."""
    if start > today:
        raise Invalid(f"invalid --period: it starts on {start}, after today ({today})")
    periods = split_period(start, end, every) if every is not None else [(start, end)]
    names = [period_name(first, last) for first, last in periods if first <= today]
    periods = [(first, min(last, today)) for first, last in periods if first <= today]
    rows = []
    for i in range(0, len(periods), PERIODS_PER_SCAN):
        batch = slice(i, i + PERIODS_PER_SCAN)
        rows += _retention_of(reads, names[batch], periods[batch], by)
    return rows


def _measured(reads, periods: list[tuple[date, date]], shape: str, by: str | None) -> list:
    """The rows of `_retention_query` for periods one after the other."""
    count = len(periods)
    params = {f"first_{n}": first for n, (first, _) in enumerate(periods)}
    params["last"] = periods[-1][1]
    if shape == "column":
        params["by"] = by
    name = f"retention.{shape}.{count}"
    if count <= COMPILED_PERIODS:
        return reads.all(name, **params)
    from clm.storage.read_compiler import compile_statement

    return reads.run(name, compile_statement(_retention_query(count, shape)), **params)


def _retention_of(reads, names: list[str], periods: list[tuple[date, date]], by: str | None):
    """The rows of `retention` for a few periods (named `names`): each group's, then the
    total."""
    groups = _measured(reads, periods, _shape(by), by) if by is not None else []
    if by is None or by not in PARTITIONS:
        [total] = _measured(reads, periods, "all", None)
        totals = total[1:]
    else:
        totals = [sum(values) for values in zip(*(row[1:] for row in groups), strict=True)]
        totals = totals or (0,) * (FIGURES * len(periods))
    rows = []
    for n, name in enumerate(names):
        figures = slice(FIGURES * n, FIGURES * (n + 1))
        rows += [_retention_row(name, group, values[figures]) for group, *values in groups]
        rows.append(_retention_row(name, "all", tuple(totals)[figures]))
    return rows
