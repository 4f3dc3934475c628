"""Issue 25, "Nothing lost, nobody locked out": each failure found under attack, reproduced
through the CLI where a user meets it."""

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ON_PG, dump

# --- 1. --force never writes over the database, its journal or its backups ------------------


@pytest.mark.sqlite_only("the database file itself")
@pytest.mark.parametrize(
    "command",
    [
        ("report", "dashboard", "--html", "{db}", "--force"),
        ("report", "dashboard", "--html", "{db}"),
        ("model", "export", "{db}", "--force"),
        ("model", "export", "{db}-journal", "--force"),
        ("export", "customers", "-o", "{db}", "--force"),
    ],
)
def test_force_never_writes_over_the_live_database(clm, db_path, command):
    clm("customer", "add", "Acme")
    before = db_path.read_bytes()
    args = [part.format(db=db_path) for part in command]
    error = clm.error(*args)
    assert "is the database itself" in error or "database's own files" in error
    assert db_path.read_bytes() == before
    assert not Path(f"{db_path}-journal").exists()


@pytest.mark.sqlite_only("a backup beside the database file")
def test_force_never_writes_over_a_backup(clm, db_path, tmp_path):
    clm("customer", "add", "Acme")
    clm("init", "--force")
    (backup,) = tmp_path.glob("clm.db.before-init-*.bak")
    before = backup.read_bytes()
    assert "database's own files" in clm.error("model", "export", backup, "--force")
    assert backup.read_bytes() == before


# --- 2. init --force on a server: a copy first, and a question ------------------------------


@pytest.mark.pg_only
def test_init_force_on_a_server_asks_and_saves_a_copy_first(clm, tmp_path):
    clm("customer", "add", "Acme")
    error = clm.error("init", "--force")
    assert "pass --yes" in error
    assert [c["slug"] for c in clm.json("customer", "list")] == ["acme"]
    result = clm("init", "--force", "--yes")
    (copy,) = tmp_path.glob("clm-*.before-init-*.bak")
    assert f"Saved the old database as {copy}" in result.stderr
    assert clm.json("customer", "list") == []
    assert [c["slug"] for c in clm.json("--db", copy, "customer", "list")] == ["acme"]


# --- 3. a password in any part of a URL is never taken on the command line nor shown --------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://me@localhost/clm?password=pw1secret",
        "postgresql://me@localhost/clm?sslmode=disable&sslpassword=pw1secret",
        "postgresql://me:pw1secret@localhost/clm",
    ],
)
def test_a_password_in_the_query_string_is_refused_on_the_command_line(clm, url, tmp_path):
    error = clm.error("--db", url, "db", "check")
    assert "pw1secret" not in error and "CLM_DB" in error
    clm("--db", tmp_path / "f.db", "init")  # a book to copy: --db makes none by accident
    error = clm.error("--db", tmp_path / "f.db", "db", "copy", url)
    assert "pw1secret" not in error and "PGPASSWORD" in error


def test_a_password_in_clm_db_is_never_printed(clm, monkeypatch):
    monkeypatch.setenv("CLM_DB", "postgresql://me:pw2secret@127.0.0.1:1/clm?password=pw1secret")
    result = clm("db", "path")
    assert "secret" not in result.stdout and "***" in result.stdout
    result = clm("db", "check", code=1)
    assert "secret" not in result.stdout + result.stderr
    assert result.stderr.startswith("Error: cannot connect to the database server")


# --- 7. a torn database: one line that points to the newest backup ---------------------------


@pytest.mark.sqlite_only("a torn file")
@pytest.mark.parametrize("command", [("db", "check"), ("customer", "list"), ("tick",)])
def test_a_torn_database_names_the_newest_backup(clm, db_path, tmp_path, command):
    clm("--db", db_path, "demo", "--customers", "60")
    clm("init", "--force")  # a backup beside the db
    clm("--db", tmp_path / "other.db", "demo", "--customers", "60")
    (backup,) = tmp_path.glob("clm.db.before-init-*.bak")
    torn = (tmp_path / "other.db").read_bytes()
    db_path.write_bytes(torn[: len(torn) // 2])
    error = clm.error(*command)
    assert "is damaged (database disk image is malformed)" in error
    assert f"the newest backup is {backup}" in error
    assert "sqlalche.me" not in error and "unexpected" not in error


# --- 8. a full disk: no SQL, no customer data, no empty file left for the retry -------------


def _tmpfs(path: Path, size: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)])
    if done.returncode:
        pytest.skip("cannot mount a tmpfs here")


