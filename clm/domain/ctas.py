"""CTAs (calls to action): alerts that ask for action, at most one open per customer, type and
reason; snoozed until a date, closed with an outcome, with tasks from a playbook under them."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, String, and_, case, cast, func, or_, select

from clm.db import insert_ignore
from clm.domain.list_filters import list_filters, listed_by_due
from clm.domain.playbooks import Run, Templates, apply_playbooks
from clm.domain.records import find_by_id, get_customer, new_row, update_row
from clm.domain.shapes import cta_record
from clm.domain.users import get_user
from clm.errors import Conflict, Invalid
from clm.storage.tables import ctas, customers, tasks, users

CTA_KEYS = (
    "id",
    "uuid",
    "customer",
    "type",
    "reason",
    "priority",
    "status",
    "owner",
    "due",
    "tasks",
    "source",
)
TYPES = ("risk", "lifecycle", "expansion", "objective", "activity")
PRIORITIES = ("low", "medium", "high")
# Stored: open, closed, or cancelled (its customer churned). Shown: snoozed while an open
# CTA's snooze date is ahead.
STATUSES = ("open", "closed", "snoozed", "cancelled")


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise Invalid(f"invalid {option} '{value}': use {', '.join(choices)}")
    return value


def _check(type_: str, priority: str, reason: str) -> None:
    _choice(type_, TYPES, "--type")
    _choice(priority, PRIORITIES, "--priority")
    if not reason.strip():
        raise Invalid("invalid --reason '': a CTA needs a reason")


@dataclass
class NewCta:
    """A CTA to open on `customer` (a row) on `today`, owned by `owner_id` else the customer's
    owner, with `playbook`'s tasks under it."""

    today: date
    customer: object
    type: str
    reason: str
    priority: str = "medium"
    due: date | None = None
    owner_id: int | None = None
    playbook: str | None = None
    source: str | None = None


def insert_ctas(
    conn: Connection, wanted: list[NewCta], templates: Templates | None = None
) -> list[tuple[int, Run | None] | None]:
    """Insert open CTAs in one statement; for each, its id and the playbook run it calls for
    (for the caller to apply), or None when an open CTA of the same customer, type and reason
    exists (the database's unique key decides)."""
    templates = templates or Templates(conn)
    rows, runs = [], []
    for cta in wanted:
        _check(cta.type, cta.priority, cta.reason)
        customer = cta.customer
        row = new_row(
            conn, customer_id=customer.id, type=cta.type, reason=cta.reason.strip(),
            priority=cta.priority, status="open", owner_id=cta.owner_id or customer.owner_id,
            due=cta.due, source=cta.source, opened_on=cta.today,
        )  # fmt: skip
        rows.append(row)
        run = None
        if cta.playbook is not None:
            anchors = {"run": cta.today, "entry": cta.today, "start": customer.start,
                       "renewal": customer.renewal}  # fmt: skip
            name = templates.get(cta.playbook)[0]
            run = Run(customer.id, customer.owner_id, name, row["uuid"], anchors,
                      assignee_id=row["owner_id"])  # fmt: skip
        runs.append(run)
    ids = dict(insert_ignore(conn, ctas, rows, (ctas.c.uuid, ctas.c.id)))
    found = []
    for row, run in zip(rows, runs, strict=True):
        cta_id = ids.get(row["uuid"])
        if cta_id is not None and run is not None:
            run.cta_id = cta_id
        found.append(None if cta_id is None else (cta_id, run))
    return found


def create_cta(
    conn: Connection,
    today: date,
    customer,
    type_: str,
    reason: str,
    priority: str = "medium",
    due: date | None = None,
    owner_id: int | None = None,
    playbook: str | None = None,
    source: str | None = None,
) -> dict | None:
    """Insert an open CTA on `customer` (a row), owned by `owner_id` else the customer's owner,
    and run `playbook` with its tasks under the CTA; None when an open CTA of the same customer,
    type and reason exists (the database's unique key decides). Returns the CTA's id and what
    the playbook created."""
    wanted = NewCta(today, customer, type_, reason, priority, due, owner_id, playbook, source)
    [found] = insert_ctas(conn, [wanted])
    if found is None:
        return None
    cta_id, run = found
    return {"id": cta_id, "playbook": apply_playbooks(conn, [run])[0] if run else None}


def open_cta_of(conn: Connection, customer_id: int, type_: str, reason: str):
    """The open (or snoozed) CTA of this customer, type and reason, or None."""
    return conn.execute(
        select(ctas.c.id, ctas.c.snoozed_until).where(
            ctas.c.customer_id == customer_id,
            ctas.c.type == type_,
            ctas.c.reason == reason.strip(),
            ctas.c.status == "open",
            ctas.c.deleted_at.is_(None),
        )
    ).first()


