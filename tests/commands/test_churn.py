"""Churn closes out (issue 19): a reason from the model's list, open work cancelled, reminders
stopped, lost ARR out of the totals; a win-back starts a new contract; manual moves stick; the
recovered rule leads out of will-churn."""

from tests.conftest import dump


def _acme(team):
    team("--today", "2026-01-01", "customer", "add", "Acme", "--arr", "24000", "--health", "50")
    team("cta", "open", "acme", "--type", "risk", "--reason", "quiet", "--due", "2026-02-01")


def test_churn_needs_a_reason_from_the_models_list(team, db_path):
    _acme(team)
    before = dump(db_path)
    accepted = "use budget, product-fit, competitor, champion-left, acquired, other"
    assert team.error("customer", "move", "acme", "churned") == (
        f"Error: moving 'acme' to churned needs --reason with a churn reason: {accepted}"
    )
    assert team.error("customer", "move", "acme", "churned", "--reason", "bored") == (
        f"Error: moving 'acme' to churned needs --reason with a churn reason ('bored' is not "
        f"one): {accepted}"
    )
    assert dump(db_path) == before
    team("customer", "move", "acme", "churned", "--reason", "Product fit")
    shown = team.json("customer", "show", "acme")
    assert (shown["churn_reason"], shown["lost_arr"]) == ("product-fit", 24000)


def test_churn_cancels_open_work_and_stops_reminders(team):
    _acme(team)
    assert team.json("milestone", "list", "--overdue") != []
    team("customer", "move", "acme", "churned", "--reason", "competitor")
    assert team.json("milestone", "list") == []
    assert team.json("task", "list") == []
    assert team.json("cta", "list") == []
    statuses = {m["status"] for m in team.json("milestone", "list", "--status", "all")}
    assert statuses == {"cancelled"}
    assert {t["status"] for t in team.json("task", "list", "--status", "all")} == {"cancelled"}
    assert [c["status"] for c in team.json("cta", "list", "--status", "all")] == ["cancelled"]
    assert team.json("--today", "2027-06-01", "tick")["reminders"] == []
    assert team.json("--today", "2027-06-01", "tick")["overdue"] == []
    [churn] = [e for e in team.json("customer", "show", "acme")["timeline"] if e["kind"] == "churn"]
    assert churn["text"].startswith("churned (competitor), lost ARR 24,000; cancelled 4 milestones")
    assert "1 CTA (risk: quiet)" in churn["text"]


def test_lost_arr_is_out_of_the_totals_and_renewal_windows(team):
    _acme(team)
    team("--today", "2026-01-01", "customer", "add", "Beta", "--arr", "1000")
    team("customer", "move", "acme", "churned", "--reason", "budget")
    rows = {r["stage"]: r for r in team.json("report", "stages")}
    assert (rows["churned"]["arr"], rows["churned"]["terminal"]) == (24000, True)
    out = team("report", "stages").stdout
    assert "1 customers, ARR 1,000 (not counted: 1 churned, lost ARR 24,000)" in out
    listed = team.json("customer", "list", "--renewal-within", "60d")
    assert [c["slug"] for c in listed] == ["beta"]


def test_a_win_back_starts_a_new_contract(team):
    _acme(team)
    team("--today", "2026-06-01", "customer", "move", "acme", "churned", "--reason", "budget")
    team("customer", "move", "acme", "onboarding", "--reason", "came back")
    shown = team.json("customer", "show", "acme")
    assert (shown["start"], shown["renewal"], shown["lost_arr"]) == (
        "2026-11-23",
        "2027-11-23",
        None,
    )
    renewal = [m for m in shown["milestones"] if m["title"] == "Renewal"]
    assert [m["due"] for m in renewal] == ["2027-11-23"]


def test_a_rule_that_churns_records_its_own_churn_reason(team):
    team("rule", "disable", "at-risk")
    team("rule", "add", "lost", "--from", "onboarding", "--to", "churned", "--when", "health < 10",
         "--churn-reason", "Product fit")  # fmt: skip
    assert team.json("rule", "list")[-1]["churn_reason"] == "product-fit"
    team("customer", "add", "Foo", "--health", "5")
    team("tick")
    [*_, churned] = team.json("why", "foo")
    assert (churned["to"], churned["reason"], churned["by"]) == (
        "churned", "product-fit", "rule:lost"
    )  # fmt: skip
    shown = team.json("customer", "show", "foo")
    assert (shown["churn_reason"], team.json("milestone", "list", "--customer", "foo")) == (
        "product-fit", []
    )  # fmt: skip
    [entry] = [e for e in shown["timeline"] if e["kind"] == "churn"]
    assert entry["text"].startswith("churned (product-fit)")
    # Edited to another reason, the rule's next moves record that one.
    team("rule", "edit", "lost", "--churn-reason", "competitor")
    team("customer", "add", "Bar", "--health", "5")
    team("tick")
    assert team.json("why", "bar")[-1]["reason"] == "competitor"


