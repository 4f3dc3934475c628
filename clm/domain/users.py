"""Users and teams: who owns customers, who follows them, who a team hands off to."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import NamedTuple

from sqlalchemy import Connection, Row, select

from clm.db import utcnow
from clm.domain.records import check_handle, find_live, new_row, update_row
from clm.errors import Conflict, Invalid, NotFound, did_you_mean
from clm.storage.tables import ctas, customers, tasks, users

USER_KEYS = (
    "handle", "name", "email", "team", "default_owner", "notify", "digest", "webhook", "uuid"
)  # fmt: skip
CHANNELS = ("email", "webhook", "none")
DIGESTS = ("daily", "immediate")


def get_user(conn: Connection, handle: str):
    return find_live(conn, users, "handle", handle.strip().lower(), "user")


def user_ids(conn: Connection, handles) -> dict[str, int]:
    """Handle -> id for each of `handles`, refusing any that is not a user."""
    return {handle: get_user(conn, handle).id for handle in dict.fromkeys(handles)}


def check_author(conn: Connection, handle: str | None, source: str = "--as") -> str | None:
    """The current user, as the author a change records: a live user, or none at all. On a
    book with no users yet any name goes (a solo user need not add themselves to sign a
    note); once there are users, a name that is not one of them is a typo, refused before it
    ends up in the history. `source` says where the name came from (--as or CLM_USER)."""
    if handle is None:
        return None
    live = users.c.deleted_at.is_(None)
    if conn.scalar(select(users.c.id).where(users.c.handle == handle, live)) is not None:
        return handle
    known = list(conn.scalars(select(users.c.handle).where(live).order_by(users.c.handle)))
    if not known:
        return handle
    shown = ", ".join(known[:12]) + (f" … ({len(known)} in all)" if len(known) > 12 else "")
    removed = conn.scalar(select(users.c.id).where(users.c.handle == handle).limit(1))
    what = f"user '{handle}' was removed" if removed else f"no user '{handle}'"
    raise NotFound(f"{what} (from {source}): the users are {shown}{did_you_mean(handle, known)}")


def default_owner(conn: Connection, team: str | None):
    """The team's default owner (a row), or None."""
    if team is None:
        return None
    return conn.execute(
        select(users.c.id, users.c.handle).where(
            users.c.team == team, users.c.default_owner, users.c.deleted_at.is_(None)
        )
    ).first()


def add_user(
    conn: Connection,
    handle: str,
    name: str | None = None,
    email: str | None = None,
    team: str | None = None,
    is_default_owner: bool = False,
) -> dict:
    """Add a user; a new default owner of a team replaces the old one (returned as `replaced`)."""
    handle = check_handle(handle, "user handle")
    team = check_handle(team, "team") if team else None
    if email is not None and "@" not in email:
        raise Invalid(f"invalid email '{email}': expected name@domain")
    if is_default_owner and team is None:
        raise Invalid("--default-owner needs --team: a user is the default owner of a team")
    taken = conn.scalar(
        select(users.c.id).where(users.c.handle == handle, users.c.deleted_at.is_(None))
    )
    if taken:
        raise Conflict(f"user '{handle}' already exists")
    replaced = default_owner(conn, team) if is_default_owner else None
    if replaced is not None:
        update_row(conn, users, get_user(conn, replaced.handle), {"default_owner": False})
    row = new_row(
        conn, handle=handle, name=name, email=email, team=team, default_owner=is_default_owner,
        notify="none", digest="daily", webhook=None,
    )  # fmt: skip
    conn.execute(users.insert().values(row))
    return {key: row[key] for key in USER_KEYS} | {
        "replaced": replaced.handle if replaced else None
    }


