"""Customers (accounts): add, list, show, edit, move, renew, remove, notes and stage history."""

import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    BigInteger,
    Connection,
    String,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)

from clm.dates import Duration, at_most_a_century, parse_duration
from clm.db import utcnow
from clm.domain.arr_history import arr_set, churned, is_terminal, log_arr
from clm.domain.churn import churn_reason
from clm.domain.contracts import (
    close_renewal_work,
    first_renewal,
    follow_renewal,
    follows_start,
    open_renewal_milestone,
    reanchor_start_items,
    renewal_origin,
    stage_after_renewal,
)
from clm.domain.custom_fields import parse_assignments, set_values
from clm.domain.customer_rows import select_customers
from clm.domain.engine.field_defs import get_field
from clm.domain.engine.fields import with_change_days
from clm.domain.forecast import check_forecast
from clm.domain.health import log_health
from clm.domain.health_now import drop_scores, health_now
from clm.domain.holidays import days_off_for
from clm.domain.notes import add_note
from clm.domain.ownership import Assigner, get_team, owner_change, record_owner_changes
from clm.domain.records import get_customer, new_row, set_member_stamps, update_row, user_uuids
from clm.domain.scorecard import check_override
from clm.domain.shapes import customer_record
from clm.domain.stages import entry_stage, get_stage
from clm.domain.transitions import enter_stage, record_transition, run_stage_playbooks
from clm.domain.users import get_user, user_ids
from clm.errors import Conflict, Invalid
from clm.lifecycle import RENEWAL_STAGE
from clm.plain import MAX_ARR
from clm.storage.tables import (
    customer_influencers,
    customer_tags,
    customers,
    milestone_collaborators,
    milestones,
    playbook_runs,
    playbooks,
    stages,
    transitions,
    users,
)

NOTE_KINDS = ("note", "call", "email", "meeting")
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.ASCII)
TAG = re.compile(r"[^;\s][^;]{0,63}")


# Latin letters that Unicode does not decompose into a base letter and an accent.
_LETTERS = str.maketrans({"æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE",
                          "ß": "ss", "ẞ": "SS", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
                          "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ı": "i"})  # fmt: skip


def slugify(name: str) -> str:
    """`Acme Corp` -> `acme-corp`: lowercased, accents and ligatures folded (`Ærø Straße` ->
    `aero-strasse`), other runs a single `-`."""
    folded = unicodedata.normalize("NFKD", name.translate(_LETTERS))
    folded = folded.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:128].rstrip("-")


def _check_slug(slug: str) -> str:
    if not SLUG.fullmatch(slug) or len(slug) > 128:
        raise Invalid(f"invalid slug '{slug}': use lowercase letters and digits joined by '-'")
    return slug


def _check_metric(value, what: str, low: float, high: float | None = None):
    if value is not None and not math.isfinite(value):
        raise Invalid(f"invalid {what} {value}: use a finite number")
    if value is not None and (value < low or (high is not None and value > high)):
        accepted = f"{low}–{high:,}" if high is not None else f"{low} or more"
        raise Invalid(f"invalid {what} {value}: use a number {accepted}")
    return value


def check_term(term: Duration) -> Duration:
    """A contract term: more than nothing, at most a century."""
    if term.count == 0 or not at_most_a_century(term):
        raise Invalid(f"invalid --term '{term}': use a term from 1 day to 100 years, e.g. 1y")
    return term


def _check_tags(tags: Iterable[str]) -> list[str]:
    cleaned = [tag.strip() for tag in tags]
    for tag in cleaned:
        if not TAG.fullmatch(tag):
            raise Invalid(f"invalid tag '{tag}': use up to 64 characters without ';'")
    return list(dict.fromkeys(cleaned))


def _metrics(arr=None, health=None, lead_score=None) -> dict:
    values = {
        "arr": _check_metric(arr, "ARR", 0, MAX_ARR),
        "health": _check_metric(health, "health", 0, 100),
        "lead_score": _check_metric(lead_score, "lead score", 0, 100),
    }
    return {key: value for key, value in values.items() if value is not None}


