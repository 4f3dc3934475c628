"""`clm report health`: the book by band (ARR at risk), by stage and band, and the band
counts week by week over 90 days, from the health history; figures checked by hand."""

import pytest

from tests.conftest import dump


@pytest.fixture
def book(team):
    def add(name, stage, arr, *health):
        team("--today", "2026-09-01", "customer", "add", name, "--stage", stage,
             "--arr", str(arr), *health)  # fmt: skip

    add("Acme", "adopting", 100_000, "--health", "80")
    add("Beta", "adopting", 50_000)
    add("Core", "onboarding", 20_000, "--health", "90")
    add("Dune", "onboarding", 10_000)
    add("Gone", "adopting", 5_000, "--health", "10")
    team("--today", "2026-10-01", "customer", "edit", "beta", "--health", "55")  # amber
    team("--today", "2026-10-15", "customer", "move", "gone", "churned", "--reason", "budget")
    team("--today", "2026-11-10", "customer", "edit", "acme", "--health", "30")  # red
    return team


def test_by_band_counts_the_book_outside_churn_with_its_arr(book):
    # Today (2026-11-23): acme red, beta amber, core green, dune never scored; gone churned.
    assert book.json("report", "health") == [
        {"band": "red", "customers": 1, "arr": 100_000, "arr_share": 0.5556},
        {"band": "amber", "customers": 1, "arr": 50_000, "arr_share": 0.2778},
        {"band": "green", "customers": 1, "arr": 20_000, "arr_share": 0.1111},
        {"band": "unscored", "customers": 1, "arr": 10_000, "arr_share": 0.0556},
    ]


def test_by_stage_in_lifecycle_order(book):
    rows = {row["stage"]: row for row in book.json("report", "health", "--by", "stage")}
    assert "churned" not in rows
    assert rows["onboarding"] == {
        "stage": "onboarding", "customers": 2, "red": 0, "amber": 0, "green": 1, "unscored": 1,
        "arr": 30_000, "red_arr": 0, "amber_arr": 0, "green_arr": 20_000, "unscored_arr": 10_000,
    }  # fmt: skip
    assert rows["adopting"] == {
        "stage": "adopting", "customers": 2, "red": 1, "amber": 1, "green": 0, "unscored": 0,
        "arr": 150_000, "red_arr": 100_000, "amber_arr": 50_000, "green_arr": 0,
        "unscored_arr": 0,
    }  # fmt: skip
    assert rows["lead"]["customers"] == 0


def test_the_trend_counts_each_band_week_by_week_over_90_days(book):
    csv = book("report", "health", "--by", "trend", "--format", "csv").stdout.splitlines()
    assert csv == [
        "on,red,amber,green,unscored",
        "2026-08-31,0,0,0,0",  # nobody yet
        *(f"2026-09-{d},1,0,2,2" for d in ("07", "14", "21", "28")),  # gone red, acme, core
        *(f"2026-10-{d},1,1,2,1" for d in ("05", "12")),  # beta amber from 10-01
        *(f"2026-{d},0,1,2,1" for d in ("10-19", "10-26", "11-02", "11-09")),  # gone churned
        *(f"2026-11-{d},1,1,1,1" for d in ("16", "23")),  # acme red from 11-10
    ]


def test_as_of_reads_stage_health_and_arr_from_the_history(book):
    assert book.json("report", "health", "--as-of", "2026-10-12") == [
        {"band": "red", "customers": 1, "arr": 5_000, "arr_share": 0.027},
        {"band": "amber", "customers": 1, "arr": 50_000, "arr_share": 0.2703},
        {"band": "green", "customers": 2, "arr": 120_000, "arr_share": 0.6486},
        {"band": "unscored", "customers": 1, "arr": 10_000, "arr_share": 0.0541},
    ]
    trend = book.json("report", "health", "--by", "trend", "--as-of", "2026-10-12")
    assert (trend[0]["on"], trend[-1]["on"]) == ("2026-07-20", "2026-10-12")


