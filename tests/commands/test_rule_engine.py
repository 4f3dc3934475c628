"""The rules engine's memory and dates: a rule re-added under a name is a new rule; a rule on a
date field is dated no earlier than the edit that made it hold."""

from datetime import UTC, date, datetime, timedelta

from tests.conftest import ON_PG, sql


def cta_reasons(clm) -> list[str]:
    return [c["reason"] for c in clm.json("cta", "list", "--status", "all")]


def test_a_rule_removed_and_added_again_under_its_name_fires_again(team):
    team("rule", "disable", "at-risk")
    team("customer", "add", "Foo", "--health", "20")
    team("rule", "add", "lowh", "--from", "onboarding", "--when", "health < 30", "--cta", "risk:x")
    assert [c["reason"] for c in team.json("tick")["ctas_opened"]] == ["x"]
    team("rule", "rm", "lowh")
    team("rule", "add", "lowh", "--from", "onboarding", "--when", "health < 50", "--cta", "risk:y")
    [verdict] = {r["verdict"] for r in team.json("explain", "foo") if r["rule"] == "lowh"}
    assert verdict == "will open a risk CTA 'y', dated 2026-11-23"
    assert [(c["reason"], c["rule"]) for c in team.json("tick")["ctas_opened"]] == [("y", "lowh")]
    [verdict] = {r["verdict"] for r in team.json("explain", "foo") if r["rule"] == "lowh"}
    assert verdict == "won't: it fired on 2026-11-23 in this stay"
    assert team.json("--today", "2026-11-24", "tick")["ctas_opened"] == []
    # Disabled and enabled again, it is the same rule: it fired in this stay.
    team("rule", "disable", "lowh")
    team("rule", "enable", "lowh")
    assert team.json("--today", "2026-11-25", "tick")["ctas_opened"] == []
    assert cta_reasons(team) == ["x", "y"]


def test_a_playbook_rule_added_again_runs_its_playbook_again(team):
    team("customer", "add", "Foo", "--stage", "adopting", "--health", "60")

    def tasks_made(day: str) -> int:
        return len(team.json("--today", day, "tick")["tasks_created"])

    team(
        "rule", "add", "check", "--from", "adopting", "--when", "health < 70", "--playbook", "save"
    )
    made = tasks_made("2026-11-23")
    assert made > 0
    assert tasks_made("2026-11-24") == 0
    team("rule", "rm", "check")
    team(
        "rule", "add", "check", "--from", "adopting", "--when", "health < 70", "--playbook", "save"
    )
    # It runs again, and keeps the first run's items that are still open rather than doubling
    # them (issue 19: re-entry); once they are done, a run makes them anew.
    assert tasks_made("2026-11-25") == 0
    for task in team.json("task", "list", "--customer", "foo"):
        team("--today", "2026-11-25", "task", "done", str(task["id"]))
    team("rule", "rm", "check")
    team(
        "rule", "add", "check", "--from", "adopting", "--when", "health < 70", "--playbook", "save"
    )
    assert tasks_made("2026-11-26") == made
    assert tasks_made("2026-11-27") == 0


def test_firings_recorded_under_a_rule_name_count_only_for_the_rule_added_before_them(
    team, db_path
):
    """Books ticked before firings named the rule's uuid hold its name: they still stop the
    live rule of that name from firing again in the stay, but not a rule added after them."""
    team("rule", "disable", "at-risk")
    team("customer", "add", "Foo", "--health", "20")
    team("customer", "add", "Bar", "--health", "20")
    team("rule", "add", "lowh", "--from", "onboarding", "--when", "health < 30", "--cta", "risk:x")
    now = datetime.now(UTC)  # as clm stores it: naive UTC on SQLite
    fired_then = (now if ON_PG else now.replace(tzinfo=None)).isoformat(sep=" ")
    sql(
        db_path,
        "INSERT INTO rule_firings (uuid, rule, customer_id, stay, fired_on, created_at) "
        "SELECT 'legacy-' || slug, 'lowh', id, stay, '2026-11-20', :at FROM customers "
        "WHERE slug = 'foo'",
        at=fired_then,
    )
    [verdict] = {r["verdict"] for r in team.json("explain", "foo") if r["rule"] == "lowh"}
    assert verdict == "won't: it fired on 2026-11-20 in this stay"
    assert [c["customer"] for c in team.json("tick")["ctas_opened"]] == ["bar"]
    team("rule", "rm", "lowh")
    team("rule", "add", "lowh", "--from", "onboarding", "--when", "health < 50", "--cta", "risk:y")
    opened = team.json("--today", "2026-11-24", "tick")["ctas_opened"]
    assert sorted((c["customer"], c["reason"]) for c in opened) == [("bar", "y"), ("foo", "y")]


def _days(first: str, last: str) -> list[str]:
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    days = []
    while day <= end:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def _renewal_moves(clm, slug: str) -> list[tuple]:
    return [(m["on"], m["from"], m["to"]) for m in clm.json("why", slug) if m["to"] == "renewal"]


