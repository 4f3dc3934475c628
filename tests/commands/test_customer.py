"""`clm customer …`, `clm note` and `clm why` through the CLI."""

import json

import pytest

from tests.conftest import dump

CUSTOMER_KEYS = [
    "slug", "name", "stage", "owner", "start", "renewal", "term", "arr", "health", "lead_score",
    "source", "tags", "influencers", "stage_entered", "days_in_stage", "uuid", "handoff_pending",
]  # fmt: skip


def test_add_derives_slug_enters_the_entry_stage_and_team_owner(team):
    result = team("customer", "add", "Ångström Café & Co.", "--arr", "24000", "--tag", "emea")
    assert result.stderr == (
        "Added angstrom-cafe-co (Ångström Café & Co.) in onboarding, owned by alice.\n"
    )
    assert result.stdout == "angstrom-cafe-co\n"  # the slug alone, for a script
    [row] = team.json("customer", "list")
    assert list(row) == CUSTOMER_KEYS
    assert row | {"uuid": "-"} == {
        "slug": "angstrom-cafe-co", "name": "Ångström Café & Co.", "stage": "onboarding",
        "owner": "alice", "start": "2026-11-23", "renewal": "2027-11-23", "term": "1y",
        "arr": 24000, "health": None, "lead_score": None, "source": None, "tags": ["emea"],
        "influencers": [], "stage_entered": "2026-11-23", "days_in_stage": 0, "uuid": "-",
        "handoff_pending": None,
    }  # fmt: skip


def test_add_with_every_field(team):
    team(
        "customer", "add", "Globex", "--slug", "globex-eu", "--stage", "adopting", "--owner", "bob",
        "--start", "2025-02-28", "--term", "6m", "--health", "80", "--lead-score", "40",
        "--source", "referral", "--tag", "b", "--tag", "a", "--influencer", "sam",
        "--influencer", "mia",
    )  # fmt: skip
    [row] = team.json("customer", "list")
    assert row["slug"] == "globex-eu" and row["stage"] == "adopting" and row["owner"] == "bob"
    # Renewal is start + k × term, the first after today, clamped to the month's end.
    assert (row["start"], row["renewal"], row["term"]) == ("2025-02-28", "2027-02-28", "6m")
    assert row["tags"] == ["a", "b"] and row["influencers"] == ["mia", "sam"]
    assert (row["health"], row["lead_score"], row["source"]) == (80, 40, "referral")
    assert (row["stage_entered"], row["days_in_stage"]) == ("2025-02-28", 633)


def test_a_lead_has_no_contract_and_goes_to_marketing(team):
    team("customer", "add", "Initech", "--stage", "lead", "--lead-score", "30")
    [row] = team.json("customer", "list")
    assert (row["stage"], row["owner"], row["renewal"]) == ("lead", "mia", None)


def test_add_without_users_leaves_it_unowned(clm):
    result = clm("customer", "add", "Acme")
    assert "no owner" in result.stderr
    assert clm.json("customer", "show", "acme")["owner"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-13-45"], "invalid --start '2026-13-45'"),
        (["--start", "2023-02-29"], "invalid --start '2023-02-29'"),
        (["--start", "01/02/2026"], "invalid --start '01/02/2026'"),
        (["--renewal", "next friday"], "invalid --renewal 'next friday'"),
        (["--term", "fortnight"], "invalid --term 'fortnight'"),
        (["--health", "101"], "invalid health 101: use a number 0–100"),
        (["--health", "-1"], "invalid health -1: use a number 0–100"),
        (["--lead-score", "200"], "invalid lead score 200"),
        (["--arr", "-5"], "invalid ARR -5.0"),
        (["--stage", "onbaording"], "no stage 'onbaording'; did you mean 'onboarding'?"),
        (["--owner", "alcie"], "no user 'alcie'; did you mean 'alice'?"),
        (["--influencer", "nobody"], "no user 'nobody'"),
        (["--slug", "Not A Slug"], "invalid slug 'not a slug'"),
        (["--start", "2026-01-01", "--renewal", "2025-01-01"], "invalid renewal 2025-01-01"),
    ],
)
def test_add_refuses_bad_input_and_changes_nothing(team, db_path, args, message):
    before = dump(db_path)
    error = team.error("customer", "add", "Acme Corp", *args)
    assert message in error
    assert dump(db_path) == before


