"""Users and teams: who owns customers, who follows them, who a team hands off to."""

from collections.abc import Iterator

from sqlalchemy import Connection, select

from clm.db import utcnow
from clm.domain.records import check_handle, find_live, new_row, update_row
from clm.errors import Conflict, Invalid
from clm.models import users

USER_KEYS = ("handle", "name", "email", "team", "default_owner", "uuid")


def get_user(conn: Connection, handle: str):
    return find_live(conn, users, "handle", handle.strip().lower(), "user")


def user_ids(conn: Connection, handles) -> dict[str, int]:
    """Handle -> id for each of `handles`, refusing any that is not a user."""
    return {handle: get_user(conn, handle).id for handle in dict.fromkeys(handles)}


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
        conn, handle=handle, name=name, email=email, team=team, default_owner=is_default_owner
    )
    conn.execute(users.insert().values(row))
    return {key: row[key] for key in USER_KEYS} | {
        "replaced": replaced.handle if replaced else None
    }


def remove_user(conn: Connection, handle: str) -> None:
    """Tombstone a user: no longer a recipient, collaborator or default owner; what they owned
    keeps their name in its history."""
    update_row(
        conn, users, get_user(conn, handle), {"deleted_at": utcnow(), "default_owner": False}
    )


def list_users(conn: Connection) -> Iterator[dict]:
    query = (
        select(*(users.c[key] for key in USER_KEYS))
        .where(users.c.deleted_at.is_(None))
        .order_by(users.c.handle)
    )
    for row in conn.execute(query):
        yield row._asdict()
