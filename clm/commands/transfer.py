"""`clm export` and `clm import`: tables in and out as csv, tsv, json or jsonl."""

import os
import stat
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer

from clm.render.output import say

LARGE_FILE_ROWS = 10_000  # a progress bar shows from this many rows on (on a terminal)


class Table(StrEnum):
    customers = "customers"
    milestones = "milestones"
    tasks = "tasks"
    ctas = "ctas"
    transitions = "transitions"
    notes = "notes"
    arr = "arr"
    users = "users"
    log = "log"
    contacts = "contacts"
    metrics = "metrics"


class ImportTable(StrEnum):
    customers = "customers"
    milestones = "milestones"
    tasks = "tasks"
    users = "users"
    contacts = "contacts"
    metrics = "metrics"


class DataFormat(StrEnum):
    csv = "csv"
    tsv = "tsv"
    json = "json"
    jsonl = "jsonl"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun if n == 1 else noun + 's'}"


def export(
    ctx: typer.Context,
    table: Annotated[
        Table,
        typer.Argument(
            metavar="TABLE",
            help=f"The table to export: {', '.join(Table)}.",
            case_sensitive=False,
            show_choices=False,  # listed in the help, which wraps to the terminal's width
        ),
    ],
    fmt: Annotated[
        DataFormat,
        typer.Option(
            "--format", "-f", help="csv (default), tsv, json or jsonl.", case_sensitive=False
        ),
    ] = DataFormat.csv,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write to FILE (default: standard output)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    everyone: Annotated[
        bool,
        typer.Option(
            "--all",
            help="users: removed users too, with the day each was removed (a 'removed' "
            "column), so the book's history imports whole.",
        ),
    ] = False,
) -> None:
    """Export a table's stored columns, streamed: the columns and their order are fixed.

    Lists are joined by ';' in csv and tsv, arrays in json; dates are ISO; removed rows are
    left out. Text a spreadsheet would run as a formula gets a leading ' in csv and tsv.
    A whole book: export users --all, customers, milestones, tasks, contacts and metrics;
    import them in that order (metrics with --create-metrics).
    Example: clm export customers --output customers.csv
    """
    env = ctx.obj
    from clm.errors import Invalid
    from clm.render.progress import CountingWriter, progress

    if everyone and table != Table.users:
        raise Invalid(f"--all is for export users (removed users too), not {table.value}")
    from clm.storage.location import resolve

    path = resolve(env.db_target)[1]  # None: a server
    to_terminal = output in (None, "-") and env.stdout.isatty()
    compiled = fmt is DataFormat.csv and not everyone and not to_terminal

    def export_to(stream) -> int:
        return _export(env, table.value, fmt.value, everyone, compiled, stream)

    if output in (None, "-"):
        with _after_reading(path is not None, env.stdout) as stream:
            export_to(stream)
        return
    from clm.domain.transfer.files import open_output

    with (
        open_output(output, force, path) as stream,
        progress(env, f"Exporting {table.value}", unit="lines") as bar,
    ):
        written = stream if not env.stderr.isatty() else CountingWriter(stream, bar)
        count = export_to(written)
    noun = "value" if table == Table.metrics else table.removesuffix("s")
    say(env, f"Exported {_plural(count, noun)} to {output}.")


def _export(env, table: str, fmt: str, everyone: bool, compiled: bool, stream) -> int:
    """Write the table to `stream` in one read; the rows written. A csv export of a file in
    its usual state (`compiled`) runs the statements compiled ahead, with no SQLAlchemy
    imported; any other, the domain's query on the database opened as usual."""
    if compiled:
        from clm.domain.transfer.delimited import COMPILED, compiled_export

        if table in COMPILED:
            with env.reads() as reads:
                write = compiled_export(reads, table) if reads.connection is None else None
                if write is not None:
                    return write(stream)
    from clm.domain.transfer.export import export_table

    with env.database().read() as conn:
        return export_table(conn, table, stream, fmt, removed=everyone)