def test_invalid_dates_show_the_accepted_forms(clm):
    error = clm.error("customer", "add", "Acme", "--start", "next friday")
    assert "YYYY-MM-DD" in error and "today" in error and "+30d" in error and "eom" in error


def test_duplicate_slug_is_refused(team, db_path):
    team("customer", "add", "Acme Corp")
    before = dump(db_path)
    error = team.error("customer", "add", "ACME corp!")
    assert error == "Error: customer slug 'acme-corp' is already taken by 'Acme Corp': pass --slug"
    assert dump(db_path) == before
    team("customer", "add", "ACME corp!", "--slug", "acme-corp-2")
    assert [r["slug"] for r in team.json("customer", "list")] == ["acme-corp", "acme-corp-2"]


def test_a_name_with_no_letters_needs_a_slug(clm):
    assert "pass --slug" in clm.error("customer", "add", "日本")
    clm("customer", "add", "日本", "--slug", "nihon")
    assert clm.json("customer", "show", "nihon")["name"] == "日本"


def test_unknown_customer_suggests_the_closest(team):
    team("customer", "add", "Acme Corp")
    assert team.error("customer", "show", "acme") == (
        "Error: no customer 'acme'; did you mean 'acme-corp'?"
    )
    assert team.error("customer", "show", "zzz") == "Error: no customer 'zzz'"


@pytest.fixture
def book(team):
    team("customer", "add", "Acme Corp", "--tag", "enterprise", "--renewal", "2027-01-10")
    team("customer", "add", "Globex", "--stage", "adopting", "--owner", "bob", "--tag", "smb")
    team("customer", "add", "Initech", "--stage", "lead")
    return team


@pytest.mark.parametrize(
    ("filters", "slugs"),
    [
        ([], ["acme-corp", "globex", "initech"]),
        (["--stage", "adopting"], ["globex"]),
        (["--owner", "bob"], ["globex"]),
        (["--tag", "enterprise"], ["acme-corp"]),
        (["--renewal-within", "60d"], ["acme-corp"]),
        (["--renewal-within", "2 years"], ["acme-corp", "globex"]),
        (["--stage", "renewal"], []),
        (["--limit", "2"], ["acme-corp", "globex"]),
        (["--limit", "1", "--stage", "lead"], ["initech"]),
    ],
)
def test_list_filters(book, filters, slugs):
    assert [r["slug"] for r in book.json("customer", "list", *filters)] == slugs


def test_list_limit_must_be_positive(book):
    expected = "Error: invalid --limit 0: use a number of customers, 1 or more"
    assert book.error("customer", "list", "--limit", "0") == expected


def test_bare_noun_lists_and_takes_list_options(book):
    assert book("customer").stdout == book("customer", "list").stdout
    assert (
        book("customer", "--stage", "lead", "-f", "csv")
        .stdout.splitlines()[1]
        .startswith("initech,Initech,lead,mia,")
    )


def test_list_formats(book):
    csv_lines = book("customer", "list", "--format", "csv").stdout.splitlines()
    assert csv_lines[0] == ",".join(CUSTOMER_KEYS)
    assert csv_lines[1].startswith("acme-corp,Acme Corp,onboarding,alice,2026-11-23,2027-01-10,1y,")
    tsv_lines = book("customer", "list", "--format", "tsv").stdout.splitlines()
    assert tsv_lines[0] == "\t".join(CUSTOMER_KEYS)
    jsonl = [
        json.loads(line) for line in book("customer", "list", "-f", "jsonl").stdout.splitlines()
    ]
    assert jsonl == book.json("customer", "list")
    table = book("customer", "list").stdout
    assert table.splitlines()[0].split() == [
        "slug",
        "name",
        "stage",
        "owner",
        "renewal",
        "ARR",
        "health",
        "days",
    ]
    assert "\x1b" not in table


