"""One renderer for every listing and record: a Rich table on a terminal, plain text in a pipe,
csv/tsv/json/jsonl on request. Rows are streamed; user text is never read as markup."""

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from itertools import chain, islice, repeat

from clm.plain import jsonable, neutralise_formula, number, utc_text, visible, visible_cell
from clm.render import Streams

# The most rows a table on a terminal lays out with Rich; a longer one is written plain.
RICH_ROWS = 1000


class Format(StrEnum):
    table = "table"
    csv = "csv"
    tsv = "tsv"
    json = "json"
    jsonl = "jsonl"


@dataclass(frozen=True)
class Col:
    """A column: its JSON key, its table header, and whether the table format shows it."""

    key: str
    header: str = ""
    table: bool = True
    money: bool = False
    number: bool = False  # a count or days: right-aligned, thousands separated, as precise as it is
    drop: int = 0  # on a narrow terminal: > 0 dropped early (higher first), < 0 dropped last
    whole: bool = False  # never cut short (a command); numbers and one-word cells never are

    @property
    def title(self) -> str:
        return self.header or self.key.replace("_", " ")


@dataclass
class Section:
    """A titled list under a record in `show`: its JSON key, columns and rows."""

    key: str
    title: str
    columns: Sequence[Col]
    rows: list[dict] = field(default_factory=list)
    extra: Sequence = ()  # drawn columns (a Bar, or header and draw), for people only


# C0 controls but tab and newline, DEL, C1 controls, and bidi overrides and isolates.


def _plain(value) -> str:
    """A cell of csv/tsv or of a table: ISO dates, `;`-joined lists, true/false."""
    if type(value) is str:  # the common case first: long lists render faster
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(number(value))
    if isinstance(value, list | tuple):
        return ";".join(_plain(item) for item in value)
    return str(value)


def _record(row: dict, columns: Sequence[Col]) -> dict:
    return {col.key: jsonable(row.get(col.key)) for col in columns}


def is_terminal(env: Streams, stderr: bool = False) -> bool:
    """Whether the stream is a terminal, as the Rich console on it would see it. Asked of the
    stream itself unless a variable overrides it: a Rich console costs a listing in a pipe more
    than writing it does."""
    stream = env.stderr if stderr else env.stdout
    if any(name in os.environ for name in ("CLICOLOR_FORCE", "FORCE_COLOR", "TTY_COMPATIBLE")):
        return console(env, stderr).is_terminal
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


def console(env: Streams, stderr: bool = False):
    """A Rich console on the invocation's stream; plain, uncoloured and unwrapped in a pipe."""
    from rich.console import Console

    stream = env.stderr if stderr else env.stdout
    force = os.environ.get("CLICOLOR_FORCE", "0") not in ("", "0") or None
    no_color = "NO_COLOR" in os.environ or os.environ.get("CLICOLOR") == "0"
    width = None
    if not (force or stream.isatty()) and "COLUMNS" not in os.environ:
        width = 10_000  # a table in a pipe keeps whole lines for grep and cut
    return Console(
        file=stream,
        force_terminal=force,
        no_color=no_color,
        width=width,
        highlight=False,
        markup=False,
        emoji=False,
    )


def say(env: Streams, message: str) -> None:
    """A message for people, on stderr."""
    env.stderr.write(visible(message) + "\n")


def print_handle(env: Streams, handle) -> None:
    """The handle of what a command made (an id, a slug), alone on stdout, for a script:
    `id=$(clm task add …)`."""
    env.stdout.write(visible(str(handle)) + "\n")


# How tables and pages show a date to people (`dates` in the config file, CLM_DATES): a
# strftime pattern, or None for ISO. The CLI sets a function that reads the setting on first
# need, so a command that shows no date never reads it; csv, tsv and json always write ISO.
def _iso() -> None:
    return None


date_display: Callable[[], str | None] = _iso


