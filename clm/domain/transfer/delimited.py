"""Writing exported rows as csv and tsv (and putting list cells in order), with no
SQLAlchemy: `clm export` on a file runs its statements compiled ahead (clm.storage.reads) and
writes them with these, as it writes any other backend's rows."""

import codecs
import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import TextIO

from clm.dates import parse_duration
from clm.domain.transfer import LIST_COLUMNS
from clm.plain import neutralise_formula, number, row_converter, unneutralise_formula, visible

_DAYS = {"d": 1, "bd": 1.4, "w": 7, "m": 30.44, "y": 365.25}


def _offset_order(offset: str) -> tuple:
    duration = parse_duration(offset)
    return (duration.count * _DAYS[duration.unit], offset)


@lru_cache(maxsize=4096)
def list_items(joined: str | None, column: str) -> tuple[str, ...]:
    """A `;`-joined list from the database, in order: reminder offsets nearest the due date
    first (as `milestone list` shows them), the others sorted."""
    if not joined:
        return ()
    parts = joined.split(";")
    return tuple(sorted(parts, key=_offset_order) if column == "remind" else sorted(parts))


@lru_cache(maxsize=4096)
def _cell_items(cell: str, column: str) -> str:
    """A list cell as the database joined it (tags guarded as a whole), in order."""
    if column != "tags":
        return ";".join(list_items(cell, column))
    return neutralise_formula(";".join(list_items(unneutralise_formula(cell), column)))


def _text_cells(columns: tuple[str, ...]) -> Callable[[tuple], list] | None:
    """The Python left to do on a row of text cells (a float, ARR or a metric's value,
    written as csv writes it); None when there is none. A missing ARR is an empty cell."""
    floats = [i for i, column in enumerate(columns) if column in ("arr", "value")]
    if not floats:
        return None
    return row_converter(
        dict.fromkeys(floats, lambda value: str(number(value))), dict.fromkeys(floats, "")
    )


