"""`clm tick`, `clm rule …` and `clm explain` through the CLI: the engine's scenarios."""

import json
import subprocess
import sys
from datetime import date, timedelta

from tests.conftest import dump


def moves(clm, slug):
    return [(m["on"], m["from"], m["to"], m["by"]) for m in clm.json("why", slug)]


def test_a_first_tick_dates_each_move_the_day_it_became_due(team):
    team(
        "--today",
        "2026-01-01",
        "customer",
        "add",
        "Acme",
        "--start",
        "2026-01-01",
        "--renewal",
        "2027-06-30",
    )
    result = team.json("--today", "2026-04-15", "tick")
    assert result["transitions"] == [
        {
            "customer": "acme",
            "from": "onboarding",
            "to": "launched",
            "on": "2026-01-31",
            "rule": "launch",
        },
        {
            "customer": "acme",
            "from": "launched",
            "to": "adopting",
            "on": "2026-04-01",
            "rule": "adopt",
        },
    ]
    assert moves(team, "acme")[1:] == [
        ("2026-01-31", "onboarding", "launched", "rule:launch"),
        ("2026-04-01", "launched", "adopting", "rule:adopt"),
    ]
    again = team.json("--today", "2026-04-15", "tick")
    assert (
        again["transitions"],
        again["reminders"],
        again["ctas_opened"],
        again["tasks_created"],
    ) == (
        [],
        [],
        [],
        [],
    )
    assert again["overdue"] == result["overdue"] and again["dry_run"] is False


def test_daily_ticks_and_one_late_tick_write_the_same_history(team, tmp_path):
    def book(db):
        team("--db", db, "init")
        team(
            "--db",
            db,
            "--today",
            "2026-01-01",
            "user",
            "add",
            "alice",
            "--team",
            "customer-success",
            "--default-owner",
        )
        team(
            "--db",
            db,
            "--today",
            "2026-01-01",
            "customer",
            "add",
            "Acme",
            "--renewal",
            "2026-05-20",
        )
        team(
            "--db", db, "--today", "2026-01-10", "customer", "add", "Beta", "--start", "2026-01-10"
        )
        team("--db", db, "--today", "2026-01-05", "customer", "add", "Gamma", "--stage", "lead")
        team("--db", db, "--today", "2026-02-03", "customer", "edit", "gamma", "--lead-score", "70")
        team("--db", db, "--today", "2026-02-07", "customer", "edit", "beta", "--health", "20")

    daily, late = tmp_path / "daily.db", tmp_path / "late.db"
    book(daily)
    book(late)
    day = date(2026, 1, 1)
    while day <= date(2026, 3, 31):
        team("--db", daily, "--today", day.isoformat(), "tick", "--quiet")
        day += timedelta(days=1)
    team("--db", late, "--today", "2026-03-31", "tick", "--quiet")
    histories = {}
    for db in (daily, late):
        histories[db] = {
            slug: [
                (m["on"], m["from"], m["to"], m["by"]) for m in team.json("--db", db, "why", slug)
            ]
            for slug in ("acme", "beta", "gamma")
        }
    assert histories[late] == histories[daily]
    assert [m[2] for m in histories[late]["acme"]] == ["onboarding", "launched", "renewal"]
    assert [m[2] for m in histories[late]["beta"]] == ["onboarding", "will-churn"]
    assert [m[2] for m in histories[late]["gamma"]] == ["lead", "prospect"]


def test_a_lead_qualifies_and_is_handed_to_sales(team):
    team(
        "--today",
        "2026-03-01",
        "customer",
        "add",
        "Initech",
        "--stage",
        "lead",
        "--lead-score",
        "20",
    )
    team("--today", "2026-03-10", "customer", "edit", "initech", "--lead-score", "60")
    result = team.json("--today", "2026-03-20", "tick")
    assert result["transitions"] == [
        {
            "customer": "initech",
            "from": "lead",
            "to": "prospect",
            "on": "2026-03-10",
            "rule": "qualify",
        }
    ]
    assert team.json("customer", "show", "initech")["owner"] == "sam"
    [handoff] = [m for m in team.json("why", "initech") if m["to"] == "prospect"]
    assert handoff["by"] == "rule:qualify" and handoff["reason"] == "lead_score >= 50"