@contextmanager
def _after_reading(is_sqlite: bool, stdout):
    """Where an export to standard output writes while it reads the book. A SQLite reader's
    lock keeps writers from committing, so when the output is a pipe (whose reader may be
    slow: a pager, a network copy) the export goes to a private temporary file first and is
    copied to the pipe after the read transaction ends. A file or a terminal, and a server
    (whose readers never block writers), get it directly."""
    import shutil
    import tempfile

    try:
        mode = os.fstat(stdout.fileno()).st_mode
    except (AttributeError, OSError, ValueError):  # not a file descriptor (a test's stream)
        mode = 0
    if not is_sqlite or not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        yield stdout
        return
    encoding = getattr(stdout, "encoding", None) or "utf-8"
    with tempfile.TemporaryFile("w+", encoding=encoding, newline="") as spool:
        yield spool
        spool.seek(0)
        shutil.copyfileobj(spool, stdout, 1 << 20)


def import_(
    ctx: typer.Context,
    table: Annotated[
        ImportTable,
        typer.Argument(
            metavar="TABLE",
            help=f"The table to import into: {', '.join(ImportTable)}.",
            case_sensitive=False,
            show_choices=False,  # listed in the help, which wraps to the terminal's width
        ),
    ],
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="The file ('-': standard input).")],
    fmt: Annotated[
        DataFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, tsv, json or jsonl (default: from FILE's extension).",
            case_sensitive=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check the file and show what would change; write nothing."),
    ] = False,
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="'HEADER=column'",
            help="Read the file's column HEADER as column, or as a custom field with "
            "'HEADER=field:NAME' (repeatable); 'HEADER=' skips it.",
        ),
    ] = None,
    map_values: Annotated[
        list[str] | None,
        typer.Option(
            "--map-value",
            metavar="'column:VALUE=value'",
            help="Read VALUE in column as value, e.g. 'stage:customer=adopting' (repeatable).",
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            metavar="FORMAT",
            help="How the file writes dates, e.g. %d/%m/%Y (ISO dates and date-times are "
            "always read: a date-time's day in your time zone).",
        ),
    ] = None,
    create_fields: Annotated[
        bool,
        typer.Option("--create-fields", help="Make the custom fields 'field:NAME' names (text)."),
    ] = False,
    map_file: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="A TOML file of the mapping ([map], [map_value.COLUMN], date_format, "
            "create_fields), kept for the next import; the options add to it.",
        ),
    ] = None,
    create_metrics: Annotated[
        bool,
        typer.Option(
            "--create-metrics", help="metrics: add the metrics the file names that the book lacks."
        ),
    ] = False,
) -> None:
    """Import rows from a file: matching rows are updated, the others created.

    Rows match by uuid, else by natural key (customer slug, user handle; milestone customer,
    title and due; a task's id). Every row is checked first: any problem is listed with its
    line and field, and nothing is written. No playbook runs and no rule fires (the next tick
    does); a customer's stage_entered is recorded as its entry into its stage. Import users,
    then customers, milestones, tasks, contacts and metrics (as clm metric import does: a
    value set by customer, metric and day).
    Owners match by handle, email or full name.
    Example: clm import customers crm.csv --map 'Company Name=name' --map 'Owner Email=owner'
    """
    env = ctx.obj
    from clm.errors import Invalid

    if table == ImportTable.metrics:
        _refuse_for_metrics(map_values, date_format, create_fields, map_file)
        given = fmt.value if fmt else None
        run_metric_import(env, file, given, dry_run, maps or (), create_metrics)
        return
    if create_metrics:
        raise Invalid(f"--create-metrics is for import metrics, not {table.value}")
    from clm.domain.transfer.files import format_of
    from clm.domain.transfer.importers import import_table
    from clm.domain.transfer.mapping import header_targets, read_mapping
    from clm.render.progress import progress

    file_format = format_of(file, fmt.value if fmt else None)
    options = read_mapping(
        maps or (), map_values or (), date_format, create_fields,
        _map_file_text(map_file), map_file or "",
    )  # fmt: skip
    with (
        _opened(env, file) as (stream, size),
        progress(env, "Importing", size, "bytes" if size else "rows", hidden=True) as bar,
        env.database().write(dry_run=dry_run) as conn,
    ):
        told = _import_progress(bar, size)
        mapping = header_targets(conn, table, options)
        result = import_table(
            conn, env.today, env.author(conn), table, stream, file_format, mapping, told,
            options.values, options.date_format,
        )  # fmt: skip
    total = result.created + result.updated + result.unchanged
    counts = f"{result.created} created, {result.updated} updated"
    if result.unchanged:
        counts += f", {result.unchanged} unchanged"
    noun = _plural(total, table.removesuffix("s"))
    if not dry_run:
        say(env, f"Imported {noun}: {counts}.")
        return
    say(env, f"Dry run: would import {noun}: {counts}; nothing written.")
    for line in options.lines(mapping):
        say(env, line)
    for change in result.changes:
        say(env, f"  {change}")
    more = result.created + result.updated - len(result.changes)
    if more > 0:
        say(env, f"  and {more} more")