def test_a_renewal_date_moved_near_moves_the_customer_on_the_day_of_the_edit(team):
    """Ticked daily to June 1 (renewal a year out: no move), then the renewal date moves to
    July 1 that day: the move is dated June 1, not 90 days before July 1 (April 2), and the
    renewal playbook's tasks are due from June 1."""
    team("--today", "2026-01-01", "customer", "add", "Foo", "--renewal", "2027-06-01")
    team("--today", "2026-01-01", "customer", "move", "foo", "adopting")
    for day in ("2026-03-01", "2026-05-31"):
        assert team.json("--today", day, "tick")["transitions"] == []
    team("--today", "2026-06-01", "customer", "edit", "foo", "--renewal", "2026-07-01")
    [check] = [r for r in team.json("--today", "2026-06-01", "explain", "foo")
               if r["rule"] == "renewal-due"]  # fmt: skip
    assert (check["since"], check["verdict"]) == (
        "2026-06-01",
        "will move to renewal, dated 2026-06-01",
    )
    news = team.json("--today", "2026-06-01", "tick")
    assert [(t["customer"], t["on"], t["to"]) for t in news["transitions"]] == [
        ("foo", "2026-06-01", "renewal")
    ]
    assert all(task["due"] >= "2026-06-01" for task in news["tasks_created"])
    created = {task["id"] for task in news["tasks_created"]}
    assert created and not created & {o["id"] for o in news["overdue"] if o["kind"] == "task"}
    timeline = team.json("customer", "show", "foo")["timeline"]
    [entry] = [e for e in timeline if e["kind"] == "renewal"]
    assert (entry["on"], entry["text"]) == (
        "2026-06-01",
        "renewal date set to 2026-07-01 (was 2027-06-01)",
    )


def test_a_late_tick_after_a_renewal_edit_writes_what_daily_ticks_write(clm, new_db):
    """The same book ticked every day and ticked once ten days after the edit: the same
    history, the move dated the day of the edit."""
    histories = []
    for daily in (True, False):
        db = ("--db", str(new_db()))
        clm(*db, "init")
        clm(*db, "--today", "2026-01-01", "customer", "add", "Foo", "--stage", "adopting",
            "--renewal", "2027-06-01")  # fmt: skip
        clm(*db, "--today", "2026-05-31", "tick")
        clm(*db, "--today", "2026-06-01", "customer", "edit", "foo", "--renewal", "2026-08-01")
        for day in _days("2026-06-01", "2026-06-10") if daily else ["2026-06-10"]:
            clm(*db, "--today", day, "tick")
        histories.append(clm.json(*db, "why", "foo"))
    assert histories[0] == histories[1]
    assert [(m["on"], m["to"]) for m in histories[0]][-1] == ("2026-06-01", "renewal")


def test_a_renewal_edit_that_moves_the_date_still_counts_its_days_when_later(team):
    """An edit does not make a rule hold earlier than its days say: a renewal moved on June 1
    to December 1 holds from 90 days before (September 2)."""
    team("--today", "2026-01-01", "customer", "add", "Foo", "--stage", "adopting",
         "--renewal", "2027-06-01")  # fmt: skip
    team("--today", "2026-06-01", "customer", "edit", "foo", "--renewal", "2026-12-01")
    team("--today", "2026-11-23", "tick")
    assert _renewal_moves(team, "foo") == [("2026-09-02", "adopting", "renewal")]


def test_a_start_date_moved_back_holds_from_the_day_of_the_edit(team):
    team("rule", "add", "anniversary", "--from", "adopting", "--when", "days_since_start >= 365",
         "--cta", "expansion:a year with us")  # fmt: skip
    team("--today", "2026-01-01", "customer", "add", "Foo", "--stage", "adopting")
    assert team.json("--today", "2026-05-31", "tick")["ctas_opened"] == []
    team("--today", "2026-06-01", "customer", "edit", "foo", "--start", "2025-03-01")
    opened = team.json("--today", "2026-06-05", "tick")["ctas_opened"]
    assert [(c["reason"], c["on"]) for c in opened] == [("a year with us", "2026-06-01")]
    [entry] = [e for e in team.json("customer", "show", "foo")["timeline"] if e["kind"] == "start"]
    assert (entry["on"], entry["text"]) == (
        "2026-06-01",
        "start date set to 2025-03-01 (was 2026-01-01)",
    )


def test_an_edit_dated_after_the_tick_day_is_not_true_yet(team):
    team("--today", "2026-01-01", "customer", "add", "Foo", "--stage", "adopting",
         "--renewal", "2027-06-01")  # fmt: skip
    team("--today", "2026-06-01", "customer", "edit", "foo", "--renewal", "2026-07-01")
    assert team.json("--today", "2026-05-20", "tick", "--dry-run")["transitions"] == []
    assert team.json("--today", "2026-06-02", "tick")["transitions"][0]["on"] == "2026-06-01"
