"""`customer show` reads through statements compiled ahead (clm.storage.reads): on a file in its
usual state with the sqlite3 module alone, no SQLAlchemy imported. Its page is the same by
either path, and each section is what the domain's own lists (built and run by SQLAlchemy)
say of the customer, on both backends."""

import pytest

from clm.db import Database
from tests.commands.test_scorecard import SCORECARD, USAGE, apply
from tests.conftest import TODAY, clm_alone

FORMATS = ("table", "json", "csv")


@pytest.fixture
def rich(team, tmp_path):
    """Acme with fields, contacts, metrics and a scorecard, health history, ARR changes,
    milestones (reminded, pinned, collaborated on, overdue), CTAs, tasks and notes; Beta
    churned (its reason and lost ARR); Core with nothing but its row."""
    for name in ("Acme", "Beta", "Core"):
        team(
            "--today", "2026-09-01", "customer", "add", name, "--stage", "adopting",
            "--arr", "10000", "--tag", "emea", "--source", "partner", "--influencer", "bob",
        )  # fmt: skip
    for metric in ("active_users", "logins", "tickets"):
        team("metric", "add", metric)
    team("metric", "import", "-", input=USAGE)
    apply(team, tmp_path, SCORECARD)
    team("field", "add", "tier", "--kind", "choice", "--choice", "gold", "--choice", "silver")
    team("field", "add", "seats", "--kind", "number")
    team("field", "add", "signed", "--kind", "date")
    team("field", "add", "vip", "--kind", "bool")
    team("--today", "2026-10-01", "customer", "edit", "acme", "--arr", "12500.5",
         "--set", "tier=gold", "--set", "seats=40", "--set", "signed=2026-08-15",
         "--set", "vip=yes")  # fmt: skip
    team("contact", "add", "acme", "Jo Doe", "--role", "champion", "--email", "jo@acme.test")
    team("contact", "add", "acme", "Al Bo", "--role", "signer", "--phone", "+1 555")
    team("milestone", "add", "acme", "Kick-off", "--due", "+10d", "--remind", "1w",
         "--remind", "2d", "--collaborator", "bob", "--pin")  # fmt: skip
    team("milestone", "add", "acme", "QBR", "--due", "-5d")
    team("cta", "open", "acme", "--type", "risk", "--reason", "usage down", "--due", "+3d")
    team("task", "add", "acme", "Call Jo", "--due", "+2d", "--assignee", "bob")
    team("note", "acme", "Renewal talk", "--kind", "call", "--on", "2026-10-05")
    for day in ("2026-11-20", "2026-11-23"):
        team("--today", day, "tick")
    team("customer", "edit", "acme", "--health", "55", "--until", "+30d",
         "--reason", "exec sponsor left")  # fmt: skip
    team("customer", "move", "beta", "churned", "--reason", "budget")
    return team


def test_the_page_says_what_the_domain_lists_say(rich, db_path):
    from clm.domain import arr_history, contacts, ctas, customers, health, milestones, tasks
    from clm.domain.custom_fields import values_of
    from clm.domain.phases import customer_phases
    from clm.domain.records import get_customer
    from clm.domain.scorecard import contributions, read_scorecard
    from clm.domain.timeline import timeline

    db = Database.open(str(db_path), on_create=None)
    with db.read() as conn:
        for slug in ("acme", "beta", "core"):
            record, lists = customers.show_customer(conn, TODAY, slug)
            customer = get_customer(conn, slug)
            history = timeline(conn, TODAY, slug)
            card = contributions(conn, read_scorecard(conn), customer.id, TODAY)
            assert (
                lists
                == {
                    "fields": list(values_of(conn, customer.id)),
                    "contacts": list(contacts.list_contacts(conn, customer=slug)),
                    "milestones": list(milestones.list_milestones(conn, TODAY, customer=slug)),
                    "phases": customer_phases(conn, customer.id, TODAY),
                    "ctas": list(ctas.list_ctas(conn, TODAY, customer=slug)),
                    "tasks": list(tasks.list_tasks(conn, TODAY, customer=slug)),
                    "stays": lists["stays"],  # (no list of its own: `why` says the moves)
                    "health_history": health.health_history(conn, customer.id),
                    "arr_history": arr_history.arr_history(conn, customer.id),
                    "timeline": history[-15:],
                    "earlier": max(0, len(history) - 15),
                    "health_measures": card["measures"],
                }
            )
            assert record["health_missing"] == card["missing"]
            listed = next(customers.list_customers(conn, TODAY, customers.CustomerFilter()))
            assert set(listed) <= set(record)
    acme = rich.json("customer", "show", "acme")
    assert acme["tier"] == "gold" and acme["seats"] == 40 and acme["vip"] is True
    assert acme["signed"] == "2026-08-15" and acme["arr"] == 12500.5
    assert acme["health_override"] == "until 2026-12-23: exec sponsor left"
    assert [c["name"] for c in acme["contacts"]] == ["Jo Doe", "Al Bo"]
    assert acme["pinned"] == ["Kick-off 2026-12-03"]
    kick_off = next(m for m in acme["milestones"] if m["title"] == "Kick-off")
    assert kick_off["remind_on"] == ["2026-12-01", "2026-11-26"]
    assert [h["health"] for h in acme["health_history"]][-1] == 55
    assert [a["kind"] for a in acme["arr_history"]] == ["new", "expansion"]
    beta = rich.json("customer", "show", "beta")
    assert (beta["churn_reason"], beta["lost_arr"], beta["forecast"]) == ("budget", 10000, None)
    assert rich.error("customer", "show", "acm") == "Error: no customer 'acm'; did you mean 'acme'?"


@pytest.mark.sqlite_only("the sqlite3 module's path and the engine's, on one file")
def test_the_page_reads_the_same_without_the_engine(rich, db_path):
    def pages() -> list[str]:
        return [
            rich("customer", "show", slug, "-f", fmt).stdout
            for slug in ("acme", "beta", "core")
            for fmt in FORMATS
        ]

    fast = pages()
    journal = db_path.with_name(f"{db_path.name}-journal")
    journal.write_bytes(b"")  # not a hot journal: the engine opens the file as usual
    try:
        usual = pages()
        missing = rich.error("customer", "show", "acm")
    finally:
        journal.unlink()
    assert fast == usual
    assert rich.error("customer", "show", "acm") == missing
    assert "Health scorecard" in fast[0] and "ARR history" in fast[0] and "Jo Doe" in fast[0]


@pytest.mark.sqlite_only("a file read without the engine")
def test_the_page_on_a_file_does_not_load_sqlalchemy(rich, db_path):
    loaded, out = clm_alone("--db", db_path, "customer", "show", "acme")
    assert not loaded
    assert out.startswith("Acme (acme)\n")
