"""One machine owns the tick of a db file: two laptops with diverged copies of a synced file
must never fire the same reminder twice."""

import socket
import uuid

from sqlalchemy import Connection

from clm.db import clock, get_meta, set_meta
from clm.errors import Conflict

OWNER = "tick_owner"


def machine_id() -> str:
    """This machine's id: a uuid kept in the user data dir (made on first use)."""
    import os

    import platformdirs

    path = platformdirs.user_data_path("clm") / "machine-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        value = str(uuid.uuid4())
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        return value


def claim_tick(conn: Connection, take_over: bool = False) -> str | None:
    """Record this machine as the db's ticker when none is; refuse a tick from another machine
    unless `take_over`. The previous owner's host when it was taken over.

    The record (`STAMP MACHINE-ID HOST`) carries a clock stamp: a take-over travels with a
    merge, the later record winning."""
    me = machine_id()
    owner = get_meta(conn, OWNER)
    _stamp, owner_id, host = owner.split(" ", 2) if owner else (None, None, None)
    if owner_id == me:
        return None
    if owner_id is not None and not take_over:
        raise Conflict(
            f"this db is ticked by {host} (machine {owner_id[:8]}): tick there, or if that "
            "machine stopped ticking it, run clm tick --take-over here"
        )
    set_meta(conn, OWNER, f"{clock(conn).stamp()} {me} {socket.gethostname()}")
    return host


def merge_owner(conn: Connection, other: Connection) -> None:
    """After a merge, the later of the two records (a take-over made in the copy)."""
    mine, theirs = get_meta(conn, OWNER), get_meta(other, OWNER)
    if theirs and (mine is None or theirs > mine):
        set_meta(conn, OWNER, theirs)


def check_sender(database, conn: Connection) -> None:
    """Refuse to send from a machine that does not own the tick of a synced file: the owner
    sends; a copy's outbox stays put."""
    if not database.is_sqlite:
        return
    owner = get_meta(conn, OWNER)
    if owner is None:
        return
    _stamp, owner_id, host = owner.split(" ", 2)
    if owner_id != machine_id():
        raise Conflict(
            f"this db is ticked by {host} (machine {owner_id[:8]}): its notifications are "
            "sent there (clm notify send on that machine)"
        )
