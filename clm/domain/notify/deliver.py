"""Sending the outbox after the tick's commit: each message claimed (a lease, so two senders
never send one message at once), sent, and marked sent only once the server accepted it. A
crash between the two leaves it pending: sent again after the lease with the same Message-ID.

Only the machine that owns the tick of a synced file sends its messages: the caller checks
(`clm.domain.engine.owner.check_sender`)."""

import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Connection, and_, case, func, select, update

from clm.db import utcnow
from clm.domain.notify import digest
from clm.domain.notify.channels import Failure, Smtp, email_message, post, webhook_body
from clm.domain.notify.settings import TIMEOUT, SmtpSettings
from clm.domain.records import new_uuid
from clm.errors import ClmError
from clm.storage.tables import outbox, team_channels, users

MAX_TRIES = 5
BACKOFF = (60, 300, 1800, 7200)  # seconds to wait after the first, second… failed try


def lease_seconds() -> float:
    """How long a sender holds a message it is sending (a crashed one's message waits as
    long before it is sent again). `CLM_NOTIFY_LEASE` shortens it, for tests."""
    return float(os.environ.get("CLM_NOTIFY_LEASE", "120"))


class Message(NamedTuple):
    id: int
    uuid: str
    day: date
    kind: str
    items: list
    attempts: int
    created_at: datetime
    handle: str | None  # the user it goes to, or
    team: str | None  # the team whose channel it goes to
    email: str | None
    notify: str | None
    webhook: str | None

    @property
    def recipient(self) -> str:
        return self.handle or f"team {self.team}"


@dataclass
class Delivery:
    """What a run of the sender did: messages sent, and the problems (one line each)."""

    sent: list[dict] = field(default_factory=list)
    problems: dict[tuple[str, bool], list[str]] = field(default_factory=dict)

    def fail(self, failure: Failure, message: Message) -> None:
        """Note a message not sent, under its reason and whether it will be tried again."""
        key = (str(failure), failure.transient and message.attempts + 1 < MAX_TRIES)
        self.problems.setdefault(key, []).append(message.recipient)

    def problem_lines(self) -> list[str]:
        """One line per reason: whose messages, why, and what happens next."""
        return [
            f"not sent to {', '.join(sorted(set(handles)))}: {reason}; "
            + ("tried again later" if again else "parked as failed: clm notify retry once fixed")
            for (reason, again), handles in self.problems.items()
        ]


def _columns():
    """A message's columns: a user's row has its user's channel, a team's its team channel's."""
    return (
        outbox.c.id, outbox.c.uuid, outbox.c.day, outbox.c.kind, outbox.c.payload.label("items"),
        outbox.c.attempts, outbox.c.created_at, users.c.handle, outbox.c.team, users.c.email,
        func.coalesce(users.c.notify, case((team_channels.c.webhook.is_not(None), "webhook"))
                      ).label("notify"),
        func.coalesce(users.c.webhook, team_channels.c.webhook).label("webhook"),
    )  # fmt: skip


def _recipients():
    """The outbox with each message's user or team channel."""
    return outbox.outerjoin(users, users.c.id == outbox.c.user_id).outerjoin(
        team_channels,
        and_(team_channels.c.team == outbox.c.team, team_channels.c.deleted_at.is_(None)),
    )


def pending_count(conn: Connection, today: date) -> int:
    return conn.scalar(
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.state == "pending", outbox.c.day <= today)
    )


def send_pending(
    database, today: date, smtp: Callable[[], SmtpSettings | None], retry: bool = False
) -> Delivery:
    """Send every pending message of days up to `today` whose time has come (with `retry`:
    failed ones and those waiting to retry too, now)."""
    now = utcnow()
    with database.write() as conn:
        if retry:
            conn.execute(
                update(outbox)
                .where(outbox.c.state.in_(("pending", "failed")), outbox.c.day <= today)
                .values(state="pending", next_try_at=None, attempts=0)
            )
        messages = _claim(conn, today, now)
    return _send(messages, smtp, mark=lambda message, **values: _mark(database, message, **values))


def _claim(conn: Connection, today: date, now: datetime) -> list[Message]:
    """The due messages, each leased to this sender: a conditional update per message (the
    pending messages of a day, a few per person), so a concurrent sender gets none of them."""
    query = (
        select(*_columns())
        .select_from(_recipients())
        .where(
            outbox.c.state == "pending",
            outbox.c.day <= today,
            (outbox.c.next_try_at.is_(None)) | (outbox.c.next_try_at <= now),
        )
        .order_by(outbox.c.day, outbox.c.id)
    )
    until = now + timedelta(seconds=lease_seconds())
    claimed = []
    for row in conn.execute(query).all():
        taken = conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id, outbox.c.attempts == row.attempts,
                   outbox.c.state == "pending")
            .values(attempts=row.attempts + 1, next_try_at=until)
        )  # fmt: skip
        if taken.rowcount == 1:
            claimed.append(Message(**(row._asdict() | {"items": json.loads(row.items)})))
    return claimed


