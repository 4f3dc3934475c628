"""`clm field` and custom fields everywhere a customer's fields go: --set, show, list
--fields and --where, rules and explain, the model file."""

import json
import shutil

import pytest

from tests.conftest import ON_PG, dump


def fields(clm):
    clm("field", "add", "seats", "--kind", "number")
    clm("field", "add", "segment", "--kind", "choice", "--choice", "smb", "--choice", "enterprise")
    clm("field", "add", "go_live_date", "--kind", "date")
    clm("field", "add", "trial", "--kind", "bool")
    clm("field", "add", "industry", "--kind", "text")


def test_fields_are_defined_listed_edited_and_removed(clm):
    fields(clm)
    clm("customer", "add", "Acme", "--set", "seats=60")
    listed = clm.json("field", "list")
    assert [(f["name"], f["kind"], f["customers"]) for f in listed] == [
        ("seats", "number", 1),
        ("segment", "choice", 0),
        ("go_live_date", "date", 0),
        ("trial", "bool", 0),
        ("industry", "text", 0),
    ]
    assert listed[1]["choices"] == "smb;enterprise"
    clm("field", "edit", "segment", "--choice", "smb", "--choice", "mid", "--choice", "enterprise")
    assert clm.json("field", "list")[1]["choices"] == "smb;mid;enterprise"
    assert clm("field", "rm", "seats").stderr == "Removed field seats and 1 value.\n"
    assert "seats" not in clm.json("customer", "show", "acme")


def test_bad_field_definitions_are_refused(clm, db_path):
    clm("field", "add", "seats", "--kind", "number")
    before = dump(db_path)
    assert clm.error("field", "add", "seats", "--kind", "text") == (
        "Error: field seats exists already: clm field edit seats"
    )
    assert clm.error("field", "add", "tier", "--kind", "enum") == (
        "Error: invalid field kind 'enum': use one of number, text, date, choice, bool"
    )
    assert clm.error("field", "add", "tier", "--kind", "choice") == (
        "Error: field tier is a choice: give its values (--choice VALUE, repeatable)"
    )
    assert clm.error("field", "add", "health", "--kind", "number") == (
        "Error: invalid field name 'health': health is a word clm reads; pick another"
    )
    assert clm.error("field", "add", "Seats; DROP TABLE x", "--kind", "number").startswith(
        "Error: invalid field name 'Seats; DROP TABLE x': use lowercase letters"
    )
    assert clm.error("field", "rm", "seat") == "Error: no field 'seat'; did you mean 'seats'?"
    assert dump(db_path) == before


def test_values_are_set_shown_and_unset(clm):
    fields(clm)
    clm(
        "customer", "add", "Acme", "--set", "seats=1,200", "--set", "segment=enterprise",
        "--set", "go_live_date=+30d", "--set", "trial=yes", "--set", "industry=Retail & Co",
    )  # fmt: skip
    shown = clm.json("customer", "show", "acme")
    assert {k: shown[k] for k in ("seats", "segment", "go_live_date", "trial", "industry")} == {
        "seats": 1200, "segment": "enterprise", "go_live_date": "2026-12-23", "trial": True,
        "industry": "Retail & Co",
    }  # fmt: skip
    page = clm("customer", "show", "acme").stdout
    assert "seats            1200\n" in page and "trial            true\n" in page
    result = clm("customer", "edit", "acme", "--set", "seats=80", "--set", "industry=")
    assert result.stderr == "Changed seats, industry of acme.\n"
    shown = clm.json("customer", "show", "acme")
    assert shown["seats"] == 80 and "industry" not in shown
    assert clm("customer", "edit", "acme", "--set", "seats=80").stderr == "No change to acme.\n"


