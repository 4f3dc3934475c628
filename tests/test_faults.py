"""Fault injection (issue 25): SIGKILL at seeded random points of an import and of a tick on a
SQLite file; after each kill the file checks out, the write happened all or not at all, and the
next command works. Kept small (about 20 kills each) so CI stays fast."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.sqlite_only("kills a process writing the file")

CLM = [sys.executable, "-m", "clm"]
TRIES = 20


def _env(db):
    return os.environ | {"CLM_DB": str(db), "CLM_TODAY": "2026-11-23"}


def _run(db, *args, check=True):
    done = subprocess.run([*CLM, *args], env=_env(db), capture_output=True, text=True)
    if check and done.returncode:
        raise AssertionError(f"clm {' '.join(args)}: {done.stderr}")
    return done


def _kill_at(db, delay: float, *args) -> None:
    process = subprocess.Popen([*CLM, *args], env=_env(db), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()


def _count(db, table: str) -> int:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def test_sigkill_during_an_import_is_all_or_nothing(tmp_path):
    db, rng = tmp_path / "clm.db", random.Random(25)
    _run(db, "init")
    rows = "\n".join(f"Customer {i},referral" for i in range(3000))
    (tmp_path / "c.csv").write_text("name,source\n" + rows + "\n")
    counts = set()
    for _ in range(TRIES):
        _kill_at(db, rng.uniform(0.2, 2.5), "import", "customers", tmp_path / "c.csv")
        _run(db, "db", "check")  # recovers a hot journal, if any, and checks the file
        counts.add(_count(db, "customers"))
        if 3000 in counts:
            break
    assert counts <= {0, 3000}
    _run(db, "import", "customers", tmp_path / "c.csv")
    assert _count(db, "customers") == 3000


def test_sigkill_during_a_tick_fires_each_reminder_once(tmp_path):
    db, rng = tmp_path / "clm.db", random.Random(2025)
    _run(db, "--db", str(db), "demo", "--customers", "40")
    for _ in range(TRIES):
        _kill_at(db, rng.uniform(0.2, 2.0), "--today", "2027-03-01", "tick")
        _run(db, "db", "check")
        conn = sqlite3.connect(db)
        duplicated = conn.execute(
            "SELECT count(*) FROM (SELECT milestone_uuid, offset, count(*) c "
            "FROM reminder_log GROUP BY 1, 2 HAVING c > 1)"
        ).fetchone()[0]
        conn.close()
        assert duplicated == 0
    _run(db, "--today", "2027-03-01", "tick")
    again = _run(db, "--today", "2027-03-01", "tick", "-f", "json").stdout
    assert '"reminders": []' in again