@pytest.fixture
def full_disk(tmp_path):
    """A small tmpfs (root only), room for an empty book and its backup; unmounted afterwards."""
    where = tmp_path / "small"
    _tmpfs(where, "2m")
    yield where
    subprocess.run(["umount", "-l", str(where)])


def fill(where: Path) -> None:
    with (where / "filler").open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        except OSError:
            pass


@pytest.mark.sqlite_only("a file on a full disk")
def test_a_full_disk_leaves_the_book_as_it_was_and_no_empty_files(clm, full_disk, tmp_path):
    db = full_disk / "c.db"
    clm("--db", db, "init")
    rows = "\n".join(f"Customer {i},{'secret-' + 'x' * 200}" for i in range(16000))
    (tmp_path / "big.csv").write_text("name,source\n" + rows + "\n")
    before = dump(db)
    error = clm.error("--db", db, "import", "customers", tmp_path / "big.csv")
    assert error == (
        "Error: the disk is full: nothing was changed; free some space and run the command again"
    )
    assert dump(db) == before
    assert sorted(p.name for p in full_disk.iterdir()) == ["c.db"]
    fill(full_disk)
    for command, made in (
        (("db", "backup", full_disk / "b.db"), "b.db"),
        (("report", "dashboard", "--html", full_disk / "d.html"), "d.html"),
        (("model", "export", full_disk / "m.toml"), "m.toml"),
    ):
        error = clm.error("--db", db, *command)
        assert "secret" not in error and "INSERT" not in error
        assert not (full_disk / made).exists(), error
    assert sorted(p.name for p in full_disk.iterdir()) == ["c.db", "filler"]
    (full_disk / "filler").unlink()
    clm("--db", db, "db", "backup", full_disk / "b.db")
    assert sqlite3.connect(full_disk / "b.db").execute("PRAGMA quick_check").fetchone() == ("ok",)


def test_an_unexpected_database_error_shows_no_sql_nor_data(clm, db_path):
    clm("customer", "add", "Acme", "--source", "secret-source")
    from tests.conftest import sql

    # A trigger stands in for any failure the server reports on an INSERT with user data.
    if ON_PG:
        sql(
            db_path,
            "CREATE FUNCTION no_notes() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'notes are off'; END $$ LANGUAGE plpgsql",
        )
        sql(db_path, "CREATE TRIGGER no_notes BEFORE INSERT ON notes EXECUTE FUNCTION no_notes()")
    else:
        sql(
            db_path,
            "CREATE TRIGGER no_notes BEFORE INSERT ON notes BEGIN "
            "SELECT RAISE(ABORT, 'notes are off'); END",
        )
    error = clm.error("note", "acme", "very secret text")
    assert "notes are off" in error
    assert "secret" not in error and "INSERT" not in error and "sqlalche.me" not in error
    assert sys.modules  # (the error is one line: clm.error checks it)


# --- 4. duplicates within one JSON line -------------------------------------------------------


@pytest.mark.parametrize(
    ("noun", "rows", "expected"),
    [
        (
            "customers",
            '[{"name": "Zed", "slug": "z"}, {"name": "Zed two", "slug": "z"}]',
            "Error: line 1, field slug: 'z' is also in an earlier object of line 1; "
            "nothing imported",
        ),
        (
            "milestones",
            '[{"customer": "acme", "title": "T", "due": "2027-01-01"},'
            ' {"customer": "acme", "title": "T", "due": "2027-01-01"}]',
            "Error: line 1, field title: 'T' is also in an earlier object of line 1; "
            "nothing imported",
        ),
    ],
)
def test_duplicates_within_one_json_line_are_refused(clm, db_path, tmp_path, noun, rows, expected):
    clm("customer", "add", "Acme")
    before = dump(db_path)
    (tmp_path / "rows.json").write_text(rows + "\n")
    assert clm.error("import", noun, tmp_path / "rows.json") == expected
    assert dump(db_path) == before


