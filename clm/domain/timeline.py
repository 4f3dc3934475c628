"""A customer's timeline: notes and the system's events (stage and owner changes, CTAs opened
and closed, milestones done and blocked, renewals, churn, phases passed), read from the tables
that record them in one UNION, not copied into a table of their own."""

from datetime import date

from sqlalchemy import Connection, String, case, cast, func, literal, null, select, union_all

from clm.domain.phases import customer_phases
from clm.domain.records import get_customer
from clm.domain.shapes import with_phases
from clm.errors import Invalid
from clm.storage.tables import ctas, milestones, notes, owner_changes, transitions, users

# What a note of each system kind shows as on the timeline (a block is written as a note: the
# milestone keeps only its current status).
NOTE_KINDS_SHOWN = {"blocked": "milestone blocked"}
# What `--kind` picks: an entry's kind or its first word (`cta`: opened, closed, cancelled).
KINDS = ("stage", "owner", "cta", "milestone", "renewal", "churn", "start", "phase", "note",
         "call", "email", "meeting")  # fmt: skip


def _text(value):
    return cast(value, String)


def _no_reason():
    return cast(null(), String)


def _entries(customer_id):
    """One SELECT per kind of fact, with the same columns: on, kind, text, by, reason and the
    time it was written (the order within a day)."""
    moves = select(
        transitions.c.on,
        literal("stage", String).label("kind"),
        case(
            (transitions.c.from_stage.is_(None), "entered " + transitions.c.to_stage),
            else_=transitions.c.from_stage + " → " + transitions.c.to_stage,
        ).label("text"),
        case(
            (transitions.c.rule.is_not(None), "rule:" + transitions.c.rule), else_=transitions.c.by
        ).label("by"),
        transitions.c.reason,
        transitions.c.created_at.label("at"),
    ).where(transitions.c.customer_id == customer_id)
    kind_shown = case(
        *((notes.c.kind == stored, shown) for stored, shown in NOTE_KINDS_SHOWN.items()),
        else_=notes.c.kind,
    )
    written = select(
        notes.c.on, kind_shown.label("kind"), notes.c.text, notes.c.by,
        _no_reason().label("reason"), notes.c.created_at.label("at"),
    ).where(notes.c.customer_id == customer_id)  # fmt: skip
    cta_text = "CTA " + _text(ctas.c.id) + " " + ctas.c.type + ": " + ctas.c.reason
    live_ctas = [ctas.c.customer_id == customer_id, ctas.c.deleted_at.is_(None)]
    opened = select(
        ctas.c.opened_on.label("on"), literal("cta opened", String).label("kind"),
        cta_text.label("text"), ctas.c.source.label("by"), _no_reason().label("reason"),
        ctas.c.created_at.label("at"),
    ).where(*live_ctas, ctas.c.opened_on.is_not(None))  # fmt: skip
    # Closed by hand with an outcome, or cancelled when the customer churned.
    closed = select(
        ctas.c.closed_on.label("on"), ("cta " + ctas.c.status).label("kind"),
        cta_text.label("text"), _no_reason().label("by"), ctas.c.outcome.label("reason"),
        ctas.c.updated_at.label("at"),
    ).where(
        *live_ctas, ctas.c.closed_on.is_not(None), ctas.c.status.in_(("closed", "cancelled"))
    )  # fmt: skip
    done = select(
        milestones.c.done_on.label("on"), literal("milestone done", String).label("kind"),
        milestones.c.title.label("text"), _no_reason().label("by"),
        _no_reason().label("reason"), milestones.c.updated_at.label("at"),
    ).where(
        milestones.c.customer_id == customer_id, milestones.c.deleted_at.is_(None),
        milestones.c.status == "done", milestones.c.done_on.is_not(None),
    )  # fmt: skip
    before, after = users.alias("before_owner"), users.alias("after_owner")
    detail = func.coalesce(": " + owner_changes.c.detail, "")
    owners = (
        select(
            owner_changes.c.on, literal("owner", String).label("kind"),
            (func.coalesce(before.c.handle, "nobody") + " → "
             + func.coalesce(after.c.handle, "nobody")).label("text"),
            owner_changes.c.by, (owner_changes.c.why + detail).label("reason"),
            owner_changes.c.created_at.label("at"),
        )
        .select_from(owner_changes)
        .outerjoin(before, before.c.id == owner_changes.c.from_owner_id)
        .outerjoin(after, after.c.id == owner_changes.c.to_owner_id)
        .where(owner_changes.c.customer_id == customer_id)
    )  # fmt: skip
    return union_all(moves, written, opened, closed, done, owners).subquery("timeline")


def timeline(
    conn: Connection,
    today: date,
    slug: str,
    since: date | None = None,
    kinds: tuple[str, ...] = (),
) -> list[dict]:
    """A customer's timeline, oldest first: entries on or after `since`, of `kinds` if given
    (a kind names itself, or its first word: `cta` is every CTA entry). A phase passed shows
    on its day, after that day's other entries."""
    customer = get_customer(conn, slug)
    for kind in kinds:
        if kind not in KINDS:
            raise Invalid(f"invalid --kind '{kind}': use {', '.join(KINDS)}")
    query = timeline_query(customer.id)
    if since is not None:
        query = query.where(query.selected_columns.on >= since)
    found = [row._asdict() for row in conn.execute(query)]
    return with_phases(found, customer_phases(conn, customer.id, today), since, kinds)


def timeline_query(customer_id):
    """A customer's recorded entries (on, kind, text, by, reason) in the order they happened;
    `customer_id` an id or a bound parameter."""
    entries = _entries(customer_id)
    return select(
        entries.c.on, entries.c.kind, entries.c.text, entries.c.by, entries.c.reason
    ).order_by(entries.c.on, entries.c.at, entries.c.kind)
