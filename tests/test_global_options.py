"""Global options anywhere on the line, as gh takes them: after the subcommand, among its
own options, in any order."""

import pytest


@pytest.fixture
def book(team, tmp_path):
    clm = team
    clm("--db", tmp_path / "other.db", "init")
    clm("--db", tmp_path / "other.db", "user", "add", "bob", "--team", "sales")
    clm("customer", "add", "Acme Corp", "--stage", "lead")
    return tmp_path / "other.db"


@pytest.mark.parametrize(
    "args",
    [
        ("--db", "{db}", "customer", "list", "-f", "json"),
        ("customer", "list", "--db", "{db}", "-f", "json"),
        ("customer", "list", "-f", "json", "--db={db}"),
        ("customer", "--db", "{db}", "-f", "json"),
        ("customer", "-f", "json", "--db", "{db}"),
    ],
    ids=" ".join,
)
def test_db_is_taken_before_or_after_the_subcommand(clm, book, args):
    assert clm(*(a.format(db=book) for a in args)).stdout == "[]\n"


def test_today_and_as_after_the_subcommand(clm, book):
    clm("customer", "add", "Globex", "--as", "bob", "--db", book, "--today", "2026-01-05")
    shown = clm.json("customer", "show", "globex", "--db", book)
    assert shown["stage_entered"] == "2026-01-05"
    assert clm.json("why", "globex", "--db", book)[0]["by"] == "bob"


def test_a_commands_own_option_of_the_same_name_stays_its_own(clm, book):
    # `tick --today` is tick's own option: it is not moved, and means the same day.
    assert (
        '"date": "2026-12-01"'
        in clm("tick", "--dry-run", "--today", "2026-12-01", "-f", "json").stdout
    )


def test_option_values_and_words_after_double_dash_stay_put(team):
    clm = team
    clm("customer", "add", "Acme Corp")
    clm("note", "acme-corp", "--kind", "call", "--", "--db")
    timeline = clm.json("customer", "show", "acme-corp")["timeline"]
    assert timeline[-1]["text"] == "--db"


def test_a_global_option_without_its_value_is_a_usage_error(clm):
    assert "--db" in clm("customer", "list", "--db", code=2).stderr