def add_customer(
    conn: Connection,
    today: date,
    by: str | None,
    name: str,
    slug: str | None = None,
    stage: str | None = None,
    owner: str | None = None,
    start: date | None = None,
    renewal: date | None = None,
    term: Duration | None = None,
    arr: float | None = None,
    health: int | None = None,
    lead_score: int | None = None,
    source: str | None = None,
    tags: Iterable[str] = (),
    influencers: Iterable[str] = (),
    custom: Iterable[str] = (),
) -> dict:
    """Add a customer in `stage` (the model's entry stage by default), entered on its start,
    with the custom field values `custom` (`NAME=VALUE`).

    Its owner is `owner`, else the default owner of the stage's team. A customer at or past the
    entry stage has a contract: its renewal defaults to start + k × term, the first after today.
    """
    name = name.strip()
    if not name:
        raise Invalid("invalid name '': a customer needs a name")
    slug = _check_slug(slug.strip().lower()) if slug else slugify(name)
    if not slug:
        raise Invalid(f"cannot derive a slug from '{name}': pass --slug")
    taken = conn.scalar(
        select(customers.c.name).where(customers.c.slug == slug, customers.c.deleted_at.is_(None))
    )
    if taken is not None:
        raise Conflict(f"customer slug '{slug}' is already taken by '{taken}': pass --slug")
    stage_row = get_stage(conn, stage or entry_stage(conn))
    start = start or today
    term = check_term(term) if term is not None else Duration(1, "y")
    if renewal is None and stage_row.position >= get_stage(conn, entry_stage(conn)).position:
        try:
            renewal = first_renewal(conn, start, term, today)
        except Invalid:
            raise Invalid(
                f"invalid --term '{term}': the renewal, {term} after the start {start}, would be "
                "past 9999-12-31; pass --renewal"
            ) from None
    if renewal is not None and renewal <= start:
        raise Invalid(f"invalid renewal {renewal}: it must be after the start {start}")
    owner_id, pending = get_user(conn, owner).id if owner is not None else None, None
    if owner is None and stage_row.team:
        assigner = Assigner(conn)
        pick = assigner.pick(stage_row.team, None)
        owner_id, pending = pick.owner_id, pick.pending
        assigner.save()
    influencer_ids = user_ids(conn, influencers)
    tags = _check_tags(tags)
    custom_values = parse_assignments(conn, custom, today)
    entered = min(start, today)
    row = new_row(
        conn,
        slug=slug,
        name=name,
        stage=stage_row.key,
        stage_entered=entered,
        owner_id=owner_id,
        handoff_pending=pending,
        start=start,
        renewal=renewal,
        term=str(term),
        source=source.strip() if source else None,
        **with_change_days(_metrics(arr, health, lead_score), today),
    )
    customer_id = conn.execute(customers.insert().values(row)).inserted_primary_key[0]
    if row.get("health") is not None:
        log_health(conn, [(customer_id, today, row["health"])])
    # ARR is new business from the day the customer entered the book (its start, when that
    # is past: the day its stage history begins); one added as churned is lost that day.
    lost = churned(customer_id, entered, row.get("arr")) if stage_row.terminal else None
    log_arr(conn, [arr_set(customer_id, entered, None, row.get("arr")), lost])
    _add_links(conn, customer_id, tags, influencer_ids.values())
    set_values(conn, customer_id, custom_values, today)
    entry_key = record_transition(
        conn,
        customer_id=customer_id,
        from_stage=None,
        to_stage=stage_row.key,
        on=entered,
        by=by,
        reason="added",
        to_owner_id=owner_id,
    )
    conn.execute(update(customers).where(customers.c.id == customer_id).values(stay=entry_key))
    run_stage_playbooks(conn, customer_id, stage_row, entry_key, today)
    follow_renewal(conn, customer_id)
    return show_customer(conn, today, slug)[0]


