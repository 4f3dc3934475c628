"""`clm stage add`: a stage inserted between two names the rules that span the gap it opens
(and those that move customers past it); `--inherit-rules` extends the spanning ones to it."""

from tests.conftest import dump


def _from(clm, name: str) -> list[str]:
    return next(r["from"] for r in clm.json("rule", "list") if r["name"] == name)


def test_a_stage_inserted_names_the_rules_around_it(clm):
    clm("init", "--template", "simple", "--force")
    result = clm("stage", "add", "launched", "--after", "onboarding", "--expected-days", "60")
    assert result.stderr.splitlines()[1:] == [
        "Rules that apply on both sides of launched but not in it: renewal-due. Extend them: "
        "clm rule edit NAME --add-from launched (or add the stage with --inherit-rules).",
        "Rule activate moves customers past launched: to stop there, clm rule edit activate "
        "--to launched",
    ]
    assert _from(clm, "renewal-due") == ["onboarding", "active"]  # nothing changed unasked
    # A customer in the new stage escapes renewal-due until the rule is extended.
    clm("customer", "add", "Acme", "--stage", "launched", "--start", "2025-12-01")
    assert clm.json("tick")["transitions"] == []
    clm("rule", "edit", "renewal-due", "--add-from", "launched")
    [move] = clm.json("tick")["transitions"]
    assert (move["from"], move["to"], move["rule"]) == ("launched", "renewal", "renewal-due")


def test_inherit_rules_extends_the_spanning_rules_in_lifecycle_order(clm):
    clm("init", "--template", "simple", "--force")
    result = clm("stage", "add", "launched", "--before", "active", "--inherit-rules")
    assert "Extended to launched the rules on both sides of it: renewal-due." in result.stderr
    assert _from(clm, "renewal-due") == ["onboarding", "launched", "active"]
    assert _from(clm, "activate") == ["onboarding"]
    exported = clm("model", "export").stdout
    assert 'from = [\n    "onboarding",\n    "launched",\n    "active",\n]' in exported


def test_a_stage_at_an_end_or_terminal_spans_nothing(clm):
    clm("init", "--template", "simple", "--force")
    for args in (["first", "--before", "onboarding"], ["lost", "--after", "renewal", "--terminal"]):
        result = clm("stage", "add", *args, "--inherit-rules")
        assert "Extended" not in result.stderr and "Rules that" not in result.stderr


def test_a_refused_stage_add_extends_nothing(clm, db_path):
    clm("init", "--template", "simple", "--force")
    before = dump(db_path)
    assert "already exists" in clm.error("stage", "add", "active", "--after", "onboarding",
                                         "--inherit-rules")  # fmt: skip
    assert dump(db_path) == before
