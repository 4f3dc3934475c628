"""A catch-up tick writes and prints its work a chunk at a time (issue 26: bounded memory):
chunked or whole, the same news in the same order and the same history."""

import json
import re

import pytest

import clm.domain.engine.tick as engine_tick
import clm.domain.milestones as milestones
import clm.domain.spool as spool
from tests.conftest import sql


def _book(team, db) -> None:
    team("--db", db, "init")
    team("--db", db, "--today", "2026-01-01", "user", "add", "alice", "--team",
         "customer-success", "--default-owner")  # fmt: skip
    for i, (start, renewal) in enumerate(
        [("2026-01-01", "2026-05-20"), ("2026-01-10", "2027-01-10"), ("2026-01-03", "2026-04-30")]
        * 3
    ):
        slug = f"c{i}"
        team("--db", db, "--today", start, "customer", "add", slug, "--start", start,
             "--renewal", renewal)  # fmt: skip
        team("--db", db, "--today", start, "milestone", "add", slug, f"Kickoff {i}", "--due",
             "2026-03-01", "--remind", "1w", "--remind", "2w")  # fmt: skip
    team("--db", db, "--today", "2026-01-05", "customer", "add", "Lead", "--stage", "lead")
    team("--db", db, "--today", "2026-02-03", "customer", "edit", "lead", "--lead-score", "70")


def _news(team, db) -> dict:
    result = json.loads(team("--db", db, "--today", "2026-03-31", "tick", "-f", "json").stdout)
    for task in result["tasks_created"]:
        task.pop("uuid")  # new each run
    return result


def test_a_catch_up_in_chunks_of_one_does_what_one_piece_does(team, tmp_path, monkeypatch):
    whole, chunked = tmp_path / "whole.db", tmp_path / "chunked.db"
    _book(team, whole)
    _book(team, chunked)
    expected = _news(team, whole)
    monkeypatch.setattr(engine_tick, "FIRE_CHUNK", 1)
    monkeypatch.setattr(milestones, "REMINDER_CHUNK", 1)
    got = _news(team, chunked)
    assert len(got["transitions"]) >= 10 and len(got["reminders"]) >= 18
    assert got == expected
    histories = [
        [team.json("--db", db, "why", f"c{i}") for i in range(9)] for db in (whole, chunked)
    ]
    assert [[(m["on"], m["from"], m["to"]) for m in h] for h in histories[0]] == [
        [(m["on"], m["from"], m["to"]) for m in h] for h in histories[1]
    ]
    again = json.loads(team("--db", chunked, "--today", "2026-03-31", "tick", "-f", "json").stdout)
    assert again["reminders"] == [] and again["transitions"] == []


def test_the_json_of_a_long_day_is_written_in_pieces_as_one_object(team, monkeypatch):
    import clm.render.tick_view as tick_view

    monkeypatch.setattr(tick_view, "ROWS_PER_WRITE", 2)
    for i in range(5):
        team("--today", "2026-01-01", "customer", "add", f"c{i}", "--start", "2026-01-01")
        team("--today", "2026-01-01", "milestone", "add", f"c{i}", "Kickoff", "--due",
             "2026-03-01", "--remind", "1w")  # fmt: skip
    out = team("--today", "2026-03-31", "tick", "-f", "json").stdout
    day = json.loads(out)
    assert len(day["reminders"]) >= 5 and len(day["transitions"]) >= 5
    assert out == json.dumps(day, ensure_ascii=False) + "\n"


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.parametrize("fmt", ["table", "json", "jsonl"])
def test_news_spooled_a_row_at_a_time_prints_the_same_bytes(team, new_db, monkeypatch, fmt):
    """The tick's news (stage changes, reminders, CTAs, tasks, the overdue list) goes to a
    temporary file past a chunk of rows and is read back for the output and the digests: in
    chunks of one row, the same bytes and the same digests as held whole."""
    whole, spooled = new_db(), new_db()
    for db in (whole, spooled):
        _book(team, db)
        team("--db", db, "user", "edit", "alice", "--webhook", "https://hooks.example.com/a",
             "--notify", "webhook")  # fmt: skip
    tick = ("--today", "2026-03-31", "tick", "--no-send", "-f", fmt)
    expected = team("--db", whole, *tick).stdout
    monkeypatch.setattr(spool, "CHUNK", 1)
    monkeypatch.setattr(engine_tick, "FIRE_CHUNK", 1)
    monkeypatch.setattr(milestones, "REMINDER_CHUNK", 1)
    got = team("--db", spooled, *tick).stdout
    assert UUID.sub("U", got) == UUID.sub("U", expected)
    if fmt == "json":
        day = json.loads(got)
        for key in ("transitions", "reminders", "tasks_created", "overdue"):
            assert len(day[key]) >= 2, key
    digests = [
        [(r.user_id, r.kind, UUID.sub("U", r.payload)) for r in
         sql(db, "SELECT user_id, kind, payload FROM outbox ORDER BY user_id, kind")]
        for db in (whole, spooled)
    ]  # fmt: skip
    assert digests[0] == digests[1] and "reminder:" in digests[0][0][2]


def test_a_spool_reads_back_as_the_list_it_was_given():
    from datetime import date

    rows = [{"n": i, "on": date(2026, 1, 1 + i)} for i in range(7)]
    spooled = spool.Spool(rows, chunk=3)
    assert len(spooled) == 7 and spooled and not spool.Spool()
    assert list(spooled) == rows and spooled == rows and rows == spooled
    assert [len(c) for c in spooled.chunks()] == [3, 3, 1]
    first, second = iter(spooled), iter(spooled)  # two readers at once
    assert [next(first), next(second), next(first)] == [rows[0], rows[0], rows[1]]
    spooled.append({"n": 7})
    assert list(spooled)[-1] == {"n": 7} and len(spooled) == 8
    assert spool.Spool() == [] and spooled != rows