def test_empty_lists_are_valid_output(clm):
    assert clm("customer", "list", "-f", "json").stdout == "[]\n"
    assert clm("customer", "list", "-f", "jsonl").stdout == ""
    assert clm("customer", "list", "-f", "csv").stdout == ",".join(CUSTOMER_KEYS) + "\n"
    result = clm("customer", "list")
    assert (result.stdout, result.stderr) == ("", "No customers.\n")


def test_unknown_format_is_a_usage_error(clm):
    result = clm("customer", "list", "--format", "xml", code=2)
    assert "xml" in result.stderr


def test_markup_and_escapes_are_stored_verbatim_and_shown_safely(clm):
    name = "Acme [red]Ltd[/] \x1b[2J\u202eevil"
    clm("customer", "add", name, "--slug", "acme")
    assert clm.json("customer", "show", "acme")["name"] == name
    for args in (["customer", "list"], ["customer", "show", "acme"]):
        out = clm(*args).stdout
        assert "[red]Ltd[/]" in out
        assert "\x1b" not in out and "\u202e" not in out
        assert "\\x1b[2J" in out and "\\u202e" in out


def test_show_page_and_timeline(team):
    team("customer", "add", "Acme Corp", "--start", "2026-10-01", "--health", "70")
    team("note", "acme-corp", "Kick-off call", "--kind", "call", "--on", "2026-10-05")
    team("--as", "bob", "customer", "move", "acme-corp", "launched", "--on", "2026-11-01")
    page = team("customer", "show", "acme-corp").stdout
    assert page.startswith("Acme Corp (acme-corp)\n")
    assert "Timeline" in page and "Kick-off call" in page and "onboarding → launched" in page
    shown = team.json("customer", "show", "acme-corp")
    assert [(e["on"], e["kind"], e["text"], e["by"]) for e in shown["timeline"]] == [
        ("2026-10-01", "stage", "entered onboarding", None),
        ("2026-10-05", "call", "Kick-off call", None),
        ("2026-11-01", "stage", "onboarding → launched", "bob"),
        ("2026-11-01", "phase", "Introduction", None),  # a phase passed, on its day
    ]
    assert shown["days_in_stage"] == 22


def test_edit_fields_tags_and_influencers(book):
    result = book(
        "customer", "edit", "acme-corp", "--name", "Acme Corporation", "--health", "35",
        "--owner", "bob", "--tag", "at-risk", "--untag", "enterprise", "--influencer", "sam",
    )  # fmt: skip
    assert result.stderr == "Changed name, owner, health, tags, influencers of acme-corp.\n"
    row = book.json("customer", "show", "acme-corp")
    assert (row["name"], row["health"], row["owner"]) == ("Acme Corporation", 35, "bob")
    assert (row["tags"], row["influencers"]) == (["at-risk"], ["sam"])
    book("customer", "edit", "acme-corp", "--remove-influencer", "sam")
    assert book.json("customer", "show", "acme-corp")["influencers"] == []
    assert (
        book("customer", "edit", "acme-corp", "--health", "35").stderr
        == "No change to acme-corp.\n"
    )


def test_edit_refusals_change_nothing(book, db_path):
    before = dump(db_path)
    assert "nothing to change" in book.error("customer", "edit", "acme-corp")
    assert "invalid health 150" in book.error("customer", "edit", "acme-corp", "--health", "150")
    assert "no user 'zed'" in book.error("customer", "edit", "acme-corp", "--owner", "zed")
    assert "no customer 'nope'" in book.error("customer", "edit", "nope", "--health", "5")
    assert "invalid --renewal" in book.error(
        "customer", "edit", "acme-corp", "--renewal", "2026-02-30"
    )
    assert dump(db_path) == before


def test_move_forward_hands_off_to_the_new_team(book):
    result = book(
        "--as", "bob", "customer", "move", "acme-corp", "renewal", "--reason", "90 days left"
    )
    assert result.stderr == (
        "Moved acme-corp from onboarding to renewal on 2026-11-23. Owner: alice → amy.\n"
    )
    assert book.json("why", "acme-corp") == [
        {"on": "2026-11-23", "from": None, "to": "onboarding", "by": None, "reason": "added"},
        {"on": "2026-11-23", "from": "onboarding", "to": "renewal", "by": "bob",
         "reason": "90 days left"},
    ]  # fmt: skip
    assert book.json("customer", "show", "acme-corp")["owner"] == "amy"