def _add_links(conn: Connection, customer_id: int, tags, influencer_ids) -> None:
    if tags:
        conn.execute(customer_tags.insert(), [{"customer_id": customer_id, "tag": t} for t in tags])
    if influencer_ids:
        conn.execute(
            customer_influencers.insert(),
            [{"customer_id": customer_id, "user_id": i} for i in influencer_ids],
        )


def _as_dict(row, today: date) -> dict:
    return customer_record(row._asdict(), today)


def list_customers(
    conn: Connection,
    today: date,
    chosen: "CustomerFilter | None" = None,
    custom: list[str] = (),
) -> Iterator[dict]:
    """Live customers by slug, filtered (`where`: --where filters), the first `limit` of them,
    with the values of the `custom` fields named; streamed row by row."""
    from clm.domain.custom_fields import value_column

    chosen = chosen or CustomerFilter()
    query = _filtered(conn, select_customers(), today, chosen)
    picked = [get_field(conn, name) for name in custom]
    query = query.add_columns(
        *(value_column(f, customers.c.id).label(f"custom_{i}") for i, f in enumerate(picked))
    )
    query = query.order_by(customers.c.slug)
    if chosen.limit is not None:
        query = query.limit(chosen.limit)
    for row in conn.execute(query):
        values = {f.name: f.shown(getattr(row, f"custom_{i}")) for i, f in enumerate(picked)}
        yield _as_dict(row, today) | values


@dataclass(frozen=True)
class CustomerFilter:
    """What `customer list` selects; the defaults select every live customer."""

    stage: str | None = None
    owner: str | None = None
    tag: str | None = None
    renewal_within: Duration | None = None
    unowned: bool = False
    handoff_pending: bool = False
    where: Sequence[str] = ()
    # A user's handle: the customers they own, influence, collaborate on through a milestone,
    # or that sit in a stage their team owns (what the server's policies let a member see).
    mine: str | None = None
    team: str | None = None  # in a stage the team owns, or owned by one of its members
    limit: int | None = None


def _seen_by(conn: Connection, user):
    """SQL: the customers a user owns, influences, collaborates on through a live milestone,
    or that sit in a stage the user's team owns."""
    influenced = select(customer_influencers.c.customer_id).where(
        customer_influencers.c.user_id == user.id
    )
    collaborated = (
        select(milestones.c.customer_id)
        .join(milestone_collaborators, milestone_collaborators.c.milestone_id == milestones.c.id)
        .where(milestone_collaborators.c.user_id == user.id, milestones.c.deleted_at.is_(None))
    )
    seen = [
        customers.c.owner_id == user.id,
        customers.c.id.in_(influenced),
        customers.c.id.in_(collaborated),
    ]
    if user.team:
        seen.append(customers.c.stage.in_(_team_stages(user.team)))
    return or_(*seen)


def _team_stages(team: str):
    return select(stages.c.key).where(stages.c.team == team, stages.c.deleted_at.is_(None))


def _worked_by(conn: Connection, team: str):
    """SQL: the customers in a stage the team owns, or owned by one of its members."""
    members = select(users.c.id).where(users.c.team == team, users.c.deleted_at.is_(None))
    return or_(customers.c.stage.in_(_team_stages(team)), customers.c.owner_id.in_(members))


def _filtered(conn: Connection, query, today: date, chosen: CustomerFilter):
    """The query restricted to the customers `customer list`'s filters select."""
    from clm.domain.where import where_clause

    if chosen.where:
        query = query.where(where_clause(conn, list(chosen.where), today))
    if chosen.unowned:
        query = query.where(customers.c.owner_id.is_(None))
    if chosen.handoff_pending:
        query = query.where(customers.c.handoff_pending.is_not(None))
    if chosen.stage is not None:
        query = query.where(customers.c.stage == get_stage(conn, chosen.stage).key)
    if chosen.owner is not None:
        query = query.where(customers.c.owner_id == get_user(conn, chosen.owner).id)
    if chosen.tag is not None:
        tag = chosen.tag.strip()
        tagged = select(customer_tags.c.customer_id).where(customer_tags.c.tag == tag)
        query = query.where(customers.c.id.in_(tagged))
    if chosen.renewal_within is not None:
        within = chosen.renewal_within
        last = within.after(today, days_off_for(conn, within))
        terminal = select(stages.c.key).where(stages.c.terminal, stages.c.deleted_at.is_(None))
        query = query.where(
            customers.c.renewal.between(today, last), customers.c.stage.not_in(terminal)
        )
    if chosen.mine is not None:
        query = query.where(_seen_by(conn, get_user(conn, chosen.mine)))
    if chosen.team is not None:
        query = query.where(_worked_by(conn, get_team(conn, chosen.team)))
    return query


