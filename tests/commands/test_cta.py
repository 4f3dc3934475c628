"""`clm cta …` through the CLI: dedupe, snooze, close, playbooks under a CTA."""

import json

import pytest

from tests.conftest import dump

CTA_KEYS = [
    "id", "uuid", "customer", "type", "reason", "priority", "status", "owner", "due", "tasks",
    "source",
]  # fmt: skip


@pytest.fixture
def book(team):
    """Acme owned by alice, Globex owned by bob; neither stage runs a playbook with tasks."""
    team("customer", "add", "Acme", "--stage", "adopting")
    team("customer", "add", "Globex", "--stage", "adopting", "--owner", "bob")
    return team


def risk(clm, slug="acme", reason="usage dropped", *args, code=0):
    return clm("cta", "open", slug, "--type", "risk", "--reason", reason, *args, code=code)


def ids(clm, *args) -> list[int]:
    return [c["id"] for c in clm.json("cta", "list", *args)]


def test_open_defaults_and_every_key(book):
    result = risk(book)
    assert result.stderr == "Opened CTA 1 on acme (risk: usage dropped), owned by alice.\n"
    assert result.stdout == "1\n"  # the id alone, for a script
    [row] = book.json("cta", "list")
    assert list(row) == CTA_KEYS
    assert row | {"uuid": "-"} == {
        "id": 1, "uuid": "-", "customer": "acme", "type": "risk", "reason": "usage dropped",
        "priority": "medium", "status": "open", "owner": "alice", "due": None, "tasks": [],
        "source": None,
    }  # fmt: skip


def test_open_with_every_option(book):
    book("cta", "open", "acme", "--type", "expansion", "--reason", "  seats maxed out ",
         "--priority", "high", "--due", "eom", "--owner", "sam")  # fmt: skip
    [row] = book.json("cta", "list")
    assert (row["type"], row["reason"], row["priority"], row["due"], row["owner"]) == (
        "expansion", "seats maxed out", "high", "2026-11-30", "sam",
    )  # fmt: skip


def test_one_open_cta_per_customer_type_and_reason(book, db_path):
    risk(book)
    before = dump(db_path)
    assert risk(book, code=1).stderr == (
        "Error: CTA 1 (risk: usage dropped) is already open on acme: close it first\n"
    )
    assert dump(db_path) == before
    risk(book, "acme", "no login for 30 days")  # another reason
    book("cta", "open", "acme", "--type", "lifecycle", "--reason", "usage dropped")  # type
    risk(book, "globex")  # another customer
    assert ids(book) == [1, 2, 3, 4]
    book("cta", "close", 1)
    assert risk(book).stderr.startswith("Opened CTA 5 on acme")
    assert [(c["id"], c["status"]) for c in book.json("cta", "list", "--status", "all")] == [
        (1, "closed"), (2, "open"), (3, "open"), (4, "open"), (5, "open"),
    ]  # fmt: skip


def test_snoozed_until_a_day_then_open_again(book, db_path):
    risk(book, "acme", "usage dropped", "--due", "2026-11-25")
    risk(book, "globex")
    result = book("cta", "snooze", 1, "--until", "2026-11-30")
    assert result.stderr == "CTA 1 snoozed until 2026-11-30.\n"
    assert ids(book) == [2]
    [snoozed] = book.json("cta", "list", "--status", "snoozed")
    assert (snoozed["id"], snoozed["status"]) == (1, "snoozed")
    assert [c["status"] for c in book.json("cta", "list", "--status", "all")] == [
        "snoozed", "open",
    ]  # fmt: skip
    # Still open underneath: the dedupe holds while it sleeps.
    before = dump(db_path)
    assert risk(book, code=1).stderr == (
        "Error: CTA 1 (risk: usage dropped) is already open on acme, snoozed until 2026-11-30: "
        "close it first\n"
    )
    assert dump(db_path) == before
    assert [c["id"] for c in book.json("--today", "2026-11-29", "cta", "list")] == [2]
    assert [c["status"] for c in book.json("--today", "2026-11-30", "cta", "list")] == [
        "open", "open",
    ]  # fmt: skip
    assert book.json("--today", "2026-11-30", "cta", "list", "--status", "snoozed") == []
    # Snoozing again moves the day; a snoozed CTA can be closed.
    book("cta", "snooze", 1, "--until", "+2w")
    assert book.json("--today", "2026-11-30", "cta", "list", "--status", "snoozed")[0]["id"] == 1
    book("cta", "close", 1, "--outcome", "back to normal")
    assert book.json("cta", "list", "--status", "closed")[0]["status"] == "closed"
    assert book.json("cta", "list", "--status", "snoozed") == []


