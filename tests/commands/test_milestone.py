"""`clm milestone …`, playbooks, reminders and `clm my` through the CLI, with the seed's dates."""

import pytest

from tests.conftest import dump

MILESTONE_KEYS = [
    "id", "uuid", "customer", "title", "due", "status", "remind", "remind_on", "every",
    "collaborators", "pinned", "blocked_reason", "done_on", "tasks",
]  # fmt: skip


def titles_and_dues(clm, *args):
    return [(m["title"], m["due"]) for m in clm.json("milestone", "list", *args)]


def test_lifecycle_phase_milestones_from_the_start_date(team):
    """The seed: acquired 2017-08-20 gives Introduction 2017-09-20, Adoption 2017-11-20,
    Retention 2018-08-20 and a yearly Renewal due 2018-08-20, reminding two months before."""
    team(
        "--today",
        "2017-08-20",
        "customer",
        "add",
        "Seed Co",
        "--start",
        "2017-08-20",
        "--stage",
        "adopting",
    )
    # The phases are markers, not milestones: the Renewal is the one milestone to work on.
    [renewal] = team.json("milestone", "list", "--customer", "seed-co")
    assert (renewal["title"], renewal["due"]) == ("Renewal", "2018-08-20")
    shown = team.json("--today", "2017-10-01", "customer", "show", "seed-co")
    assert shown["phases"] == [
        {"title": "Introduction", "on": "2017-09-20", "status": "passed"},
        {"title": "Adoption", "on": "2017-11-20", "status": "ahead"},
        {"title": "Retention", "on": "2018-08-20", "status": "ahead"},
    ]
    assert (renewal["every"], renewal["remind"], renewal["remind_on"]) == (
        "1y",
        ["2m"],
        ["2018-06-20"],
    )


def test_milestone_keys_and_the_retainer_reminder(team):
    """The seed: a retainer due 2018-01-31 reminding two months before reminds on 2017-11-30,
    addressed to the owner and the collaborators."""
    team(
        "--today",
        "2017-08-20",
        "customer",
        "add",
        "Seed Co",
        "--start",
        "2017-08-20",
        "--stage",
        "adopting",
    )
    result = team("milestone", "add", "seed-co", "Retainer renewal", "--due", "2018-01-31",
                  "--remind", "2m", "--collaborator", "bob", "--pin")  # fmt: skip
    assert "reminding on 2017-11-30" in result.stderr
    [retainer] = [m for m in team.json("milestone", "list") if m["title"] == "Retainer renewal"]
    assert list(retainer) == MILESTONE_KEYS
    assert retainer | {"uuid": "-"} == {
        "id": 2, "uuid": "-", "customer": "seed-co", "title": "Retainer renewal",
        "due": "2018-01-31", "status": "open", "remind": ["2m"], "remind_on": ["2017-11-30"],
        "every": None, "collaborators": ["bob"], "pinned": True, "blocked_reason": None,
        "done_on": None, "tasks": [],
    }  # fmt: skip
    agenda = team.json("--today", "2017-11-30", "--as", "bob", "my")
    assert {"kind": "reminder", "id": 2, "customer": "seed-co", "title": "Retainer renewal",
            "due": "2018-01-31", "detail": "2m before, on 2017-11-30"} in agenda  # fmt: skip
    owner_agenda = team.json("--today", "2017-11-30", "--as", "alice", "my")
    assert ("reminder", 2) in [(row["kind"], row["id"]) for row in owner_agenda]
    shown = team.json("customer", "show", "seed-co")
    assert shown["pinned"] == ["Retainer renewal 2018-01-31"]