def customer_table(conn: Connection, today: date, chosen: CustomerFilter):
    """`list_customers` as the database writes its table (clm.render.sql_table): each table
    column's cell as SQL text."""
    from clm.db import days_from, grouped_digits, in_values, iso_date, sorted_by
    from clm.domain.listing import Cell, SqlListing, text_cell

    owner_user = users.alias("owner")
    query = _filtered(
        conn,
        select(customers.c.id)
        .select_from(customers.outerjoin(owner_user, owner_user.c.id == customers.c.owner_id))
        .where(customers.c.deleted_at.is_(None)),
        today,
        chosen,
    )
    arr = customers.c.arr
    # The database writes a whole amount from 1 to 10^15 as Python does (`24,000`); cents
    # (`24,000.50`), a zero (PostgreSQL keeps -0, which Python writes `-0`) and larger amounts
    # are left to Python.
    whole = (arr >= 1) & (arr < 1e15) & (arr == func.round(arr))
    cells = {
        "slug": text_cell(customers.c.slug),
        "name": text_cell(customers.c.name),
        "stage": text_cell(customers.c.stage),
        "owner": text_cell(owner_user.c.handle),
        "renewal": Cell(func.coalesce(iso_date(customers.c.renewal), "")),
        "arr": Cell(
            case((arr.is_(None), ""), else_=grouped_digits(cast(arr, BigInteger))),
            arr.is_(None) | whole,
        ),
        "health": Cell(func.coalesce(cast(health_now(), String), "")),
        "days_in_stage": Cell(
            cast(days_from(customers.c.stage_entered, literal(today.isoformat())), String)
        ),
    }

    def rows_of(ids: list[int]) -> dict[int, dict]:
        found = select_customers().add_columns(customers.c.id.label("row_id"))
        found = found.where(in_values(conn, customers.c.id, ids))
        return {row.row_id: _as_dict(row, today) for row in conn.execute(found)}

    # A few rows by the slug's index; the whole book read in storage order and sorted.
    order = customers.c.slug if chosen.limit is not None else sorted_by(customers.c.slug)
    return SqlListing(query, cells, customers.c.id, [order], chosen.limit, rows_of)


# How many of its latest timeline entries `customer show` shows (`customer timeline` has all).
def show_customer(conn: Connection, today: date, slug: str) -> tuple[dict, dict]:
    """A customer's page (clm.domain.customer_page) read on an open connection."""
    from clm.domain.customer_page import customer_page
    from clm.storage.reads import connection_reads

    return customer_page(connection_reads(conn), today, slug)


