"""A db file shared through a sync service: hot journals, one machine ticking, concurrent
writers, and commands killed at any moment."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from clm.db import Database
from clm.domain.customers import add_customer
from clm.domain.milestones import add_milestone
from clm.domain.new_book import install_template
from clm.domain.users import add_user
from tests.conftest import TODAY, dump

pytestmark = pytest.mark.sqlite_only("journals, locks and kills of a SQLite file")


def run(db: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clm", "--db", str(db), *args],
        capture_output=True,
        text=True,
        **kwargs,
    )


def integrity(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def add_notes(db: Path, count: int) -> None:
    conn = sqlite3.connect(db)
    conn.executemany(
        'INSERT INTO notes (uuid, customer_id, "on", kind, text, created_at) '
        "VALUES (?, 1, '2026-11-23', 'note', ?, '2026-11-23 00:00:00')",
        [(str(uuid.uuid4()), "x" * 500) for _ in range(count)],
    )
    conn.commit()
    conn.close()


def open_transaction(db: Path) -> sqlite3.Connection:
    """A writer in the middle of a large transaction: its journal holds synced pages."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA cache_size=1")  # spill: pages reach the db file before the commit
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE notes SET text = text || 'y'")
    return conn


# --- Hot journals ------------------------------------------------------------------------------


def test_a_local_crash_recovers_with_no_manual_step(clm, db_path, tmp_path):
    clm("customer", "add", "Acme")
    add_notes(db_path, 400)
    before = dump(db_path)
    crash = (
        "import sqlite3, os, signal\n"
        f"c = sqlite3.connect({str(db_path)!r}, isolation_level=None)\n"
        "c.execute('PRAGMA cache_size=1'); c.execute('BEGIN IMMEDIATE')\n"
        "c.execute(\"UPDATE notes SET text = text || 'y'\")\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", crash])
    assert Path(f"{db_path}-journal").exists()
    result = clm("customer", "list")
    assert "Warning: found a hot journal beside" in result.stderr
    assert "acme" in result.stdout
    assert dump(db_path) == before  # the half-done transaction is gone
    assert len(list(tmp_path.glob("clm.db.hot-*.db.bak"))) == 1
    assert len(list(tmp_path.glob("clm.db.hot-*.journal.bak"))) == 1
    clm("customer", "add", "Beta")  # writes go on
    assert clm("db", "check").stdout.endswith("integrity: ok\n")


def test_a_journal_that_passes_the_content_checks_yet_damages_is_caught_after(
    clm, db_path, tmp_path, monkeypatch
):
    """The second guard: the file checked after a rollback (a journal the content checks
    could not place, as from a writer other than clm, whose journal lacks page 1)."""
    monkeypatch.setattr("clm.storage.files.foreign_journal", lambda path, journal: None)
    clm("customer", "add", "Acme")
    add_notes(db_path, 400)
    laptop = tmp_path / "laptop.db"
    shutil.copyfile(db_path, laptop)
    add_notes(db_path, 3000)  # this copy moved on
    clm("db", "backup", tmp_path / "backup.db")
    shutil.copyfile(db_path, tmp_path / "clm.db.before-merge-20261120T101010.bak")
    writer = open_transaction(laptop)  # the sync service delivers the laptop's journal
    shutil.copyfile(f"{laptop}-journal", f"{db_path}-journal")
    writer.execute("ROLLBACK")
    writer.close()
    error = clm.error("customer", "add", "Beta")
    assert "damaged after recovering a hot journal" in error
    assert "clm.db.hot-" in error and "clm.db.before-merge-20261120T101010.bak" in error
    assert clm("db", "check", code=1)
    # Restoring the newest backup clears it.
    shutil.copyfile(tmp_path / "clm.db.before-merge-20261120T101010.bak", db_path)
    assert "writes are allowed" in clm("db", "check").stderr
    clm("customer", "add", "Beta")


def change_counter(db: Path) -> int:
    """The file change counter in a SQLite file's header (read as is, no journal played)."""
    with db.open("rb") as f:
        return int.from_bytes(f.read(28)[24:28])