def test_delivery_schedule_with_a_blocked_milestone(team):
    team("--today", "2017-08-25", "customer", "add", "Seed Co", "--stage", "adopting")
    for title, due in (
        ("Delivery", "2017-09-01"),
        ("Installation", "2017-10-01"),
        ("Training", "2017-10-15"),
    ):
        team("milestone", "add", "seed-co", title, "--due", due)
    ids = {m["title"]: m["id"] for m in team.json("milestone", "list")}
    team("milestone", "block", ids["Installation"], "--reason", "waiting for the customer's IT")
    rows = {m["title"]: m for m in team.json("milestone", "list", "--customer", "seed-co")}
    assert rows["Installation"]["status"] == "blocked"
    assert rows["Installation"]["blocked_reason"] == "waiting for the customer's IT"
    assert [t for t, _ in titles_and_dues(team, "--status", "blocked")] == ["Installation"]
    team("milestone", "reopen", ids["Installation"])
    assert team.json("milestone", "show", ids["Installation"])["status"] == "open"
    assert [t for t, _ in titles_and_dues(team, "--customer", "seed-co", "--status", "all")] == [
        "Delivery", "Installation", "Training", "Renewal",
    ]  # fmt: skip


def test_a_done_milestone_is_reopened_before_it_is_blocked_or_cancelled(team, db_path):
    team("customer", "add", "Acme", "--stage", "adopting")
    team("milestone", "add", "acme", "Kickoff", "--due", "2026-11-20")
    kickoff = next(m["id"] for m in team.json("milestone", "list") if m["title"] == "Kickoff")
    team("milestone", "done", kickoff)
    before = dump(db_path)
    for command in (("block", kickoff, "--reason", "x"), ("cancel", kickoff)):
        assert team.error("milestone", *command) == (
            f"Error: milestone {kickoff} is done (on 2026-11-23): reopen it first "
            f"(clm milestone reopen {kickoff})"
        )
    assert dump(db_path) == before
    team("milestone", "reopen", kickoff)
    team("milestone", "cancel", kickoff)
    assert team.json("milestone", "show", kickoff)["status"] == "cancelled"


def test_listing_filters(team):
    team("customer", "add", "Acme", "--stage", "adopting")
    team("milestone", "add", "acme", "Soon", "--due", "+10d")
    team("milestone", "add", "acme", "Late", "--due", "2026-11-01")
    assert titles_and_dues(team, "--overdue") == [("Late", "2026-11-01")]
    assert titles_and_dues(team, "--due-within", "2w") == [("Soon", "2026-12-03")]
    team("milestone", "done", 3)
    assert ("Late", "2026-11-01") in titles_and_dues(team, "--status", "done")
    assert ("Late", "2026-11-01") not in titles_and_dues(team)
    header = team("milestone", "list", "-f", "csv").stdout.splitlines()[0]
    assert header == ",".join(MILESTONE_KEYS)


@pytest.mark.parametrize(
    ("first_due", "every", "dues"),
    [
        ("2024-01-31", "month", ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]),
        ("2023-01-31", "monthly", ["2023-01-31", "2023-02-28", "2023-03-31", "2023-04-30"]),
        ("2024-02-29", "year", ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28"]),
        ("2025-11-30", "quarter", ["2025-11-30", "2026-02-28", "2026-05-30", "2026-08-30"]),
        ("2026-01-05", "2w", ["2026-01-05", "2026-01-19", "2026-02-02", "2026-02-16"]),
    ],
)
def test_recurrence_is_computed_from_the_first_due_date(clm, first_due, every, dues):
    clm("customer", "add", "Acme", "--stage", "lead")
    clm("milestone", "add", "acme", "Check-in", "--due", first_due, "--every", every)
    for _ in dues[1:]:
        open_id = next(m["id"] for m in clm.json("milestone", "list") if m["title"] == "Check-in")
        clm("milestone", "done", open_id)
    got = [
        m["due"]
        for m in clm.json("milestone", "list", "--status", "all")
        if m["title"] == "Check-in"
    ]
    assert got == dues


