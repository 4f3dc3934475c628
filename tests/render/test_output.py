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