def test_renewal_within_90_days_moves_on_exactly_the_90th_day_before(team):
    team(
        "--today",
        "2026-01-01",
        "customer",
        "add",
        "Acme",
        "--stage",
        "adopting",
        "--renewal",
        "2026-09-30",
    )
    assert team.json("--today", "2026-07-01", "tick")["transitions"] == []
    team.json("--today", "2026-07-20", "tick")
    assert moves(team, "acme")[-1] == ("2026-07-02", "adopting", "renewal", "rule:renewal-due")
    assert team.json("customer", "show", "acme")["owner"] == "amy"


def test_low_health_opens_one_risk_cta_dated_the_edit(team):
    team("--today", "2026-01-01", "customer", "add", "Acme", "--stage", "adopting")
    team("--today", "2026-02-10", "customer", "edit", "acme", "--health", "30")
    first = team.json("--today", "2026-02-20", "tick")
    assert first["ctas_opened"] == [
        {
            "id": 1,
            "customer": "acme",
            "type": "risk",
            "reason": "health below 40",
            "on": "2026-02-10",
            "rule": "at-risk",
        }
    ]
    assert moves(team, "acme")[-1] == ("2026-02-10", "adopting", "will-churn", "rule:at-risk")
    titles = {t["title"] for t in first["tasks_created"]}
    assert titles == {"Call the executive sponsor", "Agree a save plan"}
    for day in ("2026-02-20", "2026-02-21", "2026-03-15"):
        assert team.json("--today", day, "tick")["ctas_opened"] == []
    assert len(team.json("cta", "list", "--status", "all")) == 1


def test_a_closed_cta_is_not_reopened_while_the_condition_holds(team):
    team(
        "rule",
        "add",
        "watch",
        "--from",
        "adopting",
        "--when",
        "health < 60",
        "--cta",
        "risk:watch it",
    )
    team("customer", "add", "Acme", "--stage", "adopting", "--health", "50")
    assert len(team.json("tick")["ctas_opened"]) == 1
    team("cta", "close", 1, "--outcome", "called them")
    assert team.json("--today", "2026-11-24", "tick")["ctas_opened"] == []


def test_dry_run_until_plays_each_day_and_writes_nothing(team, db_path):
    team("--today", "2026-11-01", "customer", "add", "Acme", "--start", "2026-11-01")
    before = dump(db_path)
    days = team.json("tick", "--dry-run", "--until", "2026-12-05")  # one array of the days
    assert [d["date"] for d in days][:2] == ["2026-11-23", "2026-11-24"] and len(days) == 13
    out = team("tick", "--dry-run", "--until", "2026-12-05", "-f", "jsonl").stdout.splitlines()
    assert [json.loads(line) for line in out] == days
    assert all(d["dry_run"] for d in days)
    assert [(d["date"], t["to"]) for d in days for t in d["transitions"]] == [
        ("2026-12-01", "launched")
    ]
    assert dump(db_path) == before
    assert "use them with --dry-run" in team.error("tick", "--until", "+3d")


def test_tick_takes_today_as_its_own_option_too(team):
    team("customer", "add", "Acme", "--stage", "adopting")
    assert team.json("tick", "--today", "2026-11-30")["date"] == "2026-11-30"
    assert team.json("--today", "2026-11-30", "tick")["transitions"] == []  # the same day again
    assert team.json("tick", "--today", "+2d")["date"] == "2026-11-25"
    assert "invalid --today '2026-13-01'" in team.error("tick", "--today", "2026-13-01")
    assert "use table, json or jsonl" in team.error("tick", "-f", "csv")


