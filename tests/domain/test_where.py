"""The --where grammar: values and names are data, never SQL; each test compiles to what it
says, on any text."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clm.db import Database
from clm.domain.custom_fields import add_field
from clm.domain.customers import CustomerFilter, add_customer, list_customers
from clm.domain.new_book import install_template
from clm.errors import ClmError, Invalid
from clm.plain import is_text

TODAY = date(2026, 11, 23)
# Text as people and attackers type it: quotes, SQL, controls, any script.
SQLISH = st.sampled_from(
    ["x' OR 1=1 --", "'; DROP TABLE customers; --", 'a"b', "''", "%", "_", "\\", "seats >= 0"]
)
TEXTS = st.one_of(
    SQLISH, st.text(st.characters(exclude_characters="\x00"), min_size=1, max_size=30)
).filter(lambda t: t.strip())


EXAMPLES = {"suppress_health_check": [HealthCheck.function_scoped_fixture], "deadline": None}


def quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@pytest.fixture
def book(new_db):
    """A database with a text field and two customers, one holding `o'clock; DROP`."""
    database = Database.open(str(new_db()), on_create=install_template)
    with database.write() as conn:
        add_field(conn, "note", "text")
        add_field(conn, "seats", "number")
        add_customer(conn, TODAY, None, "Acme", custom=["note=o'clock; DROP", "seats=5"])
        add_customer(conn, TODAY, None, "Beta", custom=["seats=50"])
    yield database
    database.engine.dispose()


def slugs(database, *where: str) -> list[str]:
    with database.read() as conn:
        return [c["slug"] for c in list_customers(conn, TODAY, CustomerFilter(where=where))]


@settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(value=TEXTS)
def test_a_value_that_looks_like_sql_is_looked_for_as_text(book, value):
    """Whatever the value (quoted), the filter matches exactly the customers holding it; a
    value that is not text (a lone surrogate: an undecodable byte of the command line) is
    refused with its reason, on either backend."""
    if not is_text(value):
        with pytest.raises(Invalid, match="not valid text"):
            slugs(book, f"note = {quoted(value)}")
        assert slugs(book) == ["acme", "beta"]
        return
    expected = ["acme"] if value.strip() == "o'clock; DROP" else []
    assert slugs(book, f"note = {quoted(value)}") == expected
    assert slugs(book, f"note != {quoted(value)}") == (["acme"] if not expected else [])
    assert slugs(book) == ["acme", "beta"]  # nothing dropped, nothing changed


@settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(name=TEXTS)
def test_a_name_that_is_no_field_is_refused_never_run(book, name):
    try:
        slugs(book, f"{name} = 1")
    except Invalid:
        pass
    except ClmError as exc:  # pragma: no cover - a field clm knows is the only other way
        raise AssertionError(exc) from None
    assert slugs(book) == ["acme", "beta"]


@settings(
    max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(bound=st.integers(-100, 100), op=st.sampled_from(["<", "<=", ">", ">=", "=", "!="]))
def test_number_comparisons_match_python(book, bound, op):
    import operator

    compare = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
               "=": operator.eq, "!=": operator.ne}[op]  # fmt: skip
    expected = [slug for slug, seats in (("acme", 5), ("beta", 50)) if compare(seats, bound)]
    assert slugs(book, f"seats {op} {bound}") == expected


def test_a_nul_is_refused_as_a_value(book):
    try:
        slugs(book, "note = 'a\x00b'")
    except Invalid as exc:
        assert str(exc) == "invalid value 'a\x00b' for field note: use any text"
    else:
        raise AssertionError("a NUL was looked for")


def test_the_stored_text_round_trips_through_quotes(book):
    assert slugs(book, "note = 'o''clock; DROP'") == ["acme"]
    assert slugs(book, 'note = "o\'clock; DROP"') == ["acme"]
    assert slugs(book, "note is set and seats < 10") == ["acme"]
    assert slugs(book, "NOTE is not set") == ["beta"]


def test_a_lone_surrogate_is_refused_as_not_text(book):
    """What hypothesis found on PostgreSQL: the driver could not encode it (a traceback)."""
    with pytest.raises(Invalid, match=r"invalid --where 'note = '\\ud800'': it is not valid text"):
        slugs(book, "note = '\ud800'")
