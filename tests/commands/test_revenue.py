"""Revenue: the ARR history and the reports read from it (retention, churn, forecast,
cohorts), on a small book built day by day whose figures are worked out by hand below."""

import csv
import io
import json

import pytest

from tests.commands.test_report import rows
from tests.conftest import clm_alone

# The book, each line on its own day (CLM_TODAY), owners alice and bob (customer success):
#   01-05  add acme 100,000 (alice), beta 50,000 (bob), gamma 20,000 (alice, health 80)
#   02-10  add delta 40,000 (bob)
#   04-10  acme's ARR to 120,000                     expansion   +20,000
#   05-10  beta churns (budget), left adopting       churn       -50,000
#   05-20  add epsilon 30,000 (alice)                new         +30,000
#   06-01  gamma renews at 16,000                    contraction  -4,000
#   08-15  delta churns (competitor)                 churn       -40,000
#   09-01  beta won back (start 09-01)               reactivation +50,000
#   10-05  epsilon's ARR to 36,000                   expansion    +6,000
#   10-05  add zeta 10,000 (bob, health 30), renewing 2026-12-15
# Today is then 2026-11-23.
STEPS = (
    ("2026-01-05", ("customer", "add", "acme", "--arr", 100000, "--owner", "alice")),
    ("2026-01-05", ("customer", "add", "beta", "--arr", 50000, "--owner", "bob")),
    ("2026-01-05", ("customer", "add", "gamma", "--arr", 20000, "--owner", "alice",
                    "--health", 80)),
    ("2026-02-10", ("customer", "add", "delta", "--arr", 40000, "--owner", "bob")),
    ("2026-04-10", ("customer", "edit", "acme", "--arr", 120000)),
    ("2026-05-10", ("customer", "move", "beta", "churned", "--reason", "budget")),
    ("2026-05-20", ("customer", "add", "epsilon", "--arr", 30000, "--owner", "alice")),
    ("2026-06-01", ("customer", "renew", "gamma", "--arr", 16000)),
    ("2026-08-15", ("customer", "move", "delta", "churned", "--reason", "competitor")),
    ("2026-09-01", ("customer", "move", "beta", "adopting", "--reason", "won back")),
    ("2026-10-05", ("customer", "edit", "epsilon", "--arr", 36000)),
    ("2026-10-05", ("customer", "add", "zeta", "--arr", 10000, "--owner", "bob",
                    "--health", 30, "--renewal", "2026-12-15")),
)  # fmt: skip
SNAPSHOTS = ("2026-03-31", "2026-05-15", "2026-06-30", "2026-08-31", "2026-09-30")


@pytest.fixture
def book(team, monkeypatch):
    """The book above, and `report stages` as it stood at each snapshot day (to compare with
    `--as-of` once the book is complete)."""
    clm = team
    seen = {}
    pending = list(SNAPSHOTS)
    for day, args in STEPS:
        while pending and pending[0] < day:
            monkeypatch.setenv("CLM_TODAY", pending[0])
            seen[pending[0]] = clm.json("report", "stages")
            pending.pop(0)
        monkeypatch.setenv("CLM_TODAY", day)
        if args[:2] == ("customer", "add"):
            args = (*args, "--stage", "adopting")
        clm(*args)
    monkeypatch.setenv("CLM_TODAY", "2026-11-23")
    clm.snapshots = seen
    return clm


def by_group(found: list[dict]) -> dict:
    return {(row["period"], row["group"]): row for row in found}


def test_retention_of_a_quarter_matches_the_figures_worked_by_hand(book):
    # 2026Q2. The book on 03-31: acme 100k, beta 50k, gamma 20k, delta 40k = 210,000, 4 logos.
    # expansion acme +20,000; contraction gamma 4,000; churned beta 50,000;
    # ending 210 + 20 - 4 - 50 = 176,000. GRR (210 - 4 - 50) / 210 = 156/210 = 0.742857;
    # NRR 176/210 = 0.838095. New ARR (not in the cohort): epsilon 30,000. Lost: beta.
    [row] = rows(book, "retention", "--period", "2026Q2")
    assert row == {
        "period": "2026Q2", "group": "all", "starting_arr": 210000, "expansion": 20000,
        "contraction": 4000, "churned_arr": 50000, "ending_arr": 176000, "grr": 0.7429,
        "nrr": 0.8381, "new_arr": 30000, "logos": 4, "logos_lost": 1,
    }  # fmt: skip