def test_a_team_with_nobody_to_assign_keeps_the_owner_and_flags_the_handoff(clm):
    clm("user", "add", "alice", "--team", "customer-success", "--default-owner")
    clm("customer", "add", "Acme")
    result = clm("customer", "move", "acme", "renewal")
    assert result.stderr == (
        "Moved acme from onboarding to renewal on 2026-11-23. Owner: kept alice; handoff "
        "pending: team account-management has nobody to assign (clm customer assign acme "
        "--owner USER).\n"
    )
    shown = clm.json("customer", "show", "acme")
    assert (shown["owner"], shown["handoff_pending"]) == ("alice", "account-management")
    assert [c["slug"] for c in clm.json("customer", "list", "--handoff-pending")] == ["acme"]
    assert clm.json("customer", "list", "--unowned") == []
    clm("user", "add", "amy", "--team", "account-management")
    assert "team account-management has nobody to assign" in clm.error("customer", "assign", "acme")
    clm("user", "team", "account-management", "--assign", "round-robin")
    assert clm("customer", "assign", "acme").stderr == (
        "Assigned acme to amy (round-robin; was alice, handoff pending).\n"
    )
    assert clm.json("customer", "list", "--handoff-pending") == []


def test_moving_back_needs_a_reason(book, db_path):
    before = dump(db_path)
    error = book.error("customer", "move", "globex", "onboarding")
    assert error == "Error: moving 'globex' back from adopting to onboarding needs --reason"
    assert dump(db_path) == before
    book("customer", "move", "globex", "churned", "--reason", "budget")
    book("customer", "move", "globex", "onboarding", "--reason", "win-back")
    assert book.json("customer", "show", "globex")["stage"] == "onboarding"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["onboarding"], "'acme-corp' is already in onboarding"),
        (["launched", "--on", "2026-11-24"], "cannot be dated after today"),
        (["launched", "--on", "2026-11-01"], "entered onboarding on 2026-11-23"),
        (["nowhere"], "no stage 'nowhere'"),
        (["launched", "--on", "soon"], "invalid --on 'soon'"),
    ],
)
def test_move_refusals(book, db_path, args, message):
    before = dump(db_path)
    assert message in book.error("customer", "move", "acme-corp", *args)
    assert dump(db_path) == before


def test_renew_moves_the_date_a_term_ahead_and_leaves_renewal(team):
    team("--today", "2024-02-29", "customer", "add", "Acme", "--start", "2024-02-29")
    team("--today", "2024-12-15", "customer", "move", "acme", "adopting")
    team("--today", "2024-12-20", "customer", "move", "acme", "renewal")
    assert team.json("customer", "show", "acme")["renewal"] == "2025-02-28"
    result = team("--today", "2025-01-10", "customer", "renew", "acme")
    assert result.stderr == (
        "Renewed acme until 2026-02-28.\n"
        "Renewal milestone 1 done; next: milestone 6.\n"
        "Done with the renewal playbook's open work: milestone 5, task 5, task 6.\n"
        "Moved acme from renewal to adopting on 2025-01-10. Owner: amy → alice.\n"
    )
    # The recurring Renewal milestone rolls on from its leap-day anchor: 2025-02-28, 2026-02-28.
    renewals = [
        m for m in team.json("milestone", "list", "--status", "all") if m["title"] == "Renewal"
    ]
    assert [(m["due"], m["status"]) for m in renewals] == [
        ("2025-02-28", "done"),
        ("2026-02-28", "open"),
    ]
    shown = team.json("--today", "2025-01-10", "customer", "show", "acme")
    assert (shown["renewal"], shown["stage"]) == ("2026-02-28", "adopting")
    assert ("renewal", "renewed until 2026-02-28 (was 2025-02-28)") in [
        (e["kind"], e["text"]) for e in shown["timeline"]
    ]
    team("--today", "2025-01-10", "customer", "renew", "acme", "--until", "2027-03-31")
    assert team.json("customer", "show", "acme")["renewal"] == "2027-03-31"
    assert "must be after" in team.error("customer", "renew", "acme", "--until", "2020-01-01")


