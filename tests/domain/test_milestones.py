"""The reminder log: each reminder fires once, whoever runs and however often."""

import multiprocessing
from datetime import date

from sqlalchemy import select, update

from clm.dates import Duration
from clm.db import Database
from clm.domain import customers, milestones, users
from clm.domain.new_book import install_template
from clm.storage import tables as models
from clm.storage.tables import reminder_log

TODAY = date(2026, 11, 23)


def open_db(path) -> Database:
    return Database.open(str(path), on_create=install_template)


def _book(path) -> None:
    with open_db(path).write() as conn:
        users.add_user(conn, "alice", team="customer-success", is_default_owner=True)
        users.add_user(conn, "bob")
        customers.add_customer(conn, TODAY, None, "Acme", stage="lead", owner="alice")
        for n in range(20):
            milestones.add_milestone(
                conn, "acme", f"M{n}", date(2026, 12, 1 + n), [Duration(2, "w"), Duration(1, "m")],
                collaborators=["bob"] if n % 2 else (),
            )  # fmt: skip


def test_reminders_fire_once_addressed_to_owner_and_collaborators(db_path):
    _book(db_path)
    db = open_db(db_path)
    with db.write() as conn:
        fired = _sent(conn, TODAY)
    # Due Dec 1..20: the 1m reminders (Nov 1..20) are all due, and the 2w ones of Dec 1..7.
    assert len(fired) == 20 + 7
    assert {tuple(r["recipients"]) for r in fired} == {("alice",), ("alice", "bob")}
    with db.write() as conn:
        assert _sent(conn, TODAY) == []
    with db.write() as conn:
        assert [r["offset"] for r in _sent(conn, date(2026, 11, 24))] == ["2w"]


def _fire(path: str, day: date, out) -> None:
    with open_db(path).write() as conn:
        out.put(len(_sent(conn, day)))


def test_concurrent_firing_fires_each_reminder_exactly_once(db_path):
    path = str(db_path)
    _book(path)
    results = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_fire, args=(path, TODAY, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert sorted(results.get(timeout=60) for _ in workers) == [0, 0, 0, 27]


def test_done_and_removed_milestones_never_remind(db_path):
    _book(db_path)
    db = open_db(db_path)
    with db.write() as conn:
        milestones.complete_milestone(conn, TODAY, 1)
        milestones.set_status(conn, 2, "cancelled")
        milestones.remove_milestone(conn, 3)
        milestones.set_status(conn, 4, "blocked", "waiting")
        fired = {r["milestone"] for r in _sent(conn, TODAY)}
    assert fired.isdisjoint({1, 2, 3}) and 4 in fired


def test_a_moved_reminder_fires_once_across_concurrent_ticks(db_path):
    """The 1m reminder of M0 fired; its due date moves a month on: on its new day four ticks
    at once fire it once, under a dated key beside the first firing."""
    path = str(db_path)
    _book(path)
    db = open_db(path)
    with db.write() as conn:
        _sent(conn, TODAY)
        milestones.edit_milestone(conn, 1, due=date(2027, 1, 1))
    results = multiprocessing.Queue()
    day = date(2026, 12, 1)  # M0's 1m reminder's new day, and the 2w ones of M7..M14
    workers = [multiprocessing.Process(target=_fire, args=(path, day, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert sorted(results.get(timeout=60) for _ in workers) == [0, 0, 0, 1 + 8]
    with db.read() as conn:
        log = conn.execute(
            select(reminder_log.c.offset, reminder_log.c.remind_on)
            .join(models.milestones, models.milestones.c.uuid == reminder_log.c.milestone_uuid)
            .where(models.milestones.c.id == 1)
            .order_by(reminder_log.c.id)
        ).all()
    assert [tuple(r) for r in log] == [
        ("1m", date(2026, 11, 1)),
        ("2w", date(2026, 11, 17)),
        ("1m@2026-12-01", date(2026, 12, 1)),
    ]


def test_refreshed_reminders_are_pending_for_a_day_they_have_not_fired_for(db_path):
    """What a merge does after bringing a due date: the reminder days again from it, pending
    unless fired for that very day."""
    _book(db_path)
    db = open_db(db_path)
    with db.write() as conn:
        _sent(conn, TODAY)  # M0: 1m on Nov 1 and 2w on Nov 17
        _move_due(conn, 1, date(2027, 1, 1))
        assert _pending(conn, 1) == {"1m": True, "2w": True}
        assert [r["offset"] for r in _sent(conn, date(2026, 12, 18))] == [
            "1m",
            "2w",
        ]
        _move_due(conn, 1, date(2026, 12, 1))  # back to the days they fired for first
        assert _pending(conn, 1) == {"1m": False, "2w": False}
        _move_due(conn, 1, date(2027, 1, 1))  # and to the days they fired for next
        assert _pending(conn, 1) == {"1m": False, "2w": False}


def _move_due(conn, milestone_id: int, due: date) -> None:
    """A due date changed behind the domain's back (as a merge does), reminders refreshed."""
    conn.execute(
        update(models.milestones).where(models.milestones.c.id == milestone_id).values(due=due)
    )
    milestones.refresh_reminders(conn, [milestone_id])


def _pending(conn, milestone_id: int) -> dict[str, bool]:
    rows = conn.execute(
        select(models.milestone_reminders.c.offset, models.milestone_reminders.c.pending).where(
            models.milestone_reminders.c.milestone_id == milestone_id
        )
    )
    return {offset: bool(pending) for offset, pending in rows}


def _sent(conn, day):
    """The reminders a tick fired (those with an addressee)."""
    return milestones.fire_reminders(conn, day)[0]
