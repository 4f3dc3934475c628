"""The transfer library from Python: reading files with their line numbers, cell parsers,
safe output files, and imports larger than a batch."""

import io
import os
import stat
from datetime import date

import pytest

from clm.db import Database
from clm.domain import customers, users
from clm.domain.new_book import install_template
from clm.domain.transfer import COLUMNS
from clm.domain.transfer import values as v
from clm.domain.transfer.export import export_table
from clm.domain.transfer.files import BadRow, FileProblem, Records, open_output
from clm.domain.transfer.importers import import_table
from clm.errors import Conflict, Problems

TODAY = date(2026, 11, 23)


def read(content: str | bytes, fmt: str = "csv", table: str = "customers", mapping=None):
    data = content.encode() if isinstance(content, str) else content
    required = {"customers": ("name",), "users": ("handle",)}[table]
    return list(Records(io.BytesIO(data), fmt, COLUMNS[table], required, mapping or {}))


# --- reading -------------------------------------------------------------------------------


def test_each_csv_record_has_the_line_it_starts_on():
    content = 'name,source\n"Acme\nCorp",web\n\nGlobex,"a\n\nb"\nInitech,\n'
    assert read(content) == [
        (2, {"name": "Acme\nCorp", "source": "web"}),
        (5, {"name": "Globex", "source": "a\n\nb"}),
        (8, {"name": "Initech", "source": ""}),
    ]


def test_the_formula_guard_comes_off_csv_cells_only():
    assert read("name\n'=1\n''=2\n'plain\n") == [
        (2, {"name": "=1"}),
        (3, {"name": "'=2"}),
        (4, {"name": "'plain"}),
    ]
    assert read('{"name": "\'=1"}\n', "jsonl") == [(1, {"name": "'=1"})]


def test_json_arrays_are_read_an_object_at_a_time_with_their_lines():
    content = '[\n  {"name": "A",\n   "tags": ["x"]},\n  {"name": "B"}\n]\n'
    assert read(content, "json") == [(2, {"name": "A", "tags": ["x"]}), (4, {"name": "B"})]
    assert read("[]", "json") == []
    assert read(' [ { "name" : "A" } ] ', "json") == [(1, {"name": "A"})]


def test_maps_rename_and_skip_columns_and_headers_are_read_loosely():
    mapping = {"Company": "name", "Notes": None}
    assert read(" Company ,Notes, SOURCE\nAcme,x,web\n", mapping=mapping) == [
        (2, {"name": "Acme", "source": "web"})
    ]
    assert read('{"Company": "Acme", "Notes": 1}\n', "jsonl", mapping=mapping) == [
        (1, {"name": "Acme"})
    ]


def test_rows_that_do_not_fit_come_out_as_bad_rows():
    assert read("name\nA,B\n") == [(2, BadRow(None, "2 cells, but the header has 1"))]
    assert read('{"name": "A", "name ": "B"}\n', "jsonl") == [
        (1, BadRow(None, "two fields are name"))
    ]
    assert read('{"name": "\\ud800"}\n', "jsonl") == [
        (1, BadRow("name", "a NUL character or broken Unicode"))
    ]


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        (b"name\nA\n\x80\n", "csv", "line 3: invalid UTF-8 (byte 0x80 at column 1)"),
        (b"\xef\xbb\xbfname\nA\x00\n", "csv", "line 2: a NUL byte at column 2"),
        (b'name\n"A\n\nB\n', "csv", "line 2: unmatched quote"),
        (b'[{"name": "A"}, 3', "json", "line 1: invalid JSON: expected ',' or ']' after an object"),
        (b"[\n\n", "json", "line 3: invalid JSON: the object that starts here is cut off"),
    ],
)
def test_unreadable_files(content, fmt, message):
    with pytest.raises(FileProblem) as raised:
        read(content, fmt)
    assert str(raised.value).startswith(message)


def test_bytes_read_follow_the_file():
    records = Records(io.BytesIO(b"name\nA\nB\n"), "csv", COLUMNS["customers"], ("name",), {})
    assert [line for line, _ in records] == [2, 3] and records.bytes_read == 9


