#!/usr/bin/env python3
"""The floor of a tick on a file, statements prepared once: what SQLite alone needs for the
tick's rows, as any Python program calling the sqlite3 module would run them.

    python bench/tick_floor_prepared.py BOOK [--today 2026-11-23] [--runs 3]

bench/tick_floor.py replays the tick's SQL through the sqlite3 shell, values inlined: the
shell parses every statement again (on a catch-up, each of its 60,000 updates of customers
compiles the audit trigger again), so its floor is above the true one, by about half on book
2's first tick. This one records the tick at the DBAPI level instead: every statement clm
hands the sqlite3 module, with its parameters (executemany batches whole), every connection
it opens (with its arguments and isolation level), every commit and rollback; the triggers'
statements are not recorded (the replay fires them again). Then it replays that record with
the sqlite3 module on fresh copies of BOOK, --runs times, each in a new process: the same
statement texts, so the module's statement cache (made large enough to hold them all)
prepares each once, and every result fetched. The replay's CPU (user + system) is measured
in the replaying process around the statements alone (loading the record from its file and
the interpreter's start left out): SQLite and the sqlite3 module alone on the same rows,
which no Python program can go under. Next to it, clm's own tick (CPU of the whole process)
and the stack floor (`python -c "import typer, rich.table, sqlalchemy"`), in the same run.
BOOK is only copied (into a temporary directory, or --tmp DIR).
"""

import argparse
import contextlib
import os
import pickle
import shutil
import sqlite3
import sqlite3.dbapi2
import statistics
import subprocess
import sys
import tempfile
import time

from in_process import run_clm

TICK = ("tick", "-q", "-f", "json")
CACHED_STATEMENTS = 4096  # every distinct text the tick runs stays prepared
BATCH = 2000  # events unpickled at a time before their timed replay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("book")
    parser.add_argument("--today", default="2026-11-23")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tmp", help="where to copy the book (default: a temporary directory)")
    parser.add_argument(
        "--statements", type=int, metavar="N",
        help="also replay once more timing each statement: the N costliest, with their CPU",
    )  # fmt: skip
    parser.add_argument(
        "--without-audit", action="store_true",
        help="also replay once on a copy without the audit log's triggers: their share",
    )  # fmt: skip
    parser.add_argument("--replay", help=argparse.SUPPRESS)  # internal: replay RECORD on BOOK
    parser.add_argument("--each", action="store_true", help=argparse.SUPPRESS)  # internal
    opts = parser.parse_args()
    if opts.replay:
        spent = {}
        total = _replay(opts.replay, opts.book, spent if opts.each else None)
        print(total)
        for sql, (cpu, calls, rows) in sorted(spent.items(), key=lambda kv: -kv[1][0]):
            print(f"{cpu:.3f}\t{calls}\t{rows}\t{' '.join(sql.split())}")
        return
    with tempfile.TemporaryDirectory(dir=opts.tmp) as tmp:
        record = os.path.join(tmp, "tick.events")
        db = os.path.join(tmp, "w.db")
        _fresh(opts.book, db)
        counts = _record(db, opts.today, record)
        print(
            "recorded: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
            + f" ({os.path.getsize(record) / 2**20:.0f} MiB)",
            file=sys.stderr,
        )
        clm = [sys.executable, "-m", "clm", "--db", db, "--today", opts.today, *TICK]
        floor = [sys.executable, "-c", "import typer, rich.table, sqlalchemy"]
        replay = [sys.executable, __file__, db, "--replay", record]
        times = {"clm tick": [], "stack floor": [], "replay (statements)": []}
        for _ in range(opts.runs):
            _fresh(opts.book, db)
            times["clm tick"].append(_cpu(clm))
            times["stack floor"].append(_cpu(floor))
            _fresh(opts.book, db)
            out = subprocess.run(replay, check=True, capture_output=True, text=True).stdout
            times["replay (statements)"].append(float(out))
        if opts.without_audit:
            _fresh(opts.book, db)
            with contextlib.closing(sqlite3.connect(db)) as conn:
                names = conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit%'"
                ).fetchall()
                for (name,) in names:
                    conn.execute(f'DROP TRIGGER "{name}"')
                conn.commit()
            out = subprocess.run(replay, check=True, capture_output=True, text=True).stdout
            times["replay, no audit triggers"] = [float(out)]
        if opts.statements:
            _fresh(opts.book, db)
            out = subprocess.run([*replay, "--each"], check=True, capture_output=True, text=True)
            lines = out.stdout.splitlines()[1:]
            print(f"The {opts.statements} costliest statements (CPU s, calls, rows; triggers in):")
            for line in lines[: opts.statements]:
                cpu, calls, rows, sql = line.split("\t")
                print(f"{float(cpu):7.3f} s {int(calls):6,} calls {int(rows):8,} rows  {sql[:150]}")
    for name, spent in times.items():
        print(f"{name:20} CPU median {statistics.median(spent):7.3f} s  min {min(spent):7.3f} s")
    clm_net = statistics.median(times["clm tick"]) - statistics.median(times["stack floor"])
    alone = statistics.median(times["replay (statements)"])
    print(f"SQLite alone on the tick's rows (statements prepared once): {alone:.3f} s")
    print(f"clm tick less the stack floor: {clm_net:.3f} s = {clm_net / alone:.2f}x SQLite alone")