def write_delimited(
    stream: TextIO, columns: tuple[str, ...], rows, delimiter: str, header: bool = True
) -> int:
    """csv or tsv through the csv writer, a batch of rows (of text cells) at a time. The csv
    module quotes a field with a newline but not one with a lone carriage return (when lines
    end in a newline): such a row is written with every field quoted, so it reads back as it
    was."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    quoted = csv.writer(buffer, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    if header:
        stream.write(delimiter.join(columns) + "\n")
    convert = _text_cells(columns)
    lists = [(i, column) for i, column in enumerate(columns) if column in LIST_COLUMNS]
    terminal = stream.isatty()  # on a terminal, control characters are shown, never sent
    count = 0
    for batch in rows:
        if convert is not None:
            batch = list(map(convert, batch))
        if lists:
            batch = _in_order(batch, lists)
        if terminal:
            batch = [[visible(cell) for cell in row] for row in batch]
        writer.writerows(batch)
        if "\r" in buffer.getvalue():
            buffer.seek(0)
            buffer.truncate()
            for row in batch:
                (quoted if any("\r" in cell for cell in row) else writer).writerow(row)
        stream.write(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
        count += len(batch)
    return count


def write_lines(
    lines: Iterable[list[tuple]],
    again: Callable[[object, object], Iterable[list[tuple]]],
    columns: tuple[str, ...],
    stream: TextIO,
    delimiter: str,
) -> int:
    """csv or tsv from lines the database joined, batches of (key, line) in key order (the
    driver makes one string of a row, not a dozen): `write_blocks` of them."""
    blocks = (
        (len(rows), rows[0][0], rows[-1][0], "\n".join([r[1] for r in rows])) for rows in lines
    )
    return write_blocks(blocks, again, columns, stream, delimiter)


def write_blocks(
    blocks: Iterable[tuple],
    again: Callable[[object, object], Iterable[list[tuple]]],
    columns: tuple[str, ...],
    stream: TextIO,
    delimiter: str,
) -> int:
    """csv or tsv from blocks of lines the database joined: (count, first key, last key,
    the lines joined by newlines), in key order. A block whose lines hold no delimiter,
    quote, newline or carriage return but their own is written as it is: exactly what the
    csv writer would write. Any other block's records are read again as text cells by
    `again(first key, last key)` and written by the csv writer."""
    out = _Out(stream)
    out.write(delimiter.join(columns) + "\n")
    lists = [(i, column) for i, column in enumerate(columns) if column in LIST_COLUMNS]
    special = (delimiter + '\n"\r').encode()  # UTF-8 holds these bytes for these only
    count = 0
    for size, low, high, text in blocks:
        if not size:
            continue
        data = out.encode(text)
        # Each line holds its delimiters and the newline after it: any more is in a cell.
        if len(data) - len(data.translate(None, special)) != len(columns) * size - 1:
            count += write_delimited(out, columns, again(low, high), delimiter, header=False)
            continue
        if lists and ";" in text:
            text = "\n".join(_lines_in_order(text.split("\n"), lists, delimiter))
            data = None
        out.write(text + "\n", None if data is None else data + b"\n")
        count += size
    return count


class _Out:
    """Where csv or tsv lines go: straight to the bytes under a UTF-8 text stream that
    translates no newline (a batch is encoded once: to be checked, then written), else to
    the text stream."""

    def __init__(self, stream: TextIO):
        self.text, self.binary, self.errors = stream, None, "surrogatepass"
        buffer = getattr(stream, "buffer", None)
        utf8 = codecs.lookup(getattr(stream, "encoding", None) or "ascii").name == "utf-8"
        if type(stream) is io.TextIOWrapper and buffer is not None and utf8 and os.linesep == "\n":
            stream.flush()
            self.binary, self.errors = buffer, stream.errors

    def encode(self, text: str) -> bytes:
        return text.encode("utf-8", self.errors)

    def write(self, text: str, data: bytes | None = None) -> None:
        if self.binary is None:
            self.text.write(text)
        else:
            self.binary.write(self.encode(text) if data is None else data)

    def isatty(self) -> bool:
        return False


def _lines_in_order(lines: list[str], lists, delimiter: str) -> Iterator[str]:
    """Lines with their list cells of more than one item put in order."""
    for line in lines:
        if ";" in line:
            cells = line.split(delimiter)
            for i, column in lists:
                if ";" in cells[i]:
                    cells[i] = _cell_items(cells[i], column)
            line = delimiter.join(cells)
        yield line


def _in_order(batch: list[tuple], lists: list[tuple[int, str]]) -> list[tuple]:
    """The batch with the list cells of more than one item put in order."""
    ordered = []
    for row in batch:
        if any(";" in row[i] for i, _ in lists):
            row = list(row)
            for i, column in lists:
                if ";" in row[i]:
                    row[i] = _cell_items(row[i], column)
        ordered.append(row)
    return ordered


# The tables `clm export` writes as csv through statements compiled ahead when the book is a
# file in its usual state (clm.storage.reads), with no SQLAlchemy imported: the export's own
# queries (clm.domain.transfer.export.export_statements), a batch of lines at a time. The
# large ones: SQLAlchemy's import is a fifth of a 100,000-customer book's customer export.
COMPILED = ("customers", "milestones", "tasks")
BATCH = 5000  # records the csv writer writes at a time
BLOCK = 5000  # lines the database joins into one text


def compiled_export(reads, table: str) -> Callable[[TextIO], int] | None:
    """What writes `table` (one of COMPILED) as csv through `reads` (a
    clm.storage.reads.Reads), returning the rows written; None when the compiled statements
    do not fit the book: custom fields give its customers columns of their own."""
    if table == "customers" and reads.first("show.fields"):
        return None
    from clm.domain.transfer import COLUMNS

    def again(low, high):
        return reads.batches(f"export.{table}.records", BATCH, low=low, high=high)

    def blocks() -> Iterator[tuple]:
        after = -(2**63)  # below any id
        while (block := reads.first(f"export.{table}.block", after=after))[0] is not None:
            after, *lines = block
            yield lines

    def write(stream: TextIO) -> int:
        return write_blocks(blocks(), again, COLUMNS[table], stream, ",")

    return write