def test_a_disabled_rule_can_be_tried_in_a_dry_run(team, db_path):
    team("rule", "add", "stalled", "--from", "onboarding", "--when", "days_in_stage >= 10",
         "--cta", "risk:stalled", "--disabled")  # fmt: skip
    team("--today", "2026-11-01", "customer", "add", "Acme")
    assert team.json("tick", "--dry-run")["ctas_opened"] == []
    before = dump(db_path)
    tried = team.json("tick", "--dry-run", "--try", "stalled")["ctas_opened"]
    assert [(c["customer"], c["reason"], c["on"]) for c in tried] == [
        ("acme", "stalled", "2026-11-11")
    ]
    assert dump(db_path) == before
    assert "no rule 'stale'" in team.error("tick", "--dry-run", "--try", "stale")


def test_quiet_prints_nothing_on_a_quiet_day(team):
    team("customer", "add", "Acme")
    team("tick")
    result = team("tick", "--quiet")
    assert (result.stdout, result.stderr) == ("", "")
    assert team("tick", "--quiet", "-f", "json").stdout == ""
    assert team("--today", "2026-12-23", "tick", "--quiet").stdout.startswith("tick of 2026-12-23")


def test_rule_book(team, db_path):
    before = dump(db_path)
    error = team.error(
        "rule",
        "add",
        "Bad Name",
        "--from",
        "nowhere",
        "--when",
        "mood > 3",
        "--when",
        "health >= 1.5",
        "--cta",
        "panic:now",
    )
    for part in (
        "invalid rule name 'bad name'",
        "no stage 'nowhere'",
        "invalid condition 'mood > 3'",
        "health takes a whole number",
        "invalid --cta 'panic:now'",
    ):
        assert part in error
    assert dump(db_path) == before
    assert "already exists" in team.error(
        "rule", "add", "launch", "--from", "onboarding", "--when", "health < 1", "--to", "launched"
    )
    team(
        "rule",
        "add",
        "stalled",
        "--from",
        "onboarding,launched",
        "--when",
        "days_in_stage >= 45",
        "--cta",
        "risk:stalled",
        "--disabled",
    )
    [rule] = [r for r in team.json("rule", "list") if r["name"] == "stalled"]
    assert rule == {
        "name": "stalled",
        "from": ["onboarding", "launched"],
        "to": None,
        "when": ["days_in_stage >= 45"],
        "cta": "risk:stalled",
        "playbook": None,
        "enabled": False,
        "churn_reason": None,
    }
    team("rule", "enable", "stalled")
    assert "already enabled" in team.error("rule", "enable", "stalled")
    team("rule", "rm", "stalled")
    assert "no rule 'stalled'" in team.error("rule", "disable", "stalled")


def test_explain_says_what_each_rule_would_do(team):
    team("--today", "2026-11-01", "customer", "add", "Acme", "--health", "35")
    rows = team.json("explain", "acme")
    by_rule = {r["rule"]: r for r in rows}
    assert by_rule["launch"] | {"verdict": ""} == {
        "rule": "launch",
        "condition": "days_in_stage >= 30",
        "value": 22,
        "holds": False,
        "since": None,
        "verdict": "",
    }
    assert by_rule["launch"]["verdict"] == "won't yet: days_in_stage >= 30 does not hold"
    assert by_rule["at-risk"]["holds"] is True and by_rule["at-risk"]["since"] == "2026-11-01"
    assert by_rule["at-risk"]["verdict"] == (
        "will move to will-churn, open a risk CTA 'health below 40', dated 2026-11-01"
    )
    team("tick")
    # Out of will-churn: health back at 70 or more for 14 days (at 35, it won't yet).
    [recovered] = team.json("explain", "acme")
    assert (recovered["rule"], recovered["value"], recovered["verdict"]) == (
        "recovered",
        35,
        "won't yet: health >= 70 for 14d does not hold",
    )


def _tick(db: str, out):
    result = subprocess.run(
        [sys.executable, "-m", "clm", "--db", db, "tick", "-f", "json"],
        capture_output=True,
        text=True,
    )
    out.put((result.returncode, result.stdout, result.stderr))


