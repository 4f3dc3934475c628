"""`clm model export`, `clm model apply` and `clm model show` through the CLI."""

import tomllib
from datetime import date

import tomli_w

from tests.conftest import dump

STAGE_KEYS = ["key", "name", "position", "team", "expected_days", "playbook", "terminal"]
RULE_KEYS = ["name", "from", "to", "when", "cta", "playbook", "enabled", "churn_reason"]


def exported(clm) -> dict:
    return tomllib.loads(clm("model", "export").stdout)


def write(path, document: dict) -> str:
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return str(path)


def test_export_is_the_whole_model_as_toml(clm):
    text = clm("model", "export").stdout
    assert text.startswith("# The lifecycle model of clm")
    model = tomllib.loads(text)
    assert list(model) == [
        "entry_stage", "churn_reasons", "contact_roles", "stages", "rules", "playbooks"
    ]  # fmt: skip
    assert model["entry_stage"] == "onboarding"
    assert model["stages"][2] == {
        "key": "onboarding", "name": "Onboarding", "team": "customer-success",
        "expected_days": 30, "playbook": "onboarding", "terminal": False,
    }  # fmt: skip
    assert model["stages"][-1] == {"key": "churned", "name": "Churned", "terminal": True}
    assert model["rules"][-2] == {
        "name": "at-risk", "from": ["onboarding", "launched", "adopting", "renewal"],
        "to": "will-churn", "when": ["health < 40"], "cta": "risk:health below 40",
        "enabled": True,
    }  # fmt: skip
    assert model["rules"][-1] == {
        "name": "recovered", "from": ["will-churn"], "to": "previous",
        "when": ["health >= 70 for 14d"], "cta": "lifecycle:health recovered, confirm the save",
        "enabled": True,
    }  # fmt: skip
    lifecycle = model["playbooks"][0]
    assert (lifecycle["name"], lifecycle["on_start"]) == ("lifecycle", True)
    assert lifecycle["items"][-1] == {
        "kind": "milestone", "title": "Renewal", "anchor": "renewal", "offset": "+0d",
        "remind": ["2m"], "every": "1y",
    }  # fmt: skip
    clm("holiday", "add", "2026-12-25", "Christmas")
    assert exported(clm)["holidays"] == [{"day": date(2026, 12, 25), "name": "Christmas"}]


def test_export_to_a_file_refuses_to_overwrite_without_force(clm, tmp_path):
    result = clm("model", "export", "model.toml")
    assert result.stderr == "Wrote the model to model.toml (8 stages, 7 rules, 4 playbooks).\n"
    assert (tmp_path / "model.toml").read_text() == clm("model", "export").stdout
    assert (tmp_path / "model.toml").stat().st_mode & 0o777 == 0o600
    assert clm.error("model", "export", "model.toml") == (
        "Error: 'model.toml' already exists: pass --force to overwrite it"
    )
    clm("stage", "edit", "lead", "--name", "Leads")
    clm("model", "export", "model.toml", "--force")
    assert 'name = "Leads"' in (tmp_path / "model.toml").read_text()


def test_export_then_apply_changes_nothing(clm, db_path):
    clm("holiday", "add", "2026-12-25", "Christmas")
    clm("rule", "disable", "qualify")
    clm("model", "export", "model.toml")
    before = dump(db_path)
    result = clm("model", "apply", "model.toml")
    assert result.stderr == "No changes: the model already is the one in model.toml.\n"
    assert result.stdout == ""
    assert dump(db_path) == before


