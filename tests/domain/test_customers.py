"""The customer domain layer, called from Python as a library user would."""

import json
import multiprocessing
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from clm.db import Database
from clm.domain import customers, users
from clm.domain.customers import SLUG, slugify
from clm.domain.new_book import install_template
from clm.storage.tables import customers as customers_table

TODAY = date(2026, 11, 23)


def open_db(path) -> Database:
    return Database.open(str(path), on_create=install_template)


@given(st.text())
def test_slugs_are_lowercase_dash_joined_and_stable(name):
    slug = slugify(name)
    assert slug == "" or SLUG.fullmatch(slug)
    assert slugify(slug) == slug


def test_slug_examples():
    assert slugify("Acme Corp") == "acme-corp"
    assert slugify("  Ça va? Déjà-vu!  ") == "ca-va-deja-vu"
    assert slugify("A&B__C") == "a-b-c"
    # Letters that do not decompose are spelled out, not dropped.
    assert slugify("Ærøskøbing Straße GmbH") == "aeroskobing-strasse-gmbh"
    assert slugify("Łódź Œuvre Kılıç") == "lodz-oeuvre-kilic"


def test_edits_stamp_each_changed_field_and_date_metrics(db_path):
    db = open_db(db_path)
    with db.write() as conn:
        users.add_user(conn, "alice")
        customers.add_customer(conn, TODAY, "alice", "Acme", health=80)
    with db.write() as conn:
        changed = customers.edit_customer(
            conn, date(2026, 12, 1), "acme", {"health": 30, "arr": None}, add_tags=["risk"]
        )
    assert changed == ["health", "tags"]
    with db.read() as conn:
        row = conn.execute(customers_table.select()).one()
    stamps = json.loads(row.stamps)
    # Tags merge as a set: the member added is stamped too (issue 25).
    assert set(stamps) == {"*", "health", "health_on", "tags", "tags+risk"}
    assert stamps["health"] == stamps["tags"] == stamps["tags+risk"] > stamps["*"]
    assert (row.health, row.health_on) == (30, date(2026, 12, 1))


def test_a_failed_write_leaves_nothing_behind(db_path):
    db = open_db(db_path)
    try:
        with db.write() as conn:
            customers.add_customer(conn, TODAY, None, "Acme")
            customers.add_customer(conn, TODAY, None, "Acme")  # duplicate: the whole write fails
    except customers.Conflict:
        pass
    with db.read() as conn:
        assert list(customers.list_customers(conn, TODAY)) == []


def _bump_health(path: str, times: int) -> None:
    db = open_db(path)
    for _ in range(times):
        with db.write() as conn:  # read-modify-write under the write lock taken up front
            health = conn.scalar(
                customers_table.select().with_only_columns(customers_table.c.health)
            )
            customers.edit_customer(conn, TODAY, "acme", {"health": health + 1})


def test_concurrent_read_modify_write_loses_no_update(db_path):
    path = str(db_path)
    with open_db(path).write() as conn:
        customers.add_customer(conn, TODAY, None, "Acme", health=0)
    workers = [multiprocessing.Process(target=_bump_health, args=(path, 25)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    with open_db(path).read() as conn:
        assert next(customers.list_customers(conn, TODAY))["health"] == 100
