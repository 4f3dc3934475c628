"""`clm stage add`, `clm stage edit` and `clm stage rm` through the CLI."""

import pytest

from tests.conftest import dump

DEFAULT = ["lead", "prospect", "onboarding", "launched", "adopting", "renewal", "will-churn",
           "churned"]  # fmt: skip


def keys(clm) -> list[str]:
    stages = clm.json("stage", "list")
    assert [s["position"] for s in stages] == list(range(1, len(stages) + 1))
    return [s["key"] for s in stages]


def test_add_after_and_before_keeps_positions_contiguous(clm):
    result = clm("stage", "add", "qualified", "--before", "prospect", "--team", "Sales")
    assert result.stderr == (
        "Added stage qualified (Qualified) at position 2, before prospect.\n"
        "Rule qualify moves customers past qualified: to stop there, clm rule edit qualify "
        "--to qualified\n"
    )
    clm("stage", "add", "won-back", "--after", "churned", "--name", "Won back", "--terminal")
    assert keys(clm) == ["lead", "qualified", *DEFAULT[1:], "won-back"]
    stages = {s["key"]: s for s in clm.json("stage", "list")}
    assert stages["qualified"] | {} == {
        "key": "qualified", "name": "Qualified", "position": 2, "team": "sales",
        "expected_days": None, "playbook": None, "terminal": False,
    }  # fmt: skip
    assert (stages["won-back"]["name"], stages["won-back"]["terminal"]) == ("Won back", True)
    clm("stage", "add", "first", "--before", "lead", "--playbook", "save", "--expected-days", "5")
    assert keys(clm)[:3] == ["first", "lead", "qualified"]
    assert clm.json("stage", "list")[0]["playbook"] == "save"


def test_launched_removed_and_inserted_again_between_onboarding_and_adopting(clm):
    before = clm.json("stage", "list")
    result = clm("stage", "rm", "launched", "--force")
    assert result.stderr == (
        "Removed stage launched. Removed the rules that used it: "
        "adopt, at-risk, launch, onboarded, renewal-due.\n"
    )
    assert keys(clm) == [k for k in DEFAULT if k != "launched"]
    # recovered goes from will-churn back to the previous stage: launched was not in it.
    assert [r["name"] for r in clm.json("rule", "list")] == ["qualify", "recovered"]
    result = clm(
        "stage", "add", "launched", "--after", "onboarding", "--team", "customer-success",
        "--expected-days", "60",
    )  # fmt: skip
    assert result.stderr == "Added stage launched (Launched) at position 4, after onboarding.\n"
    assert clm.json("stage", "list") == before
    clm("rule", "add", "adopt", "--from", "launched", "--to", "adopting", "--when",
        "days_in_stage >= 60")  # fmt: skip
    clm("customer", "add", "Acme", "--stage", "launched", "--start", "2026-08-01")
    assert clm.json("tick")["transitions"] == [
        {"customer": "acme", "from": "launched", "to": "adopting", "on": "2026-09-30",
         "rule": "adopt"}
    ]  # fmt: skip


def test_rm_refuses_a_stage_with_customers_and_changes_nothing(clm, db_path):
    clm("customer", "add", "Acme", "--stage", "adopting")
    clm("customer", "add", "Globex", "--stage", "adopting")
    before = dump(db_path)
    assert clm.error("stage", "rm", "adopting", "--force") == (
        "Error: stage 'adopting' cannot be removed: 2 customers are in it; "
        "move them first (clm customer list --stage adopting)"
    )
    assert dump(db_path) == before
    clm("customer", "rm", "acme", "--yes")
    clm("customer", "move", "globex", "churned", "--reason", "other")
    clm("stage", "rm", "adopting", "--force")  # removed customers do not count
    assert "adopting" not in keys(clm)


def test_rm_refuses_a_stage_rules_use_unless_forced(clm, db_path):
    clm("stage", "list")
    before = dump(db_path)
    assert clm.error("stage", "rm", "prospect") == (
        "Error: stage 'prospect' is used by rule qualify: change or remove them first, "
        "or pass --force to remove them with the stage"
    )
    assert "rules at-risk, renewal-due:" in clm.error("stage", "rm", "renewal")
    assert dump(db_path) == before
    assert clm("stage", "rm", "prospect", "--force").stderr == (
        "Removed stage prospect. Removed the rule that used it: qualify.\n"
    )
    assert clm("stage", "rm", "churned").stderr == "Removed stage churned.\n"
    assert keys(clm) == ["lead", *DEFAULT[2:-1]]