def test_a_snoozed_cta_leaves_the_owners_agenda_until_its_day(book):
    risk(book, "globex")
    book("cta", "snooze", 1, "--until", "+3d")
    assert [r["kind"] for r in book.json("--as", "bob", "my")] == ["customer"]
    agenda = book.json("--as", "bob", "--today", "+3d", "my")
    assert ("cta", 1, "risk: usage dropped", "medium") in [
        (r["kind"], r["id"], r["title"], r["detail"]) for r in agenda
    ]


def test_close_with_outcome_once(book, db_path):
    risk(book)
    result = book("cta", "close", 1, "--outcome", "exec sponsor re-engaged")
    assert result.stderr == "CTA 1 closed (2026-11-23).\n"
    assert book.json("cta", "list") == []
    before = dump(db_path)
    assert book.error("--today", "+1d", "cta", "close", 1) == (
        "Error: CTA 1 is already closed (on 2026-11-23)"
    )
    assert book.error("cta", "snooze", 1, "--until", "+1w") == (
        "Error: CTA 1 is closed (on 2026-11-23): only an open CTA snoozes"
    )
    assert dump(db_path) == before


def test_playbook_tasks_land_under_the_cta(book):
    result = risk(book, "acme", "usage dropped", "--playbook", "Save", "--owner", "bob")
    assert result.stderr == (
        "Opened CTA 1 on acme (risk: usage dropped), owned by bob.\n"
        "Playbook save added 2 tasks and 1 milestone.\n"
    )
    [cta] = book.json("cta", "list")
    assert cta["tasks"] == [1, 2]
    # The CTA's owner, not the customer's, gets the playbook's tasks.
    tasks = book.json("task", "list", "--customer", "acme")
    assert [(t["title"], t["due"], t["cta"], t["source"], t["assignee"]) for t in tasks] == [
        ("Call the executive sponsor", "2026-11-25", 1, "playbook:save", "bob"),
        ("Agree a save plan", "2026-11-30", 1, "playbook:save", "bob"),
    ]
    saved = [m for m in book.json("milestone", "list") if m["title"] == "Save plan agreed"]
    assert [(m["customer"], m["due"]) for m in saved] == [("acme", "2026-12-07")]
    # A task added by hand joins the playbook's under the CTA.
    book("task", "add", "acme", "Send the usage report", "--cta", 1)
    assert book.json("cta", "list")[0]["tasks"] == [1, 2, 3]
    book("task", "rm", 2, "--yes")
    assert book.json("cta", "list")[0]["tasks"] == [1, 3]
    csv_row = book("cta", "list", "-f", "csv").stdout.splitlines()[1]
    assert csv_row.endswith(",risk,usage dropped,medium,open,bob,,1;3,")


def test_an_unknown_playbook_writes_nothing(book, db_path):
    before = dump(db_path)
    assert risk(book, "acme", "usage dropped", "--playbook", "sav", code=1).stderr == (
        "Error: no playbook 'sav'; did you mean 'save'?\n"
    )
    assert dump(db_path) == before


def test_list_filters_and_bare_noun(book):
    risk(book, "acme", "a", "--due", "2026-12-10")
    risk(book, "globex", "b", "--due", "2026-12-01")
    risk(book, "acme", "c")
    risk(book, "acme", "d", "--owner", "bob", "--due", "2026-12-10")
    book("cta", "close", 3)
    assert ids(book) == [2, 1, 4]
    assert ids(book, "--customer", "acme") == [1, 4]
    assert ids(book, "--owner", "bob") == [2, 4]
    assert ids(book, "--status", "closed") == [3]
    assert ids(book, "--status", "all") == [2, 1, 4, 3]
    assert ids(book, "--status", "open", "--customer", "globex") == [2]
    assert book("cta").stdout == book("cta", "list").stdout
    assert book("cta", "--owner", "bob", "-f", "csv").stdout.splitlines()[1].startswith("2,")


