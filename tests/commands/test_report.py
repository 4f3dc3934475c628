"""`clm report …` on a small book whose answers are worked out by hand (today 2026-11-23)."""

import csv
import io
import json
import os

import pytest

from clm.render.output import _plain
from tests.conftest import clm_alone

STAGE_ORDER = [
    "lead", "prospect", "onboarding", "launched", "adopting", "renewal", "will-churn", "churned",
]  # fmt: skip


@pytest.fixture
def book(team):
    """Six customers with a known history.

    alpha  onboarding 01-01 → launched 01-11 (10 d) → adopting 03-12 (60 d)
    beta   onboarding 02-01 → launched 02-21 (20 d), still there (275 d, SLA 60)
    gamma  onboarding 03-01 → launched 04-10 (40 d) → back to onboarding 05-01 (21 d), still
           there (206 d, SLA 30)
    delta  onboarding 11-03, still there (20 d); renews 2026-12-13
    eps    lead 06-01 → prospect 06-11 (10 d; marketing → sales: a handoff), still there (165 d)
    zeta   onboarding 2025-12-01 → churned 07-01 (212 d), churned since (145 d)
    """
    clm = team
    for name, start, arr, extra in (
        ("alpha", "2026-01-01", 10000, ()),
        ("beta", "2026-02-01", 20000, ()),
        ("gamma", "2026-03-01", 30000, ()),
        ("delta", "2026-11-03", 40000, ("--renewal", "2026-12-13")),
        ("eps", "2026-06-01", None, ("--stage", "lead")),
        ("zeta", "2025-12-01", 50000, ()),
    ):
        arr_option = ("--arr", arr) if arr is not None else ()
        clm("customer", "add", name, "--start", start, *arr_option, *extra)
    for slug, stage, on, *reason in (
        ("alpha", "launched", "2026-01-11"),
        ("alpha", "adopting", "2026-03-12"),
        ("beta", "launched", "2026-02-21"),
        ("gamma", "launched", "2026-04-10"),
        ("gamma", "onboarding", "2026-05-01", "--reason", "restart"),
        ("eps", "prospect", "2026-06-11"),
        ("zeta", "churned", "2026-07-01", "--reason", "budget"),
    ):
        clm("customer", "move", slug, stage, "--on", on, *reason)
    return clm


def rows(clm, *args, fmt="json"):
    """A report's rows, read back from `fmt` (csv/tsv cells stay text)."""
    out = clm("report", *args, "--format", fmt).stdout
    if fmt == "json":
        return json.loads(out)
    if fmt == "jsonl":
        return [json.loads(line) for line in out.splitlines()]
    return list(csv.DictReader(io.StringIO(out), delimiter="\t" if fmt == "tsv" else ","))


def as_text(records: list[dict]) -> list[dict]:
    """JSON rows as csv/tsv cells."""
    return [{key: _plain(value) for key, value in record.items()} for record in records]


def by_stage(records: list[dict]) -> dict:
    return {record.pop("stage"): record for record in records}


def test_stages_counts_customers_and_arr_in_lifecycle_order(book):
    assert by_stage(rows(book, "stages")) == {
        "lead": {"customers": 0, "arr": 0, "terminal": False},
        "prospect": {"customers": 1, "arr": 0, "terminal": False},
        "onboarding": {"customers": 2, "arr": 70000, "terminal": False},
        "launched": {"customers": 1, "arr": 20000, "terminal": False},
        "adopting": {"customers": 1, "arr": 10000, "terminal": False},
        "renewal": {"customers": 0, "arr": 0, "terminal": False},
        "will-churn": {"customers": 0, "arr": 0, "terminal": False},
        "churned": {"customers": 1, "arr": 50000, "terminal": True},
    }
    assert [row["stage"] for row in rows(book, "stages")] == STAGE_ORDER


def test_stages_as_of_rebuilds_the_book_from_the_history(book):
    found = rows(book, "stages", "--as-of", "2026-04-30")
    counts = {r["stage"]: (r["customers"], r["arr"]) for r in found}
    assert counts == {
        "lead": (0, 0), "prospect": (0, 0), "onboarding": (1, 50000), "launched": (2, 50000),
        "adopting": (1, 10000), "renewal": (0, 0), "will-churn": (0, 0), "churned": (0, 0),
    }  # fmt: skip
    # Today's book, rebuilt from the history, is today's book.
    assert rows(book, "stages", "--as-of", "today") == rows(book, "stages")


