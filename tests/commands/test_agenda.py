"""`clm` alone: the day's agenda, from a fresh machine to the demo book."""

import pytest


@pytest.fixture
def fresh_machine(tmp_path, monkeypatch):
    """No CLM_DB and nothing at the default place yet."""
    monkeypatch.delenv("CLM_DB")
    return tmp_path / "data" / "clm" / "clm.db"


@pytest.mark.sqlite_only("a database file that does not exist yet")
def test_no_database_says_how_to_start(clm, fresh_machine):
    db_path = fresh_machine
    result = clm()
    assert "clm demo" in result.stderr and "clm init" in result.stderr
    assert result.stdout == ""
    assert not db_path.exists()


@pytest.mark.sqlite_only("a database file that does not exist yet")
def test_no_database_is_an_empty_agenda_for_a_script(clm, fresh_machine):
    db_path = fresh_machine
    assert clm("agenda", "-f", "json").stdout == "[]\n"
    assert clm("agenda", "-f", "jsonl").stdout == ""
    assert not db_path.exists()


def test_demo_then_the_agenda(clm, tmp_path, monkeypatch):
    result = clm("demo")
    assert f"A demo book is here: export CLM_DB={tmp_path / 'clm-demo.db'}" in clm().stderr
    assert "export CLM_DB=" in result.stderr and "CLM_USER=alice" in result.stderr
    monkeypatch.setenv("CLM_DB", str(tmp_path / "clm-demo.db"))
    book = clm().stdout
    for title in (
        "Reminders of the last two weeks",
        "Overdue",
        "Over their stage's expected days",
        "Renewals in",
    ):
        assert title in book
    assert "clm customer renew aperture-corp" in book
    assert "Last tick: 2026-11-23" in book
    # In a pipe: plain tables as every list writes them (no box drawing, no trailing spaces).
    assert "\nOverdue (" in book and "\nkind " in book and "\n-----" in book
    assert "─" not in book and not any(line.endswith(" ") for line in book.splitlines())
    mine = clm("--as", "alice").stdout
    assert "for alice" in mine
    rows = clm.json("agenda")
    assert {row["section"] for row in rows} == {"reminders", "overdue", "over_sla", "renewals"}
    theirs = clm.json("--as", "amy", "agenda")
    assert theirs and all(
        row["section"] != "overdue" or "alice" not in row["detail"] for row in theirs
    )


def test_the_agenda_names_the_last_tick(team):
    clm = team
    assert "No tick yet" in clm().stdout
    clm("customer", "add", "Acme", "--renewal", "+10d")
    clm("tick")
    assert "Last tick: 2026-11-23" in clm().stdout
    assert "3 days behind: run `clm tick`" in clm("--today", "+3d").stdout
    assert "clm customer renew acme" in clm().stdout


def test_an_unknown_user_gets_a_suggestion(team):
    assert team.error("--as", "alcie") == "Error: no user 'alcie'; did you mean 'alice'?"


def test_a_lapsed_renewal_is_on_the_agenda_first(team):
    team("customer", "add", "Late", "--start", "2025-10-01", "--renewal", "2026-11-19")
    team("customer", "add", "Soon", "--renewal", "+10d")
    renewals = [row for row in team.json("agenda") if row["section"] == "renewals"]
    assert [(row["customer"], row["detail"]) for row in renewals] == [
        ("late", "lapsed 4 days ago"),
        ("soon", "in 10 days"),
    ]
    assert "Renewals in the next 30 days, or lapsed (2)" in team().stdout


def test_a_long_section_is_counted_up_to_a_bound(team, monkeypatch):
    import clm.domain.day

    monkeypatch.setattr(clm.domain.day, "COUNTED_UP_TO", 7)
    for n in range(9):
        team("customer", "add", f"Renewing {n}", "--renewal", f"+{n + 1}d")
    book = team().stdout
    assert "Renewals in the next 30 days, or lapsed (7+)" in book
    assert "  … 2+ more: clm customer list --renewal-within 30d" in book
    assert len([r for r in team.json("agenda") if r["section"] == "renewals"]) == 5
    monkeypatch.setattr(clm.domain.day, "COUNTED_UP_TO", 9)
    book = team().stdout
    assert "Renewals in the next 30 days, or lapsed (9)" in book
    assert "  … 4 more: clm customer list --renewal-within 30d" in book


def test_a_users_reminders_are_their_customers_and_those_they_work_on(team):
    """`--as` lists the fortnight's reminders of the user's customers' milestones and of the
    milestones they collaborate on, each once; not another owner's, not a finished one."""
    team("customer", "add", "Mine", "--owner", "alice")
    team("customer", "add", "Theirs", "--owner", "bob")
    team("customer", "add", "Nobodys", "--owner", "bob")
    due = ("--due", "+10d", "--remind", "2w")
    team("milestone", "add", "mine", "Kick-off", *due)
    team("milestone", "add", "mine", "Both ways", *due, "--collaborator", "alice")
    team("milestone", "add", "theirs", "Helping", *due, "--collaborator", "alice")
    team("milestone", "add", "nobodys", "Not hers", *due)
    team("milestone", "add", "mine", "Finished", *due)
    finished = [m for m in team.json("milestone", "list") if m["title"] == "Finished"]
    team("milestone", "done", finished[0]["id"])
    team("tick")
    reminded = [
        (row["customer"], row["title"])
        for row in team.json("--as", "alice", "agenda")
        if row["section"] == "reminders"
    ]
    assert sorted(reminded) == [("mine", "Both ways"), ("mine", "Kick-off"), ("theirs", "Helping")]
    book = [r for r in team.json("agenda") if r["section"] == "reminders"]
    assert len(book) == 4
