"""Values given on the command line: each bad one is one `Error: …` line, exit 1, nothing
changed; business-day offsets skip the model's holidays wherever a date comes in."""

import pytest

from tests.commands.test_model import exported, write
from tests.conftest import dump


def test_a_business_day_due_date_skips_the_holidays(clm):
    clm("customer", "add", "Gamma")
    clm("holiday", "add", "2026-12-25", "Christmas")
    # Monday 2026-12-21 + 5 business days: Friday the 25th is a holiday, so Tuesday the 29th.
    result = clm("--today", "2026-12-21", "task", "add", "gamma", "T", "--due", "+5bd")
    assert result.stderr == "Added task 5 to gamma, due 2026-12-29, unassigned.\n"
    result = clm("--today", "2026-12-21", "task", "add", "gamma", "U", "--due", "+5d")
    assert "due 2026-12-26" in result.stderr  # calendar days count every day
    result = clm("--today", "2026-12-29", "task", "add", "gamma", "V", "--due", "-2bd")
    assert "due 2026-12-24" in result.stderr


def test_a_playbook_offset_in_business_days_skips_the_holidays(clm, tmp_path):
    model = exported(clm)
    onboarding = next(p for p in model["playbooks"] if p["name"] == "onboarding")
    onboarding["items"][1]["offset"] = "+5bd"  # Schedule the kick-off call
    model["holidays"] = [{"day": "2026-12-25", "name": "Christmas"}]
    clm("model", "apply", write(tmp_path / "m.toml", model))
    clm("--today", "2026-12-21", "customer", "add", "Acme")
    [task] = [t for t in clm.json("task", "list") if t["title"] == "Schedule the kick-off call"]
    assert task["due"] == "2026-12-29"


def test_business_day_windows_skip_the_holidays(clm):
    clm("holiday", "add", "2026-11-26", "Thanksgiving")
    # Monday 2026-11-23 + 3 business days, Thursday off: Friday the 27th.
    clm("customer", "add", "Acme", "--stage", "lead", "--renewal", "2026-11-27")
    clm("milestone", "add", "acme", "Kick-off", "--due", "2026-11-27")
    listed = clm.json("customer", "list", "--renewal-within", "3bd")
    assert [c["slug"] for c in listed] == ["acme"]
    assert [m["title"] for m in clm.json("milestone", "list", "--due-within", "3bd")] == [
        "Kick-off"
    ]
    assert [r["slug"] for r in clm.json("report", "renewals", "--within", "3bd")] == ["acme"]
    clm("holiday", "rm", "2026-11-26")
    assert clm.json("customer", "list", "--renewal-within", "3bd") == []


NUMBER = "use a number, e.g. 24000 or 24000.50"
WHOLE = "use a whole number, e.g. 30"


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400"])
def test_a_number_that_is_not_finite_is_refused(clm, db_path, value):
    clm("customer", "add", "Acme", "--arr", "1200")
    before = dump(db_path)
    assert clm.error("customer", "edit", "acme", "--arr", value) == (
        f"Error: invalid --arr '{value}': {NUMBER}"
    )
    assert clm.error("customer", "add", "Beta", "--arr", value) == (
        f"Error: invalid --arr '{value}': {NUMBER}"
    )
    assert dump(db_path) == before
    assert clm.json("customer", "list")[0]["arr"] == 1200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arr", "1,000"], f"invalid --arr '1,000': {NUMBER} (no thousands separators)"),
        (["--arr", "abc"], f"invalid --arr 'abc': {NUMBER}"),
        (["--health", "50.5"], f"invalid --health '50.5': {WHOLE}"),
        (["--health", ""], f"invalid --health '': {WHOLE}"),
        (["--lead-score", "1e3"], f"invalid --lead-score '1e3': {WHOLE}"),
        (["--health", "9" * 20], f"invalid --health '{'9' * 20}': {WHOLE}"),
    ],
)
def test_a_bad_number_is_an_error_not_a_usage_error(clm, db_path, args, message):
    clm("customer", "add", "Acme")
    before = dump(db_path)
    assert clm.error("customer", "edit", "acme", *args) == f"Error: {message}"
    assert dump(db_path) == before


