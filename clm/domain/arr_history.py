"""ARR over time: every change of a customer's ARR, with its day (as --today saw it) and its
kind, appended to the ARR log by each path that changes it (add, edit, import, renew --arr,
churn, win-back). Reports read a customer's ARR on a day, and the book's movements over a
period, from the log.

An entry's `arr` is the customer's ARR from that day on; its `change` is what it did to the
live book's ARR: a churned customer keeps its ARR (as lost ARR) but the churn takes it off the
book, and a win-back puts it back. An edit of a churned customer's ARR changes no live ARR.
"""

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, case, func, select

from clm.db import insert_rows, utcnow
from clm.domain.records import new_uuid
from clm.plain import CENT
from clm.storage.tables import arr_log, stages

KINDS = ("new", "expansion", "contraction", "churn", "reactivation")
Entry = dict


def arr_set(customer_id: int, on: date, before, after, live: bool = True) -> Entry | None:
    """The entry for a customer's ARR going from `before` to `after` (None counts as 0) on
    `on`: new business from nothing, else expansion or contraction; None when unchanged. A
    customer not `live` (in a terminal stage) changes no live ARR."""
    before, after = float(before or 0), float(after or 0)
    if before == after:
        return None
    kind = "new" if before == 0 else "expansion" if after > before else "contraction"
    return _entry(customer_id, on, kind, after, after - before if live else 0.0)


def churned(customer_id: int, on: date, arr) -> Entry | None:
    """A customer entering a terminal stage: its ARR off the live book (None without ARR)."""
    return _entry(customer_id, on, "churn", float(arr), -float(arr)) if arr else None


def reactivated(customer_id: int, on: date, arr) -> Entry | None:
    """A churned customer won back: its ARR back on the live book."""
    return _entry(customer_id, on, "reactivation", float(arr), float(arr)) if arr else None


def arr_moved(customer_id: int, on: date, before, after, was_live: bool, is_live: bool) -> list:
    """The entries for a customer whose ARR goes from `before` to `after` as it goes from live
    (or not) to live (or not), as an import may do at once: the live book changes by its ARR
    after (if live) less its ARR before (if it was)."""
    if was_live and not is_live:
        return [arr_set(customer_id, on, before, after), churned(customer_id, on, after)]
    if is_live and not was_live:
        return [reactivated(customer_id, on, before), arr_set(customer_id, on, before, after)]
    return [arr_set(customer_id, on, before, after, is_live)]


def terminal_stages(conn: Connection) -> set[str]:
    query = select(stages.c.key).where(stages.c.terminal, stages.c.deleted_at.is_(None))
    return set(conn.scalars(query))


def _entry(customer_id: int, on: date, kind: str, arr: float, change: float) -> Entry:
    return {"customer_id": customer_id, "on": on, "kind": kind, "arr": arr, "change": change}


_LOGGED = ("customer_id", "on", "kind", "arr", "change", "uuid", "created_at")


def log_arr(conn: Connection, entries: Iterable[Entry | None]) -> None:
    """Append the entries (None ones skipped) to the ARR log, in one statement straight to the
    driver (an import logs one a customer: SQLAlchemy's per-row parameter work cost 15% of a
    100,000-customer import)."""
    now = utcnow()
    rows = [
        (e["customer_id"], e["on"], e["kind"], e["arr"], e["change"], new_uuid(), now)
        for e in entries
        if e
    ]
    insert_rows(conn, arr_log, _LOGGED, rows)


def is_terminal(conn: Connection, stage: str) -> bool:
    """Whether `stage` is a terminal stage of the model (its customers are churned)."""
    found = conn.scalar(
        select(stages.c.terminal).where(stages.c.key == stage, stages.c.deleted_at.is_(None))
    )
    return bool(found)


def arr_on(day: date):
    """A subquery of each customer's ARR on `day` (`customer_id`, `arr`): what its latest entry
    on or before that day says."""
    # A live customer's ARR is the sum of its changes (a churn took it off the book, a win-back
    # put it back): one grouped scan. A churned one's, the ARR it kept, is its latest entry's,
    # looked up for it alone.
    kept = arr_log.alias("kept")
    latest = (
        select(kept.c.arr)
        .where(kept.c.customer_id == arr_log.c.customer_id, kept.c.on <= day)
        .order_by(kept.c.on.desc(), kept.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    live = func.sum(arr_log.c.change)
    return (
        select(arr_log.c.customer_id, case((live > CENT, live), else_=latest).label("arr"))
        .where(arr_log.c.on <= day)
        .group_by(arr_log.c.customer_id)
        .subquery("arr_on")
    )


def arr_history(conn: Connection, customer_id: int) -> list[dict]:
    """A customer's ARR changes, oldest first: day, kind, its ARR before (`old`) and after
    (`new`) as the customer sees it (a churn takes it to nothing, a reactivation brings it
    back from nothing) and the `change` to the live book."""
    return [row._asdict() for row in conn.execute(arr_history_query(customer_id))]


def arr_history_query(customer_id):
    """A customer's ARR changes (on, kind, old, new, change) oldest first."""
    order = (arr_log.c.on, arr_log.c.id)
    before = func.lag(arr_log.c.arr, 1, 0.0).over(order_by=order)
    kind = arr_log.c.kind
    return (
        select(
            arr_log.c.on,
            kind,
            case((kind == "reactivation", 0.0), else_=before).label("old"),
            case((kind == "churn", 0.0), else_=arr_log.c.arr).label("new"),
            arr_log.c.change,
        )
        .where(arr_log.c.customer_id == customer_id)
        .order_by(*order)
    )