def _renewals(clm, slug: str, times: int) -> list[str]:
    """The renewal date after each of `times` renewals."""
    dates = []
    for _ in range(times):
        clm("customer", "renew", slug)
        dates.append(clm.json("customer", "show", slug)["renewal"])
    return dates


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # Yearly from a leap day: Feb 29 again in a leap year, not chained from Feb 28.
        (["--start", "2028-02-29"], ["2030-02-28", "2031-02-28", "2032-02-29", "2033-02-28"]),
        # Monthly from Jan 31: each month's end, not the 28th ever after February.
        (["--start", "2027-01-31", "--term", "1m"], ["2027-03-31", "2027-04-30", "2027-05-31"]),
    ],
)
def test_renew_counts_each_term_from_the_start_never_chained(clm, args, expected):
    clm("customer", "add", "Leap Co", *args)
    assert _renewals(clm, "leap-co", len(expected)) == expected


def test_renew_after_a_renewal_set_by_hand_moves_it_one_term(clm):
    # A renewal off the start's series (co-termed by hand) is its own anchor: one term on.
    clm("customer", "add", "Coterm", "--start", "2026-11-23", "--renewal", "2027-02-28")
    assert _renewals(clm, "coterm", 2) == ["2028-02-28", "2029-02-28"]
    clm("customer", "renew", "coterm", "--until", "2029-06-30")
    assert _renewals(clm, "coterm", 1) == ["2030-06-30"]
    # A new term counts from the start when the renewal is on its series: start + 40m.
    clm("customer", "edit", "coterm", "--renewal", "2030-03-23", "--term", "1m")
    assert _renewals(clm, "coterm", 1) == ["2030-04-23"]


def _renewal_milestones(clm) -> list[tuple[str, str]]:
    every = clm.json("milestone", "list", "--status", "all")
    return [(m["due"], m["status"]) for m in every if m["title"] == "Renewal"]


def test_a_renewal_rolls_the_renewal_milestone_once(clm):
    clm("--today", "2025-01-10", "customer", "add", "Foo", "--start", "2024-03-15")
    [first] = [m for m in clm.json("milestone", "list") if m["title"] == "Renewal"]
    # Marking the Renewal milestone done records the renewal of 2025-03-15, once.
    result = clm("--today", "2025-01-10", "milestone", "done", first["id"])
    assert "renewed until 2026-03-15" in result.stderr
    assert clm.json("customer", "show", "foo")["renewal"] == "2026-03-15"
    assert _renewal_milestones(clm) == [("2025-03-15", "done"), ("2026-03-15", "open")]
    assert (
        "was already done" in clm("--today", "2025-01-10", "milestone", "done", first["id"]).stderr
    )
    assert clm.json("customer", "show", "foo")["renewal"] == "2026-03-15"
    result = clm("--today", "2025-01-10", "customer", "renew", "foo")
    assert (
        result.stderr
        == "Renewed foo until 2027-03-15.\nRenewal milestone 5 done; next: milestone 6.\n"
    )
    assert _renewal_milestones(clm) == [
        ("2025-03-15", "done"), ("2026-03-15", "done"), ("2027-03-15", "open"),
    ]  # fmt: skip


def _open_renewal(clm, slug: str) -> tuple[str, str, list[str]]:
    [renewal] = [m for m in clm.json("milestone", "list", "--customer", slug)
                 if m["title"] == "Renewal"]  # fmt: skip
    return renewal["due"], renewal["every"], renewal["remind_on"]


def test_the_renewal_milestone_is_due_on_the_renewal_date_every_term(clm):
    clm("customer", "add", "Mend", "--renewal", "2027-02-28")
    assert _open_renewal(clm, "mend") == ("2027-02-28", "1y", ["2026-12-28"])
    clm("customer", "add", "Monthly", "--start", "2027-01-31", "--term", "1m")
    assert _open_renewal(clm, "monthly") == ("2027-02-28", "1m", ["2026-12-28"])
    # Its occurrences count from the start, as the renewals do: each month's end.
    assert _renewals(clm, "monthly", 2) == ["2027-03-31", "2027-04-30"]
    assert _open_renewal(clm, "monthly") == ("2027-04-30", "1m", ["2027-02-28"])
    # A lead has no contract yet: no renewal date, no Renewal milestone.
    clm("customer", "add", "Lead", "--stage", "lead")
    assert "Renewal" not in [m["title"] for m in clm.json("milestone", "list")
                             if m["customer"] == "lead"]  # fmt: skip