def test_a_rule_into_a_terminal_stage_needs_a_churn_reason_of_the_model(team, db_path):
    before = dump(db_path)
    accepted = "budget, product-fit, competitor, champion-left, acquired, other"
    lost = [
        "rule",
        "add",
        "lost",
        "--from",
        "onboarding",
        "--to",
        "churned",
        "--when",
        "health < 9",
    ]
    assert team.error(*lost) == (
        "Error: --to churned churns the customers it moves: name the reason they churn for "
        f"with --churn-reason, one of {accepted}"
    )
    assert team.error(*lost, "--churn-reason", "aliens") == (
        f"Error: invalid --churn-reason 'aliens': use {accepted}"
    )
    assert team.error("rule", "edit", "at-risk", "--churn-reason", "budget") == (
        "Error: --churn-reason budget: only a rule that moves customers into a terminal stage "
        "(churned) has one"
    )
    assert dump(db_path) == before
    # A rule moved off the terminal stage drops its reason; moved onto one, it needs one.
    team(*lost, "--churn-reason", "budget")
    team("rule", "edit", "lost", "--to", "will-churn")
    assert team.json("rule", "list")[-1]["churn_reason"] is None
    assert "name the reason" in team.error("rule", "edit", "lost", "--to", "churned")


def test_a_rule_churn_reason_round_trips_through_the_model_file(team, tmp_path):
    team("rule", "add", "lost", "--from", "will-churn", "--to", "churned", "--when",
         "days_in_stage >= 60", "--churn-reason", "budget")  # fmt: skip
    exported = team("model", "export").stdout
    assert 'churn_reason = "budget"' in exported
    model = tmp_path / "model.toml"
    model.write_text(exported)
    assert "No changes" in team("model", "apply", model).stderr
    # The file's own list of reasons is what its rules are checked against.
    model.write_text(exported.replace('"budget",', '"money",'))
    result = team("model", "apply", model, code=1)
    assert "invalid --churn-reason 'budget': use money, product-fit" in result.stderr
    model.write_text(exported.replace('"budget",', '"money",').replace(
        'churn_reason = "budget"', 'churn_reason = "money"'))  # fmt: skip
    team("model", "apply", model)
    assert team.json("rule", "list")[-1]["churn_reason"] == "money"


def test_churn_reasons_are_in_the_model_file(team, tmp_path):
    exported = team("model", "export").stdout
    assert 'churn_reasons = [\n    "budget",' in exported or 'churn_reasons = ["budget"' in exported
    model = tmp_path / "model.toml"
    model.write_text(exported.replace('"acquired",', '"merged away",'))
    team("model", "apply", model)
    team("customer", "add", "Foo")
    assert "merged-away" in team.error("customer", "move", "foo", "churned", "--reason", "x")
    team("customer", "move", "foo", "churned", "--reason", "merged away")


def test_a_manual_move_back_is_not_undone_by_a_milestone_of_an_earlier_stay(team):
    team("--today", "2026-01-01", "customer", "add", "Foo")
    [training] = [m for m in team.json("milestone", "list") if m["title"] == "Personnel training"]
    team("--today", "2026-01-10", "milestone", "done", training["id"])
    team("--today", "2026-01-11", "tick")
    team("--today", "2026-01-15", "customer", "move", "foo", "onboarding", "--reason", "again")
    assert team.json("--today", "2026-01-20", "tick")["transitions"] == []
    checks = {c["rule"]: c for c in team.json("--today", "2026-01-20", "explain", "foo")}
    assert checks["onboarded"]["holds"] is False


def test_recovered_health_returns_the_customer_to_where_it_came_from(team):
    team("--today", "2026-01-01", "customer", "add", "Foo", "--stage", "adopting",
         "--health", "80", "--renewal", "2027-06-01")  # fmt: skip
    team("--today", "2026-03-01", "customer", "edit", "foo", "--health", "30")
    team("--today", "2026-03-01", "tick")
    team("--today", "2026-04-01", "customer", "edit", "foo", "--health", "75")
    [check] = team.json("--today", "2026-04-10", "explain", "foo")
    assert check["verdict"] == (
        "will move back to adopting, open a lifecycle CTA 'health recovered, confirm the save' "
        "on 2026-04-15, when health >= 70 for 14d holds"
    )
    news = team.json("--today", "2026-04-20", "tick")
    assert [(t["from"], t["to"], t["on"]) for t in news["transitions"]] == [
        ("will-churn", "adopting", "2026-04-15")
    ]
    assert [c["reason"] for c in news["ctas_opened"]] == ["health recovered, confirm the save"]


def test_recovery_ticked_late_writes_what_daily_ticks_write(clm, new_db):
    histories = []
    for daily in (True, False):
        db = ("--db", str(new_db()))
        clm(*db, "init")
        clm(*db, "--today", "2026-01-01", "customer", "add", "Foo", "--stage", "adopting",
            "--health", "30", "--renewal", "2027-06-01")  # fmt: skip
        clm(*db, "--today", "2026-01-01", "tick")
        clm(*db, "--today", "2026-01-05", "customer", "edit", "foo", "--health", "90")
        days = [f"2026-01-{d:02}" for d in range(15, 25)] if daily else ["2026-01-24"]
        for day in days:
            clm(*db, "--today", day, "tick")
        histories.append(clm.json(*db, "why", "foo"))
    assert histories[0] == histories[1]
    assert [(m["on"], m["to"]) for m in histories[0]][-1] == ("2026-01-19", "adopting")
