"""`clm export` and `clm import` through the CLI: columns, formats, safe files, validated
all-or-nothing imports, and exact round trips."""

import csv
import io
import json
import re
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clm.domain.transfer import COLUMNS, IMPORTABLE
from tests.conftest import TODAY, Clm, dump, sql

FORMATS = ("csv", "tsv", "json", "jsonl")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def rows(text: str, fmt: str = "csv") -> list[dict]:
    """The records of an export, as dicts (csv cells as text, json values as parsed)."""
    if fmt in ("csv", "tsv"):
        delimiter = "\t" if fmt == "tsv" else ","
        return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    if fmt == "json":
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines()]


def no_uuids(text: str) -> str:
    return UUID.sub("<uuid>", text)


@pytest.fixture
def book(team):
    """Two customers with a bit of everything: tags, influencers, a milestone with reminders
    and a collaborator, a CTA, a task, a note, a stage change, a metric's value."""
    team(
        "customer",
        "add",
        "Acme Corp",
        "--tag",
        "enterprise",
        "--tag",
        "emea",
        "--arr",
        "24000.5",
        "--health",
        "70",
        "--influencer",
        "bob",
        "--source",
        "referral",
        "--start",
        "2026-10-01",
    )
    team("customer", "add", "Globex", "--stage", "lead", "--lead-score", "30")
    team("metric", "add", "active_users")
    team("metric", "set", "acme-corp", "active_users", "12.5")
    team(
        "milestone",
        "add",
        "acme-corp",
        "Go-live",
        "--due",
        "2027-01-15",
        "--remind",
        "2w",
        "--remind",
        "3d",
        "--collaborator",
        "bob",
        "--every",
        "year",
        "--pin",
    )
    team("cta", "open", "acme-corp", "--type", "risk", "--reason", "low usage", "--due", "+7d")
    team("task", "add", "globex", "Send the deck", "--due", "2026-12-01", "--assignee", "sam")
    team("note", "acme-corp", "QBR went well", "--kind", "meeting", "--on", "2026-11-20")
    team("--as", "sam", "customer", "move", "globex", "prospect")
    team("contact", "add", "acme-corp", "Ana Ruiz", "--role", "champion")
    return team


# --- export --------------------------------------------------------------------------------


def test_every_table_exports_its_columns_in_order_in_every_format(book):
    for table in COLUMNS:
        for fmt in FORMATS:
            out = book("export", table, "--format", fmt).stdout
            if fmt in ("csv", "tsv"):
                header = ("\t" if fmt == "tsv" else ",").join(COLUMNS[table])
                assert out.splitlines()[0] == header, (table, fmt)
            records = rows(out, fmt)
            assert records, f"no {table} exported"
            assert all(list(record) == list(COLUMNS[table]) for record in records), (table, fmt)


def test_export_defaults_to_csv_and_writes_nothing_else(book):
    result = book("export", "users")
    assert result.stderr == ""
    assert no_uuids(result.stdout) == (
        "handle,name,email,team,default_owner,uuid\n"
        "mia,,,marketing,true,<uuid>\n"
        "sam,,,sales,true,<uuid>\n"
        "alice,,,customer-success,true,<uuid>\n"
        "amy,,,account-management,true,<uuid>\n"
        "bob,,,customer-success,false,<uuid>\n"
    )


def test_customer_values_lists_dates_and_numbers(book):
    csv_row = rows(book("export", "customers").stdout)[0]
    assert csv_row | {"uuid": "-"} == {
        "slug": "acme-corp",
        "name": "Acme Corp",
        "stage": "onboarding",
        "stage_entered": "2026-10-01",
        "owner": "alice",
        "start": "2026-10-01",
        "renewal": "2027-10-01",
        "term": "1y",
        "arr": "24000.5",
        "health": "70",
        "lead_score": "",
        "source": "referral",
        "tags": "emea;enterprise",
        "influencers": "bob",
        "uuid": "-",
    }
    [acme, globex] = rows(book("export", "customers", "-f", "json").stdout, "json")
    assert (acme["tags"], acme["influencers"], acme["arr"], acme["lead_score"]) == (
        ["emea", "enterprise"],
        ["bob"],
        24000.5,
        None,
    )
    assert (globex["tags"], globex["renewal"], globex["lead_score"]) == ([], None, 30)


def test_milestone_task_cta_transition_and_note_values(book):
    [go_live] = [m for m in rows(book("export", "milestones").stdout) if m["title"] == "Go-live"]
    assert go_live | {"id": "-", "uuid": "-"} == {
        "id": "-",
        "customer": "acme-corp",
        "title": "Go-live",
        "due": "2027-01-15",
        "status": "open",
        "remind": "3d;2w",
        "every": "1y",
        "collaborators": "bob",
        "pinned": "true",
        "blocked_reason": "",
        "done_on": "",
        "uuid": "-",
        "reminded": "",
    }
    [task] = [
        t
        for t in rows(book("export", "tasks", "-f", "jsonl").stdout, "jsonl")
        if t["customer"] == "globex"
    ]
    assert (task["title"], task["due"], task["assignee"], task["milestone"]) == (
        "Send the deck",
        "2026-12-01",
        "sam",
        None,
    )
    [cta] = rows(book("export", "ctas", "-f", "json").stdout, "json")
    assert (cta["type"], cta["reason"], cta["status"], cta["due"]) == (
        "risk",
        "low usage",
        "open",
        "2026-11-30",
    )
    moves = rows(book("export", "transitions").stdout)
    assert [(m["customer"], m["from"], m["to"], m["by"], m["reason"]) for m in moves] == [
        ("acme-corp", "", "onboarding", "", "added"),
        ("globex", "", "lead", "", "added"),
        ("globex", "lead", "prospect", "sam", ""),
    ]
    [note] = rows(book("export", "notes").stdout)
    assert (note["customer"], note["on"], note["kind"], note["text"]) == (
        "acme-corp",
        "2026-11-20",
        "meeting",
        "QBR went well",
    )


