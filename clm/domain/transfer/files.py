"""Files in and out: the records of a csv, tsv, json or jsonl file, each with the line it starts
on, read as a stream; and exports written safely (a private temporary file renamed into place).

A file that cannot be read as rows at all (invalid UTF-8, a NUL byte, an unmatched quote, a
field past the size limit, broken JSON, a header naming unknown columns) raises `FileProblem`
naming the line; a single row that does not fit (too many cells, unknown JSON fields) comes out
as its line and a message, so the importer lists it with the other bad rows.
"""

import csv
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, NamedTuple, TextIO

from clm.db import is_own_file, own_file_kind
from clm.domain.transfer import FORMATS
from clm.errors import Conflict, Invalid, NotFound, Problem, did_you_mean
from clm.plain import unneutralise_formula

FIELD_LIMIT = 1 << 20  # characters in one csv field, or in one JSON object of an array
EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl",
              ".ndjson": "jsonl"}  # fmt: skip
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_BOM = b"\xef\xbb\xbf"


class BadRow(NamedTuple):
    """A row that does not fit the file's columns: the field (if one) and what is wrong."""

    column: str | None
    message: str


class FileProblem(Invalid):
    """A file that cannot be read as rows: `line N: …`."""

    def __init__(self, line: int, message: str):
        super().__init__(str(Problem(f"line {line}", message)))


def format_of(file: str, given: str | None) -> str:
    """`--format`, else the file's extension; standard input (`-`) is csv unless told."""
    if given:
        return given
    if file == "-":
        return "csv"
    found = EXTENSIONS.get(Path(file).suffix.lower())
    if found is None:
        raise Invalid(
            f"cannot tell the format of '{file}' from its name: pass --format {'|'.join(FORMATS)}"
        )
    return found


def parse_mapping(specs: Iterable[str], columns: tuple[str, ...]) -> dict[str, str | None]:
    """`--map 'Company Name=name'` options: source header -> column, or None (`'Notes='`: the
    column is left out)."""
    mapping: dict[str, str | None] = {}
    for spec in specs:
        source, sep, target = spec.rpartition("=")
        source, target = source.strip(), target.strip().lower()
        if not sep or not source:
            raise Invalid(
                f"invalid --map '{spec}': use 'Source Header=column' (or 'Header=' to skip)"
            )
        if target and target not in columns:
            raise Invalid(
                f"invalid --map '{spec}': no column '{target}'{did_you_mean(target, columns)} "
                f"(the columns: {', '.join(columns)})"
            )
        if source in mapping:
            raise Invalid(f"invalid --map '{spec}': '{source}' is mapped twice")
        mapping[source] = target or None
    return mapping