# --- cells ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parse", "raw", "value"),
    [
        (v.iso_date, "2026-02-28", date(2026, 2, 28)),
        (v.iso_date, "", None),
        (v.score, "100", 100),
        (v.score, 35.0, 35),
        (v.amount, "1e3", 1000.0),
        (v.amount, 0, 0.0),
        (v.flag, "TRUE", True),
        (v.flag, "no", False),
        (v.flag, False, False),
        (v.items, " a ; b;;", ["a", "b"]),
        (v.items, ["a", " b "], ["a", "b"]),
        (v.duration, "2 months", "2m"),
        (v.recurrence, "yearly", "1y"),
        (v.identifier, "7", 7),
        (
            v.uuid_text,
            "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        ),
        (v.text, 12, "12"),
        (v.stripped, "  ", None),
    ],
)
def test_cells_parse(parse, raw, value):
    assert parse(raw) == value


@pytest.mark.parametrize(
    ("parse", "raw", "message"),
    [
        (v.iso_date, "2026-2-28", "invalid date '2026-2-28': use YYYY-MM-DD"),
        (v.iso_date, "today", "invalid date 'today': use YYYY-MM-DD"),
        (v.iso_date, "2026-02-30", "invalid date '2026-02-30': no such day"),
        (v.score, "101", "invalid value '101': use a whole number 0–100"),
        (v.score, "3.5", "invalid value '3.5': use a whole number 0–100"),
        (v.amount, "nan", "invalid number 'nan': use a finite number"),
        (v.amount, "1e400", "invalid number '1e400': use a finite number"),
        (v.amount, float("inf"), "invalid number 'inf': use a finite number"),
        (v.score, "1e400", "invalid number '1e400': use a finite number"),
        (v.amount, "-1", "invalid value '-1': use a number of 0 or more"),
        (v.flag, "maybe", "invalid value 'maybe': use true or false"),
        (v.items, [1], "invalid list [1]"),
        (v.identifier, "0", "invalid id '0'"),
        (v.uuid_text, "nope", "invalid uuid 'nope'"),
        (v.text, {"a": 1}, "expected text"),
    ],
)
def test_bad_cells_say_what_is_accepted(parse, raw, message):
    with pytest.raises(v.BadValue) as raised:
        parse(raw)
    assert str(raised.value).startswith(message)


# --- output files --------------------------------------------------------------------------


def test_output_appears_only_when_the_block_ends_well(tmp_path):
    target = tmp_path / "out.csv"
    with open_output(str(target), force=False, database=None) as stream:
        stream.write("a\n")
        [temporary] = [p for p in tmp_path.iterdir() if p.name != "clm.db"]  # not the book
        assert temporary.name.startswith(".out.csv.") and not target.exists()
        assert stat.S_IMODE(temporary.stat().st_mode) == 0o600
    assert target.read_text() == "a\n"
    with pytest.raises(Conflict):
        open_output(str(target), force=False, database=None).__enter__()
    with pytest.raises(ZeroDivisionError), open_output(str(target), True, None) as stream:
        stream.write("b\n")
        1 / 0  # noqa: B018
    assert target.read_text() == "a\n"
    assert [n for n in os.listdir(tmp_path) if n != "clm.db"] == ["out.csv"]  # but the book


def test_a_hard_link_to_the_database_is_the_database(tmp_path):
    db = tmp_path / "x.db"
    db.write_text("")
    os.link(db, tmp_path / "other.csv")
    with pytest.raises(Conflict, match="is the database itself"):
        open_output(str(tmp_path / "other.csv"), force=True, database=db).__enter__()


# --- imports larger than a batch -----------------------------------------------------------


@pytest.fixture
def db(db_path, monkeypatch):
    """A database with a user, and imports that write three rows at a time."""
    monkeypatch.setattr("clm.domain.transfer.batches.BATCH", 3)
    database = Database.open(str(db_path), on_create=install_template)
    with database.write() as conn:
        users.add_user(conn, "alice")
    return database


def load(database, table: str, content: str, fmt: str = "csv", progress=None):
    with database.write() as conn:
        return import_table(
            conn, TODAY, None, table, io.BytesIO(content.encode()), fmt, {}, progress
        )


