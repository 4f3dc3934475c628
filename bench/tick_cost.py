#!/usr/bin/env python3
"""The CPU a tick spends per phase and per event (transition, reminder, task created).

    python bench/tick_cost.py -- --db COPY --today 2026-11-24 tick

Runs one clm command in-process (output to /dev/null) and times, in CPU (process_time), each
phase of the tick inclusively: the imports, today's health scores, rule matching, firing
(moves, and under them the playbooks' tasks and milestones), reminders, the news read back,
the overdue list and count, the output, the commit; with the CPU spent inside SQLite's
statements in each (a phase's own, not its inner phases'). Then the day's events, counted
from the database before and after, and each kind's CPU per event: a transition is the
firing phase less its playbooks, per stage change; a task or milestone created is the
playbooks' CPU per row they made; a reminder is the reminders phase per reminder fired. Pass
a fresh copy of the book each run: the command writes to it.
"""

import argparse
import contextlib
import functools
import importlib
import inspect
import sqlite3
import sys
import time

from in_process import run_clm

PHASES = (  # (name, where it is looked up when called)
    ("run_ticks", "clm.rules:run_ticks"),
    ("score_customers", "clm.domain.scorecard:score_customers"),
    ("match rules", "clm.domain.engine.tick:matches"),
    ("fire rules", "clm.domain.engine.tick:_fire"),
    ("  enter stages", "clm.domain.transitions:enter_stages"),
    ("    playbooks", "clm.domain.transitions:apply_playbooks"),
    ("fire reminders", "clm.domain.milestones:fire_reminders"),
    ("tasks read back", "clm.domain.tasks:task_rows"),
    ("overdue listed", "clm.domain.agenda:overdue_items"),
    ("overdue counted", "clm.domain.agenda:overdue_count"),
    ("digests queued", "clm.domain.notify.outbox:queue_digests"),
    ("optimize", "clm.db:optimize"),
    ("output", "clm.render.tick_view:render_tick"),
)
IO = "/proc/self/io"  # Linux: read and write system calls (SQLite's a page each), per phase
COUNTED = {  # what the day made, by row ids before and after
    "transitions": "transitions",
    "reminders": "reminder_log",
    "tasks": "tasks",
    "milestones": "milestones",
    "playbook runs": "playbook_runs",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then clm's arguments")
    args = parser.parse_args().args
    args = args[1:] if args[:1] == ["--"] else args
    db = args[args.index("--db") + 1]
    before = _ids(db)
    began = time.process_time()  # the interpreter's own start (~20 ms) is not counted

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    stack: list[str] = ["(outside)"]
    cpu: dict[str, float] = {}
    calls: dict[str, list[int]] = {}
    sql: dict[str, float] = {}

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("clm_cost_t", []).append(time.process_time())

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        # A SELECT's rows are stepped as they are fetched, later: this is the statement's
        # execution only (a write's whole cost; a query's first row).
        spent = time.process_time() - conn.info["clm_cost_t"].pop()
        sql[stack[-1]] = sql.get(stack[-1], 0.0) + spent

    for name, where in PHASES:
        _patch(name, where, stack, cpu, calls)
    imported = time.process_time()
    run_clm(*args)
    total = time.process_time() - began
    made = {k: _ids(db)[k] - before[k] for k in COUNTED}
    out = sys.stderr
    print(f"{'phase':20} {'CPU ms':>8} {'SQL ms':>8} {'reads':>7} {'writes':>7}", file=out)
    print(f"{'imports (before)':20} {(imported - began) * 1000:8.1f}", file=out)
    for name, _ in PHASES:
        if name in cpu:
            reads, writes = calls.get(name, ("", ""))
            print(f"{name:20} {cpu[name] * 1000:8.1f} {sql.get(name, 0) * 1000:8.1f} "
                  f"{reads:>7} {writes:>7}", file=out)  # fmt: skip
    print(f"{'whole command':20} {total * 1000:8.1f} {sum(sql.values()) * 1000:8.1f}", file=out)
    print("made: " + ", ".join(f"{n} {k}" for k, n in made.items()), file=out)
    moves = cpu.get("fire rules", 0) - cpu.get("    playbooks", 0)
    made_by_playbooks = made["tasks"] + made["milestones"]
    per = {
        "transition": (moves, made["transitions"]),
        "task or milestone": (cpu.get("    playbooks", 0), made_by_playbooks),
        "reminder": (cpu.get("fire reminders", 0), made["reminders"]),
    }
    for what, (seconds, count) in per.items():
        if count:
            print(f"per {what}: {seconds * 1e6 / count:.0f} µs CPU ({count})", file=out)


def _read(run, rows):
    while True:
        try:
            yield run(next, rows)
        except StopIteration:
            return


def _ids(db: str) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        count = "SELECT count(*) FROM {}"
        return {k: conn.execute(count.format(t)).fetchone()[0] for k, t in COUNTED.items()}


def _io() -> tuple[int, int]:
    try:
        with open(IO) as counters:
            found = dict(line.split(": ") for line in counters.read().splitlines())
    except OSError:
        return 0, 0
    return int(found["syscr"]), int(found["syscw"])


def _patch(name: str, where: str, stack: list[str], cpu: dict, calls: dict) -> None:
    module_name, _, attr = where.partition(":")
    module = importlib.import_module(module_name)
    original = getattr(module, attr)

    def run(step, *args):
        stack.append(name)
        start, io = time.process_time(), _io()
        try:
            return step(*args)
        finally:
            cpu[name] = cpu.get(name, 0.0) + time.process_time() - start
            done = calls.setdefault(name, [0, 0])
            for i, (now, then) in enumerate(zip(_io(), io, strict=True)):
                done[i] += now - then  # (/proc/self/io's own reads are counted: 1 a phase)
            stack.pop()

    @functools.wraps(original)
    def timed(*args, **kwargs):
        found = run(lambda: original(*args, **kwargs))
        if inspect.isgenerator(found):  # timed as it is read, wherever that is
            return _read(run, found)
        return found

    setattr(module, attr, timed)


if __name__ == "__main__":
    main()