def edit_user(
    conn: Connection,
    handle: str,
    name: str | None = None,
    email: str | None = None,
    notify: str | None = None,
    digest: str | None = None,
    webhook: str | None = None,
) -> dict:
    """Change a user's name, email or notification settings; the user as it is now. A
    channel needs its address: email an email, webhook a URL."""
    from clm.domain.notify.settings import check_webhook

    user = get_user(conn, handle)
    changes = {}
    if name is not None:
        changes["name"] = name.strip() or None
    if email is not None:
        email = email.strip()
        if email and "@" not in email:
            raise Invalid(f"invalid email '{email}': expected name@domain")
        changes["email"] = email or None
    if notify is not None:
        notify = notify.strip().lower()
        if notify not in CHANNELS:
            raise Invalid(f"invalid --notify '{notify}': use {', '.join(CHANNELS)}")
        changes["notify"] = notify
    if digest is not None:
        digest = digest.strip().lower()
        if digest not in DIGESTS:
            raise Invalid(f"invalid --digest '{digest}': use {' or '.join(DIGESTS)}")
        changes["digest"] = digest
    if webhook is not None:
        changes["webhook"] = check_webhook(webhook) if webhook.strip() else None
    after = user._asdict() | changes
    if after["notify"] == "email" and not after["email"]:
        raise Invalid(f"--notify email: user {user.handle} has no email (add --email ADDRESS)")
    if after["notify"] == "webhook" and not after["webhook"]:
        raise Invalid(f"--notify webhook: user {user.handle} has no webhook (add --webhook URL)")
    changes = {k: v for k, v in changes.items() if getattr(user, k) != v}
    update_row(conn, users, user, changes)
    return {key: after[key] for key in USER_KEYS} | {"changed": sorted(changes)}


def _responsibilities():
    """What a user answers for now, per kind: (label, table, user column, the rows that count).
    Closed tasks and CTAs keep a removed user's name as history."""
    live = customers.c.deleted_at.is_(None)
    of_live_customer = select(customers.c.id).where(live).scalar_subquery()
    return (
        ("customer", customers, customers.c.owner_id, live),
        ("open task", tasks, tasks.c.assignee_id,
         (tasks.c.status == "open") & tasks.c.customer_id.in_(of_live_customer)),
        ("open CTA", ctas, ctas.c.owner_id,
         (ctas.c.status == "open") & ctas.c.customer_id.in_(of_live_customer)),
    )  # fmt: skip


class Removal(NamedTuple):
    user: Row
    heir: Row | None
    rows: dict[str, list]  # label -> the (id, stamps) rows that change hands

    @property
    def moved(self) -> dict[str, int]:
        return {label: len(found) for label, found in self.rows.items() if found}


def plan_removal(
    conn: Connection, handle: str, reassign: str | None = None, unassign: bool = False
) -> Removal:
    """Check a user can go: customers, open tasks and CTAs they answer for need `reassign`
    (an heir) or `unassign`, so no live work is left with a user who is gone."""
    user = get_user(conn, handle)
    heir = get_user(conn, reassign) if reassign else None
    if heir is not None and heir.id == user.id:
        raise Invalid(f"--reassign {heir.handle}: that is the user being removed")
    rows = {
        label: conn.execute(
            select(table.c.id, table.c.stamps).where(column == user.id, counts)
        ).all()
        for label, table, column, counts in _responsibilities()
    }
    removal = Removal(user, heir, rows)
    if removal.moved and heir is None and not unassign:
        raise Conflict(
            f"user '{user.handle}' still has {plural_counts(removal.moved)}: pass --reassign "
            "HANDLE to hand them over, or --unassign to leave them without an owner"
        )
    return removal


def remove_user(conn: Connection, removal: Removal, today: date) -> None:
    """Tombstone a user: no longer a recipient, collaborator or default owner; their work
    goes to the heir (or nobody). The tombstone is dated `today` as clm saw it (at this
    time of day), so `export users --all` says the day the user was removed."""
    heir_id = removal.heir.id if removal.heir else None
    for label, table, column, _ in _responsibilities():
        for row in removal.rows[label]:
            update_row(conn, table, row, {column.key: heir_id})
    removed_at = datetime.combine(today, utcnow().time(), tzinfo=UTC)
    update_row(conn, users, removal.user, {"deleted_at": removed_at, "default_owner": False})


def plural_counts(counts: dict[str, int]) -> str:
    """{"customer": 2, "open task": 1} -> "2 customers and 1 open task"."""
    parts = [f"{n} {label}{'' if n == 1 else 's'}" for label, n in counts.items()]
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def list_users(conn: Connection) -> Iterator[dict]:
    query = (
        select(*(users.c[key] for key in USER_KEYS))
        .where(users.c.deleted_at.is_(None))
        .order_by(users.c.handle)
    )
    for row in conn.execute(query):
        yield row._asdict()