def test_concurrent_ticks_fire_each_reminder_once(team, db_path):
    import multiprocessing

    for n in range(5):
        team("customer", "add", f"Customer {n}", "--stage", "lead")
        team("milestone", "add", f"customer-{n}", "Go-live", "--due", "+5d", "--remind", "1w")
    results = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_tick, args=(str(db_path), results)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    outputs = [results.get(timeout=120) for _ in workers]
    assert [code for code, _, _ in outputs] == [0, 0, 0, 0], outputs
    fired = [len(json.loads(out)["reminders"]) for _, out, _ in outputs]
    assert sorted(fired) == [0, 0, 0, 5]


def _backlog(team) -> list[dict]:
    """Acme, onboarded from 2026-09-01 (its playbook's milestones and tasks) with a milestone
    due each day from 2026-10-01 to 10-08: all overdue on 2026-11-23; and one due tomorrow
    whose reminder fires today (the day's news). The overdue items, oldest first."""
    team("--today", "2026-09-01", "customer", "add", "Acme", "--start", "2026-09-01",
         "--renewal", "2027-09-01")  # fmt: skip
    for i in range(8):
        team("--today", "2026-09-01", "milestone", "add", "acme", f"Step {i}", "--due",
             (date(2026, 10, 1) + timedelta(days=i)).isoformat())  # fmt: skip
    team("--today", "2026-09-01", "milestone", "add", "acme", "Launch", "--due", "2026-11-24",
         "--remind", "1d")  # fmt: skip
    overdue = team.json("report", "overdue")
    assert len(overdue) > 10
    return sorted(overdue, key=lambda row: (row["due"], row["kind"], row["id"]))


def test_the_tick_prints_the_day_s_news_whole_and_the_overdue_backlog_counted(team):
    """The overdue list is no news: a table shows its count, the oldest few and the command
    that lists them all; the reminders fired today are listed whole."""
    overdue = _backlog(team)
    early = team("tick", "--dry-run", "--today", "2026-09-12").stdout
    assert "\nOverdue (2)\n" in early and "more:" not in early
    out = team("tick").stdout.splitlines()
    assert out[0] == "tick of 2026-11-23"
    reminders = out.index("Reminders (4)")
    assert [line.split()[2] for line in out[reminders + 3 : reminders + 7]][-1] == "Launch"
    at = out.index(f"Overdue ({len(overdue)})")
    assert out[at + 1].split() == ["kind", "id", "customer", "title", "due", "days", "overdue"]
    listed = [line.split() for line in out[at + 3 : at + 8]]
    assert [(row[0], int(row[1]), row[-2]) for row in listed] == [
        (row["kind"], row["id"], row["due"]) for row in overdue[:5]
    ]  # the oldest first
    assert out[at + 8 :] == [f"  … {len(overdue) - 5} more: clm report overdue"]


def test_the_overdue_count_leaves_out_what_the_list_leaves_out(team, monkeypatch):
    """Counted past the listed bound, the backlog holds what `clm report overdue` lists: not
    the work of a removed customer or of a churned one (added after the churn), nor a removed
    or finished item; a blocked milestone and a past-due task are in it."""
    import clm.domain.engine.tick as engine_tick

    _backlog(team)
    at = ("--today", "2026-09-01")

    def added(title: str) -> str:
        team(*at, "milestone", "add", "acme", title, "--due", "2026-10-02")
        [found] = [m["id"] for m in team.json("milestone", "list") if m["title"] == title]
        return str(found)

    team(*at, "milestone", "block", added("Stuck"), "--reason", "waiting")
    team(*at, "milestone", "rm", added("Dropped"), "--yes")
    team(*at, "milestone", "done", added("Done early"))
    team(*at, "task", "add", "acme", "Call back", "--due", "2026-10-03")
    for name in ("Lost", "Gone"):
        team(*at, "customer", "add", name, "--start", "2026-09-01")
    team(*at, "customer", "move", "lost", "churned", "--reason", "budget")
    team(*at, "milestone", "add", "lost", "Exit call", "--due", "2026-10-01")
    team(*at, "milestone", "add", "gone", "Late", "--due", "2026-10-01")
    team(*at, "customer", "rm", "gone", "--yes")
    overdue = team.json("report", "overdue")
    titles = {row["title"] for row in overdue}
    assert {"Stuck", "Call back"} <= titles
    assert not titles & {"Dropped", "Done early", "Exit call", "Late"}
    monkeypatch.setattr(engine_tick, "OVERDUE_LISTED", 3)
    day = team.json("tick", "--dry-run")
    assert (day["overdue_count"], day["overdue_truncated"]) == (len(overdue), True)


