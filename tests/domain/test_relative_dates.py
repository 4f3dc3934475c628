"""`today+30d` / `today-14d`: the same day as `+30d` / `-14d` wherever a date is typed (so in
`--where`), and in a rule's condition on a date field a day relative to each day it is tried."""

import operator
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clm.dates import parse_date
from clm.db import Database
from clm.domain.custom_fields import add_field
from clm.domain.customers import CustomerFilter, add_customer, list_customers
from clm.domain.engine.conditions import parse_condition
from clm.domain.engine.field_defs import field_defs
from clm.domain.new_book import install_template
from clm.errors import Invalid

TODAY = date(2026, 11, 23)
ENDS = {"acme": date(2026, 12, 10), "beta": date(2026, 11, 1)}
COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
           "=": operator.eq, "!=": operator.ne}  # fmt: skip
SETTINGS = settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
OFFSETS = st.tuples(st.sampled_from("+-"), st.integers(0, 60), st.sampled_from(["d", "w"]))
SPACES = st.sampled_from(["", " "])


def days_of(sign: str, count: int, unit: str) -> int:
    return (-1 if sign == "-" else 1) * count * (7 if unit == "w" else 1)


@pytest.fixture
def book(new_db):
    database = Database.open(str(new_db()), on_create=install_template)
    with database.write() as conn:
        add_field(conn, "contract_end", "date")
        for slug, end in ENDS.items():
            add_customer(conn, TODAY, None, slug.title(), custom=[f"contract_end={end}"])
    yield database
    database.engine.dispose()


@given(offset=OFFSETS, gap=SPACES)
def test_today_plus_is_the_offset_from_today(offset, gap):
    sign, count, unit = offset
    text = f"today{gap}{sign}{gap}{count}{unit}"
    assert parse_date(text, TODAY) == parse_date(f"{sign}{count}{unit}", TODAY)
    assert parse_date(text, TODAY) == TODAY + timedelta(days=days_of(*offset))


@SETTINGS
@given(offset=OFFSETS, op=st.sampled_from(list(COMPARE)))
def test_where_compares_with_the_day_it_names(book, offset, op):
    sign, count, unit = offset
    bound = TODAY + timedelta(days=days_of(*offset))
    where = f"contract_end {op} today{sign}{count}{unit}"
    with book.read() as conn:
        found = [c["slug"] for c in list_customers(conn, TODAY, CustomerFilter(where=[where]))]
    assert found == [slug for slug, end in ENDS.items() if COMPARE[op](end, bound)]


@SETTINGS
@given(offset=OFFSETS, op=st.sampled_from(list(COMPARE)), gap=SPACES)
def test_a_rule_condition_keeps_its_offset_and_moves_with_the_day(book, offset, op, gap):
    sign, count, unit = offset
    with book.read() as conn:
        defs = field_defs(conn)
    condition = parse_condition(f"contract_end {op} today{gap}{sign}{gap}{count}{unit}", defs)
    days = days_of(*offset)
    assert str(condition) == f"contract_end {op} today" + (f"{days:+d}d" if days else "")
    assert parse_condition(str(condition), defs) == condition  # what the rule book stores
    for day in (TODAY, TODAY + timedelta(days=10)):
        assert condition.bound(day) == day + timedelta(days=days)


def test_a_wrong_relative_day_is_refused(book):
    with book.read() as conn:
        defs = field_defs(conn)
    for text in ("contract_end <= today+3m", "contract_end <= today+", "contract_end <= tomorrow"):
        with pytest.raises(Invalid, match="compare it with today, today\\+30d, today-14d"):
            parse_condition(text, defs)
    with pytest.raises(Invalid, match="use today-36500d to today\\+36500d"):
        parse_condition("contract_end <= today+40000d", defs)
