"""`clm db copy`: the whole database, history included, into an empty one elsewhere: the way a
team that outgrew its file moves to a PostgreSQL server, and back.

Rows are streamed table by table in foreign-key order, with their ids, in batches that each
commit on their own (a book of any size never sits in memory or in one huge transaction);
the copy ends by comparing every table's row count. A copy that fails part way is removed,
so the destination is empty again and the copy can simply be rerun; one killed part way
(SIGKILL, a power cut) left a file under a temporary name, or a server database marked as
a copy in progress, which the rerun starts over.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from clm.db import (
    COPYING,
    Database,
    advance_id_sequence,
    analyze,
    audit_copied,
    create_schema,
    finish_copy,
    open_empty,
    remove_copy,
    snapshot,
)
from clm.errors import ClmError
from clm.storage.tables import meta, metadata

BATCH_ROWS = 5_000


@dataclass
class Copied:
    dest: str
    rows: dict[str, int]  # table -> rows copied


def copy_database(
    source: Database,
    dest_target: str,
    progress: Callable[[str, int, int], None] | None = None,
) -> Copied:
    """Copy `source` into the empty database at `dest_target` (a path or a URL).
    `progress(table, rows_done, rows_total)` is called after each batch."""
    dest = open_empty(dest_target)
    tables = metadata.sorted_tables  # parents before children
    try:
        with snapshot(source) as reader:
            totals = {t.name: reader.scalar(select(func.count()).select_from(t)) for t in tables}
            create_schema(dest)
            for table in tables:
                _copy_table(reader, dest, table, totals[table.name], progress)
        _verify(dest, totals)
        audit_copied(dest)
        analyze(dest)
        # Only whole and finished (triggers, statistics) does it take its name, or lose its
        # in-progress mark: a kill at any point before leaves nothing that looks like a copy.
        dest = finish_copy(dest, dest_target)
    except BaseException:
        remove_copy(dest)
        raise
    return Copied(dest.describe(), totals)


def _copy_table(reader, dest: Database, table, total: int, progress) -> None:
    done = 0
    if progress:
        progress(table.name, done, total)
    order = list(table.primary_key.columns)
    result = reader.execution_options(yield_per=BATCH_ROWS).execute(select(table).order_by(*order))
    for batch in result.mappings().partitions():
        with dest.write() as conn:
            conn.execute(table.insert(), [dict(row) for row in batch])
        done += len(batch)
        if progress:
            progress(table.name, done, total)
    if "id" in table.c:
        with dest.write() as conn:
            advance_id_sequence(conn, table)


def _verify(dest: Database, totals: dict[str, int]) -> None:
    with dest.read() as conn:
        for table in metadata.sorted_tables:
            counted = select(func.count()).select_from(table)
            if table is meta:  # a server copy's in-progress mark is not a copied row
                counted = counted.where(meta.c.key != COPYING)
            copied = conn.scalar(counted)
            if copied != totals[table.name]:
                raise ClmError(
                    f"the copy of {table.name} has {copied} rows, the source "
                    f"{totals[table.name]}: the copy was removed; try again"
                )