def crash_mid_write(db: Path, *statements: str) -> None:
    """clm's writer on `db` killed in the middle of a large transaction (its pages spilled
    into the file), leaving its hot journal."""
    crash = (
        "import os, signal, sys\n"
        "from clm.db import Database\n"
        f"db = Database.open({str(db)!r}, on_create=lambda conn: None)\n"
        "with db.write() as conn:\n"
        "    conn.exec_driver_sql('PRAGMA cache_size=1')\n"
        f"    for statement in {statements!r}:\n"
        "        conn.exec_driver_sql(statement)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", crash], check=False)
    assert Path(f"{db}-journal").exists()


def test_another_copys_journal_is_refused_by_its_content(clm, db_path, tmp_path):
    """A journal from another copy of the book (same lineage, same size) that would roll back
    into a sound file, silently putting the other copy's page of customers over this one's
    edit: refused before SQLite plays it, the file left as it was, the journal kept aside."""
    clm("customer", "add", "Acme")
    add_notes(db_path, 400)
    laptop = tmp_path / "laptop.db"
    shutil.copyfile(db_path, laptop)
    clm("customer", "edit", "acme", "--lead-score", "11")  # this copy's edit
    for score in ("21", "22", "23"):  # the laptop's, more of them: its change counter moved on
        clm("--db", laptop, "customer", "edit", "acme", "--lead-score", score)
    crash_mid_write(
        laptop, "UPDATE customers SET lead_score = 33", "UPDATE notes SET text = text || 'y'"
    )
    assert laptop.stat().st_size == db_path.stat().st_size  # structurally, it would fit
    before = dump(db_path)  # (dump would play a hot journal: taken before it comes)
    shutil.copyfile(f"{laptop}-journal", f"{db_path}-journal")  # the sync service delivers it
    error = clm.error("customer", "list")
    assert "the journal beside" in error and "another copy's" in error
    assert "clm db merge" in error
    assert dump(db_path) == before  # nothing rolled back into the file
    assert not Path(f"{db_path}-journal").exists()
    (aside,) = tmp_path.glob("clm.db.hot-*.foreign-journal.bak")
    assert aside.read_bytes() == Path(f"{laptop}-journal").read_bytes()
    assert clm.json("customer", "show", "acme")["lead_score"] == 11  # the edit kept
    clm("customer", "add", "Beta")  # writes go on
    assert "integrity: ok\n" in clm("db", "check").stdout


def test_a_journal_of_another_size_is_refused(clm, db_path, tmp_path):
    """A journal written by another program (no page 1 in it) on a copy of another size."""
    clm("customer", "add", "Acme")
    add_notes(db_path, 400)
    laptop = tmp_path / "laptop.db"
    shutil.copyfile(db_path, laptop)
    add_notes(db_path, 3000)  # this copy moved on
    before = dump(db_path)
    writer = open_transaction(laptop)
    shutil.copyfile(f"{laptop}-journal", f"{db_path}-journal")
    writer.execute("ROLLBACK")
    writer.close()
    assert "pages, this file has" in clm.error("customer", "add", "Beta")
    assert dump(db_path) == before
    clm("customer", "add", "Beta")


def test_a_journal_from_another_book_is_refused_by_its_lineage(clm, db_path, tmp_path):
    """Another book altogether, of the same size and change count: rolled back in a scratch
    copy first, it would make this file the other book."""
    clm("customer", "add", "Acme")
    add_notes(db_path, 400)
    other = tmp_path / "other.db"
    shutil.copyfile(db_path, other)
    conn = sqlite3.connect(other)  # the other book: its own lineage, same pages otherwise
    conn.execute("UPDATE clm_meta SET value = 'another-book' WHERE key = 'lineage'")
    conn.commit()
    conn.close()
    crash_mid_write(
        other,
        "UPDATE clm_meta SET value = 'x' WHERE key = 'lineage'",
        "UPDATE notes SET text = text || 'y'",
    )
    conn = sqlite3.connect(db_path)  # as many commits here as there (the counters agree)
    while change_counter(db_path) < change_counter(other):
        conn.execute(f"PRAGMA user_version = {change_counter(db_path)}")
    conn.close()
    assert change_counter(db_path) == change_counter(other)
    shutil.copyfile(f"{other}-journal", f"{db_path}-journal")
    error = clm.error("customer", "list")
    assert "lineage another-book" in error, error
    clm("customer", "list")


