"""Terminal stages: the model's churn reasons, what churning closes out (open milestones,
tasks and CTAs cancelled, reminders stopped, a timeline entry a win-back can read) and the new
contract of a customer won back."""

import json
from collections.abc import Iterable
from datetime import date
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select, update

from clm.db import clock, get_meta, set_meta, utcnow
from clm.domain.records import new_row
from clm.errors import Invalid
from clm.lifecycle import CHURN_REASONS
from clm.storage.tables import ctas, milestone_reminders, milestones, notes, tasks

META_KEY = "churn_reasons"  # the model's list, as JSON; the default list while unset
UNFINISHED = ("open", "blocked")


def churn_reasons(conn: Connection) -> list[str]:
    """The reasons a customer may churn for, in the model's order."""
    stored = get_meta(conn, META_KEY)
    return json.loads(stored) if stored else list(CHURN_REASONS)


def reason_key(text: str) -> str:
    """`Product fit` -> `product-fit`: how a reason is written and typed."""
    return "-".join(text.strip().lower().replace("_", " ").replace("-", " ").split())


def check_reasons(reasons: Iterable[str]) -> list[str]:
    """A list of churn reasons as the model keeps them; Invalid when one is empty or the list
    is (a terminal stage could then never be entered)."""
    keys = [reason_key(text) for text in reasons]
    if not keys or not all(keys):
        raise Invalid("churn_reasons needs at least one reason, none of them empty")
    return list(dict.fromkeys(keys))


def set_churn_reasons(conn: Connection, reasons: list[str]) -> None:
    if reasons != churn_reasons(conn):
        set_meta(conn, META_KEY, json.dumps(reasons))


def churn_reason(conn: Connection, slug: str, stage: str, reason: str | None) -> str:
    """The reason of a move of `slug` into the terminal `stage`: one of the model's list."""
    accepted = churn_reasons(conn)
    key = reason_key(reason or "")
    if key not in accepted:
        given = f" ('{reason}' is not one)" if reason and reason.strip() else ""
        raise Invalid(
            f"moving '{slug}' to {stage} needs --reason with a churn reason{given}: use "
            f"{', '.join(accepted)}"
        )
    return key


class Churn(NamedTuple):
    """A customer (its row before the move) entering a terminal stage."""

    customer: object
    stage: str
    on: date
    by: str | None
    reason: str


def close_out(conn: Connection, churned: list[Churn]) -> None:
    """Cancel the churned customers' open milestones (their reminders stop), tasks and CTAs, in
    a few statements for all of them; and say so on each one's timeline, with the reason and
    the ARR lost, so a win-back can see what was left undone."""
    if not churned:
        return
    ids = [c.customer.id for c in churned]
    on = {c.customer.id: c.on for c in churned}
    cancelled = {
        "milestones": _cancel(conn, milestones, milestones.c.status.in_(UNFINISHED), ids),
        "tasks": _cancel(conn, tasks, tasks.c.status == "open", ids),
        "CTAs": _cancel(conn, ctas, ctas.c.status == "open", ids, on),
    }
    milestone_ids = [row.id for rows in cancelled["milestones"].values() for row in rows]
    for start in range(0, len(milestone_ids), 500):
        conn.execute(
            update(milestone_reminders)
            .where(milestone_reminders.c.milestone_id.in_(milestone_ids[start : start + 500]))
            .values(pending=False)
        )
    entries = []
    for churn in churned:
        customer = churn.customer
        text = f"{churn.stage} ({churn.reason})"
        if customer.arr:
            text += f", lost ARR {customer.arr:,.0f}"
        parts = [
            f"{len(rows)} {kind if len(rows) > 1 else kind.rstrip('s')} ({', '.join(rows)})"
            for kind, found in cancelled.items()
            if (rows := [row.title for row in found.get(customer.id, ())])
        ]
        text += "; cancelled " + "; ".join(parts) if parts else "; no open work to cancel"
        row = new_row(conn, customer_id=customer.id, on=churn.on, kind="churn", text=text,
                      by=churn.by)  # fmt: skip
        del row["stamps"], row["updated_at"]
        entries.append(row)
    conn.execute(notes.insert(), entries)


def _cancel(conn: Connection, table, still_open, customer_ids: list[int], closed_on=None):
    """Mark the open rows of `table` on these customers cancelled (stamped field by field, for
    merging copies); customer id -> the rows cancelled (id, title), oldest first."""
    title = table.c.title if "title" in table.c else (table.c.type + ": " + table.c.reason)
    found: dict[int, list] = {}
    rows = []
    for start in range(0, len(customer_ids), 500):
        query = (
            select(table.c.id, table.c.customer_id, table.c.stamps, title.label("title"))
            .where(
                table.c.customer_id.in_(customer_ids[start : start + 500]),
                table.c.deleted_at.is_(None),
                still_open,
            )
            .order_by(table.c.id)
        )
        rows += conn.execute(query).all()
    if not rows:
        return found
    hlc, now = clock(conn), utcnow()
    changed = ["status", *(["closed_on"] if closed_on is not None else [])]
    values = []
    for row in rows:
        found.setdefault(row.customer_id, []).append(row)
        stamps = json.loads(row.stamps)
        stamps.update(dict.fromkeys(changed, hlc.stamp()))
        value = {"row_id": row.id, "new_stamps": json.dumps(stamps, sort_keys=True)}
        if closed_on is not None:
            value["new_closed_on"] = closed_on[row.customer_id]
        values.append(value)
    writes = {"status": "cancelled", "stamps": bindparam("new_stamps"), "updated_at": now}
    if closed_on is not None:
        writes["closed_on"] = bindparam("new_closed_on")
    conn.execute(update(table).where(table.c.id == bindparam("row_id")).values(writes), values)
    return found


def lost_arr(conn: Connection, customer) -> dict:
    """A customer in a terminal stage: the reason it churned for and its ARR, kept as lost ARR
    (None for a live one)."""
    terminal = conn.scalar(stage_terminal_query(customer.stage))
    if not terminal:
        return {"churn_reason": None, "lost_arr": None}
    reason = conn.scalar(stay_reason_query(customer.stay))
    return {"churn_reason": reason, "lost_arr": customer.arr}


def stage_terminal_query(stage):
    """Whether the live stage `stage` (a key or a bound parameter) is terminal."""
    from clm.storage.tables import stages

    return select(stages.c.terminal).where(stages.c.key == stage, stages.c.deleted_at.is_(None))


def stay_reason_query(stay):
    """The reason of the transition that began the stay `stay` (its uuid)."""
    from clm.storage.tables import transitions

    return select(transitions.c.reason).where(transitions.c.uuid == stay)
