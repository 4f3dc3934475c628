"""Metric points through `clm export metrics` and `clm import metrics`, and a book with custom
fields, contacts and metrics moved through files whole (issue 20)."""

import json
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clm.domain.transfer import IMPORTABLE
from tests.commands.test_transfer import NAMES, OPTIONAL_TEXT
from tests.conftest import Clm, dump, latest_values


def points_book(clm: Clm) -> None:
    clm("customer", "add", "Acme")
    clm("customer", "add", "Beta Co")
    clm("metric", "add", "active_users", "--description", "Users a day")
    clm("metric", "add", "logins")
    clm("metric", "set", "acme", "active_users", "42")
    clm("metric", "set", "acme", "active_users", "40", "--on", "2026-11-20")
    clm("metric", "set", "beta-co", "active_users", "3.5")
    clm("metric", "set", "beta-co", "logins", "--", "-7")


def test_metric_points_export_in_the_long_form_metric_import_reads(clm):
    points_book(clm)
    assert clm("export", "metrics").stdout.splitlines() == [
        "customer,date,metric,value",
        "acme,2026-11-20,active_users,40",
        "acme,2026-11-23,active_users,42",
        "beta-co,2026-11-23,active_users,3.5",
        "beta-co,2026-11-23,logins,-7",
    ]
    assert clm.json("export", "metrics")[2] == {
        "customer": "beta-co", "date": "2026-11-23", "metric": "active_users", "value": 3.5
    }  # fmt: skip
    assert clm("export", "metrics", "-o", "m.tsv", "-f", "tsv").stderr == (
        "Exported 4 values to m.tsv.\n"
    )


def test_a_removed_metric_or_customer_takes_its_points_out_of_the_export(clm):
    points_book(clm)
    clm("metric", "rm", "logins", "--yes")
    clm("customer", "rm", "acme", "--yes")
    assert clm("export", "metrics").stdout.splitlines() == [
        "customer,date,metric,value",
        "beta-co,2026-11-23,active_users,3.5",
    ]


def test_import_metrics_adds_the_metrics_it_names_only_when_asked(clm, tmp_path, db_path):
    points_book(clm)
    text = clm("export", "metrics").stdout
    (tmp_path / "m.csv").write_text(text)
    copy = tmp_path / "copy.db"
    clm("--db", copy, "init")
    clm("--db", copy, "import", "customers", "-", input=clm("export", "customers").stdout)
    before = dump(copy)
    refused = clm("--db", copy, "import", "metrics", "m.csv", code=1).stderr.splitlines()
    assert refused[0] == (
        "line 2, field metric: no metric 'active_users'; add it with clm metric add"
    )
    assert refused[-1] == "Error: 4 problems in the file; nothing imported"
    dry = clm("--db", copy, "import", "metrics", "m.csv", "--create-metrics", "--dry-run")
    assert dry.stderr == (
        "Dry run: would import 4 values: 4 new or changed, 0 unchanged; would add metrics "
        "active_users, logins; nothing written.\n"
    )
    assert dump(copy) == before
    done = clm("--db", copy, "import", "metrics", "m.csv", "--create-metrics")
    assert done.stderr == (
        "Imported 4 values: 4 new or changed, 0 unchanged; added metrics active_users, logins.\n"
    )
    assert clm("--db", copy, "export", "metrics").stdout == text
    again = clm("--db", copy, "import", "metrics", "m.csv", "--create-metrics")
    assert again.stderr == "Imported 4 values: 0 new or changed, 4 unchanged.\n"


def test_import_metrics_refuses_what_is_not_a_metric_and_the_options_of_other_tables(
    clm, tmp_path, db_path
):
    clm("customer", "add", "Acme")
    clm("field", "add", "seats", "--kind", "number")
    before = dump(db_path)
    (tmp_path / "m.csv").write_text(
        "customer,date,metric,value\nacme,2026-11-23,seats,4\nacme,2026-11-23,Bad Name!,1\n"
    )
    lines = clm("import", "metrics", "m.csv", "--create-metrics", code=1).stderr.splitlines()
    assert lines[0] == (
        "line 2, field metric: a custom field is named seats: give the metric another name"
    )
    assert lines[1].startswith("line 3, field metric: invalid metric name 'bad name!'")
    assert dump(db_path) == before
    assert clm.error("import", "metrics", "m.csv", "--date-format", "%d/%m/%Y") == (
        "Error: --date-format is not for import metrics: it reads --map, --format, --dry-run "
        "and --create-metrics"
    )
    assert clm.error("import", "customers", "m.csv", "--create-metrics") == (
        "Error: --create-metrics is for import metrics, not customers"
    )