def iso_dates() -> bool:
    """Whether dates are shown as ISO (as the database writes them in a SQL-laid table)."""
    return date_display() is None


def _shown(value, col: Col, one_line: bool = True) -> str:
    """A cell as people read it: thousands separators, comma-joined lists, visible controls; in
    a table (`one_line`) a newline too, so no name can forge a row."""
    seen = visible_cell if one_line else visible
    if type(value) is str:
        return seen(value)
    if col.number and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{number(value):,}"
    if col.money and isinstance(value, int | float):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    if isinstance(value, list | tuple):
        return seen(", ".join(map(_plain, value)))
    if type(value) is date and (pattern := date_display()):
        return seen(value.strftime(pattern))
    return seen(_plain(value))


def _width(text: str) -> int:
    """Terminal cells `text` takes: its length for printable ASCII, Rich's measure otherwise."""
    if text.isascii() and text.isprintable():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def _table_cell(value, col: Col):
    from rich.text import Text

    return Text(_shown(value, col))


def _right_aligned(col: Col) -> bool:
    return col.money or col.number or col.key in ("id", "days_in_stage", "health", "lead_score")


LINES_PER_WRITE = 5000


def _write_plain_table(out, columns: Sequence[Col], rows: Iterable[dict]) -> None:
    """The table's layout as plain text, for a pipe: no colour, whole lines, quick for big lists."""
    shown = [col for col in columns if col.table]
    if isinstance(rows, Columns):
        values = [rows.values[col.key] for col in shown]
    else:
        rows = rows if isinstance(rows, list) else list(rows)
        values = [[row.get(col.key) for row in rows] for col in shown]
    _write_plain_columns(out, shown, values)


def _write_plain_columns(out, shown: Sequence[Col], values: list[list]) -> None:
    """The plain table of the `shown` columns' `values`, made a column at a time, as
    PlainLayout would a line at a time: a column of one type is turned into text by one C
    function mapped over it, and checked for characters other than printable ASCII in one pass
    over its joined text; only a column that has some is measured and made visible cell by
    cell. (A line at a time, 123,000 rows of 7 cells took 2 s.)"""
    layout = PlainLayout(shown)
    if not values or not values[0]:
        layout.write_head(out)
        return
    made = [_column_texts(column, col) for column, col in zip(values, shown, strict=True)]
    texts = [cells for cells, _ in made]
    sizes = [
        None if narrow or _narrow(cells) else list(map(_width, cells)) for cells, narrow in made
    ]
    layout.widen(
        max(map(len, cells)) if measured is None else max(measured)
        for cells, measured in zip(texts, sizes, strict=True)
    )
    layout.write_head(out)
    if all(measured is None for measured in sizes):  # each cell as wide as it is long
        spec = "   ".join(
            f"%{'' if right else '-'}{width}s"
            for width, right in zip(layout.widths, layout.right, strict=True)
        )
        lines = map(str.rstrip, map(spec.__mod__, zip(*texts, strict=True)))
    else:
        padded = [
            _padded(cells, measured, width, right)
            for cells, measured, width, right in zip(
                texts, sizes, layout.widths, layout.right, strict=True
            )
        ]
        lines = map(str.rstrip, map("   ".join, zip(*padded, strict=True)))
    while chunk := list(islice(lines, LINES_PER_WRITE)):
        out.write("\n".join(chunk) + "\n")


def _narrow(cells: list[str]) -> bool:
    """Whether every cell is printable ASCII: as wide as it is long."""
    joined = "".join(cells)
    return joined.isascii() and joined.isprintable()


