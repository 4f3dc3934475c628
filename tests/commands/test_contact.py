"""`clm contact`: the account's people, the primary contact, and `contact_left:ROLE`."""

from tests.conftest import dump


def test_contacts_are_added_listed_shown_edited_and_removed(clm):
    clm("customer", "add", "Acme")
    added = clm(
        "contact", "add", "acme", "Ana Ruiz", "--role", "champion", "--email", "ana@acme.io"
    )
    assert added.stderr == "Added contact 1 (Ana Ruiz) to acme, the primary contact.\n"
    assert added.stdout == "1\n"
    clm("contact", "add", "acme", "Bo Li", "--role", "Sponsor", "--primary")
    clm("contact", "add", "acme", "Cy", "--role", "billing")
    listed = clm.json("contact", "list", "--customer", "acme")
    assert [(c["name"], c["role"], c["primary"]) for c in listed] == [
        ("Bo Li", "sponsor", True), ("Ana Ruiz", "champion", False), ("Cy", "billing", False),
    ]  # fmt: skip
    assert clm.json("contact", "show", "1") == {
        "id": 1, "customer": "acme", "name": "Ana Ruiz", "role": "champion",
        "email": "ana@acme.io", "phone": None, "primary": False, "left_on": None,
    }  # fmt: skip
    assert clm("contact", "edit", "1", "--primary").stderr == "Changed primary of contact 1.\n"
    assert [c["name"] for c in clm.json("contact", "list") if c["primary"]] == ["Ana Ruiz"]
    clm("contact", "edit", "3", "--left", "--on", "2026-11-20")
    assert [c["name"] for c in clm.json("contact", "list", "--here")] == ["Ana Ruiz", "Bo Li"]
    shown = clm("customer", "show", "acme").stdout
    assert "Contacts\n" in shown and "Cy         billing" in shown and "2026-11-20" in shown
    assert [c["name"] for c in clm.json("customer", "show", "acme")["contacts"]] == [
        "Ana Ruiz", "Bo Li", "Cy",
    ]  # fmt: skip
    assert clm("contact", "rm", "2").stderr == "Removed contact 2 (Bo Li).\n"
    assert [c["role"] for c in clm.json("contact", "list", "--role", "billing")] == ["billing"]


def test_bad_contacts_are_refused_and_nothing_changes(clm, db_path):
    clm("customer", "add", "Acme")
    clm("contact", "add", "acme", "Ana")
    before = dump(db_path)
    assert clm.error("contact", "add", "acme", "Bo", "--role", "champ") == (
        "Error: invalid role 'champ': use one of champion, sponsor, signer, billing, admin, "
        "user; did you mean 'champion'?"
    )
    assert clm.error("contact", "add", "acme", "Bo", "--email", "bo at acme") == (
        "Error: invalid email 'bo at acme': use an address like ana@example.com"
    )
    assert (
        clm.error("contact", "add", "acme", "  ")
        == "Error: invalid name '': a contact needs a name"
    )
    assert (
        clm.error("contact", "add", "acm", "Bo") == "Error: no customer 'acm'; did you mean 'acme'?"
    )
    assert clm.error("contact", "edit", "9", "--name", "X") == "Error: no contact 9"
    assert clm.error("contact", "edit", "1", "--left", "--on", "+2d") == (
        "Error: invalid --on 2026-11-25: a contact leaves today or before"
    )
    assert clm.error("contact", "edit", "1", "--left", "--back") == (
        "Error: --left and --back contradict each other: give one"
    )
    assert clm.error("contact", "edit", "1").startswith("Error: nothing to change")
    assert dump(db_path) == before