def problems(database, table: str, content: str) -> list[str]:
    with pytest.raises(Problems) as raised:
        load(database, table, content)
    return [str(problem) for problem in raised.value.problems]


def exported(database, table: str, fmt: str = "csv") -> str:
    out = io.StringIO()
    with database.read() as conn:
        export_table(conn, table, out, fmt)
    return out.getvalue()


def test_keys_repeated_in_a_later_batch_are_found(db):
    names = "".join(f"C{i}\n" for i in range(7))
    # Lines 2-4, 5-7 and 8-10 are batches: a key of an earlier one is found in the database.
    assert problems(db, "customers", f"name\n{names}c1\n") == [
        "line 9, field slug: 'c1' is also on an earlier line"
    ]
    assert problems(db, "customers", "name\nA\nB\na\n") == [
        "line 4, field slug: 'a' is also on line 2"
    ]
    load(db, "customers", f"name\n{names}")
    uuids = [line.rsplit(",", 1)[1] for line in exported(db, "customers").splitlines()[1:]]
    again = "slug,name,uuid\n" + "".join(f"c{i},C{i},{u}\n" for i, u in enumerate(uuids))
    assert load(db, "customers", again).unchanged == 7
    assert problems(db, "customers", again + f"other,C0,{uuids[0]}\n") == [
        "line 9, field uuid: the same customer as an earlier line"
    ]
    assert problems(db, "customers", again + "c0,C0 again,\n") == [
        "line 9, field slug: the same customer as an earlier line"
    ]


def test_the_same_stored_row_matched_twice_in_a_batch_is_refused(db):
    load(db, "customers", "name\nAcme\nGlobex\n")
    uuid = exported(db, "customers").splitlines()[1].rsplit(",", 1)[1]
    # Line 2 renames acme by its uuid; line 3 names it by its slug: the same customer.
    assert problems(db, "customers", f"slug,name,uuid\nacme-2,Acme,{uuid}\nacme,Again,\n") == [
        "line 3, field slug: the same customer as an earlier line"
    ]


def test_milestone_keys_across_batches_and_kept_ids(db):
    load(db, "customers", "name\nAcme\n")
    rows = "".join(f"{i},acme,M{i},2027-01-0{i}\n" for i in range(1, 8))
    assert problems(db, "milestones", f"id,customer,title,due\n{rows}8,acme,M2,2027-01-02\n") == [
        "line 9, field title: 'M2' is also on an earlier line"
    ]
    assert problems(db, "milestones", f"id,customer,title,due\n{rows}3,acme,X,2027-02-01\n") == [
        "line 9, field id: '3' is also on an earlier line"
    ]
    # Into an empty table the file's ids are kept; a row without one comes after them all.
    load(db, "milestones", f"id,customer,title,due\n,acme,First,2027-03-01\n{rows}")
    ids = [line.split(",")[:3] for line in exported(db, "milestones").splitlines()[1:]]
    assert ids == [[str(i), "acme", f"M{i}"] for i in range(1, 8)] + [["8", "acme", "First"]]


