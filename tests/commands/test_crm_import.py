"""A real CRM's export as it comes (issue 20): a HubSpot-style companies file, BOM, date-times,
stage names and owners by full name, imported with a mapping of columns and values."""

from pathlib import Path

from tests.conftest import dump

HUBSPOT = Path(__file__).parent.parent / "fixtures" / "hubspot-companies.csv"
MAPS = (
    "--map", "Record ID=field:hubspot_id", "--map", "Company name=name",
    "--map", "Company owner=owner", "--map", "Lifecycle Stage=stage",
    "--map", "Create Date=start", "--map", "Annual Revenue=arr",
    "--map", "Industry=field:industry", "--create-fields",
    "--map-value", "stage:customer=adopting", "--map-value", "stage:opportunity=prospect",
)  # fmt: skip
MAP_FILE = """\
create_fields = true
[map]
"Record ID" = "field:hubspot_id"
"Company name" = "name"
"Company owner" = "owner"
"Lifecycle Stage" = "stage"
"Create Date" = "start"
"Annual Revenue" = "arr"
"Industry" = "field:industry"
[map_value.stage]
customer = "adopting"
opportunity = "prospect"
"""


def people(clm):
    clm("user", "add", "alice", "--name", "Alice Smith", "--email", "alice@example.com")
    clm("user", "add", "bob", "--name", "Bob Jones")


def book(clm) -> list[tuple]:
    listed = clm.json("customer", "list", "--fields", "slug,stage,owner,start,arr,industry,"
                      "hubspot_id")  # fmt: skip
    return [tuple(c.values()) for c in listed]


EXPECTED = [
    ("acme-corp", "adopting", "alice", "2024-03-05", 120000, "Software", "9001"),
    ("globex", "prospect", "bob", "2024-04-11", None, "Manufacturing", "9002"),
    ("initech", "adopting", "alice", "2024-01-20", 54000.5, "Software", "9003"),
]


def test_the_hubspot_export_imports_as_it_comes(clm, db_path):
    assert HUBSPOT.read_bytes().startswith(b"\xef\xbb\xbfRecord ID,")
    people(clm)
    before = dump(db_path)
    dry = clm("import", "customers", str(HUBSPOT), "--dry-run", *MAPS)
    assert dry.stderr.splitlines() == [
        "Dry run: would import 3 customers: 3 created, 0 updated; nothing written.",
        "Mapping:",
        "  'Record ID' → hubspot_id (custom field, new)",
        "  'Company name' → name",
        "  'Company owner' → owner",
        "  'Lifecycle Stage' → stage",
        "  'Create Date' → start",
        "  'Annual Revenue' → arr",
        "  'Industry' → industry (custom field, new)",
        "  stage: 'customer' → adopting",
        "  stage: 'opportunity' → prospect",
        "  create acme-corp",
        "  create globex",
        "  create initech",
    ]
    assert dump(db_path) == before  # not even the fields
    result = clm("import", "customers", str(HUBSPOT), *MAPS)
    assert result.stderr == "Imported 3 customers: 3 created, 0 updated.\n"
    assert book(clm) == EXPECTED
    assert [(f["name"], f["kind"]) for f in clm.json("field", "list")] == [
        ("hubspot_id", "text"), ("industry", "text"),
    ]  # fmt: skip


def test_a_mapping_file_keeps_the_mapping_for_the_next_import(clm, tmp_path):
    people(clm)
    (tmp_path / "hubspot.toml").write_text(MAP_FILE)
    clm("import", "customers", str(HUBSPOT), "--map-file", "hubspot.toml")
    assert book(clm) == EXPECTED
    again = clm("import", "customers", str(HUBSPOT), "--map-file", "hubspot.toml")
    assert again.stderr == "Imported 3 customers: 0 created, 0 updated, 3 unchanged.\n"


def test_without_the_mapping_every_problem_is_named(clm, tmp_path):
    people(clm)
    error = clm.error("import", "customers", str(HUBSPOT), "--map", "Industry=field:industri",
                      "--map", "Company name=name")  # fmt: skip
    assert error == (
        "Error: invalid --map 'Industry=field:industri': no field 'industri': add it (clm field "
        "add industri --kind text) or pass --create-fields"
    )
    assert clm.error("import", "customers", str(HUBSPOT), "--map-value", "stag:x=y") == (
        "Error: invalid --map-value 'stag:…': no column 'stag'; did you mean 'stage' or "
        "'stage_entered'?"
    )
    assert clm.error("import", "customers", str(HUBSPOT), "--map-value", "stage-customer") == (
        "Error: invalid --map-value 'stage-customer': use 'column:FILE VALUE=clm value', e.g. "
        "'stage:customer=adopting'"
    )
    # Stages left as the CRM names them: each row says which stage it does not know.
    maps = [m for m in MAPS if not m.startswith("stage:") and m != "--map-value"]
    result = clm("import", "customers", str(HUBSPOT), *maps, code=1)
    assert "line 2, field stage: no stage 'customer'" in result.stderr
    assert clm.json("customer", "list") == []


def test_dates_in_another_format_and_date_times_with_an_offset(clm, tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    import time

    time.tzset()
    try:
        (tmp_path / "d.csv").write_text("name,start,renewal\nAcme,05/03/2024,2027-01-01T23:30Z\n")
        error = clm.error("import", "customers", "d.csv")
        assert error == (
            "Error: line 2, field start: invalid date '05/03/2024': use YYYY-MM-DD (or an ISO "
            "date-time; another form with --date-format); nothing imported"
        )
        clm("import", "customers", "d.csv", "--date-format", "%d/%m/%Y")
        # 23:30 UTC is the next morning in Tokyo: the day in the user's time zone.
        [row] = clm.json("customer", "list", "--fields", "start,renewal")
        assert row == {"start": "2024-03-05", "renewal": "2027-01-02"}
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