def test_empty_tables_export_headers_or_empty_json(clm):
    assert clm("export", "ctas").stdout == ",".join(COLUMNS["ctas"]) + "\n"
    assert clm("export", "ctas", "-f", "tsv").stdout == "\t".join(COLUMNS["ctas"]) + "\n"
    assert clm("export", "ctas", "-f", "json").stdout == "[]\n"
    assert clm("export", "ctas", "-f", "jsonl").stdout == ""


def test_removed_rows_and_what_hangs_off_them_are_not_exported(book):
    book("customer", "rm", "globex", "--yes")
    book("milestone", "rm", "1", "--yes")
    assert [c["slug"] for c in rows(book("export", "customers").stdout)] == ["acme-corp"]
    for table in ("milestones", "tasks", "ctas", "transitions", "notes"):
        records = rows(book("export", table).stdout)
        assert {r["customer"] for r in records} <= {"acme-corp"}, table
    assert "1" not in [m["id"] for m in rows(book("export", "milestones").stdout)]


def test_unknown_table_or_format_is_a_usage_error(clm):
    assert clm("export", "holidays", code=2).stdout == ""
    clm("export", "customers", "--format", "table", code=2)
    clm("import", "ctas", "x.csv", code=2)


# --- formulas ------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x")', "+1 555", "-2", "@SUM(A1)", "'=quoted", "'plain"]


def test_formula_text_is_neutralised_in_csv_and_tsv_and_restored_on_import(clm, tmp_path):
    for i, name in enumerate(FORMULAS):
        clm("customer", "add", f"--slug=c{i}", f"--source={name}", f"--tag=={i}", "--", name)
    clm("milestone", "add", "c0", "Check", "--due", "2027-01-01")
    clm("milestone", "block", "1", "--reason", "\tthe usual")
    exported = rows(clm("export", "customers").stdout)
    assert [c["name"] for c in exported] == [
        '\'=HYPERLINK("http://x")',
        "'+1 555",
        "'-2",
        "'@SUM(A1)",
        "''=quoted",
        "'plain",
    ]
    assert rows(clm("export", "milestones").stdout)[0]["blocked_reason"] == "'\tthe usual"
    assert [c["source"] for c in exported] == [c["name"] for c in exported]
    assert exported[0]["tags"] == "'=0"
    tsv = rows(clm("export", "customers", "-f", "tsv").stdout, "tsv")
    assert [c["name"] for c in tsv] == [c["name"] for c in exported]
    # JSON carries the text as it is.
    assert [c["name"] for c in rows(clm("export", "customers", "-f", "json").stdout, "json")] == (
        FORMULAS
    )
    for fmt in ("csv", "tsv"):
        (tmp_path / f"c.{fmt}").write_text(clm("export", "customers", "-f", fmt).stdout)
        db = tmp_path / f"{fmt}.db"
        clm("--db", db, "init")
        clm("--db", db, "import", "customers", tmp_path / f"c.{fmt}")
        back = rows(clm("--db", db, "export", "customers", "-f", "json").stdout, "json")
        assert [(c["name"], c["source"], c["tags"]) for c in back] == [
            (name, name, [f"={i}"]) for i, name in enumerate(FORMULAS)
        ]


# --- --output ------------------------------------------------------------------------------


def test_output_is_private_and_needs_force_to_replace(book, tmp_path):
    target = tmp_path / "out.csv"
    result = book("export", "customers", "--output", target)
    assert result.stdout == "" and result.stderr == f"Exported 2 customers to {target}.\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == book("export", "customers").stdout
    target.write_text("keep me")
    target.chmod(0o644)
    error = book.error("export", "customers", "-o", target)
    assert error == f"Error: '{target}' already exists: pass --force to replace it"
    assert target.read_text() == "keep me"
    book("export", "users", "-o", target, "--force")
    assert target.read_text().startswith("handle,")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "clm.db") == ["out.csv"]