def _column_texts(values: list, col: Col) -> tuple[list[str], bool]:
    """A column's cells as `_shown` makes them, one by one only when it must; and whether
    they are known to be printable ASCII (a number's digits, a date), or were checked so."""
    kinds = set(map(type, values))
    nothing = type(None) in kinds
    kinds.discard(type(None))
    if len(kinds) > 1:
        return [_shown(value, col) for value in values], False
    kind = kinds.pop() if kinds else str
    if kind is str:
        cells = [value or "" for value in values] if nothing else values
        if _narrow(cells):
            return cells, True
        return list(map(visible_cell, cells)), False
    # A list's counts and dates take few values: each is written once.
    if kind is int and not col.money and col.number:
        text = {n: f"{n:,}" for n in set(values) if n is not None}.__getitem__
    elif kind is int and not col.money:
        text = str
    elif kind is date and date_display() is None:
        text = {day: day.isoformat() for day in set(values) if day is not None}.__getitem__
    else:
        return [_shown(value, col) for value in values], False
    if nothing:
        return ["" if value is None else text(value) for value in values], True
    return list(map(text, values)), True


def _padded(cells: list[str], sizes: list[int] | None, width: int, right: bool) -> list[str]:
    """A column's cells padded to `width` (`sizes`: their widths, when not their lengths)."""
    if sizes is None:
        return list(map(str.rjust if right else str.ljust, cells, repeat(width)))
    if right:
        return [" " * (width - size) + cell for cell, size in zip(cells, sizes, strict=True)]
    return [cell + " " * (width - size) for cell, size in zip(cells, sizes, strict=True)]


def table_cells(row: dict, shown: Sequence[Col]) -> list[str]:
    """A row's cells as a table shows them."""
    return [_shown(row.get(col.key), col) for col in shown]


class PlainLayout:
    """The plain table's lines: each column as wide as its widest cell or its title (`widths`:
    the cells' widest, when known), flush right for numbers, three spaces between columns,
    no trailing spaces."""

    def __init__(self, shown: Sequence[Col], widths: Sequence[int] | None = None):
        self.header = [col.title for col in shown]
        self.widths = [_width(title) for title in self.header]
        self.right = [_right_aligned(col) for col in shown]
        if widths is not None:
            self.widen(widths)

    def widen(self, widths: Iterable[int]) -> None:
        self.widths = [max(pair) for pair in zip(self.widths, widths, strict=True)]

    def measure(self, cells: list[str]) -> None:
        self.widen(map(_width, cells))

    def write_head(self, out) -> None:
        out.write(self.line(self.header))
        out.write("-" * (sum(self.widths) + 3 * (len(self.widths) - 1)) + "\n")

    def line(self, values: list[str], sizes: list[int] | None = None) -> str:
        """One row's line; `sizes` are its cells' widths when measured already."""
        if sizes is None:
            sizes = map(_width, values)
        padded = (
            " " * (width - size) + v if flush_right else v + " " * (width - size)
            for v, size, width, flush_right in zip(
                values, sizes, self.widths, self.right, strict=True
            )
        )
        return "   ".join(padded).rstrip() + "\n"


def _write_plain_record(out, title: str, record: dict, fields: Sequence[Col], sections) -> None:
    """A record's page as plain text, for a pipe: a title, `field  value` lines, then each
    section's title and plain table."""
    out.write(visible(title) + "\n")
    lines = [
        (col.title, _shown(record.get(col.key), col, one_line=False))
        for col in fields
        if record.get(col.key) not in (None, "", [])
    ]
    width = max((_width(name) for name, _ in lines), default=0)
    indent = "\n" + " " * (width + 2)
    for name, value in lines:
        value = value.replace("\n", indent)  # a multi-line value stays in its column
        out.write(f"{name}{' ' * (width - _width(name))}  {value}\n")
    for section in sections:
        if section.rows:
            out.write(f"\n{section.title}\n")
            _write_plain_table(out, section.columns, section.rows)


def table(
    columns: Sequence[Col],
    rows: Iterable[dict],
    title: str | None = None,
    extra: Sequence = (),
):
    """A table of `rows` for Rich, laid out for the width it is printed at (see clm.render.fit);
    `extra` columns (a Bar, or header and row -> renderable) go on the right."""
    return FittedTable(columns, list(rows), title, extra)