def _refuse_for_metrics(map_values, date_format, create_fields, map_file) -> None:
    """`import metrics` reads `metric import`'s options (--map, --format, --dry-run) only."""
    from clm.errors import Invalid

    given = {
        "--map-value": map_values, "--date-format": date_format,
        "--create-fields": create_fields, "--map-file": map_file,
    }  # fmt: skip
    for option, value in given.items():
        if value:
            raise Invalid(
                f"{option} is not for import metrics: it reads --map, --format, --dry-run and "
                "--create-metrics"
            )


def _map_file_text(path: str | None) -> str | None:
    from clm.errors import Invalid, NotFound

    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except FileNotFoundError:
        raise NotFound(f"no file '{path}' (--map-file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"cannot read --map-file '{path}': {exc}") from None


@contextmanager
def _opened(env, file: str):
    """The file (or standard input) as bytes, and its size when known."""
    from clm.errors import Invalid, NotFound

    if file == "-":
        if env.interactive():
            raise Invalid("standard input is a terminal: pipe a file in, or name the file")
        with _spooled(getattr(env.stdin, "buffer", env.stdin), "standard input") as spool:
            yield spool
        return
    try:
        stream = open(file, "rb")  # noqa: SIM115 - closed by the `with` below
    except FileNotFoundError:
        raise NotFound(f"no file '{file}'") from None
    except IsADirectoryError:
        raise Invalid(f"'{file}' is a directory: name a file") from None
    except OSError as exc:
        raise Invalid(f"cannot read '{file}': {exc.strerror}") from None
    with stream:
        if stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            yield stream, os.fstat(stream.fileno()).st_size
            return
        with _spooled(stream, f"'{file}'") as spool:  # a pipe: <(command), /dev/stdin
            yield spool


@contextmanager
def _spooled(stream, name: str):
    """A pipe read to its end into a private temporary file before the import takes the write
    lock: a slow producer (a command still writing, a network copy) keeps no other writer
    waiting. The spool and its size."""
    import tempfile

    from clm.errors import ClmError

    with tempfile.TemporaryFile() as spool:  # mode 0600, gone when closed
        try:
            while chunk := stream.read(1 << 20):
                spool.write(chunk.encode() if isinstance(chunk, str) else chunk)
            spool.flush()
        except OSError as exc:
            raise ClmError(
                f"cannot keep {name} in a temporary file ({exc.strerror}): free space in "
                f"{tempfile.gettempdir()} (or set TMPDIR), or import from a file"
            ) from None
        size = spool.tell()
        spool.seek(0)
        yield spool, size


def _import_progress(bar, size: int | None):
    """The importer's `progress(rows, bytes_read)` told to a bar shown for a large file only."""

    def told(rows: int, bytes_read: int) -> None:
        if rows > LARGE_FILE_ROWS:
            bar.show()
        bar.update(completed=bytes_read if size else rows)

    return told


def run_metric_import(
    env, file: str, fmt: str | None, dry_run: bool, maps, create: bool = False
) -> None:
    """`metric import`, and `import metrics` (which may `create` the metrics it names)."""
    from clm.domain.metric_import import LONG, import_metrics
    from clm.domain.metrics import metric_ids
    from clm.domain.transfer.files import format_of, parse_mapping
    from clm.render.progress import progress

    file_format = format_of(file, fmt)
    with (
        _opened(env, file) as (stream, size),
        progress(env, "Importing", size, "bytes" if size else "rows", hidden=True) as bar,
        env.database().write(dry_run=dry_run) as conn,
    ):
        mapping = parse_mapping(maps, (*LONG, *sorted(metric_ids(conn))))
        told = _import_progress(bar, size)
        result = import_metrics(conn, env.today, stream, file_format, mapping, told, create)
    counts = (
        f"{result.points} values: {result.written} new or changed, {result.unchanged} unchanged"
    )
    if result.created:
        added = "would add" if dry_run else "added"
        counts += f"; {added} metric{'s' if len(result.created) > 1 else ''} "
        counts += ", ".join(result.created)
    if dry_run:
        say(env, f"Dry run: would import {counts}; nothing written.")
    else:
        say(env, f"Imported {counts}.")