def test_stages_table_has_a_total_and_no_bars_in_a_pipe(book):
    out = book("report", "stages").stdout
    assert out.splitlines()[0] == "Customers per stage"
    assert "onboarding           2        70,000" in out
    assert "churned              1   lost 50,000" in out
    # The churned customer's ARR is lost ARR: out of the total.
    assert out.splitlines()[-1] == (
        "5 customers, ARR 100,000 (not counted: 1 churned, lost ARR 50,000)"
    )
    assert "█" not in out


FUNNEL = {
    "lead": {"entered": 1, "moved_on": 1, "conversion": 1.0, "median_days": 10},
    "prospect": {"entered": 1, "moved_on": 0, "conversion": 0.0, "median_days": None},
    # alpha 10, beta 20, gamma 40 days; gamma again and delta still there; zeta churned (no
    # progress). Gamma entered twice: entries count, not customers.
    "onboarding": {"entered": 6, "moved_on": 3, "conversion": 0.5, "median_days": 20},
    "launched": {"entered": 3, "moved_on": 1, "conversion": 0.333, "median_days": 60},
    "adopting": {"entered": 1, "moved_on": 0, "conversion": 0.0, "median_days": None},
    "renewal": {"entered": 0, "moved_on": 0, "conversion": None, "median_days": None},
    "will-churn": {"entered": 0, "moved_on": 0, "conversion": None, "median_days": None},
    "churned": {"entered": 1, "moved_on": 0, "conversion": 0.0, "median_days": None},
}


def test_funnel_counts_entries_moves_on_and_median_days(book):
    assert by_stage(rows(book, "funnel")) == FUNNEL


def test_funnel_since_and_as_of(book):
    since = by_stage(rows(book, "funnel", "--since", "2026-02-01"))
    # beta 20 and gamma 40 days (gamma's second entry still open, delta too): median 30.
    assert since["onboarding"] == {"entered": 4, "moved_on": 2, "conversion": 0.5,
                                   "median_days": 30}  # fmt: skip
    assert since["launched"] == {"entered": 2, "moved_on": 0, "conversion": 0.0,
                                 "median_days": None}  # fmt: skip
    as_of = by_stage(rows(book, "funnel", "--as-of", "2026-03-31"))
    assert as_of["onboarding"] == {"entered": 4, "moved_on": 2, "conversion": 0.5,
                                   "median_days": 15}  # fmt: skip
    assert as_of["launched"] == {"entered": 2, "moved_on": 1, "conversion": 0.5,
                                 "median_days": 60}  # fmt: skip
    assert as_of["prospect"]["entered"] == 0


TIME = {
    # onboarding stays 10, 20, 20 (delta, open), 40, 206 (gamma, open), 212: median (20+40)/2.
    "lead": {"customers": 0, "median_days": 10, "p90_days": 10, "expected_days": None, "over": 0},
    "prospect": {"customers": 1, "median_days": 165, "p90_days": 165, "expected_days": None,
                 "over": 0},
    "onboarding": {"customers": 2, "median_days": 30, "p90_days": 212, "expected_days": 30,
                   "over": 1},
    "launched": {"customers": 1, "median_days": 60, "p90_days": 275, "expected_days": 60,
                 "over": 1},
    "adopting": {"customers": 1, "median_days": 256, "p90_days": 256, "expected_days": None,
                 "over": 0},
    "renewal": {"customers": 0, "median_days": None, "p90_days": None, "expected_days": 90,
                "over": 0},
    "will-churn": {"customers": 0, "median_days": None, "p90_days": None, "expected_days": None,
                   "over": 0},
    "churned": {"customers": 1, "median_days": 145, "p90_days": 145, "expected_days": None,
                "over": 0},
}  # fmt: skip
OVER = [
    {"customer": "beta", "stage": "launched", "owner": "alice", "days_in_stage": 275,
     "expected_days": 60, "days_over": 215},
    {"customer": "gamma", "stage": "onboarding", "owner": "alice", "days_in_stage": 206,
     "expected_days": 30, "days_over": 176},
]  # fmt: skip