def _done_again_and_again(clm, title: str, times: int) -> list[str]:
    """Mark the open milestone of `title` done `times` times; every due of its series."""
    for _ in range(times):
        open_id = next(m["id"] for m in clm.json("milestone", "list") if m["title"] == title)
        clm("milestone", "done", open_id)
    every = clm.json("milestone", "list", "--status", "all")
    return [m["due"] for m in every if m["title"] == title]


@pytest.mark.parametrize(
    ("offset", "every", "dues"),
    [
        # A whole number of periods after the start: counted from the start (a leap day).
        ("+1y", "1y", ["2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28"]),
        ("+12m", "1y", ["2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28"]),
        ("+2y", "1y", ["2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28", "2030-02-28"]),
        ("+1m", "1m", ["2024-03-29", "2024-04-29", "2024-05-29", "2024-06-29", "2024-07-29"]),
        # Otherwise counted from the first due date, as a milestone added by hand.
        ("+1d", "1y", ["2024-03-01", "2025-03-01", "2026-03-01", "2027-03-01", "2028-03-01"]),
    ],
)
def test_a_playbook_anniversary_counts_from_its_anchor_day(clm, tmp_path, offset, every, dues):
    import tomllib

    import tomli_w

    model = tomllib.loads(clm("model", "export").stdout)
    [lifecycle] = [p for p in model["playbooks"] if p["name"] == "lifecycle"]
    lifecycle["items"].append(
        {"kind": "milestone", "title": "Anniversary", "anchor": "start", "offset": offset,
         "every": every}
    )  # fmt: skip
    (tmp_path / "model.toml").write_text(tomli_w.dumps(model), encoding="utf-8")
    clm("model", "apply", str(tmp_path / "model.toml"))
    clm("--today", "2024-02-29", "customer", "add", "Leap", "--start", "2024-02-29")
    assert _done_again_and_again(clm, "Anniversary", len(dues) - 1) == dues


def test_a_new_first_due_re_anchors_a_playbook_series(clm):
    clm("--today", "2024-02-29", "customer", "add", "Leap", "--start", "2024-02-29")
    [renewal] = [m for m in clm.json("milestone", "list") if m["title"] == "Renewal"]
    clm("milestone", "edit", renewal["id"], "--due", "2025-03-31")
    assert _done_again_and_again(clm, "Renewal", 1) == ["2025-03-31", "2026-03-31"]


def test_done_twice_creates_the_next_occurrence_once(clm, db_path):
    clm("customer", "add", "Acme", "--stage", "lead")
    clm(
        "milestone",
        "add",
        "acme",
        "QBR",
        "--due",
        "2026-12-31",
        "--every",
        "quarter",
        "--remind",
        "2w",
    )
    first = clm("milestone", "done", 1, "--on", "2026-11-20")
    assert first.stderr == "Milestone 1 is done (2026-11-20). Next occurrence: milestone 2.\n"
    before = dump(db_path)
    again = clm("milestone", "done", 1)
    assert (
        again.stderr == "Milestone 1 was already done (2026-11-20). Next occurrence: milestone 2.\n"
    )
    assert dump(db_path) == before
    [nxt] = clm.json("milestone", "list")
    assert (nxt["due"], nxt["remind"], nxt["remind_on"]) == ("2027-03-31", ["2w"], ["2027-03-17"])


def test_business_day_reminders_skip_weekends_and_holidays(clm):
    clm("holiday", "add", "2026-12-25", "Christmas")
    clm("customer", "add", "Acme", "--stage", "lead")
    # Due Tuesday 2026-12-29: 3 business days before skips Christmas (Friday) and the weekend.
    clm(
        "milestone",
        "add",
        "acme",
        "Go-live",
        "--due",
        "2026-12-29",
        "--remind",
        "3bd",
        "--remind",
        "1w",
    )
    [row] = clm.json("milestone", "list")
    assert dict(zip(row["remind"], row["remind_on"], strict=True)) == {
        "3bd": "2026-12-23",
        "1w": "2026-12-22",
    }
    assert clm.json("holiday", "list") == [{"day": "2026-12-25", "name": "Christmas"}]