def test_list_formats(book):
    risk(book, "acme", "=cmd|' /C calc'!A0", "--due", "2026-12-01")
    book("task", "add", "acme", "One", "--cta", 1)
    book("task", "add", "acme", "Two", "--cta", 1)
    csv_lines = book("cta", "list", "--format", "csv").stdout.splitlines()
    assert csv_lines[0] == ",".join(CTA_KEYS)
    assert csv_lines[1].endswith(",acme,risk,'=cmd|' /C calc'!A0,medium,open,alice,2026-12-01,1;2,")
    tsv_lines = book("cta", "list", "--format", "tsv").stdout.splitlines()
    assert tsv_lines[0] == "\t".join(CTA_KEYS)
    assert tsv_lines[1].split("\t")[5:] == ["medium", "open", "alice", "2026-12-01", "1;2", ""]
    jsonl = [json.loads(line) for line in book("cta", "list", "-f", "jsonl").stdout.splitlines()]
    assert jsonl == book.json("cta", "list")
    table = book("cta", "list").stdout.splitlines()
    assert table[0].split() == [
        "id", "customer", "type", "reason", "priority", "status", "owner", "due", "tasks",
    ]  # fmt: skip
    assert table[2].split()[-3:] == ["2026-12-01", "1,", "2"]


def test_empty_lists_are_valid_output(clm):
    assert clm("cta", "list", "-f", "json").stdout == "[]\n"
    assert clm("cta", "list", "-f", "jsonl").stdout == ""
    assert clm("cta", "list", "-f", "csv").stdout == ",".join(CTA_KEYS) + "\n"
    result = clm("cta", "list")
    assert (result.stdout, result.stderr) == ("", "No CTAs.\n")


def test_user_text_is_shown_verbatim_and_safely(book):
    reason = "[red]churn[/] \x1b[2J risk"
    risk(book, "acme", reason)
    assert book.json("cta", "list")[0]["reason"] == reason
    out = book("cta", "list").stdout
    assert "[red]churn[/]" in out and "\x1b" not in out


def test_removed_customers_ctas_never_show(book):
    risk(book, "acme")
    risk(book, "globex")
    book("customer", "rm", "acme", "--yes")
    assert ids(book, "--status", "all") == [2]
    assert book.error("cta", "close", 1) == "Error: no CTA 1 (its customer was removed)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["open", "acme", "--type", "churn", "--reason", "x"],
            "invalid --type 'churn': use risk, lifecycle, expansion, objective, activity",
        ),
        (
            ["open", "acme", "--type", "risk", "--reason", "x", "--priority", "urgent"],
            "invalid --priority 'urgent': use low, medium, high",
        ),
        (["open", "acme", "--type", "risk", "--reason", " "], "invalid --reason ''"),
        (["open", "acm", "--type", "risk", "--reason", "x"], "no customer 'acm'"),
        (
            ["open", "acme", "--type", "risk", "--reason", "x", "--owner", "alcie"],
            "no user 'alcie'; did you mean 'alice'?",
        ),
        (
            ["open", "acme", "--type", "risk", "--reason", "x", "--due", "next week"],
            "invalid --due 'next week'",
        ),
        (["close", "99"], "no CTA 99"),
        (["snooze", "99", "--until", "+1w"], "no CTA 99"),
        (["snooze", "1", "--until", "today"], "invalid --until 2026-11-23: snooze until a day"),
        (["snooze", "1", "--until", "2026-11-01"], "invalid --until 2026-11-01"),
        (["snooze", "1", "--until", "2026-02-30"], "invalid --until '2026-02-30'"),
        (
            ["list", "--status", "done"],
            "invalid --status 'done': use open, closed, snoozed, cancelled or all",
        ),
        (["list", "--customer", "nope"], "no customer 'nope'"),
        (["list", "--owner", "nobody"], "no user 'nobody'"),
    ],
)
def test_refusals_name_the_value_and_change_nothing(book, db_path, args, message):
    risk(book)
    before = dump(db_path)
    assert message in book.error("cta", *args)
    assert dump(db_path) == before


def test_usage_errors_exit_2(book):
    assert "Missing option '--type'" in book("cta", "open", "acme", "--reason", "x", code=2).stderr
    assert "Missing option '--until'" in book("cta", "snooze", 1, code=2).stderr