def test_time_in_stage_median_p90_and_who_is_over(book):
    assert by_stage(rows(book, "time-in-stage")) == TIME
    assert rows(book, "time-in-stage", "--over") == OVER
    out = book("report", "time-in-stage").stdout
    assert "Customers over their stage's SLA" in out
    assert "beta       launched     alice             275         60         215" in out


@pytest.mark.parametrize("span", [1, 2, 4])
def test_the_stays_read_a_slice_of_customers_at_a_time_count_the_same(book, monkeypatch, span):
    """The stays are read as text a few customer ids at a time (so what is held does not grow
    with the history): however the book is cut, the figures are the whole book's."""
    import clm.domain.stay_counts

    asked = (
        ("funnel",),
        ("funnel", "--since", "2026-02-01", "--as-of", "2026-06-30"),
        ("time-in-stage",),
    )
    whole = [rows(book, *args) for args in asked]
    monkeypatch.setattr(clm.domain.stay_counts, "CUSTOMERS_PER_TEXT", span)
    assert [rows(book, *args) for args in asked] == whole
    assert by_stage(whole[0]) == FUNNEL and by_stage(whole[2]) == TIME


@pytest.mark.sqlite_only("the sqlite3 module's path and the engine's, on one file")
def test_the_funnel_and_time_in_stage_read_the_same_without_the_engine(book, db_path):
    # On a file they run statements compiled ahead through the sqlite3 module; a journal
    # beside the file makes them open it the usual way, through the engine.
    forms = [("funnel",), ("funnel", "--since", "2026-02-01"),
             ("funnel", "--as-of", "2026-06-30", "-f", "csv"),
             ("funnel", "--since", "2026-02-01", "--as-of", "2026-06-30", "-f", "json"),
             ("time-in-stage",), ("time-in-stage", "-f", "json")]  # fmt: skip
    fast = [book("report", *form).stdout for form in forms]
    journal = db_path.with_name(f"{db_path.name}-journal")
    journal.write_bytes(b"")  # not a hot journal: the engine opens the file as usual
    try:
        usual = [book("report", *form).stdout for form in forms]
    finally:
        journal.unlink()
    assert fast == usual
    assert "Customers over their stage's SLA" in fast[4]
    assert by_stage(rows(book, "funnel")) == FUNNEL
    assert by_stage(rows(book, "time-in-stage")) == TIME


@pytest.mark.sqlite_only("a file read without the engine")
@pytest.mark.parametrize("report", ["funnel", "time-in-stage"])
def test_the_funnel_and_time_in_stage_on_a_file_do_not_load_sqlalchemy(book, db_path, report):
    loaded, out = clm_alone("--db", db_path, "report", report)
    assert not loaded
    assert "stage" in out


def test_time_in_stage_p90_is_the_nearest_rank(team):
    """Ten onboarding stays of 1..10 days: the median is 5.5, the p90 the 9th value."""
    for day in range(1, 11):
        team("customer", "add", f"c{day}", "--start", "2026-01-01")
        team("customer", "move", f"c{day}", "launched", "--on", f"2026-01-{1 + day:02d}")
    onboarding = by_stage(rows(team, "time-in-stage"))["onboarding"]
    assert (onboarding["median_days"], onboarding["p90_days"]) == (5.5, 9)


def test_renewals_within_a_window_with_the_arr_at_stake(book):
    found = rows(book, "renewals")
    assert [(r["slug"], r["renewal"], r["days_left"], r["arr"]) for r in found] == [
        ("delta", "2026-12-13", 20, 40000),
        ("alpha", "2027-01-01", 39, 10000),
        ("beta", "2027-02-01", 70, 20000),
    ]
    assert set(found[0]) >= {"slug", "stage", "owner", "health", "uuid", "days_left"}
    assert [r["slug"] for r in rows(book, "renewals", "--within", "30d")] == ["delta"]
    out = book("report", "renewals").stdout
    assert out.splitlines()[-1] == "3 renewals, ARR at stake 70,000"
    assert "2026-12-13          20   delta" in out


def test_renewals_leave_churned_customers_out(book):
    book("customer", "edit", "zeta", "--renewal", "2026-12-01")
    assert "zeta" not in [r["slug"] for r in rows(book, "renewals")]


