"""A catch-up tick writes and prints its work a chunk at a time (issue 26: bounded memory):
chunked or whole, the same news in the same order and the same history."""

import json

import clm.domain.engine.tick as engine_tick
import clm.domain.milestones as milestones


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