def _send(messages: list[Message], smtp, mark) -> Delivery:
    """Send each message by its user's channel; `mark(message, **values)` records the outcome."""
    done = Delivery()
    session: Smtp | None = None
    settings_problem: str | None = None
    try:
        for message in messages:
            try:
                if message.notify == "email":
                    if session is None and settings_problem is None:
                        try:
                            settings = smtp()
                        except ClmError as e:
                            settings_problem = str(e)
                        else:
                            if settings is None:
                                settings_problem = (
                                    "CLM_SMTP_URL is not set: email cannot go out (set it, or "
                                    "clm user edit HANDLE --notify none)"
                                )
                            else:
                                session = Smtp(settings)
                    if settings_problem:
                        raise Failure(settings_problem, transient=False)
                    if not message.email:
                        raise Failure(
                            f"user {message.handle} has no email (clm user edit "
                            f"{message.handle} --email ADDRESS)",
                            transient=False,
                        )
                    session.send(email_message(session.settings, message.email, message))
                    channel = "email"
                elif message.notify == "webhook":
                    if not message.webhook:
                        raise Failure(
                            f"user {message.handle} has no webhook URL (clm user edit "
                            f"{message.handle} --webhook URL)",
                            transient=False,
                        )
                    url, body = webhook_body(message)
                    post(url, body, message.uuid, _timeout())
                    channel = "webhook"
                else:
                    why = "team channel removed" if message.team else "notifications turned off"
                    mark(message, state="dropped", error=why)
                    continue
            except Failure as failure:
                mark(message, **_failed(message, failure))
                done.fail(failure, message)
                continue
            if os.environ.get("CLM_TEST_KILL_AFTER_SEND"):  # fault injection: crash right here
                os.kill(os.getpid(), signal.SIGKILL)
            mark(message, state="sent", channel=channel, sent_at=utcnow(), error=None)
            done.sent.append({"id": message.id, "to": message.recipient, "channel": channel,
                              "subject": digest.subject(message.day, message.items)})  # fmt: skip
    finally:
        if session is not None:
            session.close()
    return done


def _timeout() -> float:
    return float(os.environ.get("CLM_WEBHOOK_TIMEOUT", TIMEOUT))


def _mark(database, message: Message, **values) -> None:
    with database.write() as conn:
        conn.execute(update(outbox).where(outbox.c.id == message.id).values(**values))


def _failed(message: Message, failure: Failure) -> dict:
    """A transient failure waits (backoff) and is tried again, up to MAX_TRIES; after the last
    try, or on a permanent one, the message is parked as failed (clm notify retry)."""
    tries = message.attempts + 1
    if failure.transient and tries < MAX_TRIES:
        wait = BACKOFF[min(tries, len(BACKOFF)) - 1]
        values = {"state": "pending", "next_try_at": utcnow() + timedelta(seconds=wait)}
    else:
        values = {"state": "failed", "next_try_at": None}
    return {"error": str(failure), **values}


TEST_ITEM = {"kind": "test", "key": "test", "customer": "clm", "title": "notifications work",
             "due": "", "act": "clm notify log"}  # fmt: skip


def send_test(conn: Connection, handle: str, smtp: Callable[[], SmtpSettings | None]) -> str:
    """Send a test message to a user through their channel, outside the outbox; where it went
    (a Failure when it did not)."""
    from clm.domain.records import find_live

    user = find_live(conn, users, "handle", handle.strip().lower(), "user")
    now = utcnow()
    message = Message(0, new_uuid(), now.date(), "test", [TEST_ITEM], 0, now, user.handle, None,
                      user.email, user.notify, user.webhook)  # fmt: skip
    if user.notify == "none":
        raise Failure(
            f"user {user.handle} gets no notifications (clm user edit {user.handle} "
            "--notify email|webhook)",
            transient=False,
        )
    delivery = _send([message], smtp, mark=lambda message, **values: None)
    if delivery.problems:
        (reason, _again), _ = next(iter(delivery.problems.items()))
        raise Failure(reason, transient=False)
    if user.notify == "email":
        return f"by email to {user.email}"
    return "to their webhook"


def send_team_test(conn: Connection, team: str) -> str:
    """Send a test message to a team's webhook (`team`: a team's name, checked), outside the
    outbox; where it went (a Failure when it did not)."""
    from clm.domain.notify.teams import webhook_of

    webhook = webhook_of(conn, team)
    if webhook is None:
        raise Failure(
            f"team {team} has no webhook (clm user team {team} --webhook URL)", transient=False
        )
    now = utcnow()
    message = Message(0, new_uuid(), now.date(), "test", [TEST_ITEM], 0, now, None, team,
                      None, "webhook", webhook)  # fmt: skip
    delivery = _send([message], smtp=lambda: None, mark=lambda message, **values: None)
    if delivery.problems:
        (reason, _again), _ = next(iter(delivery.problems.items()))
        raise Failure(reason, transient=False)
    return "to its webhook"
