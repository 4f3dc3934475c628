"""CTAs and tasks from Python: the dedupe the database guarantees, snooze by date, playbooks."""

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from clm.db import Database
from clm.domain import ctas, customers, tasks, users
from clm.domain.new_book import install_template
from clm.errors import Conflict, Invalid, NotFound
from clm.storage.tables import ctas as ctas_table
from clm.storage.tables import tasks as tasks_table
from clm.storage.tables import users as users_table

TODAY = date(2026, 11, 23)


@pytest.fixture
def db(db_path) -> Database:
    database = Database.open(str(db_path), on_create=install_template)
    with database.write() as conn:
        users.add_user(conn, "alice", team="customer-success", is_default_owner=True)
        users.add_user(conn, "bob")
        customers.add_customer(conn, TODAY, None, "Acme", stage="adopting")
    return database


def test_open_returns_the_record_in_the_documented_keys(db):
    with db.write() as conn:
        record, created = ctas.open_cta(conn, TODAY, "acme", "risk", " usage dropped ")
    assert created is None
    assert tuple(record) == ctas.CTA_KEYS
    assert (record["reason"], record["owner"], record["status"], record["tasks"]) == (
        "usage dropped", "alice", "open", [],
    )  # fmt: skip


def test_the_unique_key_is_the_final_guarantee_of_one_open_cta(db):
    with db.write() as conn:
        acme = customers.get_customer(conn, "acme")
        first = ctas.create_cta(conn, TODAY, acme, "risk", "usage dropped", source="rule:quiet")
        # A rule that skipped the check still cannot open a second one.
        assert ctas.create_cta(conn, TODAY, acme, "risk", "usage dropped") is None
        assert ctas.open_cta_of(conn, acme.id, "risk", "usage dropped").id == first["id"]
        with pytest.raises(Conflict, match=f"CTA {first['id']} .* already open on acme"):
            ctas.open_cta(conn, TODAY, "acme", "risk", "usage dropped")
        [row] = ctas.list_ctas(conn, TODAY)
        assert row["source"] == "rule:quiet"
    with pytest.raises(IntegrityError), db.write() as conn:
        row = dict(conn.execute(select(ctas_table).where(ctas_table.c.id == 1)).one()._mapping)
        conn.execute(ctas_table.insert().values(row | {"id": None, "uuid": "other"}))
    with db.write() as conn:
        ctas.close_cta(conn, TODAY, first["id"])
        again = ctas.create_cta(conn, TODAY, acme, "risk", "usage dropped")
    assert again["id"] != first["id"]


def test_status_is_computed_from_the_snooze_date(db):
    with db.write() as conn:
        record, _ = ctas.open_cta(conn, TODAY, "acme", "lifecycle", "kick-off overdue")
        ctas.snooze_cta(conn, TODAY, record["id"], date(2026, 12, 1))
    with db.read() as conn:

        def statuses(day, status=None):
            return [r["status"] for r in ctas.list_ctas(conn, day, status=status)]

        assert statuses(TODAY) == []
        assert statuses(TODAY, "snoozed") == ["snoozed"]
        assert statuses(date(2026, 11, 30), "all") == ["snoozed"]
        assert statuses(date(2026, 12, 1)) == ["open"]
        assert statuses(date(2026, 12, 1), "snoozed") == []


def test_snooze_and_close_refuse_what_makes_no_sense(db):
    with db.write() as conn:
        record, _ = ctas.open_cta(conn, TODAY, "acme", "risk", "x")
        with pytest.raises(Invalid, match="after today"):
            ctas.snooze_cta(conn, TODAY, record["id"], TODAY)
        closed = ctas.close_cta(conn, TODAY, record["id"], "  ")
        assert closed == {"id": record["id"], "closed_on": TODAY, "outcome": None}
        with pytest.raises(Conflict, match="already closed"):
            ctas.close_cta(conn, TODAY, record["id"])
        with pytest.raises(Conflict, match="only an open CTA snoozes"):
            ctas.snooze_cta(conn, TODAY, record["id"], date(2027, 1, 1))
        with pytest.raises(NotFound, match="no CTA 99"):
            ctas.get_cta(conn, 99)
        stored = conn.execute(select(ctas_table).where(ctas_table.c.id == record["id"])).one()
    assert (stored.status, stored.closed_on, stored.outcome) == ("closed", TODAY, None)


def test_a_playbook_puts_its_tasks_under_the_cta_once(db):
    with db.write() as conn:
        record, created = ctas.open_cta(
            conn, TODAY, "acme", "risk", "usage dropped", owner="bob", playbook="save"
        )
        assert created["playbook"] == "save" and len(created["milestones"]) == 1
        assert record["tasks"] == created["tasks"] == [1, 2]
        dues = conn.execute(
            select(tasks_table.c.due, tasks_table.c.cta_id).order_by(tasks_table.c.id)
        ).all()
    assert dues == [(date(2026, 11, 25), record["id"]), (date(2026, 11, 30), record["id"])]


def test_tasks_from_python(db):
    with db.write() as conn:
        cta, _ = ctas.open_cta(conn, TODAY, "acme", "objective", "roll out to EMEA")
        task = tasks.add_task(conn, "acme", "Plan", date(2026, 11, 20), "bob", cta_id=cta["id"])
        assert tuple(task) == tasks.TASK_KEYS
        assert tasks.complete_task(conn, TODAY, task["id"])["already"] is False
        assert tasks.complete_task(conn, date(2026, 12, 1), task["id"]) == {
            "id": task["id"], "already": True, "done_on": TODAY,
        }  # fmt: skip
        bob = conn.scalar(select(users_table.c.id).where(users_table.c.handle == "bob"))
        stored = conn.execute(select(tasks_table).where(tasks_table.c.id == task["id"])).one()
        assert (stored.status, stored.done_on, stored.assignee_id) == ("done", TODAY, bob)
        assert list(tasks.list_tasks(conn, TODAY, overdue=True)) == []
        assert [t["id"] for t in tasks.list_tasks(conn, TODAY, status="done")] == [task["id"]]
