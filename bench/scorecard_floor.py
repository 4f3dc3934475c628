#!/usr/bin/env python3
"""The floor under the scorecard tick (issue 20): what SQLite alone takes to do the scoring's
unavoidable reads and writes, against the tick without a scorecard, in one run.

    python bench/scorecard_floor.py DIR [--runs 7]

DIR holds the `without.db` and `card.db` variants `tick_scorecard.py --keep DIR` made with the
clm on PATH (or `CLM`). Once, a ticked copy of `card.db` tells the day's changed scores (the
health history rows the tick of 2026-11-24 wrote); they go into `floor.db`, a copy of
`card.db` with those scores in a table of their own. Then, interleaved run by run, each on a
fresh copy: the tick without a scorecard, the tick with it (clm, GNU time), and the floor: in
one process with clm's pragmas, one write transaction that reads every customer's latest
values once (a sum per customer) and writes the day's changed scores, the health history rows
and the score rows, then commits; its CPU (user + system) is that of the transaction alone.

Without the scorecard's computation, the tick with a scorecard cannot cost less than the tick
without plus the floor: `(without + floor) / without` is the lowest ratio any scoring can reach.
"""

import argparse
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TODAY = "2026-11-24"
FLOOR = (  # the pragmas clm sets on a file (clm.storage.engine)
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=DELETE",
    "PRAGMA synchronous=FULL",
    "BEGIN IMMEDIATE",
    "SELECT count(*), sum(s) FROM (SELECT customer_id, sum(value) AS s FROM metric_latest "
    "GROUP BY customer_id)",
    'INSERT INTO health_log (uuid, customer_id, "on", health, created_at) SELECT '
    "'019af000-0000-7000-' || printf('%04x-%012x', 32768, id), id, :day, score, "
    "'2026-11-24 06:00:00.000000' FROM floor_scores",
    'INSERT INTO health_scores (customer_id, health, "on") SELECT id, score, :day FROM '
    "floor_scores WHERE true ON CONFLICT (customer_id) DO UPDATE SET health = excluded.health, "
    '"on" = excluded."on"',
    "COMMIT",
)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def floor_work(db: Path) -> float:
    """CPU seconds of the floor's transaction on `db`."""
    conn = sqlite3.connect(db, isolation_level=None)
    start = cpu()
    for statement in FLOOR:
        conn.execute(statement, {"day": TODAY} if ":day" in statement else {}).fetchall()
    spent = cpu() - start
    conn.close()
    return spent


def timed(cmd: list, env: dict) -> float:
    out = subprocess.run(["/usr/bin/time", "-f", "%U %S", *map(str, cmd)], env=env,
                         capture_output=True, text=True)  # fmt: skip
    if out.returncode:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{out.stderr}")
    user, system = map(float, out.stderr.strip().splitlines()[-1].split())
    return user + system


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--floor-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_only:  # a process of its own, as each tick is
        print(floor_work(args.dir))
        return
    clm = os.environ.get("CLM") or shutil.which("clm") or sys.exit("clm not on PATH")
    env = {**os.environ, "CLM_PAGER": ""}
    work = Path(tempfile.mkdtemp(prefix="clm-floor-"))
    run = work / "run.db"
    floor = args.dir / "floor.db"
    if not floor.exists():
        shutil.copy(args.dir / "card.db", run)
        subprocess.run([clm, "--db", run, "--today", TODAY, "tick", "--quiet"], env=env,
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        with sqlite3.connect(run) as ticked:
            changed = ticked.execute(
                'SELECT customer_id, health FROM health_log WHERE "on" = ? AND created_at = '
                '(SELECT max(created_at) FROM health_log)', (TODAY,)
            ).fetchall()  # fmt: skip
        shutil.copy(args.dir / "card.db", work / "floor.db")
        with sqlite3.connect(work / "floor.db") as made:
            made.execute("CREATE TABLE floor_scores (id INTEGER PRIMARY KEY, score INTEGER)")
            made.executemany("INSERT INTO floor_scores VALUES (?, ?)", changed)
        shutil.move(work / "floor.db", floor)
    seconds = {"without": [], "card": [], "floor": []}
    for _ in range(args.runs):
        for name in ("without", "card"):
            shutil.copy(args.dir / f"{name}.db", run)
            tick = [clm, "--db", run, "--today", TODAY, "tick", "--quiet"]
            seconds[name].append(timed(tick, env))
        shutil.copy(floor, run)
        out = subprocess.run([sys.executable, __file__, run, "--floor-only"], env=env,
                             check=True, capture_output=True, text=True)  # fmt: skip
        seconds["floor"].append(float(out.stdout))
    shutil.rmtree(work)
    with sqlite3.connect(floor) as conn:
        rows = conn.execute("SELECT count(*) FROM floor_scores").fetchone()[0]
    without, card, alone = (statistics.median(seconds[k]) for k in ("without", "card", "floor"))
    print(f"{args.runs} interleaved runs, CPU seconds (user + system), medians; "
          f"{rows:,} scores changed on {TODAY}")  # fmt: skip
    print("| measure | CPU s | runs | vs the tick without |")
    print("| --- | ---: | --- | ---: |")
    for label, key, value in (
        ("tick without a scorecard", "without", without),
        ("tick with the scorecard", "card", card),
        ("SQLite alone: read the latest values, write the scores", "floor", alone),
    ):
        runs = ", ".join(f"{s:.2f}" for s in seconds[key])
        print(f"| {label} | {value:.3f} | {runs} | {value / without:.2f}x |")
    print(f"| the lowest any scoring can reach: without + SQLite alone | {without + alone:.3f} | "
          f"| {(without + alone) / without:.2f}x |")  # fmt: skip
    print(f"clm's scoring costs {card - without:.3f} s; the floor {alone:.3f} s; the 1.3x target "
          f"leaves {0.3 * without:.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
