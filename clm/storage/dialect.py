"""SQL functions written once and compiled for each dialect (SQLite and PostgreSQL)."""

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    literal,
)
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class iso_date(FunctionElement):
    """SQL: a date column as its ISO text (`2026-11-23`), on either dialect: SQLite stores it
    so; PostgreSQL's own text for a date follows the session's DateStyle, so it is spelled out."""

    type = String()
    name = "iso_date"
    inherit_cache = True


@compiles(iso_date, "sqlite")
def _iso_date_sqlite(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(iso_date, "postgresql")
def _iso_date_postgresql(element, compiler, **kw) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD')"


class joined_cells(FunctionElement):
    """SQL: cells joined by a delimiter into one text (NULL as an empty cell, a whole number
    as its digits), on either dialect: a line a driver returns as one string, not a dozen.
    SQLite has no concat_ws before 3.44 and its `||` copies the line once per cell: its
    printf writes it once (a NUL would end a cell there, and clm stores none: imports refuse
    it, arguments cannot hold it)."""

    type = String()
    name = "joined_cells"
    inherit_cache = False  # the delimiter is rendered into the SQL text: never a cached form

    def __init__(self, delimiter: str, *cells):
        self.delimiter = delimiter
        super().__init__(*cells)


@compiles(joined_cells, "sqlite")
def _joined_cells_sqlite(element, compiler, **kw) -> str:
    delimiter = element.delimiter.replace("%", "%%").replace("'", "''")
    spec = delimiter.join(["%s"] * len(element.clauses))
    return f"printf('{spec}', {compiler.process(element.clauses, **kw)})"


@compiles(joined_cells, "postgresql")
def _joined_cells_postgresql(element, compiler, **kw) -> str:
    delimiter = compiler.process(literal(element.delimiter, String()), **kw)
    cells = ", ".join(
        f"coalesce(({compiler.process(cell, **kw)})::text, '')" for cell in element.clauses
    )
    return f"concat_ws({delimiter}, {cells})"


# Characters every renderer shows one cell wide, escapes never and strips never: printable
# ASCII and the Latin letters and signs of U+00A1–U+024F (no control, space, combining mark or
# wide character). Text of only these is as long as it is wide, so the database can pad it.
NARROW_CHARS = " -~\u00a1-\u024f"


class has_other_chars(FunctionElement):
    """SQL: whether text holds a character outside NARROW_CHARS (NULL for NULL)."""

    type = Boolean()
    name = "has_other_chars"
    inherit_cache = True


@compiles(has_other_chars, "sqlite")
def _has_other_chars_sqlite(element, compiler, **kw) -> str:
    # GLOB costs a microsecond or two a name: ASCII text (as long in characters as in bytes)
    # is checked for controls with cheaper functions (json_quote escapes C0 controls, and `"`
    # and `\`, which it then sends to the GLOB too).
    text = f"({compiler.process(element.clauses, **kw)})"
    return (
        f"(CASE WHEN length({text}) = length(CAST({text} AS BLOB))"
        f" AND length(json_quote({text})) = length({text}) + 2 THEN instr({text}, char(127)) > 0"
        f" ELSE {text} GLOB '*[^{NARROW_CHARS}]*' END)"
    )


@compiles(has_other_chars, "postgresql")
def _has_other_chars_postgresql(element, compiler, **kw) -> str:
    return f"(({compiler.process(element.clauses, **kw)}) ~ '[^{NARROW_CHARS}]')"


class grouped_digits(FunctionElement):
    """SQL: a whole number's digits with a comma between thousands (`1,234,567`), as Python's
    `f"{n:,}"` writes it."""

    type = String()
    name = "grouped_digits"
    inherit_cache = True


@compiles(grouped_digits, "sqlite")
def _grouped_digits_sqlite(element, compiler, **kw) -> str:
    return f"printf('%,d', {compiler.process(element.clauses, **kw)})"


@compiles(grouped_digits, "postgresql")
def _grouped_digits_postgresql(element, compiler, **kw) -> str:
    pattern = "FM" + ",".join(["999"] * 7)  # up to 21 digits; a bigint has 19
    return f"to_char({compiler.process(element.clauses, **kw)}, '{pattern}')"


class padded_line(FunctionElement):
    """SQL: text cells each padded with spaces to its width (on the left when flush right),
    joined by three spaces, trailing spaces trimmed: a line of a plain table. Widths count
    characters (SQLite's printf counts bytes unless told `!`); a NULL cell is empty."""

    type = String()
    name = "padded_line"
    inherit_cache = False  # the widths are rendered into the SQL text: never a cached form

    def __init__(self, layout: list[tuple[int, bool]], *cells):
        self.layout = layout  # (width, flush right) of each cell
        super().__init__(*cells)


def _line_spec(layout: list[tuple[int, bool]], bang: str) -> str:
    return "   ".join(f"%{'' if right else '-'}{bang}{int(width)}s" for width, right in layout)


@compiles(padded_line, "sqlite")
def _padded_line_sqlite(element, compiler, **kw) -> str:
    spec = _line_spec(element.layout, "!")
    return f"rtrim(printf('{spec}', {compiler.process(element.clauses, **kw)}))"


@compiles(padded_line, "postgresql")
def _padded_line_postgresql(element, compiler, **kw) -> str:
    spec = compiler.process(literal(_line_spec(element.layout, ""), String()), **kw)
    return f"rtrim(format({spec}, {compiler.process(element.clauses, **kw)}))"


class sorted_by(FunctionElement):
    """SQL: an ORDER BY (or GROUP BY) term that SQLite sorts by rather than follows an index
    (`+column`): for most of a table, reading it in storage order and sorting costs half of
    walking an index and fetching each row from wherever it lies. In a WHERE term, one SQLite
    tests row by row rather than seeks through its index (another index is the narrower).
    PostgreSQL chooses by cost itself."""

    name = "sorted_by"
    inherit_cache = True


@compiles(sorted_by, "sqlite")
def _sorted_by_sqlite(element, compiler, **kw) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


@compiles(sorted_by, "postgresql")
def _sorted_by_postgresql(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


class binary(FunctionElement):
    """SQL: text compared byte by byte (code point order), whatever the collation: SQLite's
    own; PostgreSQL's "C"."""

    type = String()
    name = "binary"
    inherit_cache = True


@compiles(binary, "sqlite")
def _binary_sqlite(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(binary, "postgresql")
def _binary_postgresql(element, compiler, **kw) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


class days_from(FunctionElement):
    """SQL: the whole days from the first date to the second (`b - a`), on either dialect."""

    type = Integer()
    name = "days_from"
    inherit_cache = True


@compiles(days_from, "sqlite")
def _days_from_sqlite(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"


@compiles(days_from, "postgresql")
def _days_from_postgresql(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


class greatest(FunctionElement):
    """SQL: the greater of two values, neither NULL, on either dialect."""

    name = "greatest"
    inherit_cache = True


@compiles(greatest, "sqlite")
def _greatest_sqlite(element, compiler, **kw) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "postgresql")
def _greatest_postgresql(element, compiler, **kw) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


class least(FunctionElement):
    """SQL: the lesser of two values, neither NULL, on either dialect."""

    name = "least"
    inherit_cache = True


@compiles(least, "sqlite")
def _least_sqlite(element, compiler, **kw) -> str:
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(least, "postgresql")
def _least_postgresql(element, compiler, **kw) -> str:
    return f"LEAST({compiler.process(element.clauses, **kw)})"


# A version 4 uuid as text from SQLite's own randomness (the form Python's uuid4 writes).
SQLITE_UUID = (
    "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "
    "substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || "
    "substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))"
)


# A version 7 uuid as text (RFC 9562: the time in milliseconds, then random bits), as SQL
# writes rows one by one (the audit log's triggers): increasing with time, so a table's unique
# index on `uuid` takes them near its end, where random ones land on a page each.
_SQLITE_MILLIS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
SQLITE_UUID7 = (
    f"lower(printf('%08x-%04x-7', {_SQLITE_MILLIS} >> 16, {_SQLITE_MILLIS} & 65535) || "
    "substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || "
    "substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))"
)


class random_uuid(FunctionElement):
    """SQL: a new random uuid as text for each row, on either dialect: an INSERT … SELECT
    gives every row it writes its own uuid without a trip through Python."""

    type = String()
    name = "random_uuid"
    inherit_cache = True


@compiles(random_uuid, "sqlite")
def _random_uuid_sqlite(element, compiler, **kw) -> str:
    return SQLITE_UUID


@compiles(random_uuid, "postgresql")
def _random_uuid_postgresql(element, compiler, **kw) -> str:
    return "gen_random_uuid()::text"


# Shared files: hot journals, copies beside the db, read-only copies to merge.


class uuid_in_block(FunctionElement):
    """SQL: the uuid `offset` places into a block of version 7 uuids (clm.domain.records'
    UuidSource.block: the text before the counter, and the counter of the first): an INSERT …
    SELECT numbering its rows by an increasing id writes increasing uuids, which a unique
    index takes as appends."""

    type = String()
    name = "uuid_in_block"
    inherit_cache = True


_LOW_48 = (1 << 48) - 1


def _block_parts(element, compiler, **kw) -> tuple[str, str]:
    head, first, offset = (compiler.process(c, **kw) for c in element.clauses)
    return head, f"({first} + {offset})"


@compiles(uuid_in_block, "sqlite")
def _uuid_in_block_sqlite(element, compiler, **kw) -> str:
    head, n = _block_parts(element, compiler, **kw)
    return f"({head} || printf('%04x-%012x', 32768 + ({n} >> 48), {n} & {_LOW_48}))"


@compiles(uuid_in_block, "postgresql")
def _uuid_in_block_postgresql(element, compiler, **kw) -> str:
    head, n = _block_parts(element, compiler, **kw)
    n = f"CAST({n} AS BIGINT)"
    return (
        f"({head} || lpad(to_hex(32768 + ({n} >> 48)), 4, '0') || '-' || "
        f"lpad(to_hex({n} & {_LOW_48}), 12, '0'))"
    )


def by_primary_key(query, table):
    """`query` reading `table` (a table without a rowid) through its primary key on SQLite:
    given a secondary index whose columns the conditions also cover, its planner takes the
    smaller index and then seeks each row's value in the table, twice the work. PostgreSQL
    plans it itself."""
    return query.with_hint(table, f"INDEXED BY sqlite_autoindex_{table.name}_1", "sqlite")


def _sqlite_table_hint(self, table, text: str) -> str:
    return text  # SQLite's table hint (INDEXED BY) goes right after the table's name


SQLiteCompiler.get_from_hint_text = _sqlite_table_hint


def run_script(conn, statements: list[str]) -> None:
    """Run statements without parameters in order, in the connection's transaction: on a server
    as one script, one round trip instead of one per statement (a new book's schema is some
    300 of them, and on a busy machine each waits for the server's turn and then the
    client's); SQLite runs them one by one (its driver takes a statement at a time)."""
    if conn.dialect.name == "postgresql":
        if statements:
            conn.exec_driver_sql(";\n".join(statements))
        return
    for statement in statements:
        conn.exec_driver_sql(statement)