def test_apply_adds_a_stage_and_a_rule_and_export_gives_back_the_edit(clm, tmp_path):
    model = exported(clm)
    model["stages"].insert(4, {"key": "live", "team": "customer-success", "expected_days": 14})
    model["rules"].insert(
        3, {"name": "go-live", "from": "launched", "to": "live", "when": "days_in_stage>=7"}
    )
    model["stages"][5]["expected_days"] = 45  # adopting
    model["playbooks"][3]["items"][2]["title"] = "Save plan signed"
    del model["rules"][0]  # qualify
    model["holidays"] = [{"day": "2026-12-25", "name": "Christmas"}]
    result = clm("model", "apply", write(tmp_path / "edited.toml", model), "--format", "csv")
    assert result.stdout.splitlines() == [
        "change,kind,name,detail",
        'added,stage,live,"name Live, team customer-success, expected_days 14, terminal false"',
        "changed,stage,adopting,expected_days: none → 45",
        'added,rule,go-live,"from [launched], to live, when [days_in_stage >= 7], enabled true"',
        "removed,rule,qualify,",
        "changed,playbook,save,items: - milestone 'Save plan agreed' entry +14d remind [3d]; "
        "+ milestone 'Save plan signed' entry +14d remind [3d]",
        "added,holiday,2026-12-25,name Christmas",
    ]
    assert result.stderr.endswith("Applied " + str(tmp_path / "edited.toml") + ": 3 added, "
                                  "2 changed, 1 removed.\n")  # fmt: skip
    stages = clm.json("stage", "list")
    assert [s["key"] for s in stages][3:6] == ["launched", "live", "adopting"]
    assert [s["position"] for s in stages] == list(range(1, 10))
    assert stages[4] | {} == {
        "key": "live", "name": "Live", "position": 5, "team": "customer-success",
        "expected_days": 14, "playbook": None, "terminal": False,
    }  # fmt: skip
    rules = clm.json("rule", "list")
    assert [r["name"] for r in rules] == [
        "onboarded", "launch", "go-live", "adopt", "renewal-due", "at-risk", "recovered",
    ]  # fmt: skip
    assert rules[2] == {
        "name": "go-live", "from": ["launched"], "to": "live", "when": ["days_in_stage >= 7"],
        "cta": None, "playbook": None, "enabled": True, "churn_reason": None,
    }  # fmt: skip
    again = exported(clm)
    model["stages"][4] |= {"name": "Live", "terminal": False}
    model["rules"][2] |= {"from": ["launched"], "when": ["days_in_stage >= 7"], "enabled": True}
    model["holidays"][0]["day"] = date(2026, 12, 25)
    assert again == model
    # The playbook's milestone runs as edited.
    clm("customer", "add", "Acme", "--stage", "will-churn")
    titles = {m["title"] for m in clm.json("milestone", "list", "--customer", "acme")}
    assert "Save plan signed" in titles and "Save plan agreed" not in titles


def test_apply_removes_and_reorders(clm, tmp_path):
    model = exported(clm)
    model["stages"] = [s for s in model["stages"] if s["key"] != "lead"]
    model["stages"][0], model["stages"][1] = model["stages"][1], model["stages"][0]
    model["rules"] = [r for r in model["rules"] if r["name"] != "qualify"]
    model["playbooks"] = [p for p in model["playbooks"] if p["name"] != "save"]
    del model["stages"][-2]["playbook"]  # will-churn ran save
    changes = clm.json("model", "apply", write(tmp_path / "m.toml", model))
    assert [(c["change"], c["kind"], c["name"]) for c in changes] == [
        ("changed", "stage", "will-churn"),
        ("removed", "stage", "lead"),
        ("changed", "stage", "(order)"),
        ("removed", "rule", "qualify"),
        ("removed", "playbook", "save"),
    ]
    assert changes[2]["detail"].endswith("→ onboarding, prospect, launched, adopting, renewal, "
                                         "will-churn, churned")  # fmt: skip
    stages = clm.json("stage", "list")
    assert [s["key"] for s in stages][:2] == ["onboarding", "prospect"]
    assert [s["position"] for s in stages] == list(range(1, 8))
    assert [p["name"] for p in clm.json("playbook", "list")] == [
        "lifecycle", "onboarding", "renewal",
    ]  # fmt: skip
    assert clm.error("playbook", "show", "save") == "Error: no playbook 'save'"


def test_dry_run_shows_the_difference_and_changes_nothing(clm, db_path, tmp_path):
    model = exported(clm)
    model["stages"][0]["team"] = "growth"
    model["entry_stage"] = "prospect"
    before = dump(db_path)
    result = clm("model", "apply", write(tmp_path / "m.toml", model), "--dry-run", "-f", "tsv")
    assert result.stdout.splitlines()[1:] == [
        "changed\tentry_stage\tprospect\tonboarding → prospect",
        "changed\tstage\tlead\tteam: marketing → growth",
    ]
    assert result.stderr.endswith("Dry run: 2 changed; nothing changed.\n")
    assert dump(db_path) == before