@pytest.mark.sqlite_only("the database file as an export target")
def test_output_never_follows_a_symlink_nor_writes_over_the_database(book, tmp_path, db_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "link.csv"
    link.symlink_to(victim)
    for extra in ([], ["--force"]):
        error = book.error("export", "customers", "-o", link, *extra)
        assert error == f"Error: '{link}' is a symbolic link: clm never writes through one"
    assert victim.read_text() == "precious" and link.is_symlink()
    before = db_path.read_bytes()
    for target in (db_path, tmp_path / "." / "clm.db"):
        error = book.error("export", "customers", "-o", target, "--force")
        assert error.endswith("is the database itself: export to another file")
    assert db_path.read_bytes() == before
    missing = tmp_path / "nowhere" / "x.csv"
    assert book.error("export", "users", "-o", missing).startswith("Error: no directory")


def test_a_failed_export_leaves_the_old_file_and_no_temporary(book, tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def broken(*args):
        raise RuntimeError("disk on fire")

    # Every csv export to a file writes through delimited._Out (the engine's path and the
    # compiled statements' alike).
    monkeypatch.setattr("clm.domain.transfer.delimited._Out.write", broken)
    book.error("export", "customers", "-o", target, "--force")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "clm.db") == ["out.csv"]


# --- import: create, update, no duplicates -------------------------------------------------


def test_reimporting_an_edited_export_updates_and_creates_without_duplicates(book, tmp_path):
    exported = book("export", "customers").stdout
    edited = (
        exported.replace(",70,", ",35,") + "initech,Initech,adopting,,bob,2026-01-05,,,,,,,,,\n"
    )
    (tmp_path / "edited.csv").write_text(edited)
    result = book("import", "customers", tmp_path / "edited.csv")
    assert result.stderr == "Imported 3 customers: 1 created, 1 updated, 1 unchanged.\n"
    assert result.stdout == ""
    listed = {c["slug"]: c for c in book.json("customer", "list")}
    assert sorted(listed) == ["acme-corp", "globex", "initech"]
    assert listed["acme-corp"]["health"] == 35
    assert (listed["initech"]["owner"], listed["initech"]["stage_entered"]) == ("bob", "2026-01-05")
    again = book("import", "customers", tmp_path / "edited.csv")
    assert again.stderr == "Imported 3 customers: 0 created, 0 updated, 3 unchanged.\n"
    assert len(book.json("customer", "list")) == 3


def test_an_update_stamps_only_the_changed_fields(book, tmp_path, db_path):
    def stamps():
        [(text,)] = sql(db_path, "SELECT stamps FROM customers WHERE slug='acme-corp'")
        return json.loads(text)

    before = stamps()
    (tmp_path / "c.csv").write_text("slug,name,health,tags\nacme-corp,Acme Corp,35,emea\n")
    book("import", "customers", tmp_path / "c.csv")
    after = stamps()
    # The tags each member added or removed, so copies merge the set member by member.
    assert set(after) == set(before) | {"health", "health_on", "tags", "tags-enterprise"}
    assert after["health"] == after["tags"] == after["tags-enterprise"] > before["*"]


def test_rows_match_by_uuid_before_the_slug(book, tmp_path):
    [acme, _] = rows(book("export", "customers").stdout)
    (tmp_path / "c.csv").write_text(f"slug,name,uuid\nacme-inc,Acme Inc,{acme['uuid']}\n")
    result = book("import", "customers", tmp_path / "c.csv", "--dry-run")
    assert result.stderr == (
        "Dry run: would import 1 customer: 0 created, 1 updated; nothing written.\n"
        "  update acme-corp: slug acme-corp → acme-inc, name Acme Corp → Acme Inc\n"
    )
    book("import", "customers", tmp_path / "c.csv")
    assert [c["slug"] for c in book.json("customer", "list")] == ["acme-inc", "globex"]
    (tmp_path / "d.csv").write_text(f"slug,name,uuid\nglobex,Acme,{acme['uuid']}\n")
    assert book.error("import", "customers", tmp_path / "d.csv") == (
        "Error: line 2, field slug: 'globex' is another customer's slug; nothing imported"
    )


def test_dry_run_shows_counts_and_first_changes_and_writes_nothing(book, tmp_path, db_path):
    lines = ["name,health"] + [f"New {i},{i}" for i in range(12)] + ["Acme Corp,40"]
    (tmp_path / "c.csv").write_text("\n".join(lines) + "\n")
    before = dump(db_path)
    result = book("import", "customers", tmp_path / "c.csv", "--dry-run")
    assert result.stderr.splitlines() == [
        "Dry run: would import 13 customers: 12 created, 1 updated; nothing written.",
        *(f"  create new-{i}" for i in range(10)),
        "  and 3 more",
    ]
    assert dump(db_path) == before


def test_import_applies_no_playbook_and_fires_no_rule(team, tmp_path):
    (tmp_path / "c.csv").write_text("name,stage,health\nAcme,onboarding,10\n")
    team("import", "customers", tmp_path / "c.csv")
    assert team.json("milestone", "list", "--status", "all") == []
    assert team.json("task", "list", "--status", "all") == []
    assert team.json("customer", "show", "acme")["stage"] == "onboarding"


def test_stage_entered_is_the_entry_and_the_tick_moves_on_from_it(team, tmp_path):
    (tmp_path / "c.csv").write_text(
        "name,stage,stage_entered,start,renewal\n"
        "Acme,onboarding,2026-10-01,2026-09-15,2027-09-15\n"
        "Globex,onboarding,,2026-11-20,2027-11-20\n"
    )
    team("--as", "alice", "import", "customers", tmp_path / "c.csv")
    assert team.json("why", "acme") == [
        {"on": "2026-10-01", "from": None, "to": "onboarding", "by": "alice", "reason": "imported"}
    ]
    assert team.json("customer", "show", "globex")["stage_entered"] == "2026-11-20"
    tick = team.json("tick")
    assert [(t["customer"], t["to"], t["on"]) for t in tick["transitions"]] == [
        ("acme", "launched", "2026-10-31")
    ]
    later = team.json("--today", "2026-12-20", "tick")
    assert [(t["customer"], t["to"], t["on"]) for t in later["transitions"]] == [
        ("globex", "launched", "2026-12-20")
    ]


def test_a_stage_change_by_import_is_a_transition(book, tmp_path):
    (tmp_path / "c.csv").write_text("slug,name,stage\nglobex,Globex,onboarding\n")
    book("import", "customers", tmp_path / "c.csv")
    assert book.json("why", "globex")[-1] == {
        "on": "2026-11-23",
        "from": "prospect",
        "to": "onboarding",
        "by": None,
        "reason": "imported",
    }


# --- import: other tools' files ------------------------------------------------------------


def test_a_file_from_another_tool_imports_with_map(team, tmp_path):
    team("user", "add", "carol", "--email", "Carol@Example.com")
    crm = tmp_path / "crm.csv"
    crm.write_text(
        "Company Name,Owner Email,Renewal Date,Notes\n"
        '"Umbrella, Inc",carol@example.com,2027-03-01,call back\n'
        "Initech,alice,2027-05-01,\n"
    )
    error = team.error("import", "customers", crm)
    assert error.startswith(
        "Error: line 1: unknown columns 'Company Name', 'Owner Email', 'Renewal Date', 'Notes': "
        "the columns are slug, name, stage,"
    )
    maps = ["--map", "Company Name=name", "--map", "Owner Email=owner"]
    maps += ["--map", "Renewal Date=renewal", "--map", "Notes="]
    team("import", "customers", crm, *maps)
    listed = [(c["slug"], c["name"], c["owner"], c["renewal"]) for c in team.json("customer")]
    assert listed == [
        ("initech", "Initech", "alice", "2027-05-01"),
        ("umbrella-inc", "Umbrella, Inc", "carol", "2027-03-01"),
    ]


@pytest.mark.parametrize(
    ("maps", "message"),
    [
        (
            ["Company=name"],
            "invalid --map 'Company=…': the file has no column 'Company'; "
            "did you mean 'Company Name'?",
        ),
        (
            ["Company Name=nme"],
            "invalid --map 'Company Name=nme': no column 'nme'; did you mean 'name'?",
        ),
        (["Company Name"], "invalid --map 'Company Name': use 'Source Header=column'"),
        (["Company Name=name", "Company Name=slug"], "'Company Name' is mapped twice"),
    ],
)
def test_bad_maps_are_refused(clm, tmp_path, maps, message):
    (tmp_path / "crm.csv").write_text("Company Name\nAcme\n")
    args = [arg for spec in maps for arg in ("--map", spec)]
    assert message in clm.error("import", "customers", tmp_path / "crm.csv", *args)


def test_columns_may_come_in_any_order_and_case(team, tmp_path):
    (tmp_path / "c.csv").write_text("Health, NAME ,Tags\n40,Acme,b;a\n")
    team("import", "customers", tmp_path / "c.csv")
    acme = team.json("customer", "show", "acme")
    assert (acme["health"], acme["tags"], acme["stage"], acme["owner"]) == (
        40,
        ["a", "b"],
        "onboarding",
        None,
    )


# --- import: refusals ----------------------------------------------------------------------


def test_bad_rows_are_listed_by_line_and_field_and_nothing_is_written(book, tmp_path, db_path):
    (tmp_path / "c.csv").write_text(
        "slug,name,stage,owner,start,renewal,health,arr,term,tags\n"
        "ok,Fine,lead,,,,,,,\n"
        'x,"Multi\nline",nope,zed,2026-02-30,,101,-5,fortnight,\n'
        "y,Y,lead,,2026-01-01,2025-01-01,,,,a;b\n"
        "ok,Again,lead,,,,,,,\n"
        ",,,,,,,,,\n"
    )
    before = dump(db_path)
    result = book("import", "customers", tmp_path / "c.csv", code=1)
    assert result.stderr.splitlines() == [
        "line 3, field start: invalid date '2026-02-30': no such day; use YYYY-MM-DD",
        "line 3, field health: invalid value '101': use a whole number 0–100",
        "line 3, field arr: invalid value '-5': use a number of 0 or more",
        "line 3, field term: invalid duration 'fortnight': use 30d, 2w, 3m, 1y, 5bd (business "
        "days), or words: '30 days', '2 months', '1 year'",
        "line 3, field stage: no stage 'nope'",
        "line 3, field owner: no user 'zed'",
        "line 5, field renewal: 2025-01-01 is not after the start 2026-01-01",
        "line 6, field slug: 'ok' is also on line 2",
        "line 7, field name: missing: every row needs name",
        "Error: 9 problems in the file; nothing imported",
    ]
    assert dump(db_path) == before


def test_many_problems_are_cut_short(clm, tmp_path, db_path):
    (tmp_path / "c.csv").write_text("name,health\n" + "".join(f"C{i},x\n" for i in range(25)))
    clm("customer", "list")
    before = dump(db_path)
    lines = clm("import", "customers", tmp_path / "c.csv", code=1).stderr.splitlines()
    assert lines[0] == "line 2, field health: invalid number 'x'"
    assert lines[19:] == [
        "line 21, field health: invalid number 'x'",
        "and 5 more",
        "Error: 25 problems in the file; nothing imported",
    ]
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name\nOk\nBad \xff\n", "line 3: invalid UTF-8 (byte 0xff at column 5)"),
        (b"name\nOk\nB\x00ad\n", "line 3: a NUL byte at column 2: not a text file"),
        (b'name,source\nOk,x\n"Bad,y\nmore\n', "line 3: unmatched quote"),
        (b'name,source\n"Bad"x,y\n', "line 2: text after a closing quote"),
        (b"name\n" + b"x" * ((1 << 20) + 1) + b"\n", "line 2: a field longer than 1,048,576"),
        (b"", "line 1: no header row: the file is empty"),
        (b"name,name\nA,B\n", "line 1: columns 'name' and 'name' are both name"),
        (b"slug,health\nx,3\n", "line 1: no name column: every row needs name"),
    ],
)
def test_unreadable_files_are_refused_with_the_line(clm, tmp_path, db_path, content, message):
    (tmp_path / "c.csv").write_bytes(content)
    clm("customer", "list")
    before = dump(db_path)
    assert clm.error("import", "customers", tmp_path / "c.csv").startswith(f"Error: {message}")
    assert dump(db_path) == before