# --- 10. days off the calendar, unbounded dry runs, deep JSON --------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("--today", "9999-12-31", "tick"),
            "Error: invalid --today 9999-12-31: clm's today is a day from 1900-01-01 to 2999-12-31",
        ),
        (
            ("--today", "0001-01-01", "agenda"),
            "Error: invalid --today 0001-01-01: clm's today is a day from 1900-01-01 to 2999-12-31",
        ),
        (
            ("tick", "--today", "3000-01-01"),
            "Error: invalid --today 3000-01-01: clm's today is a day from 1900-01-01 to 2999-12-31",
        ),
        (
            ("tick", "--dry-run", "--until", "9999-12-31"),
            "Error: invalid --until 9999-12-31: a dry run plays at most 3 years ahead "
            "(to 2029-11-23); start a later one with --today",
        ),
    ],
)
def test_days_off_the_calendar_are_refused(clm, args, expected):
    assert clm.error(*args) == expected


def test_the_edges_of_todays_range_work(clm):
    clm("customer", "add", "Acme", "--renewal", "2027-01-01")
    assert clm.json("--today", "2999-12-31", "tick")["date"] == "2999-12-31"
    assert clm("--today", "1900-01-01", "agenda").exit_code == 0
    assert len(clm.json("tick", "--dry-run", "--until", "+3y")) == 1097


def test_a_reminder_before_the_calendar_names_its_line(clm, db_path, tmp_path):
    clm("customer", "add", "Acme")
    before = dump(db_path)
    (tmp_path / "m.csv").write_text("customer,title,due,remind\nacme,X,0001-01-15,1m\n")
    assert clm.error("import", "milestones", tmp_path / "m.csv") == (
        "Error: line 2, field remind: 0001-01-15 - 1m is out of range; nothing imported"
    )
    assert dump(db_path) == before


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_nested_deeply_is_refused_in_one_line(clm, tmp_path, fmt):
    deep = "[" * 50_000 + "]" * 50_000
    body = f'[{{"name": {deep}}}]' if fmt == "json" else f'{{"name": {deep}}}'
    (tmp_path / f"deep.{fmt}").write_text(body + "\n")
    assert clm.error("import", "customers", tmp_path / f"deep.{fmt}") == (
        "Error: line 1: invalid JSON: nested too deeply (an object's fields are text, numbers "
        "or lists)"
    )


# --- 11. ARR has a bound: reports stay JSON ---------------------------------------------------


def test_arr_is_bounded_and_reports_stay_json(clm, tmp_path):
    assert clm.error("customer", "add", "A", "--arr", "1.7e308") == (
        "Error: invalid ARR 1.7e+308: use a number 0–10,000,000,000,000,000"
    )
    (tmp_path / "c.csv").write_text("name,arr\nA,1.7e308\nB,1e16\n")
    assert clm.error("import", "customers", tmp_path / "c.csv") == (
        "Error: line 2, field arr: invalid value '1.7e308': use a number up to "
        "10,000,000,000,000,000; nothing imported"
    )
    clm("customer", "add", "A", "--arr", "1e16")
    clm("customer", "add", "B", "--arr", "1e16")
    out = clm("report", "stages", "-f", "json").stdout
    assert "Infinity" not in out
    assert {row["stage"]: row["arr"] for row in __import__("json").loads(out)}["onboarding"] == (
        2e16
    )


# --- 12. a newline in a name cannot forge a row of a table ------------------------------------


def test_a_newline_in_a_name_is_escaped_in_tables(clm):
    clm("customer", "add", "Evil\nacme  onboarding  forged", "--slug", "evil")
    out = clm("customer", "list").stdout
    assert "Evil\\nacme  onboarding  forged" in out
    assert len(out.strip().splitlines()) == 3  # header, rule, one row
    assert clm.json("customer", "show", "evil")["name"] == "Evil\nacme  onboarding  forged"


# --- 15. limits on text, JSON as CSV, no duplicate JSON keys ----------------------------------


def test_text_fields_have_limits_on_the_command_line(clm, db_path):
    clm("customer", "add", "Acme")
    before = dump(db_path)
    assert clm.error("customer", "add", "x" * 501) == (
        "Error: invalid NAME: 501 characters, at most 500"
    )
    assert clm.error("milestone", "add", "acme", "t" * 501, "--due", "+1m") == (
        "Error: invalid TITLE: 501 characters, at most 500"
    )
    assert clm.error("note", "acme", "n" * 10_001) == (
        "Error: invalid TEXT: 10,001 characters, at most 10,000"
    )
    assert dump(db_path) == before
    clm("customer", "add", "y" * 500)
    clm("note", "acme", "n" * 10_000)