def test_a_live_writers_journal_is_not_hot(clm, db_path, tmp_path):
    clm("customer", "add", "Acme")
    add_notes(db_path, 50)
    writer = open_transaction(db_path)
    try:
        result = run(db_path, "customer", "list", env=os.environ | {"CLM_BUSY_TIMEOUT": "0.5"})
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert "hot journal" not in result.stderr
    assert not list(tmp_path.glob("clm.db.hot-*"))


def test_a_writer_that_waits_too_long_gets_one_line(clm, db_path):
    clm("customer", "add", "Acme")
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        env = os.environ | {"CLM_BUSY_TIMEOUT": "0.3"}
        result = run(db_path, "customer", "edit", "acme", "--health", "5", env=env)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1
    assert result.stderr == "Error: database busy: another clm is writing; try again in a moment\n"


# --- One machine ticks -------------------------------------------------------------------------


def test_one_machine_owns_the_tick(clm, monkeypatch, tmp_path, db_path):
    clm("user", "add", "bob", "--team", "sales")  # a reminder needs someone to go to
    clm("customer", "add", "Acme", "--stage", "lead", "--owner", "bob")
    clm("milestone", "add", "acme", "Go-live", "--due", "+5d", "--remind", "1w")
    assert len(clm.json("tick")["reminders"]) == 1  # this machine now owns the tick
    laptop = tmp_path / "laptop" / "clm.db"  # the file as synced to a laptop
    laptop.parent.mkdir()
    shutil.copyfile(db_path, laptop)
    clm("milestone", "add", "acme", "Kickoff", "--due", "+1d", "--remind", "2d")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "laptop-data"))  # another machine
    for db in (db_path, laptop):
        error = clm.error("--db", db, "tick")
        assert "clm tick --take-over" in error and "is ticked by" in error
    assert clm("--db", laptop, "tick", "--dry-run").exit_code == 0  # changes nothing
    assert len(clm.json("--db", db_path, "tick", "--dry-run")["reminders"]) == 1
    # The laptop folds the owner's copy in, then takes over: no reminder fires twice.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert [r["title"] for r in clm.json("tick")["reminders"]] == ["Kickoff"]
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "laptop-data"))
    clm("--db", laptop, "db", "merge", db_path)
    result = clm("--db", laptop, "tick", "--take-over", "-f", "json")
    assert "Took the tick over from" in result.stderr
    assert json.loads(result.stdout)["reminders"] == []
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    clm("db", "merge", laptop)
    assert "--take-over" in clm.error("tick")


# --- Concurrency -------------------------------------------------------------------------------

WORKER = """
import sys
from datetime import date
from clm.db import Database
from clm.domain.customers import edit_customer, get_customer
db = Database.open(sys.argv[1], on_create=None)
for i in range(int(sys.argv[2])):
    with db.write() as conn:  # read, then write what was read plus one
        arr = get_customer(conn, "acme").arr or 0
        edit_customer(conn, date(2026, 11, 23), "acme", {"arr": arr + 1})
"""


@pytest.fixture
def memory_dir():
    """A directory in memory where there is one: what is tested here is locking, not the disk,
    and each of these commits would otherwise wait for an fsync."""
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
        yield Path(tmp)


def test_concurrent_writers_lose_no_update(clm, memory_dir):
    db_path = memory_dir / "clm.db"
    clm("--db", db_path, "init")
    clm("--db", db_path, "customer", "add", "Acme")
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db_path), "200", str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0] * 8, outputs
    assert all(out == ("", "") for out in outputs)
    assert clm.json("--db", db_path, "customer", "show", "acme")["arr"] == 1600


