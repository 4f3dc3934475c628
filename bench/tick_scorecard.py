#!/usr/bin/env python3
"""The daily tick with a 4-measure health scorecard against the same tick without (issue 20).

    python bench/tick_scorecard.py [N] [--book DB] [--days 30] [--runs 3] [--band-rule]
                                   [--keep DIR]

Builds a book of N customers (default 100,000) with make_book.py as of 2026-11-23, or copies
`--book DB` (e.g. /work/bench-books/b1/book.db; the original is only read: clm migrates the
copy when it first opens it). Then, outside the timing: adds four metrics and imports `--days`
days of their values for every customer (ending 2026-11-23, `clm metric import` of a
generated wide file) and ticks to 2026-11-23 (the book's catch-up). From that book it makes
the variants, each with 2026-11-24's values imported:

- `without`: the book as it is (no scorecard);
- `card`: the model with a scorecard of the four metrics applied, and ticked to 2026-11-23
  again so its first scoring of every customer is done;
- `band` (with `--band-rule`): `card` plus a rule reading `band changed from green to red`
  from every stage that is not terminal (its correlated subqueries on the health history).

Then `--runs` times, interleaved (without, card[, band], without, card, …), a fresh copy of
each variant gets 2026-11-24's tick, timed under GNU time. Target: the tick with the
scorecard at most 1.3x the tick without (medians). Prints a Markdown table.
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
import tomllib
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).parent
BOOK_DAY = date(2026, 11, 23)  # the day the bench books are made as of: the last catch-up
TODAY = BOOK_DAY + timedelta(days=1)  # the timed tick's day
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
VARIANTS = {
    "without": "tick without a scorecard",
    "card": "tick with a 4-measure scorecard",
    "band": "same, plus a `band changed from green to red` rule",
}


def timed(cmd: list, env: dict) -> tuple[float, float, float]:
    """Wall seconds, peak RSS MiB and CPU seconds (user + system: on a loaded machine the wall
    time is mostly waiting for a core or the disk)."""
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M %U %S", *map(str, cmd)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{out.stderr}")
    seconds, kib, user, system = out.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib) / 1024, float(user) + float(system)


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


def band_rule(model: str) -> str:
    """A rule reading the band's change, from every stage that is not terminal."""
    stages = [s["key"] for s in tomllib.loads(model)["stages"] if not s.get("terminal")]
    return (
        '\n[[rules]]\nname = "band-dropped"\nfrom = [' + ", ".join(f'"{s}"' for s in stages)
        + ']\nwhen = ["band changed from green to red"]\ncta = "risk:health went red"\n'
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=100_000)
    parser.add_argument("--book", type=Path, help="copy this book instead of making one")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--band-rule", action="store_true", help="also time a band rule")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    clm = os.environ.get("CLM") or shutil.which("clm") or sys.exit("clm not on PATH")
    work = args.keep or Path(tempfile.mkdtemp(prefix="clm-scorecard-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CLM_PAGER": ""}
    base = work / "book.db"

    def run(db, *argv, today=BOOK_DAY, quiet=True):
        subprocess.run(
            [clm, "--db", db, "--today", today.isoformat(), *argv],
            env=env, check=True, stdout=subprocess.DEVNULL if quiet else None,
        )  # fmt: skip

    def slugs_of(db) -> list[str]:
        with sqlite3.connect(db) as conn:
            return [r[0] for r in conn.execute("SELECT slug FROM customers ORDER BY id")]

    if not base.exists():
        if args.book:
            shutil.copy(args.book, work / "copy.db")  # the original is never opened
            run(work / "copy.db", "db", "migrate")  # the copy migrated to this clm's schema
            (work / "copy.db").rename(base)
        else:
            make = [sys.executable, HERE / "make_book.py", str(args.n), base]
            subprocess.run([*make, "--today", BOOK_DAY.isoformat()], check=True)
        for metric in METRICS:
            run(base, "metric", "add", metric)
        history = [BOOK_DAY - timedelta(days=i) for i in range(args.days - 1, -1, -1)]
        write_values(slugs_of(base), history, work / "history.csv", 1)
        run(base, "metric", "import", work / "history.csv")
        run(base, "tick", "--quiet")
    slugs = slugs_of(base)
    write_values(slugs, [TODAY], work / "today.csv", 2)
    model = subprocess.run(
        [clm, "--db", base, "model", "export"], env=env, check=True, capture_output=True, text=True
    ).stdout
    (work / "card.toml").write_text(model + SCORECARD)
    (work / "band.toml").write_text(model + band_rule(model) + SCORECARD)
    names = ["without", "card", *(["band"] if args.band_rule else [])]
    for name in names:  # each variant's book, ready for today's tick
        ready = work / f"{name}.db"
        if ready.exists():
            continue
        shutil.copy(base, work / "making.db")
        if name != "without":
            run(work / "making.db", "model", "apply", work / f"{name}.toml")
            run(work / "making.db", "tick", "--quiet")  # the scorecard's first day: all scored
        run(work / "making.db", "metric", "import", work / "today.csv", today=TODAY)
        (work / "making.db").rename(ready)
    timings = {name: [] for name in names}
    for _ in range(args.runs):
        for name in names:
            db = work / "run.db"
            shutil.copy(work / f"{name}.db", db)
            timings[name].append(timed([clm, "--db", db, "--today", TODAY, "tick", "--quiet"], env))
            wall, _, cpu = timings[name][-1]
            print(f"{name}: {wall:.2f} s, cpu {cpu:.2f} s", file=sys.stderr, flush=True)
    without = statistics.median(t for t, _, _ in timings["without"])
    without_cpu = statistics.median(c for _, _, c in timings["without"])
    source = args.book or "make_book.py"
    print(f"{len(slugs):,} customers ({source}), {args.days} days of {len(METRICS)} metrics; "
          f"{args.runs} interleaved runs")  # fmt: skip
    print("| command | wall s (median) | runs | vs without | CPU s (median) | CPU vs without "
          "| peak RSS MiB |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, runs in timings.items():
        seconds = statistics.median(t for t, _, _ in runs)
        cpu = statistics.median(c for _, _, c in runs)
        rss = max(m for _, m, _ in runs)
        each = ", ".join(f"{t:.1f}" for t, _, _ in runs)
        print(f"| {VARIANTS[name]} | {seconds:.2f} | {each} | {seconds / without:.2f}x | "
              f"{cpu:.2f} | {cpu / without_cpu:.2f}x | {rss:.0f} |")  # fmt: skip
    with_card = statistics.median(t for t, _, _ in timings["card"])
    verdict = "met" if with_card <= 1.3 * without else "missed"
    print(f"target <= 1.3x: {verdict} ({with_card / without:.2f}x)")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