def test_renewals_list_lapsed_ones_first_with_negative_days_left(book):
    """A renewal date passed without `customer renew` is what a CSM needs most: listed first,
    however long ago; a churned customer's lapsed renewal is not."""
    # A past start renews after today by itself (issue 19); this renewal date was set by hand.
    book("customer", "add", "theta", "--start", "2025-11-19", "--renewal", "2026-11-19",
         "--arr", 5000)  # fmt: skip
    book("customer", "move", "theta", "renewal", "--on", "2026-08-21")
    book("customer", "add", "iota", "--start", "2024-06-01", "--renewal", "2025-06-01")
    book("customer", "edit", "zeta", "--renewal", "2026-11-01")
    found = rows(book, "renewals")
    assert [(r["slug"], r["stage"], r["renewal"], r["days_left"]) for r in found] == [
        ("iota", "onboarding", "2025-06-01", -540),
        ("theta", "renewal", "2026-11-19", -4),
        ("delta", "onboarding", "2026-12-13", 20),
        ("alpha", "adopting", "2027-01-01", 39),
        ("beta", "launched", "2027-02-01", 70),
    ]
    assert set(found[1]) == set(rows(book, "renewals", "--within", "30d")[0])
    out = book("report", "renewals", "--within", "30d").stdout
    assert out.splitlines()[-1] == "3 renewals, ARR at stake 45,000"
    assert "2026-11-19          -4   theta" in out


def test_overdue_by_owner_with_days_overdue(team):
    team("customer", "add", "Acme Corp")
    team("milestone", "add", "acme-corp", "QBR", "--due", "2026-11-13")
    team("task", "add", "acme-corp", "Send deck", "--due", "2026-11-20", "--assignee", "bob")
    team("cta", "open", "acme-corp", "--type", "risk", "--reason", "quiet", "--due", "2026-11-01",
         "--owner", "sam")  # fmt: skip
    found = rows(team, "overdue")
    assert [(r["kind"], r["title"], r["due"], r["days_overdue"], r["owner"]) for r in found] == [
        ("milestone", "QBR", "2026-11-13", 10, "alice"),
        ("task", "Send deck", "2026-11-20", 3, "bob"),
        ("cta", "risk: quiet", "2026-11-01", 22, "sam"),
    ]
    assert list(found[0]) == ["kind", "id", "customer", "title", "due", "days_overdue", "owner"]


def test_handoffs_are_moves_to_another_team(book):
    assert rows(book, "handoffs") == [
        {"customer": "eps", "on": "2026-06-11", "from_stage": "lead", "to_stage": "prospect",
         "from_owner": "mia", "to_owner": "sam", "from_team": "marketing", "to_team": "sales"}
    ]  # fmt: skip
    assert rows(book, "handoffs", "--since", "2026-06-12") == []


def test_flows_count_moves_each_way(book):
    assert rows(book, "flows") == [
        {"from_stage": "lead", "to_stage": "prospect", "moves": 1, "direction": "forward"},
        {"from_stage": "onboarding", "to_stage": "launched", "moves": 3, "direction": "forward"},
        {"from_stage": "onboarding", "to_stage": "churned", "moves": 1, "direction": "churn"},
        {"from_stage": "launched", "to_stage": "onboarding", "moves": 1, "direction": "backward"},
        {"from_stage": "launched", "to_stage": "adopting", "moves": 1, "direction": "forward"},
    ]
    since = rows(book, "flows", "--since", "2026-05-01")
    assert [(r["from_stage"], r["to_stage"]) for r in since] == [
        ("lead", "prospect"), ("onboarding", "churned"), ("launched", "onboarding"),
    ]  # fmt: skip
    matrix = book("report", "flows").stdout.splitlines()
    assert matrix[1].split() == ["from", "\\", "to", "lead", "prospect", "onboarding", "launched",
                                 "adopting", "churned", "total"]  # fmt: skip
    assert matrix[5].split() == ["launched", "·", "·", "1", "·", "1", "·", "2"]


