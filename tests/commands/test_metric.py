"""`clm metric`: metrics defined, values set and imported (long and wide form), shown."""

import pytest

from tests.conftest import dump


@pytest.fixture
def book(clm):
    clm("customer", "add", "Acme Corp")
    clm("customer", "add", "Beta")
    clm("metric", "add", "active_users", "--description", "Weekly active users")
    clm("metric", "add", "seats")
    return clm


def values(clm, customer="acme-corp", metric="active_users"):
    return [(p["day"], p["value"]) for p in clm.json("metric", "show", customer, metric)]


def test_metrics_are_added_listed_and_removed(book):
    assert book.json("metric", "list") == [
        {"name": "active_users", "description": "Weekly active users"},
        {"name": "seats", "description": None},
    ]
    assert book.error("metric", "add", "seats") == "Error: metric seats exists already"
    assert book.error("metric", "add", "Active Users").startswith(
        "Error: invalid metric name 'Active Users': use lowercase letters"
    )
    assert book.error("metric", "add", "health") == (
        "Error: invalid metric name 'health': health is a word clm reads; pick another"
    )
    book("metric", "set", "acme-corp", "seats", "12")
    assert book.error("metric", "rm", "seats") == (
        "Error: metric seats has 1 value: pass --yes to remove them with it"
    )
    book("metric", "rm", "seats", "--yes")
    assert [m["name"] for m in book.json("metric", "list")] == ["active_users"]
    assert book.error("metric", "show", "acme-corp", "seats") == "Error: no metric 'seats'"


def test_set_upserts_one_value_a_day(book):
    book("metric", "set", "acme-corp", "active_users", "42", "--on", "2026-11-20")
    result = book("metric", "set", "acme-corp", "active_users", "42", "--on", "2026-11-20")
    assert "already had that value" in result.stderr
    book("metric", "set", "acme-corp", "active_users", "50")  # today, 2026-11-23
    book("metric", "set", "acme-corp", "active_users", "51.5")
    assert values(book) == [("2026-11-20", 42), ("2026-11-23", 51.5)]


def test_set_refuses_bad_input_and_changes_nothing(book, db_path):
    before = dump(db_path)
    assert book.error("metric", "set", "acme-corp", "active_users", "many") == (
        "Error: invalid value 'many': use a number (42, 3.5, -1)"
    )
    assert book.error("metric", "set", "acme-corp", "active_users", "nan") == (
        "Error: invalid value 'nan': use a finite number"
    )
    assert book.error("metric", "set", "acme", "active_users", "1") == (
        "Error: no customer 'acme'; did you mean 'acme-corp'?"
    )
    assert book.error("metric", "set", "acme-corp", "active_user", "1") == (
        "Error: no metric 'active_user'; did you mean 'active_users'?"
    )
    assert book.error("metric", "set", "acme-corp", "seats", "1", "--on", "tomorrow") == (
        "Error: invalid day 2026-11-24: a metric's value is for today or a day before"
    )
    assert dump(db_path) == before


LONG = """customer,date,metric,value
acme-corp,2026-11-20,active_users,40
acme-corp,2026-11-21T09:30:00Z,active_users,44
beta,2026-11-21 10:12,seats,3
"""


def test_long_form_import_and_a_reimport_changes_nothing(book, tmp_path, db_path):
    (tmp_path / "usage.csv").write_text(LONG)
    result = book("metric", "import", tmp_path / "usage.csv")
    assert result.stderr == "Imported 3 values: 3 new or changed, 0 unchanged.\n"
    assert values(book) == [("2026-11-20", 40), ("2026-11-21", 44)]
    before = dump(db_path)
    result = book("metric", "import", tmp_path / "usage.csv")
    assert result.stderr == "Imported 3 values: 0 new or changed, 3 unchanged.\n"
    assert dump(db_path) == before
    (tmp_path / "usage.csv").write_text(LONG.replace(",44", ",45"))
    result = book("metric", "import", tmp_path / "usage.csv")
    assert result.stderr == "Imported 3 values: 1 new or changed, 2 unchanged.\n"
    assert values(book) == [("2026-11-20", 40), ("2026-11-21", 45)]


