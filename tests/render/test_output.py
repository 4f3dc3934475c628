"""Tables and records for people: Rich on a terminal, a plain layout in a pipe and for lists
too long for Rich to lay out quickly."""

import io

import pytest

from clm.cli.env import Env
from clm.render import output
from clm.render.output import Col, Format, Section, render_record, render_rows

COLUMNS = (Col("slug"), Col("arr", "ARR", money=True), Col("uuid", table=False))
ROWS = [
    {"slug": "acme", "arr": 1200.0, "uuid": "u1"},
    {"slug": "globex-中", "arr": 5, "uuid": "u2"},
]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _env(stream) -> Env:
    return Env(db_target=None, today=None, user=None, stdout=stream, stderr=io.StringIO())


def test_a_pipe_gets_the_plain_layout_without_rich(monkeypatch):
    monkeypatch.delenv("COLUMNS")
    out = io.StringIO()
    render_rows(_env(out), iter(ROWS), COLUMNS, Format.table)
    assert out.getvalue() == (
        "slug          ARR\n-----------------\nacme        1,200\nglobex-中       5\n"
    )


def test_a_terminal_gets_rich_up_to_a_thousand_rows_then_the_plain_layout(monkeypatch):
    out = Terminal()
    render_rows(_env(out), iter(ROWS), COLUMNS, Format.table)
    assert "─" in out.getvalue() and "acme" in out.getvalue()
    monkeypatch.setattr(output, "RICH_ROWS", 1)
    out = Terminal()
    render_rows(_env(out), iter(ROWS), COLUMNS, Format.table)
    assert out.getvalue().splitlines()[1] == "-" * 17
    assert out.getvalue().count("\n") == 4


@pytest.mark.parametrize(
    ("variable", "terminal"), [("FORCE_COLOR", True), ("TTY_COMPATIBLE", False)]
)
def test_variables_that_override_the_stream_are_rich_s(monkeypatch, variable, terminal):
    monkeypatch.setenv(variable, "1" if terminal else "0")
    assert output.is_terminal(_env(io.StringIO() if terminal else Terminal())) is terminal


def test_a_record_in_a_pipe_is_plain_lines_and_sections():
    out = io.StringIO()
    record = {"slug": "acme", "name": "Acme\nCorp", "arr": None, "health": 70}
    fields = (Col("name"), Col("arr", "ARR"), Col("health"))
    section = Section(
        "notes", "Notes", (Col("on"), Col("text")), [{"on": "2026-11-23", "text": "x"}]
    )
    render_record(_env(out), "Acme (acme)", record, fields, Format.table, [section])
    assert out.getvalue() == (
        "Acme (acme)\n"
        "name    Acme\n"
        "        Corp\n"
        "health  70\n"
        "\n"
        "Notes\n"
        "on           text\n"
        "-----------------\n"
        "2026-11-23   x\n"
    )


def _line_by_line(columns, rows) -> str:
    """The plain table as PlainLayout writes it a line at a time: what the column-wise writer
    must match byte for byte."""
    shown = [col for col in columns if col.table]
    cells = [output.table_cells(row, shown) for row in rows]
    layout = output.PlainLayout(shown)
    for row_cells in cells:
        layout.measure(row_cells)
    head = io.StringIO()
    layout.write_head(head)
    return head.getvalue() + "".join(map(layout.line, cells))


def test_a_plain_table_made_a_column_at_a_time_is_the_line_by_line_layout():
    from datetime import date, datetime

    columns = (
        Col("id"), Col("customer"), Col("title"), Col("due"), Col("days", number=True),
        Col("arr", "ARR", money=True), Col("tags"), Col("done"), Col("health"), Col("at"),
        Col("note", table=False),
    )  # fmt: skip
    rows = [
        {"id": 7, "customer": "acme", "title": "Kick-off", "due": date(2026, 1, 2),
         "days": 1200, "arr": 24000, "tags": ["a", "b"], "done": True, "health": 70.5,
         "at": datetime(2026, 1, 2, 3, 4, 5), "note": "x"},
        {"id": 12345, "customer": "globex-中", "title": "Bad\x1b[2Jname\nrow ", "due": None,
         "days": None, "arr": 1200.5, "tags": [], "done": False, "health": None, "at": None},
        {"id": None, "customer": None, "title": "", "due": date(2025, 12, 31), "days": 3,
         "arr": None, "tags": None, "done": None, "health": 40, "at": None},
        {"id": 8, "customer": "trailing\u00a0", "title": "Ünïcode ✓", "due": "2026-13-01",
         "days": 2.0, "arr": 5, "tags": ["x"], "done": True, "health": 100, "at": None},
    ]  # fmt: skip
    for shown in (rows, rows[:1], rows[2:3], []):
        out = io.StringIO()
        output._write_plain_table(out, columns, iter(shown))
        assert out.getvalue() == _line_by_line(columns, shown)