def test_apply_lists_every_problem_with_its_place_and_changes_nothing(clm, db_path, tmp_path):
    clm("customer", "add", "Acme", "--stage", "launched")
    model = exported(clm)
    model["colour"] = "blue"
    model["entry_stage"] = "onbaording"
    model["stages"] = [s for s in model["stages"] if s["key"] != "launched"]
    model["stages"][0]["team"] = "Mar Keting"
    model["stages"][1]["key"] = "lead"
    model["stages"][2]["expected_days"] = 0
    model["stages"][3]["playbook"] = "nope"
    model["rules"][2]["when"] = ["days_in_stage >= 30", "bogus >> 1"]
    model["rules"][3]["cta"] = "panic"
    model["rules"][4]["name"] = "qualify"
    model["playbooks"][1]["items"][0] |= {"kind": "thing", "anchor": "later", "remind": ["soon"]}
    model["playbooks"][1]["items"][1]["every"] = "fortnightly"
    model["holidays"] = [{"day": "2026-13-01"}]
    path = write(tmp_path / "bad.toml", model)
    before = dump(db_path)
    result = clm("model", "apply", path, code=1)
    assert result.stdout == ""
    lines = [line.removeprefix(f"{path}: ") for line in result.stderr.splitlines()]
    assert lines[-1] == "Error: 21 problems in the model; nothing changed"
    expected = [
        "colour: unknown key: use entry_stage, churn_reasons, contact_roles, stages, rules, "
        "playbooks, teams, holidays",
        "entry_stage: no stage 'onbaording' in the file; did you mean 'onboarding'?",
        "stages: the file removes stage 'launched' but 1 customer is in it: keep it, "
        "or move them first",
        "stages[0].team: invalid team 'Mar Keting': use lowercase letters",
        "stages[1]: duplicate stage 'lead' (also stages[0])",
        "stages[2].expected_days: invalid expected days 0",
        "stages[3].playbook: no playbook 'nope'",
        "rules[0]: no stage 'prospect'",
        "rules[1]: no stage 'launched'",
        "rules[2].when[1]: invalid condition 'bogus >> 1': use FIELD OP NUMBER",
        "rules[2]: no stage 'launched'",
        "rules[3]: no stage 'launched'",
        "rules[3]: invalid --cta 'panic': use TYPE:REASON",
        "rules[4]: duplicate rule 'qualify' (also rules[0])",
        "rules[5]: no stage 'launched'",
        "playbooks[1].items[0].kind: invalid kind 'thing': use task, milestone or phase",
        "playbooks[1].items[0].anchor: invalid anchor 'later': use entry, start, renewal, run",
        "playbooks[1].items[0].remind[0]: invalid reminder 'soon': use 30d",
        "playbooks[1].items[1].every: invalid --every 'fortnightly'",
        "playbooks[1].items[1]: a task has no reminders or recurrence (milestones do)",
        "holidays[0].day: expected a date (YYYY-MM-DD), not '2026-13-01'",
        "Error: 21 problems",
    ]
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), (line, start)
    assert dump(db_path) == before


def test_a_stage_with_a_wrong_value_is_one_problem_not_one_per_rule(clm, db_path, tmp_path):
    clm("customer", "add", "Acme", "--stage", "launched")
    model = exported(clm)
    launched = next(s for s in model["stages"] if s["key"] == "launched")
    launched["expected_days"] = "abc"
    path = write(tmp_path / "bad.toml", model)
    before = dump(db_path)
    assert clm("model", "apply", path, code=1).stderr.splitlines() == [
        f"{path}: stages[3].expected_days: expected a whole number, not 'abc'",
        "Error: 1 problem in the model; nothing changed",
    ]
    assert dump(db_path) == before


def test_apply_refuses_bad_toml_and_missing_files_in_one_line(clm, db_path, tmp_path):
    clm("stage", "list")
    before = dump(db_path)
    (tmp_path / "bad.toml").write_text('entry_stage = "onboarding"\n[[stages]\nkey = 1\n')
    error = clm.error("model", "apply", "bad.toml")
    assert error.startswith("Error: bad.toml is not valid TOML: ") and "line 2" in error
    assert clm.error("model", "apply", "none.toml") == "Error: no file 'none.toml'"
    (tmp_path / "empty.toml").write_text("")
    result = clm("model", "apply", "empty.toml", code=1)
    assert "empty.toml: entry_stage: missing" in result.stderr
    assert "empty.toml: stages: the model needs at least one stage" in result.stderr
    assert dump(db_path) == before