def test_a_removed_holiday_is_a_working_day_again(clm):
    clm("holiday", "add", "2026-12-25", "Christmas")
    assert clm.error("holiday", "add", "2026-12-25") == "Error: 2026-12-25 is already a holiday"
    clm("holiday", "rm", "2026-12-25")
    assert clm.error("holiday", "rm", "2026-12-25") == "Error: no holiday on 2026-12-25"
    clm("customer", "add", "Acme", "--stage", "lead")
    clm("milestone", "add", "acme", "Go-live", "--due", "2026-12-29", "--remind", "3bd")
    [row] = clm.json("milestone", "list")
    assert row["remind_on"] == ["2026-12-24"]  # Christmas counts again
    clm("holiday", "add", "2026-12-25", "Christmas Day")  # and can be made a holiday again
    assert clm.json("holiday", "list") == [{"day": "2026-12-25", "name": "Christmas Day"}]


def test_edit_moves_reminders_and_collaborators(team):
    team("customer", "add", "Acme", "--stage", "lead")
    team(
        "milestone",
        "add",
        "acme",
        "Kick-off",
        "--due",
        "2027-01-31",
        "--remind",
        "1m",
        "--collaborator",
        "bob",
    )
    result = team(
        "milestone",
        "edit",
        1,
        "--due",
        "2027-03-31",
        "--collaborator",
        "sam",
        "--remove-collaborator",
        "bob",
    )
    assert result.stderr == "Changed due, collaborators of milestone 1.\n"
    row = team.json("milestone", "show", 1)
    assert (row["remind_on"], row["collaborators"]) == (["2027-02-28"], ["sam"])
    team("milestone", "edit", 1, "--no-remind", "--unpin")
    assert team.json("milestone", "show", 1)["remind"] == []
    assert "nothing to change" in team.error("milestone", "edit", 1)


def test_a_reminder_fires_again_once_when_its_due_date_moves_after_it_fired(team):
    """Fired on its day, then the due date moved: the new day reminds once (the tick lists it
    as `clm my` does), a re-run of that day fires nothing; moved back, it stays fired."""
    team("customer", "add", "Acme", "--owner", "alice")
    team("milestone", "add", "acme", "M1", "--due", "2026-11-30", "--remind", "1w")
    (m1,) = [m["id"] for m in team.json("milestone", "list") if m["title"] == "M1"]

    def fired(day: str, *flags: str) -> list:
        news = team.json("--today", day, "tick", *flags)
        mine = [r for r in news["reminders"] if r["milestone"] == m1]
        return [(r["remind_on"], r["recipients"]) for r in mine]

    assert fired("2026-11-23") == [("2026-11-23", ["alice"])]
    team("milestone", "edit", m1, "--due", "2026-12-31")
    assert team.json("milestone", "show", m1)["remind_on"] == ["2026-12-24"]
    assert fired("2026-12-23") == []
    mine = team.json("--today", "2026-12-24", "--as", "alice", "my")
    assert ("reminder", m1) in [(r["kind"], r["id"]) for r in mine]
    assert fired("2026-12-24", "--dry-run") == [("2026-12-24", ["alice"])]
    assert fired("2026-12-24") == [("2026-12-24", ["alice"])]
    assert fired("2026-12-24") == []
    assert fired("2026-12-25") == []
    # Back to the first due date: its reminder fired on its day already.
    team("--today", "2026-12-25", "milestone", "edit", m1, "--due", "2026-11-30")
    assert fired("2026-12-26") == []
    # A third day fires once more.
    team("--today", "2026-12-26", "milestone", "edit", m1, "--due", "2027-01-31")
    assert fired("2027-01-24") == [("2027-01-24", ["alice"])]
    assert fired("2027-01-25") == []


