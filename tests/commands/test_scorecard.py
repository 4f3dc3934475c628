"""The health scorecard: defined in the model file, scored by the tick from usage metrics with
history, shown by `customer show` with each measure's contribution and the missing ones."""

import json
import tomllib

import pytest
import tomli_w

from tests.conftest import dump, latest_values, sql

SCORECARD = """
[scorecard]
bands = { amber = 40, green = 70 }

[[scorecard.measures]]
metric = "active_users"
weight = 2
scale = [0, 50]

[[scorecard.measures]]
metric = "logins"
thresholds = [5, 20]

[[scorecard.measures]]
metric = "tickets"
weight = 1
scale = [10, 0]
"""
USAGE = """customer,date,active_users,logins,tickets
acme,2026-11-20,60,10,0
beta,2026-11-20,10,,8
"""


def apply(clm, tmp_path, extra: str, code: int = 0):
    text = clm("model", "export").stdout + extra
    (tmp_path / "model.toml").write_text(text)
    return clm("model", "apply", tmp_path / "model.toml", code=code)


@pytest.fixture
def book(team, tmp_path):
    for name in ("Acme", "Beta", "Core"):
        team("--today", "2026-09-01", "customer", "add", name, "--stage", "adopting")
    for metric in ("active_users", "logins", "tickets"):
        team("metric", "add", metric)
    team("metric", "import", "-", input=USAGE)
    apply(team, tmp_path, SCORECARD)
    return team


def health(clm):
    return {c["slug"]: (c["stage"], c["health"]) for c in clm.json("customer", "list")}


def test_the_tick_scores_health_from_the_measures_and_rules_read_it(book):
    book("tick")
    # acme: (2 x 100 + 50 + 100) / 4; beta, without logins, on the rest: (2 x 20 + 20) / 3,
    # red, so the default at-risk rule (health < 40) moves it; core has no value: unscored.
    assert health(book) == {
        "acme": ("adopting", 88),
        "beta": ("will-churn", 20),
        "core": ("adopting", None),
    }
    shown = book.json("customer", "show", "beta")
    assert (shown["band"], shown["health_missing"]) == ("red", ["logins"])
    assert shown["health_measures"] == [
        {"metric": "active_users", "value": 10, "score": 20, "weight": 2, "contribution": 13.3},
        {"metric": "tickets", "value": 8, "score": 20, "weight": 1, "contribution": 6.7},
    ]
    assert book.json("customer", "show", "acme")["band"] == "green"


def test_health_history_keeps_each_change_once(book):
    book("tick")
    book("--today", "2026-11-24", "tick")  # nothing new: no new entry
    book("--today", "2026-11-25", "metric", "set", "acme", "active_users", "20")
    book("--today", "2026-11-25", "tick")
    history = book.json("--today", "2026-11-25", "customer", "show", "acme")["health_history"]
    # (2 x 40 + 50 + 100) / 4 = 57.5: 58, amber.
    assert [(h["on"], h["health"]) for h in history] == [("2026-11-23", 88), ("2026-11-25", 58)]
    assert book.json("--today", "2026-11-25", "customer", "show", "acme")["band"] == "amber"


def test_the_scorecard_round_trips_through_the_model_file(book):
    exported = tomllib.loads(book("model", "export").stdout)["scorecard"]
    assert exported == {
        "bands": {"amber": 40, "green": 70},
        "measures": [
            {"metric": "active_users", "weight": 2, "scale": [0, 50]},
            {"metric": "logins", "weight": 1, "thresholds": [5, 20]},
            {"metric": "tickets", "weight": 1, "scale": [10, 0]},
        ],
    }


def test_a_bad_scorecard_is_refused_with_every_problem_and_changes_nothing(team, tmp_path, db_path):
    team("metric", "add", "active_users")
    before = dump(db_path)
    bad = """
[scorecard]
bands = { amber = 80, green = 70 }

[[scorecard.measures]]
metric = "active_user"
scale = [0, 50]

[[scorecard.measures]]
metric = "active_users"
weight = -1
scale = [0, 50]

[[scorecard.measures]]
metric = "active_users"
scale = [5, 5]
"""
    result = apply(team, tmp_path, bad, code=1)
    lines = [line.split(": ", 1)[1] for line in result.stderr.splitlines()]
    assert lines == [
        "scorecard.bands: amber and green are whole numbers, 0 < amber < green <= 100",
        "scorecard.measures[0].metric: no metric 'active_user'; did you mean 'active_users'? "
        "(add it with clm metric add)",
        "scorecard.measures[1].weight: use a number above 0, not -1",
        "scorecard.measures[2].scale: use two different numbers: [A, B], A scored lowest",
        "4 problems in the model; nothing changed",
    ]
    assert dump(db_path) == before