def test_a_row_with_the_wrong_number_of_cells_is_a_problem(clm, tmp_path):
    (tmp_path / "c.csv").write_text("name,health\nA,1,2\nB\n")
    assert clm("import", "customers", tmp_path / "c.csv", code=1).stderr.splitlines() == [
        "line 2: 3 cells, but the header has 2",
        "line 3: 1 cell, but the header has 2",
        "Error: 2 problems in the file; nothing imported",
    ]


def test_a_bom_is_skipped_and_windows_line_ends_are_read(clm, tmp_path):
    (tmp_path / "c.csv").write_bytes(b'\xef\xbb\xbfname,source\r\nAcme,"web\r\nform"\r\n')
    clm("import", "customers", tmp_path / "c.csv")
    assert clm.json("customer", "show", "acme")["source"] == "web\r\nform"


def test_missing_files_and_unknown_extensions(clm, tmp_path):
    assert clm.error("import", "users", tmp_path / "none.csv") == (
        f"Error: no file '{tmp_path / 'none.csv'}'"
    )
    (tmp_path / "users.txt").write_text("handle\nbob\n")
    assert "cannot tell the format of" in clm.error("import", "users", tmp_path / "users.txt")
    clm("import", "users", tmp_path / "users.txt", "--format", "csv")


# --- import: json, jsonl, tsv, standard input ----------------------------------------------