def test_a_bad_number_argument_or_ranged_option_is_an_error_too(clm, tmp_path):
    assert clm.error("milestone", "done", "abc") == f"Error: invalid ID 'abc': {WHOLE}"
    assert clm.error("task", "done", "9" * 20) == f"Error: invalid ID '{'9' * 20}': {WHOLE}"
    assert clm.error("customer", "list", "--limit", "x") == f"Error: invalid --limit 'x': {WHOLE}"
    assert clm.error("--db", tmp_path / "d.db", "demo", "--customers", "0") == (
        "Error: invalid --customers '0': use a whole number from 1 to 100000"
    )
    assert not (tmp_path / "d.db").exists()


def test_numbers_as_typed_still_work(clm):
    clm("customer", "add", "Acme", "--arr", "2e3", "--health", " 50")
    clm("customer", "edit", "acme", "--lead-score", "+7")
    [acme] = clm.json("customer", "list")
    assert (acme["arr"], acme["health"], acme["lead_score"]) == (2000, 50, 7)


def test_a_bad_clm_today_is_named_as_the_variable(clm, monkeypatch):
    monkeypatch.setenv("CLM_TODAY", "bogus")
    assert clm.error("customer", "list").startswith("Error: invalid CLM_TODAY 'bogus': use ")
    assert clm.error("--today", "nope", "customer", "list").startswith(
        "Error: invalid --today 'nope': use "
    )
    clm("--today", "2026-11-23", "customer", "list")


def test_out_of_calendar_day_counts_are_refused(clm):
    assert clm.error("stage", "edit", "launched", "--expected-days", "999999999") == (
        "Error: invalid expected days 999999999: use a whole number of days from 1 to 36500"
    )
    assert clm.error(
        "rule", "add", "far", "--from", "launched", "--to", "adopting",
        "--when", "days_in_stage >= 99999999999",
    ) == (
        "Error: invalid condition 'days_in_stage >= 99999999999': days_in_stage takes at most "
        "36500 days"
    )  # fmt: skip
    huge = "9" * 400  # float() makes it infinite
    assert (
        clm.error(
            "rule",
            "add",
            "rich",
            "--from",
            "launched",
            "--to",
            "adopting",
            "--when",
            f"arr >= {huge}",
        )
        == f"Error: invalid condition 'arr >= {huge}': {huge} is not a finite number"
    )


EVERY = (
    "use year, quarter, month, week or a duration like 6m (days, weeks, months or years, "
    "up to 100 years)"
)


@pytest.mark.parametrize("every", ["", " ", "-1m", "5bd", "0d", "99999y", "1201m", "fortnightly"])
def test_a_recurrence_milestone_add_cannot_use_is_refused(clm, db_path, every):
    clm("customer", "add", "Acme", "--stage", "lead")
    before = dump(db_path)
    assert (
        clm.error("milestone", "add", "acme", "Review", "--due", "2027-01-01", "--every", every)
        == f"Error: invalid --every '{every}': {EVERY}"
    )
    assert dump(db_path) == before


def test_a_recurrence_past_the_calendar_is_refused_at_add_edit_and_import(clm, db_path, tmp_path):
    clm("customer", "add", "Acme", "--stage", "lead")
    before = dump(db_path)
    assert clm.error(
        "milestone", "add", "acme", "Far", "--due", "9999-12-31", "--every", "year"
    ) == (
        "Error: a milestone due 9999-12-31 cannot recur every 1y: its next occurrence would be "
        "past 9999-12-31"
    )
    (tmp_path / "m.csv").write_text("customer,title,due,every\nacme,Far,9999-06-30,1y\n")
    assert clm.error("import", "milestones", tmp_path / "m.csv") == (
        "Error: line 2, field every: a milestone due 9999-06-30 cannot recur every 1y: its next "
        "occurrence would be past 9999-12-31; nothing imported"
    )
    assert dump(db_path) == before
    added = clm("milestone", "add", "acme", "Review", "--due", "2027-01-01", "--every", "100y")
    milestone_id = added.stderr.split()[2]
    assert clm.error("milestone", "edit", milestone_id, "--due", "9950-01-01") == (
        "Error: a milestone due 9950-01-01 cannot recur every 100y: its next occurrence would "
        "be past 9999-12-31"
    )
    clm("milestone", "done", milestone_id)
    assert [m["due"] for m in clm.json("milestone", "list")] == ["2127-01-01"]