def test_retention_per_quarter_over_a_year(book):
    # 2026Q1: an empty book on 12-31: no cohort; new ARR 100 + 50 + 20 + 40 = 210,000.
    # 2026Q3: the book on 06-30: acme 120k, gamma 16k, delta 40k, epsilon 30k = 206,000
    #   (beta churned); delta churns 40,000: ending 166,000; GRR = NRR = 166/206 = 0.805825.
    #   Beta won back is new ARR, 50,000 (it was not on the book when the quarter began).
    # 2026Q4 to date: the book on 09-30: acme 120k, beta 50k, gamma 16k, epsilon 30k =
    #   216,000; epsilon +6,000: ending 222,000; GRR 1, NRR 222/216 = 1.027778. New: zeta 10k.
    found = by_group(rows(book, "retention", "--period", "2026", "--every", "quarter"))
    assert list(found) == [(q, "all") for q in ("2026Q1", "2026Q2", "2026Q3", "2026Q4")]
    q1, q3, q4 = found["2026Q1", "all"], found["2026Q3", "all"], found["2026Q4", "all"]
    assert (q1["starting_arr"], q1["new_arr"], q1["grr"], q1["nrr"]) == (0, 210000, None, None)
    assert (q3["starting_arr"], q3["churned_arr"], q3["ending_arr"]) == (206000, 40000, 166000)
    assert (q3["grr"], q3["nrr"], q3["new_arr"], q3["logos_lost"]) == (0.8058, 0.8058, 50000, 1)
    assert (q4["starting_arr"], q4["expansion"], q4["ending_arr"]) == (216000, 6000, 222000)
    assert (q4["grr"], q4["nrr"], q4["new_arr"], q4["logos"]) == (1, 1.0278, 10000, 4)
    # The default period is this quarter to date: the same figures as 2026Q4's.
    [default] = rows(book, "retention")
    assert default | {"period": "2026Q4"} == q4


def test_retention_by_owner(book):
    # 2026Q2 by owner. alice: acme 100k + gamma 20k = 120,000; +20,000, -4,000: 136,000;
    # GRR 116/120 = 0.966667, NRR 136/120 = 1.133333; epsilon's 30,000 new.
    # bob: beta 50k + delta 40k = 90,000; beta churns: 40,000; GRR = NRR = 40/90 = 0.444444.
    found = by_group(rows(book, "retention", "--period", "2026-04..2026-06", "--by", "owner"))
    alice, bob = found["2026Q2", "alice"], found["2026Q2", "bob"]
    assert (alice["starting_arr"], alice["ending_arr"], alice["new_arr"]) == (120000, 136000, 30000)
    assert (alice["grr"], alice["nrr"]) == (0.9667, 1.1333)
    assert (bob["starting_arr"], bob["churned_arr"], bob["grr"], bob["nrr"]) == (
        90000, 50000, 0.4444, 0.4444,
    )  # fmt: skip
    assert found["2026Q2", "all"]["starting_arr"] == 210000


