"""Metric definitions travel with the lifecycle model: `clm model export` writes a [[metrics]]
table for each, `clm model apply` adds, changes and removes them as it does [[fields]]."""

import json
import tomllib

from tests.conftest import dump

USAGE = "customer,date,active_users\nacme,2026-11-20,12\n"
CARD = """
[scorecard]
bands = { amber = 40, green = 70 }

[[scorecard.measures]]
metric = "logins"
scale = [0, 10]
"""


def metrics_book(clm) -> str:
    """A book with a metric with values and a description, one with neither; its model."""
    clm("customer", "add", "Acme")
    clm("metric", "add", "active_users", "--description", "Users a day")
    clm("metric", "add", "logins")
    clm("metric", "import", "-", input=USAGE)
    return clm("model", "export").stdout


def apply(clm, tmp_path, text: str, *args, code: int = 0, db=None):
    (tmp_path / "model.toml").write_text(text)
    where = ("--db", db) if db is not None else ()
    return clm(*where, "model", "apply", "model.toml", *args, code=code)


def test_metrics_round_trip_through_the_model_file_into_a_new_book(clm, tmp_path, new_db):
    text = metrics_book(clm)
    assert '\n[[metrics]]\nname = "active_users"\ndescription = "Users a day"\n' in text
    assert tomllib.loads(text)["metrics"] == [
        {"name": "active_users", "description": "Users a day"},
        {"name": "logins"},  # no description, no values: still the model's
    ]
    other = new_db()
    clm("--db", other, "init")
    before = dump(other)
    dry = apply(clm, tmp_path, text, "--dry-run", "--format", "json", db=other)
    rows = [r for r in json.loads(dry.stdout) if r["kind"] == "metric"]
    assert rows == [
        {"change": "added", "kind": "metric", "name": "active_users",
         "detail": "description Users a day"},
        {"change": "added", "kind": "metric", "name": "logins", "detail": ""},
    ]  # fmt: skip
    assert dump(other) == before
    apply(clm, tmp_path, text, db=other)
    assert clm("--db", other, "model", "export").stdout == text
    assert clm.json("--db", other, "metric", "list") == clm.json("metric", "list")
    assert clm.json("--db", other, "model", "show")["metrics"] == [
        {"name": "active_users", "description": "Users a day"},
        {"name": "logins", "description": None},
    ]
    again = apply(clm, tmp_path, text, db=other)
    assert again.stderr.startswith("No changes")


def test_apply_changes_a_description_and_removes_a_metric_the_file_leaves_out(clm, tmp_path):
    text = metrics_book(clm)
    edited = text.replace("Users a day", "Users active in the week").replace(
        '\n[[metrics]]\nname = "logins"\n', "\n"
    )
    done = apply(clm, tmp_path, edited, "--format", "json")
    assert [r for r in json.loads(done.stdout) if r["kind"] == "metric"] == [
        {"change": "changed", "kind": "metric", "name": "active_users",
         "detail": "description: Users a day → Users active in the week"},
        {"change": "removed", "kind": "metric", "name": "logins", "detail": ""},
    ]  # fmt: skip
    assert clm.json("metric", "list") == [
        {"name": "active_users", "description": "Users active in the week"}
    ]
    assert 'name = "logins"' not in clm("model", "export").stdout


def test_a_metric_with_values_or_read_by_a_rule_or_the_scorecard_stays(clm, tmp_path, db_path):
    text = metrics_book(clm)
    clm("metric", "add", "seats_used")
    before = dump(db_path)
    without = text.replace('\n[[metrics]]\nname = "logins"\n', "\n")
    without = without.replace(
        '\n[[metrics]]\nname = "active_users"\ndescription = "Users a day"\n', "\n"
    )
    rule = (
        '\n[[rules]]\nname = "busy"\nfrom = ["adopting"]\nwhen = ["seats_used >= 10"]\n'
        'cta = "expansion:busy"\n'
    )
    assert "[[metrics]]" not in without
    result = apply(clm, tmp_path, without + rule + CARD, code=1)
    lines = result.stderr.splitlines()
    assert lines == [
        "model.toml: metrics: the file removes metric 'active_users' but it has 1 value: keep "
        "it, or clm metric rm it first",
        "model.toml: metrics: the file removes metric 'logins' but the scorecard reads it: keep "
        "it in [[metrics]]",
        "model.toml: metrics: the file removes metric 'seats_used' but rule 'busy' reads it: "
        "keep it in [[metrics]]",
        "Error: 3 problems in the model; nothing changed",
    ]
    assert dump(db_path) == before


def test_bad_metrics_in_the_file_are_refused_with_their_places(clm, tmp_path, db_path):
    metrics_book(clm)
    clm("field", "add", "seats", "--kind", "number")
    text = clm("model", "export").stdout
    before = dump(db_path)
    bad = text + (
        '\n[[metrics]]\nname = "logins"\n'
        '\n[[metrics]]\nname = "Bad Name!"\n'
        '\n[[metrics]]\nname = "band"\n'
        '\n[[metrics]]\nname = "seats"\n'
        '\n[[metrics]]\ndescription = "no name"\n'
    )
    lines = apply(clm, tmp_path, bad, code=1).stderr.splitlines()
    assert lines[:3] == [
        "model.toml: metrics[2]: duplicate metric 'logins' (also metrics[1])",
        "model.toml: metrics[3].name: invalid metric name 'Bad Name!': use lowercase letters, "
        "digits and '_', starting with a letter (up to 64)",
        "model.toml: metrics[4].name: invalid metric name 'band': band is a word clm reads; "
        "pick another",
    ]
    assert "model.toml: metrics[6]: missing name" in lines
    assert (
        "model.toml: metrics[5].name: field 'seats' of the file has this name: a rule's "
        "'seats >= 10' could not tell them apart"
    ) in lines
    assert lines[-1].startswith("Error: ") and sum(line.startswith("Error") for line in lines) == 1
    assert dump(db_path) == before


def test_metric_rm_refuses_a_metric_the_scorecard_reads(clm, tmp_path, db_path):
    text = metrics_book(clm)
    apply(clm, tmp_path, text + CARD)
    before = dump(db_path)
    assert clm.error("metric", "rm", "logins", "--yes") == (
        "Error: the scorecard reads metric logins: take it out of the model's [scorecard] first "
        "(clm model export, edit, clm model apply)"
    )
    assert dump(db_path) == before
    apply(clm, tmp_path, text)  # the scorecard removed
    clm("metric", "rm", "logins", "--yes")
    assert [m["name"] for m in clm.json("metric", "list")] == ["active_users"]