def test_a_milestone_cannot_be_done_after_today(clm, db_path):
    clm("customer", "add", "Acme", "--stage", "lead")
    clm("milestone", "add", "acme", "Go-live", "--due", "2026-12-01")
    before = dump(db_path)
    assert clm.error("milestone", "done", "1", "--on", "+30d") == (
        "Error: invalid --on 2026-12-23: a milestone cannot be done after today (2026-11-23)"
    )
    assert clm.error("customer", "move", "acme", "prospect", "--on", "tomorrow") == (
        "Error: invalid --on 2026-11-24: a move cannot be dated after today (2026-11-23)"
    )
    assert dump(db_path) == before
    clm("milestone", "done", "1", "--on", "yesterday")
    [done] = clm.json("milestone", "list", "--status", "done")
    assert done["done_on"] == "2026-11-22"


def test_an_unknown_author_is_refused_once_there_are_users(team, db_path, monkeypatch):
    team("customer", "add", "Acme", "--stage", "lead")
    before = dump(db_path)
    users = "alice, amy, bob, mia, sam"
    assert team.error("--as", "zed", "note", "acme", "hi") == (
        f"Error: no user 'zed' (from --as): the users are {users}"
    )
    for args in (
        ["customer", "add", "Beta"],
        ["customer", "move", "acme", "prospect"],
        ["customer", "renew", "acme"],
    ):
        assert team.error("--as", "zed", *args).startswith("Error: no user 'zed' (from --as)")
    monkeypatch.setenv("CLM_USER", "alcie")
    assert team.error("note", "acme", "hi") == (
        f"Error: no user 'alcie' (from CLM_USER): the users are {users}; did you mean 'alice'?"
    )
    assert dump(db_path) == before
    team("--as", "Alice", "note", "acme", "hi")  # --as wins over CLM_USER, any case
    team("user", "rm", "bob", "--yes")
    assert team.error("--as", "bob", "note", "acme", "bye") == (
        "Error: user 'bob' was removed (from --as): the users are alice, amy, mia, sam"
    )
    assert [n["by"] for n in team.json("export", "notes")] == ["alice"]


def test_an_import_checks_its_author(team, tmp_path):
    (tmp_path / "c.csv").write_text("name\nGamma\n")
    assert team.error("--as", "zed", "import", "customers", tmp_path / "c.csv").startswith(
        "Error: no user 'zed' (from --as)"
    )
    team("--as", "sam", "import", "customers", tmp_path / "c.csv")


def test_any_author_goes_on_a_book_without_users(clm):
    clm("--as", "me", "customer", "add", "Acme", "--stage", "lead")
    clm("--as", "me", "note", "acme", "kick-off")
    assert [n["by"] for n in clm.json("export", "notes")] == ["me"]
    assert [t["by"] for t in clm.json("export", "transitions")] == ["me"]


@pytest.mark.parametrize("term", ["0d", "0m", "101y", "1201m"])
def test_a_term_of_nothing_or_over_a_century_is_named_as_the_term(clm, db_path, term):
    clm("customer", "add", "Acme")
    before = dump(db_path)
    message = f"Error: invalid --term '{term}': use a term from 1 day to 100 years, e.g. 1y"
    assert clm.error("customer", "add", "E", "--term", term) == message
    assert clm.error("customer", "add", "L", "--stage", "lead", "--term", term) == message
    assert clm.error("customer", "edit", "acme", "--term", term) == message
    assert dump(db_path) == before


def test_a_term_whose_renewal_is_off_the_calendar_says_so(clm, tmp_path):
    assert clm.error("customer", "add", "E", "--start", "9999-06-01", "--term", "1y") == (
        "Error: invalid --term '1y': the renewal, 1y after the start 9999-06-01, would be past "
        "9999-12-31; pass --renewal"
    )
    (tmp_path / "c.csv").write_text("name,term\nT1,0d\nT2,2y\n")
    assert clm.error("import", "customers", tmp_path / "c.csv") == (
        "Error: line 2, field term: invalid term '0d': use a term from 1 day to 100 years, e.g. "
        "1y; nothing imported"
    )