def test_rm_refuses_the_entry_stage_and_unknown_stages(clm, db_path):
    clm("stage", "list")
    before = dump(db_path)
    assert clm.error("stage", "rm", "onboarding", "--force") == (
        "Error: stage 'onboarding' is the entry stage (customers added without --stage enter it) "
        "and cannot be removed"
    )
    assert clm.error("stage", "rm", "lanched") == (
        "Error: no stage 'lanched'; did you mean 'launched'?"
    )
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["launched", "--after", "lead"], "stage 'launched' already exists"),
        (["Not A Key", "--after", "lead"], "invalid stage key 'Not A Key'"),
        (["a_b", "--after", "lead"], "invalid stage key 'a_b'"),
        (["new"], "pass --after KEY or --before KEY"),
        (["new", "--after", "lead", "--before", "churned"], "not both"),
        (["new", "--after", "laed"], "no stage 'laed'"),
        (["new", "--after", "lead", "--playbook", "onbording"], "no playbook 'onbording'"),
        (["new", "--after", "lead", "--team", "Sales Team"], "invalid team 'Sales Team'"),
        (["new", "--after", "lead", "--expected-days", "0"], "invalid expected days 0"),
        (["new", "--after", "lead", "--name", "  "], "a stage name cannot be empty"),
    ],
)
def test_add_refuses_bad_input_and_changes_nothing(clm, db_path, args, message):
    clm("stage", "list")
    before = dump(db_path)
    assert message in clm.error("stage", "add", *args)
    assert dump(db_path) == before


def test_edit_fields_and_move(clm):
    result = clm(
        "stage", "edit", "launched", "--name", "Live", "--team", "onboarding-team",
        "--expected-days", "45", "--playbook", "onboarding",
    )  # fmt: skip
    assert result.stderr == ("Changed name, team, expected_days, playbook of stage launched.\n")
    stage = next(s for s in clm.json("stage", "list") if s["key"] == "launched")
    assert stage == {
        "key": "launched", "name": "Live", "position": 4, "team": "onboarding-team",
        "expected_days": 45, "playbook": "onboarding", "terminal": False,
    }  # fmt: skip
    assert clm("stage", "edit", "launched", "--name", "Live").stderr == "No change to launched.\n"
    clm("stage", "edit", "launched", "--clear", "playbook", "--clear", "expected-days")
    clm("stage", "edit", "will-churn", "--terminal")
    stages = {s["key"]: s for s in clm.json("stage", "list")}
    assert (stages["launched"]["playbook"], stages["launched"]["expected_days"]) == (None, None)
    assert stages["will-churn"]["terminal"] is True
    clm("stage", "edit", "will-churn", "--not-terminal")
    assert clm.json("stage", "list")[6]["terminal"] is False

    clm("stage", "edit", "launched", "--before", "onboarding")
    assert keys(clm) == ["lead", "prospect", "launched", "onboarding", *DEFAULT[4:]]
    assert clm("stage", "edit", "launched", "--after", "churned").stderr == (
        "Changed position of stage launched.\n"
    )
    assert keys(clm) == [k for k in DEFAULT if k != "launched"] + ["launched"]
    clm("stage", "edit", "launched", "--after", "onboarding")
    assert keys(clm) == DEFAULT


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["launched"], "nothing to change"),
        (["lanched", "--name", "X"], "no stage 'lanched'; did you mean 'launched'?"),
        (["launched", "--after", "launched"], "cannot go after itself"),
        (["launched", "--after", "lead", "--before", "churned"], "not both"),
        (["launched", "--team", "A B"], "invalid team 'A B'"),
        (["launched", "--playbook", "nope"], "no playbook 'nope'"),
        (["launched", "--expected-days", "-3"], "invalid expected days -3"),
        (["launched", "--clear", "name"], "cannot clear 'name'"),
        (["launched", "--team", "x", "--clear", "team"], "both a new team and clearing it"),
    ],
)
def test_edit_refuses_bad_input_and_changes_nothing(clm, db_path, args, message):
    clm("stage", "list")
    before = dump(db_path)
    assert message in clm.error("stage", "edit", *args)
    assert dump(db_path) == before


def test_user_text_in_a_stage_name_is_shown_verbatim(clm):
    clm("stage", "add", "odd", "--after", "lead", "--name", "Odd [bold]x[/] \x1b[2J")
    assert "Odd [bold]x[/] \\x1b[2J" in clm("stage", "list").stdout