def test_milestones_taken_a_batch_at_a_time_are_the_rows_taken_one_by_one(db, monkeypatch):
    """A csv batch of new milestones is checked and written a column at a time; the same file
    taken row by row writes the same milestones, reminders, collaborators and firings."""
    load(db, "customers", "name\nAcme\nGlobex\n")
    rows = [
        "acme,Kickoff,2027-01-04,open,1w;2d,,alice,true,,,",
        "globex,Kickoff,2027-01-05,done,1w,,,,,2027-01-03,",
        "acme,Renewal,2027-06-01,open,1m,1y,,,,,1m@2027-05-01",
        "globex,Review,2027-02-01,blocked,,,alice,,waiting on legal,,",
        "acme,QBR,2027-03-01,,3d,,,false,,,",
        "globex,QBR,2027-03-01,cancelled,2w,,,,,,",
        "acme,Review,2027-02-01,open,,,,,,,",
    ]
    body = "".join(f"{row},00000000-0000-4000-8000-00000000000{i}\n" for i, row in enumerate(rows))
    content = (
        "customer,title,due,status,remind,every,collaborators,pinned,blocked_reason,done_on,"
        "reminded,uuid\n" + body
    )
    from clm.domain.transfer.importers import MilestoneImporter

    whole = MilestoneImporter.take_batch
    taken = []
    monkeypatch.setattr(
        MilestoneImporter,
        "take_batch",
        lambda self, chunk: taken.append(whole(self, chunk)) or taken[-1],
    )
    assert load(db, "milestones", content).created == 7
    assert taken == [True, True, True]  # batches of three rows here
    first = exported(db, "milestones"), exported(db, "milestones", "json")
    with db.write() as conn:
        for table in ("reminder_log", "milestone_reminders", "milestone_collaborators"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.exec_driver_sql("DELETE FROM milestones")
    monkeypatch.setattr(MilestoneImporter, "take_batch", lambda self, chunk: False)
    assert load(db, "milestones", content).created == 7
    assert (exported(db, "milestones"), exported(db, "milestones", "json")) == first
    # A key of an earlier batch (its customer's rows among others'): found as before.
    with db.write() as conn:
        for table in ("reminder_log", "milestone_reminders", "milestone_collaborators"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.exec_driver_sql("DELETE FROM milestones")
    monkeypatch.setattr(MilestoneImporter, "take_batch", whole)
    again = content.replace("acme,Review,2027-02-01", "acme,Kickoff,2027-01-04")
    assert problems(db, "milestones", again) == [
        "line 8, field title: 'Kickoff' is also on an earlier line"
    ]


def test_rows_without_ids_wait_on_disk_and_come_after_the_kept_ones(db):
    # More id-less rows than a batch (three here): they are set aside a batch at a time (not
    # held in memory), then take ids after every id the file kept, in the file's order.
    load(db, "customers", "name\nAcme\n")
    loose = "".join(f",acme,L{i},2027-02-0{i}\n" for i in range(1, 8))
    load(db, "milestones", f"id,customer,title,due\n{loose}5,acme,K5,2027-01-05\n")
    ids = [line.split(",")[:3] for line in exported(db, "milestones").splitlines()[1:]]
    assert ids == [["5", "acme", "K5"]] + [[str(5 + i), "acme", f"L{i}"] for i in range(1, 8)]


def test_progress_is_told_rows_and_bytes(db):
    calls = []
    content = "name\n" + "".join(f"C{i}\n" for i in range(7))
    load(db, "customers", content, progress=lambda rows, done: calls.append((rows, done)))
    assert calls[-1] == (7, len(content)) and len(calls) >= 3


def test_an_empty_cell_empties_a_field_and_a_missing_column_keeps_it(db):
    with db.write() as conn:
        customers.add_customer(conn, TODAY, None, "Acme", health=50, source="web", tags=["a"])
    result = load(db, "customers", "name,source,tags\nAcme,,\n")
    assert (result.created, result.updated) == (0, 1)
    assert result.changes == ["update acme: source web → (none), tags a → (none)"]
    with db.read() as conn:
        record = customers.show_customer(conn, TODAY, "acme")[0]
    assert (record["health"], record["source"], record["tags"]) == (50, None, [])


@pytest.mark.parametrize("table", ["customers", "milestones"])
def test_a_uuid_repeated_in_a_later_batch_into_an_empty_table_is_listed(db, table):
    """Into an empty table the unique index finds it; the batch is then checked carefully."""
    if table == "milestones":
        load(db, "customers", "name\nAcme\n")
    header = "name,uuid\n" if table == "customers" else "customer,title,due,uuid\n"
    rows = [
        (f"C{i}" if table == "customers" else f"acme,M{i},2026-12-0{i + 1}")
        + f",00000000-0000-4000-8000-00000000000{i}\n"
        for i in range(5)
    ]
    again = rows[1].replace("C1,", "Other,").replace("M1,", "Other,")
    found = problems(db, table, header + "".join(rows) + again)
    assert found == ["line 7, field uuid: '00000000-0000-4000-8000-000000000001' is also on an "
                     "earlier line"]  # fmt: skip
    with db.read() as conn:
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 0
    assert load(db, table, header + "".join(rows)).created == 5