def test_editing_the_renewal_or_the_term_moves_the_renewal_milestone(clm):
    clm("customer", "add", "Mend")
    assert _open_renewal(clm, "mend") == ("2027-11-23", "1y", ["2027-09-23"])
    clm("customer", "edit", "mend", "--renewal", "2027-03-31")
    assert _open_renewal(clm, "mend") == ("2027-03-31", "1y", ["2027-01-31"])
    clm("customer", "edit", "mend", "--term", "6m")
    assert _open_renewal(clm, "mend") == ("2027-03-31", "6m", ["2027-01-31"])
    # A renewal set by hand is the anchor of the renewals after it: Sep 30, then Mar 31.
    assert _renewals(clm, "mend", 2) == ["2027-09-30", "2028-03-31"]
    assert _open_renewal(clm, "mend") == ("2028-03-31", "6m", ["2028-01-31"])
    clm("customer", "renew", "mend", "--until", "2028-06-15")
    assert _open_renewal(clm, "mend") == ("2028-06-15", "6m", ["2028-04-15"])
    assert _renewal_milestones(clm)[-3:] == [
        ("2027-09-30", "done"), ("2028-03-31", "done"), ("2028-06-15", "open"),
    ]  # fmt: skip


def test_a_model_with_the_renewal_milestone_on_the_start_follows_the_renewal_too(clm, tmp_path):
    """A database made before: its lifecycle playbook has Renewal at start +1y."""
    import tomllib

    import tomli_w

    model = tomllib.loads(clm("model", "export").stdout)
    model["playbooks"][0]["items"][-1] |= {"anchor": "start", "offset": "+1y"}
    (tmp_path / "old.toml").write_text(tomli_w.dumps(model), encoding="utf-8")
    clm("model", "apply", str(tmp_path / "old.toml"))
    clm("customer", "add", "Mend", "--renewal", "2027-02-28", "--term", "6m")
    assert _open_renewal(clm, "mend") == ("2027-02-28", "6m", ["2026-12-28"])


def test_a_lead_won_starts_its_contract_with_its_renewal_milestone(clm):
    clm("--today", "2026-10-01", "customer", "add", "Won", "--stage", "lead")
    clm("customer", "move", "won", "onboarding")
    shown = clm.json("customer", "show", "won")
    # Won today: it starts today and renews a term later.
    assert (shown["start"], shown["renewal"]) == ("2026-11-23", "2027-11-23")
    assert [p["title"] for p in shown["phases"]] == ["Introduction", "Adoption", "Retention"]
    assert _open_renewal(clm, "won") == ("2027-11-23", "1y", ["2027-09-23"])
    clm("customer", "edit", "won", "--renewal", "2027-12-31", "--term", "6m")
    assert _open_renewal(clm, "won") == ("2027-12-31", "6m", ["2027-10-31"])
    clm("customer", "edit", "won", "--renewal", "2027-11-30")
    assert _renewal_milestones(clm) == [("2027-11-30", "open")]
    # A lead with a renewal date after the day it is won keeps it, on its term.
    clm("customer", "add", "Dated", "--stage", "lead", "--renewal", "2027-05-05", "--term", "1m")
    assert clm.json("milestone", "list", "--customer", "dated") == []
    clm("customer", "move", "dated", "onboarding")
    assert _open_renewal(clm, "dated") == ("2027-05-05", "1m", ["2027-03-05"])


def test_a_leap_day_renewal_milestone_is_due_on_feb_29_in_leap_years(clm):
    clm("--today", "2024-02-29", "customer", "add", "Leap")
    for _ in range(4):
        [open_one] = [m for m in clm.json("milestone", "list") if m["title"] == "Renewal"]
        clm("milestone", "done", open_one["id"])
    assert [due for due, _ in _renewal_milestones(clm)] == [
        "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28",
    ]  # fmt: skip