def test_removed_collaborators_users_and_customers_stop_being_reminded(team):
    team("customer", "add", "Acme", "--stage", "lead")
    team("milestone", "add", "acme", "Go-live", "--due", "2026-12-01", "--remind", "2w",
         "--collaborator", "bob", "--collaborator", "sam")  # fmt: skip
    assert [r["id"] for r in team.json("--as", "bob", "my") if r["kind"] == "reminder"] == [1]
    team("milestone", "edit", 1, "--remove-collaborator", "bob")
    assert [r for r in team.json("--as", "bob", "my") if r["kind"] == "reminder"] == []
    team("user", "rm", "sam", "--yes")
    assert "no user 'sam'" in team.error("--as", "sam", "my")
    assert team.json("milestone", "show", 1)["collaborators"] == []
    assert [r["kind"] for r in team.json("--as", "mia", "my")] == ["reminder", "customer"]
    team("customer", "rm", "acme", "--yes")
    assert team.json("--as", "mia", "my") == []
    assert "no milestone 1" in team.error("milestone", "show", 1)


def test_milestone_refusals_change_nothing(team, db_path):
    team("customer", "add", "Acme", "--stage", "lead")
    team("milestone", "add", "acme", "Go-live", "--due", "2026-12-01")
    before = dump(db_path)
    assert "invalid --due '2026-02-30'" in team.error(
        "milestone", "add", "acme", "X", "--due", "2026-02-30"
    )
    assert "invalid --remind 'soon'" in team.error(
        "milestone", "add", "acme", "X", "--due", "today", "--remind", "soon"
    )
    assert "invalid --every 'fortnightly'" in team.error(
        "milestone", "add", "acme", "X", "--due", "today", "--every", "fortnightly"
    )
    assert "no user 'zed'" in team.error(
        "milestone", "add", "acme", "X", "--due", "today", "--collaborator", "zed"
    )
    assert "no customer 'acm'" in team.error("milestone", "add", "acm", "X", "--due", "today")
    assert "needs a title" in team.error("milestone", "add", "acme", " ", "--due", "today")
    assert "no milestone 99" in team.error("milestone", "done", 99)
    assert "needs --reason" in team.error("milestone", "block", 1, "--reason", " ")
    assert "pass --yes" in team.error("milestone", "rm", 1)
    assert "invalid --status 'late'" in team.error("milestone", "list", "--status", "late")
    assert dump(db_path) == before
    team("milestone", "cancel", 1)
    assert "cancelled: reopen it first" in team.error("milestone", "done", 1)
    team("milestone", "rm", 1, "--yes")
    assert team.json("milestone", "list", "--status", "all") == []


def test_stage_playbooks_run_once_per_entry(team):
    team("customer", "add", "Acme")  # enters onboarding: lifecycle and onboarding playbooks
    titles = [t for t, _ in titles_and_dues(team)]
    assert titles == ["Product delivery", "Setup and installation", "Personnel training",
                      "Renewal"]  # fmt: skip
    team("customer", "move", "acme", "adopting")
    team("customer", "move", "acme", "onboarding", "--reason", "relaunch")
    # The re-entry keeps the onboarding items still open: no second "Product delivery".
    assert [t for t, _ in titles_and_dues(team)] == titles
    [playbook] = [p for p in team.json("playbook", "list") if p["name"] == "onboarding"]
    assert playbook == {
        "name": "onboarding", "description": "Deliver, install and train in the first month",
        "on_start": False, "items": 7, "stages": ["onboarding"],
    }  # fmt: skip
    shown = team.json("playbook", "show", "onboarding")
    assert [(i["kind"], i["title"], i["offset"], i["milestone"]) for i in shown["items"]][:2] == [
        ("milestone", "Product delivery", "+14d", None),
        ("task", "Schedule the kick-off call", "+2d", "Product delivery"),
    ]
    assert "no playbook 'onbording'; did you mean 'onboarding'?" in team.error(
        "playbook", "show", "onbording"
    )


