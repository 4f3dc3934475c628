"""`clm metric import`: a product-analytics export of metric values, streamed into the points.

Two shapes of file, told apart by their columns (after `--map`): the long form has a row per
point (`customer,date,metric,value`), the wide form a row per customer and day with a column
per metric (`customer,date,active_users,seats`; an empty cell is no value). Every row is
checked; rows are upserted a batch at a time in the caller's one transaction, and after the
first bad row nothing more is written and the rest is only checked, so a file with a bad row
imports nothing (the caller rolls back) and lists the bad rows with their lines. Memory stays
flat: only the customers' and metrics' ids are held, and one batch.

`create` (`clm import metrics --create-metrics`, a book moved through files): a long-form
row naming a metric the book lacks adds the metric (no description) instead of being bad."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from sqlalchemy import Connection, select

from clm.db import bulk_load
from clm.domain.metrics import add_metric, check_metric_name, metric_ids, upsert_points
from clm.domain.transfer.batches import SHOWN_PROBLEMS, import_problems
from clm.domain.transfer.files import BadRow, Records
from clm.errors import ClmError, Invalid, Problem, did_you_mean
from clm.storage.tables import customers

LONG = ("customer", "date", "metric", "value")
BATCH = 20_000  # points upserted at a time


@dataclass(frozen=True)
class MetricImport:
    points: int  # read from the file
    written: int  # new or changed; the others already had their value
    created: tuple[str, ...] = ()  # the metrics added (`create`)

    @property
    def unchanged(self) -> int:
        return self.points - self.written


class _Rows:
    """Turns records into points, keeping the problems (with their lines) as it goes."""

    def __init__(self, conn: Connection, today: date, names: dict[str, int], create: bool):
        self.conn, self.today, self.names, self.create = conn, today, names, create
        self.created: list[str] = []
        self.customers = dict(
            conn.execute(
                select(customers.c.slug, customers.c.id).where(customers.c.deleted_at.is_(None))
            ).all()
        )
        self.days: dict[str, date | None] = {}
        self.problems: list[tuple[int, Problem]] = []
        self.total_problems = 0

    def problem(self, line: int, column: str | None, message: str) -> None:
        self.total_problems += 1
        if len(self.problems) < SHOWN_PROBLEMS:
            place = f"line {line}" + (f", field {column}" if column else "")
            self.problems.append((line, Problem(place, message)))

    def customer(self, line: int, value) -> int | None:
        slug = str(value).strip().lower()
        found = self.customers.get(slug)
        if found is None:
            # A suggestion costs a search of every slug: only for the problems shown.
            hint = did_you_mean(slug, self.customers) if len(self.problems) < SHOWN_PROBLEMS else ""
            self.problem(line, "customer", f"no customer '{slug}'{hint}" if slug else "empty")
        return found

    def day(self, line: int, value) -> date | None:
        text = str(value).strip()
        if text not in self.days:
            self.days[text] = _day(text)
        found = self.days[text]
        if found is None:
            self.problem(line, "date", f"invalid date '{text}': use YYYY-MM-DD (a time is ignored)")
        elif found > self.today:
            self.problem(line, "date", f"{found} is after today ({self.today})")
            return None
        return found

    def metric(self, line: int, value) -> int | None:
        name = str(value).strip().lower()
        found = self.names.get(name)
        if found is None and self.create:
            return self.add_metric(line, name)
        if found is None:
            hint = did_you_mean(name, self.names) or (
                f" (the metrics: {', '.join(sorted(self.names))})" if self.names else ""
            )
            self.problem(line, "metric", f"no metric '{name}'{hint}; add it with clm metric add")
        return found

    def add_metric(self, line: int, name: str) -> int | None:
        """A metric the file names, added (`create`); its id, or None and a problem when the
        name cannot be a metric's. After a bad row nothing is written: the name is checked."""
        try:
            added = check_metric_name(name) if self.total_problems else add_metric(self.conn, name)
        except ClmError as exc:
            self.problem(line, "metric", str(exc))
            return None
        self.names[name] = metric_ids(self.conn).get(added, 0)
        self.created.append(added)
        return self.names[name]

    def value(self, line: int, column: str, value) -> float | None:
        if isinstance(value, bool):
            number = None
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = None
        if number is None or not math.isfinite(number):
            self.problem(line, column, f"invalid value '{value}': use a number (42, 3.5)")
            return None
        return number

    def points(self, line: int, record: dict) -> list[tuple]:
        """The record's points as (metric id, customer id, day, value); none if it is bad."""
        before = self.total_problems
        customer = self.customer(line, record.get("customer", ""))
        day = self.day(line, record.get("date", ""))
        if "metric" in record or "value" in record:
            metric = self.metric(line, record.get("metric", ""))
            value = self.value(line, "value", record.get("value", ""))
            found = [(metric, customer, day, value)]
        else:
            found = [
                (self.names[column], customer, day, self.value(line, column, cell))
                for column, cell in record.items()
                if column in self.names and cell not in ("", None)
            ]
        return found if self.total_problems == before else []


def _day(text: str) -> date | None:
    """An ISO date, or the date part of an ISO date-time (`2024-03-05 10:12`)."""
    if len(text) > 10 and text[10] not in "T ":
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def import_metrics(
    conn: Connection,
    today: date,
    stream: BinaryIO,
    fmt: str,
    mapping: dict[str, str | None],
    progress: Callable[[int, int], None] | None = None,
    create: bool = False,
) -> MetricImport:
    """Import a file of metric values inside the caller's write transaction; `Problems`
    (clm.errors) lists the bad rows, and the caller's rollback leaves the book unchanged.
    `progress(points, bytes_read)` is called after each batch."""
    names = metric_ids(conn)
    records = Records(stream, fmt, (*LONG, *sorted(names)), ("customer", "date"), mapping)
    rows = _Rows(conn, today, dict(names), create)
    bulk_load(conn)
    batch: list[tuple] = []
    read = written = 0
    shape_checked = False
    for line, record in records:
        if isinstance(record, BadRow):
            rows.problem(line, record.column, record.message)
            continue
        if not shape_checked:
            _check_shape(record, names)
            shape_checked = True
        found = rows.points(line, record)
        read += len(found)
        if rows.total_problems:
            continue  # only checking now: nothing more is written
        batch += found
        if len(batch) >= BATCH:
            written += upsert_points(conn, batch)
            batch.clear()
            if progress:
                progress(read, records.bytes_read)
    if rows.total_problems:
        raise import_problems(rows.problems, rows.total_problems)
    written += upsert_points(conn, batch)
    if progress:
        progress(read, records.bytes_read)
    return MetricImport(read, written, tuple(rows.created))


def _check_shape(record: dict, names: dict[str, int]) -> None:
    """A file is of the long form (metric and value columns) or the wide one (a column per
    metric), not both, and not neither."""
    long = [column for column in ("metric", "value") if column in record]
    wide = [column for column in record if column in names]
    if long and wide:
        raise Invalid(
            f"the file has both the long form's {' and '.join(long)} and a column per metric "
            f"({', '.join(wide)}): "
            "use the long form (customer,date,metric,value) or the wide one "
            "(customer,date,METRIC…), skipping the other columns with --map 'HEADER='"
        )
    if len(long) == 1:
        missing = "value" if long == ["metric"] else "metric"
        raise Invalid(f"the file has a {long[0]} column but no {missing} column")
    if not long and not wide:
        raise Invalid(
            "no metric in the file: use the long form (customer,date,metric,value) or a column "
            "per metric (customer,date,METRIC…)"
            + (f"; the metrics: {', '.join(sorted(names))}" if names else "; add one first")
        )