@dataclass(frozen=True)
class Bar:
    """A bar column: each row's `share` (0 to 1, None for none) drawn up to `width` cells,
    fewer on a narrow terminal."""

    share: Callable[[dict], float | None]
    style: str = "cyan"
    width: int = 30
    header: str = ""


class FittedTable:
    """A Rich renderable: the table, built when the console says how wide it may be."""

    def __init__(self, columns: Sequence[Col], rows: list[dict], title, extra: Sequence):
        self.shown = [col for col in columns if col.table]
        self.rows, self.title, self.extra = rows, title, extra

    def __rich_console__(self, console, options):
        yield self.build(options.max_width)

    def build(self, width: int):
        from rich import box
        from rich.table import Table
        from rich.text import Text

        from clm.render.fit import bar_fit, column_fit, layout

        cells = [[_shown(row.get(col.key), col) for col in self.shown] for row in self.rows]
        drawn = [
            None if isinstance(e, Bar) else [_as_text(e[1](row)) for row in self.rows]
            for e in self.extra
        ]
        fits = [
            column_fit(
                col.title, [_width(c[i]) for c in cells], _whole(col, cells, i, self.rows), col.drop
            )
            for i, col in enumerate(self.shown)
        ]
        for e, texts in zip(self.extra, drawn, strict=True):
            if texts is None:
                fits.append(bar_fit(e.width))
            else:
                fits.append(column_fit(e[0], [t.cell_len for t in texts], False, 1))
        widths = layout(fits, width)
        table = Table(
            box=box.SIMPLE_HEAD, title=self.title, title_justify="left", show_edge=False,
            pad_edge=False,
        )  # fmt: skip
        n = len(self.shown)
        for i, col in enumerate(self.shown):
            if i in widths:
                justify = "right" if _right_aligned(col) else "left"
                table.add_column(col.title, justify=justify, width=widths[i], overflow="fold")
        for j, e in enumerate(self.extra):
            if n + j in widths:
                header = e.header if isinstance(e, Bar) else e[0]
                table.add_column(header, width=widths[n + j], no_wrap=True, overflow="ellipsis")
        for r, row in enumerate(self.rows):
            line = [_cut(cells[r][i]) for i in range(n) if i in widths]
            for j, e in enumerate(self.extra):
                if n + j not in widths:
                    continue
                if isinstance(e, Bar):
                    share = e.share(row)
                    line.append(Text(bar_cells(share or 0, 1, widths[n + j]), style=e.style))
                else:
                    line.append(drawn[j][r])
            table.add_row(*line)
        return table


def _as_text(renderable):
    from rich.text import Text

    return renderable if isinstance(renderable, Text) else Text(str(renderable))


def _cut(text: str):
    """A cell that never wraps: cut short with `…` if its column is narrower (text only)."""
    from rich.text import Text

    return Text(text, no_wrap=True, overflow="ellipsis")


def _whole(col: Col, cells: list[list[str]], i: int, rows: list[dict]) -> bool:
    """Whether a column must never be cut: a number, a command, a date (in any display), or
    one word a cell (slugs, ids, handles)."""
    if col.whole or col.money or col.number or _right_aligned(col):
        return True
    if any(isinstance(row.get(col.key), date) for row in rows):
        return True
    return not any(" " in row[i] for row in cells)


@dataclass
class Listing:
    """Rows on a page of renderables: a plain table in a pipe (quick for long lists), a Rich
    table with its `extra` columns (bars) on a terminal and in a picture."""

    columns: Sequence[Col]
    rows: Iterable[dict]
    extra: Sequence = ()  # a Bar, or header and row -> renderable
    empty: str = "none"

    def rich(self):
        from rich.text import Text

        rows = list(self.rows)
        return table(self.columns, rows, extra=self.extra) if rows else Text(self.empty)


