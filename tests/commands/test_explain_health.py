"""`clm explain SLUG --health`: where a customer's health comes from (the scorecard's measures
with their values and contributions, the missing ones, a health set by hand over the score, or
a health typed in a book without a scorecard)."""

from tests.commands.test_scorecard import SCORECARD, USAGE, apply


def health(clm, slug):
    return clm.json("explain", slug, "--health")


def test_the_scorecard_measures_with_values_contributions_and_the_missing(team, tmp_path):
    for name in ("Acme", "Beta"):
        team("--today", "2026-09-01", "customer", "add", name, "--stage", "adopting")
    for metric in ("active_users", "logins", "tickets"):
        team("metric", "add", metric)
    team("metric", "import", "-", input=USAGE)
    apply(team, tmp_path, SCORECARD)
    team("rule", "rm", "at-risk")
    team("tick")
    shown = health(team, "beta")
    # (2 x 20 + 1 x 20) / 3 = 20: logins has no value, scored on the rest.
    assert {k: shown[k] for k in ("health", "band", "since", "source", "detail")} == {
        "health": 20,
        "band": "red",
        "since": "2026-11-23",
        "source": "scorecard",
        "detail": "2 of 3 measures have a value; missing: logins",
    }
    assert shown["measures"] == [
        {"measure": "active_users", "value": 10, "on": "2026-11-20", "score": 20, "weight": 2,
         "contribution": 13.3, "scored_by": "scale 0..50", "note": ""},
        {"measure": "logins", "value": None, "on": None, "score": None, "weight": 1,
         "contribution": None, "scored_by": "thresholds 5..20",
         "note": "no value: scored on the other measures"},
        {"measure": "tickets", "value": 8, "on": "2026-11-20", "score": 20, "weight": 1,
         "contribution": 6.7, "scored_by": "scale 10..0", "note": ""},
    ]  # fmt: skip
    team("customer", "edit", "beta", "--health", "65", "--until", "2026-12-31",
         "--reason", "exec sponsor engaged")  # fmt: skip
    shown = health(team, "beta")
    assert (shown["health"], shown["band"], shown["source"]) == (65, "amber", "set by hand")
    assert shown["detail"] == (
        "until 2026-12-31: exec sponsor engaged (the scorecard says 20; it takes over after "
        "that day)"
    )
    page = team("explain", "beta", "--health").stdout
    assert "Scorecard measures" in page and "no value: scored on the other measures" in page


def test_a_health_typed_without_a_scorecard(team):
    team("--today", "2026-10-01", "customer", "add", "Acme", "--health", "72")
    team("customer", "add", "Core")
    shown = health(team, "acme")
    assert (shown["health"], shown["band"], shown["since"], shown["source"]) == (
        72,
        "green",
        "2026-10-01",
        "set by hand",
    )
    assert shown["measures"] == []
    assert health(team, "core")["source"] == "none"


def test_an_unknown_customer_is_one_error_line(team):
    team("customer", "add", "Acme")
    assert "no customer 'acne'" in team.error("explain", "acne", "--health")