def test_concurrent_commands_show_no_error(clm, db_path):
    clm("customer", "add", "Acme")
    commands = [("note", "acme", f"note {n}") for n in range(4)] + [("tick", "-q")] * 2
    with ThreadPoolExecutor(len(commands)) as pool:
        results = list(pool.map(lambda args: run(db_path, *args), commands))
    assert [(r.returncode, r.stderr) for r in results] == [(0, "Noted on acme.\n")] * 4 + [
        (0, "")
    ] * 2


# --- Killed at any moment ----------------------------------------------------------------------

# When to kill: during startup (a share of a whole run's time), then at moments after the
# write transaction began (its journal appeared), in seconds.
STARTUP = 0.3
IN_TRANSACTION = (0.0, 0.005, 0.02, 0.06, 0.15)


def kill(db: Path, args: tuple[str, ...], startup: float | None, after_journal: float) -> bool:
    """Run `clm ARGS` and SIGKILL it; whether it left a journal (died inside a transaction)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "clm", "--db", str(db), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal = Path(f"{db}-journal")
    if startup is not None:
        time.sleep(startup)
    else:
        while not journal.exists() and process.poll() is None:
            time.sleep(0.0005)
        time.sleep(after_journal)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return journal.exists()


def killed_at_many_points(clm, db: Path, template: Path, args: tuple[str, ...], check) -> None:
    """Run `clm ARGS` on a fresh copy of `template`, SIGKILL it at many points of its run, and
    after each: the file is sound, and a re-run completes the work exactly once (`check`)."""
    shutil.copyfile(template, db)
    started = time.perf_counter()
    assert run(db, *args).returncode == 0
    whole = time.perf_counter() - started
    check()
    points = [(whole * STARTUP, 0.0)] + [(None, delay) for delay in IN_TRANSACTION]
    journals = 0
    for startup, after_journal in points:
        shutil.copyfile(template, db)
        journals += kill(db, args, startup, after_journal)
        clm("--db", db, "db", "check")  # recovers the hot journal, if any
        assert integrity(db) == ["ok"]
        clm("--db", db, *args)  # the re-run, in this process
        check()
    assert journals, "no kill landed inside a write transaction"


def test_an_import_killed_at_any_moment(clm, db_path, tmp_path):
    rows = ["name,stage,health"] + [f"Customer {n},onboarding,{n % 100}" for n in range(1500)]
    (tmp_path / "book.csv").write_text("\n".join(rows) + "\n")
    template = tmp_path / "template.db"
    clm("--db", template, "init")

    def check():
        assert len(clm.json("--db", db_path, "customer", "list")) == 1500

    killed_at_many_points(
        clm, db_path, template, ("import", "customers", str(tmp_path / "book.csv")), check
    )


def test_a_tick_killed_at_any_moment(clm, db_path, tmp_path):
    """120 customers, each with a reminder due today and a lead score that promotes it."""
    template = tmp_path / "template.db"
    db = Database.open(str(template), on_create=install_template)
    from clm.dates import parse_duration

    with db.write() as conn:
        add_user(conn, "bob", team="sales")  # the reminders' addressee
        for n in range(120):
            added = add_customer(
                conn, TODAY, None, f"Customer {n}", stage="lead", owner="bob", lead_score=80
            )
            add_milestone(conn, added["slug"], "Go-live", TODAY, remind=[parse_duration("0d")])

    def check():
        conn = sqlite3.connect(db_path)
        try:
            assert conn.execute("SELECT count(*) FROM reminder_log").fetchone() == (120,)
            moves = conn.execute(
                "SELECT count(*), count(DISTINCT customer_id) FROM transitions "
                "WHERE rule IS NOT NULL"
            ).fetchone()
            assert moves == (120, 120)
        finally:
            conn.close()

    killed_at_many_points(clm, db_path, template, ("tick",), check)
