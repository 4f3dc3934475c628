"""The reminder log: each reminder fires once, whoever runs and however often."""

import multiprocessing
from datetime import date

from clm.dates import Duration
from clm.db import Database
from clm.domain import customers, milestones, users
from clm.domain.stages import install_template

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
        fired = milestones.fire_reminders(conn, TODAY)
    # Due Dec 1..20: the 1m reminders (Nov 1..20) are all due, and the 2w ones of Dec 1..7.
    assert len(fired) == 20 + 7
    assert {tuple(r["recipients"]) for r in fired} == {("alice",), ("alice", "bob")}
    with db.write() as conn:
        assert milestones.fire_reminders(conn, TODAY) == []
    with db.write() as conn:
        assert [r["offset"] for r in milestones.fire_reminders(conn, date(2026, 11, 24))] == ["2w"]


def _fire(path: str, day: date, out) -> None:
    with open_db(path).write() as conn:
        out.put(len(milestones.fire_reminders(conn, day)))


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
        fired = {r["milestone"] for r in milestones.fire_reminders(conn, TODAY)}
    assert fired.isdisjoint({1, 2, 3}) and 4 in fired
