"""`clm db merge`: folding a real diverged copy of the db file back in."""

import shutil
import sqlite3
import subprocess

import pytest

from clm.storage.clock import Clock
from tests.conftest import dump

pytestmark = pytest.mark.sqlite_only("merging is for SQLite files")

HOUR_NS = 3_600 * 10**9


@pytest.fixture
def diverged(clm, tmp_path, db_path):
    """clm.db and Mia's conflicted copy of it, edited apart."""
    clm("user", "add", "alice", "--team", "customer-success")
    clm("customer", "add", "Acme", "--health", "50", "--tag", "a")
    clm("customer", "add", "Beta")
    copy = tmp_path / "clm (Mia's conflicted copy 2026-11-20).db"
    shutil.copyfile(db_path, copy)
    mia = ("--db", copy)
    clm("customer", "edit", "acme", "--health", "70")  # here: health
    clm(*mia, "customer", "edit", "acme", "--name", "Acme Inc", "--tag", "vip")  # there: name
    clm("customer", "edit", "beta", "--source", "web")
    clm(*mia, "customer", "edit", "beta", "--source", "event")  # later: wins
    clm(*mia, "note", "acme", "Called them")
    clm(*mia, "customer", "rm", "beta", "--yes")  # a delete there
    clm("customer", "add", "Gamma", "--owner", "alice")  # the same slug on both sides
    clm(*mia, "customer", "add", "Gamma", "--source", "event")
    clm(*mia, "customer", "add", "Delta")
    return copy


def test_merge_two_diverged_files(clm, diverged, db_path):
    theirs = dump(diverged)
    before = dump(db_path)
    dry = clm("db", "merge", diverged, "--dry-run")
    assert dump(db_path) == before
    assert "Dry run: would merge" in dry.stderr
    result = clm("db", "merge", diverged)
    assert result.stdout == dry.stdout
    assert "customers: 2 added; 2 updated (deleted_at, name, source, tags)" in result.stdout
    assert "notes: 1 added" in result.stdout
    assert "slug 'gamma' was taken in both copies" in result.stdout
    assert "Saved the db as it was before the merge as" in result.stderr
    assert dump(diverged) == theirs  # the copy is never modified
    customers = {c["slug"]: c for c in clm.json("customer", "list")}
    assert "beta" not in customers  # the delete is kept
    acme = clm.json("customer", "show", "acme")
    assert (acme["name"], acme["health"], acme["tags"]) == ("Acme Inc", 70, ["a", "vip"])
    gammas = sorted(slug for slug in customers if slug.startswith("gamma"))
    assert gammas[0] == "gamma" and gammas[1].startswith("gamma-") and "delta" in customers
    again = clm("db", "merge", diverged)
    assert again.stdout == "" and "Nothing to merge" in again.stderr


def test_both_directions_give_the_same_data(clm, diverged, db_path, tmp_path):
    mine = tmp_path / "mine.db"
    shutil.copyfile(db_path, mine)
    clm("db", "merge", diverged)
    clm("--db", diverged, "db", "merge", mine)
    fields = ("slug", "name", "stage", "health", "source", "tags")

    def book(path):
        rows = clm.json("--db", path, "customer", "list")
        return sorted(tuple(str(c.get(f)) for f in fields) for c in rows)

    assert book(db_path) == book(diverged)


def test_a_later_edit_wins_over_a_clock_that_runs_ahead(clm, monkeypatch, db_path, tmp_path):
    clm("customer", "add", "Acme")
    laptop = tmp_path / "laptop.db"
    shutil.copyfile(db_path, laptop)
    import time

    def skewed(offset_ns):
        return lambda last=None: Clock(last, wall=lambda: time.time_ns() + offset_ns)

    monkeypatch.setattr(
        "clm.storage.engine.Clock", skewed(HOUR_NS)
    )  # the laptop runs an hour ahead
    clm("--db", laptop, "customer", "edit", "acme", "--name", "Laptop name")
    monkeypatch.setattr("clm.storage.engine.Clock", skewed(0))
    clm("db", "merge", laptop)
    clm("customer", "edit", "acme", "--name", "Fixed later")  # after seeing the laptop's edit
    clm("--db", laptop, "db", "merge", db_path)
    assert clm.json("--db", laptop, "customer", "show", "acme")["name"] == "Fixed later"