def test_apply_reads_standard_input(clm):
    model = exported(clm)
    model["stages"][0]["name"] = "Leads"
    result = clm("model", "apply", "-", input=tomli_w.dumps(model))
    assert "changed,stage,lead" in result.stdout.replace("   ", ",").replace(" ", "")
    assert clm.json("stage", "list")[0]["name"] == "Leads"


# --- show ----------------------------------------------------------------------------------


def test_show_draws_stages_rules_and_playbooks(clm):
    out = clm("model", "show").stdout
    assert out.startswith("Lifecycle: 8 stages, entry stage onboarding\n")
    assert "  onboarding ──launch (days_in_stage >= 30)──▶ launched\n" in out
    assert "  renewal ──at-risk (health < 40)──▶ will-churn  + CTA risk:health below 40\n" in out
    assert "stage will-churn" in out and "every start" in out
    clm("rule", "disable", "qualify")
    assert (
        "lead ──qualify (lead_score >= 50)──▶ prospect  (disabled)" in clm("model", "show").stdout
    )


def test_show_for_a_team_marks_what_it_owns_hands_off_and_receives(clm):
    out = clm("model", "show", "--team", "customer-success").stdout
    assert "  hands off adopting ──renewal-due (days_to_renewal <= 90)──▶ renewal" in out
    assert "  receives  renewal ──at-risk (health < 40)──▶ will-churn" in out
    assert "  works     onboarding ──launch (days_in_stage >= 30)──▶ launched" in out
    assert sum("◀ owns" in line for line in out.splitlines()) == 4
    assert clm.error("model", "show", "--team", "custmer-success") == (
        "Error: no team 'custmer-success'; did you mean 'customer-success'?; "
        "teams: account-management, customer-success, marketing, sales"
    )


def test_show_for_a_team_that_owns_no_stage_but_has_members(clm):
    clm("user", "add", "dan", "--team", "delivery")
    out = clm("model", "show", "--team", "delivery").stdout
    assert "; team delivery" in out
    assert "◀ owns" not in out


def test_show_mermaid_has_a_node_per_stage_and_an_edge_per_rule(clm):
    clm("stage", "edit", "lead", "--name", 'Lead "<b>"')
    clm("rule", "add", "stalled", "--from", "adopting", "--when", "health < 20", "--cta",
        "risk:stalled", "--disabled")  # fmt: skip
    lines = clm("model", "show", "--format", "mermaid").stdout.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    stage_lead["Lead #quot;#lt;b#gt;#quot;<br/>marketing"]' in lines
    assert '    stage_onboarding["Onboarding<br/>customer-success<br/>30 days"]' in lines
    assert '    stage_churned(["Churned"])' in lines
    assert '    entry(("entry")) --> stage_onboarding' in lines
    assert "    stage_onboarding -->|launch| stage_launched" in lines
    assert "    stage_adopting -->|renewal-due| stage_renewal" in lines
    assert "    stage_renewal -->|at-risk| stage_will_churn" in lines
    assert "    stage_adopting -.->|stalled (disabled)| stage_adopting" in lines
    assert sum("-->|" in line or "-.->|" in line for line in lines) == 13  # with recovered


def test_show_json_is_one_object(clm):
    model = clm.json("model", "show")
    assert list(model) == [
        "entry_stage", "churn_reasons", "contact_roles", "stages", "rules", "playbooks", "teams",
        "metrics",
    ]  # fmt: skip
    assert model["metrics"] == []  # a new book tracks none
    assert model["entry_stage"] == "onboarding"
    assert list(model["stages"][0]) == STAGE_KEYS
    assert model["stages"] == clm.json("stage", "list")
    assert list(model["rules"][0]) == RULE_KEYS
    assert model["rules"] == clm.json("rule", "list")
    assert list(model["playbooks"][0]) == ["name", "description", "on_start", "items"]
    assert model["playbooks"][1]["items"][1] == {
        "kind": "task", "title": "Schedule the kick-off call", "anchor": "entry",
        "offset": "+2d", "remind": [], "every": None, "milestone": "Product delivery",
    }  # fmt: skip


