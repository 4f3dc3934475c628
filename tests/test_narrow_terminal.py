"""Tables on terminals of 40 to 200 columns: they fit, low-priority columns go first, long
text is cut with `…`, and numbers, dates, slugs, ids and suggested commands stay whole."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clm.render.fit import GAP, Fit, layout

WIDTHS = (40, 60, 80, 200)
DATE = re.compile(r"\d{4}-\d\d-\d\d")
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # bold headers: NO_COLOR keeps styles


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """One demo book for the module (read only)."""
    from typer.testing import CliRunner

    from clm.cli.app import app

    where = tmp_path_factory.mktemp("narrow")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLM_TODAY", "2026-11-23")
        patch.setenv("XDG_DATA_HOME", str(where / "data"))
        result = CliRunner().invoke(app, ["--db", str(where / "demo.db"), "demo"])
    assert result.exit_code == 0, result.output
    return where / "demo.db"


def _terminal(clm, monkeypatch, book, width: int, *args: str) -> list[str]:
    """What a terminal `width` columns wide shows of `clm ARGS`, without colour."""
    monkeypatch.setenv("CLICOLOR_FORCE", "1")
    monkeypatch.setenv("COLUMNS", str(width))
    lines = ANSI.sub("", clm("--db", book, *args).stdout).splitlines()
    assert lines and max(map(len, lines)) <= width, "\n".join(lines)
    return lines


def _words(lines: list[str]) -> set[str]:
    return {word for line in lines for word in line.split()}


@pytest.mark.parametrize("width", WIDTHS)
def test_the_agenda_keeps_every_suggested_command_whole(clm, monkeypatch, book, width):
    monkeypatch.delenv("CLICOLOR_FORCE", raising=False)
    rows = clm.json("--db", book, "--as", "alice", "agenda")
    lines = _terminal(clm, monkeypatch, book, width, "--as", "alice")
    text = "\n".join(lines)
    shown = [row for row in rows if row["customer"] and row["customer"] in _words(lines)]
    assert shown
    commands = {row["command"] for row in rows}
    for line in lines:  # a command is shown whole or not at all
        if "clm " in line and "more: clm" not in line:
            assert line[line.index("clm ") :].rstrip() in commands, line
    assert sum("clm " in line for line in lines) >= (3 if width == 40 else len(rows))
    # A date is never split across lines, nor cut short.
    for line in lines:
        assert not re.search(r"(?<![\d-])\d{4}-\d?$|^\s*-?\d\d?\s*$", line), line
    if width == 200:
        assert all(row["title"] in text for row in shown)
        assert not re.search(r"\w…", text)
    if width == 40:
        assert "title" not in lines[3]  # low-priority columns went before the command


@pytest.mark.parametrize("width", WIDTHS)
def test_the_customer_list_drops_columns_then_cuts_names(clm, monkeypatch, book, width):
    monkeypatch.delenv("CLICOLOR_FORCE", raising=False)
    customers = clm.json("--db", book, "customer", "list")
    lines = _terminal(clm, monkeypatch, book, width, "customer", "list")
    header = lines[0].split()
    words = _words(lines)
    for customer in customers:
        assert customer["slug"] in words  # every slug, whole
        if "renewal" in header and customer["renewal"]:
            assert customer["renewal"] in words
        if "ARR" in header and customer["arr"]:
            assert f"{customer['arr']:,.0f}" in words
    expected = {
        40: ["slug", "name", "stage"],
        60: ["slug", "name", "stage", "ARR"],
        80: ["slug", "name", "stage", "owner", "renewal", "ARR"],
        200: ["slug", "name", "stage", "owner", "renewal", "ARR", "health", "days"],
    }
    assert header == expected[width]
    cut = [line for line in lines if "…" in line]
    assert bool(cut) is (width == 40), lines


@pytest.mark.parametrize("width", WIDTHS)
def test_report_stages_shrinks_its_bars_before_its_numbers(clm, monkeypatch, book, width):
    monkeypatch.delenv("CLICOLOR_FORCE", raising=False)
    stages = clm.json("--db", book, "report", "stages")
    lines = _terminal(clm, monkeypatch, book, width, "report", "stages")
    for stage in stages:
        line = next(line for line in lines if line.split()[:1] == [stage["stage"]])
        arr = f"{stage['arr']:,.0f}"
        shown = [f"{stage['customers']:,}", *(["lost", arr] if stage["terminal"] else [arr])]
        assert line.split()[1 : 1 + len(shown)] == shown
    longest = max(line.count("█") for line in lines)
    # At 60 columns the churned row's "lost " takes five columns from the bars.
    assert longest == {40: 0, 60: 20, 80: 30, 200: 30}[width]


def test_a_record_section_fits_too(clm, monkeypatch, book):
    lines = _terminal(clm, monkeypatch, book, 40, "customer", "show", "aperture-corp")
    assert any(DATE.fullmatch(word) for line in lines for word in line.split())


fits = st.builds(
    lambda natural, cut, drop, bar: Fit(natural, natural - cut if cut <= natural else 1, drop, bar),
    st.integers(1, 40),
    st.integers(0, 40),
    st.integers(-1, 3),
    st.booleans(),
)


@given(st.lists(fits, min_size=1, max_size=10), st.integers(10, 250))
def test_a_layout_fits_or_is_down_to_one_column(columns, width):
    widths = layout(columns, width)
    assert widths
    assert all(columns[i].least <= w <= columns[i].natural for i, w in widths.items())
    total = sum(widths.values()) + GAP * (len(widths) - 1)
    assert total <= width or len(widths) == 1
    if sum(c.natural for c in columns) + GAP * (len(columns) - 1) <= width:
        assert widths == {i: c.natural for i, c in enumerate(columns)}