def test_my_needs_a_current_user(team):
    assert team.error("my") == "Error: who are you? pass --as USER or set CLM_USER"


def test_the_seed_delivery_schedule_with_tasks_under_the_first(team):
    """The seed: delivery Sept 1, installation Oct 1, training Oct 15; tasks under the first;
    one blocked with a reason; a note on a milestone shows on it."""
    today = ("--today", "2017-08-25")
    team(*today, "customer", "add", "Seed Co", "--stage", "lead", "--owner", "alice")
    for title, due in (
        ("Delivery", "2017-09-01"),
        ("Installation", "2017-10-01"),
        ("Training", "2017-10-15"),
    ):
        team(*today, "milestone", "add", "seed-co", title, "--due", due, "--collaborator", "bob")
    team(
        *today,
        "task",
        "add",
        "seed-co",
        "Ship the hardware",
        "--milestone",
        1,
        "--due",
        "2017-08-30",
    )
    team(
        *today,
        "task",
        "add",
        "seed-co",
        "Confirm the address",
        "--milestone",
        1,
        "--assignee",
        "bob",
    )
    team(*today, "milestone", "block", 2, "--reason", "customer's IT has not opened the firewall")
    rows = team.json(*today, "milestone", "list")
    assert [(m["title"], m["due"], m["status"], m["tasks"]) for m in rows] == [
        ("Delivery", "2017-09-01", "open", [1, 2]),
        ("Installation", "2017-10-01", "blocked", []),
        ("Training", "2017-10-15", "open", []),
    ]
    assert [
        (t["title"], t["assignee"]) for t in team.json("task", "list", "--customer", "seed-co")
    ] == [
        ("Ship the hardware", "alice"),
        ("Confirm the address", "bob"),
    ]
    shown = team.json(*today, "customer", "show", "seed-co")
    assert [t["id"] for t in shown["tasks"]] == [1, 2]
    assert {m["title"] for m in shown["milestones"]} == {"Delivery", "Installation", "Training"}
    # A delivery-team collaborator sees the milestones of a customer they do not own.
    agenda = team.json(*today, "--as", "bob", "my")
    assert [r["title"] for r in agenda if r["kind"] == "milestone"] == [
        "Delivery", "Installation", "Training",
    ]  # fmt: skip
    team(*today, "note", "seed-co", "Firewall ticket opened", "--milestone", 2, "--kind", "email")
    # The block is on the milestone's history too, before the note written about it.
    events = team.json(*today, "milestone", "show", 2)["notes"]
    assert [(e["kind"], e["text"]) for e in events] == [
        ("blocked", "Installation: customer's IT has not opened the firewall"),
        ("email", "Firewall ticket opened"),
    ]
    team("customer", "add", "Other", "--stage", "lead")
    assert "milestone 2 is on seed-co, not other" in team.error(
        "note", "other", "x", "--milestone", 2
    )


def test_my_reminders_as_owner_and_collaborator_once_each_by_day(team):
    team("customer", "add", "Acme", "--stage", "lead")  # owned by mia
    team("customer", "add", "Globex", "--stage", "lead", "--owner", "bob")
    team("milestone", "add", "acme", "Kick-off", "--due", "2026-12-03", "--remind", "2w",
         "--collaborator", "mia")  # fmt: skip
    team("milestone", "add", "globex", "Review", "--due", "2026-12-01", "--remind", "2w",
         "--collaborator", "mia")  # fmt: skip
    team("milestone", "add", "acme", "Launch", "--due", "2026-12-05", "--remind", "2w")
    reminders = [r for r in team.json("--as", "mia", "my") if r["kind"] == "reminder"]
    assert [(r["customer"], r["title"]) for r in reminders] == [
        ("globex", "Review"), ("acme", "Kick-off"), ("acme", "Launch"),
    ]  # fmt: skip
