"""Ownership as policy: handoffs keep members, teams assign by policy, pending handoffs are
flagged, reminders never go to nobody, a renewal returns the account."""


def test_a_handoff_keeps_an_owner_who_is_in_the_receiving_team(team):
    team("user", "add", "sid", "--team", "customer-success")
    team("customer", "add", "Lead Co", "--stage", "prospect", "--owner", "sid")
    result = team("customer", "move", "lead-co", "onboarding")
    assert result.stderr == "Moved lead-co from prospect to onboarding on 2026-11-23.\n"
    assert team.json("customer", "show", "lead-co")["owner"] == "sid"


def test_round_robin_is_fair_and_deterministic_across_one_tick(team):
    team("user", "team", "account-management", "--assign", "round-robin")
    team("user", "add", "ann", "--team", "account-management")
    team("user", "add", "zed", "--team", "account-management")
    for n in range(6):
        team("customer", "add", f"Acme {n}", "--renewal", "2027-01-10")
    tick = team.json("--today", "2026-11-24", "tick")
    assert len(tick["transitions"]) == 6
    owners = {c["slug"]: c["owner"] for c in team.json("customer", "list", "--stage", "renewal")}
    assert owners == {
        "acme-0": "amy", "acme-1": "ann", "acme-2": "zed",
        "acme-3": "amy", "acme-4": "ann", "acme-5": "zed",
    }  # fmt: skip
    team("customer", "add", "Acme 6", "--renewal", "2027-01-10")
    team("--today", "2026-11-25", "tick")
    assert team.json("customer", "show", "acme-6")["owner"] == "amy"  # goes on after zed


def test_least_loaded_picks_the_member_with_fewest_live_customers(team):
    team("user", "team", "customer-success", "--assign", "least-loaded")
    team("customer", "add", "One", "--owner", "alice")
    team("customer", "add", "Two", "--stage", "prospect")
    team("customer", "move", "two", "onboarding")
    assert team.json("customer", "show", "two")["owner"] == "bob"
    shown = team("user", "team", "customer-success").stderr
    assert "assigns by least-loaded, default owner alice" in shown


def test_a_tick_says_which_handoffs_are_pending_and_the_agenda_lists_them(clm):
    clm("user", "add", "alice", "--team", "customer-success", "--default-owner")
    clm("customer", "add", "Acme", "--renewal", "2027-01-10")
    assert "Handoffs pending" in clm("tick", "--dry-run").stdout
    tick = clm.json("tick")
    assert tick["handoffs_pending"] == [
        {"customer": "acme", "team": "account-management", "on": "2026-11-23",
         "owner": "alice", "rule": "renewal-due"}
    ]  # fmt: skip
    assert clm.json("customer", "list", "--handoff-pending")[0]["owner"] == "alice"


def test_policy_errors(team):
    assert team.error("user", "team", "customer-success", "--assign", "random") == (
        "Error: invalid assignment policy 'random': use default-owner, round-robin, least-loaded"
    )
    assert "no team 'nope'" in team.error("user", "team", "nope")


def test_a_reminder_without_addressee_goes_to_the_team_or_is_undeliverable(clm):
    clm("user", "add", "alice", "--team", "customer-success")
    clm("customer", "add", "Acme")
    assert clm.json("customer", "show", "acme")["owner"] is None
    assert clm.json("customer", "show", "acme")["handoff_pending"] == "customer-success"
    clm("milestone", "add", "acme", "Kick-off", "--due", "+5d", "--remind", "5d")
    tick = clm.json("tick")
    [sent] = [r for r in tick["reminders"] if r["title"] == "Kick-off"]
    assert (sent["recipients"], sent["to_team"]) == (["alice"], "customer-success")
    clm("user", "rm", "alice", "--yes")
    clm("milestone", "add", "acme", "Review", "--due", "+6d", "--remind", "5d")
    tick = clm.json("--today", "2026-11-24", "tick")
    assert [r["title"] for r in tick["reminders"]] == []
    assert [r["title"] for r in tick["undeliverable"]] == ["Review"]
    clm("user", "add", "bea", "--team", "customer-success")
    tick = clm.json("--today", "2026-11-25", "tick")
    assert [(r["title"], r["recipients"]) for r in tick["reminders"]] == [("Review", ["bea"])]


def test_renew_returns_the_account_to_its_owner_before_renewal(team):
    team("customer", "add", "Acme", "--owner", "bob", "--renewal", "2027-01-10")
    team("tick")
    assert team.json("customer", "show", "acme")["owner"] == "amy"
    result = team("customer", "renew", "acme")
    assert "Owner: amy → bob." in result.stderr
    assert team.json("customer", "show", "acme")["owner"] == "bob"


def test_renew_keeps_an_owner_reassigned_during_renewal(team):
    team("user", "add", "ann", "--team", "account-management")
    team("customer", "add", "Acme", "--owner", "bob", "--renewal", "2027-01-10")
    team("tick")
    team("customer", "edit", "acme", "--owner", "ann")
    team("customer", "renew", "acme")
    assert team.json("customer", "show", "acme")["owner"] == "ann"


def test_ten_days_missed_assign_as_ten_daily_ticks(clm, new_db):
    """The catch-up property with round-robin: the same owners and history either way."""
    books = [new_db(), new_db()]
    for db in books:
        clm("--db", db, "init")
        clm("--db", db, "user", "add", "alice", "--team", "customer-success", "--default-owner")
        clm("--db", db, "user", "team", "account-management", "--assign", "round-robin")
        for handle in ("amy", "ann"):
            clm("--db", db, "user", "add", handle, "--team", "account-management")
        for n in range(5):
            renewal = f"2027-02-{14 + 2 * n:02d}"
            clm("--db", db, "customer", "add", f"Acme {n}", "--renewal", renewal)
    for day in range(1, 11):
        clm("--db", books[0], "--today", f"2026-12-{day:02d}", "tick")
    clm("--db", books[1], "--today", "2026-12-10", "tick")
    owners = [
        [(c["slug"], c["stage"], c["owner"]) for c in clm.json("--db", db, "customer", "list")]
        for db in books
    ]
    assert owners[0] == owners[1]
    assert {owner for _, _, owner in owners[0]} == {"amy", "ann"}


def test_the_agenda_of_team_members_and_the_kept_owner_shows_pending_handoffs(clm):
    clm("user", "add", "alice", "--team", "customer-success", "--default-owner")
    clm("user", "add", "amy", "--team", "account-management")
    clm("user", "team", "account-management", "--assign", "default-owner")
    clm("customer", "add", "Acme")
    clm("customer", "move", "acme", "renewal")
    for user in ("alice", "amy"):
        shown = clm("--as", user, "agenda").stdout
        assert "Handoffs pending (1)" in shown
        assert "clm customer assign acme --owner" in shown
    assert [r["command"] for r in clm.json("--as", "amy", "agenda")] == [
        "clm customer assign acme --owner amy"
    ]
