"""Team mode: clm users as server login roles with an access level, and who the connecting
role is (on a server clm knows the user from it; `--as` may name someone else only for an
admin)."""

from typing import NamedTuple

from sqlalchemy import Connection, select

from clm.db import ACCESS, connected_role, grant_login
from clm.domain.records import update_row
from clm.domain.users import get_user
from clm.errors import Invalid, Refused
from clm.storage.tables import users


class Grant(NamedTuple):
    handle: str
    role: str | None  # the login role (none on a file)
    access: str
    created: bool  # whether the login role was created (else an existing one was mapped)


def grant(conn: Connection, handle: str, access: str, by: str | None = None) -> Grant:
    """Give user `handle` the access level `access`; on a server, create (or map) the login
    role of the same name and put it in the access level's group role. Only an admin (or the
    database's owner, whom no user maps to) grants."""
    if access not in ACCESS:
        raise Invalid(f"unknown role '{access}': use {', '.join(ACCESS)}")
    user = get_user(conn, handle)
    role = connected_role(conn)
    me = _mapped(conn, role) if role else None
    if me is not None and me.access != "admin":
        raise Refused(f"only an admin grants roles: you are {me.handle}, a {me.access}")
    role = user.handle if role is not None else None
    created = grant_login(conn, role, access) if role else False
    update_row(conn, users, user, {"access": access, "db_role": role})
    return Grant(user.handle, role, access, created)


def server_user(
    conn: Connection, asked: str | None, source: str = "--as"
) -> tuple[str | None, str | None]:
    """The clm user a command runs as, and the role whose row-level security scopes what it
    reads (None when it sees everything). On a file: `asked` (--as, CLM_USER). On a server:
    the user mapped to the connecting role; `asked` naming someone else is refused unless
    that user is an admin. A role no user maps to (the database's owner) keeps `asked`."""
    role = connected_role(conn)
    if role is None:
        return asked, None
    me = _mapped(conn, role)
    if me is None:
        return asked, None
    if asked is not None and asked != me.handle and me.access != "admin":
        raise Refused(
            f"{source} {asked}: you are connected as role {role} (user {me.handle}); only an "
            "admin may act as someone else"
        )
    scoped = None if me.access in ("admin", "service") else role
    return asked or me.handle, scoped


def _mapped(conn: Connection, role: str):
    """The live user (handle, access) the server role `role` maps to, or None."""
    return conn.execute(
        select(users.c.handle, users.c.access).where(
            users.c.db_role == role, users.c.deleted_at.is_(None)
        )
    ).first()