def test_wide_form_from_stdin_with_map(book):
    usage = "Account,Day,DAU,seats,Plan\nacme-corp,2026-11-22,45,10,pro\nbeta,2026-11-22,,2,free\n"
    maps = ("--map", "Account=customer", "--map", "Day=date", "--map", "DAU=active_users")
    result = book("metric", "import", "-", *maps, "--map", "Plan=", input=usage)
    assert result.stderr == "Imported 3 values: 3 new or changed, 0 unchanged.\n"
    assert values(book) == [("2026-11-22", 45)]
    assert values(book, "beta") == []  # an empty cell is no value
    assert values(book, "beta", "seats") == [("2026-11-22", 2)]


def test_a_file_with_bad_rows_imports_nothing_and_lists_them(book, tmp_path, db_path):
    before = dump(db_path)
    (tmp_path / "bad.csv").write_text(
        "customer,date,metric,value\n"
        "acme-corp,2026-11-20,active_users,40\n"
        "acme,2026-11-20,active_users,40\n"
        "beta,2026-13-01,seats,x\n"
        "beta,2026-11-30,seats,1\n"
        "beta,2026-11-20,seat,1\n"
    )
    result = book("metric", "import", tmp_path / "bad.csv", code=1)
    assert result.stderr.splitlines() == [
        "line 3, field customer: no customer 'acme'; did you mean 'acme-corp'?",
        "line 4, field date: invalid date '2026-13-01': use YYYY-MM-DD (a time is ignored)",
        "line 4, field value: invalid value 'x': use a number (42, 3.5)",
        "line 5, field date: 2026-11-30 is after today (2026-11-23)",
        "line 6, field metric: no metric 'seat'; did you mean 'seats'?; add it with clm metric add",
        "Error: 5 problems in the file; nothing imported",
    ]
    assert dump(db_path) == before


def test_a_file_of_neither_form_is_refused(book, tmp_path):
    (tmp_path / "f.csv").write_text("customer,date,plan\nacme-corp,2026-11-20,pro\n")
    assert book.error("metric", "import", tmp_path / "f.csv").startswith(
        "Error: line 1: unknown column 'plan'"
    )
    (tmp_path / "g.csv").write_text("customer,date,metric,seats\nacme-corp,2026-11-20,x,1\n")
    assert book.error("metric", "import", tmp_path / "g.csv").startswith(
        "Error: the file has both the long form's metric and a column per metric (seats)"
    )
    (tmp_path / "h.csv").write_text("customer,date\nacme-corp,2026-11-20\n")
    assert book.error("metric", "import", tmp_path / "h.csv").startswith(
        "Error: no metric in the file"
    )


def test_dry_run_writes_nothing(book, tmp_path, db_path):
    (tmp_path / "usage.csv").write_text(LONG)
    before = dump(db_path)
    result = book("metric", "import", tmp_path / "usage.csv", "--dry-run")
    assert result.stderr == "Dry run: would import 3 values: 3 new or changed, 0 unchanged; " \
        "nothing written.\n"  # fmt: skip
    assert dump(db_path) == before


def test_show_in_a_pipe_and_as_csv(book):
    for day, value in (("2026-11-01", 10), ("2026-11-02", 20), ("2026-11-04", 40)):
        book("metric", "set", "acme-corp", "active_users", value, "--on", day)
    assert book("metric", "show", "acme-corp", "active_users", "-f", "csv").stdout == (
        "day,value\n2026-11-01,10\n2026-11-02,20\n2026-11-04,40\n"
    )
    shown = book("metric", "show", "acme-corp", "active_users", "--since", "2026-11-02").stdout
    assert shown.splitlines()[2:] == ["2026-11-02      20", "2026-11-04      40"]


def test_sparkline_draws_the_series_with_its_gaps():
    from datetime import date

    from clm.render.sparkline import print_series

    class Out:
        def __init__(self):
            self.text = ""

        def write(self, text):
            self.text += text

    env = type("Env", (), {"stdout": Out(), "stderr": Out()})()
    points = [
        {"day": date(2026, 11, 1), "value": 10},
        {"day": date(2026, 11, 2), "value": 20},
        {"day": date(2026, 11, 4), "value": 40},
    ]
    print_series(env, "acme-corp active_users", points)
    assert env.stdout.text == (
        "acme-corp active_users  ▁▃ █  10 → 40 (2026-11-01 to 2026-11-04), low 10, high 40\n"
    )
