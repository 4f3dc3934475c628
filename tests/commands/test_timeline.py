"""`clm customer timeline` and `customer show`'s recent history: notes and the system's events
(stage and owner changes, CTAs, milestones done and blocked, renewals, churn)."""


def _entries(clm, *args):
    return [(e["on"], e["kind"], e["text"], e["by"], e["reason"]) for e in clm.json(*args)]


def test_the_timeline_tells_what_happened_and_who_did_it(team):
    team("--today", "2026-10-01", "customer", "add", "Acme Corp", "--arr", "12000")
    team(
        "--today",
        "2026-10-02",
        "cta",
        "open",
        "acme-corp",
        "--type",
        "risk",
        "--reason",
        "Low usage",
    )
    milestones = team.json("milestone", "list", "--customer", "acme-corp")
    delivery = next(m["id"] for m in milestones if m["title"] == "Product delivery")
    team("--today", "2026-10-03", "--as", "bob", "milestone", "block", delivery, "--reason", "IT")
    team("--today", "2026-10-05", "milestone", "done", delivery)
    team(
        "--today", "2026-10-06", "--as", "alice", "cta", "close", "1", "--outcome", "Call went well"
    )
    team(
        "--today",
        "2026-10-07",
        "--as",
        "alice",
        "customer",
        "assign",
        "acme-corp",
        "--owner",
        "bob",
    )
    team(
        "--today",
        "2026-10-08",
        "cta",
        "open",
        "acme-corp",
        "--type",
        "expansion",
        "--reason",
        "Seats",
    )
    team("--today", "2026-11-20", "--as", "alice", "customer", "move", "acme-corp", "churned",
         "--reason", "budget")  # fmt: skip
    assert _entries(team, "customer", "timeline", "acme-corp") == [
        ("2026-10-01", "stage", "entered onboarding", None, "added"),
        ("2026-10-02", "cta opened", "CTA 1 risk: Low usage", None, None),
        ("2026-10-03", "milestone blocked", "Product delivery: IT", "bob", None),
        ("2026-10-05", "milestone done", "Product delivery", None, None),
        ("2026-10-06", "cta closed", "CTA 1 risk: Low usage", None, "Call went well"),
        ("2026-10-07", "owner", "alice → bob", "alice", "assign"),
        ("2026-10-08", "cta opened", "CTA 2 expansion: Seats", None, None),
        ("2026-11-01", "phase", "Introduction", None, None),
        ("2026-11-20", "stage", "onboarding → churned", "alice", "budget"),
        ("2026-11-20", "cta cancelled", "CTA 2 expansion: Seats", None, None),
        (
            "2026-11-20", "churn",
            "churned (budget), lost ARR 12,000; cancelled 3 milestones (Renewal, Setup and "
            "installation, Personnel training); 4 tasks (Schedule the kick-off call, Ship the "
            "product, Install and configure, Train the admins); 1 CTA (expansion: Seats)",
            "alice", None,
        ),
    ]  # fmt: skip
    # The same entries in every format, a few kinds at a time, from a day on.
    assert _entries(
        team, "customer", "timeline", "acme-corp", "--kind", "cta", "--since", "2026-10-06"
    ) == [
        ("2026-10-06", "cta closed", "CTA 1 risk: Low usage", None, "Call went well"),
        ("2026-10-08", "cta opened", "CTA 2 expansion: Seats", None, None),
        ("2026-11-20", "cta cancelled", "CTA 2 expansion: Seats", None, None),
    ]
    csv = team("customer", "timeline", "acme-corp", "--kind", "owner", "--format", "csv").stdout
    assert csv == "on,kind,text,by,reason\n2026-10-07,owner,alice → bob,alice,assign\n"
    table = team("customer", "timeline", "acme-corp", "--kind", "milestone").stdout
    assert "milestone blocked   Product delivery: IT" in table


def test_a_rule_opens_a_cta_on_the_day_it_became_true(team):
    team("--today", "2026-11-01", "customer", "add", "Acme", "--health", "80")
    team("--today", "2026-11-10", "customer", "edit", "acme", "--health", "30")
    team("tick")  # a tick days later: the at-risk rule's CTA is dated the day health fell
    opened = [e for e in team.json("customer", "timeline", "acme") if e["kind"] == "cta opened"]
    assert [(e["on"], e["by"]) for e in opened] == [("2026-11-10", "rule:at-risk")]


def test_show_has_the_recent_history_and_says_how_much_is_older(team):
    team("--today", "2026-10-01", "customer", "add", "Acme")
    for day in range(1, 21):
        team("note", "acme", f"note {day}", "--on", f"2026-10-{day + 1:02}")
    shown = team.json("customer", "show", "acme")
    # 22 entries: the stay, 20 notes, a phase passed; the latest 15 shown.
    texts = [e["text"] for e in shown["timeline"]]
    assert (len(texts), texts[:2], texts[-1]) == (15, ["note 7", "note 8"], "Introduction")
    result = team("customer", "show", "acme")
    assert "note 7" in result.stdout and "note 6" not in result.stdout
    assert result.stderr.endswith("7 earlier timeline entries: clm customer timeline acme\n")


def test_timeline_refusals(team):
    team("customer", "add", "Acme")
    assert team.error("customer", "timeline", "acme", "--kind", "gossip") == (
        "Error: invalid --kind 'gossip': use stage, owner, cta, milestone, renewal, churn, start, "
        "phase, note, call, email, meeting"
    )
    assert "--since" in team.error("customer", "timeline", "acme", "--since", "03/04/2026")
    assert "no customer 'acne'" in team.error("customer", "timeline", "acne")
    assert team("customer", "timeline", "acme", "--since", "+1d", "-f", "json").stdout == "[]\n"
