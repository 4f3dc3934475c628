"""`clm log` and `clm undo`: the audit log every write leaves, and undoing one change."""

import pytest

from tests.conftest import ON_PG, sql


def changes(clm, *args: str) -> list[dict]:
    return clm.json("log", *args)


def fields(rows: list[dict]) -> set[tuple]:
    return {(r["record"], r["field"], r["old"], r["new"]) for r in rows}


def number(text: str | None) -> float | None:
    """SQLite renders a float column's value 6000.0, PostgreSQL 6000."""
    return None if text is None else float(text)


@pytest.fixture
def book(team):
    team("--as", "alice", "customer", "add", "Acme Corp", "--arr", "5000")
    return team


def test_an_edit_is_logged_field_by_field_with_its_author_and_command(book):
    before = len(changes(book))
    book("--as", "alice", "customer", "edit", "acme-corp", "--arr", "6000", "--health", "55")
    new = changes(book)[before:]
    assert {r["field"] for r in new} == {"arr", "health", "health_on"}  # arr_on: today already
    arr = next(r for r in new if r["field"] == "arr")
    assert (number(arr["old"]), number(arr["new"])) == (5000, 6000)
    health = next(r for r in new if r["field"] == "health")
    assert (health["old"], health["new"]) == (None, "55")
    assert {(r["by"], r["command"], r["customer"], r["record"]) for r in new} == {
        ("alice", "clm customer edit", "acme-corp", "customers")
    }
    assert all(r["at"].endswith("Z") for r in new)
    # On a server the connecting role is named too; a file has none.
    assert {r["role"] for r in new} == ({sql_role()} if ON_PG else {None})


def sql_role() -> str:
    import os

    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from clm.db import resolve

    engine = create_engine(resolve(os.environ["CLM_DB"])[0], poolclass=NullPool)
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT current_user").scalar()


def test_a_created_record_is_one_row_of_field_star(book):
    created = changes(book, "acme-corp", "--field", "*")
    assert ("customers", "*", None, "acme-corp") in fields(created)
    # The onboarding playbook's milestones and tasks, created by the same command.
    assert {r["record"] for r in created} == {"customers", "milestones", "tasks"}
    assert {r["by"] for r in created} == {"alice"}


WRITES = [
    (("milestone", "add", "acme-corp", "Kick-off", "--due", "+10d"), "milestones", "*"),
    (("milestone", "done", "{milestone}"), "milestones", "status"),
    (("milestone", "block", "{milestone}", "--reason", "waiting"), "milestones", "status"),
    (("task", "add", "acme-corp", "Call them"), "tasks", "*"),
    (("task", "done", "{task}"), "tasks", "status"),
    (("cta", "open", "acme-corp", "--type", "risk", "--reason", "quiet"), "ctas", "*"),
    (("customer", "move", "acme-corp", "launched"), "customers", "stage"),
    (("customer", "assign", "acme-corp", "--owner", "bob"), "customers", "owner_id"),
    (("customer", "rm", "acme-corp", "--yes"), "customers", "deleted_at"),
    (("user", "edit", "bob", "--email", "bob@example.com"), "users", "email"),
    (("user", "rm", "bob", "--yes"), "users", "deleted_at"),
    (("stage", "add", "paused", "--after", "adopting"), "stages", "*"),
    (("stage", "edit", "onboarding", "--expected-days", "40"), "stages", "expected_days"),
    (("rule", "disable", "{rule}"), "rules", "enabled"),
    (
        ("rule", "add", "quiet", "--from", "adopting", "--when", "health < 20", "--to", "renewal"),
        "rules",
        "*",
    ),
]


@pytest.mark.parametrize("args, record, field", WRITES, ids=lambda w: " ".join(w[:2]))
def test_every_write_command_leaves_log_rows_naming_the_field_and_author(book, args, record, field):
    milestone = book.json("milestone", "list", "--customer", "acme-corp")[0]["id"]
    task = book.json("task", "list", "--customer", "acme-corp")[0]["id"]
    rule = book.json("rule", "list")[0]["name"]
    before = len(changes(book))
    filled = [a.format(milestone=milestone, task=task, rule=rule) for a in args]
    book("--as", "alice", *filled)
    new = changes(book)[before:]
    assert any(r["record"] == record and r["field"] == field for r in new), new
    assert {r["by"] for r in new} == {"alice"}
    assert {r["command"] for r in new} == {"clm " + " ".join(args[:2])}