class Records:
    """The records of one file: `(line, {column: value})` for each row (only the columns it
    has), or `(line, BadRow)` for a row that does not fit. csv and tsv values are text with
    the formula guard (a leading `'`) removed; json values are as parsed."""

    def __init__(
        self,
        stream: BinaryIO,
        fmt: str,
        columns: tuple[str, ...],
        required: tuple[str, ...],
        mapping: dict[str, str | None],
    ):
        self.stream, self.fmt = stream, fmt
        self.columns, self.required, self.mapping = columns, required, mapping
        self.bytes_read = 0
        self._quoted = False  # whether a line of the current record has a `'` (csv)

    def __iter__(self) -> Iterator[tuple[int, dict | BadRow]]:
        lines = self._lines()
        if self.fmt in ("csv", "tsv"):
            return self._delimited(lines, "\t" if self.fmt == "tsv" else ",")
        if self.fmt == "jsonl":
            return self._json_lines(lines)
        return self._json_array(lines)

    def _lines(self) -> Iterator[str]:
        """The file's lines as text, each checked: UTF-8 (a BOM first is dropped), no NUL."""
        for number, raw in enumerate(self.stream, start=1):
            self.bytes_read += len(raw)
            if number == 1 and raw.startswith(_BOM):
                raw = raw[3:]
            nul = raw.find(b"\0")
            if nul >= 0:
                raise FileProblem(number, f"a NUL byte at column {nul + 1}: not a text file")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FileProblem(
                    number,
                    f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}): "
                    "save the file as UTF-8",
                ) from None
            if "'" in line:
                self._quoted = True
            yield line

    # --- csv and tsv ---------------------------------------------------------------------

    def _delimited(
        self, lines: Iterator[str], delimiter: str
    ) -> Iterator[tuple[int, dict | BadRow]]:
        csv.field_size_limit(FIELD_LIMIT)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        targets: list[str | None] | None = None
        start = last = 0
        try:
            for cells in reader:
                start, last = last + 1, reader.line_num
                quoted, self._quoted = self._quoted, False
                if not cells:
                    continue  # a blank line
                if targets is None:
                    targets = self._header(cells, start)
                    every_cell = None not in targets  # no column skipped by --map
                    continue
                if len(cells) != len(targets):
                    count = f"{len(cells)} cell{'s' if len(cells) != 1 else ''}"
                    yield start, BadRow(None, f"{count}, but the header has {len(targets)}")
                    continue
                if quoted:
                    cells = [
                        unneutralise_formula(cell) if cell[:1] == "'" else cell for cell in cells
                    ]
                if every_cell:
                    yield start, dict(zip(targets, cells, strict=True))
                    continue
                yield (
                    start,
                    {
                        col: cell
                        for col, cell in zip(targets, cells, strict=True)
                        if col is not None
                    },
                )
        except csv.Error as exc:
            raise _csv_problem(str(exc), last + 1, reader.line_num) from None
        if targets is None:
            raise FileProblem(
                1, f"no header row: the file is empty (expected {', '.join(self.columns)})"
            )

    def _header(self, cells: list[str], line: int) -> list[str | None]:
        """The column each header cell names, after `--map`; None for a skipped one."""
        names = [cell.strip() for cell in cells]
        for source in self.mapping:
            if source not in names:
                raise Invalid(
                    f"invalid --map '{source}=…': the file has no column '{source}'"
                    f"{did_you_mean(source, names)}"
                )
        targets, unknown = [], []
        for name in names:
            target = self._target(name)
            if target is _UNKNOWN:
                unknown.append(name)
            targets.append(target)
        if unknown:
            listed = ", ".join(f"'{name}'" for name in unknown)
            raise FileProblem(
                line,
                f"unknown column{'s' if len(unknown) > 1 else ''} {listed}: the columns are "
                f"{', '.join(self.columns)}; rename one with --map '{unknown[0]}=COLUMN' or "
                f"skip it with --map '{unknown[0]}='",
            )
        seen: dict[str, str] = {}
        for name, target in zip(names, targets, strict=True):
            if target is not None and target in seen:
                raise FileProblem(line, f"columns '{seen[target]}' and '{name}' are both {target}")
            if target is not None:
                seen[target] = name
        missing = [column for column in self.required if column not in seen]
        if missing:
            raise FileProblem(line, f"no {', '.join(missing)} column: {self._needs()}")
        return targets

    def _needs(self) -> str:
        return f"every row needs {', '.join(self.required)}"

    def _target(self, name: str):
        if name in self.mapping:
            return self.mapping[name]
        key = name.strip().lower()
        return key if key in self.columns else _UNKNOWN

    # --- json and jsonl ------------------------------------------------------------------

    def _json_lines(self, lines: Iterator[str]) -> Iterator[tuple[int, dict | BadRow]]:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            if len(line) > FIELD_LIMIT:
                raise FileProblem(number, _TOO_BIG)
            try:
                value = _DECODER.decode(line)
            except json.JSONDecodeError as exc:
                column = min(exc.pos, len(line.rstrip("\r\n"))) + 1
                raise FileProblem(number, f"invalid JSON: {exc.msg} (column {column})") from None
            except RecursionError:
                raise FileProblem(number, _TOO_DEEP) from None
            yield number, self._object(value)

    def _json_array(self, lines: Iterator[str]) -> Iterator[tuple[int, dict | BadRow]]:
        """The objects of one JSON array, decoded one at a time: memory stays flat."""
        decoder = _DECODER
        buffer, pos, line = "", 0, 1  # `line` is the line number at buffer[pos]

        def fill() -> bool:
            nonlocal buffer, pos
            more = next(lines, None)
            if more is None:
                return False
            buffer, pos = buffer[pos:] + more, 0
            return True

        def next_char() -> str:
            """Skip whitespace; the next character, or '' at the end of the file."""
            nonlocal pos, line
            while True:
                end = _WHITESPACE.match(buffer, pos).end()
                line += buffer.count("\n", pos, end)
                pos = end
                if pos < len(buffer):
                    return buffer[pos]
                if not fill():
                    return ""

        if next_char() != "[":
            raise FileProblem(line, "expected a JSON array of objects: [{...}, {...}]")
        pos += 1
        if next_char() == "]":
            pos += 1
        else:
            while True:
                start = line
                while True:
                    try:
                        value, end = decoder.raw_decode(buffer, pos)
                        break
                    except json.JSONDecodeError as exc:
                        if len(buffer) - pos > FIELD_LIMIT or not fill():
                            raise _json_problem(exc, buffer, pos, line) from None
                    except RecursionError:
                        raise FileProblem(line, _TOO_DEEP) from None
                if end - pos > FIELD_LIMIT:
                    raise FileProblem(line, _TOO_BIG)
                line += buffer.count("\n", pos, end)
                pos = end
                yield start, self._object(value)
                char = next_char()
                pos += 1
                if char == "]":
                    break
                if char != ",":
                    raise FileProblem(line, "invalid JSON: expected ',' or ']' after an object")
                next_char()
        if next_char() != "":
            raise FileProblem(line, "invalid JSON: more text after the array's closing ']'")

    def _object(self, value) -> dict | BadRow:
        if not isinstance(value, dict):
            return BadRow(None, "expected a JSON object {...}")
        if isinstance(value, _Repeated):
            return BadRow(None, f"the field '{value.repeated}' is given twice in one object")
        record, unknown = {}, []
        for name, item in value.items():
            target = self._target(name)
            if target is _UNKNOWN:
                unknown.append(name)
            elif target is not None:
                if target in record:
                    return BadRow(None, f"two fields are {target}")
                if not _sound(item):
                    return BadRow(target, "a NUL character or broken Unicode")
                record[target] = item
        if unknown:
            listed = ", ".join(f"'{name}'" for name in unknown)
            fields = f"field{'s' if len(unknown) > 1 else ''}"
            return BadRow(
                None, f"unknown {fields} {listed}: the fields are {', '.join(self.columns)}"
            )
        missing = [column for column in self.required if column not in record]
        if missing:
            return BadRow(None, f"no {', '.join(missing)}: {self._needs()}")
        return record