def test_wrong_values_are_refused_naming_what_is_accepted(clm, db_path):
    fields(clm)
    clm("customer", "add", "Acme")
    before = dump(db_path)
    cases = {
        "seats=many": "Error: invalid value 'many' for field seats: use a number",
        "seats=nan": "Error: invalid value 'nan' for field seats: use a number",
        "segment=enterprize": "Error: invalid value 'enterprize' for field segment: use one of "
        "smb, enterprise; did you mean 'enterprise'?",
        "trial=maybe": "Error: invalid value 'maybe' for field trial: use true or false",
        "go_live_date=03/04/2026": "Error: invalid value '03/04/2026' for field go_live_date: "
        "use a date (YYYY-MM-DD, today, +30d, …)",
        "seat=5": "Error: no field 'seat'; did you mean 'seats'?",
        "seats": "Error: invalid --set 'seats': use NAME=VALUE (an empty VALUE unsets)",
    }
    for pair, error in cases.items():
        assert clm.error("customer", "edit", "acme", "--set", pair) == error
    assert clm.error("customer", "add", "Beta", "--set", "seats=x").startswith("Error: invalid")
    assert dump(db_path) == before


def test_list_shows_custom_fields_as_columns_and_filters_on_them(clm):
    fields(clm)
    clm("customer", "add", "Acme", "--set", "seats=60", "--set", "segment=enterprise",
        "--arr", "50000")  # fmt: skip
    clm("customer", "add", "Beta", "--set", "seats=10", "--set", "segment=smb")
    clm("customer", "add", "Gamma", "--set", "go_live_date=2026-01-01")

    def slugs(*where: str) -> list[str]:
        args = [a for w in where for a in ("--where", w)]
        return [c["slug"] for c in clm.json("customer", "list", *args)]

    assert slugs("seats >= 50") == ["acme"]
    assert slugs("seats < 50") == ["beta"]
    assert slugs("segment = enterprise") == ["acme"]
    assert slugs("segment != enterprise") == ["beta"]
    assert slugs("seats is not set") == ["gamma"]
    assert slugs("seats is set", "arr > 1000") == ["acme"]
    assert slugs("seats > 5 and segment = 'smb'") == ["beta"]
    assert slugs("go_live_date <= today") == ["gamma"]
    assert slugs("stage = onboarding and renewal <= +1y") == ["acme", "beta", "gamma"]
    out = clm("customer", "list", "--where", "seats > 0", "--fields", "slug,seats,segment",
              "-f", "csv").stdout  # fmt: skip
    assert out.splitlines() == ["slug,seats,segment", "acme,60,enterprise", "beta,10,smb"]
    # In a pipe without --fields the database lays the table out: the filter holds there too.
    assert [line.split()[0] for line in clm("customer", "list", "--where", "seats>=50")
            .stdout.splitlines()[2:]] == ["acme"]  # fmt: skip


def test_bad_filters_are_one_error_line(clm):
    fields(clm)
    cases = {
        "seat > 5": "Error: invalid --where 'seat > 5': no field 'seat'; did you mean 'seats'?",
        "segment > smb": "Error: invalid --where 'segment > smb': segment is choice: compare it "
        "with = or !=",
        "seats >= lots": "Error: invalid value 'lots' for field seats: use a number",
        "seats": "Error: invalid --where 'seats': use NAME OP VALUE [and …] (OP one of = != < <= "
        "> >=) or NAME is [not] set",
        "seats > 5 or seats < 2": "Error: invalid --where 'seats > 5 or seats < 2': join tests "
        "with 'and'",
        "seats is empty": "Error: invalid --where 'seats is empty': use NAME is set or NAME is "
        "not set",
    }
    for where, error in cases.items():
        assert clm.error("customer", "list", "--where", where) == error


def test_rules_read_custom_fields_dated_the_day_they_became_true(clm):
    fields(clm)
    clm("rule", "add", "big", "--from", "onboarding", "--when", "seats >= 50",
        "--when", "segment = enterprise", "--cta", "expansion:big account")  # fmt: skip
    clm("rule", "add", "live", "--from", "onboarding", "--to", "launched",
        "--when", "go_live_date <= today")  # fmt: skip
    clm("--today", "2026-11-01", "customer", "add", "Acme", "--set", "seats=10",
        "--set", "segment=enterprise", "--set", "go_live_date=2026-11-30")  # fmt: skip
    clm("--today", "2026-11-20", "customer", "edit", "acme", "--set", "seats=70")
    explained = {r["condition"]: r for r in clm.json("explain", "acme")}
    assert explained["seats >= 50"]["value"] == 70
    assert explained["seats >= 50"]["since"] == "2026-11-20"
    assert explained["segment = enterprise"]["since"] == "2026-11-01"
    assert explained["go_live_date <= today"]["value"] == "2026-11-30"
    assert explained["go_live_date <= today"]["holds"] is False
    # Ticked late, on Dec 3: the CTA is dated the day seats reached 50, the move the go-live day.
    ticked = clm.json("--today", "2026-12-03", "tick")
    assert [(c["reason"], c["on"]) for c in ticked["ctas_opened"]] == [
        ("big account", "2026-11-20")
    ]
    assert [(m["to"], m["on"]) for m in ticked["transitions"]] == [("launched", "2026-11-30")]
    assert clm.error("field", "rm", "seats") == (
        "Error: rule 'big' reads field seats: change or remove it first"
    )