def open_cta(
    conn: Connection,
    today: date,
    slug: str,
    type_: str,
    reason: str,
    priority: str = "medium",
    due: date | None = None,
    owner: str | None = None,
    playbook: str | None = None,
) -> tuple[dict, dict | None]:
    """Open a CTA by hand; refused while one of the same customer, type and reason is open.
    The new CTA and what its playbook created."""
    customer = get_customer(conn, slug)
    owner_id = get_user(conn, owner).id if owner is not None else None
    _check(type_, priority, reason)
    existing = open_cta_of(conn, customer.id, type_, reason)
    if existing is not None:
        snoozed = (
            f", snoozed until {existing.snoozed_until}"
            if existing.snoozed_until and existing.snoozed_until > today
            else ""
        )
        raise Conflict(
            f"CTA {existing.id} ({type_}: {reason.strip()}) is already open on "
            f"{customer.slug}{snoozed}: close it first"
        )
    created = create_cta(conn, today, customer, type_, reason, priority, due, owner_id, playbook)
    if created is None:  # the unique key caught what the check above could not see
        raise Conflict(f"a {type_} CTA '{reason.strip()}' is already open on {customer.slug}")
    return next(_cta_rows(conn, today, ctas.c.id == created["id"])), created["playbook"]


def get_cta(conn: Connection, cta_id: int):
    """A live CTA of a live customer, or NotFound."""
    return find_by_id(conn, ctas, cta_id, "CTA")


def awake_ctas(today) -> list:
    """The clauses of the CTAs open and not snoozed on `today` (a date or a bound parameter)."""
    return [
        ctas.c.status == "open",
        or_(ctas.c.snoozed_until.is_(None), ctas.c.snoozed_until <= today),
    ]


def _snoozed(today: date):
    return and_(ctas.c.status == "open", ctas.c.snoozed_until > today)


def _cta_rows(conn: Connection, today: date, *where) -> Iterator[dict]:
    for row in conn.execute(cta_query(today, *where)):
        yield cta_record(row._asdict())


def cta_query(today, *where):
    """CTAs of live customers (`where` more), by due date (undated last), with their owner's
    handle and their tasks aggregated with ';'. `today` a date or a bound parameter."""
    task_ids = (
        select(func.aggregate_strings(cast(tasks.c.id, String), ";"))
        .where(tasks.c.cta_id == ctas.c.id, tasks.c.deleted_at.is_(None))
        .scalar_subquery()
    )
    return listed_by_due(
        select(
            ctas.c.id,
            ctas.c.uuid,
            customers.c.slug.label("customer"),
            ctas.c.type,
            ctas.c.reason,
            ctas.c.priority,
            case((_snoozed(today), "snoozed"), else_=ctas.c.status).label("status"),
            users.c.handle.label("owner"),
            ctas.c.due,
            task_ids.label("tasks"),
            ctas.c.source,
        ),
        ctas,
        ctas.c.owner_id,
        *where,
    )


def list_ctas(
    conn: Connection,
    today: date,
    customer: str | None = None,
    status: str | None = None,
    owner: str | None = None,
) -> Iterator[dict]:
    """CTAs by due date (undated last): open ones, not snoozed, unless `status` says otherwise."""
    awake = awake_ctas(today)
    where = list_filters(
        conn, today, ctas, STATUSES, ("open",),
        status=status, customer=customer, person=owner, person_column="owner_id",
        named_statuses={None: awake, "open": awake, "snoozed": [_snoozed(today)]},
    )  # fmt: skip
    return _cta_rows(conn, today, *where)


def close_cta(conn: Connection, today: date, cta_id: int, outcome: str | None = None) -> dict:
    """Close a CTA today, with what came of it."""
    row = get_cta(conn, cta_id)
    if row.status in ("closed", "cancelled"):
        raise Conflict(f"CTA {cta_id} is already {row.status} (on {row.closed_on})")
    outcome = (outcome or "").strip() or None
    changes = {"status": "closed", "outcome": outcome, "closed_on": today}
    update_row(conn, ctas, row, changes | ({"snoozed_until": None} if row.snoozed_until else {}))
    return {"id": cta_id, "closed_on": today, "outcome": outcome}


def snooze_cta(conn: Connection, today: date, cta_id: int, until: date) -> dict:
    """Hide an open CTA from the open list until `until`; from that day on it is open again."""
    row = get_cta(conn, cta_id)
    if row.status != "open":
        raise Conflict(
            f"CTA {cta_id} is {row.status} (on {row.closed_on}): only an open CTA snoozes"
        )
    if until <= today:
        raise Invalid(f"invalid --until {until}: snooze until a day after today ({today})")
    update_row(conn, ctas, row, {"snoozed_until": until} if row.snoozed_until != until else {})
    return {"id": cta_id, "until": until}
