"""`clm stage list` and the lifecycle templates."""


def test_default_lifecycle(clm):
    stages = clm.json("stage", "list")
    assert [(s["key"], s["team"], s["expected_days"], s["terminal"]) for s in stages] == [
        ("lead", "marketing", None, False),
        ("prospect", "sales", None, False),
        ("onboarding", "customer-success", 30, False),
        ("launched", "customer-success", 60, False),
        ("adopting", "customer-success", None, False),
        ("renewal", "account-management", 90, False),
        ("will-churn", "customer-success", None, False),
        ("churned", None, None, True),
    ]
    assert list(stages[0]) == [
        "key",
        "name",
        "position",
        "team",
        "expected_days",
        "playbook",
        "terminal",
    ]
    assert [s["position"] for s in stages] == list(range(1, 9))


def test_bare_stage_lists(clm):
    assert "onboarding" in clm("stage").stdout
