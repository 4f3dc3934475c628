"""Rule conditions on the health band: the band now (`band = amber`) and its change in the
stay (`band from green to amber`), dated from the health history and explained with the
health they read."""

import pytest

from tests.conftest import dump

RULES = {
    "slipped": "band from green to amber",
    "amber": "band = amber",
    "not-green": "band != green",
    "to-red": "band changed to red",
    "changed": "band changed",
}


def rule(clm, name, condition, code=0):
    args = ("rule", "add", name, "--from", "adopting", "--when", condition, "--cta", f"risk:{name}")
    return clm(*args, code=code)


def set_health(clm, slug, day, health):
    clm("--today", day, "customer", "edit", slug, "--health", str(health))


@pytest.fixture
def book(team):
    for name in ("Acme", "Beta", "Core"):
        team("--today", "2026-09-01", "customer", "add", name, "--stage", "adopting")
    set_health(team, "acme", "2026-09-01", 80)  # green
    set_health(team, "acme", "2026-10-01", 60)  # amber from here
    set_health(team, "acme", "2026-10-05", 55)  # still amber: the run began on 10-01
    set_health(team, "beta", "2026-10-02", 50)  # amber, with no band before
    team("rule", "rm", "at-risk")  # (the default rule on health < 40 would move acme on)
    for name, condition in RULES.items():
        rule(team, name, condition)
    return team


def checks(clm, slug, today="2026-10-10"):
    return {
        row["rule"]: (row["value"], row["holds"], row["since"])
        for row in clm.json("--today", today, "explain", slug)
        if row["rule"] in RULES
    }


def test_explain_shows_the_band_the_health_and_the_day_of_the_change(book):
    amber = "amber (health 55) since 2026-10-01, green before"
    assert checks(book, "acme") == {
        "slipped": (amber, True, "2026-10-01"),
        "amber": (amber, True, "2026-10-01"),
        "not-green": (amber, True, "2026-10-01"),
        "to-red": (amber, False, None),
        "changed": (amber, True, "2026-10-01"),
    }
    # Amber from its first score: the band holds, but it never changed.
    beta = "amber (health 50) since 2026-10-02"
    assert checks(book, "beta") == {
        "slipped": (beta, False, None),
        "amber": (beta, True, "2026-10-02"),
        "not-green": (beta, True, "2026-10-02"),
        "to-red": (beta, False, None),
        "changed": (beta, False, None),
    }
    assert {v for v, _, _ in checks(book, "core").values()} == {"no health"}
    assert not any(holds for _, holds, _ in checks(book, "core").values())


def test_the_tick_fires_band_rules_dated_the_day_the_band_changed(book):
    opened = book.json("--today", "2026-10-10", "tick")["ctas_opened"]
    assert sorted((c["customer"], c["rule"], c["on"]) for c in opened) == [
        ("acme", "amber", "2026-10-01"),
        ("acme", "changed", "2026-10-01"),
        ("acme", "not-green", "2026-10-01"),
        ("acme", "slipped", "2026-10-01"),
        ("beta", "amber", "2026-10-02"),
        ("beta", "not-green", "2026-10-02"),
    ]
    # A drop to red later: only the rule waiting for it fires (the others fired in this stay).
    set_health(book, "acme", "2026-10-12", 30)
    opened = book.json("--today", "2026-10-12", "tick")["ctas_opened"]
    assert [(c["customer"], c["rule"], c["on"]) for c in opened] == [
        ("acme", "to-red", "2026-10-12")
    ]


def test_the_later_score_of_a_day_is_the_days(team):
    team("--today", "2026-09-01", "customer", "add", "Acme", "--stage", "adopting")
    set_health(team, "acme", "2026-10-01", 90)
    set_health(team, "acme", "2026-10-01", 65)  # the same day: amber from 10-01, never green
    rule(team, "amber", "band = amber")
    rule(team, "slipped", "band from green")
    assert checks(team, "acme") == {
        "amber": ("amber (health 65) since 2026-10-01, green before", True, "2026-10-01"),
        "slipped": ("amber (health 65) since 2026-10-01, green before", True, "2026-10-01"),
    }  # (the band before is the day's earlier score: it was green for a moment)


def test_a_change_before_the_stay_is_not_a_change_in_it(team):
    team("--today", "2026-09-01", "customer", "add", "Acme", "--stage", "onboarding")
    set_health(team, "acme", "2026-09-01", 80)
    set_health(team, "acme", "2026-09-10", 60)
    team("--today", "2026-09-20", "customer", "move", "acme", "adopting")
    rule(team, "changed", "band changed")
    rule(team, "amber", "band = amber")
    result = checks(team, "acme", "2026-09-25")
    assert result["changed"][1:] == (False, None)
    # The band itself holds, from the stage entry on.
    assert result["amber"][1:] == (True, "2026-09-20")


def test_the_scorecards_bands_decide_the_band(team, tmp_path):
    team("--today", "2026-09-01", "customer", "add", "Acme", "--stage", "adopting")
    set_health(team, "acme", "2026-10-01", 75)  # green by the default bands (70)
    rule(team, "amber", "band = amber")
    assert checks(team, "acme")["amber"][1] is False
    team("metric", "add", "logins")
    model = team("model", "export").stdout + (
        "\n[scorecard]\nbands = { amber = 50, green = 80 }\n\n"
        '[[scorecard.measures]]\nmetric = "logins"\nscale = [0, 20]\n'
    )
    (tmp_path / "model.toml").write_text(model)
    team("model", "apply", tmp_path / "model.toml")
    assert checks(team, "acme")["amber"] == (
        "amber (health 75) since 2026-10-01",
        True,
        "2026-10-01",
    )


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("band = blue", "no band 'blue': use red, amber, green"),
        ("band = gren", "did you mean 'green'"),
        ("band from red to red", "from and to name the same band"),
        ("band sideways", "use band = BAND, band != BAND or band changed [from BAND] [to BAND]"),
        ("band < amber", "use band = BAND, band != BAND"),
    ],
)
def test_a_wrong_band_condition_is_refused_and_adds_nothing(team, db_path, condition, message):
    before = dump(db_path)
    error = rule(team, "x", condition, code=1).stderr.strip()
    assert error.startswith("Error: ") and len(error.splitlines()) == 1
    assert message in error
    assert dump(db_path) == before