def test_log_filters_by_customer_user_day_and_field(book):
    book("customer", "add", "Globex")
    book("--as", "bob", "customer", "edit", "globex", "--health", "30")
    book("--as", "alice", "customer", "edit", "acme-corp", "--health", "80")
    assert {r["customer"] for r in changes(book, "globex")} == {"globex"}
    assert {r["by"] for r in changes(book, "--by", "bob")} == {"bob"}
    health = changes(book, "--field", "health")
    assert [(r["customer"], r["new"]) for r in health] == [("globex", "30"), ("acme-corp", "80")]
    # The log's times are when changes were made (the clock), not --today's day.
    assert changes(book, "--since", "2999-01-01") == []
    assert len(changes(book, "--since", "2000-01-01")) == len(changes(book))


def test_log_in_every_format_and_as_a_table(book):
    table = book("log", "acme-corp", "--field", "*").stdout
    assert "acme-corp" in table and "clm customer add" in table
    csv = book("log", "--format", "csv").stdout.splitlines()
    assert csv[0] == "id,at,by,role,command,record,customer,field,old,new"
    assert len(book("log", "--format", "jsonl").stdout.splitlines()) == len(changes(book))
    assert book("log", "--format", "tsv").stdout.startswith("id\tat\tby")


def test_log_refuses_bad_input_in_one_line(book):
    assert book.error("log", "nobody") == "Error: no customer 'nobody'"
    assert book.error("log", "--field", "colour").startswith("Error: unknown field 'colour'")
    assert "--since" in book.error("log", "--since", "someday")


def test_undo_round_trips_and_is_logged(book):
    book("--as", "alice", "customer", "edit", "acme-corp", "--health", "55")
    book("--as", "bob", "customer", "edit", "acme-corp", "--health", "20")
    last = changes(book, "--field", "health")[-1]
    out = book("--as", "bob", "undo", str(last["id"]))
    assert f"Undid change {last['id']}: customer health is 55 again." in out.stderr + out.stdout
    assert book.json("customer", "show", "acme-corp")["health"] == 55
    undo = changes(book, "--field", "health")[-1]
    assert (undo["old"], undo["new"], undo["command"], undo["by"]) == (
        "20", "55", "clm undo", "bob"
    )  # fmt: skip
    # The undo can be undone in turn; the first change cannot while a later one stands.
    first = changes(book, "--field", "health")[0]
    assert "changed again since" in book.error("undo", str(first["id"]))
    book("undo", str(undo["id"]))
    assert book.json("customer", "show", "acme-corp")["health"] == 20


def test_undo_restores_a_removed_customer(book):
    book("customer", "rm", "acme-corp", "--yes")
    [removed] = changes(book, "acme-corp", "--field", "deleted_at")
    book("undo", str(removed["id"]))
    assert book.json("customer", "show", "acme-corp")["slug"] == "acme-corp"


def test_undo_refuses_what_it_cannot_do_in_one_line(book):
    created = changes(book, "acme-corp", "--field", "*")[0]
    assert "created a customer" in book.error("undo", str(created["id"]))
    assert book.error("undo", "99999") == "Error: no change 99999 in the log (clm log lists them)"
    book("customer", "move", "acme-corp", "launched")
    moved = changes(book, "acme-corp", "--field", "stage")[-1]
    assert "use clm customer move" in book.error("undo", str(moved["id"]))


def test_the_log_is_exported(book):
    lines = book("export", "log").stdout.splitlines()
    assert lines[0] == "id,at,by,role,command,record,customer,field,old,new,uuid"
    assert len(lines) == len(changes(book)) + 1


def test_a_files_log_rows_have_uuids_in_the_order_they_were_written(book):
    """On a file the triggers write version 7 uuids (time first): a day's rows are appended to
    the log's uuid index, not scattered over it (a server's are random)."""
    if ON_PG:
        pytest.skip("a server's triggers use gen_random_uuid()")
    import csv
    import io
    import uuid

    book("--as", "alice", "customer", "edit", "acme-corp", "--health", "70")
    book("--as", "alice", "customer", "add", "Globex")
    rows = list(csv.DictReader(io.StringIO(book("export", "log").stdout)))
    assert len(rows) > 2
    assert {uuid.UUID(r["uuid"]).version for r in rows} == {7}
    times = [r["uuid"][:13] for r in rows]  # the milliseconds, in id order
    assert times == sorted(times)


