"""`db merge` of metric points: a point is matched by its key (metric, customer, day), through
the uuids of its metric and customer, since each copy numbers its rows itself. A point only
the other copy has is added; of two values of one point the later stamp's is kept (a tie, the
greater value), so either direction of the merge gives the same book.

Set-based: the other copy's points (and its metrics' and customers' ids) go into temporary
tables a batch at a time, and SQL compares and writes them, so memory stays flat whatever
the number of points. Merging is for SQLite files (merge_file), hence temporary tables."""

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from clm.db import clock, insert_rows, number_stamp, stream_rows
from clm.domain.metrics import refresh_latest
from clm.plain import number
from clm.storage.tables import customers, metric_points, metrics

BATCH = 20_000  # the other copy's points read and written at a time
SHOWN = 100  # points named one by one in the report; the counts cover them all
POINTS = ("metric_id", "customer_id", "day", "value", "stamp")

_temporary = MetaData()
_their_metrics = Table(
    "merge_their_metrics", _temporary, Column("id", Integer, primary_key=True),
    Column("uuid", String), prefixes=["TEMPORARY"],
)  # fmt: skip
_their_customers = Table(
    "merge_their_customers", _temporary, Column("id", Integer, primary_key=True),
    Column("uuid", String), prefixes=["TEMPORARY"],
)  # fmt: skip


def _points_table(name: str) -> Table:
    """A temporary table of points: the day as SQLite stores it (ISO text), copied as is."""
    return Table(
        name, _temporary, Column("metric_id", Integer, primary_key=True),
        Column("customer_id", Integer, primary_key=True), Column("day", String, primary_key=True),
        Column("value", Float), Column("stamp", BigInteger), prefixes=["TEMPORARY"],
    )  # fmt: skip


_their_points = _points_table("merge_their_points")
_incoming = _points_table("merge_incoming")  # the same points in this copy's ids
_TABLES = [_their_metrics, _their_customers, _their_points, _incoming]


def merge_points(conn: Connection, other: Connection, report) -> None:
    """Fold `other`'s metric points into `conn` (after the metrics and customers merged)."""
    _temporary.create_all(conn, tables=_TABLES)
    try:
        _copy(other, conn)
        _merge(conn, report)
    finally:
        _temporary.drop_all(conn, tables=_TABLES)


def _copy(other: Connection, conn: Connection) -> None:
    """The other copy's points, and its metrics' and customers' ids, into the temporary tables;
    then its points in this copy's ids (those of live metrics only) into `_incoming`."""
    for source, target in ((metrics, _their_metrics), (customers, _their_customers)):
        for rows in stream_rows(other, select(source.c.id, source.c.uuid), BATCH):
            insert_rows(conn, target, ("id", "uuid"), rows)
    query = select(*(metric_points.c[name] for name in POINTS))
    for rows in stream_rows(other, query, BATCH):
        insert_rows(conn, _their_points, POINTS, rows)
    theirs = _their_points.c
    source = (
        _their_points.join(_their_metrics, _their_metrics.c.id == theirs.metric_id)
        .join(metrics, metrics.c.uuid == _their_metrics.c.uuid)
        .join(_their_customers, _their_customers.c.id == theirs.customer_id)
        .join(customers, customers.c.uuid == _their_customers.c.uuid)
    )
    mine = select(metrics.c.id, customers.c.id, theirs.day, theirs.value, theirs.stamp)
    mine = mine.select_from(source).where(metrics.c.deleted_at.is_(None))
    conn.execute(insert(_incoming).from_select(POINTS, mine))


def _merge(conn: Connection, report) -> None:
    points, new = metric_points.c, _incoming.c
    same_point = and_(
        points.metric_id == new.metric_id,
        points.customer_id == new.customer_id,
        points.day == new.day,
    )
    theirs_stamp, ours_stamp = func.coalesce(new.stamp, 0), func.coalesce(points.stamp, 0)
    later = or_(
        theirs_stamp > ours_stamp, and_(theirs_stamp == ours_stamp, new.value > points.value)
    )
    added = select(_incoming).where(~exists().where(same_point))
    changed = select(_incoming, points.value.label("ours")).join(metric_points, same_point)
    changed = changed.where(later)
    counts = [conn.scalar(select(func.count()).select_from(q.subquery())) for q in (added, changed)]
    _tell(conn, report, added, changed)
    if counts[1]:
        conn.execute(
            update(metric_points)
            .values(
                value=select(new.value).where(same_point).scalar_subquery(),
                stamp=select(new.stamp).where(same_point).scalar_subquery(),
            )
            .where(exists().where(same_point, later))
        )
        report.updated["metric_points"] += counts[1]
        report.fields["metric_points"].add("value")
    if counts[0]:
        conn.execute(insert(metric_points).from_select(POINTS, added))
        report.added["metric_points"] += counts[0]
    if any(counts):  # the latest values of the points merged in, from the points as they are now
        pairs = select(new.metric_id, new.customer_id).distinct().subquery()
        refresh_latest(conn, pairs)
    latest = conn.scalar(select(func.max(new.stamp)))
    if latest is not None:  # edits made here after the merge follow the points merged in
        clock(conn).observe(number_stamp(latest))
    report.more["metric_points"] += sum(max(0, count - SHOWN) for count in counts)


def _tell(conn: Connection, report, added, changed) -> None:
    """Name the first SHOWN points added and the first SHOWN changed, by their key:
    `acme active_users 2026-11-23`."""
    for action, query in (("add", added), ("change", changed)):
        rows = query.subquery()
        label = customers.c.slug + " " + metrics.c.name + " " + rows.c.day
        ours = rows.c.ours if action == "change" else literal(None)
        named = (
            select(label, ours, rows.c.value)
            .join_from(rows, customers, customers.c.id == rows.c.customer_id)
            .join(metrics, metrics.c.id == rows.c.metric_id)
            .order_by(rows.c.metric_id, rows.c.customer_id, rows.c.day)
            .limit(SHOWN)
        )
        for name, before, after in conn.execute(named):
            row = {"name": name, "uuid": ""}
            if action == "add":
                report.tell("metric_points", "add", row)
            else:
                report.tell("metric_points", "change", row, "value", number(before), number(after))