def test_json_jsonl_tsv_and_standard_input(team, tmp_path):
    (tmp_path / "a.json").write_text(
        json.dumps([{"name": "Json Co", "tags": ["x", "y"], "health": 50}], indent=2)
    )
    (tmp_path / "b.jsonl").write_text('{"name": "Lines Co", "arr": 1200}\n\n{"name": "Two"}\n')
    (tmp_path / "c.tsv").write_text("name\tsource\nTabs Co\tweb, form\n")
    team("import", "customers", tmp_path / "a.json")
    team("import", "customers", tmp_path / "b.jsonl")
    team("import", "customers", tmp_path / "c.tsv")
    team("import", "customers", "-", input="name\nPiped\n")
    team("import", "customers", "-", "--format", "jsonl", input='{"name": "Piped Json"}\n')
    listed = {c["slug"]: c for c in team.json("customer")}
    assert sorted(listed) == ["json-co", "lines-co", "piped", "piped-json", "tabs-co", "two"]
    assert (listed["json-co"]["tags"], listed["json-co"]["health"]) == (["x", "y"], 50)
    assert (listed["lines-co"]["arr"], listed["tabs-co"]["source"]) == (1200, "web, form")


@pytest.mark.parametrize(
    ("fmt", "content", "errors"),
    [
        (
            "jsonl",
            '{"name": "A"}\n[1]\n{"name": "C", "health": "x", "zip": 1}\n{"health": 1}\n',
            [
                "line 2: expected a JSON object {...}",
                "line 3: unknown field 'zip': the fields are slug, name, stage, stage_entered, "
                "owner, start, renewal, term, arr, health, lead_score, source, tags, influencers, "
                "uuid",
                "line 4: no name: every row needs name",
                "Error: 3 problems in the file; nothing imported",
            ],
        ),
        (
            "jsonl",
            '{"name": "A"}\n{"name": \n',
            ["Error: line 2: invalid JSON: Expecting value (column 10)"],
        ),
        (
            "json",
            '[{"name": "A"},\n {"name": "B" "x": 1}]',
            ["Error: line 2: invalid JSON: Expecting ',' delimiter"],
        ),
        (
            "json",
            '[{"name": "A"},\n {"name": ',
            ["Error: line 2: invalid JSON: the object that starts here is cut off"],
        ),
        (
            "json",
            '{"name": "A"}',
            ["Error: line 1: expected a JSON array of objects: [{...}, {...}]"],
        ),
        (
            "json",
            '[{"name": "A"}] x',
            ["Error: line 1: invalid JSON: more text after the array's closing ']'"],
        ),
        (
            "json",
            '[{"name": "A\\u0000"}]',
            ["Error: line 1, field name: a NUL character or broken Unicode; nothing imported"],
        ),
        (
            "json",
            '[{"name": "A", "health": true}]',
            ["Error: line 1, field health: invalid number True; nothing imported"],
        ),
    ],
)
def test_broken_json_is_refused_with_the_line(clm, tmp_path, fmt, content, errors):
    (tmp_path / f"c.{fmt}").write_text(content)
    assert clm("import", "customers", tmp_path / f"c.{fmt}", code=1).stderr.splitlines() == errors


# --- import: users, milestones, tasks ------------------------------------------------------


def test_users_import_and_a_new_default_owner_replaces_the_old(team, tmp_path):
    (tmp_path / "u.csv").write_text(
        "handle,name,email,team,default_owner\nCarol,Carol C,carol@x.com,sales,true\nbob,Bob,,,\n"
    )
    result = team("import", "users", tmp_path / "u.csv")
    assert result.stderr == "Imported 2 users: 1 created, 1 updated.\n"
    users = {u["handle"]: u for u in team.json("user", "list")}
    assert users["carol"]["default_owner"] and not users["sam"]["default_owner"]
    # An empty cell empties the field; a column the file does not have is left as it is.
    assert (users["bob"]["name"], users["bob"]["team"]) == ("Bob", None)
    (tmp_path / "v.csv").write_text(
        "handle,team,default_owner,email\nx y,sales,true,\nz,,true,\nw,,,nomail\n"
    )
    assert team("import", "users", tmp_path / "v.csv", code=1).stderr.splitlines() == [
        "line 2, field handle: invalid handle 'x y': use lowercase letters, digits, '.', '_' "
        "and '-' (up to 64, starting with a letter or digit)",
        "line 3, field default_owner: a default owner needs a team",
        "line 4, field email: invalid email 'nomail': expected name@domain",
        "Error: 3 problems in the file; nothing imported",
    ]


def test_milestones_import_with_reminders_collaborators_and_recurrence(book, tmp_path):
    (tmp_path / "m.csv").write_text(
        "customer,title,due,remind,every,collaborators,status,blocked_reason\n"
        "globex,Pilot,2027-02-27,1 month;5bd,quarter,bob;sam,blocked,waiting for IT\n"
        "acme-corp,Go-live,2027-01-15,1w,,,,\n"
    )
    result = book("import", "milestones", tmp_path / "m.csv")
    assert result.stderr == "Imported 2 milestones: 1 created, 1 updated.\n"
    [pilot] = book.json("milestone", "list", "--customer", "globex")
    assert (pilot["remind"], pilot["remind_on"], pilot["every"]) == (
        ["5bd", "1m"],
        ["2027-02-22", "2027-01-27"],
        "3m",
    )
    assert (pilot["collaborators"], pilot["status"], pilot["blocked_reason"]) == (
        ["bob", "sam"],
        "blocked",
        "waiting for IT",
    )
    [go_live] = [m for m in book.json("milestone", "list") if m["title"] == "Go-live"]
    assert (go_live["remind"], go_live["remind_on"]) == (["1w"], ["2027-01-08"])
    # Empty cells empty the fields; a column the file does not have (pinned) stays as it is.
    assert (go_live["collaborators"], go_live["every"], go_live["pinned"]) == ([], None, True)


def test_export_lists_reminders_nearest_the_due_date_first_in_every_format(book, tmp_path):
    # Days, then business days (5bd counts as 7 days, after 1w), months, years; ties by
    # their text.
    (tmp_path / "m.csv").write_text(
        "customer,title,due,remind\nglobex,Review,2028-06-30,1y;1m;5bd;10d;1w;3d\n"
    )
    book("import", "milestones", tmp_path / "m.csv")
    ordered = "3d;1w;5bd;10d;1m;1y"
    [line] = [row for row in book("export", "milestones").stdout.splitlines() if "Review" in row]
    assert f",{ordered}," in line
    [record] = [r for r in book.json("export", "milestones") if r["title"] == "Review"]
    assert record["remind"] == ordered.split(";")


