"""Values given on the command line: each bad one is one `Error: …` line, exit 1, nothing
changed; business-day offsets skip the model's holidays wherever a date comes in."""

from tests.commands.test_model import exported, write
from tests.conftest import dump


def test_a_business_day_due_date_skips_the_holidays(clm):
    clm("customer", "add", "Gamma")
    clm("holiday", "add", "2026-12-25", "Christmas")
    # Monday 2026-12-21 + 5 business days: Friday the 25th is a holiday, so Tuesday the 29th.
    result = clm("--today", "2026-12-21", "task", "add", "gamma", "T", "--due", "+5bd")
    assert result.stderr == "Added task 5 to gamma, due 2026-12-29, unassigned.\n"
    result = clm("--today", "2026-12-21", "task", "add", "gamma", "U", "--due", "+5d")
    assert "due 2026-12-26" in result.stderr  # calendar days count every day
    result = clm("--today", "2026-12-29", "task", "add", "gamma", "V", "--due", "-2bd")
    assert "due 2026-12-24" in result.stderr


def test_a_playbook_offset_in_business_days_skips_the_holidays(clm, tmp_path):
    model = exported(clm)
    onboarding = next(p for p in model["playbooks"] if p["name"] == "onboarding")
    onboarding["items"][1]["offset"] = "+5bd"  # Schedule the kick-off call
    model["holidays"] = [{"day": "2026-12-25", "name": "Christmas"}]
    clm("model", "apply", write(tmp_path / "m.toml", model))
    clm("--today", "2026-12-21", "customer", "add", "Acme")
    [task] = [t for t in clm.json("task", "list") if t["title"] == "Schedule the kick-off call"]
    assert task["due"] == "2026-12-29"


def test_business_day_windows_skip_the_holidays(clm):
    clm("holiday", "add", "2026-11-26", "Thanksgiving")
    # Monday 2026-11-23 + 3 business days, Thursday off: Friday the 27th.
    clm("customer", "add", "Acme", "--stage", "lead", "--renewal", "2026-11-27")
    clm("milestone", "add", "acme", "Kick-off", "--due", "2026-11-27")
    listed = clm.json("customer", "list", "--renewal-within", "3bd")
    assert [c["slug"] for c in listed] == ["acme"]
    assert [m["title"] for m in clm.json("milestone", "list", "--due-within", "3bd")] == [
        "Kick-off"
    ]
    assert [r["slug"] for r in clm.json("report", "renewals", "--within", "3bd")] == ["acme"]
    clm("holiday", "rm", "2026-11-26")
    assert clm.json("customer", "list", "--renewal-within", "3bd") == []
