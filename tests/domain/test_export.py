"""Export from Python: the bytes do not depend on how the rows are batched, and a batch
written joined is exactly what the csv writer writes."""

import csv
import io
import json
import tempfile
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clm.db import Database
from clm.domain import users
from clm.domain.new_book import install_template
from clm.domain.transfer import COLUMNS, FORMATS
from clm.domain.transfer.delimited import write_delimited
from clm.domain.transfer.export import (
    QUERIES,
    _as_text,
    _records,
    export_table,
)
from clm.domain.transfer.importers import import_table
from tests.domain.test_transfer import TODAY

TABLES = ("users", "customers", "milestones", "tasks", "ctas", "transitions", "notes")


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


@pytest.fixture
def book(db_path):
    """Users, customers with tags and influencers, and milestones with none to three
    reminders each (in no order), collaborators, and text that needs quoting or guarding."""
    database = Database.open(str(db_path), on_create=install_template)
    files = {
        "users": jsonl({"handle": "ann", "name": "=Ann"}, {"handle": "bo", "name": "Bo, Jr"}),
        "customers": jsonl(
            {"name": "Acme", "tags": ["b", "=a", "c"], "influencers": ["bo", "ann"]},
            {"name": "Globex", "tags": ["'x"], "arr": 24000.5},
            {"name": "+Initech", "tags": ["-z"], "arr": 1000},
        ),
        "milestones": jsonl(
            *(
                {
                    "customer": ["acme", "globex", "initech"][i % 3],
                    "title": ["Kick-off", "=SUM(A1)", 'say "hi"', "two\nlines", "cr\rhere"][i % 5],
                    "due": f"2027-01-{10 + i}",
                    "remind": [[], ["10d", "3d", "1m"], ["2w"], ["1bd", "1y"]][i % 4],
                    "collaborators": [[], ["bo", "ann"]][i % 2],
                    "blocked_reason": [None, "@me", "a,b"][i % 3],
                }
                for i in range(11)
            )
        ),
    }
    for table, content in files.items():
        with database.write() as conn:
            import_table(conn, TODAY, None, table, io.BytesIO(content.encode()), "jsonl", {})
    return database


def exported(database, table: str, fmt: str) -> str:
    out = io.StringIO()
    with database.read() as conn:
        export_table(conn, table, out, fmt)
    return out.getvalue()


def test_lists_come_in_order_and_tags_are_guarded_as_a_whole(book):
    milestones = list(csv.DictReader(io.StringIO(exported(book, "milestones", "csv"))))
    assert [m["remind"] for m in milestones[:4]] == ["", "3d;10d;1m", "2w", "1bd;1y"]
    assert milestones[1]["collaborators"] == "ann;bo"
    assert [m["title"] for m in milestones[:2]] == ["Kick-off", "'=SUM(A1)"]
    customers = list(csv.DictReader(io.StringIO(exported(book, "customers", "csv"))))
    assert [c["tags"] for c in customers] == ["'=a;b;c", "'x", "'-z"]
    assert [c["arr"] for c in customers] == ["", "24000.5", "1000"]
    [acme, *_] = json.loads(exported(book, "customers", "json"))
    assert acme["tags"] == ["=a", "b", "c"] and acme["influencers"] == ["ann", "bo"]


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_batches_of_any_size_write_the_same_bytes(book, monkeypatch, size):
    whole = {(t, f): exported(book, t, f) for t in TABLES for f in FORMATS}
    monkeypatch.setattr("clm.domain.transfer.export.STREAM_ROWS", size)
    assert {(t, f): exported(book, t, f) for t in TABLES for f in FORMATS} == whole


def written_by_the_csv_writer(database, table: str, delimiter: str) -> str:
    """The table as the csv writer writes every row of its cells."""
    build, stored = QUERIES[table]
    out = io.StringIO()
    with database.read() as conn:
        query = _as_text(build(conn).order_by(stored.c.id))
        write_delimited(out, COLUMNS[table], _records(conn, query, table), delimiter)
    return out.getvalue()


@pytest.mark.parametrize("size", [1, 3, 5000])
def test_lines_joined_by_the_database_are_what_the_csv_writer_writes(book, monkeypatch, size):
    monkeypatch.setattr("clm.domain.transfer.export.STREAM_ROWS", size)
    for table in TABLES:
        for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
            assert exported(book, table, fmt) == written_by_the_csv_writer(book, table, delimiter)


TEXTS = st.one_of(
    st.none(),
    st.text(st.sampled_from(["a", "Z", "é", ",", "\t", '"', "\n", "\r", "'", "=", "-", "@", " "])),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=st.lists(st.tuples(TEXTS, TEXTS), max_size=6), size=st.integers(1, 4))
def test_any_text_is_written_as_the_csv_writer_writes_it(people, size):
    """Names and emails of every kind, batched any way: the lines the database joins, or the
    rows it gives again as cells, make the csv writer's bytes."""
    with tempfile.TemporaryDirectory() as directory, pytest.MonkeyPatch.context() as patch:
        patch.setattr("clm.domain.transfer.export.STREAM_ROWS", size)
        database = Database.open(str(Path(directory) / "clm.db"), on_create=install_template)
        with database.write() as conn:
            for i, (name, email) in enumerate(people):
                email = None if email is None else f"{email}@x"  # an email needs one
                users.add_user(conn, f"u{i}", name=name, email=email)
        for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
            expected = written_by_the_csv_writer(database, "users", delimiter)
            assert exported(database, "users", fmt) == expected
        database.engine.dispose()


CELLS = st.text(st.sampled_from(["a", "é", ",", "\t", '"', "\n", "\r", "'", "=", ";", " "]))


@given(
    rows=st.lists(st.tuples(CELLS, CELLS, CELLS), max_size=12),
    cuts=st.lists(st.integers(0, 12), max_size=4),
    delimiter=st.sampled_from([",", "\t"]),
)
def test_a_batch_is_written_as_the_csv_writer_writes_it(rows, cuts, delimiter):
    """Whatever the cells and however the rows are batched: the csv writer's bytes, a row
    with a carriage return quoted whole."""
    expected = io.StringIO()
    plain = csv.writer(expected, delimiter=delimiter, lineterminator="\n")
    quoted = csv.writer(expected, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    plain.writerow(("a", "b", "c"))
    for row in rows:
        (quoted if any("\r" in cell for cell in row) else plain).writerow(row)
    bounds = [0, *sorted(min(cut, len(rows)) for cut in cuts), len(rows)]
    batches = [rows[start:end] for start, end in pairwise(bounds)]
    out = io.StringIO()
    assert write_delimited(out, ("a", "b", "c"), iter(batches), delimiter) == len(rows)
    assert out.getvalue() == expected.getvalue()
