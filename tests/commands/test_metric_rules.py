"""Rule conditions on usage metrics: comparisons, change over a window, staleness; each dated
the day it became true, and explained with the values it read."""

import pytest

USAGE = """customer,date,metric,value
acme,2026-10-01,active_users,100
acme,2026-11-01,active_users,40
acme,2026-11-20,active_users,60
beta,2026-10-01,active_users,10
"""
RULES = {
    "usage-drop": "active_users change <= -30% over 30d",
    "quiet": "active_users stale 14d",
    "busy": "active_users >= 50",
}


@pytest.fixture
def book(team):
    for name in ("Acme", "Beta", "Core"):
        team("--today", "2026-09-01", "customer", "add", name, "--stage", "adopting")
    team("metric", "add", "active_users")
    team("metric", "import", "-", input=USAGE)
    for name, condition in RULES.items():
        when = ("--when", condition)
        team("rule", "add", name, "--from", "adopting", *when, "--cta", f"risk:{name}")
    return team


def checks(clm, slug, today="2026-11-23"):
    return {
        row["rule"]: (row["value"], row["holds"], row["since"])
        for row in clm.json("--today", today, "explain", slug)
        if row["rule"] in RULES
    }


def test_explain_shows_the_values_read_and_the_day_each_became_true(book):
    assert checks(book, "acme") == {
        "usage-drop": ("-40% (100 on 2026-10-01 → 60 on 2026-11-20)", True, "2026-11-20"),
        "quiet": ("last value on 2026-11-20 (3 days ago)", False, None),
        # 40 on 11-01 did not hold: true from the next value on.
        "busy": ("60 on 2026-11-20", True, "2026-11-20"),
    }
    assert checks(book, "beta") == {
        "usage-drop": ("+0% (10 on 2026-10-01 → 10 on 2026-10-01)", False, None),
        "quiet": ("last value on 2026-10-01 (53 days ago)", True, "2026-10-15"),
        "busy": ("10 on 2026-10-01", False, None),
    }
    # No value at all: stale since the customer entered its stage, nothing else holds.
    assert checks(book, "core") == {
        "usage-drop": ("no value", False, None),
        "quiet": ("no value", True, "2026-09-01"),
        "busy": ("no value", False, None),
    }


def test_the_tick_fires_metric_rules_once_a_stay(book):
    opened = book.json("tick")["ctas_opened"]
    assert sorted((c["customer"], c["reason"]) for c in opened) == [
        ("acme", "busy"),
        ("acme", "usage-drop"),
        ("beta", "quiet"),
        ("core", "quiet"),
    ]
    assert book.json("--today", "2026-11-24", "tick")["ctas_opened"] == []


def test_a_value_that_stops_holding_and_holds_again_dates_the_new_run(book):
    book("metric", "set", "acme", "active_users", "30", "--on", "2026-11-21")
    book("metric", "set", "acme", "active_users", "55", "--on", "2026-11-22")
    assert checks(book, "acme")["busy"] == ("55 on 2026-11-22", True, "2026-11-22")
    # As of an earlier day, only the values up to that day count.
    assert checks(book, "acme", "2026-11-21")["busy"] == ("30 on 2026-11-21", False, None)


def test_a_rule_on_an_unknown_metric_or_a_bad_form_is_refused(book):
    assert book.error(
        "rule", "add", "x", "--from", "adopting", "--when", "active_user >= 5", "--cta", "risk:x"
    ) == (
        "Error: invalid condition 'active_user >= 5': no metric 'active_user'; did you mean "
        "'active_users'? (add it with clm metric add)"
    )
    error = book.error(
        "rule", "add", "x", "--from", "adopting", "--when", "active_users change < 5 over 3d",
        "--cta", "risk:x",
    )  # fmt: skip
    assert error.startswith("Error: invalid condition 'active_users change < 5 over 3d': use ")
    assert "METRIC change OP N% over Nd" in error


def test_a_metric_a_rule_reads_is_not_removed(book):
    # Removed, the metric's `stale` condition would hold for every customer the next day and
    # open a CTA on each: a CSM would close them by hand. So the rule goes first.
    assert book.error("metric", "rm", "active_users", "--yes") == (
        "Error: rule 'busy' reads metric active_users: change or remove it first"
    )
    assert [m["name"] for m in book.json("metric", "list")] == ["active_users"]
    for name in RULES:
        book("rule", "rm", name)
    book("metric", "rm", "active_users", "--yes")
    assert book.json("tick")["ctas_opened"] == []