_UNKNOWN = object()
_TOO_BIG = f"a JSON object longer than {FIELD_LIMIT:,} characters (the limit of a csv field)"
_TOO_DEEP = "invalid JSON: nested too deeply (an object's fields are text, numbers or lists)"


class _Repeated(dict):
    """An object that gives one field twice: refused, not silently last-wins."""

    repeated: str


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    seen: set[str] = set()
    repeated = _Repeated(found)
    repeated.repeated = next(k for k, _ in pairs if k in seen or seen.add(k))
    return repeated


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs)


def _sound(value) -> bool:
    """Text that can be stored and exported: no NUL, no lone surrogate (`"\\ud800"` in JSON)."""
    if isinstance(value, str):
        if "\0" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(_sound(item) for item in value)
    return True


def _json_problem(exc: json.JSONDecodeError, buffer: str, pos: int, line: int) -> FileProblem:
    if not buffer[exc.pos :].strip():
        return FileProblem(line, "invalid JSON: the object that starts here is cut off")
    return FileProblem(line + buffer.count("\n", pos, exc.pos), f"invalid JSON: {exc.msg}")


def _csv_problem(message: str, start: int, line: int) -> FileProblem:
    if message.startswith("unexpected end of data"):
        return FileProblem(start, "unmatched quote: a quoted field starts here and never ends")
    if message.startswith("field larger than field limit"):
        return FileProblem(
            start, f"a field longer than {FIELD_LIMIT:,} characters (an unmatched quote?)"
        )
    if "expected after" in message:
        return FileProblem(
            line, 'text after a closing quote: a quote inside a quoted field is written ""'
        )
    return FileProblem(line, message)


@contextmanager
def open_output(file: str, force: bool, database: Path | None) -> Iterator[TextIO]:
    """A text stream that becomes `file` when the block ends well: written to a temporary file
    in the same directory, readable by its owner only, then renamed over `file`. An existing
    file needs `force`; a symbolic link is never followed, nor the database written over."""
    target = Path(file)
    if target.is_symlink():
        raise Conflict(f"'{file}' is a symbolic link: clm never writes through one")
    if target.is_dir():
        raise Invalid(f"'{file}' is a directory: name a file")
    if is_own_file(target, database):
        raise Conflict(f"'{file}' {own_file_kind(target, database)}: export to another file")
    if target.exists() and not force:
        raise Conflict(f"'{file}' already exists: pass --force to replace it")
    directory = target.parent
    if not directory.is_dir():
        raise NotFound(f"no directory '{directory}' to write '{file}' in")
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=directory
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)  # replaces a link made meanwhile; never follows it
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
