"""Health over time: logged whenever a customer's health is set, drawn in `customer show`."""

import json
import sqlite3
from pathlib import Path

from clm.domain.shapes import sparkline


def test_every_health_set_is_logged_and_shown(clm):
    clm("--today", "2026-01-01", "customer", "add", "Acme", "--start", "2026-01-01",
        "--health", "80")  # fmt: skip
    clm("--today", "2026-03-01", "customer", "edit", "acme", "--health", "60")
    clm("--today", "2026-03-01", "customer", "edit", "acme", "--arr", "5")  # not a health change
    clm("--today", "2026-06-01", "customer", "edit", "acme", "--health", "35")
    clm("customer", "move", "acme", "launched", "--on", "2026-01-20")
    shown = clm.json("customer", "show", "acme")
    assert shown["health_history"] == [
        {"on": "2026-01-01", "health": 80},
        {"on": "2026-03-01", "health": 60},
        {"on": "2026-06-01", "health": 35},
    ]
    assert shown["stays"] == [
        {"stage": "onboarding", "entered": "2026-01-01", "left": "2026-01-20", "days": 19},
        {"stage": "launched", "entered": "2026-01-20", "left": None, "days": 307},
    ]
    page = clm("customer", "show", "acme").stdout
    assert "health over time  ▇▅▃ 80 → 35 since 2026-01-01" in page
    assert "onboarding   2026-01-01   2026-01-20     19" in page


def test_import_logs_the_health_it_sets(clm, tmp_path):
    rows = [{"name": "Acme", "health": 70}, {"name": "Beta"}]
    (tmp_path / "in.json").write_text(json.dumps(rows))
    clm("import", "customers", "in.json")
    again = [{"slug": "acme", "name": "Acme", "health": 20},
             {"slug": "beta", "name": "Beta", "health": 90}]  # fmt: skip
    (tmp_path / "again.json").write_text(json.dumps(again))
    clm("--today", "2026-12-01", "import", "customers", "again.json")
    assert [h["health"] for h in clm.json("customer", "show", "acme")["health_history"]] == [70, 20]
    assert clm.json("customer", "show", "beta")["health_history"] == [
        {"on": "2026-12-01", "health": 90}
    ]


def test_the_migration_starts_the_log_from_the_health_customers_have(clm, tmp_path):
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    fixture = Path(__file__).parents[1] / "fixtures" / "schema-0003_rules.sql"
    conn.executescript(fixture.read_text())
    health, health_on = conn.execute("SELECT health, health_on FROM customers").fetchone()
    conn.close()
    history = clm.json("--db", old, "customer", "show", "acme-corp")["health_history"]
    assert history == [{"on": health_on, "health": health}]


def test_sparkline():
    assert sparkline([]) == ""
    assert sparkline([{"on": "2026-01-01", "health": 100}]) == "█ 100 since 2026-01-01"
    levels = [{"on": f"2026-01-{d:02d}", "health": h} for d, h in enumerate((0, 50, 100), 1)]
    assert sparkline(levels) == "▁▄█ 0 → 100 since 2026-01-01"