def test_bad_field_conditions_are_refused(clm):
    fields(clm)
    error = clm.error("rule", "add", "x", "--from", "onboarding", "--to", "launched",
                      "--when", "seatz >= 5")  # fmt: skip
    # (Read as a metric's condition, a name no field has: the suggestion still names the field.)
    assert error.startswith("Error: invalid condition 'seatz >= 5': no metric 'seatz'")
    assert "; did you mean 'seats'?" in error
    assert clm.error("rule", "add", "x", "--from", "onboarding", "--to", "launched",
                     "--when", "segment > smb") == (
        "Error: invalid condition 'segment > smb': segment is a choice: compare it with = or !="
    )  # fmt: skip
    assert clm.error("rule", "add", "x", "--from", "onboarding", "--to", "launched",
                     "--when", "segment = big") == (
        "Error: invalid value 'big' for field segment: use one of smb, enterprise"
    )  # fmt: skip


def test_the_model_file_defines_fields_and_round_trips(clm, tmp_path):
    fields(clm)
    clm("rule", "add", "big", "--from", "onboarding", "--when", "seats >= 50",
        "--cta", "expansion:big")  # fmt: skip
    exported = clm("model", "export").stdout
    assert '[[fields]]\nname = "segment"\nkind = "choice"\nchoices = [\n    "smb",' in exported
    path = tmp_path / "model.toml"
    path.write_text(exported)
    assert "No changes" in clm("model", "apply", str(path)).stderr
    text = exported.replace('name = "industry"\nkind = "text"\n', 'name = "tier"\nkind = "text"\n')
    path.write_text(text)
    changes = clm.json("model", "apply", str(path))
    assert [(c["change"], c["kind"], c["name"]) for c in changes] == [
        ("added", "field", "tier"), ("removed", "field", "industry"),
    ]  # fmt: skip
    assert "tier" in [f["name"] for f in clm.json("field", "list")]
    clm("customer", "add", "Acme", "--set", "seats=3")
    path.write_text(text.replace('name = "seats"\nkind = "number"\n', ""))
    result = clm("model", "apply", str(path), code=1)
    assert "the file removes field 'seats' but 1 customers hold a value" in result.stderr
    path.write_text(text.replace('kind = "choice"', 'kind = "colour"'))
    result = clm("model", "apply", str(path), code=1)
    assert "fields[1]: invalid field kind 'colour'" in result.stderr
    assert json.loads(clm("field", "list", "-f", "json").stdout)[0]["name"] == "seats"


