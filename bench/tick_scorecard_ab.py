#!/usr/bin/env python3
"""The scorecard tick of two clm trees, interleaved run by run (issue 20): before and after.

    python bench/tick_scorecard_ab.py OLD_TREE OLD_DIR NEW_TREE NEW_DIR [--runs 5]

Each DIR holds the `without.db` and `card.db` variants that `tick_scorecard.py --keep DIR`
made with that tree's clm (or copies of the old tree's, migrated by the new clm with
`clm --db X db migrate`). Each run ticks a fresh copy of each variant (old without, old card,
new without, new card) with `--today 2026-11-24 tick --quiet`, its tree on PYTHONPATH, under
GNU time, then times the floor (`python -c "import typer, rich.table, sqlalchemy"`). Prints a
Markdown table of medians: wall and CPU (user + system: a loaded machine inflates the wall
time most) and each tick's ratio to the same tree's tick without a scorecard.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

VARIANTS = ("without", "card")


def timed(cmd: list, env: dict) -> tuple[float, float]:
    """Wall and CPU seconds of one command."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %U %S", *map(str, cmd)], env=env,
                         capture_output=True, text=True)  # fmt: skip
    if out.returncode:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{out.stderr}")
    wall, user, system = map(float, out.stderr.strip().splitlines()[-1].split())
    return wall, user + system


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("old_tree", type=Path)
    parser.add_argument("old_dir", type=Path)
    parser.add_argument("new_tree", type=Path)
    parser.add_argument("new_dir", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    clm = os.environ.get("CLM") or shutil.which("clm") or sys.exit("clm not on PATH")
    sides = {"old": (args.old_tree, args.old_dir), "new": (args.new_tree, args.new_dir)}
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(dir=args.new_dir) as work:
        db = Path(work) / "run.db"
        for _ in range(args.runs):
            for side, (tree, kept) in sides.items():
                env = {**os.environ, "PYTHONPATH": str(tree.resolve()), "CLM_PAGER": ""}
                for variant in VARIANTS:
                    shutil.copy(kept / f"{variant}.db", db)
                    took = timed([clm, "--db", db, "--today", "2026-11-24", "tick", "--quiet"], env)
                    times.setdefault((side, variant), []).append(took)
                    print(side, variant, f"{took[0]:.2f} s, cpu {took[1]:.2f} s", file=sys.stderr)
            floor = [sys.executable, "-c", "import typer, rich.table, sqlalchemy"]
            times.setdefault(("floor", ""), []).append(timed(floor, dict(os.environ)))
    print(f"{args.runs} interleaved runs, medians")
    print("| clm | tick | wall s | CPU s | CPU runs | wall vs without | CPU vs without |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for side in sides:
        wall0 = statistics.median(w for w, _ in times[side, "without"])
        cpu0 = statistics.median(c for _, c in times[side, "without"])
        for variant in VARIANTS:
            runs = times[side, variant]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            each = ", ".join(f"{c:.2f}" for _, c in runs)
            print(f"| {side} | {variant} | {wall:.2f} | {cpu:.2f} | {each} | "
                  f"{wall / wall0:.2f}x | {cpu / cpu0:.2f}x |")  # fmt: skip
    wall = statistics.median(w for w, _ in times["floor", ""])
    cpu = statistics.median(c for _, c in times["floor", ""])
    print(f"| floor (import typer, rich.table, sqlalchemy) | | {wall:.2f} | {cpu:.2f} | | | |")


if __name__ == "__main__":
    main()
