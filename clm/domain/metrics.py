"""Usage metrics: the metrics a book tracks and their points, one value per customer and day.

A point is upserted by (metric, customer, day): setting the value a day already has changes
nothing, so importing the same file twice leaves the book as the first import left it. Every
write of points keeps each customer's latest point of each metric (metric_latest) with them:
a point of a later day replaces it, one of an earlier day never does."""

import json
import math
from collections.abc import Iterator
from datetime import date
from operator import itemgetter

from sqlalchemy import Connection, and_, delete, func, select

from clm.db import clock, stamp_number, upsert_from, upsert_rows, utcnow
from clm.domain.engine.fields import FIELDS, data_name
from clm.domain.records import find_live, get_customer, new_row, update_row
from clm.errors import Conflict, Invalid, Refused
from clm.storage.tables import metric_latest, metric_points, metrics

LIVE = metrics.c.deleted_at.is_(None)
# Words a metric cannot be called: the import's long-form columns, and what rules read.
RESERVED = frozenset({"customer", "date", "day", "metric", "value", "today", "band", *FIELDS})


def check_metric_name(text: str) -> str:
    return data_name(text, "metric", RESERVED)


def check_value(value: float | str, what: str = "value") -> float:
    """A point's value: a finite number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"invalid {what} '{value}': use a number (42, 3.5, -1)") from None
    if not math.isfinite(number):
        raise Invalid(f"invalid {what} '{value}': use a finite number")
    return number


def add_metric(conn: Connection, name: str, description: str | None = None) -> str:
    name = check_metric_name(name)
    if conn.scalar(select(metrics.c.id).where(metrics.c.name == name, LIVE)):
        raise Conflict(f"metric {name} exists already")
    from clm.domain.engine.field_defs import field_defs

    if name in field_defs(conn):  # a rule's `name >= 10` could not tell them apart
        raise Conflict(f"a custom field is named {name}: give the metric another name")
    conn.execute(metrics.insert().values(new_row(conn, name=name, description=description)))
    return name


def get_metric(conn: Connection, name: str):
    """The live metric of this name, else NotFound with the closest names."""
    return find_live(conn, metrics, "name", name.strip().lower(), "metric")


def metric_ids(conn: Connection) -> dict[str, int]:
    """Every live metric's id by name."""
    return dict(conn.execute(select(metrics.c.name, metrics.c.id).where(LIVE)).all())


def list_metrics(conn: Connection) -> Iterator[dict]:
    query = select(metrics.c.name, metrics.c.description).where(LIVE).order_by(metrics.c.name)
    for row in conn.execute(query):
        yield row._asdict()


def metric_definitions(conn: Connection) -> list[dict]:
    """The metrics as the model file lists them: in the order they were added, so a book made
    from the file numbers them alike and exports their points in the same order."""
    query = select(metrics.c.name, metrics.c.description).where(LIVE).order_by(metrics.c.id)
    return [row._asdict() for row in conn.execute(query)]


def remove_metric(conn: Connection, name: str, confirmed: bool) -> int:
    """Remove a metric and its points (the points count, when there were any, needs
    `confirmed`); the points removed. Not one a rule or the scorecard reads: a `stale`
    condition would hold for every customer the next day and open their CTAs."""
    metric = get_metric(conn, name)
    _refuse_if_read(conn, metric.name)
    mine = metric_points.c.metric_id == metric.id
    points = conn.scalar(select(func.count()).select_from(metric_points).where(mine))
    if points and not confirmed:
        raise Refused(
            f"metric {metric.name} has {points} value{'s' if points > 1 else ''}: pass --yes to "
            "remove them with it"
        )
    conn.execute(delete(metric_points).where(mine))
    conn.execute(delete(metric_latest).where(metric_latest.c.metric_id == metric.id))
    update_row(conn, metrics, metric, {"deleted_at": utcnow()})
    return points


def set_point(
    conn: Connection, today: date, slug: str, name: str, value: float | str, day: date
) -> bool:
    """One customer's value of a metric on a day (not after today); whether it changed."""
    customer, metric = get_customer(conn, slug), get_metric(conn, name)
    if day > today:
        raise Invalid(f"invalid day {day}: a metric's value is for today or a day before")
    number = check_value(value)
    return bool(upsert_points(conn, [(metric.id, customer.id, day, number)]))


def upsert_points(conn: Connection, points: list[tuple[int, int, date, float]]) -> int:
    """Points as (metric id, customer id, day, value), upserted with this write's stamp; how
    many were new or changed (a point that already has its value is left alone, stamp and
    all, so a re-import is no newer for a merge)."""
    if not points:
        return 0
    hlc = clock(conn)
    last = hlc.last
    stamp = stamp_number(hlc.stamp())
    stamped = [(*point, stamp) for point in points]
    written = upsert_rows(conn, metric_points, POINT_COLUMNS, 3, stamped, along=("stamp",))
    if written:
        _keep_latest(conn, points)
    elif last is not None:
        hlc.last = last  # the stamp went nowhere: a re-import leaves the book as it was
    return written


