"""`clm db merge` of metric points: by (customer, metric, day), the later stamp's value kept,
points added in both copies kept (issue 20)."""

import shutil
import sqlite3

import pytest

from tests.conftest import dump, latest_values

pytestmark = pytest.mark.sqlite_only("merging is for SQLite files")


@pytest.fixture
def copies(clm, tmp_path, db_path):
    """clm.db and a conflicted copy of it, each with metric points set apart."""
    clm("customer", "add", "Acme")
    clm("customer", "add", "Beta")
    clm("metric", "add", "active_users")
    clm("metric", "set", "acme", "active_users", "10", "--on", "2026-11-20")
    clm("metric", "set", "beta", "active_users", "1", "--on", "2026-11-20")
    copy = tmp_path / "clm (conflicted copy).db"
    shutil.copyfile(db_path, copy)
    there = ("--db", copy)
    clm("metric", "set", "acme", "active_users", "90", "--on", "2026-11-20")  # here, then
    clm(*there, "metric", "set", "acme", "active_users", "12", "--on", "2026-11-20")  # later
    clm("metric", "set", "beta", "active_users", "2", "--on", "2026-11-20")  # here only
    clm("metric", "set", "acme", "active_users", "7")  # a new point here
    clm(*there, "metric", "set", "beta", "active_users", "5")  # a new point there
    clm(*there, "metric", "add", "logins")  # a metric and its point made there
    clm(*there, "metric", "set", "beta", "logins", "3")
    return copy


MERGED = [
    "customer,date,metric,value",
    "acme,2026-11-20,active_users,12",
    "acme,2026-11-23,active_users,7",
    "beta,2026-11-20,active_users,2",
    "beta,2026-11-23,active_users,5",
    "beta,2026-11-23,logins,3",
]


def test_points_merge_by_key_the_later_value_winning(clm, copies, db_path):
    before = dump(db_path)
    dry = clm("db", "merge", copies, "--dry-run")
    assert dump(db_path) == before
    assert dry.stdout.splitlines() == [
        "metrics: 1 added",
        "metric_points: 2 added; 1 updated (value)",
        "  add metrics logins",
        "  add metric_points beta active_users 2026-11-23",
        "  add metric_points beta logins 2026-11-23",
        "  change metric_points acme active_users 2026-11-20: value '90' -> '12'",
    ]
    assert clm("db", "merge", copies).stdout == dry.stdout
    assert clm("export", "metrics").stdout.splitlines() == MERGED
    assert "Nothing to merge" in clm("db", "merge", copies).stderr


def test_the_latest_values_follow_the_points_merged_in(clm, copies, db_path, tmp_path):
    """Each latest value is the merged points' latest: a newer point from the copy replaces
    ours, an older or losing one does not."""
    mine = tmp_path / "mine.db"
    shutil.copyfile(db_path, mine)
    clm("--db", copies, "metric", "set", "acme", "active_users", "3", "--on", "2026-11-22")
    clm("db", "merge", copies)
    merged = [
        ("acme", "active_users", "2026-11-23", 7.0),  # ours: their 2026-11-22 is older
        ("beta", "active_users", "2026-11-23", 5.0),  # theirs: newer than our 2026-11-20
        ("beta", "logins", "2026-11-23", 3.0),
    ]
    assert latest_values(db_path) == merged
    clm("--db", copies, "db", "merge", mine)
    assert latest_values(copies) == merged


def test_either_direction_gives_the_same_points(clm, copies, db_path, tmp_path):
    mine = tmp_path / "mine.db"
    shutil.copyfile(db_path, mine)
    clm("--db", copies, "db", "merge", mine)
    assert clm("--db", copies, "export", "metrics").stdout.splitlines() == MERGED
    clm("db", "merge", copies)
    assert clm("export", "metrics").stdout.splitlines() == MERGED


def test_a_point_set_after_a_merge_wins_over_the_points_merged_in(clm, copies, db_path):
    clm("db", "merge", copies)
    clm("metric", "set", "acme", "active_users", "11", "--on", "2026-11-20")
    clm("--db", copies, "db", "merge", db_path)
    assert clm("--db", copies, "export", "metrics").stdout.splitlines()[1] == (
        "acme,2026-11-20,active_users,11"
    )


def test_a_point_from_before_stamps_loses_to_a_stamped_one(clm, copies, db_path):
    with sqlite3.connect(copies) as conn:  # as set before migration 0018: no stamp
        conn.execute("UPDATE metric_points SET stamp = NULL, value = 1000")
    clm("db", "merge", copies)
    lines = clm("export", "metrics").stdout.splitlines()
    assert "acme,2026-11-20,active_users,90" in lines  # stamped here
    assert "beta,2026-11-23,logins,1000" in lines  # only there: added whatever its stamp


def test_points_of_a_metric_removed_in_one_copy_stay_out(clm, copies, db_path):
    clm("metric", "rm", "active_users", "--yes")
    clm("db", "merge", copies)
    assert clm("export", "metrics").stdout.splitlines() == [
        "customer,date,metric,value",
        "beta,2026-11-23,logins,3",
    ]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM metric_points").fetchone() == (1,)


def test_a_large_merge_names_the_first_points_and_counts_the_rest(clm, tmp_path, db_path):
    clm("customer", "add", "Acme")
    clm("metric", "add", "logins")
    copy = tmp_path / "copy.db"
    shutil.copyfile(db_path, copy)
    days = [f"2024-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 11)]
    points = "".join(f"acme,{day},logins,1\n" for day in days)
    clm("--db", copy, "metric", "import", "-", input="customer,date,metric,value\n" + points)
    out = clm("db", "merge", copy).stdout.splitlines()
    assert out[0] == "metric_points: 120 added"
    assert sum(line.startswith("  add metric_points acme logins") for line in out) == 100
    assert out[-1] == "  and 20 more metric_points"
