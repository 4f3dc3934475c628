"""The rules engine's memory and dates: a rule re-added under a name is a new rule; a rule on a
date field is dated no earlier than the edit that made it hold."""

from datetime import UTC, datetime

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
    assert tasks_made("2026-11-25") == made
    assert tasks_made("2026-11-26") == 0


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
