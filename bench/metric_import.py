#!/usr/bin/env python3
"""`clm metric import` against `sqlite-utils insert` of the same file (issue 20).

    python bench/metric_import.py [N] [--days 30] [--runs 1] [--keep DIR] [--book DB]

Builds a book of N customers (default 100,000) with make_book.py (or copies `--book`, e.g.
/work/bench-books/b1/customers-only.db: the source is never touched), adds three metrics and
writes their long-form file (customer,date,metric,value: N x days x 3 points, deterministic),
then times, each `--runs` times on a fresh copy of the book (or a fresh database for
sqlite-utils), under GNU time for the peak RSS:

- clm: `clm metric import points.csv` (every row checked, upserted, one transaction);
- peer: `sqlite-utils insert peer.db points points.csv --csv` (a plain table, no check).

Targets: clm at most 0.5x the peer's time, peak RSS under 150 MiB. Prints a Markdown table
(append it to bench/results-metrics.md by hand with the machine's load in a sentence).
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).parent
TODAY = date(2026, 11, 23)
METRICS = ("active_users", "logins", "api_calls")


def run(cmd: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command, from GNU time."""
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", *cmd], env=env, capture_output=True, text=True
    )
    if out.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    seconds, kib = out.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib) / 1024


def write_points(book: Path, path: Path, days: int) -> int:
    import sqlite3

    slugs = [r[0] for r in sqlite3.connect(book).execute("SELECT slug FROM customers ORDER BY id")]
    rng = random.Random(1)
    first = TODAY - timedelta(days=days - 1)
    day_texts = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    count = 0
    with path.open("w") as out:
        out.write("customer,date,metric,value\n")
        for slug in slugs:
            base = rng.randint(1, 500)
            for day in day_texts:
                for metric in METRICS:
                    out.write(f"{slug},{day},{metric},{base + rng.randint(-20, 20)}\n")
                    count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the book and files in DIR")
    parser.add_argument("--book", type=Path, help="copy this book instead of making one")
    args = parser.parse_args()
    clm = os.environ.get("CLM") or shutil.which("clm") or sys.exit("clm not on PATH")
    utils = (
        os.environ.get("SQLITE_UTILS")
        or shutil.which("sqlite-utils")
        or str(HERE / ".venv" / "bin" / "sqlite-utils")
    )
    work = args.keep or Path(tempfile.mkdtemp(prefix="clm-metrics-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CLM_TODAY": TODAY.isoformat(), "CLM_PAGER": ""}
    book = work / "book.db"
    if not book.exists():
        if args.book:  # a copy: clm migrates the book it opens
            shutil.copy(args.book, book)
        else:
            subprocess.run([sys.executable, HERE / "make_book.py", str(args.n), book], check=True)
        for metric in METRICS:
            subprocess.run([clm, "--db", book, "metric", "add", metric], env=env, check=True)
    points = work / "points.csv"
    if not points.exists():
        count = write_points(book, points, args.days)
    else:
        count = sum(1 for _ in points.open()) - 1
    timings = {"clm metric import": [], "sqlite-utils insert": []}
    for _ in range(args.runs):
        target = work / "run.db"
        shutil.copy(book, target)
        timings["clm metric import"].append(
            run([clm, "--db", str(target), "metric", "import", str(points)], env)
        )
        peer = work / "peer.db"
        peer.unlink(missing_ok=True)
        timings["sqlite-utils insert"].append(
            run([utils, "insert", str(peer), "points", str(points), "--csv"], env)
        )
    clm_s = statistics.median(t for t, _ in timings["clm metric import"])
    peer_s = statistics.median(t for t, _ in timings["sqlite-utils insert"])
    label = f"{args.book} " if args.book else ""
    size = f"{args.n:,} customers x {args.days} days x {len(METRICS)} metrics"
    print(f"{label}{size}: {count:,} points")
    print("| command | seconds (median) | peak RSS MiB (max) | vs peer |")
    print("| --- | --- | --- | --- |")
    for name, runs in timings.items():
        seconds = statistics.median(t for t, _ in runs)
        rss = max(m for _, m in runs)
        print(f"| {name} | {seconds:.1f} | {rss:.0f} | {seconds / peer_s:.2f}x |")
    verdict = "met" if clm_s <= 0.5 * peer_s else "missed"
    print(f"target clm <= 0.5x sqlite-utils: {verdict} ({clm_s / peer_s:.2f}x)")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