def _keep_latest(conn: Connection, points: list[tuple[int, int, date, float]]) -> None:
    """Each (customer, metric)'s latest of `points` into metric_latest, unless it holds a
    later day. Sorted by day, stably: of two points of one day, the later in the list, as the
    points' upsert kept it."""
    newest = {(c, m): (c, m, d, v) for m, c, d, v in sorted(points, key=_DAY)}
    upsert_rows(conn, metric_latest, LATEST_COLUMNS, 2, list(newest.values()), newer="day")


def refresh_latest(conn: Connection, pairs) -> None:
    """metric_latest again from the points, for the (metric_id, customer_id) pairs of `pairs`
    (a subquery of those columns): after a write that may change any of their points."""
    p, each = metric_points.c, metric_points.alias("each").c
    newest_day = (
        select(func.max(each.day))
        .where(each.metric_id == pairs.c.metric_id, each.customer_id == pairs.c.customer_id)
        .scalar_subquery()
    )
    same = and_(
        p.metric_id == pairs.c.metric_id, p.customer_id == pairs.c.customer_id, p.day == newest_day
    )
    rows = select(p.customer_id, p.metric_id, p.day, p.value).join_from(pairs, metric_points, same)
    upsert_from(conn, metric_latest, rows, key=("customer_id", "metric_id"))


def _refuse_if_read(conn: Connection, name: str) -> None:
    from clm.domain.engine.conditions import parse_condition
    from clm.domain.engine.field_defs import field_defs
    from clm.domain.engine.metric_conditions import MetricCondition
    from clm.domain.scorecard import read_scorecard
    from clm.storage.tables import rules

    defs = field_defs(conn)
    live = select(rules.c.name, rules.c.conditions).where(rules.c.deleted_at.is_(None))
    for rule, texts in conn.execute(live.order_by(rules.c.name)):
        for text in json.loads(texts):
            condition = parse_condition(text, defs)
            if isinstance(condition, MetricCondition) and condition.field == name:
                raise Conflict(f"rule '{rule}' reads metric {name}: change or remove it first")
    card = read_scorecard(conn)
    if card and any(measure.metric == name for measure in card.measures):
        raise Conflict(
            f"the scorecard reads metric {name}: take it out of the model's [scorecard] first "
            "(clm model export, edit, clm model apply)"
        )


POINT_COLUMNS = ("metric_id", "customer_id", "day", "value", "stamp")
LATEST_COLUMNS = ("customer_id", "metric_id", "day", "value")
_DAY = itemgetter(2)


def series(conn: Connection, slug: str, name: str, since: date | None = None) -> list[dict]:
    """A customer's values of a metric, by day (from `since`, if given)."""
    customer, metric = get_customer(conn, slug), get_metric(conn, name)
    query = (
        select(metric_points.c.day, metric_points.c.value)
        .where(metric_points.c.metric_id == metric.id, metric_points.c.customer_id == customer.id)
        .order_by(metric_points.c.day)
    )
    if since is not None:
        query = query.where(metric_points.c.day >= since)
    return [row._asdict() for row in conn.execute(query)]


# --- the model file's [[metrics]] (`clm model apply`) ---------------------------------------


def remove_unlisted_metrics(conn: Connection, names: set[str], readers: dict[str, str]) -> list:
    """Remove the metrics the model file leaves out, as it does fields: not one that has values
    (`clm metric rm --yes` removes those) nor one the file's rules or scorecard read (`readers`:
    metric -> who reads it); each kept one is a problem, and then nothing changes."""
    from clm.errors import Problem

    problems = []
    for metric in conn.execute(select(metrics).where(LIVE).order_by(metrics.c.name)).all():
        if metric.name in names:
            continue
        if metric.name in readers:
            problems.append(
                Problem("metrics", f"the file removes metric '{metric.name}' but "
                        f"{readers[metric.name]} reads it: keep it in [[metrics]]")
            )  # fmt: skip
            continue
        mine = metric_points.c.metric_id == metric.id
        points = conn.scalar(select(func.count()).select_from(metric_points).where(mine))
        if points:
            problems.append(
                Problem("metrics", f"the file removes metric '{metric.name}' but it has {points} "
                        f"value{'s' if points > 1 else ''}: keep it, or clm metric rm it first")
            )  # fmt: skip
            continue
        update_row(conn, metrics, metric, {"deleted_at": utcnow()})
    return problems


def write_metrics(conn: Connection, wanted: list[dict]) -> list:
    """Add the model file's metrics and set their descriptions (after the fields are written:
    a field the file removes leaves its name free); a name a custom field keeps is a problem."""
    from clm.domain.engine.field_defs import field_defs
    from clm.errors import Problem

    current = {row.name: row for row in conn.execute(select(metrics).where(LIVE))}
    taken = field_defs(conn)
    problems = []
    for entry in wanted:
        row = current.get(entry["name"])
        if row is not None:
            if row.description != entry["description"]:
                update_row(conn, metrics, row, {"description": entry["description"]})
        elif entry["name"] in taken:
            problems.append(
                Problem("metrics", f"a custom field is named {entry['name']}: give the "
                        "metric another name, or remove the field")
            )  # fmt: skip
        else:
            values = new_row(conn, name=entry["name"], description=entry["description"])
            conn.execute(metrics.insert().values(values))
    return problems
