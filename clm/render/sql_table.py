"""A listing's plain table (the table format in a pipe) laid out by the database: one query
measures the columns, another pads each row's cells into one line, so a hundred thousand rows
cost the driver a string each and no Python per cell. A row the database cannot write exactly
as `clm.render.output` does (text of other widths or with escaped characters, an amount it formats
otherwise) is written by `clm.render.output`, in its place: the bytes are the plain table's."""

import re
from collections.abc import Sequence

from sqlalchemy import Connection, String, and_, case, cast, func, literal, select

from clm.db import NARROW_CHARS, has_other_chars, padded_line, stream_rows
from clm.domain.listing import Cell, SqlListing
from clm.render.output import Col, PlainLayout, table_cells

STREAM_ROWS = 5000  # lines fetched at a time
OTHER_CHARS = re.compile(f"[^{NARROW_CHARS}]")
PRINTABLE_ASCII = bytes(range(0x20, 0x7F))


def write_table(conn: Connection, out, columns: Sequence[Col], listing: SqlListing) -> bool:
    """Write the listing as the plain table; False (nothing written) when it has no rows."""
    shown = [col for col in columns if col.table]
    cells = [listing.cells[col.key] for col in shown]
    count, widths, exact = _measure(conn, listing, cells)
    if not count:
        return False
    layout = PlainLayout(shown, widths)
    written: dict[int, str] = {}
    if not exact:
        widths, keys = _measure_checked(conn, listing, cells)
        layout = PlainLayout(shown, widths)
        cells_of = {key: table_cells(row, shown) for key, row in listing.rows_of(keys).items()}
        for row_cells in cells_of.values():
            layout.measure(row_cells)
        written = {key: layout.line(row_cells)[:-1] for key, row_cells in cells_of.items()}
    # Every row's line, checked by none: the rows clm.render.output writes are known by their key.
    texts = [cell.text for cell in cells]
    line = padded_line(list(zip(layout.widths, layout.right, strict=True)), *texts)
    lines = listing.select(listing.key, line) if written else listing.select(line)
    layout.write_head(out)
    for batch in stream_rows(conn, lines, STREAM_ROWS):
        if written:
            text = "\n".join([written.get(key, text) for key, text in batch])
        else:
            text = "\n".join([text for (text,) in batch])
        out.write(text + "\n")
    return True


def _rows(listing: SqlListing, *columns):
    """The listing's rows as a subquery of `columns` (in no order unless it is limited)."""
    query = listing.select(*columns)
    return (query.order_by(None) if listing.limit is None else query).subquery()


def _measure(conn: Connection, listing: SqlListing, cells: list[Cell]):
    """The rows' count, each column's longest text and whether every row's cells are exact,
    in one pass with no check per row: the texts of the narrow columns come joined, to be
    checked here by a regular expression (a hundred times quicker than SQLite's GLOB)."""
    narrow = [cell.text for cell in cells if cell.narrow]
    checks = [cell.exact for cell in cells if cell.exact is not None]
    rows = _rows(
        listing,
        *(func.length(cell.text).label(f"w{i}") for i, cell in enumerate(cells)),
        *(text.label(f"t{i}") for i, text in enumerate(narrow)),
        *(case((check, 0), else_=1).label(f"x{i}") for i, check in enumerate(checks)),
    )
    count, *found = conn.execute(
        select(
            func.count(),
            *(func.max(rows.c[f"w{i}"]) for i in range(len(cells))),
            *(func.aggregate_strings(rows.c[f"t{i}"], "") for i in range(len(narrow))),
            *(func.max(rows.c[f"x{i}"]) for i in range(len(checks))),
        )
    ).one()
    widths = [width or 0 for width in found[: len(cells)]]
    joined = found[len(cells) : len(cells) + len(narrow)]
    inexact = found[len(cells) + len(narrow) :]
    exact = not any(inexact) and all(map(_narrow, joined))
    return count, widths, exact


def _narrow(text: str | None) -> bool:
    if not text:
        return True
    if text.isascii():  # printable unless a byte is left once the printable ones are gone
        return not text.encode("ascii").translate(None, PRINTABLE_ASCII)
    return not OTHER_CHARS.search(text)


def _measure_checked(conn: Connection, listing: SqlListing, cells: list[Cell]):
    """Each column's longest text among the rows the database writes exactly, and the keys
    of the others, for clm.render.output: every row checked."""
    checks = [cell.exact for cell in cells if cell.exact is not None]
    checks += [~has_other_chars(cell.text) for cell in cells if cell.narrow]
    # 1 for a row clm.render.output writes; a check that is NULL sends it there too.
    by_python = case((and_(*checks), literal(0)), else_=literal(1))
    measured = listing.select(
        listing.key.label("key"),
        by_python.label("by_python"),
        *(func.length(cell.text).label(f"w{i}") for i, cell in enumerate(cells)),
    )
    if listing.limit is None:
        measured = measured.order_by(None)
    # OFFSET 0 keeps the subquery whole (SQLite and PostgreSQL would otherwise merge it into
    # the outer query and check each row's text once per aggregate).
    rows = measured.offset(0).subquery()
    by_sql = rows.c.by_python == 0
    keys, *widths = conn.execute(
        select(
            func.aggregate_strings(case((~by_sql, cast(rows.c.key, String))), ","),
            *(func.max(case((by_sql, rows.c[f"w{i}"]))) for i in range(len(cells))),
        )
    ).one()
    return [width or 0 for width in widths], [int(key) for key in (keys or "").split(",") if key]
