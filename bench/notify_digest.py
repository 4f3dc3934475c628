#!/usr/bin/env python3
"""Issue 21's benchmark: the tick plus delivery against the tick alone, in one run.

    python bench/notify_digest.py [N] [--runs 3] [--keep DIR] [--book BOOK.db] [--people 20]

Builds a book of N customers (default 100,000) with bench/make_book.py, or copies an existing
one (`--book`: the bench books of /work/bench-books, never touched in place), ticks it to
TODAY, picks the day after whose reminders due come nearest `--reminders` (1,000) and ticks
it to the day before that one. Then gives `--people` users (those owning the most
customers) an email and `--notify email`, and, from a fresh copy of that book each time, times
`clm tick --no-send` (the tick alone, which still queues the digests) and `clm tick`
delivering every digest to a local SMTP server (aiosmtpd, as the tests use): one day's tick
either way. Prints the medians and their ratio; the goal is at most 1.3x. Needs the test
dependencies (`pip install -e '.[test]'`)."""

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.notify_servers import SmtpServer  # noqa: E402

TODAY = "2026-11-23"
GOAL = 1.3


def pick_day(db: Path, after: str, target: int | None) -> tuple[str, int]:
    """The day after `after` (within 90 days) whose pending reminders come nearest `target`
    (the earliest such), or with the most of them; and their count."""
    conn = sqlite3.connect(db)
    try:
        order = "abs(count(*) - ?), remind_on" if target else "count(*) DESC, remind_on"
        return conn.execute(
            "SELECT remind_on, count(*) FROM milestone_reminders WHERE pending AND remind_on > ? "
            f"AND remind_on <= date(?, '+90 days') GROUP BY remind_on ORDER BY {order} LIMIT 1",
            (after, after, *([target] if target else [])),
        ).fetchone()
    finally:
        conn.close()


def subscribe(db: Path, people: int) -> int:
    """Give the `people` users owning the most live customers an email and a daily digest
    (and nobody else any)."""
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.execute("UPDATE users SET notify = 'none'")
            conn.execute("DELETE FROM outbox")  # the day timed sends only its own digests
            conn.execute(
                "UPDATE users SET email = handle || '@example.com', notify = 'email', "
                "digest = 'daily' WHERE id IN (SELECT owner_id FROM customers WHERE "
                "deleted_at IS NULL AND owner_id IS NOT NULL GROUP BY owner_id "
                "ORDER BY count(*) DESC LIMIT ?)",
                (people,),
            )
        return conn.execute("SELECT count(*) FROM users WHERE notify = 'email'").fetchone()[0]
    finally:
        conn.close()


def tick_to(book: Path, day: str) -> None:
    """Bring the book to `day`, nothing queued: the day timed sends only its own digests."""
    conn = sqlite3.connect(book)
    try:
        with conn:
            conn.execute("UPDATE users SET notify = 'none'")
            conn.execute("DELETE FROM outbox")
    except sqlite3.OperationalError:
        pass  # a book older than notifications: it migrates on the tick
    finally:
        conn.close()
    subprocess.run(
        [sys.executable, "-m", "clm", "--db", str(book), "--today", day, "tick", "-q",
         "--no-send"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def prepared_book(args, work: Path) -> tuple[Path, str, int]:
    """The book ticked through the day before the day timed, kept in `work` (`through` holds
    the day it is ticked through): (path, the day timed, its reminders)."""
    book = work / "book.db"
    through = work / "through"
    if not through.exists():
        if args.book:
            shutil.copyfile(args.book, book)
        else:
            subprocess.run(
                [sys.executable, str(ROOT / "bench" / "make_book.py"), str(args.customers),
                 str(book), "--today", TODAY],
                check=True,
            )  # fmt: skip
        tick_to(book, TODAY)  # (an imported book migrates here)
        through.write_text(TODAY)
    if args.day:
        day = args.day.isoformat()
        conn = sqlite3.connect(book)
        reminders = conn.execute(
            "SELECT count(*) FROM milestone_reminders WHERE pending AND remind_on = ?", (day,)
        ).fetchone()[0]
        conn.close()
    else:
        day, reminders = pick_day(book, through.read_text(), args.reminders)
    before = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    if before > through.read_text():
        tick_to(book, before)
        through.write_text(before)
    return book, day, reminders


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
    parser.add_argument("--book", type=Path, help="copy this book instead of building one")
    parser.add_argument("--people", type=int, default=20, help="users subscribed (default 20)")
    parser.add_argument(
        "--reminders", type=int, default=1000,
        help="time the day with about this many reminders due (0: the busiest day)",
    )  # fmt: skip
    parser.add_argument(
        "--day", type=date.fromisoformat, help="time this day instead (after the book's last tick)"
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="clm-notify-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    book, day, reminders = prepared_book(args, work)
    people = subscribe(book, args.people)
    print(f"{args.book or args.customers}: {people} people, {reminders} reminders on {day}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLM_", "http"))}
    alone, delivered = [], []
    with SmtpServer() as smtp:
        # The tests' server URL gives up after 1 s; a loaded machine's digests of hundreds
        # of items may take longer to accept.
        env_smtp = env | {"CLM_SMTP_URL": smtp.url.replace("timeout=1", "timeout=60")}
        for _ in range(args.runs):  # interleaved, so a change of load hits both alike
            alone.append(timed_tick(book, work, day, env_smtp, "--no-send"))
            delivered.append(timed_tick(book, work, day, env_smtp))
        sent = len(smtp.inbox.messages)
        told = sum(int(m["Subject"].split()[1]) for m in smtp.inbox.messages
                   if m["Subject"].split()[2].startswith("reminder"))  # fmt: skip
    a, d = statistics.median(alone), statistics.median(delivered)
    each = {name: " ".join(f"{t:.3f}" for t in times) for name, times in
            (("alone", alone), ("delivered", delivered))}  # fmt: skip
    print(f"tick alone (--no-send): median {a:.3f} s of {args.runs} ({each['alone']})")
    print(f"tick + delivery:        median {d:.3f} s of {args.runs} ({each['delivered']}); "
          f"{sent // args.runs} messages, {told // args.runs} reminders told a run")  # fmt: skip
    print(f"ratio {d / a:.2f}x (goal <= {GOAL}x): {'met' if d / a <= GOAL else 'NOT met'}")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