def test_a_health_set_by_hand_holds_over_the_score_until_its_day(book):
    book("tick")
    assert book.error("customer", "edit", "acme", "--health", "30") == (
        "Error: the scorecard sets health every day: give --until DATE (the last day your "
        "health holds) and --reason TEXT to set it by hand"
    )
    assert book.error("customer", "edit", "acme", "--until", "+7d") == (
        "Error: --until and --reason go with --health: the health they hold"
    )
    assert (
        book.error(
            "customer", "edit", "acme", "--health", "30", "--until", "yesterday", "--reason", "x"
        )
        == "Error: invalid --until 2026-11-22: it is before today (2026-11-23)"
    )
    book("customer", "edit", "acme", "--health", "65", "--until", "2026-11-25",
         "--reason", "champion on leave")  # fmt: skip
    for day in ("2026-11-24", "2026-11-25"):
        book("--today", day, "tick")
        assert health(book)["acme"] == ("adopting", 65)
    shown = book.json("--today", "2026-11-25", "customer", "show", "acme")
    assert (shown["band"], shown["health_override"]) == (
        "amber",
        "until 2026-11-25: champion on leave",
    )
    book("--today", "2026-11-26", "tick")  # the score takes over again
    assert health(book)["acme"] == ("adopting", 88)
    assert book.json("--today", "2026-11-26", "customer", "show", "acme")["health_override"] is None


def test_without_a_scorecard_health_is_set_as_before(team):
    team("customer", "add", "Acme", "--health", "50")
    team("customer", "edit", "acme", "--health", "60")
    assert team.json("customer", "show", "acme")["health"] == 60
    assert team.error("customer", "edit", "acme", "--health", "30", "--until", "+3d") == (
        "Error: --until holds a health over the scorecard's, and there is none"
    )


def test_the_scores_are_one_audit_row_a_day_their_history_the_health_log(book):
    before = len(book.json("log"))
    book("tick")
    new = [row for row in book.json("log")[before:] if row["record"] == "customers"]
    # acme and beta scored (core has no value): one summary row, none per customer; the log
    # hears the tick again after the scores: beta's move by the at-risk rule is there.
    assert [(row["field"], row["new"]) for row in new if row["field"] in ("*", "health")] == [
        ("*", "health of 2 customers scored on 2026-11-23")
    ]
    assert {(row["customer"], row["field"], row["new"]) for row in new} >= {
        ("beta", "stage", "will-churn")
    }
    assert {row["command"] for row in new} == {"clm tick"}
    assert [h["health"] for h in book.json("customer", "show", "acme")["health_history"]] == [88]
    book("--today", "2026-11-24", "tick")  # nothing new: no row at all
    assert [row for row in book.json("log")[before:] if row["record"] == "customers"] == new


def test_the_scores_leave_the_customers_rows_alone_and_read_as_their_health(book, db_path):
    before = dict(sql(db_path, "SELECT slug, updated_at FROM customers WHERE slug = 'acme'"))
    book("tick")
    # The score is in its own row: acme's (not moved) is as it was, its own column unset.
    assert dict(sql(db_path, "SELECT slug, updated_at FROM customers WHERE slug = 'acme'")) == (
        before
    )
    assert sql(db_path, "SELECT health FROM customers WHERE slug = 'acme'") == [(None,)]
    # Everything that reads health reads the score.
    assert [c["slug"] for c in book.json("customer", "list", "--where", "health >= 80")] == ["acme"]
    assert book.json("customer", "show", "acme")["health"] == 88
    shown = book.json("explain", "acme", "--health")
    assert (shown["health"], shown["band"], shown["source"]) == (88, "green", "scorecard")
    exported = book("export", "customers", "--format", "json").stdout
    assert {c["slug"]: c["health"] for c in json.loads(exported)} == {
        "acme": 88,
        "beta": 20,
        "core": None,
    }


def test_a_removed_scorecard_leaves_each_customer_the_health_it_had(book, tmp_path):
    book("tick")
    model = tomllib.loads(book("model", "export").stdout)
    del model["scorecard"]
    (tmp_path / "plain.toml").write_text(tomli_w.dumps(model))
    book("model", "apply", tmp_path / "plain.toml")
    assert health(book) == {
        "acme": ("adopting", 88),
        "beta": ("will-churn", 20),
        "core": ("adopting", None),
    }
    book("customer", "edit", "acme", "--health", "50")  # typed as before a scorecard
    book("--today", "2026-11-24", "tick")
    assert health(book)["acme"] == ("adopting", 50)


def test_a_health_typed_as_the_score_holds_as_typed(book):
    book("tick")
    book("customer", "edit", "acme", "--health", "88", "--until", "2026-11-24", "--reason", "x")
    book("--today", "2026-11-24", "metric", "set", "acme", "active_users", "20")
    book("--today", "2026-11-24", "tick")
    assert health(book)["acme"] == ("adopting", 88)  # held to its day
    book("--today", "2026-11-25", "tick")
    assert health(book)["acme"] == ("adopting", 58)