def test_rm_needs_yes_when_not_interactive(book, db_path):
    before = dump(db_path)
    error = book.error("customer", "rm", "acme-corp")
    assert "pass --yes" in error
    assert dump(db_path) == before
    assert book("customer", "rm", "acme-corp", "--yes").stderr == "Removed acme-corp (Acme Corp).\n"
    assert [r["slug"] for r in book.json("customer", "list")] == ["globex", "initech"]
    assert "no customer 'acme-corp'" in book.error("customer", "show", "acme-corp")
    book("customer", "add", "Acme Corp")  # a removed slug can be taken again
    assert book.json("customer", "show", "acme-corp")["stage"] == "onboarding"


def test_notes(book):
    book("--as", "sam", "note", "acme-corp", "Sent the proposal", "--kind", "email")
    entry = book.json("customer", "show", "acme-corp")["timeline"][-1]
    assert entry == {
        "on": "2026-11-23",
        "kind": "email",
        "text": "Sent the proposal",
        "by": "sam",
        "reason": None,
    }
    assert "invalid --kind 'fax'" in book.error("note", "acme-corp", "hi", "--kind", "fax")
    assert "write some text" in book.error("note", "acme-corp", "  ")
    assert "no customer 'acme'" in book.error("note", "acme", "hi")


def test_csv_output_reads_back_a_bare_carriage_return(clm):
    import csv
    import io

    clm("customer", "add", "Acme\rCorp", "--slug", "acme")
    rows = list(csv.DictReader(io.StringIO(clm("customer", "list", "-f", "csv").stdout)))
    assert [r["name"] for r in rows] == ["Acme\rCorp"]


def test_an_item_both_added_and_removed_is_refused(team, db_path):
    team("customer", "add", "Acme")
    team("milestone", "add", "acme", "Kickoff", "--due", "+7d", "--remind", "1d")
    kickoff = next(m["id"] for m in team.json("milestone", "list") if m["title"] == "Kickoff")
    before = dump(db_path)
    for command, message in (
        (("customer", "edit", "acme", "--tag", "vip", "--untag", "VIP"),
         "--tag vip and --untag vip"),
        (("customer", "edit", "acme", "--influencer", "bob", "--remove-influencer", "bob"),
         "--influencer bob and --remove-influencer bob"),
        (("milestone", "edit", kickoff, "--remind", "2w", "--no-remind"),
         "--remind and --no-remind"),
        (("milestone", "edit", kickoff, "--collaborator", "bob", "--remove-collaborator", "bob"),
         "--collaborator bob and --remove-collaborator bob"),
    ):  # fmt: skip
        assert team.error(*command) == f"Error: {message} contradict each other: give one"
    assert dump(db_path) == before


def test_mine_and_team_list_what_a_person_and_a_team_work_on(team):
    """The scopes a server's policies give a member, as filters on any book (on a file a
    convenience, not a boundary: the file is)."""
    clm = team
    clm("customer", "add", "Owned", "--stage", "adopting", "--owner", "sam")
    clm("customer", "add", "Followed", "--stage", "adopting", "--owner", "alice",
        "--influencer", "sam")  # fmt: skip
    clm("customer", "add", "Pitched", "--stage", "prospect", "--owner", "mia")
    clm("customer", "add", "Collab", "--stage", "adopting", "--owner", "alice")
    clm("milestone", "add", "collab", "Review", "--due", "+7d", "--collaborator", "sam")
    clm("customer", "add", "Other", "--stage", "adopting", "--owner", "bob")
    mine = [c["slug"] for c in clm.json("--as", "sam", "customer", "list", "--mine")]
    assert mine == ["collab", "followed", "owned", "pitched"]
    sales = [c["slug"] for c in clm.json("customer", "list", "--team", "sales")]
    assert sales == ["owned", "pitched"]
    assert "pitched" in clm("--as", "sam", "customer", "list", "--mine").stdout  # the pipe's
    assert clm.error("customer", "list", "--team", "sale").startswith(
        "Error: no team 'sale'; did you mean 'sales'?"
    )