def edit_customer(
    conn: Connection,
    today: date,
    slug: str,
    fields: dict,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    add_influencers: Iterable[str] = (),
    remove_influencers: Iterable[str] = (),
    by: str | None = None,
    custom: Iterable[str] = (),
) -> list[str]:
    """Change the given fields (None means unchanged); the names of the fields that changed.
    A new start or renewal date goes on the timeline, dated: the day a rule on it became true.
    A new start moves what counts from it: the open milestones a playbook anchored on it, and
    a renewal that is start + k × term (unless a renewal is given too)."""
    customer = get_customer(conn, slug)
    custom_values = parse_assignments(conn, custom, today)
    changes: dict = {}
    if fields.get("name") is not None:
        if not fields["name"].strip():
            raise Invalid("invalid name '': a customer needs a name")
        changes["name"] = fields["name"].strip()
    if fields.get("owner") is not None:
        changes["owner_id"] = get_user(conn, fields["owner"]).id
        changes["handoff_pending"] = None  # someone is assigned
    for key in ("start", "renewal", "source"):
        if fields.get(key) is not None:
            changes[key] = fields[key]
    if fields.get("term") is not None:
        changes["term"] = str(check_term(fields["term"]))
    changes |= _metrics(fields.get("arr"), fields.get("health"), fields.get("lead_score"))
    if fields.get("forecast") is not None:
        changes["forecast"] = check_forecast(fields["forecast"])
    changes |= check_override(
        conn, today, fields.get("health"), fields.get("health_until"), fields.get("health_reason")
    )
    term = parse_duration(changes.get("term", customer.term))
    k = follows_start(customer.start, customer.renewal, parse_duration(customer.term))
    if "start" in changes and "renewal" not in changes and k:
        # A renewal counted from the start (start + k × term) moves with it, to the first
        # such date after today when that one has passed (as a customer added with that start).
        moved = term.shift(changes["start"], k, days_off_for(conn, term))
        if moved <= today:
            moved = first_renewal(conn, changes["start"], term, today)
        changes["renewal"] = moved
    start, renewal = changes.get("start", customer.start), changes.get("renewal", customer.renewal)
    if renewal is not None and renewal <= start:
        raise Invalid(f"invalid renewal {renewal}: it must be after the start {start}")
    typed = changes.get("health")
    changes = {key: value for key, value in changes.items() if getattr(customer, key) != value}
    if typed is not None and typed != conn.scalar(
        select(customers.c.health).where(customers.c.id == customer.id)
    ):
        changes["health"] = typed  # the score now, typed: it holds as typed, not as scored
    touched, members = [], []
    added, removed = _relink(
        conn, customer_tags, "tag", customer.id, _check_tags(add_tags), _check_tags(remove_tags)
    )
    if added or removed:
        touched.append("tags")
        members += set_member_stamps("tags", added, removed)
    add_ids, remove_ids = user_ids(conn, add_influencers), user_ids(conn, remove_influencers)
    added, removed = _relink(
        conn, customer_influencers, "user_id", customer.id, add_ids.values(), remove_ids.values()
    )
    if added or removed:
        touched.append("influencers")
        members += set_member_stamps("influencers", *user_uuids(conn, added, removed))
    # Tags and influencers merge as sets: each member added or removed is stamped on the row.
    update_row(conn, customers, customer, with_change_days(changes, today), touched, members)
    if "owner_id" in changes:
        record_owner_changes(
            conn,
            [
                owner_change(
                    customer.id, today, customer.owner_id, changes["owner_id"], by, "manual"
                )
            ],
        )
    _note_date_changes(conn, today, by, customer, changes)
    if "health" in changes:
        log_health(conn, [(customer.id, today, changes["health"])])
        drop_scores(conn, [customer.id])
    if "arr" in changes:
        live = not is_terminal(conn, customer.stage)
        log_arr(conn, [arr_set(customer.id, today, customer.arr, changes["arr"], live)])
    if customer.renewal is None and "renewal" in changes:
        _apply_renewal_items(conn, get_customer(conn, slug), today)
    if "start" in changes:
        reanchor_start_items(conn, customer.id, changes["start"])
    if {"start", "renewal", "term"} & changes.keys():
        follow_renewal(conn, customer.id)
    changed = [key.removesuffix("_id") for key in changes if key != "handoff_pending"] + touched
    return changed + set_values(conn, customer.id, custom_values, today)


# Date fields whose changes go on the timeline, each as an entry of its own name as kind: the
# entries' latest day is the day the field took its value (`customer renew` writes `renewal`).
DATED_FIELDS = ("start", "renewal")


def _note_date_changes(conn: Connection, today: date, by: str | None, customer, changes: dict):
    for field in DATED_FIELDS:
        if field in changes:
            was = getattr(customer, field)
            text = f"{field} date set to {changes[field]}" + (f" (was {was})" if was else "")
            add_note(conn, today, by, customer.slug, text, kind=field)


