"""`clm task …` through the CLI."""

import json

import pytest

from tests.conftest import dump

TASK_KEYS = [
    "id", "uuid", "customer", "title", "due", "status", "assignee", "milestone", "cta", "source",
]  # fmt: skip


@pytest.fixture
def book(team):
    """Acme (owned by alice, milestone 1, its Renewal, from the lifecycle playbook: the other
    items are phases) and Globex (owned by bob, milestone 2); neither stage runs a playbook
    with tasks."""
    team("customer", "add", "Acme", "--stage", "adopting")
    team("customer", "add", "Globex", "--stage", "adopting", "--owner", "bob")
    return team


def titles(clm, *args) -> list[str]:
    return [t["title"] for t in clm.json("task", "list", *args)]


def test_add_assigns_the_owner_and_lists_every_key(book):
    result = book("task", "add", "acme", "Send the QBR deck", "--due", "+3d")
    assert result.stderr == "Added task 1 to acme, due 2026-11-26, assigned to alice.\n"
    assert result.stdout == "1\n"  # the id alone, for a script
    [row] = book.json("task", "list")
    assert list(row) == TASK_KEYS
    assert row | {"uuid": "-"} == {
        "id": 1, "uuid": "-", "customer": "acme", "title": "Send the QBR deck",
        "due": "2026-11-26", "status": "open", "assignee": "alice", "milestone": None,
        "cta": None, "source": None,
    }  # fmt: skip


def test_add_under_a_milestone_and_a_cta_of_the_customer(book):
    book("cta", "open", "acme", "--type", "risk", "--reason", "usage dropped")
    result = book("task", "add", "acme", "Call the sponsor", "--milestone", 1, "--cta", 1,
                  "--assignee", "bob")  # fmt: skip
    assert result.stderr == "Added task 1 to acme, assigned to bob.\n"
    [row] = book.json("task", "list")
    assert (row["assignee"], row["milestone"], row["cta"], row["due"]) == ("bob", 1, 1, None)
    assert book.json("milestone", "show", 1)["tasks"] == [1]
    assert book.json("cta", "list")[0]["tasks"] == [1]


def test_a_customer_without_owner_gets_an_unassigned_task(clm):
    clm("customer", "add", "Acme", "--stage", "lead")
    assert clm("task", "add", "acme", "Qualify").stderr == "Added task 1 to acme, unassigned.\n"
    assert clm.json("task", "list")[0]["assignee"] is None


def test_list_order_filters_and_bare_noun(book):
    book("task", "add", "acme", "Undated")
    book("task", "add", "acme", "Late", "--due", "2026-11-01")
    book("task", "add", "globex", "Soon", "--due", "tomorrow")
    book("task", "add", "acme", "Later", "--due", "+1m", "--assignee", "bob")
    book("task", "add", "acme", "Also late", "--due", "2026-11-01")
    # By due date, undated last, then by id.
    assert titles(book) == ["Late", "Also late", "Soon", "Later", "Undated"]
    assert titles(book, "--customer", "globex") == ["Soon"]
    assert titles(book, "--assignee", "bob") == ["Soon", "Later"]
    assert titles(book, "--overdue") == ["Late", "Also late"]
    assert titles(book, "--customer", "acme", "--assignee", "alice") == [
        "Late", "Also late", "Undated",
    ]  # fmt: skip
    book("task", "done", 2)
    assert titles(book, "--overdue") == ["Also late"]
    assert titles(book, "--overdue", "--status", "all") == ["Also late"]
    assert titles(book, "--status", "done") == ["Late"]
    assert titles(book, "--status", "all") == ["Late", "Also late", "Soon", "Later", "Undated"]
    assert book("task").stdout == book("task", "list").stdout
    assert book("task", "--status", "done", "-f", "csv").stdout.splitlines()[1].startswith("2,")
    # The day after "Soon" is due, it is overdue too.
    later = book.json("--today", "2026-11-25", "task", "list", "--overdue")
    assert [t["title"] for t in later] == ["Also late", "Soon"]


def test_list_formats(book):
    book("task", "add", "acme", "=HYPERLINK(1)", "--due", "2026-12-01")
    book("task", "add", "acme", "Plain", "--milestone", 1)
    csv_lines = book("task", "list", "--format", "csv").stdout.splitlines()
    assert csv_lines[0] == ",".join(TASK_KEYS)
    assert csv_lines[1].startswith("1,") and csv_lines[1].endswith(
        ",acme,'=HYPERLINK(1),2026-12-01,open,alice,,,"
    )
    assert csv_lines[2].endswith(",acme,Plain,,open,alice,1,,")
    tsv_lines = book("task", "list", "--format", "tsv").stdout.splitlines()
    assert tsv_lines[0] == "\t".join(TASK_KEYS)
    assert tsv_lines[2].split("\t")[2:] == ["acme", "Plain", "", "open", "alice", "1", "", ""]
    jsonl = [json.loads(line) for line in book("task", "list", "-f", "jsonl").stdout.splitlines()]
    assert jsonl == book.json("task", "list")
    table = book("task", "list").stdout.splitlines()
    assert table[0].split() == [
        "id", "customer", "title", "due", "status", "assignee", "milestone", "CTA",
    ]  # fmt: skip
    assert table[2].split() == ["1", "acme", "=HYPERLINK(1)", "2026-12-01", "open", "alice"]
    assert table[3].split() == ["2", "acme", "Plain", "open", "alice", "1"]