REPORTS = [
    ("stages",), ("funnel",), ("time-in-stage",), ("time-in-stage", "--over"), ("renewals",),
    ("overdue",), ("handoffs",), ("flows",), ("stages", "--as-of", "2026-04-30"),
    ("funnel", "--since", "2026-02-01", "--as-of", "2026-09-30"),
]  # fmt: skip


@pytest.mark.parametrize("args", REPORTS, ids=" ".join)
def test_every_format_carries_the_same_rows(book, args):
    expected = rows(book, *args)
    assert rows(book, *args, fmt="jsonl") == expected
    for fmt in ("csv", "tsv"):
        assert rows(book, *args, fmt=fmt) == as_text(expected)
    assert book("report", *args).stdout.strip()


def test_an_empty_book(clm):
    assert rows(clm, "handoffs") == [] and rows(clm, "renewals") == []
    assert clm("report", "overdue").stdout.splitlines()[-1] == "Nothing overdue."
    assert clm("report", "flows").stdout.splitlines()[-1] == "No moves."
    assert rows(clm, "funnel")[0] == {"stage": "lead", "entered": 0, "moved_on": 0,
                                      "conversion": None, "median_days": None}  # fmt: skip


def test_bad_options_are_refused(clm, tmp_path):
    assert clm.error("report", "stages", "--as-of", "2026-13-01").startswith(
        "Error: invalid --as-of '2026-13-01'"
    )
    assert clm.error("report", "funnel", "--as-of", "tomorrow") == (
        "Error: invalid --as-of 2026-11-24: it must not be after today (2026-11-23)"
    )
    assert clm.error("report", "renewals", "--within", "soon").startswith(
        "Error: invalid --within 'soon'"
    )
    assert "--svg saves the table drawing" in clm.error(
        "report", "stages", "--svg", "x.svg", "--format", "json"
    )
    assert not (tmp_path / "x.svg").exists()


def test_report_alone_shows_its_commands(clm):
    result = clm("report")  # exit 0, as noun groups that list do (issue 24)
    assert "time-in-stage" in result.stdout and "dashboard" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    "args", [("stages",), ("funnel",), ("time-in-stage",), ("renewals",), ("overdue",),
             ("handoffs",), ("flows",)], ids=" ".join,
)  # fmt: skip
def test_every_report_saves_pictures(book, tmp_path, args):
    name = args[0]
    result = book("report", *args, "--svg", f"{name}.svg", "--html", f"{name}.html")
    assert result.stderr == (
        f"Saved the {name} report to {name}.svg.\nSaved the {name} report to {name}.html.\n"
    )
    svg = (tmp_path / f"{name}.svg").read_text().replace("&#160;", " ")
    assert svg.startswith("<svg") and f"clm report {name}" in svg
    assert 'url("http' not in svg  # no web font: the picture shows offline
    page = (tmp_path / f"{name}.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert book.error("report", *args, "--svg", f"{name}.svg") == (
        f"Error: '{name}.svg' already exists: choose another name or remove it"
    )


def test_the_stages_picture_shows_the_bars(book, tmp_path):
    book("report", "stages", "--html", "stages.html")
    page = (tmp_path / "stages.html").read_text()
    assert "█" in page and "70,000" in page and "onboarding" in page


def test_model_show_saves_html_too(clm, tmp_path):
    clm("model", "show", "--html", "model.html")
    assert "onboarding" in (tmp_path / "model.html").read_text()


# --- the dashboard ---------------------------------------------------------------------------