@dataclass
class Columns:
    """A listing's rows given a column at a time (`values`: each key's values in row order),
    as a long list is read quicker: the plain table writes them without a dict per row.
    Iterated, the rows as dicts."""

    values: dict[str, list]

    def __len__(self) -> int:
        return len(next(iter(self.values.values()), ()))

    def __iter__(self) -> Iterator[dict]:
        keys = list(self.values)
        rows = zip(*self.values.values(), strict=True)
        return (dict(zip(keys, row, strict=True)) for row in rows)


def paged(env: Streams) -> None:
    """Long output on a terminal goes through the pager, if the environment has one."""
    page = getattr(env, "page", None)
    if page is not None:
        page()


def print_page(env: Streams, parts: Sequence) -> None:
    """Print renderables and listings, in order, on stdout (through the pager on a terminal)."""
    paged(env)
    print_parts(env, parts)


def print_parts(env: Streams, parts: Sequence) -> None:
    """Print renderables and listings, in order, on stdout: a listing as a plain table in a
    pipe, and on a terminal too past RICH_ROWS rows (Rich lays out about a row a millisecond)."""
    out = console(env)
    for part in parts:
        if not isinstance(part, Listing):
            out.print(part)
            continue
        plain_past = RICH_ROWS if out.is_terminal else 0
        if isinstance(part.rows, Columns) and len(part.rows) > plain_past:
            _write_plain_table(env.stdout, part.columns, part.rows)
            continue
        rows = iter(part.rows)
        head = list(islice(rows, RICH_ROWS + 1 if out.is_terminal else 1))
        if not head:
            env.stdout.write(part.empty + "\n")
        elif out.is_terminal and len(head) <= RICH_ROWS:
            out.print(table(part.columns, head, extra=part.extra))
        else:
            _write_plain_table(env.stdout, part.columns, chain(head, rows))


def picture_console(width: int = 120):
    """A console that records what it prints, in colour, for a picture (SVG or HTML)."""
    import io

    from rich.console import Console

    return Console(
        file=io.StringIO(), record=True, width=width, force_terminal=True,
        color_system="truecolor", highlight=False, markup=False, emoji=False,
    )  # fmt: skip


def picture(parts: Sequence, kind: str, title: str, width: int = 120) -> str:
    """The page as an SVG or a self-contained HTML picture of a terminal."""
    recorder = picture_console(width)
    for part in parts:
        recorder.print(part.rich() if isinstance(part, Listing) else part)
    if kind == "svg":
        return recorder.export_svg(title=title, code_format=_offline_svg_format())
    return recorder.export_html(inline_styles=True)


def _offline_svg_format() -> str:
    """Rich's SVG page without its web font: a picture that never fetches anything (the
    font is used when installed, else the viewer's monospace)."""
    from rich._export_format import CONSOLE_SVG_FORMAT

    return re.sub(r',\s*url\("https?://[^"]*"\) format\("[^"]*"\)', "", CONSOLE_SVG_FORMAT)


def picked(env: Streams, columns: Sequence[Col], more: Sequence[str] = ()) -> Sequence[Col]:
    """The columns --fields names, in its order and all shown (every column without it);
    `more` are other names it may give (a record's sections)."""
    fields = getattr(env, "fields", None)
    if not fields:
        return columns
    by_key = {col.key: col for col in columns}
    for name in fields:
        if name not in by_key and name not in more:
            from clm.errors import Invalid

            known = ", ".join([*by_key, *more])
            raise Invalid(f"unknown field '{name}' in --fields: use some of {known}")
    return [replace(by_key[name], table=True) for name in fields if name in by_key]


def render_rows(
    env: Streams, rows: Iterable[dict], columns: Sequence[Col], fmt: Format, noun: str = "rows"
) -> None:
    """Write `rows` in `fmt`: streamed for csv/tsv/json/jsonl, a table for people."""
    paged(env)
    _render_rows(env, rows, picked(env, columns), fmt, noun)