def test_empty_lists_are_valid_output(clm):
    assert clm("task", "list", "-f", "json").stdout == "[]\n"
    assert clm("task", "list", "-f", "jsonl").stdout == ""
    assert clm("task", "list", "-f", "csv").stdout == ",".join(TASK_KEYS) + "\n"
    result = clm("task", "list")
    assert (result.stdout, result.stderr) == ("", "No tasks.\n")


def test_done_twice_says_already_and_changes_nothing(book, db_path):
    book("task", "add", "acme", "Call", "--due", "2026-11-30")
    assert book("task", "done", 1).stderr == "Task 1 is done (2026-11-23).\n"
    before = dump(db_path)
    again = book("--today", "2026-11-25", "task", "done", 1)
    assert again.stderr == "Task 1 was already done (2026-11-23).\n"
    assert dump(db_path) == before
    assert book.json("task", "list") == []
    [row] = book.json("task", "list", "--status", "done")
    assert (row["id"], row["status"]) == (1, "done")


def test_the_assignee_sees_it_in_my_agenda(book):
    book("task", "add", "globex", "Call", "--due", "2026-11-20")
    agenda = book.json("--as", "bob", "my")
    assert {"kind": "task", "id": 1, "customer": "globex", "title": "Call", "due": "2026-11-20",
            "detail": "3 days overdue"} in agenda  # fmt: skip


def test_rm_needs_yes_and_leaves_every_list(book, db_path):
    book("task", "add", "acme", "Call")
    before = dump(db_path)
    assert "pass --yes" in book.error("task", "rm", 1)
    assert dump(db_path) == before
    assert book("task", "rm", 1, "--yes").stderr == "Removed task 1 (Call).\n"
    assert book.json("task", "list", "--status", "all") == []
    assert book.error("task", "done", 1) == "Error: no task 1"


def test_removed_customers_tasks_never_show(book):
    book("task", "add", "acme", "Call")
    book("task", "add", "globex", "Visit")
    book("customer", "rm", "acme", "--yes")
    assert titles(book, "--status", "all") == ["Visit"]
    assert book.error("task", "done", 1) == "Error: no task 1 (its customer was removed)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "acm", "X"], "no customer 'acm'; did you mean 'acme'?"),
        (["add", "acme", " "], "invalid title '': a task needs a title"),
        (["add", "acme", "X", "--due", "someday"], "invalid --due 'someday': use YYYY-MM-DD"),
        (["add", "acme", "X", "--due", "2026-02-30"], "invalid --due '2026-02-30'"),
        (["add", "acme", "X", "--assignee", "alcie"], "no user 'alcie'; did you mean 'alice'?"),
        (["add", "acme", "X", "--milestone", "99"], "no milestone 99"),
        (["add", "acme", "X", "--cta", "99"], "no CTA 99"),
        (
            ["add", "acme", "X", "--milestone", "2"],
            "milestone 2 is on customer 'globex', not 'acme'",
        ),
        (["add", "acme", "X", "--cta", "1"], "CTA 1 is on customer 'globex', not 'acme'"),
        (["done", "99"], "no task 99"),
        (["rm", "99", "--yes"], "no task 99"),
        (["list", "--status", "late"], "invalid --status 'late': use open, done, cancelled or all"),
        (["list", "--customer", "nope"], "no customer 'nope'"),
        (["list", "--assignee", "nobody"], "no user 'nobody'"),
    ],
)
def test_refusals_name_the_value_and_change_nothing(book, db_path, args, message):
    book("cta", "open", "globex", "--type", "risk", "--reason", "quiet")
    before = dump(db_path)
    assert message in book.error("task", *args)
    assert dump(db_path) == before


def test_usage_errors_exit_2(book):
    assert "Missing argument" in book("task", "add", "acme", code=2).stderr
    # A value that is not a number is bad input, not a usage error: SPEC.md's exit 1.
    assert book.error("task", "add", "acme", "X", "--milestone", "one") == (
        "Error: invalid --milestone 'one': use a whole number, e.g. 30"
    )
