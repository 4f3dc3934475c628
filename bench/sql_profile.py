#!/usr/bin/env python3
"""Run one clm command in-process and report where its SQL time goes, per statement shape.

    python bench/sql_profile.py [--top 15] [--time MODULE:FUNCTION ...] -- \
        --db X --today 2026-11-24 tick -q -f json

Times every statement SQLAlchemy executes (cursor execute to the end of its result), groups
them by SQL text, and prints to stderr, the most CPU first: count, total wall and CPU (user +
system: what a loaded machine does not inflate) and mean wall milliseconds, rows, and the
statement; then the wall and CPU time of the whole command and the share spent in SQL. Each --time
function (looked up when called, so patch where it is looked up) is timed inclusively, a
generator until it is exhausted. The command's own output goes to /dev/null.
"""

import argparse
import contextlib
import os
import sys
import time
from collections import defaultdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--width", type=int, default=400, help="characters of SQL shown")
    parser.add_argument("--time", action="append", default=[], metavar="MODULE:FUNCTION")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then clm's arguments")
    opts = parser.parse_args()
    args = opts.args[1:] if opts.args[:1] == ["--"] else opts.args

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    stats: dict[str, list] = defaultdict(lambda: [0, 0.0, 0, 0.0])  # count, seconds, rows, cpu

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("clm_bench_t", []).append((time.perf_counter(), time.process_time()))

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        # Fetching is part of a SELECT's cost: SQLite steps the query as rows are read.
        began, began_cpu = conn.info["clm_bench_t"].pop()
        rows = 0
        # A batched INSERT … RETURNING (insertmanyvalues) reads its rows from the cursor
        # itself after this hook: fetching them here would leave it none (the tick would see
        # no firing recorded and move nobody).
        batched = getattr(context, "execute_style", None)
        if cursor.description is not None and getattr(batched, "name", "") != "INSERTMANYVALUES":
            buffered = cursor.fetchall()
            rows = len(buffered)
            context.cursor = _Replay(cursor, buffered)
        entry = stats[" ".join(statement.split())]
        entry[0] += 1
        entry[1] += time.perf_counter() - began
        entry[2] += rows if cursor.description is not None else max(cursor.rowcount, 0)
        entry[3] += time.process_time() - began_cpu

    timed = {name: _timer(name) for name in opts.time}

    from clm.cli.app import main as clm_main

    sys.argv = ["clm", *args]
    began, began_cpu = time.perf_counter(), time.process_time()
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        try:
            clm_main()
        except SystemExit as exc:
            code = exc.code
        else:
            code = 0
    wall, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    total, total_cpu = sum(s[1] for s in stats.values()), sum(s[3] for s in stats.values())
    out = sys.stderr
    print(f"{'count':>7} {'total ms':>9} {'cpu ms':>8} {'mean ms':>8} {'rows':>8}  statement",
          file=out)  # fmt: skip
    ranked = sorted(stats.items(), key=lambda kv: -kv[1][3])[: opts.top]
    for sql, (count, seconds, rows, spent) in ranked:
        shown = sql if len(sql) <= opts.width else sql[: opts.width] + " …"
        print(f"{count:7d} {seconds * 1000:9.1f} {spent * 1000:8.1f} {seconds * 1000 / count:8.3f} "
              f"{rows:8d}  {shown}", file=out)  # fmt: skip
    for name, (calls, seconds) in ((n, t.totals) for n, t in timed.items()):
        print(f"{name}: {calls} calls, {seconds * 1000:.1f} ms (inclusive)", file=out)
    count = sum(s[0] for s in stats.values())
    print(f"\n{count} statements, {len(stats)} shapes: {total:.3f} s in SQL of {wall:.3f} s "
          f"(after imports); CPU {total_cpu:.3f} s in SQL of {cpu:.3f} s; exit {code}",
          file=out)  # fmt: skip


class _timer:
    """Replace MODULE:FUNCTION by a wrapper adding up its calls and inclusive wall time."""

    def __init__(self, name: str):
        import functools
        import importlib
        import inspect

        module_name, _, attr = name.partition(":")
        module = importlib.import_module(module_name)
        original = getattr(module, attr)
        self.totals = [0, 0.0]

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            began = time.perf_counter()
            result = original(*args, **kwargs)
            if inspect.isgenerator(result):
                return self._drain(result, time.perf_counter() - began)
            self._add(time.perf_counter() - began)
            return result

        setattr(module, attr, wrapper)

    def _add(self, seconds: float) -> None:
        self.totals[0] += 1
        self.totals[1] += seconds

    def _drain(self, generator, spent: float):
        while True:
            began = time.perf_counter()
            try:
                item = next(generator)
            except StopIteration:
                self._add(spent + time.perf_counter() - began)
                return
            spent += time.perf_counter() - began
            yield item


class _Replay:
    """A cursor whose rows were already fetched (to time them), replayed to SQLAlchemy."""

    def __init__(self, cursor, rows):
        self._cursor, self._rows, self._i = cursor, rows, 0
        self.description = cursor.description
        self.rowcount = cursor.rowcount
        self.lastrowid = getattr(cursor, "lastrowid", None)  # psycopg has none

    def fetchone(self):
        if self._i >= len(self._rows):
            return None
        self._i += 1
        return self._rows[self._i - 1]

    def fetchmany(self, size=None):
        size = size or 1
        chunk = self._rows[self._i : self._i + size]
        self._i += len(chunk)
        return chunk

    def fetchall(self):
        chunk = self._rows[self._i :]
        self._i = len(self._rows)
        return chunk

    def close(self):
        self._cursor.close()

    def __getattr__(self, name):
        return getattr(self._cursor, name)


if __name__ == "__main__":
    main()