def texts(svg: str) -> list[str]:
    """The words a poster shows, one per <text> element, as a viewer reads them."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(svg)  # well-formed, or this raises
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def follows(shown: list[str], *lines: str) -> bool:
    """Whether `lines` are shown one after the other (a band's cell, line by line)."""
    return any(shown[i : i + len(lines)] == list(lines) for i in range(len(shown)))


def test_show_svg_saves_the_poster_and_never_overwrites(clm, tmp_path):
    result = clm("model", "show", "--team", "sales", "--svg", "lifecycle.svg")
    assert "──qualify" in result.stdout  # the terminal drawing, as without --svg
    assert result.stderr == "Saved the poster to lifecycle.svg.\n"
    svg = (tmp_path / "lifecycle.svg").read_text()
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    assert "◀ this team" in texts(svg)  # the sales band stands out
    assert clm.error("model", "show", "--svg", "lifecycle.svg") == (
        "Error: 'lifecycle.svg' already exists: choose another name or remove it"
    )
    assert (tmp_path / "lifecycle.svg").read_text() == svg
    assert "--svg saves the table drawing" in clm.error(
        "model", "show", "--svg", "other.svg", "--format", "json"
    )
    assert not (tmp_path / "other.svg").exists()


def test_the_poster_draws_stages_rules_moves_by_hand_and_teams(clm):
    result = clm("model", "show", "--svg", "-")
    assert result.stderr == ""
    svg = result.stdout
    shown = texts(svg)
    assert shown[:2] == [
        "Customer lifecycle",
        "8 stages · new customers enter at Onboarding · as of 2026-11-23",
    ]
    for i, name in enumerate(("Lead", "Prospect", "Onboarding", "Launched", "Adopting",
                              "Renewal", "Will churn", "Churned"), start=1):  # fmt: skip
        assert f"{i}. {name}" in shown
    assert [t for t in shown if "SLA " in t][:3] == ["SLA 30 days", "SLA 60 days", "SLA 90 days"]
    assert "▶ entry stage" in shown and "terminal" in shown
    # Each rule labelled once, with its conditions; back to the previous stage says so.
    assert "qualify  lead_score >= 50" in shown
    assert "renewal-due  days_to_renewal <= 90" in shown
    assert "at-risk  health < 40  + CTA risk:health below 40" in shown
    assert (
        "recovered  health >= 70 for 14d → back to the stage it came from"
        "  + CTA lifecycle:health recovered, confirm the save"
    ) in shown
    # The moves made by hand, dashed, as is the way back.
    assert "win  deal won: the contract starts" in shown
    assert "churn  with a churn reason" in shown
    assert "renew  customer renew: the next term → back to the stage it came from" in shown
    assert "win back  a new contract starts" in shown
    assert svg.count('stroke="#a04000" stroke-width="2.2" stroke-dasharray="9 6"') > 4
    # A band per team: what it owns, receives and hands off.
    for team_name in ("marketing", "sales", "customer-success", "account-management"):
        assert team_name in shown
    assert shown.count("owns the customers") == 7
    # marketing at lead: qualify and win hand off; sales at prospect: receives, hands off.
    assert follows(
        shown, "marketing", "owns the customers", "hands off to", "customer-success, sales"
    )
    assert follows(shown, "sales", "owns the customers", "receives from marketing", "hands off to")
    assert "Legend" in shown and "Drawn by clm model show on 2026-11-23." in shown
    assert clm("model", "show", "--svg", "-").stdout == svg  # the same bytes every time


def test_the_poster_shows_inserted_stages_terminal_stages_and_collaborators(clm):
    clm("stage", "add", "expansion", "--after", "adopting", "--team", "account-management",
        "--expected-days", "45")  # fmt: skip
    clm("stage", "add", "lost", "--name", "Lost deal", "--after", "prospect", "--terminal")
    clm("user", "add", "dana", "--team", "delivery")
    clm("customer", "add", "Acme Corp", "--owner", "dana")
    [delivery] = [m for m in clm.json("milestone", "list") if m["title"] == "Product delivery"]
    clm("milestone", "edit", str(delivery["id"]), "--collaborator", "dana")
    shown = texts(clm("model", "show", "--svg", "-", "--title", "Acme & Co lifecycle").stdout)
    assert shown[:2] == [
        "Acme & Co lifecycle",
        "10 stages · new customers enter at Onboarding · as of 2026-11-23",
    ]
    assert "3. Lost deal" in shown and "7. Expansion" in shown
    # No rule spans the inserted stage (nothing extended them): the poster says so.
    assert shown.count("⚠ no move leads here") == 1
    delivery_band = shown.index("delivery")
    assert shown[delivery_band + 1 : delivery_band + 3] == ["collaborates on Product", "delivery"]


def test_the_poster_page_prints_on_a3(clm, tmp_path):
    page = clm("model", "show", "--html", "-").stdout
    assert page.startswith("<!DOCTYPE html>") and "@page { size: A3 landscape;" in page
    assert page.count("<svg ") == 1 and "<?xml" not in page
    assert page == clm("model", "show", "--html", "-").stdout
    clm("model", "show", "--html", "poster.html", "--svg", "poster.svg")
    assert (tmp_path / "poster.html").read_text() == page
    assert clm.error("model", "show", "--svg", "-", "--html", "-") == (
        "Error: --svg - and --html - both write to standard output: give one a file"
    )
    assert clm.error("model", "show", "--svg", "-", "--format", "json") == (
        "Error: --svg and --html draw the poster: leave out --format json"
    )
    assert clm.error("model", "show", "--svg", "-", "--title", " ") == (
        "Error: the poster needs a title: give --title some text"
    )


def test_the_poster_never_reads_user_text_as_markup(clm):
    clm("stage", "edit", "lead", "--name", "<b>Lead</b> & \x1b]52;c;x\x07")
    svg = clm("model", "show", "--svg", "-").stdout
    assert "1. <b>Lead</b> & \\x1b]5…" in texts(svg)  # shown, cut to fit its box
    assert "<b>" not in svg and "\x1b" not in svg


def test_the_poster_page_renders_in_chromium(clm, tmp_path):
    import os

    import pytest

    from tests.browser import chromium, visit

    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs chromium to check the poster (see .ci/run)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    clm("model", "show", "--html", "poster.html")
    seen = visit((tmp_path / "poster.html").as_uri(), width=1900, height=1400)
    assert seen.console == [] and seen.errors == []
    assert seen.requests == [(tmp_path / "poster.html").as_uri()]  # nothing from a network
    lines = seen.text.splitlines()
    for i, name in enumerate(("Lead", "Prospect", "Onboarding", "Launched", "Adopting",
                              "Renewal", "Will churn", "Churned"), start=1):  # fmt: skip
        assert f"{i}. {name}" in lines
    assert "Customer lifecycle" in lines and "Legend" in lines


def test_show_never_reads_user_text_as_markup(clm):
    clm("stage", "edit", "lead", "--name", "[bold]Lead[/] \x1b]52;c;x\x07")
    out = clm("model", "show").stdout
    assert "[bold]Lead[/] \\x1b]52;c;x\\x07" in out
    assert "\x1b" not in out


def test_show_lists_each_team_role_as_the_poster_does(clm):
    clm("user", "add", "dana", "--team", "delivery")
    clm("user", "add", "zed", "--team", "support")
    clm("customer", "add", "Acme Corp", "--owner", "dana")
    [delivery] = [m for m in clm.json("milestone", "list") if m["title"] == "Product delivery"]
    clm("milestone", "edit", str(delivery["id"]), "--collaborator", "dana")
    out = clm("model", "show").stdout
    teams = out[out.index("\nTeams\n") :]
    assert (
        "  sales\n"
        "    owns         prospect\n"
        "    receives     prospect ◀ marketing\n"
        "    hands off    prospect ▶ customer-success\n"
    ) in teams
    assert "    owns         onboarding, launched, adopting, will-churn\n" in teams
    assert "  delivery\n    collaborates onboarding: Product delivery\n" in teams
    assert "  support\n    (no stage, no move, no milestone)\n" in teams
    only = clm("model", "show", "--team", "sales").stdout
    assert only[only.index("\nTeams\n") :] == "\nTeams\n" + (  # only the sales team
        "  sales\n"
        "    owns         prospect\n"
        "    receives     prospect ◀ marketing\n"
        "    hands off    prospect ▶ customer-success\n"
    )