def test_imports_have_the_same_limits_and_refuse_duplicate_keys(clm, db_path, tmp_path):
    import json

    clm("user", "list")
    before = dump(db_path)
    cases = [
        ([{"name": "x" * 300_000}], "line 1, field name: 300,000 characters: at most 500"),
        (
            [{"name": "Big", "source": "s" * (2 << 20)}],
            "line 1: a JSON object longer than 1,048,576 characters (the limit of a csv field)",
        ),
    ]
    for rows, expected in cases:
        (tmp_path / "c.json").write_text(json.dumps(rows))
        assert clm.error("import", "customers", tmp_path / "c.json").startswith(
            f"Error: {expected}"
        )
        (tmp_path / "c.jsonl").write_text(json.dumps(rows[0]) + "\n")
        assert clm.error("import", "customers", tmp_path / "c.jsonl").startswith(
            f"Error: {expected}"
        )
    (tmp_path / "dup.json").write_text('[{"name": "A", "name": "B"}]')
    assert clm.error("import", "customers", tmp_path / "dup.json") == (
        "Error: line 1: the field 'name' is given twice in one object; nothing imported"
    )
    (tmp_path / "c.csv").write_text("name,source\nA," + "s" * 501 + "\n")
    assert clm.error("import", "customers", tmp_path / "c.csv") == (
        "Error: line 2, field source: 501 characters: at most 500; nothing imported"
    )
    assert dump(db_path) == before


# --- 6. a held lock: every wait bounded, the holder named ------------------------------------


def test_a_held_write_lock_ends_in_one_line_naming_the_holder(clm, db_path, monkeypatch):
    from tests.conftest import _connect

    clm("customer", "add", "Acme")
    before = dump(db_path)
    monkeypatch.setenv("CLM_BUSY_TIMEOUT", "0.3")
    with _connect(db_path) as holder:
        if ON_PG:
            holder.exec_driver_sql("SELECT pg_advisory_xact_lock(6515821)")  # 0x636C6D
        else:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        error = clm.error("customer", "add", "Bob")
        holder.rollback()
    if ON_PG:
        assert "has held clm's write lock for" in error
        assert "CLM_BUSY_TIMEOUT" in error and "pg_terminate_backend(" in error
    else:
        assert error == "Error: database busy: another clm is writing; try again in a moment"
    assert dump(db_path) == before
    clm("customer", "add", "Bob")


def test_a_bad_busy_timeout_is_refused(clm, monkeypatch):
    monkeypatch.setenv("CLM_BUSY_TIMEOUT", "forever")
    assert clm.error("customer", "list") == (
        "Error: invalid CLM_BUSY_TIMEOUT 'forever': use seconds from 0.001 to 86400"
    )


# --- 14. a slow producer or consumer of a pipe keeps no writer waiting -------------------------


def _clm_process(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "clm", *args], **kwargs)