def test_milestone_problems(book, tmp_path, db_path):
    (tmp_path / "m.csv").write_text(
        "customer,title,due,status,remind,every\n"
        "acme,X,2027-01-01,,,\n"
        "globex,Y,2027-01-01,blocked,,\n"
        "globex,Z,tomorrow,done,2x,fortnightly\n"
        "globex,,2027-01-01,,,\n"
        "globex,W,2027-01-01,,,\n"
        "globex,W,2027-01-01,open,,\n"
    )
    before = dump(db_path)
    assert book("import", "milestones", tmp_path / "m.csv", code=1).stderr.splitlines() == [
        "line 2, field customer: no customer 'acme'; did you mean 'acme-corp'?",
        "line 3, field blocked_reason: a blocked milestone needs a reason",
        "line 4, field due: invalid date 'tomorrow': use YYYY-MM-DD (or an ISO date-time; "
        "another form with --date-format)",
        "line 4, field every: invalid recurrence 'fortnightly': use year, quarter, month, week or "
        "a duration like 6m (days, weeks, months or years, up to 100 years)",
        "line 4, field remind: invalid duration '2x': use 30d, 2w, 3m, 1y, 5bd (business days), "
        "or words: '30 days', '2 months', '1 year'",
        "line 5, field title: missing: every row needs customer, title, due",
        "line 7, field title: 'W' is also on line 6",
        "Error: 7 problems in the file; nothing imported",
    ]
    assert dump(db_path) == before


def test_milestone_cells_past_their_limits_among_short_rows(book, tmp_path, db_path):
    # Short rows skip the look at each field's length; a long cell is still looked at, by
    # its field's limit: a title's 500 characters, a blocked reason's 10,000.
    reason = "r" * 600
    (tmp_path / "m.csv").write_text(
        "customer,title,due,status,blocked_reason\n"
        "globex,Short,2027-01-01,open,\n"
        f"globex,Long reason,2027-01-02,blocked,{reason}\n"
        f"globex,{'t' * 501},2027-01-03,open,\n"
        "globex,Short again,2027-01-04,open,\n"
    )
    before = dump(db_path)
    assert book("import", "milestones", tmp_path / "m.csv", code=1).stderr.splitlines() == [
        "Error: line 4, field title: 501 characters: at most 500; nothing imported"
    ]
    assert dump(db_path) == before
    (tmp_path / "m.csv").write_text(
        "customer,title,due,status,blocked_reason\n"
        f"globex,Long reason,2027-01-02,blocked,{reason}\n"
    )
    book("import", "milestones", tmp_path / "m.csv")
    [record] = [m for m in book.json("milestone", "list") if m["title"] == "Long reason"]
    assert record["blocked_reason"] == reason


def test_tasks_import_checks_their_milestone_and_cta(book, tmp_path):
    [go_live] = [m for m in book.json("milestone", "list") if m["title"] == "Go-live"]
    (tmp_path / "t.csv").write_text(
        "customer,title,milestone,cta,status\n"
        f"acme-corp,Prepare,{go_live['id']},1,done\n"
        f"globex,Wrong,{go_live['id']},,\n"
        "globex,No cta,,99,\n"
    )
    assert book("import", "tasks", tmp_path / "t.csv", code=1).stderr.splitlines() == [
        f"line 3, field milestone: milestone {go_live['id']} is on acme-corp, not globex",
        "line 4, field cta: no CTA 99 (CTAs are not imported: skip the column with --map cta=)",
        "Error: 2 problems in the file; nothing imported",
    ]
    (tmp_path / "t.csv").write_text(
        f"customer,title,milestone,cta,status\nacme-corp,Prepare,{go_live['id']},1,done\n"
    )
    book("import", "tasks", tmp_path / "t.csv")
    [task] = book.json("task", "list", "--customer", "acme-corp", "--status", "done")
    assert (task["title"], task["milestone"], task["cta"]) == ("Prepare", go_live["id"], 1)


def test_tasks_without_a_uuid_match_by_id(book, tmp_path):
    [task] = rows(book("export", "tasks", "--format", "json").stdout, "json")[-1:]
    (tmp_path / "t.csv").write_text(f"id,customer,title\n{task['id']},globex,Send the new deck\n")
    assert book("import", "tasks", tmp_path / "t.csv").stderr == (
        "Imported 1 task: 0 created, 1 updated.\n"
    )
    titles = [t["title"] for t in book.json("task", "list", "--customer", "globex")]
    assert titles == ["Send the new deck"]


# --- round trips ---------------------------------------------------------------------------


def export_book(clm: Clm, db, fmt: str) -> dict[str, str]:
    return {table: clm("--db", db, "export", table, "-f", fmt).stdout for table in IMPORTABLE}