def test_the_page_shows_every_part_and_the_revenue_at_risk(book, tmp_path):
    page = book("report", "health").stdout
    assert "Revenue at risk (red): 100,000 ARR, 1 customer" in page
    for heading in ("Health by band", "Health by stage", "Health over 90 days"):
        assert heading in page
    book("report", "health", "--svg", tmp_path / "health.svg")
    picture = (tmp_path / "health.svg").read_text()
    assert "Revenue" in picture and "#terminal" in picture  # (its spaces are &#160;)


def test_the_scorecards_bands_decide(book, tmp_path):
    book("metric", "add", "logins")
    model = book("model", "export").stdout + (
        "\n[scorecard]\nbands = { amber = 20, green = 60 }\n\n"
        '[[scorecard.measures]]\nmetric = "logins"\nscale = [0, 20]\n'
    )
    (tmp_path / "model.toml").write_text(model)
    book("model", "apply", tmp_path / "model.toml")
    counts = {row["band"]: row["customers"] for row in book.json("report", "health")}
    # acme 30 and beta 55 are amber now, core 90 green.
    assert counts == {"red": 0, "amber": 2, "green": 1, "unscored": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--by", "owner"), "invalid --by 'owner': use band, stage, trend"),
        (("--as-of", "2027-01-01"), "invalid --as-of 2027-01-01: it must not be after today"),
    ],
)
def test_bad_options_are_refused(book, db_path, args, message):
    before = dump(db_path)
    assert message in book.error("report", "health", *args)
    assert dump(db_path) == before


def test_the_dashboard_has_a_health_section_drawn_without_script(book, tmp_path):
    book("report", "dashboard", "--html", tmp_path / "book.html")
    page = (tmp_path / "book.html").read_text()
    section = page[page.index('<h2 id="health">') : page.index('<h2 id="lifecycle">')]
    assert "<script" not in page
    # A tile per band with its customers and ARR; the ARR chart and the weekly columns.
    assert "Red<b>1</b>ARR 100,000" in section and "Unscored<b>1</b>ARR 10,000" in section
    assert 'aria-label="ARR by health band"' in section
    assert "<title>2026-11-23: 1 red</title>" in section
    assert "<td>adopting</td><td class=n>2</td><td class=n>1</td>" in section


def test_the_trend_equals_a_single_day_report_on_each_of_its_days(book):
    # More history: health set twice on one day (the later holds), a win-back, a move back
    # and forth, a customer removed, one scored before it moved into the book's stages.
    book("--today", "2026-09-10", "customer", "edit", "dune", "--health", "20")
    book("--today", "2026-09-10", "customer", "edit", "dune", "--health", "75")
    book("--today", "2026-09-20", "customer", "add", "Echo", "--stage", "lead", "--health", "5")
    book("--today", "2026-10-03", "customer", "move", "echo", "onboarding")
    book("--today", "2026-10-03", "customer", "move", "echo", "lead", "--reason", "too soon")
    book("--today", "2026-10-20", "customer", "move", "echo", "onboarding")
    book("--today", "2026-10-20", "customer", "edit", "core", "--health", "45")
    book("--today", "2026-10-21", "customer", "add", "Fade", "--stage", "adopting")
    book("--today", "2026-11-02", "customer", "move", "gone", "onboarding", "--reason", "back")
    book("--today", "2026-11-05", "customer", "edit", "gone", "--health", "95")
    book("--today", "2026-11-12", "customer", "rm", "fade", "--yes")
    book("--today", "2026-11-16", "customer", "edit", "dune", "--health", "40")
    for last in ("2026-11-23", "2026-10-20", "2026-09-03"):
        trend = book.json("report", "health", "--by", "trend", "--as-of", last)
        assert len(trend) == 13 and trend[-1]["on"] == last
        for row in trend:
            bands = book.json("report", "health", "--as-of", row["on"])
            assert row == {"on": row["on"]} | {b["band"]: b["customers"] for b in bands}
