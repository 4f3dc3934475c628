#!/usr/bin/env python3
"""Issue 21's benchmark: the tick plus delivery against the tick alone, in one run.

    python bench/notify_digest.py [N] [--runs 3] [--keep DIR]

Builds a book of N customers (default 100,000) with bench/make_book.py, gives its 20 users
an email and `--notify email`, picks the day with the most reminders due (about 1,000 on the
default book) and, from a fresh copy of the book each time, times `clm tick --no-send` (the
tick alone, which still queues the digests) and `clm tick` delivering every digest to a
local SMTP server (aiosmtpd, as the tests use). Prints the medians and their ratio; the goal
is at most 1.3x. Needs the test dependencies (`pip install -e '.[test]'`)."""

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.notify_servers import SmtpServer  # noqa: E402

TODAY = "2026-11-23"
GOAL = 1.3


def busiest_day(db: Path) -> tuple[str, int]:
    """The day after TODAY with the most pending reminders (and their count)."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT remind_on, count(*) FROM milestone_reminders WHERE pending "
            "AND remind_on > ? GROUP BY remind_on ORDER BY 2 DESC LIMIT 1",
            (TODAY,),
        ).fetchone()
    finally:
        conn.close()


def subscribe_everyone(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.execute(
                "UPDATE users SET email = handle || '@example.com', notify = 'email', "
                "digest = 'daily' WHERE deleted_at IS NULL"
            )
        return conn.execute("SELECT count(*) FROM users WHERE notify = 'email'").fetchone()[0]
    finally:
        conn.close()


def timed_tick(book: Path, work: Path, day: str, env: dict, *extra: str) -> float:
    db = work / "run.db"
    shutil.copyfile(book, db)
    command = [sys.executable, "-m", "clm", "--db", str(db), "--today", day, "tick", "-q", *extra]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command)}: {done.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("customers", nargs="?", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the book in this directory")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="clm-notify-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    book = work / f"book-{args.customers}.db"
    if not book.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "make_book.py"), str(args.customers),
             str(book), "--today", TODAY],
            check=True,
        )  # fmt: skip
        # The book as of the day before: a tick brings it to the busiest day.
        subprocess.run(
            [sys.executable, "-m", "clm", "--db", str(book), "--today", TODAY, "tick", "-q",
             "--no-send"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    people = subscribe_everyone(book)
    day, reminders = busiest_day(book)
    print(f"{args.customers} customers, {people} people, {reminders} reminders on {day}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLM_", "http"))}
    alone, delivered = [], []
    with SmtpServer() as smtp:
        env_smtp = env | {"CLM_SMTP_URL": smtp.url}
        for _ in range(args.runs):  # interleaved, so a change of load hits both alike
            alone.append(timed_tick(book, work, day, env_smtp, "--no-send"))
            delivered.append(timed_tick(book, work, day, env_smtp))
        sent = len(smtp.inbox.messages)
    a, d = statistics.median(alone), statistics.median(delivered)
    print(f"tick alone (--no-send): median {a:.3f} s of {args.runs}")
    print(f"tick + delivery:        median {d:.3f} s ({sent // args.runs} messages a run)")
    print(f"ratio {d / a:.2f}x (goal <= {GOAL}x): {'met' if d / a <= GOAL else 'NOT met'}")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