def import_book(clm: Clm, db, files: dict[str, Path]) -> None:
    """Import every table into the new book `db` (made by `clm init` first)."""
    clm("--db", db, "init")
    for table in IMPORTABLE:
        made = ("--create-metrics",) if table == "metrics" else ()
        clm("--db", db, "import", table, files[table], *made)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_whole_book_round_trips_byte_for_byte(book, tmp_path, db_path, fmt):
    book("milestone", "done", "1", "--on", "2026-11-01")
    book("milestone", "block", "2", "--reason", 'waiting, "as usual"')
    original = export_book(book, db_path, fmt)
    files = {}
    for table, text in original.items():
        files[table] = tmp_path / f"{table}.{fmt}"
        files[table].write_text(text)
    import_book(book, tmp_path / "copy.db", files)
    assert export_book(book, tmp_path / "copy.db", fmt) == original


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_reminder_log_travels_so_a_book_moved_through_files_fires_nothing_twice(
    book, tmp_path, db_path, fmt
):
    book("milestone", "add", "acme-corp", "Kickoff", "--due", "+1w", "--remind", "1w",
         "--remind", "3d")  # fmt: skip
    book("milestone", "add", "acme-corp", "Review", "--due", "+2d", "--remind", "2d")
    book("milestone", "edit", "2", "--due", "+5d")  # moved after nothing fired
    fired = [book.json("--today", f"+{n}d", "tick")["reminders"] for n in range(3)]
    assert sum(map(len, fired)) >= 2
    # Review's due moves after its reminder fired: it fires again once, for its new day.
    [review] = [m for m in book.json("milestone", "list") if m["title"] == "Review"]
    book("--today", "+2d", "milestone", "edit", str(review["id"]), "--due", "+6d")
    book("--today", "+4d", "tick")
    original = export_book(book, db_path, fmt)
    kickoff = next(m for m in rows(original["milestones"], fmt) if m["title"] == "Kickoff")
    reminded = kickoff["reminded"]
    listed = reminded.split(";") if isinstance(reminded, str) else reminded
    assert listed == ["1w@2026-11-23", "3d@2026-11-27"]
    files = {}
    for table, text in original.items():
        files[table] = tmp_path / f"{table}.{fmt}"
        files[table].write_text(text)
    copy = tmp_path / "copy.db"
    import_book(book, copy, files)
    assert export_book(book, copy, fmt) == original
    for db in (db_path, copy):  # the next days fire the same reminders in both books
        assert book.json("--db", db, "--today", "+4d", "tick")["reminders"] == []
    later = [book.json("--db", db, "--today", "+9d", "tick")["reminders"] for db in (db_path, copy)]
    assert later[0] == later[1]
    # Imported again into the book it came from: nothing changes, nothing fires.
    assert "0 updated" in book("import", "milestones", files["milestones"]).stderr


def test_reminded_items_are_checked(book, tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("customer,title,due,remind,reminded\nacme-corp,X,2027-01-10,1w,1w\n")
    assert "is not OFFSET@DAY" in book.error("import", "milestones", bad)
    bad.write_text("customer,title,due,remind,reminded\nacme-corp,X,2027-01-10,1w,1w@soon\n")
    assert "'soon' is not a date" in book.error("import", "milestones", bad)


def test_fired_reminders_imported_into_a_book_are_not_fired_again(book, tmp_path):
    made = tmp_path / "m.csv"
    made.write_text(
        "customer,title,due,remind,reminded\nacme-corp,Workshop,2026-11-25,2d;1d,2d@2026-11-23\n"
    )
    book("import", "milestones", made)
    fired = book.json("--today", "+1d", "tick")["reminders"]  # 2d fired in the other book
    assert [r["remind_on"] for r in fired if r["title"] == "Workshop"] == ["2026-11-24"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_book_with_removed_users_round_trips_with_export_users_all(book, tmp_path, db_path, fmt):
    task = book.json("task", "list", "--customer", "globex")[0]
    book("task", "done", str(task["id"]))
    book("user", "rm", "sam", "--unassign", "--yes")  # the done task keeps sam as its assignee
    book("user", "rm", "bob", "--unassign", "--yes")  # no longer a collaborator nor influencer
    original = export_book(book, db_path, fmt)
    assert "sam" not in original["users"]
    everyone = book("export", "users", "--all", "-f", fmt).stdout
    removed = {u["handle"]: u["removed"] for u in rows(everyone, fmt)}
    assert removed["sam"] == removed["bob"] == TODAY.isoformat()
    assert not removed["alice"]
    assert all(not m["collaborators"] for m in rows(original["milestones"], fmt))
    assert all(not c["influencers"] for c in rows(original["customers"], fmt))
    original["users"] = everyone
    files = {}
    for table, text in original.items():
        files[table] = tmp_path / f"{table}.{fmt}"
        files[table].write_text(text)
    copy = tmp_path / "copy.db"
    import_book(book, copy, files)
    again = export_book(book, copy, fmt) | {
        "users": book("--db", copy, "export", "users", "--all", "-f", fmt).stdout
    }
    assert again == original
    assert [u["handle"] for u in book.json("--db", copy, "user", "list")] == [
        u["handle"] for u in book.json("user", "list")
    ]
    # Imported again, removed users are removed here too: nothing changes.
    assert book("import", "users", files["users"]).stderr == (
        "Imported 5 users: 0 created, 0 updated, 5 unchanged.\n"
    )


def test_a_removed_row_never_removes_nor_revives_a_user(team, tmp_path, db_path):
    team("user", "rm", "bob", "--unassign", "--yes")
    bob = rows(team("export", "users", "--all").stdout)[-1]
    before = dump(db_path)
    (tmp_path / "u.csv").write_text(
        f"handle,team,removed,uuid\nsam,sales,2026-01-05,\nbob,,,{bob['uuid']}\n"
        "kim,sales,2026-01-05,\n"
    )
    assert team("import", "users", tmp_path / "u.csv", code=1).stderr.splitlines() == [
        "line 2, field removed: user 'sam' is not removed here: clm user rm sam removes them "
        "and hands their work over",
        "line 3, field uuid: this user was removed",
        "Error: 2 problems in the file; nothing imported",
    ]
    assert dump(db_path) == before
    (tmp_path / "v.csv").write_text("handle,team,removed\nkim,sales,2026-01-05\n")
    assert "create kim (removed)" in team("import", "users", tmp_path / "v.csv", "--dry-run").stderr
    team("import", "users", tmp_path / "v.csv")
    assert "kim" not in [u["handle"] for u in team.json("user", "list")]
    assert team("export", "customers", "--all", code=1).stderr == (
        "Error: --all is for export users (removed users too), not customers\n"
    )


TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
NAMES = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "a,b",
            'say "hi"',
            "two\nlines",
            "=1+2",
            "+x",
            "-y",
            "@z",
            "'quoted",
            "''=x",
            "Ångström",
            "日本",
            "\ttab",
            "\rcr",
            " spaced ",
        ]
    ),
).map(lambda name: name.strip() or "x")
OPTIONAL_TEXT = st.one_of(st.none(), TEXT, NAMES)
DAYS = st.dates(
    min_value=__import__("datetime").date(2020, 1, 1),
    max_value=__import__("datetime").date(2026, 11, 23),
)


