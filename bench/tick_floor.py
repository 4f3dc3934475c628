#!/usr/bin/env python3
"""The floor of a tick on a file: the same SQL, with the same values, run by SQLite alone.

    python bench/tick_floor.py BOOK [--today 2026-11-24] [--runs 5]

Ticks a copy of BOOK in-process (output to /dev/null), recording every statement SQLite runs
for it with its values inlined (sqlite3's trace; the triggers' own statements left out: the
replay fires them again). Then replays that script with the sqlite3 shell on fresh copies of
BOOK, --runs times, with clm's pragmas (foreign keys, the rollback journal, synchronous=FULL,
the tick's in-memory statement journals, a catch-up's 64 MB page cache), and prints the median
CPU (user + system) of clm's tick, of the replay, and of the shell opening the book and doing
nothing: the replay less that is what SQLite alone spends on the tick's rows, which no Python
can go under. The replay parses each statement afresh (clm's are prepared once), so it is
above the true floor: a little on a steady day, much on a catch-up (each of its 60,000 updates
of customers compiles the audit trigger again: some 8 s of book 2's replay). BOOK is only
copied (into a temporary directory).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from in_process import run_clm

TICK = ("tick", "-q", "-f", "json")
PRAGMAS = (
    "PRAGMA foreign_keys=ON; PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL; "
    "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;\n"  # the catch-up's bigger_write_cache
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("book")
    parser.add_argument("--today", default="2026-11-24")
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "tick.sql")
        db = os.path.join(tmp, "w.db")
        shutil.copyfile(opts.book, db)
        _record(db, opts.today, script)
        clm = [sys.executable, "-m", "clm", "--db", db, "--today", opts.today, *TICK]
        times = {"clm tick": [], "sqlite3 replay": [], "sqlite3 open": []}
        for _ in range(opts.runs):
            for name, argv, stdin in (
                ("clm tick", clm, None),
                ("sqlite3 replay", ["sqlite3", db], script),
                ("sqlite3 open", ["sqlite3", db, "SELECT count(*) FROM clm_meta"], None),
            ):
                shutil.copyfile(opts.book, db)
                times[name].append(_cpu(argv, stdin))
    for name, spent in times.items():
        print(f"{name:16} CPU median {statistics.median(spent):.3f} s  min {min(spent):.3f} s")
    floor = statistics.median(times["sqlite3 replay"]) - statistics.median(times["sqlite3 open"])
    print(f"SQLite alone on the tick's rows: {floor:.3f} s")


def _record(db: str, today: str, script: str) -> None:
    """Tick `db` in-process, writing what SQLite ran to `script`."""
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    out = open(script, "w")  # noqa: SIM115 (closed below, after the command)
    out.write(PRAGMAS)

    last = [""]

    def trace(statement: str) -> None:
        if statement.startswith("--"):  # a trigger's statement: the replay fires it itself
            return
        if statement.lstrip().upper().startswith("PRAGMA"):
            return
        if statement == last[0]:
            # Traced again for each row a RETURNING gives back, and an UPDATE of a table with
            # an AFTER UPDATE trigger (the audit log's) three times a row: replayed thrice it
            # compiled the trigger thrice, and the "floor" took 2/3 more than clm's own tick.
            return
        last[0] = statement
        out.write(statement.rstrip().rstrip(";") + ";\n")

    @event.listens_for(Engine, "connect")
    def _traced(dbapi_conn, _record):
        if isinstance(dbapi_conn, sqlite3.Connection):
            dbapi_conn.set_trace_callback(trace)

    run_clm("--db", db, "--today", today, *TICK)
    out.close()


def _cpu(argv: list[str], stdin: str | None) -> float:
    """The CPU (user + system) of one run of `argv`."""
    before = os.times()
    with open(stdin or os.devnull) as feed:
        subprocess.run(argv, stdin=feed, stdout=subprocess.DEVNULL, check=True)
    after = os.times()
    return (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


if __name__ == "__main__":
    main()
