"""`clm rule edit`: a rule's stages, conditions and actions changed in place, checked as
`rule add` checks a new rule; `explain`, `rule list` and `model export` follow."""

import tomllib

from tests.conftest import dump


def _rule(clm, name: str) -> dict:
    return next(r for r in clm.json("rule", "list") if r["name"] == name)


def test_edit_changes_stages_conditions_and_actions_in_place(team):
    team("customer", "add", "Acme", "--health", "35")
    # In onboarding only 'onboarded' and 'launch' and 'renewal-due' and 'at-risk' apply.
    team("rule", "edit", "at-risk", "--remove-from", "onboarding")
    assert "at-risk" not in {row["rule"] for row in team.json("explain", "acme")}
    result = team(
        "rule", "edit", "at-risk", "--add-from", "onboarding", "--remove-when", "health<40",
        "--add-when", "health < 30", "--cta", "risk:health below 30",
    )  # fmt: skip
    assert result.stderr == (
        "Changed from, when, cta of rule at-risk. Preview it: clm tick --dry-run --until +30d\n"
    )
    assert _rule(team, "at-risk") | {"from": sorted(_rule(team, "at-risk")["from"])} == {
        "name": "at-risk",
        "from": ["adopting", "launched", "onboarding", "renewal"],
        "to": "will-churn",
        "when": ["health < 30"],
        "cta": "risk:health below 30",
        "playbook": None,
        "enabled": True,
        "churn_reason": None,
    }
    [row] = [r for r in team.json("explain", "acme") if r["rule"] == "at-risk"]
    assert (row["condition"], row["holds"]) == ("health < 30", False)
    exported = tomllib.loads(team("model", "export").stdout)
    [rule] = [r for r in exported["rules"] if r["name"] == "at-risk"]
    assert (rule["when"], rule["cta"]) == (["health < 30"], "risk:health below 30")
    # Its place in the order stays; --from replaces the stages, --when the conditions.
    order = [r["name"] for r in team.json("rule", "list")]
    team("rule", "edit", "at-risk", "--from", "adopting,renewal", "--when", "health < 20",
         "--no-cta", "--playbook", "Onboarding")  # fmt: skip
    assert [r["name"] for r in team.json("rule", "list")] == order
    changed = _rule(team, "at-risk")
    assert (changed["from"], changed["when"], changed["cta"], changed["playbook"]) == (
        ["adopting", "renewal"], ["health < 20"], None, "Onboarding",
    )  # fmt: skip
    assert team("rule", "edit", "at-risk", "--to", "will-churn").stderr == (
        "No change to rule at-risk.\n"
    )


def test_a_moved_customer_follows_the_edited_rule_at_the_next_tick(team):
    team("customer", "add", "Acme", "--stage", "launched", "--health", "80")
    team("rule", "add", "slow", "--from", "launched", "--when", "days_in_stage >= 400",
         "--to", "adopting")  # fmt: skip
    team("rule", "edit", "adopt", "--when", "days_in_stage >= 400")
    team("--today", "+60d", "tick")
    assert team.json("customer", "show", "acme")["stage"] == "launched"
    team("rule", "edit", "adopt", "--when", "days_in_stage >= 10")
    team("--today", "+60d", "tick")
    assert team.json("--today", "+60d", "customer", "show", "acme")["stage"] == "adopting"
    assert team.json("why", "acme")[-1]["by"] == "rule:adopt"


def test_edit_refusals_name_every_problem_and_change_nothing(team, db_path):
    before = dump(db_path)
    assert team.error(
        "rule",
        "edit",
        "at-risk",
        "--add-from",
        "nowhere",
        "--remove-from",
        "lead",
        "--add-when",
        "mood > 3",
        "--remove-when",
        "arr > 5",
        "--cta",
        "gossip:x",
    ) == (
        "Error: --remove-from lead: rule 'at-risk' does not apply in lead; --remove-when "
        "'arr > 5': rule 'at-risk' has no such condition (it has: health < 40, mood > 3); "
        "no stage 'nowhere'; invalid condition 'mood > 3': no metric 'mood' (add it with clm "
        "metric add); invalid --cta 'gossip:x': use TYPE:REASON with TYPE one of "
        "risk, lifecycle, expansion, objective, activity"
    )
    assert "to will-churn is also a --from stage" in team.error(
        "rule", "edit", "at-risk", "--add-from", "will-churn"
    )
    assert "needs an action" in team.error("rule", "edit", "qualify", "--no-to")
    assert "--cta and --no-cta contradict" in team.error(
        "rule", "edit", "at-risk", "--cta", "risk:x", "--no-cta"
    )
    assert "nothing to change" in team.error("rule", "edit", "at-risk")
    assert "no rule 'at-rsik'" in team.error("rule", "edit", "at-rsik", "--no-cta")
    assert dump(db_path) == before