def _relink(conn: Connection, table, column: str, customer_id: int, add, remove) -> tuple:
    """Add and remove link rows; the values added and those removed."""
    present = set(conn.scalars(select(table.c[column]).where(table.c.customer_id == customer_id)))
    to_add = [value for value in add if value not in present]
    to_remove = [value for value in remove if value in present]
    if to_add:
        conn.execute(table.insert(), [{"customer_id": customer_id, column: v} for v in to_add])
    if to_remove:
        conn.execute(
            delete(table).where(table.c.customer_id == customer_id, table.c[column].in_(to_remove))
        )
    return to_add, to_remove


def move_customer(
    conn: Connection,
    today: date,
    by: str | None,
    slug: str,
    stage: str,
    reason: str | None = None,
    on: date | None = None,
) -> dict:
    """Move by hand; a move to an earlier stage (a step back, a win-back) needs a reason."""
    customer = get_customer(conn, slug)
    target = get_stage(conn, stage)
    if target.key == customer.stage:
        raise Conflict(f"'{customer.slug}' is already in {target.key}")
    on = on or today
    if on > today:
        raise Invalid(f"invalid --on {on}: a move cannot be dated after today ({today})")
    if on < customer.stage_entered:
        raise Invalid(
            f"invalid --on {on}: '{customer.slug}' entered {customer.stage} on "
            f"{customer.stage_entered}; a move cannot be dated before that"
        )
    current = conn.scalar(
        select(stages.c.position).where(
            stages.c.key == customer.stage, stages.c.deleted_at.is_(None)
        )
    )
    if target.terminal:
        reason = churn_reason(conn, customer.slug, target.key, reason)
    elif current is not None and target.position < current and not (reason and reason.strip()):
        raise Invalid(
            f"moving '{customer.slug}' back from {customer.stage} to {target.key} needs --reason"
        )
    moved = enter_stage(conn, customer, target, on, by, reason=reason)
    follow_renewal(conn, customer.id)  # a lead won with a renewal date gets its Renewal now
    return moved


def next_renewal(conn: Connection, customer, today: date) -> date:
    """One term after the customer's renewal (after `today` when it has none), computed from
    the renewal's anchor and never chained, so month ends hold: a leap-day start renews on
    Feb 29 in leap years, a monthly term from Jan 31 on each month's end."""
    previous = customer.renewal
    origin, _ = renewal_origin(conn, customer, previous) if previous else (customer.start, 0)
    term = parse_duration(customer.term)
    return term.first_after(origin, previous or today, days_off_for(conn, term))


def renew_customer(
    conn: Connection,
    today: date,
    by: str | None,
    slug: str,
    until: date | None = None,
    on: date | None = None,
    arr: float | None = None,
) -> dict:
    """Record a renewal, on `on` (default today): the renewal date one term ahead (or to
    `until`), a timeline entry, the recurring Renewal milestone rolled, the renewal playbook's
    open work done, and a customer in the renewal stage back to the stage it entered renewal
    from (never the entry stage; see `stage_after_renewal`), with no playbook run again."""
    customer = get_customer(conn, slug)
    on = on or today
    previous = customer.renewal
    renewal = until or next_renewal(conn, customer, today)
    if renewal <= (previous or today):
        raise Invalid(f"invalid --until {renewal}: it must be after {previous or today}")
    changes = {"renewal": renewal} | with_change_days(_metrics(arr), today)
    if "arr" in changes and is_terminal(conn, customer.stage):
        raise Invalid(f"cannot renew '{slug}' at a new ARR: it is in {customer.stage} (churned)")
    if changes.get("arr") == customer.arr:
        changes = {"renewal": renewal}
    update_row(conn, customers, customer, changes)
    if "arr" in changes:
        log_arr(conn, [arr_set(customer.id, on, customer.arr, changes["arr"])])
    text = f"renewed until {renewal}" + (f" (was {previous})" if previous else "")
    add_note(conn, today, by, slug, text, kind="renewal", on=on)
    rolled = _roll_renewal_milestone(conn, on, customer.id, previous, renewal)
    if previous is None:
        _apply_renewal_items(conn, get_customer(conn, slug), today)
    follow_renewal(conn, customer.id)
    closed = close_renewal_work(conn, on, customer.id)
    moved = None
    if customer.stage == RENEWAL_STAGE:
        back = stage_after_renewal(conn, customer)
        if back is not None:
            from clm.domain.ownership import owner_before_renewal

            # The account goes back to the owner it had before the renewal, unless reassigned.
            returned = owner_before_renewal(conn, customer, RENEWAL_STAGE)
            moved = enter_stage(
                conn,
                get_customer(conn, slug),
                back,
                max(on, customer.stage_entered),
                by,
                reason="renewed",
                owner_id=returned,
                owner_why="renewal",
                run_playbooks=False,
            )
    return {
        "customer": customer.slug,
        "renewal": renewal,
        "previous": previous,
        "moved": moved,
        "milestone": rolled,
        "closed": closed,
        "arr": changes.get("arr", customer.arr),
        "arr_was": customer.arr if "arr" in changes else None,
    }