def _write_meanwhile(name: str) -> subprocess.CompletedProcess:
    """Another clm writing while the pipe's other end waits (a short bound on its wait)."""
    env = os.environ | {"CLM_BUSY_TIMEOUT": "1"}
    return subprocess.run([sys.executable, "-m", "clm", "customer", "add", name], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_import_from_a_slow_producer_reads_it_all_before_taking_the_lock(clm, tmp_path):
    clm("customer", "list")  # the book made (a first command creates it)
    importer = _clm_process("import", "customers", "-", "--format", "csv",
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        importer.stdin.write(b"name,source\nAcme,referral\n")
        importer.stdin.flush()  # and the producer pauses, its pipe still open
        time.sleep(1.5)
        meanwhile = _write_meanwhile("Beta")
        importer.stdin.write(b"Globex,web\n")
        importer.stdin.close()
        stderr = importer.stderr.read()
        importer.wait(timeout=60)
    finally:
        importer.kill()
    assert meanwhile.returncode == 0, meanwhile.stderr
    assert importer.returncode == 0, stderr
    assert b"Imported 2 customers: 2 created, 0 updated." in stderr
    assert sorted(c["slug"] for c in clm.json("customer", "list")) == ["acme", "beta", "globex"]


def test_export_to_a_slow_consumer_holds_no_lock_while_it_waits(clm, tmp_path):
    rows = "".join(f"Customer {i},referral\n" for i in range(3000))
    (tmp_path / "c.csv").write_text("name,source\n" + rows)
    clm("import", "customers", tmp_path / "c.csv")
    # A pipe nobody reads yet: the export fills it (64 KiB) and waits on its reader.
    exporter = _clm_process("export", "customers", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(2)
        assert exporter.poll() is None  # still waiting on the pipe
        meanwhile = _write_meanwhile("Late Comer")
        out, err = exporter.communicate(timeout=60)
    finally:
        exporter.kill()
    assert meanwhile.returncode == 0, meanwhile.stderr
    assert exporter.returncode == 0, err
    lines = out.decode().splitlines()
    assert len(lines) == 3001  # the header and every customer: the book as the export read it
    assert not any("late-comer" in line for line in lines)
    assert len(clm.json("customer", "list")) == 3001


# --- 9. a role with data rights only ----------------------------------------------------------


@pytest.fixture
def member(db_path):
    """The URL of the test's schema as a role with no rights yet, and a function to grant."""
    from tests.conftest import sql

    role = f"clm_member_{os.getpid()}"
    if not sql(db_path, "SELECT 1 FROM pg_roles WHERE rolname = :r", r=role):
        sql(db_path, f"CREATE ROLE {role}")
    schema = db_path.rsplit("%3D", 1)[1]
    url = db_path.replace("?options=", f"?options=-crole%3D{role}%20")

    def grant(*statements: str) -> None:
        for statement in statements:
            sql(db_path, statement.format(schema=schema, role=role))

    yield url, grant
    sql(db_path, f"DROP OWNED BY {role}")


@pytest.mark.pg_only
def test_a_member_role_works_with_data_rights_and_is_told_what_it_lacks(
    clm, member, tmp_path, monkeypatch
):
    url, grant = member
    clm("customer", "add", "Acme")  # the owner makes the tables
    # Row-level security (issue 22) shows a role only what its clm user may see: the role is
    # mia's, an admin, so the rights on the tables are all that can stop it.
    clm("user", "add", "mia")
    grant("UPDATE users SET db_role = '{role}', access = 'admin' WHERE handle = 'mia'")
    monkeypatch.setenv("CLM_DB", url)
    assert clm.error("customer", "list").endswith(
        "has no clm tables this role can see, and it may not create them: the database's "
        "owner creates them (clm init) and grants the rights in `clm help server`"
    )
    grant("GRANT USAGE ON SCHEMA {schema} TO {role}")
    assert "permission denied for table clm_meta" in clm.error("customer", "list")
    grant("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}")
    assert [c["slug"] for c in clm.json("customer", "list")] == ["acme"]
    (tmp_path / "c.csv").write_text("name\nCarl\n")
    error = clm.error("import", "customers", tmp_path / "c.csv")
    assert "permission denied for sequence" in error and "clm help server" in error
    grant("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
    clm("import", "customers", tmp_path / "c.csv")
    clm("customer", "add", "Bob")
    clm("tick")
    assert [c["slug"] for c in clm.json("customer", "list")] == ["acme", "bob", "carl"]


@pytest.mark.pg_only
def test_a_role_without_create_gets_no_ddl_from_a_read_command(clm, member, monkeypatch):
    url, grant = member
    grant("GRANT USAGE ON SCHEMA {schema} TO {role}")
    monkeypatch.setenv("CLM_DB", url)
    error = clm.error("customer", "list")
    assert error.endswith(
        "has no clm tables this role can see, and it may not create them: the database's "
        "owner creates them (clm init) and grants the rights in `clm help server`"
    )


# --- 13. set-valued fields merge as sets -------------------------------------------------------


@pytest.mark.sqlite_only("db merge folds a copy of the file")
def test_tags_influencers_and_collaborators_merge_as_sets(team, db_path, tmp_path):
    clm = team
    clm("customer", "add", "Acme", "--tag", "w", "--tag", "old", "--influencer", "bob")
    added = clm("milestone", "add", "acme", "QBR", "--due", "+1m", "--collaborator", "bob")
    qbr = added.stderr.split()[2]
    copy = tmp_path / "clm (conflicted copy).db"
    copy.write_bytes(db_path.read_bytes())
    clm("customer", "edit", "acme", "--tag", "x", "--untag", "old", "--influencer", "mia")
    clm("milestone", "edit", qbr, "--collaborator", "mia")
    mine = ("--db", copy)
    clm(*mine, "customer", "edit", "acme", "--tag", "y", "--untag", "w", "--influencer", "sam")
    clm(*mine, "customer", "edit", "acme", "--remove-influencer", "bob")
    clm(*mine, "milestone", "edit", qbr, "--collaborator", "amy", "--remove-collaborator", "bob")
    clm("db", "merge", copy)
    customer = clm.json("customer", "show", "acme")
    assert customer["tags"] == ["x", "y"]
    assert customer["influencers"] == ["mia", "sam"]
    (milestone,) = [m for m in clm.json("milestone", "list") if m["title"] == "QBR"]
    assert milestone["collaborators"] == ["amy", "mia"]


@pytest.mark.sqlite_only("db merge folds a copy of the file")
def test_an_imports_set_changes_merge_member_by_member(team, db_path, tmp_path):
    """An import that removes a member on one copy while the other copy adds another: both
    kept, as an edit's are (the import stamps each member it adds or removes)."""
    clm = team
    clm("customer", "add", "Acme", "--tag", "w", "--tag", "old", "--influencer", "bob")
    clm("milestone", "add", "acme", "QBR", "--due", "+1m", "--collaborator", "bob")
    copy = tmp_path / "clm (conflicted copy).db"
    copy.write_bytes(db_path.read_bytes())
    (tmp_path / "c.csv").write_text("slug,name,tags,influencers\nacme,Acme,w;x,mia\n")
    clm("import", "customers", tmp_path / "c.csv")  # removes old and bob, adds x and mia
    exported = clm("export", "milestones").stdout.replace(",bob,", ",mia,")
    (tmp_path / "m.csv").write_text(exported)
    clm("import", "milestones", tmp_path / "m.csv")
    mine = ("--db", copy)
    clm(*mine, "customer", "edit", "acme", "--tag", "y", "--influencer", "sam")
    (qbr,) = [m for m in clm.json(*mine, "milestone", "list") if m["title"] == "QBR"]
    clm(*mine, "milestone", "edit", qbr["id"], "--collaborator", "amy")
    clm("db", "merge", copy)
    customer = clm.json("customer", "show", "acme")
    assert customer["tags"] == ["w", "x", "y"]
    assert customer["influencers"] == ["mia", "sam"]
    (milestone,) = [m for m in clm.json("milestone", "list") if m["title"] == "QBR"]
    assert milestone["collaborators"] == ["amy", "mia"]


@pytest.mark.sqlite_only("db merge folds a copy of the file")
def test_a_member_added_on_both_removed_on_both_or_removed_on_one_and_added_on_the_other(
    clm, db_path, tmp_path
):
    """The latest of a member's additions and removals on either copy decides, both ways."""
    clm("customer", "add", "Acme", "--tag", "both-gone", "--tag", "one-gone", "--tag", "kept")
    copy = tmp_path / "clm (conflicted copy).db"
    copy.write_bytes(db_path.read_bytes())
    mine = ("--db", copy)
    clm("customer", "edit", "acme", "--tag", "new", "--untag", "both-gone", "--tag", "early")
    clm(*mine, "customer", "edit", "acme", "--tag", "new", "--untag", "both-gone")
    clm(*mine, "customer", "edit", "acme", "--untag", "one-gone", "--tag", "late")
    clm(*mine, "customer", "edit", "acme", "--untag", "late", "--tag", "early")
    clm(*mine, "customer", "edit", "acme", "--untag", "early")  # after the other's addition
    clm("customer", "edit", "acme", "--tag", "late")  # after the other's removal
    both_ways = tmp_path / "both-ways.db"
    both_ways.write_bytes(copy.read_bytes())
    clm("db", "merge", copy)
    merged = ["kept", "late", "new"]
    assert clm.json("customer", "show", "acme")["tags"] == merged
    clm("--db", both_ways, "db", "merge", db_path)
    assert clm.json("--db", both_ways, "customer", "show", "acme")["tags"] == merged