def test_what_merge_refuses(clm, tmp_path, db_path):
    clm("customer", "add", "Acme")
    assert "no database file" in clm.error("db", "merge", tmp_path / "nope.db")
    assert "is the database itself" in clm.error("db", "merge", db_path)
    other = tmp_path / "other.db"
    clm("--db", other, "init")
    clm("--db", other, "customer", "add", "Acme")
    assert "another lineage" in clm.error("db", "merge", other)
    junk = tmp_path / "junk.db"
    sqlite3.connect(junk).execute("CREATE TABLE t (x)").connection.close()
    assert "is not a clm database" in clm.error("db", "merge", junk)
    damaged = tmp_path / "clm (1).db"
    shutil.copyfile(db_path, damaged)
    with open(damaged, "r+b") as f:
        f.seek(damaged.stat().st_size // 2)
        f.write(b"\xff" * 20_000)
    assert "is damaged" in clm.error("db", "merge", damaged)


def test_merge_is_for_sqlite_files(clm, tmp_path):
    name = "sync_merge_refusal"
    pytest.importorskip("psycopg", reason="needs psycopg, the PostgreSQL driver (clm[postgres])")
    if subprocess.run(["createdb", name], capture_output=True).returncode:
        pytest.skip("no PostgreSQL server")
    try:
        error = clm.error("--db", f"postgresql:///{name}", "db", "merge", tmp_path / "x.db")
        assert "pg_dump" in error
    finally:
        subprocess.run(["dropdb", name], capture_output=True)


def test_things_made_in_both_copies(clm, tmp_path, db_path):
    clm("customer", "add", "Acme")
    laptop = tmp_path / "laptop" / "clm.db"
    laptop.parent.mkdir()
    shutil.copyfile(db_path, laptop)
    for db in (db_path, laptop):
        clm("--db", db, "stage", "add", "paused", "--after", "adopting")
    clm("user", "add", "mia", "--team", "marketing", "--default-owner")
    clm("--db", laptop, "user", "add", "zoe", "--team", "marketing", "--default-owner")
    mine = tmp_path / "mine.db"
    shutil.copyfile(db_path, mine)
    result = clm("db", "merge", laptop)
    assert "are the same, made in both copies: removed the later" in result.stdout
    assert "default_owner was set in both copies" in result.stdout
    clm("--db", laptop, "db", "merge", mine)
    for db in (db_path, laptop):
        assert [s["key"] for s in clm.json("--db", db, "stage", "list")].count("paused") == 1
        users = {u["handle"]: u for u in clm.json("--db", db, "user", "list")}
        assert users["mia"]["default_owner"] is True and users["zoe"]["default_owner"] is False
    stages = [clm.json("--db", db, "stage", "list") for db in (db_path, laptop)]
    assert stages[0] == stages[1]


def test_a_removed_holiday_stays_removed(clm, tmp_path, db_path):
    clm("holiday", "add", "2026-12-25", "Christmas")
    clm("holiday", "add", "2026-12-26", "Boxing Day")
    laptop = tmp_path / "laptop" / "clm.db"
    laptop.parent.mkdir()
    shutil.copyfile(db_path, laptop)
    clm("holiday", "rm", "2026-12-26")  # here: removed
    clm("--db", laptop, "holiday", "add", "2027-01-01", "New Year")  # there: one more
    for db in (db_path, laptop):
        clm("--db", db, "holiday", "add", "2026-12-31")  # the same day made in both copies
    mine = tmp_path / "mine.db"
    shutil.copyfile(db_path, mine)
    clm("db", "merge", laptop)
    clm("--db", laptop, "db", "merge", mine)
    for db in (db_path, laptop):
        days = [h["day"] for h in clm.json("--db", db, "holiday", "list")]
        assert days == ["2026-12-25", "2026-12-31", "2027-01-01"]


def test_copies_upgraded_apart_know_their_holidays_as_one(clm, tmp_path):
    """Holidays from before they could be merged get the same uuid in every copy of a file,
    so a removal in one copy holds when another copy that upgraded on its own is merged."""
    from pathlib import Path

    fixture = Path(__file__).parents[1] / "fixtures" / "schema-0005_pending_reminders_covered.sql"
    old = tmp_path / "clm.db"
    conn = sqlite3.connect(old)
    conn.executescript(fixture.read_text())
    conn.execute("INSERT INTO holidays VALUES ('2026-12-25', 'Christmas')")
    conn.commit()
    conn.close()
    copy = tmp_path / "clm (Mia's conflicted copy 2026-11-20).db"
    shutil.copyfile(old, copy)
    assert clm.json("--db", old, "holiday", "list") == [{"day": "2026-12-25", "name": "Christmas"}]
    clm("--db", old, "holiday", "rm", "2026-12-25")
    clm("--db", copy, "holiday", "list")  # upgrades on its own
    clm("--db", old, "db", "merge", copy)
    assert clm.json("--db", old, "holiday", "list") == []


@pytest.mark.parametrize("into_first", [True, False], ids=["into-mine", "into-theirs"])
@pytest.mark.parametrize("their_day", ["2026-11-20", "2026-11-21"], ids=["same-day", "later"])
def test_copies_that_moved_a_customer_apart_leave_one_history(clm, tmp_path, into_first, their_day):
    """Mia moves Acme to will-churn in her copy; then, later in time, Bob moves it to adopting
    here (dated the 20th). Merged either way: one history, and every view agrees on it."""
    mine, theirs = tmp_path / "mine.db", tmp_path / "theirs.db"
    clm("--db", mine, "init")
    clm("--db", mine, "customer", "add", "Acme", "--arr", "100", "--start", "2026-10-01")
    shutil.copyfile(mine, theirs)
    clm("--db", theirs, "customer", "move", "acme", "will-churn", "--on", their_day)
    clm("--db", mine, "customer", "move", "acme", "adopting", "--on", "2026-11-20")
    target, other = (mine, theirs) if into_first else (theirs, mine)
    clm("db", "merge", other, "--db", target)
    # The move that happened last (by its day, then when it was recorded) is where Acme is.
    expected = "adopting" if their_day == "2026-11-20" else "will-churn"
    db = ("--db", target)
    history = clm.json(*db, "why", "acme")
    assert [move["to"] for move in history][-1] == expected
    assert clm.json(*db, "customer", "show", "acme")["stage"] == expected
    now = [r for r in clm.json(*db, "report", "stages") if r["customers"]]
    as_of = [
        r for r in clm.json(*db, "report", "stages", "--as-of", "2026-11-23") if r["customers"]
    ]
    assert now == as_of == [{"stage": expected, "customers": 1, "arr": 100, "terminal": False}]
    assert clm.json(*db, "customer", "show", "acme")["stays"][-1]["stage"] == expected
    # The same result whichever copy was merged into which; merging again changes nothing.
    assert "Nothing to merge" in clm("db", "merge", other, "--db", target).stderr


def test_dry_run_names_each_record_added_changed_and_removed(clm, diverged, db_path):
    before = dump(db_path)
    lines = clm("db", "merge", diverged, "--dry-run").stdout.splitlines()
    assert dump(db_path) == before
    assert "  change customers acme: name 'Acme' -> 'Acme Inc'" in lines
    assert "  change customers acme: tags 'a' -> 'a;vip'" in lines
    assert "  change customers beta: source 'web' -> 'event'" not in lines  # removed there
    assert "  remove customers beta" in lines
    assert "  add customers delta" in lines
    assert "  add notes Called them" in lines
    details = clm.json("db", "merge", diverged, "--dry-run")
    assert dump(db_path) == before
    acme = [d for d in details if d["record"] == "acme" and d["field"] == "name"]
    assert acme == [{"table": "customers", "action": "change", "record": "acme",
                     "field": "name", "ours": "Acme", "theirs": "Acme Inc",
                     "uuid": acme[0]["uuid"]}]  # fmt: skip
    csv = clm("db", "merge", diverged, "--dry-run", "-f", "csv").stdout.splitlines()
    assert csv[0] == "table,action,record,field,ours,theirs,uuid"
    assert len(csv) == len(details) + 1


def test_the_later_score_is_kept_whichever_way_the_copies_merge(clm, tmp_path, db_path):
    from tests.commands.test_scorecard import SCORECARD, USAGE, apply

    for name in ("Acme", "Beta"):
        clm("--today", "2026-09-01", "customer", "add", name, "--stage", "adopting")
    for metric in ("active_users", "logins", "tickets"):
        clm("metric", "add", metric)
    clm("metric", "import", "-", input=USAGE)
    apply(clm, tmp_path, SCORECARD)
    clm("tick")
    copy = tmp_path / "clm (Mia's conflicted copy 2026-11-23).db"
    shutil.copyfile(db_path, copy)
    clm("--today", "2026-11-24", "metric", "set", "acme", "active_users", "20")
    clm("--today", "2026-11-24", "tick")  # (2 x 40 + 50 + 100) / 4: 58
    mine = tmp_path / "mine.db"
    shutil.copyfile(db_path, mine)
    assert "health_scores: 1 updated (health)" in clm("--db", copy, "db", "merge", mine).stdout
    clm("db", "merge", copy)
    for book in (db_path, copy):
        shown = clm.json("--db", book, "--today", "2026-11-24", "customer", "show", "acme")
        assert (shown["health"], shown["band"]) == (58, "amber")


def test_rows_each_copy_numbered_alike_stay_apart(clm, db_path, tmp_path):
    """Each copy numbers its new rows itself: zed here and yan there get the same user id. The
    account the copy handed to yan later goes to yan, not to the user of that number here."""
    clm("customer", "add", "Acme")
    copy = tmp_path / "copy.db"
    shutil.copyfile(db_path, copy)
    clm("user", "add", "zed")
    clm("customer", "edit", "acme", "--owner", "zed")
    clm("--db", copy, "user", "add", "yan")
    clm("--db", copy, "customer", "edit", "acme", "--owner", "yan")  # later: wins
    result = clm("db", "merge", copy)
    assert "users: 1 added" in result.stdout
    assert "customers: 1 updated (owner_id)" in result.stdout
    assert clm.json("customer", "show", "acme")["owner"] == "yan"
    assert {u["handle"] for u in clm.json("user", "list")} >= {"zed", "yan"}