def test_dashboard_writes_one_self_contained_page(book, tmp_path):
    result = book("report", "dashboard", "--html", "book.html")
    assert result.stderr == "Wrote the dashboard to book.html.\n"
    page = (tmp_path / "book.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    for fetching in ("<script", "<link", "@import", "url(http", 'src="http', "<img"):
        assert fetching not in page
    assert book.error("report", "dashboard", "--html", "book.html") == (
        "Error: 'book.html' already exists: pass --force to overwrite it"
    )
    book("report", "dashboard", "--html", "book.html", "--force", "--since", "2026-06-01")
    assert "Funnel since 2026-06-01" in (tmp_path / "book.html").read_text()


def test_dashboard_shows_user_text_as_text(team, tmp_path):
    team("customer", "add", "<b>Bold</b> & Co", "--slug", "bold", "--renewal", "2026-12-01")
    team("report", "dashboard", "--html", "book.html")
    page = (tmp_path / "book.html").read_text()
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in page and "<b>Bold</b>" not in page


def test_dashboard_renders_in_chromium(book, tmp_path):
    from tests.browser import chromium, visit

    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs chromium to check the dashboard (see .ci/run)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    book("milestone", "add", "delta", "Kick-off", "--due", "2026-11-13")
    book("report", "dashboard", "--html", "book.html")
    seen = visit((tmp_path / "book.html").as_uri())
    assert seen.console == [] and seen.errors == []
    assert seen.requests == [(tmp_path / "book.html").as_uri()]  # nothing from a network
    lines = seen.text.splitlines()
    for stage in ("Lead", "Prospect", "Onboarding", "Launched", "Adopting", "Renewal",
                  "Will churn", "Churned"):  # fmt: skip
        assert any(line.endswith(f". {stage}") for line in lines), stage
    for team_name in ("marketing", "sales", "customer-success", "account-management"):
        assert team_name in lines
    assert "2 customers · ARR 70,000" in lines  # onboarding in the drawing
    assert "3 renewals, ARR at stake 70,000" in lines
    assert "onboarding\t6\t3\t50.0%\t20\t" in seen.text  # the funnel's row
    assert "launched\t1\t60\t275\t60\t1\tover SLA" not in seen.text
    assert "launched\t1\t60\t275\t60\t1\t" in seen.text  # median 60 = SLA 60: within
    assert "Kick-off" in seen.text


@pytest.mark.sqlite_only("the sqlite3 module's path and the engine's, on one file")
def test_overdue_reads_the_same_without_the_engine(clm, db_path):
    # On a file it runs its statement compiled ahead through the sqlite3 module, without
    # SQLAlchemy; a journal beside the file makes it open the file the usual way.
    clm("user", "add", "bob", "--team", "customer-success")
    clm("customer", "add", "Acme Corp", "--owner", "bob")
    clm("customer", "add", "Nobodys")  # no owner: its work is listed last
    clm("customer", "add", "Gone", "--owner", "bob")
    clm("milestone", "add", "acme-corp", "Revue café ☕", "--due", "2026-11-13")
    clm("milestone", "add", "acme-corp", "Kickoff", "--due", "2026-11-13")
    clm("task", "add", "nobodys", "Send deck", "--due", "2026-11-20")
    clm("task", "add", "gone", "Lost cause", "--due", "2026-11-02")
    clm("cta", "open", "acme-corp", "--type", "risk", "--reason", "quiet", "--due", "2026-11-01")
    snoozed = clm("cta", "open", "nobodys", "--type", "risk", "--reason", "later",
                  "--due", "2026-11-01").stdout.strip()  # fmt: skip
    clm("cta", "snooze", snoozed, "--until", "2026-12-01")
    # A churned customer's work is no debt.
    clm("customer", "move", "gone", "churned", "--reason", "budget")
    forms = [(), ("-f", "json"), ("-f", "csv"), ("-f", "jsonl")]
    fast = [clm("report", "overdue", *form).stdout for form in forms]
    journal = db_path.with_name(f"{db_path.name}-journal")
    journal.write_bytes(b"")  # not a hot journal: the engine opens the file as usual
    try:
        usual = [clm("report", "overdue", *form).stdout for form in forms]
    finally:
        journal.unlink()
    assert fast == usual
    found = json.loads(fast[1])
    assert [(r["owner"], r["kind"], r["title"], r["due"], r["days_overdue"]) for r in found] == [
        ("bob", "cta", "risk: quiet", "2026-11-01", 22),
        ("bob", "milestone", "Revue café ☕", "2026-11-13", 10),
        ("bob", "milestone", "Kickoff", "2026-11-13", 10),
        (None, "task", "Send deck", "2026-11-20", 3),
    ]
    lines = fast[0].splitlines()
    assert lines[1].split() == ["owner", "kind", "id", "customer", "title", "due", "days",
                                "overdue"]  # fmt: skip
    assert lines[-1].startswith(" ") and lines[-1].split()[0] == "task"  # no owner
    loaded, out = clm_alone("--db", db_path, "report", "overdue")
    assert not loaded
    assert out == fast[0]