@st.composite
def books(draw):
    """Users, customers (unique slugs) and milestones with awkward text and empty values."""
    handles = draw(st.lists(st.sampled_from(["ann", "bo", "cy", "di"]), unique=True, max_size=3))
    users = [
        {
            "handle": h,
            "name": draw(OPTIONAL_TEXT),
            "email": draw(st.sampled_from([None, f"{h}@x.io"])),
        }
        for h in handles
    ]
    customers = []
    for i in range(draw(st.integers(0, 4))):
        start = draw(DAYS)
        customers.append(
            {
                "slug": f"c{i}",
                "name": draw(NAMES),
                "source": draw(OPTIONAL_TEXT),
                "stage": draw(st.sampled_from([None, "lead", "onboarding", "churned"])),
                "start": start.isoformat(),
                "owner": draw(st.sampled_from([None, *handles])),
                "health": draw(st.one_of(st.none(), st.integers(0, 100))),
                "arr": draw(
                    st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False), st.integers(0, 10**6))
                ),
                "tags": draw(
                    st.lists(NAMES.filter(lambda t: ";" not in t and len(t) <= 64), max_size=3)
                ),
                "influencers": draw(st.lists(st.sampled_from(handles), unique=True))
                if handles
                else [],
            }
        )
    milestones = [
        {
            "customer": f"c{draw(st.integers(0, len(customers) - 1))}",
            "title": draw(NAMES),
            "due": draw(DAYS).isoformat(),
            "remind": draw(st.lists(st.sampled_from(["2w", "3d", "1m"]), unique=True)),
            "blocked_reason": draw(OPTIONAL_TEXT),
            "pinned": draw(st.booleans()),
        }
        for _ in range(draw(st.integers(0, 4) if customers else st.just(0)))
    ]
    return {"users": users, "customers": customers, "milestones": milestones}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(book=books(), fmt=st.sampled_from(["csv", "jsonl"]))
def test_round_trips_are_exact(book, fmt):
    """Export every importable table, import into an empty database, export again: the same
    bytes, whatever the text."""
    clm = Clm()
    with tempfile.TemporaryDirectory() as directory:
        here = Path(directory)
        seed = {}
        for table, records in book.items():
            seed[table] = here / f"seed-{table}.jsonl"
            seed[table].write_text("".join(json.dumps(r) + "\n" for r in records))
        for empty in ("tasks", "contacts", "metrics"):
            seed[empty] = here / f"seed-{empty}.jsonl"
            seed[empty].write_text("")
        # Milestones with the same customer, title and due date are one milestone.
        import_book(clm, here / "a.db", seed | {"milestones": _unique_milestones(book, here)})
        original = export_book(clm, here / "a.db", fmt)
        files = {}
        for table, text in original.items():
            files[table] = here / f"{table}.{fmt}"
            files[table].write_text(text, newline="")
        import_book(clm, here / "b.db", files)
        assert export_book(clm, here / "b.db", fmt) == original


def _unique_milestones(book: dict, here: Path) -> Path:
    seen, kept = set(), []
    for milestone in book["milestones"]:
        key = (milestone["customer"], milestone["title"], milestone["due"])
        if key not in seen:
            seen.add(key)
            kept.append(milestone)
    path = here / "seed-milestones.jsonl"
    path.write_text("".join(json.dumps(m) + "\n" for m in kept))
    return path


# --- progress ------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "rows", "shown"),
    [(Terminal(), 10_001, True), (Terminal(), 10_000, False), (io.StringIO(), 50_000, False)],
)
def test_a_progress_bar_only_for_a_large_file_on_a_terminal(stream, rows, shown):
    from clm.cli.env import Env
    from clm.commands.transfer import _import_progress
    from clm.render.progress import progress

    env = Env(None, TODAY, None, stderr=stream)
    with progress(env, "Importing", 1000, "bytes", hidden=True) as bar:
        _import_progress(bar, 1000)(rows, 500)
        assert bar.shown == shown
    assert (stream.getvalue() != "") == shown


def test_an_imported_due_date_gives_a_fired_reminder_a_new_day_that_fires_once(team, tmp_path):
    team("customer", "add", "Acme", "--owner", "alice", "--stage", "lead")
    team("milestone", "add", "acme", "M1", "--due", "2026-11-30", "--remind", "1w")
    assert [r["title"] for r in team.json("tick")["reminders"]] == ["M1"]
    (uuid,) = [m["uuid"] for m in team.json("milestone", "list")]
    (tmp_path / "m.csv").write_text(f"uuid,customer,title,due\n{uuid},acme,M1,2026-12-31\n")
    assert "1 updated" in team("import", "milestones", tmp_path / "m.csv").stderr
    assert team.json("--today", "2026-12-23", "tick")["reminders"] == []
    news = team.json("--today", "2026-12-24", "tick")
    assert [(r["title"], r["remind_on"]) for r in news["reminders"]] == [("M1", "2026-12-24")]
    assert team.json("--today", "2026-12-24", "tick")["reminders"] == []
    (tmp_path / "m.csv").write_text(f"uuid,customer,title,due\n{uuid},acme,M1,2026-11-30\n")
    team("import", "milestones", tmp_path / "m.csv")  # back to the day it fired for first
    assert team.json("--today", "2026-12-26", "tick")["reminders"] == []


def test_the_demo_book_moved_through_files_fires_nothing_again(clm, tmp_path, db_path):
    """Issue 25 #17: the demo book's reminders fired again in a copy made by import (9 of
    them); a churned customer's cancelled tasks did not import at all."""
    clm("demo")
    files = {}
    for table in IMPORTABLE:
        files[table] = tmp_path / f"{table}.csv"
        clm("export", table, "-o", files[table])
    copy = tmp_path / "copy.db"
    import_book(clm, copy, files)
    assert clm.json("--db", copy, "tick")["reminders"] == []
    for table in IMPORTABLE:
        assert clm("--db", copy, "export", table).stdout == files[table].read_text()