def _apply_renewal_items(conn: Connection, customer, today: date) -> None:
    """The start playbooks' items anchored on the renewal (the Renewal milestone), for a
    customer that got its contract without a renewal date (a lead won): they were skipped then,
    and are applied once, when it gets one."""
    from clm.domain.playbooks import Run, apply_playbooks

    ran = select(playbook_runs.c.playbook).where(
        playbook_runs.c.customer_id == customer.id, playbook_runs.c.run_key == "start"
    )
    names = conn.scalars(
        select(playbooks.c.name).where(playbooks.c.name.in_(ran), playbooks.c.deleted_at.is_(None))
    ).all()
    anchors = {"start": customer.start, "renewal": customer.renewal, "run": today}
    runs = [
        Run(customer.id, customer.owner_id, name, "start:renewal", anchors, only_anchor="renewal")
        for name in names
    ]
    apply_playbooks(conn, runs)


def _roll_renewal_milestone(
    conn: Connection, today: date, customer_id: int, previous: date | None, renewal: date
) -> dict | None:
    """Mark done the customer's recurring Renewal milestone of the renewal being recorded (due
    by the previous renewal date): its next occurrence follows. One that is due later was
    marked done by hand already: a renewal rolls the series once, never twice."""
    from clm.domain.milestones import complete_milestone

    recorded = milestones.c.due <= previous if previous else milestones.c.due < renewal
    milestone_id = open_renewal_milestone(conn, customer_id, recorded)
    return complete_milestone(conn, today, milestone_id) if milestone_id else None


def remove_customer(conn: Connection, slug: str) -> str:
    """Tombstone a customer: it disappears from every list; its history is kept."""
    from clm.storage.tables import milestone_reminders

    customer = get_customer(conn, slug)
    update_row(conn, customers, customer, {"deleted_at": utcnow()})
    # Its milestones never remind again: nothing left for the tick to scan.
    theirs = select(milestones.c.id).where(milestones.c.customer_id == customer.id)
    conn.execute(
        update(milestone_reminders)
        .where(milestone_reminders.c.milestone_id.in_(theirs))
        .values(pending=False)
    )
    return customer.name


def stage_history(conn: Connection, slug: str) -> Iterator[dict]:
    """Every stage change of a customer: when, from, to, by whom or which rule, and why."""
    customer = get_customer(conn, slug)
    query = (
        select(transitions.c.on, transitions.c.from_stage, transitions.c.to_stage, transitions.c.by,
               transitions.c.rule, transitions.c.reason)
        .where(transitions.c.customer_id == customer.id)
        .order_by(transitions.c.on, transitions.c.id)
    )  # fmt: skip
    for row in conn.execute(query):
        yield {
            "on": row.on,
            "from": row.from_stage,
            "to": row.to_stage,
            "by": f"rule:{row.rule}" if row.rule else row.by,
            "reason": row.reason,
        }
