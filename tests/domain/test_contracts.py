"""A new contract (a deal won, a churned customer won back): one rule for both."""

from datetime import date
from types import SimpleNamespace

from clm.domain.contracts import Contract, new_contract

NO_HOLIDAYS = frozenset


def _customer(term="1y", renewal=None):
    return SimpleNamespace(term=term, renewal=renewal)


def test_a_new_contract_starts_on_its_day_and_renews_a_term_later():
    on = date(2026, 1, 31)
    assert new_contract(_customer(), on, NO_HOLIDAYS) == Contract(on, date(2027, 1, 31))
    assert new_contract(_customer("1m"), on, NO_HOLIDAYS) == Contract(on, date(2026, 2, 28))


def test_a_won_deal_keeps_a_later_renewal_set_by_hand_a_win_back_does_not():
    on, later = date(2026, 3, 1), date(2026, 12, 31)
    customer = _customer(renewal=later)
    assert new_contract(customer, on, NO_HOLIDAYS, keep_renewal=True) == Contract(on, later)
    assert new_contract(customer, on, NO_HOLIDAYS) == Contract(on, date(2027, 3, 1))
    # A renewal already past is the old contract's, kept or not.
    past = _customer(renewal=date(2026, 2, 1))
    assert new_contract(past, on, NO_HOLIDAYS, keep_renewal=True).renewal == date(2027, 3, 1)


def test_holidays_are_read_only_for_a_business_day_term():
    asked = []

    def days_off():
        asked.append(True)
        return frozenset({date(2026, 1, 5)})

    on = date(2026, 1, 2)  # a Friday
    new_contract(_customer("1y"), on, days_off)
    assert asked == []
    assert new_contract(_customer("2bd"), on, days_off).renewal == date(2026, 1, 7)
    assert asked == [True]
