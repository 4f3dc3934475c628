"""`clm customer list` in a pipe: the table the database lays out (clm.render.sql_table) is,
byte for byte, the plain table clm.render.output writes from the listing's rows, on any data."""

import io
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clm.commands.customer import COLUMNS
from clm.db import Database
from clm.domain.customers import CustomerFilter, list_customers
from clm.render.output import _write_plain_table
from tests.conftest import TODAY, sql

TRICKY = [
    ("Acme, Inc.", []),
    ('The "Quoted" Company', ["--owner", "bob"]),
    ("O'Brien & Sons", ["--arr", "1234.5"]),  # cents: formatted by Python
    ("Ångström Café Zürich", ["--arr", "24000"]),  # narrow non-ASCII: laid out by SQL
    ("Société Générale", ["--arr", "0"]),
    ("株式会社日本", ["--slug", "nihon", "--arr", "1000000"]),  # wide: Python
    ("Emoji 🚀 Rockets", ["--health", "7"]),
    ("Cafe\u0301 Combining", []),  # a combining accent: width 1, length 2
    ("Esc \x1b[2J Corp", ["--slug", "esc-corp"]),  # a control, shown escaped
    ("Tab\tand\nnewline Ltd", ["--slug", "tab-ltd"]),
    ("Del \x7f Bidi \u202e Ltd", ["--slug", "del-ltd"]),
    ("Percent %s %d %-5s Corp", ["--arr", "123456789012"]),
    ("Back\\slash Corp", ["--arr", "999"]),
    ("x" * 300, ["--slug", "long-one", "--health", "100"]),
    ("Leadco", ["--stage", "lead"]),  # no renewal, no ARR
    ("Huge Money", ["--arr", "1e16"]),  # past the whole numbers SQL formats
    ("Fraction", ["--arr", "0.125"]),
]


@pytest.fixture
def tricky(team, db_path):
    for name, args in TRICKY:
        team("customer", "add", name, *args)
    team("customer", "add", "Orphan", "--stage", "adopting")
    sql(db_path, "UPDATE customers SET owner_id = NULL WHERE slug = 'orphan'")
    return team


def plain_table(db_path, filters: dict) -> str:
    """What clm.render.output's plain table writes for the listing's rows: the reference."""
    database = Database.open(str(db_path), on_create=lambda conn: None)
    with database.read() as conn:
        rows = list(list_customers(conn, TODAY, CustomerFilter(**filters)))
    out = io.StringIO()
    if rows:
        _write_plain_table(out, COLUMNS, rows)
    return out.getvalue()


@pytest.mark.parametrize(
    ("args", "filters"),
    [
        ([], {}),
        (["--stage", "onboarding"], {"stage": "onboarding"}),
        (["--owner", "bob"], {"owner": "bob"}),
        (["--limit", "3"], {"limit": 3}),
        (["--limit", "1"], {"limit": 1}),
        (["--limit", "40"], {"limit": 40}),
        (["--stage", "lead", "--limit", "1"], {"stage": "lead", "limit": 1}),
    ],
)
def test_the_pipe_table_is_the_plain_tables_bytes(tricky, db_path, args, filters):
    result = tricky("customer", "list", *args)
    assert result.stdout == plain_table(db_path, filters)
    assert result.stdout.count("\n") > 2


def test_tricky_cells_are_shown_as_before(tricky):
    out = tricky("customer", "list").stdout
    lines = out.splitlines()
    assert "\\x1b[2J" in out and "\\u202e" in out and "\\x7f" in out and "\x1b" not in out
    assert any(line.startswith("nihon ") and "1,000,000" in line for line in lines)
    assert any("1,234.50" in line for line in lines) and any(
        " 0.12 " in f"{line} " for line in lines
    )
    assert any("10,000,000,000,000,000" in line for line in lines)
    assert any("123,456,789,012" in line for line in lines)
    # Every line but the multi-line name's as wide as the widest cells allow, no trailing space.
    assert all(line == line.rstrip() for line in lines)


def test_filters_by_tag_and_renewal_match_the_plain_table(tricky, db_path):
    tricky("customer", "edit", "acme-inc", "--tag", "vip", "--renewal", "2027-01-10")
    tricky("customer", "edit", "nihon", "--tag", "vip")
    assert tricky("customer", "list", "--tag", "vip").stdout == plain_table(db_path, {"tag": "vip"})
    from clm.dates import parse_duration

    within = parse_duration("60d")
    expected = plain_table(db_path, {"renewal_within": within})
    assert tricky("customer", "list", "--renewal-within", "60d").stdout == expected
    assert "acme-inc" in expected


def test_an_ascii_book_is_laid_out_by_the_database(team, db_path):
    for i in range(30):
        team("customer", "add", f"Company {i:03}", "--arr", str(1000 * i + 1000), "--health", "50")
    assert team("customer", "list").stdout == plain_table(db_path, {})
    assert team("customer", "list", "--limit", "5").stdout == plain_table(db_path, {"limit": 5})


def test_a_wide_name_past_the_limit_does_not_widen_the_table(team, db_path):
    team("customer", "add", "Aaa")
    team("customer", "add", "Zzz " + "長" * 40)
    out = team("customer", "list", "--limit", "1").stdout
    assert out == plain_table(db_path, {"limit": 1})
    assert len(out.splitlines()[0]) < 80


def test_no_match_writes_nothing_and_says_so(tricky):
    result = tricky("customer", "list", "--stage", "renewal")
    assert (result.stdout, result.stderr) == ("", "No customers.\n")


ADDED = itertools.count()  # slugs stay unique across examples sharing a database
names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
).filter(lambda text: text.strip())


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(names, min_size=1, max_size=3))
def test_any_names_give_the_plain_tables_bytes(clm, db_path, batch):
    for name in batch:
        n = next(ADDED)
        # `--` first: a name may begin with `-` (as `-0`), which a shell user passes the same way.
        clm("customer", "add", "--slug", f"c-{n}", "--arr", str(n * 1001), "--", name)
    assert clm("customer", "list").stdout == plain_table(db_path, {})