def test_tick_json_bounds_the_overdue_list_and_counts_it_whole(team, monkeypatch):
    """JSON keeps the oldest overdue items, up to a bound, with their exact count and whether
    some were left out: `clm report overdue` lists them all."""
    import clm.domain.engine.tick as engine_tick

    overdue = _backlog(team)
    whole = team.json("tick", "--dry-run")
    assert whole["overdue"] == overdue
    assert (whole["overdue_count"], whole["overdue_truncated"]) == (len(overdue), False)
    monkeypatch.setattr(engine_tick, "OVERDUE_LISTED", 3)
    day = team.json("tick")
    assert day["overdue"] == overdue[:3]
    assert (day["overdue_count"], day["overdue_truncated"]) == (len(overdue), True)
    assert [row["title"] for row in day["reminders"]][-1] == "Launch"  # the news, whole
    assert list(day) == ["date", "transitions", "reminders", "ctas_opened", "tasks_created",
                         "handoffs_pending", "undeliverable", "overdue", "overdue_count",
                         "overdue_truncated", "dry_run"]  # fmt: skip
    # --quiet lists no overdue work, and does not count it.
    team("--today", "2026-11-25", "milestone", "add", "acme", "Soon", "--due", "2026-11-26",
         "--remind", "1d")  # fmt: skip
    quiet = team.json("--today", "2026-11-25", "tick", "--quiet")
    assert [row["title"] for row in quiet["reminders"]] == ["Soon"]
    assert (quiet["overdue"], quiet["overdue_count"], quiet["overdue_truncated"]) == (
        [],
        None,
        False,
    )


def test_moves_of_one_tick_change_only_their_own_fields(team):
    """One tick moves a lead handed to sales (a new owner) and an account at risk (same
    owner): each customer's log names only what changed for it, and what did not change
    keeps its value."""
    team("--today", "2026-01-01", "customer", "add", "Acme", "--stage", "adopting")
    team("--today", "2026-07-10", "customer", "edit", "acme", "--health", "20")
    team("--today", "2026-03-01", "customer", "add", "Initech", "--stage", "lead",
         "--lead-score", "20")  # fmt: skip
    team("--today", "2026-07-10", "customer", "edit", "initech", "--lead-score", "60")
    before = {slug: team.json("customer", "show", slug) for slug in ("acme", "initech")}
    moved = team.json("--today", "2026-07-20", "tick")["transitions"]
    assert {(m["customer"], m["to"]) for m in moved} == {
        ("acme", "will-churn"),
        ("initech", "prospect"),
    }
    after = {slug: team.json("customer", "show", slug) for slug in ("acme", "initech")}
    assert after["initech"]["owner"] == "sam" != before["initech"]["owner"]
    assert after["acme"]["owner"] == before["acme"]["owner"]
    for slug in ("acme", "initech"):
        assert after[slug]["renewal"] == before[slug]["renewal"]
        assert after[slug]["start"] == before[slug]["start"]
    logged = {
        slug: {r["field"] for r in team.json("log", slug) if r["command"] == "clm tick"}
        for slug in ("acme", "initech")
    }
    assert "owner_id" in logged["initech"] and "owner_id" not in logged["acme"]
    for slug in ("acme", "initech"):
        assert "stage" in logged[slug]
        assert not logged[slug] & {"renewal", "start", "handoff_pending"}
