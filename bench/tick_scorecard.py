#!/usr/bin/env python3
"""The daily tick with a 4-measure health scorecard against the same tick without (issue 20).

    python bench/tick_scorecard.py [N] [--days 30] [--runs 3] [--keep DIR]

Builds a book of N customers (default 100,000) with make_book.py, adds four metrics and
imports `--days` days of their values for every customer (ending yesterday), ticks to
yesterday, and copies the book twice: one copy gets a scorecard of the four metrics (and is
ticked to yesterday again, so its catch-up scoring is done). Then, `--runs` times, each copy
gets today's values (`clm metric import`, not timed) and today's tick is timed under GNU time.
Target: the tick with the scorecard at most 1.3x the tick without. Prints a Markdown table.
"""

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).parent
TODAY = date(2026, 11, 23)
METRICS = ("active_users", "logins", "api_calls", "tickets")
SCORECARD = """
[scorecard]
bands = { amber = 40, green = 70 }

[[scorecard.measures]]
metric = "active_users"
weight = 3
scale = [0, 400]

[[scorecard.measures]]
metric = "logins"
weight = 2
thresholds = [100, 300]

[[scorecard.measures]]
metric = "api_calls"
weight = 1
scale = [0, 500]

[[scorecard.measures]]
metric = "tickets"
weight = 1
scale = [400, 0]
"""


def timed(cmd: list, env: dict) -> tuple[float, float]:
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", *map(str, cmd)], env=env, capture_output=True, text=True
    )
    if out.returncode:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{out.stderr}")
    seconds, kib = out.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib) / 1024


# Each metric's usual level, from which a customer's level is drawn once: most customers score
# between amber and green and move a little from day to day, as a real book does.
LEVELS = {"active_users": (150, 400), "logins": (150, 400), "api_calls": (200, 500),
          "tickets": (0, 150)}  # fmt: skip


def write_values(slugs: list[str], days: list[date], path: Path, seed: int) -> None:
    """The wide form: a row per customer and day, a column per metric; each customer's level
    is the same whatever the seed, each day's wobble (3%) comes from it."""
    levels = random.Random(1)
    wobble = random.Random(seed)
    with path.open("w") as out:
        out.write("customer,date," + ",".join(METRICS) + "\n")
        for slug in slugs:
            level = [levels.randint(*LEVELS[metric]) for metric in METRICS]
            for day in days:
                cells = ",".join(str(round(v * wobble.uniform(0.97, 1.03))) for v in level)
                out.write(f"{slug},{day},{cells}\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    clm = os.environ.get("CLM") or shutil.which("clm") or sys.exit("clm not on PATH")
    work = args.keep or Path(tempfile.mkdtemp(prefix="clm-scorecard-"))
    work.mkdir(parents=True, exist_ok=True)
    yesterday = TODAY - timedelta(days=1)
    env = {**os.environ, "CLM_PAGER": ""}
    base = work / "book.db"

    def run(db, *argv, today=yesterday):
        subprocess.run(
            [clm, "--db", db, "--today", today.isoformat(), *argv],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    if not base.exists():
        subprocess.run([sys.executable, HERE / "make_book.py", str(args.n), base], check=True)
        for metric in METRICS:
            run(base, "metric", "add", metric)
        slugs = [
            r[0] for r in sqlite3.connect(base).execute("SELECT slug FROM customers ORDER BY id")
        ]
        history = [yesterday - timedelta(days=i) for i in range(args.days - 1, -1, -1)]
        write_values(slugs, history, work / "history.csv", 1)
        run(base, "metric", "import", work / "history.csv")
        run(base, "tick", "--quiet")
    slugs = [r[0] for r in sqlite3.connect(base).execute("SELECT slug FROM customers ORDER BY id")]
    write_values(slugs, [TODAY], work / "today.csv", 2)
    model = subprocess.run(
        [clm, "--db", base, "model", "export"], env=env, check=True, capture_output=True, text=True
    ).stdout
    (work / "model.toml").write_text(model + SCORECARD)
    timings = {"tick without a scorecard": [], "tick with a 4-measure scorecard": []}
    for _ in range(args.runs):
        for name, card in zip(timings, (False, True), strict=True):
            db = work / f"run-{int(card)}.db"
            shutil.copy(base, db)
            if card:
                run(db, "model", "apply", work / "model.toml")
                run(db, "tick", "--quiet")  # the scorecard's first day: every customer scored
            run(db, "metric", "import", work / "today.csv", today=TODAY)
            timings[name].append(timed([clm, "--db", db, "--today", TODAY, "tick", "--quiet"], env))
    without = statistics.median(t for t, _ in timings["tick without a scorecard"])
    print(f"{args.n:,} customers, {args.days} days of {len(METRICS)} metrics; {args.runs} runs")
    print("| command | seconds (median) | peak RSS MiB (max) | vs without |")
    print("| --- | --- | --- | --- |")
    for name, runs in timings.items():
        seconds = statistics.median(t for t, _ in runs)
        rss = max(m for _, m in runs)
        print(f"| {name} | {seconds:.2f} | {rss:.0f} | {seconds / without:.2f}x |")
    with_card = statistics.median(t for t, _ in timings["tick with a 4-measure scorecard"])
    verdict = "met" if with_card <= 1.3 * without else "missed"
    print(f"target <= 1.3x: {verdict} ({with_card / without:.2f}x)")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