def test_churn_by_reason_stage_owner_and_tenure(book):
    # beta: budget, 50,000, left adopting, bob's, 01-05 to 05-10 = 125 days (3-6 months);
    # delta: competitor, 40,000, left adopting, bob's, 02-10 to 08-15 = 186 days (6-12 months).
    found = rows(book, "churn", "--period", "2026")
    assert found == [
        {"by": "reason", "value": "budget", "customers": 1, "arr": 50000},
        {"by": "reason", "value": "competitor", "customers": 1, "arr": 40000},
        {"by": "stage_left", "value": "adopting", "customers": 2, "arr": 90000},
        {"by": "owner", "value": "bob", "customers": 2, "arr": 90000},
        {"by": "tenure", "value": "3-6 months", "customers": 1, "arr": 50000},
        {"by": "tenure", "value": "6-12 months", "customers": 1, "arr": 40000},
        {"by": "total", "value": "all", "customers": 2, "arr": 90000},
    ]
    # The default period, this quarter to date, had no churn.
    assert rows(book, "churn") == [{"by": "total", "value": "all", "customers": 0, "arr": 0}]
    out = book("report", "churn", "--period", "2026Q3").stdout
    assert "competitor" in out and "1 customers churned, lost ARR 40,000" in out


def test_forecast_by_hand_and_from_health(book):
    # Renewals: zeta 2026-12-15 (health 30: at risk), acme 2027-01-05 (no health: likely),
    # epsilon 2027-05-20, beta 2027-09-01 (won back 09-01), gamma 2028-01-05 (renewed).
    found = rows(book, "forecast")
    assert [(r["period"], r["customer"], r["forecast"], r["set_by"], r["arr"]) for r in found] == [
        ("2026Q4", "zeta", "at-risk", "health", 10000),
        ("2027Q1", "acme", "likely", "health", 120000),
    ]
    book("customer", "edit", "acme", "--forecast", "commit")
    book("customer", "edit", "beta", "--forecast", "Lost")
    found = rows(book, "forecast", "--quarters", "4")
    assert [(r["customer"], r["forecast"], r["set_by"]) for r in found] == [
        ("zeta", "at-risk", "health"), ("acme", "commit", "hand"),
        ("epsilon", "likely", "health"), ("beta", "lost", "hand"),
    ]  # fmt: skip
    out = book("report", "forecast", "--quarters", "4").stdout
    assert "Revenue at risk (at-risk and lost): 60,000" in out  # zeta 10,000 + beta 50,000
    book("customer", "edit", "beta", "--forecast", "auto")
    assert rows(book, "forecast", "--quarters", "4")[-1]["forecast"] == "likely"


def test_cohorts_by_start_quarter(book):
    # 2026Q1: acme, gamma, delta (beta's start moved to 09-01 when won back): first ARR
    #   100 + 20 + 40 = 160,000; live now acme 120k + gamma 16k = 136,000 (0.85); 2 of 3 live.
    # 2026Q2: epsilon 30,000 -> 36,000 (1.2). 2026Q3: beta 50,000, live. 2026Q4: zeta 10,000.
    found = rows(book, "cohorts", "--by", "start-quarter")
    assert [tuple(row.values()) for row in found] == [
        ("2026Q1", 3, 2, 0.6667, 160000, 136000, 0.85),
        ("2026Q2", 1, 1, 1, 30000, 36000, 1.2),
        ("2026Q3", 1, 1, 1, 50000, 50000, 1),
        ("2026Q4", 1, 1, 1, 10000, 10000, 1),
    ]


def test_as_of_matches_the_book_built_up_to_that_day(book):
    for day, seen in book.snapshots.items():
        assert book.json("report", "stages", "--as-of", day) == seen, day
    # On 06-30: acme 120k, gamma 16k, delta 40k, epsilon 30k live; beta churned, 50k lost.
    june = {row["stage"]: row["arr"] for row in book.snapshots["2026-06-30"]}
    assert (june["adopting"], june["churned"]) == (206000, 50000)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "table"])
def test_every_revenue_report_in_every_format(book, fmt):
    for report in (("retention", "--period", "2026Q2"), ("churn", "--period", "2026"),
                   ("forecast",), ("cohorts",)):  # fmt: skip
        out = book("report", *report, "--format", fmt).stdout
        assert out.strip(), report
    assert (
        "2026Q2,all,210000,20000,4000,50000,176000,0.7429,0.8381,30000,4,1"
        in book("report", "retention", "--period", "2026Q2", "--format", "csv").stdout
    )
    out = book("report", "retention", "--period", "2026Q2").stdout
    assert "74.3%" in out and "83.8%" in out