# --- a whole book through files, whatever the data -------------------------------------------

SQL_LIKE = st.sampled_from(["'; DROP TABLE customers; --", "1 OR 1=1", '") OR ("a"="a'])
TEXTS = st.one_of(OPTIONAL_TEXT, SQL_LIKE)
KINDS = {
    "seats": ("number", st.one_of(st.integers(-(10**6), 10**6), st.floats(-1e9, 1e9))),
    "segment": ("choice", st.sampled_from(["smb", "enterprise"])),
    "go_live": ("date", st.dates(date(2020, 1, 1), date(2030, 12, 31)).map(str)),
    "trial": ("bool", st.booleans()),
    "industry": ("text", TEXTS),
}
DAYS = st.dates(date(2026, 10, 1), date(2026, 11, 23)).map(str)
VALUES = st.one_of(st.integers(-(10**9), 10**9), st.floats(allow_nan=False, allow_infinity=False))


@st.composite
def books(draw):
    """Custom fields of each kind (some), customers holding values of them (or not), contacts,
    and metric points: text that looks like csv or SQL throughout."""
    kept = draw(st.lists(st.sampled_from(sorted(KINDS)), unique=True))
    customers = []
    for i in range(draw(st.integers(1, 3))):
        customer = {"slug": f"c{i}", "name": draw(NAMES), "source": draw(TEXTS)}
        for name in kept:
            value = draw(st.one_of(st.none(), KINDS[name][1]))
            if value is not None:
                customer[name] = value
        customers.append(customer)
    slugs = [c["slug"] for c in customers]
    roles = ["champion", "sponsor", "signer", "billing", "admin", "user"]
    contacts = [
        {"customer": draw(st.sampled_from(slugs)), "name": draw(NAMES),
         "role": draw(st.sampled_from(roles)), "phone": draw(TEXTS)}
        for _ in range(draw(st.integers(0, 3)))
    ]  # fmt: skip
    keys = st.tuples(st.sampled_from(slugs), DAYS, st.sampled_from(["active_users", "logins"]))
    points = [
        {"customer": c, "date": d, "metric": m, "value": draw(VALUES)}
        for c, d, m in draw(st.lists(keys, unique=True, max_size=8))
    ]
    return kept, customers, contacts, points


def export_all(clm: Clm, db: Path, fmt: str) -> dict[str, str]:
    files = {table: clm("--db", db, "export", table, "-f", fmt).stdout for table in IMPORTABLE}
    return files | {"model": clm("--db", db, "model", "export").stdout}


def import_all(clm: Clm, db: Path, here: Path, files: dict[str, Path]) -> None:
    """Into a new book: the model (the custom fields' definitions), then every table."""
    clm("--db", db, "init")
    clm("--db", db, "model", "apply", files["model"])
    for table in IMPORTABLE:
        made = ("--create-metrics",) if table == "metrics" else ()
        clm("--db", db, "import", table, files[table], *made)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(book=books(), fmt=st.sampled_from(["csv", "jsonl"]))
def test_a_book_with_fields_contacts_and_metrics_round_trips_exactly(book, fmt):
    """Issue 20: export every table, import into a new book, export again: the same bytes;
    a value that looks like SQL or csv (commas, quotes, newlines, a leading =) is data."""
    kept, customers, contacts, points = book
    clm = Clm()
    with tempfile.TemporaryDirectory() as directory:
        here = Path(directory)
        first = here / "a.db"
        clm("--db", first, "init")
        for name in kept:
            choices = ("--choice", "smb", "--choice", "enterprise") if name == "segment" else ()
            clm("--db", first, "field", "add", name, "--kind", KINDS[name][0], *choices)
        seeds = {"customers": customers, "contacts": contacts, "metrics": points}
        for table, records in seeds.items():
            seed = here / f"seed-{table}.jsonl"
            seed.write_text("".join(json.dumps(r) + "\n" for r in records))
            made = ("--create-metrics",) if table == "metrics" else ()
            clm("--db", first, "import", table, seed, *made)
        original = export_all(clm, first, fmt)
        assert len(original["metrics"].strip().splitlines()) == len(points) + (fmt == "csv")
        files = {}
        for table, text in original.items():
            files[table] = here / f"{table}.{'toml' if table == 'model' else fmt}"
            files[table].write_text(text, newline="")
        import_all(clm, here / "b.db", here, files)
        assert export_all(clm, here / "b.db", fmt) == original
        assert latest_values(here / "b.db") == latest_values(first)