def _render_rows(
    env: Streams, rows: Iterable[dict], columns: Sequence[Col], fmt: Format, noun="rows"
):
    out = env.stdout
    if fmt in (Format.csv, Format.tsv):
        import csv

        writer = csv.writer(out, delimiter="\t" if fmt is Format.tsv else ",", lineterminator="\n")
        writer.writerow(col.key for col in columns)
        # csv leaves a bare carriage return unquoted, which no reader gets back: quote its row.
        quoted = csv.writer(
            out, delimiter=writer.dialect.delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL
        )
        tty = out.isatty()
        for row in rows:
            cells = [_plain(row.get(col.key)) for col in columns]
            shown = [visible(c) if tty else neutralise_formula(c) for c in cells]
            (quoted if any("\r" in c for c in shown) else writer).writerow(shown)
    elif fmt is Format.jsonl:
        import json

        for row in rows:
            out.write(json.dumps(_record(row, columns), ensure_ascii=False) + "\n")
    elif fmt is Format.json:
        _stream_json_array(out, (_record(row, columns) for row in rows))
    else:
        rows = iter(rows)
        first = next(rows, None)
        if first is None:
            say(env, f"No {noun}.")
            return
        if not is_terminal(env):
            _write_plain_table(out, columns, _chain(first, rows))
            return
        # Rich lays a table out at about a millisecond a row: a list longer than RICH_ROWS
        # is written plain, in seconds rather than minutes.
        head = [first, *islice(rows, RICH_ROWS)]
        if len(head) > RICH_ROWS:
            _write_plain_table(out, columns, chain(head, rows))
        else:
            console(env).print(table(columns, head))


def _chain(first: dict, rest: Iterator[dict]) -> Iterator[dict]:
    yield first
    yield from rest


def _stream_json_array(out, records: Iterable[dict]) -> None:
    """`[{...},\\n {...}]`, written one record at a time; `[]` when empty."""
    import json

    out.write("[")
    for i, record in enumerate(records):
        out.write((",\n " if i else "") + json.dumps(record, ensure_ascii=False))
    out.write("]\n")


def render_record(
    env: Streams,
    title: str,
    record: dict,
    fields: Sequence[Col],
    fmt: Format,
    sections: Sequence[Section] = (),
    page: Sequence[Col] | None = None,
) -> None:
    """One record: a page of details (`page`, else `fields`) and sections for people, one
    object in JSON, one row in csv/tsv/jsonl. --fields picks fields and sections."""
    paged(env)
    if getattr(env, "fields", None):
        fields = picked(env, fields, [s.key for s in sections])
        sections = [s for s in sections if s.key in env.fields]
        page = None
    if fmt is Format.json:
        import json

        obj = _record(record, fields)
        obj.update({s.key: [_record(r, s.columns) for r in s.rows] for s in sections})
        env.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt is not Format.table:
        _render_rows(env, [record], fields, fmt)
        return
    if not is_terminal(env):
        _write_plain_record(env.stdout, title, record, page or fields, sections)
        return
    from rich.table import Table
    from rich.text import Text

    out = console(env)
    out.print(Text(visible(title), style="bold"))
    details = Table.grid(padding=(0, 2))
    details.add_column(style="dim")
    details.add_column(overflow="fold")
    for col in page or fields:
        if record.get(col.key) not in (None, "", []):
            details.add_row(col.title, _table_cell(record.get(col.key), col))
    out.print(details)
    for section in sections:
        if section.rows:
            out.print()
            out.print(table(section.columns, section.rows, section.title, section.extra))


EIGHTHS = " ▏▎▍▌▋▊▉"


def bar_cells(value: float, largest: float, width: int) -> str:
    """A horizontal bar as text, `width` cells for the largest value, to an eighth of a cell
    (plain text: a page in a pipe draws it without loading Rich)."""
    eighths = round(width * 8 * value / largest) if largest else 0
    whole, part = divmod(eighths, 8)
    return "█" * whole + (EIGHTHS[part] if part else "")