def test_a_champion_leaving_opens_a_risk_cta_dated_the_day_they_left(clm):
    clm("--today", "2026-11-01", "customer", "add", "Acme")
    clm("contact", "add", "acme", "Ana", "--role", "champion")
    clm("rule", "add", "champion-left", "--from", "onboarding", "--when", "contact_left:champion",
        "--cta", "risk:champion left", "--playbook", "save")  # fmt: skip
    [check] = [r for r in clm.json("explain", "acme") if r["rule"] == "champion-left"]
    assert (check["value"], check["holds"]) == ("no", False)
    clm("contact", "edit", "1", "--left", "--on", "2026-11-18")
    [check] = [r for r in clm.json("explain", "acme") if r["rule"] == "champion-left"]
    assert (check["value"], check["since"]) == ("left 2026-11-18", "2026-11-18")
    ticked = clm.json("tick")
    assert [(c["reason"], c["on"]) for c in ticked["ctas_opened"]] == [
        ("champion left", "2026-11-18")
    ]
    assert clm.error(
        "rule", "add", "x", "--from", "onboarding", "--when", "contact_left:ceo", "--cta", "risk:x"
    ).startswith("Error: invalid condition 'contact_left:ceo'")


def test_a_phone_that_starts_like_a_formula_round_trips(clm, tmp_path):
    """A phone is typed text like a name: csv guards it with a leading ', and the import takes
    that ' off again (found by the round-trip property test: `''=x` came back as `'=x`)."""
    clm("customer", "add", "Acme")
    for phone in ("''=x", "=1+1", "+33 1 23"):
        clm("contact", "add", "acme", f"P {phone}", "--role", "user", "--phone", phone)
    text = clm("export", "contacts", "-f", "csv").stdout
    phones = [line.split(",")[5] for line in text.splitlines()[1:]]
    assert phones == ["'" + "''=x", "'=1+1", "'+33 1 23"]
    (tmp_path / "c.csv").write_text(text)
    assert clm("import", "contacts", "c.csv").stderr == (
        "Imported 3 contacts: 0 created, 0 updated, 3 unchanged.\n"
    )
    assert sorted(c["phone"] for c in clm.json("contact", "list")) == ["''=x", "+33 1 23", "=1+1"]


def test_contacts_are_exported_and_imported(clm, tmp_path):
    clm("customer", "add", "Acme")
    clm("contact", "add", "acme", "Ana", "--role", "champion", "--email", "ana@acme.io")
    clm("contact", "add", "acme", "Bo", "--role", "sponsor")
    clm("contact", "edit", "2", "--left", "--on", "2026-11-01")
    text = clm("export", "contacts", "-f", "csv").stdout
    assert [line.rsplit(",", 1)[0] for line in text.splitlines()] == [
        "id,customer,name,role,email,phone,primary,left_on",
        "1,acme,Ana,champion,ana@acme.io,,true,",
        "2,acme,Bo,sponsor,,,false,2026-11-01",
    ]
    (tmp_path / "c.csv").write_text(text)
    assert clm("import", "contacts", "c.csv").stderr == (
        "Imported 2 contacts: 0 created, 0 updated, 2 unchanged.\n"
    )
    (tmp_path / "new.csv").write_text("customer,name,role,primary\nacme,Cy,billing,true\n")
    clm("import", "contacts", "new.csv")
    assert [(c["name"], c["primary"]) for c in clm.json("contact", "list")] == [
        ("Cy", True), ("Ana", False), ("Bo", False),
    ]  # fmt: skip
    (tmp_path / "bad.csv").write_text(
        "customer,name,role,email\nacme,Di,ceo,\nacme,Ed,user,ed at acme\nacmee,Fa,,\n"
    )
    result = clm("import", "contacts", "bad.csv", code=1)
    assert result.stderr.splitlines() == [
        "line 2, field role: invalid role 'ceo': use one of champion, sponsor, signer, "
        "billing, admin, user",
        "line 3, field email: invalid email 'ed at acme': use an address like a@b.com",
        "line 4, field customer: no customer 'acmee'; did you mean 'acme'?",
        "Error: 3 problems in the file; nothing imported",
    ]
