"""What the daily tick reads and writes through migration 0006's layout: reminders kept in day
order, a partial index of done milestones for `milestone_done:` rules, a lead-score index of
scored customers only. The tick decides exactly as before."""

from tests.conftest import sql


def _milestone(clm, slug: str, title: str) -> int:
    (found,) = [
        m for m in clm.json("milestone", "list", "--customer", slug, "--status", "all")
        if m["title"] == title
    ]  # fmt: skip
    return found["id"]


def test_milestone_done_rule_counts_only_live_done_milestones_of_its_title(clm):
    for name in ("Done", "Removed", "Open", "Other"):
        clm("--today", "2026-11-01", "customer", "add", name, "--start", "2026-11-01")
    clm("--today", "2026-11-01", "milestone", "add", "other", "Kick-off", "--due", "2026-11-10")
    clm("--today", "2026-11-01", "milestone", "add", "open", "Kick-off", "--due", "2026-11-10")
    training = {slug: _milestone(clm, slug, "Personnel training") for slug in ("done", "removed")}
    clm("milestone", "done", str(training["done"]), "--on", "2026-11-05")
    clm("milestone", "done", str(training["removed"]), "--on", "2026-11-05")
    clm("milestone", "rm", str(training["removed"]), "--yes")
    clm("milestone", "done", str(_milestone(clm, "other", "Kick-off")), "--on", "2026-11-05")

    news = clm.json("--today", "2026-11-06", "tick")

    assert [(t["customer"], t["on"], t["rule"]) for t in news["transitions"]] == [
        ("done", "2026-11-05", "onboarded")
    ]


def test_lead_score_rule_sees_scored_leads_and_moves_unscored_customers_alike(clm, db_path):
    clm("customer", "add", "Hot", "--stage", "lead", "--lead-score", "80")
    clm("customer", "add", "Cold", "--stage", "lead", "--lead-score", "20")
    clm("customer", "add", "Unscored", "--stage", "lead")
    assert [t["customer"] for t in clm.json("tick")["transitions"]] == ["hot"]
    clm("customer", "edit", "cold", "--lead-score", "65")
    assert [t["customer"] for t in clm.json("tick")["transitions"]] == ["cold"]
    stages = dict(sql(db_path, "SELECT slug, stage FROM customers"))
    assert stages == {"hot": "prospect", "cold": "prospect", "unscored": "lead"}


def test_reminders_fire_once_on_their_day_after_their_due_date_moves(clm, db_path):
    clm("user", "add", "alice")  # a reminder with nobody to hear it is not sent
    clm("customer", "add", "Acme", "--stage", "adopting", "--owner", "alice")
    clm("milestone", "add", "acme", "Review", "--due", "2026-12-10", "--remind", "1w")
    review = _milestone(clm, "acme", "Review")
    clm("milestone", "edit", str(review), "--due", "2026-12-20")

    def fired(day: str) -> list:
        news = clm.json("--today", day, "tick")
        return [(r["remind_on"]) for r in news["reminders"] if r["milestone"] == review]

    assert fired("2026-12-03") == []
    assert fired("2026-12-13") == ["2026-12-13"]
    assert fired("2026-12-14") == []
    query = "SELECT pending FROM milestone_reminders WHERE milestone_id = :m"
    assert [bool(p) for (p,) in sql(db_path, query, m=review)] == [False]


def test_a_due_reminder_already_in_the_log_is_settled_but_not_fired_again(clm, db_path):
    clm("user", "add", "alice")  # a reminder with nobody to hear it is not sent
    clm("customer", "add", "Acme", "--stage", "adopting", "--owner", "alice")
    for title in ("Logged", "Fresh"):
        clm("milestone", "add", "acme", title, "--due", "2026-11-30", "--remind", "1w")
    (logged,) = [m for m in clm.json("milestone", "list") if m["title"] == "Logged"]
    # As a synced copy's tick would have left it: in the log, still pending here.
    sql(
        db_path,
        'INSERT INTO reminder_log (uuid, milestone_uuid, "offset", remind_on, fired_on, '
        "recipients, created_at) VALUES ('elsewhere', :m, '1w', '2026-11-23', '2026-11-23', '', "
        "'2026-11-23 07:00:00')",
        m=logged["uuid"],
    )

    fired = clm.json("tick")["reminders"]

    assert [r["title"] for r in fired if r["customer"] == "acme"] == ["Fresh"]
    query = "SELECT count(*) FROM milestone_reminders WHERE pending AND remind_on <= '2026-11-23'"
    assert sql(db_path, query) == [(0,)]