def test_the_log_is_append_only_history_merged_as_a_union(book, tmp_path):
    if ON_PG:
        pytest.skip("db merge is for SQLite files")
    import os
    import shutil

    db = os.environ["CLM_DB"]
    other = tmp_path / "clm (conflicted copy).db"
    shutil.copyfile(db, other)
    book("--as", "alice", "customer", "edit", "acme-corp", "--health", "70")
    book("--db", other, "--as", "bob", "customer", "edit", "acme-corp", "--arr", "9000")
    mine = {r[0] for r in sql(db, "SELECT uuid FROM audit_log")}
    theirs = {r[0] for r in sql(other, "SELECT uuid FROM audit_log")}
    book("db", "merge", other)
    merged = {r[0] for r in sql(db, "SELECT uuid FROM audit_log")}
    assert merged == mine | theirs  # the merge's own writes are not logged again
    assert [r["by"] for r in changes(book, "--field", "arr")] == ["bob"]
    assert [r["by"] for r in changes(book, "--field", "health")] == ["alice"]


def test_an_import_is_one_summary_row(clm, tmp_path):
    clm("user", "add", "alice")
    source = tmp_path / "customers.csv"
    source.write_text("slug,name\nacme,Acme\nglobex,Globex\n")
    before = len(changes(clm))
    clm("--as", "alice", "import", "customers", source)
    [summary] = changes(clm)[before:]
    assert (summary["record"], summary["field"], summary["by"], summary["new"]) == (
        "customers", "*", "alice", "import: 2 created, 0 updated"
    )  # fmt: skip
    assert summary["command"] == "clm import"


def test_tags_influencers_and_collaborators_are_logged_member_by_member(book):
    book(
        "--as",
        "alice",
        "customer",
        "edit",
        "acme-corp",
        "--tag",
        "vip",
        "--influencer",
        "bob",
    )
    book("--as", "bob", "customer", "edit", "acme-corp", "--untag", "vip")
    milestone = book.json("milestone", "list", "--customer", "acme-corp")[0]["id"]
    book("milestone", "edit", str(milestone), "--collaborator", "amy")
    book("milestone", "edit", str(milestone), "--remove-collaborator", "amy")
    tags = changes(book, "acme-corp", "--field", "tags")
    assert [(r["record"], r["old"], r["new"], r["by"]) for r in tags] == [
        ("customers", None, "vip", "alice"),
        ("customers", "vip", None, "bob"),
    ]
    assert fields(changes(book, "--field", "influencers")) == {
        ("customers", "influencers", None, "bob")
    }
    collaborators = changes(book, "acme-corp", "--field", "collaborators")
    assert [(r["record"], r["old"], r["new"]) for r in collaborators] == [
        ("milestones", None, "amy"),
        ("milestones", "amy", None),
    ]
    table = book("log", "acme-corp", "--field", "tags").stdout
    assert "vip" in table and "tags" in table


def test_undo_puts_a_member_back_or_takes_it_out(book):
    book("customer", "edit", "acme-corp", "--tag", "vip", "--tag", "beta")
    book("customer", "edit", "acme-corp", "--untag", "vip")
    added_beta, added_vip, removed_vip = sorted(
        changes(book, "--field", "tags"), key=lambda r: r["id"]
    )
    if added_beta["new"] == "vip":
        added_beta, added_vip = added_vip, added_beta
    # vip was removed since it was added: that add cannot be undone first.
    assert "added or removed again since" in book.error("undo", str(added_vip["id"]))
    out = book("undo", str(removed_vip["id"]))
    assert "vip is back in the customer's tags" in out.stderr + out.stdout
    assert book.json("customer", "show", "acme-corp")["tags"] == ["beta", "vip"]
    out = book("undo", str(added_beta["id"]))
    assert "beta is out of the customer's tags again" in out.stderr + out.stdout
    assert book.json("customer", "show", "acme-corp")["tags"] == ["vip"]
    undone = changes(book, "--field", "tags")[-1]
    assert (undone["old"], undone["new"], undone["command"]) == ("beta", None, "clm undo")
    book("customer", "edit", "acme-corp", "--influencer", "bob")
    [influencer] = changes(book, "--field", "influencers")
    book("undo", str(influencer["id"]))
    assert book.json("customer", "show", "acme-corp")["influencers"] == []