def test_revenue_reports_save_pictures(book, tmp_path):
    book("report", "retention", "--period", "2026", "--svg", tmp_path / "r.svg")
    assert "<svg" in (tmp_path / "r.svg").read_text()


def test_the_arr_history_has_each_change_with_its_kind(book):
    from tests.conftest import sql

    history = sql(
        __import__("os").environ["CLM_DB"],
        'SELECT c.slug, a."on", a.kind, a.arr, a.change FROM arr_log a '
        "JOIN customers c ON c.id = a.customer_id ORDER BY a.id",
    )
    assert [(slug, str(on), kind, arr, change) for slug, on, kind, arr, change in history] == [
        ("acme", "2026-01-05", "new", 100000, 100000),
        ("beta", "2026-01-05", "new", 50000, 50000),
        ("gamma", "2026-01-05", "new", 20000, 20000),
        ("delta", "2026-02-10", "new", 40000, 40000),
        ("acme", "2026-04-10", "expansion", 120000, 20000),
        ("beta", "2026-05-10", "churn", 50000, -50000),
        ("epsilon", "2026-05-20", "new", 30000, 30000),
        ("gamma", "2026-06-01", "contraction", 16000, -4000),
        ("delta", "2026-08-15", "churn", 40000, -40000),
        ("beta", "2026-09-01", "reactivation", 50000, 50000),
        ("epsilon", "2026-10-05", "expansion", 36000, 6000),
        ("zeta", "2026-10-05", "new", 10000, 10000),
    ]


def test_renew_says_the_new_arr(team):
    team("customer", "add", "acme", "--arr", 1000, "--stage", "adopting")
    out = team("customer", "renew", "acme", "--arr", 1500).stderr
    assert "ARR 1,500 (was 1,000)." in out
    assert team.json("customer", "list")[0]["arr"] == 1500


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "retention", "--period", "2026Q5"), "invalid --period '2026Q5': use a year"),
        (("report", "retention", "--period", "2027"), "after today (2026-11-23)"),
        (("report", "retention", "--by", "colour"), "invalid --by 'colour': use owner, team"),
        (("report", "retention", "--every", "week"), "invalid --every '1w'"),
        (("report", "churn", "--period", "2026-10..2026-09"), "it ends (2026-09-30) before"),
        (("report", "cohorts", "--by", "owner"), "invalid --by 'owner': use start-quarter"),
        (("customer", "edit", "acme", "--forecast", "maybe"), "invalid --forecast 'maybe'"),
        (("customer", "renew", "acme", "--arr", "-5"), "invalid ARR -5.0"),
    ],
)
def test_bad_input_is_one_error_line_and_changes_nothing(team, db_path, args, message):
    from tests.conftest import dump

    team("customer", "add", "acme", "--arr", 1000, "--stage", "adopting")
    before = dump(db_path)
    assert message in team.error(*args)
    assert dump(db_path) == before


def test_a_churned_customer_renews_at_no_new_arr(team):
    team("customer", "add", "acme", "--arr", 1000, "--stage", "adopting")
    team("customer", "move", "acme", "churned", "--reason", "budget")
    assert "it is in churned" in team.error("customer", "renew", "acme", "--arr", 2000)


def test_imported_arr_is_new_business_and_its_changes_are_kept(team, tmp_path):
    path = tmp_path / "book.csv"
    path.write_text("slug,name,stage,arr\nacme,Acme,adopting,1000\nbeta,Beta,churned,500\n")
    team("import", "customers", path)
    path.write_text("slug,name,stage,arr\nacme,Acme,adopting,800\nbeta,Beta,adopting,500\n")
    team("import", "customers", path)
    [row] = rows(team, "retention", "--period", "2026-11-23..2026-11-23")
    # Both came and changed today: no cohort; the live book is acme 800 + beta 500 (back).
    assert (row["starting_arr"], row["new_arr"]) == (0, 1300)
    kinds = [r["kind"] for r in json.loads(team("export", "arr", "--format", "json").stdout)]
    assert kinds == ["new", "new", "churn", "contraction", "reactivation"]