def _fresh(book: str, db: str) -> None:
    """A fresh copy of the book, synced (else the tick's fsync writes out the whole copy)."""
    shutil.copyfile(book, db)
    fd = os.open(db, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Recorder:
    """Writes the events of every sqlite3 connection opened while it is installed."""

    def __init__(self, out):
        self.out = out
        self.connections = 0
        self.counts = {"connections": 0, "statements": 0, "rows in batches": 0}

    def event(self, *event) -> None:
        pickle.dump(event, self.out, protocol=pickle.HIGHEST_PROTOCOL)


def _record(db: str, today: str, path: str) -> dict:
    """Tick `db` in-process, writing what clm handed the sqlite3 module to `path`."""
    out = open(path, "wb")  # noqa: SIM115 (closed below, after the command)
    recorder = _Recorder(out)
    real_connect = sqlite3.connect

    class Cursor(sqlite3.Cursor):
        def execute(self, sql, parameters=()):
            self.connection._event("execute", sql, _plain(parameters))
            return super().execute(sql, parameters)

        def executemany(self, sql, seq):
            seq = [_plain(p) for p in seq]
            recorder.counts["rows in batches"] += len(seq)
            self.connection._event("executemany", sql, seq)
            return super().executemany(sql, seq)

        def executescript(self, script):
            self.connection._event("executescript", script, None)
            return super().executescript(script)

    class Connection(sqlite3.Connection):
        def _event(self, kind, sql, params):
            if self.isolation_level != self._level:  # SQLAlchemy sets it after connecting
                self._level = self.isolation_level
                recorder.event("isolation", self._number, self._level)
            recorder.counts["statements"] += kind != "executescript"
            recorder.event(kind, self._number, sql, params)

        def cursor(self, factory=Cursor):
            return super().cursor(factory)

        def commit(self):
            recorder.event("commit", self._number)
            return super().commit()

        def rollback(self):
            recorder.event("rollback", self._number)
            return super().rollback()

        def close(self):
            recorder.event("close", self._number)
            return super().close()

    def connect(database, *args, **kwargs):
        if args or "factory" in kwargs:
            raise SystemExit("tick_floor_prepared: a connection it cannot record")
        conn = real_connect(database, factory=Connection, **kwargs)
        conn._number = recorder.connections
        conn._level = conn.isolation_level
        recorder.connections += 1
        recorder.counts["connections"] += 1
        recorder.event("connect", conn._number, os.fspath(database), kwargs, conn._level)
        return conn

    sqlite3.connect = sqlite3.dbapi2.connect = connect  # dbapi2: what SQLAlchemy calls
    try:
        run_clm("--db", db, "--today", today, *TICK)
    finally:
        sqlite3.connect = sqlite3.dbapi2.connect = real_connect
        out.close()
    return recorder.counts


def _plain(parameters):
    """Parameters as the module got them, in a form that pickles (a Row or view: a tuple)."""
    if isinstance(parameters, dict | tuple | list):
        return parameters
    return tuple(parameters)


def _events(path: str):
    with open(path, "rb") as f:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return


def _replay(path: str, db: str, each: dict | None = None) -> float:
    """Replay the record at `path` on `db`: the CPU seconds its statements took (with `each`,
    also text -> [CPU, calls, rows] of each statement, timed one by one)."""
    conns = {}
    spent = 0.0
    events = _events(path)
    clock = time.process_time
    while batch := [e for _, e in zip(range(BATCH), events, strict=False)]:
        start = clock()
        for kind, number, *rest in batch:
            if kind in ("execute", "executemany"):
                sql, params = rest
                began = clock() if each is not None else 0.0
                cur = getattr(conns[number], kind)(sql, params)
                if cur.description is not None:
                    cur.fetchall()
                if each is not None:
                    cost = each.setdefault(sql, [0.0, 0, 0])
                    cost[0] += clock() - began
                    cost[1] += 1
                    cost[2] += len(params) if kind == "executemany" else 1
            elif kind == "executescript":
                conns[number].executescript(rest[0])
            elif kind == "connect":
                database, kwargs, level = rest
                kwargs = {**kwargs, "cached_statements": CACHED_STATEMENTS}
                conns[number] = sqlite3.connect(database, **kwargs)
                conns[number].isolation_level = level
            elif kind == "isolation":
                conns[number].isolation_level = rest[0]
            else:  # commit, rollback, close
                began = clock()
                getattr(conns[number], kind)()
                if each is not None:
                    cost = each.setdefault(f"({kind})", [0.0, 0, 0])
                    cost[0] += clock() - began
                    cost[1] += 1
        spent += time.process_time() - start
    return spent


def _cpu(argv: list[str]) -> float:
    """The CPU (user + system) of one run of `argv`."""
    before = os.times()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    after = os.times()
    return (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


if __name__ == "__main__":
    main()
