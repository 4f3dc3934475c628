"""The rules engine in the domain layer: when a condition on a date field became true, and a
rule's identity across removal and re-adding."""

from datetime import date

from clm.db import Database
from clm.domain import customers
from clm.domain.new_book import install_template
from clm.rules import add_rule, explain, parse_condition, remove_rule, set_enabled, tick


def open_db(path) -> Database:
    return Database.open(str(path), on_create=install_template)


def test_a_date_condition_holds_from_the_later_of_its_days_and_the_dates_last_change():
    row = type("Row", (), {"stage_entered": date(2026, 1, 1), "start": date(2026, 1, 1),
                           "renewal": date(2026, 7, 1)})()  # fmt: skip
    renewal = parse_condition("days_to_renewal <= 90")
    assert renewal.since(row) == date(2026, 4, 2)
    assert renewal.since(row, date(2026, 6, 1)) == date(2026, 6, 1)  # moved near on June 1
    assert renewal.since(row, date(2026, 3, 1)) == date(2026, 4, 2)  # moved on March 1
    start = parse_condition("days_since_start > 30")
    assert start.since(row) == date(2026, 2, 1)
    assert start.since(row, date(2026, 5, 5)) == date(2026, 5, 5)


def test_edits_of_a_date_date_the_rule_on_it(db_path):
    db = open_db(db_path)
    with db.write() as conn:
        customers.add_customer(conn, date(2026, 1, 1), None, "Foo", stage="adopting",
                               renewal=date(2027, 6, 1))  # fmt: skip
        assert tick(conn, date(2026, 5, 31)).transitions == []
        changed = customers.edit_customer(
            conn, date(2026, 6, 1), "foo", {"renewal": date(2026, 7, 1)}, by="alice"
        )
        assert changed == ["renewal"]
        [check] = [c for c in explain(conn, date(2026, 6, 3), "foo") if c["rule"] == "renewal-due"]
        assert check["since"] == date(2026, 6, 1)
        [moved] = tick(conn, date(2026, 6, 3)).transitions
        assert (moved["on"], moved["to"]) == (date(2026, 6, 1), "renewal")
        # Renewed (back to adopting) until a near day: the rule holds from the renewal on.
        customers.renew_customer(conn, date(2026, 6, 20), None, "foo", until=date(2026, 8, 1))
        assert customers.get_customer(conn, "foo").stage == "adopting"
        [again] = tick(conn, date(2026, 6, 25)).transitions
        assert (again["on"], again["to"]) == (date(2026, 6, 20), "renewal")


def test_a_rule_is_its_row_not_its_name(db_path):
    db = open_db(db_path)
    today = date(2026, 11, 23)
    with db.write() as conn:
        set_enabled(conn, "at-risk", False)
        customers.add_customer(conn, today, None, "Foo", health=20)
        add_rule(conn, "lowh", ["onboarding"], ["health < 30"], cta="risk:x")
        assert [c["reason"] for c in tick(conn, today).ctas_opened] == ["x"]
        set_enabled(conn, "lowh", False)
        set_enabled(conn, "lowh", True)
        assert tick(conn, today).ctas_opened == []
        remove_rule(conn, "lowh")
        add_rule(conn, "lowh", ["onboarding"], ["health < 50"], cta="risk:y")
        assert [c["reason"] for c in tick(conn, today).ctas_opened] == ["y"]
        assert tick(conn, today).ctas_opened == []