def test_the_dashboard_has_a_revenue_section(book, tmp_path):
    # Since 04-01: the book on 03-31, 210,000; acme +20,000; gamma -4,000; delta churns
    # 40,000; beta churns and is won back within the period (net 0). Ending 120 + 50 + 16 =
    # 186,000. GRR (210 - 4 - 40) / 210 = 79.0%; NRR 186/210 = 88.6%.
    page = tmp_path / "book.html"
    book("report", "dashboard", "--html", page, "--since", "2026-04-01")
    html = page.read_text()
    assert "Revenue since 2026-04-01" in html
    assert "GRR<b>79.0%</b>" in html and "NRR<b>88.6%</b>" in html
    assert 'aria-label="Churned ARR by reason"' in html and ">competitor</text>" in html
    assert "<script" not in html
    # Without --since: this quarter to date (epsilon +6,000 on 216,000: NRR 102.8%).
    book("report", "dashboard", "--html", page, "--force")
    html = page.read_text()
    assert "Revenue since 2026-10-01" in html and "NRR<b>102.8%</b>" in html


@pytest.mark.sqlite_only("merging is for SQLite files")
def test_a_merged_copy_brings_its_arr_history(team, tmp_path, db_path):
    import shutil

    team("customer", "add", "acme", "--arr", 1000, "--stage", "adopting")
    copy = tmp_path / "clm (Mia's conflicted copy).db"
    shutil.copyfile(db_path, copy)
    team("customer", "edit", "acme", "--arr", 1200)  # here: an expansion
    team("--db", copy, "customer", "add", "beta", "--arr", 500, "--stage", "adopting")  # there
    assert "arr_log: 1 added" in team("db", "merge", copy).stdout
    [row] = rows(team, "retention", "--period", "2026-11-23..2026-11-23")
    assert (row["new_arr"], row["logos"]) == (1700, 0)  # acme 1,200 and beta 500, both new today


def test_customer_show_has_the_arr_history_and_the_forecast(book):
    # beta: new 50,000 on 01-05, churned 05-10 (to nothing), won back 09-01 (from nothing);
    # renewing 2027-09-01 with no health: likely, from health.
    shown = book.json("customer", "show", "beta")
    assert shown["arr_history"] == [
        {"on": "2026-01-05", "kind": "new", "old": 0, "new": 50000, "change": 50000},
        {"on": "2026-05-10", "kind": "churn", "old": 50000, "new": 0, "change": -50000},
        {"on": "2026-09-01", "kind": "reactivation", "old": 0, "new": 50000, "change": 50000},
    ]
    assert (shown["forecast"], shown["forecast_set_by"]) == ("likely", "health")
    # gamma renewed at 16,000 on 06-01; health 80: commit.
    out = book("customer", "show", "gamma").stdout
    details = [" ".join(line.split()) for line in out.splitlines()]
    assert "forecast commit" in details and "forecast set by health" in details
    assert (
        "ARR history\n"
        "on           kind          old ARR   new ARR   change to the book\n"
        "-----------------------------------------------------------------\n"
        "2026-01-05   new                 0    20,000               20,000\n"
        "2026-06-01   contraction    20,000    16,000               -4,000\n"
    ) in out
    book("customer", "edit", "gamma", "--forecast", "lost")
    out = book("customer", "show", "gamma", "--format", "csv").stdout
    [row] = csv.DictReader(io.StringIO(out))
    assert (row["forecast"], row["forecast_set_by"]) == ("lost", "hand")
    assert row["arr_history"] == "2026-01-05 new 0 → 20000;2026-06-01 contraction 20000 → 16000"