def test_one_tick_rescores_some_customers_and_scores_others_for_the_first_time(book, db_path):
    book("tick")
    # acme's score moves (58), core gets its first values (scored for the first time: 100),
    # beta's stays (20): one tick writes a changed score row, a new one, and leaves one alone.
    book("--today", "2026-11-25", "metric", "set", "acme", "active_users", "20")
    for metric, value in (("active_users", "50"), ("logins", "30"), ("tickets", "0")):
        book("--today", "2026-11-25", "metric", "set", "core", metric, value)
    book("--today", "2026-11-25", "tick")
    assert {slug: h for slug, (_, h) in health(book).items()} == {
        "acme": 58,
        "beta": 20,
        "core": 100,
    }
    histories = {
        slug: [(h["on"], h["health"]) for h in book.json(
            "--today", "2026-11-25", "customer", "show", slug)["health_history"]]
        for slug in ("acme", "beta", "core")
    }  # fmt: skip
    assert histories == {
        "acme": [("2026-11-23", 88), ("2026-11-25", 58)],
        "beta": [("2026-11-23", 20)],
        "core": [("2026-11-25", 100)],
    }
    assert sql(db_path, "SELECT count(*) FROM health_scores") == [(3,)]


def acme_history(clm, today: str) -> list[tuple]:
    shown = clm.json("--today", today, "customer", "show", "acme")
    return [(h["on"], h["health"]) for h in shown["health_history"]]


def test_an_import_of_older_points_leaves_the_newer_latest_value(book, db_path):
    book("tick")
    book("--today", "2026-11-25", "metric", "set", "acme", "active_users", "20")
    # A late file of an earlier day: its value is kept as that day's, not as the latest.
    older = "customer,date,active_users\nacme,2026-11-21,60\n"
    book("--today", "2026-11-25", "metric", "import", "-", input=older)
    book("--today", "2026-11-25", "tick")
    assert acme_history(book, "2026-11-25") == [("2026-11-23", 88), ("2026-11-25", 58)]
    assert ("acme", "active_users", "2026-11-25", 20.0) in latest_values(db_path)
    # The same day again with another value: that one is the latest now.
    book("--today", "2026-11-26", "metric", "set", "acme", "active_users", "35.5", "--on",
         "2026-11-25")  # fmt: skip
    book("--today", "2026-11-26", "tick")
    assert acme_history(book, "2026-11-26")[-1] == ("2026-11-26", 73)
    assert ("acme", "active_users", "2026-11-25", 35.5) in latest_values(db_path)


def test_a_tick_of_an_earlier_day_scores_the_values_of_that_day(book):
    book("tick")
    book("--today", "2026-11-25", "metric", "set", "acme", "active_users", "20")
    book("--today", "2026-11-24", "tick")  # a day before acme's latest value: not read
    assert acme_history(book, "2026-11-24") == [("2026-11-23", 88)]
    book("--today", "2026-11-25", "tick")
    assert acme_history(book, "2026-11-25") == [("2026-11-23", 88), ("2026-11-25", 58)]


def test_a_removed_customer_or_metric_takes_its_latest_values_along(book, db_path):
    book("metric", "add", "seats")
    book("metric", "set", "acme", "seats", "12")
    book("customer", "rm", "beta", "--yes")
    book("tick")
    assert health(book) == {"acme": ("adopting", 88), "core": ("adopting", None)}
    book("metric", "rm", "seats", "--yes")
    assert [row[:2] for row in latest_values(db_path)] == [
        ("acme", "active_users"),
        ("acme", "logins"),
        ("acme", "tickets"),
        ("beta", "active_users"),  # a removed customer keeps its points, and so its latest
        ("beta", "tickets"),
    ]
    book("metric", "add", "seats")  # a new metric of the same name starts with no value
    assert not [row for row in latest_values(db_path) if row[1] == "seats"]


ONE_METRIC_TWICE = """
[scorecard]
bands = { amber = 40, green = 70 }

[[scorecard.measures]]
metric = "active_users"
weight = 2
scale = [0, 50]

[[scorecard.measures]]
metric = "active_users"
thresholds = [5, 20]

[[scorecard.measures]]
metric = "tickets"
scale = [10, 0]
"""


def test_a_metric_in_two_measures_counts_in_each_and_a_closed_customer_is_not_scored(
    team, tmp_path
):
    for name, stage in (("Acme", "adopting"), ("Beta", "adopting"), ("Gone", "churned")):
        team("--today", "2026-09-01", "customer", "add", name, "--stage", stage)
    for metric in ("active_users", "tickets"):
        team("metric", "add", metric)
    usage = "customer,date,active_users,tickets\nacme,2026-11-20,60,0\nbeta,2026-11-20,10,7\n"
    team("metric", "import", "-", input=usage + "gone,2026-11-20,60,0\n")
    apply(team, tmp_path, ONE_METRIC_TWICE)
    team("tick")
    # beta: active_users 10 scores 20 on the scale (x 2) and 50 on the thresholds, tickets 7
    # scores 30: (40 + 50 + 30) / 4 = 30, red (the at-risk rule moves it). gone is churned.
    assert health(team) == {
        "acme": ("adopting", 100),
        "beta": ("will-churn", 30),
        "gone": ("churned", None),
    }
    shown = team.json("customer", "show", "beta")
    assert [m["score"] for m in shown["health_measures"]] == [20, 50, 30]