def test_custom_fields_round_trip_through_export_and_import(clm, tmp_path):
    fields(clm)
    clm(
        "customer",
        "add",
        "Acme",
        "--set",
        "seats=60",
        "--set",
        "segment=enterprise",
        "--set",
        "trial=no",
        "--set",
        "go_live_date=2026-12-01",
        "--set",
        "industry==SUM(A1)",
    )
    clm("customer", "add", "Beta", "--set", "seats=12.5")  # fmt: skip
    csv_text = clm("export", "customers", "-f", "csv").stdout
    header, acme, beta = csv_text.splitlines()
    assert header.endswith(",uuid,seats,segment,go_live_date,trial,industry")
    assert acme.endswith(",60,enterprise,2026-12-01,false,'=SUM(A1)")
    assert beta.endswith(",12.5,,,,")
    [obj, _] = clm.json("export", "customers")
    assert {k: obj[k] for k in ("seats", "trial", "go_live_date", "industry")} == {
        "seats": 60, "trial": False, "go_live_date": "2026-12-01", "industry": "=SUM(A1)"
    }  # fmt: skip
    (tmp_path / "book.csv").write_text(csv_text)
    again = clm("import", "customers", "book.csv")
    assert again.stderr == "Imported 2 customers: 0 created, 0 updated, 2 unchanged.\n"
    (tmp_path / "edit.csv").write_text("slug,name,seats,segment\nbeta,Beta,13,smb\n")
    dry = clm("import", "customers", "edit.csv", "--dry-run")
    assert "update beta: seats 12.5 → 13, segment (none) → smb" in dry.stderr
    (tmp_path / "bad.csv").write_text("slug,name,seats,segment\nbeta,Beta,x,huge\n")
    result = clm("import", "customers", "bad.csv", code=1)
    assert result.stderr.splitlines()[:2] == [
        "line 2, field seats: invalid value 'x' for field seats: use a number",
        "line 2, field segment: invalid value 'huge' for field segment: use one of smb, enterprise",
    ]
    assert clm.json("customer", "show", "beta")["seats"] == 12.5


def test_a_custom_field_cell_of_spaces_alone_imports_as_empty(clm, tmp_path):
    # As in the built-in text columns (source, …): a blank cell holds no value, whatever
    # the spaces in it; an export of such a book imports again.
    fields(clm)
    clm("customer", "add", "Acme", "--set", "industry=retail", "--set", "seats=3")
    (tmp_path / "blank.jsonl").write_text('{"slug": "beta", "name": "Beta", "industry": " "}\n')
    clm("import", "customers", "blank.jsonl")
    (tmp_path / "blank.csv").write_text("slug,name,industry,seats\nacme,Acme,  ,\t\n")
    clm("import", "customers", "blank.csv")
    shown = {c["slug"]: c for c in clm.json("export", "customers")}
    assert shown["beta"]["industry"] is None
    assert (shown["acme"]["industry"], shown["acme"]["seats"]) == (None, None)


@pytest.mark.skipif(ON_PG, reason="merges copies of a database file")
def test_copies_merge_field_by_field(clm, tmp_path, db_path):
    fields(clm)
    clm("customer", "add", "Acme", "--set", "seats=10", "--set", "segment=smb")
    clm("contact", "add", "acme", "Ana", "--role", "champion")
    copy = tmp_path / "clm (conflicted copy).db"
    shutil.copyfile(db_path, copy)
    clm("customer", "edit", "acme", "--set", "seats=20")  # here: seats
    clm("--db", copy, "customer", "edit", "acme", "--set", "segment=enterprise")  # there
    clm("--db", copy, "contact", "add", "acme", "Bo", "--role", "sponsor")
    clm("db", "merge", copy)
    shown = clm.json("customer", "show", "acme")
    assert (shown["seats"], shown["segment"]) == (20, "enterprise")
    assert [c["name"] for c in shown["contacts"]] == ["Ana", "Bo"]


def test_a_model_file_removes_a_field_with_the_rule_reading_it(clm, tmp_path):
    exported = clm("model", "export").stdout  # before the field and its rule
    clm("field", "add", "seats", "--kind", "number")
    clm("rule", "add", "big", "--from", "onboarding", "--when", "seats >= 50", "--cta", "risk:big")
    assert clm.error("field", "rm", "seats").startswith("Error: rule 'big' reads field seats")
    (tmp_path / "m.toml").write_text(exported)
    changes = clm.json("model", "apply", "m.toml")
    assert [(c["change"], c["kind"], c["name"]) for c in changes] == [
        ("removed", "rule", "big"), ("removed", "field", "seats"),
    ]  # fmt: skip


def test_a_field_and_a_metric_never_share_a_name(clm):
    # A rule's `seats >= 10` could not tell a field from a metric of the same name.
    clm("field", "add", "seats", "--kind", "number")
    assert clm.error("metric", "add", "seats") == (
        "Error: a custom field is named seats: give the metric another name"
    )
    clm("metric", "add", "active_users")
    assert clm.error("field", "add", "active_users", "--kind", "number") == (
        "Error: a metric is named active_users: give the field another name"
    )