def test_a_churned_customer_shows_no_forecast_and_its_arr_edits(book):
    # delta churned on 08-15; its ARR edited since changes its contract, not the live book.
    book("customer", "edit", "delta", "--arr", 30000)
    line = json.loads(book("customer", "show", "delta", "--format", "jsonl").stdout)
    assert (line["forecast"], line["forecast_set_by"]) == (None, None)
    assert line["arr_history"] == [
        "2026-02-10 new 0 → 40000", "2026-08-15 churn 40000 → 0",
        "2026-11-23 contraction 40000 → 30000",
    ]  # fmt: skip
    changes = book.json("customer", "show", "delta")["arr_history"]
    assert [c["change"] for c in changes] == [40000, -40000, 0]


@pytest.mark.parametrize("by", ["owner", "tag"])
def test_retention_per_quarter_by_group_totals_match_the_book(book, by):
    # One scan measures every quarter: each quarter's `all` row is the book's, whether summed
    # from the owners (each customer has one) or counted apart (a customer has many tags).
    book("customer", "edit", "acme", "--tag", "enterprise", "--tag", "emea")
    whole = by_group(rows(book, "retention", "--period", "2026", "--every", "quarter"))
    found = by_group(rows(book, "retention", "--period", "2026", "--every", "quarter", "--by", by))
    for quarter in ("2026Q1", "2026Q2", "2026Q3", "2026Q4"):
        assert found[quarter, "all"] == whole[quarter, "all"], quarter
    if by == "owner":
        assert found["2026Q2", "alice"]["nrr"] == 1.1333  # as worked out in test_retention_by_owner
    else:
        assert found["2026Q3", "emea"]["starting_arr"] == 120000  # acme's on 06-30


@pytest.mark.parametrize(
    ("by", "every"), [("owner", "quarter"), ("owner", "month"), ("tag", "quarter")]
)
def test_retention_every_period_matches_each_period_measured_alone(book, by, every):
    # Periods measured together share their boundaries (a quarter's end is the next one's
    # start) and work out churn from the rest of the change: each period's rows, its groups'
    # and its total, are those of the period measured on its own.
    book("customer", "edit", "acme", "--tag", "enterprise", "--tag", "emea")
    book("customer", "edit", "delta", "--tag", "emea")
    every_rows = rows(book, "retention", "--period", "2026", "--every", every, "--by", by)
    periods = list(dict.fromkeys(row["period"] for row in every_rows))
    assert len(periods) == (4 if every == "quarter" else 11)  # up to today, 2026-11-23
    alone = [row for period in periods
             for row in rows(book, "retention", "--period", period, "--by", by)]  # fmt: skip
    assert every_rows == alone


@pytest.mark.sqlite_only("the sqlite3 module's path and the engine's, on one file")
def test_retention_reads_the_same_without_the_engine(book, db_path):
    # On a file, retention runs statements compiled ahead through the sqlite3 module (a scan
    # of up to four periods) or compiled when it runs (more); a journal beside the file makes
    # it open the usual way, through the engine: the same report either way.
    book("customer", "edit", "acme", "--tag", "enterprise", "--tag", "emea")
    forms = [("--period", "2026", "--every", "quarter", "--by", "owner"),
             ("--period", "2026", "--every", "month", "--by", "team"),
             ("--period", "2026Q2", "--by", "tag"), ("--period", "2026", "--by", "stage"),
             ("--period", "2026", "--every", "quarter", "-f", "csv"), ()]  # fmt: skip
    fast = [book("report", "retention", *form).stdout for form in forms]
    journal = db_path.with_name(f"{db_path.name}-journal")
    journal.write_bytes(b"")  # not a hot journal: the engine opens the file as usual
    try:
        usual = [book("report", "retention", *form).stdout for form in forms]
    finally:
        journal.unlink()
    assert fast == usual
    assert "2026Q2   alice" in fast[0]


@pytest.mark.sqlite_only("a file read without the engine")
def test_retention_on_a_file_does_not_load_sqlalchemy(book, db_path):
    by_owner = ("--every", "quarter", "--by", "owner")
    loaded, out = clm_alone("--db", db_path, "report", "retention", "--period", "2026", *by_owner)
    assert not loaded
    assert "2026Q4   all" in out
