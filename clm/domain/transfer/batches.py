"""The machinery every table's import shares: rows checked and written a batch at a time,
matched to stored rows, counted, and every problem kept with its line.

Rows are read, checked and written a batch at a time, so memory stays flat however long the
file. A key a row shares with an earlier row of its batch is found in the batch; one it shares
with an earlier batch, in the database, where that batch is by then. After the first problem
nothing more is written and the rest is only checked: the caller's transaction rolls back
what was.
"""

import gc
import json
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import islice
from operator import call, itemgetter
from typing import ClassVar

from sqlalchemy import Connection, Table, bindparam, delete, func, select, update

from clm.db import (
    advance_id_sequence,
    audit_unfired,
    bulk_load,
    clock,
    in_values,
    indexes_deferred,
    insert_rows,
    utcnow,
)
from clm.domain.records import CREATED, new_uuid, set_member_stamps
from clm.domain.transfer import values as v
from clm.domain.transfer.files import BadRow, Records
from clm.errors import Problem, Problems, did_you_mean, listed
from clm.plain import LINE_CHARS, jsonable, too_long
from clm.storage.tables import users

BATCH = 5000  # rows checked and written at a time
SHOWN_PROBLEMS = 20
SHOWN_CHANGES = 10
SKIP = object()  # a matched row that is refused (its problem is listed)


def import_problems(found: list[tuple[int, Problem]], total: int) -> Problems:
    """The rows that do not import, the first SHOWN_PROBLEMS of them in line order (a row's
    own problems first found, those against other rows later); nothing is imported."""
    problems = [problem for _, problem in sorted(found, key=lambda pair: pair[0])]
    if total == 1:
        return Problems(problems, f"{listed(problems)[0]}; nothing imported", in_summary=True)
    return Problems(problems, f"{total} problems in the file; nothing imported", total)


class RepeatedUuid(Exception):
    """A new row's uuid is on a row an earlier batch created: `ids` are the batch's rows."""

    def __init__(self, ids: list[int]):
        super().__init__("a uuid repeated from an earlier batch")
        self.ids = ids


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[str] = field(default_factory=list)  # the first few, as people read them


class _Spool:
    """Rows set aside until the file is read (those without an id, which take ids after every
    id the file keeps), pickled to a temporary file a batch at a time: a file of a million
    id-less rows costs disk, not memory."""

    def __init__(self):
        self.file = None
        self.held: list[tuple[int, dict]] = []
        self.count = 0

    def __bool__(self) -> bool:
        return self.count > 0

    def append(self, row: tuple[int, dict]) -> None:
        self.held.append(row)
        self.count += 1
        if len(self.held) >= BATCH:
            if self.file is None:
                self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed in batches())
            pickle.dump(self.held, self.file, pickle.HIGHEST_PROTOCOL)
            self.held = []

    def batches(self) -> Iterator[list[tuple[int, dict]]]:
        if self.file is not None:
            with self.file:
                end = self.file.seek(0, os.SEEK_END)
                self.file.seek(0)
                while self.file.tell() < end:
                    yield pickle.load(self.file)
            self.file = None
        if self.held:
            yield self.held
            self.held = []


def _changes_text(label: str, changed: list[tuple[str, object, object]]) -> str:
    shown = ", ".join(f"{name} {_cell(old)} → {_cell(new)}" for name, old, new in changed)
    return f"update {label}: {shown}"


def _cell(value) -> str:
    """A value as a change shows it: ISO dates, `;`-joined lists, true/false, (none)."""
    value = jsonable(value)
    if isinstance(value, list):
        value = ";".join(map(str, value))
    elif isinstance(value, bool):
        value = "true" if value else "false"
    text = "" if value is None else str(value)
    if not text:
        return "(none)"
    return text if len(text) <= 40 else text[:37] + "..."


class Importer:
    """What every table's import shares: reading, checking in batches, matching, counting."""

    table: Table
    noun: str
    required: tuple[str, ...]
    parsers: ClassVar[dict[str, Callable]]
    # Columns that cannot be empty: an empty cell means "the default" on create, "as it is"
    # on update.
    defaulted: frozenset[str] = frozenset()
    keeps_ids = False  # the file has ids, kept into an empty table
    inserts_new = False  # `create` inserts its table's rows with `insert_new`
    key_column = "id"  # the column of the natural key, for messages

    def stored_columns(self) -> list:
        """The columns of a stored row as the import compares its values with them."""
        return [self.table]

    def __init__(self, conn: Connection, today: date, by: str | None):
        self.conn, self.today, self.by = conn, today, by
        self.now = utcnow()
        self.stamp = clock(conn).stamp()  # one change stamp for the whole import
        self.created_stamps = json.dumps({CREATED: self.stamp})
        self.empty = conn.scalar(select(self.table.c.id).limit(1)) is None
        self.keep_ids = self.keeps_ids and self.empty
        self.next_id = (conn.scalar(select(func.max(self.table.c.id))) or 0) + 1
        self.problems: list[tuple[int, Problem]] = []  # with their lines, to sort them
        self.problem_count = 0
        self.first_new = self.next_id  # rows from this id on are this import's
        self.last_kept_id = 0
        self.claimed: set[int] = set()  # ids of the stored rows the file updates
        self.default_owners: dict[str, int] = {}  # team -> the line making its default owner
        self.deferred = _Spool()  # rows without an id into an empty table, kept on disk
        self.result = ImportResult()
        self.user_ids, self.handles = _users(conn)
        self.user_uuids: dict[int, str] | None = None  # id -> uuid, read once if needed
        # Into a table empty at the start, a file's uuid can only match a row this import
        # created: rather than look each up (a random read of a large index per row), the
        # table's unique index on uuid finds one repeated from an earlier batch, and that
        # batch is checked again the careful way.
        self.uuids_unique = self.empty and self.inserts_new

    # --- problems --------------------------------------------------------------------------

    def problem(self, line: int, column: str | None, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < SHOWN_PROBLEMS:
            where = f"line {line}, field {column}" if column else f"line {line}"
            self.problems.append((line, Problem(where, message)))

    def user(self, line: int, column: str, handle: str) -> int | None:
        """The id of the user with this handle or email (a live one, else a removed one), or a
        problem: another system's export names people by email."""
        key = user_key(handle)
        found = self.user_ids.get(key)
        if found is None:
            self.problem(line, column, f"no user '{handle}'{did_you_mean(key, self.user_ids)}")
        return found

    # --- the run ---------------------------------------------------------------------------

    # Secondary indexes of the importer's tables that a load into an empty table builds once at
    # the end (table -> the indexes kept up as rows go in: those its lookups need).
    deferrable: ClassVar[dict[Table, tuple[str, ...]]] = {}

    def run(self, records: Records, progress) -> ImportResult:
        bulk_load(self.conn)
        with ExitStack() as stack:
            stack.enter_context(_collector_paused())
            if self.empty:
                for table, keep in self.deferrable.items():
                    stack.enter_context(indexes_deferred(self.conn, table, keep))
                stack.enter_context(audit_unfired(self.conn, self.deferrable))
            self._load(records, progress)
        if self.problem_count:
            raise import_problems(self.problems, self.problem_count)
        self.finish()
        return self.result

    def _load(self, records: Records, progress) -> None:
        self._text_cells = records.fmt in ("csv", "tsv")
        batch: list[tuple[int, dict]] = []
        rows = 0
        # Rows are read a batch at a time. A csv or tsv file's batch may be taken whole
        # (`take_batch`: a column at a time); any other goes row by row.
        whole = self._text_cells and not self.value_map
        rows_read = iter(records)
        while chunk := list(islice(rows_read, BATCH)):
            first, rows = rows + 1, rows + len(chunk)
            record = chunk[0][1]
            if (
                first == 1
                and self.keep_ids
                and self._text_cells
                and not isinstance(record, BadRow)
                and "id" not in record
            ):
                self.keep_ids = False  # no id column: no row has one to keep, none waits
            if whole and not batch and self.take_batch(chunk):
                if progress and len(chunk) == BATCH:
                    progress(rows, records.bytes_read)
                continue
            for number, (line, record) in enumerate(chunk, start=first):
                self._take(line, record, batch)
                if len(batch) >= BATCH:
                    self.flush(batch)
                    batch = []
                    if progress:
                        progress(number, records.bytes_read)
        self.flush(batch)
        if self.deferred:
            # Ids of their own come after every id the file kept.
            self.next_id = (self.conn.scalar(select(func.max(self.table.c.id))) or 0) + 1
            self.keep_ids = False
            for deferred in self.deferred.batches():
                self.flush(deferred)
        if progress:
            progress(rows, records.bytes_read)

    def _take(self, line: int, record: dict | BadRow, batch: list[tuple[int, dict]]) -> None:
        """One row read: its problems listed, or its values added to the batch (or, without an
        id where the file's ids are kept, set aside)."""
        if isinstance(record, BadRow):
            self.problem(line, record.column, record.message)
            return
        values = self.parse(line, record)
        if values is None:
            return
        if self.keep_ids and values.get("id") is None:
            self.deferred.append((line, values))
        else:
            batch.append((line, values))

    def take_batch(self, chunk: list[tuple[int, dict | BadRow]]) -> bool:
        """Check and write a whole batch of a csv or tsv file's records a column at a time,
        when every row is good and new; False (nothing done) for a batch that must go row by
        row (a problem in it, a row to match or set aside): that way lists the same problems
        and writes the same rows."""
        return False

    # `--map-value`: column -> {a cell as the file writes it (lowercase) -> clm's value}.
    value_map: ClassVar[dict[str, dict[str, str]]] = {}

    def use_date_format(self, date_format: str) -> None:
        """Read every date column in `date_format` (an ISO date is still taken)."""
        dated = v.dated_as(date_format)
        self.parsers = {
            column: dated if parser is v.iso_date else parser
            for column, parser in self.parsers.items()
        }

    def _mapped(self, record: dict) -> dict:
        for column, values in self.value_map.items():
            cell = record.get(column)
            if isinstance(cell, str):
                record[column] = values.get(cell.strip().lower(), cell)
        return record

    def parse(self, line: int, record: dict) -> dict | None:
        """The row's values, typed and checked; None (and its problems listed) when bad."""
        before = self.problem_count
        if self.value_map:
            record = self._mapped(record)
        try:
            values = self._typed(record)
        except v.BadValue:
            values = self._typed_slowly(line, record)
        for column in self.required:
            if column in values and values[column] is None:
                self.problem(line, column, f"missing: every row needs {', '.join(self.required)}")
        for column in self.defaulted:
            if values.get(column, 0) is None:
                del values[column]
        if not (self._short_cells and max(map(len, record.values()), default=0) <= LINE_CHARS):
            for column, value in values.items():
                if (wrong := too_long(column, value)) is not None:
                    self.problem(line, column, wrong)
        self.check(line, values)
        return values if self.problem_count == before else None

    def _typed(self, record: dict) -> dict:
        """Every cell typed by its column's parser (each parser takes its common case first).
        The (column, parser) pairs are found once for the columns the records have (all of a
        csv file's records have the same)."""
        if record.keys() != self._columns:
            self._columns_of(record)
        cells = self._cells(record)
        return dict(zip(self._names, map(call, self._column_parsers, cells), strict=True))

    def _columns_of(self, record: dict) -> None:
        """The (column, parser) pairs of the columns a record has."""
        self._columns = record.keys()
        self._names = names = tuple(record)
        # itemgetter gives a tuple only for two names or more
        self._cells = itemgetter(*names) if len(names) > 1 else lambda r: (r[n] for n in names)
        self._column_parsers = tuple(self.parsers[name] for name in self._names)
        # A row of text cells (csv, tsv) none longer than the shortest limit holds no value
        # past its limit when every parser is one of values.py's (none lengthens a cell
        # past it): such a row skips the look at each field (13 calls a milestone). A
        # custom field's parser is not one.
        self._short_cells = self._text_cells and all(
            parser.__module__ == v.__name__ for parser in self._column_parsers
        )
        if self._text_cells:
            self._column_parsers = tuple(map(_remembered, self._column_parsers))

    _columns: object = None
    _text_cells = False  # whether every cell is text (a csv or tsv file's)
    _short_cells = False  # ... and every column's parser is values.py's
    _names: tuple[str, ...]
    _cells: Callable
    _column_parsers: tuple[Callable, ...]

    def _typed_slowly(self, line: int, record: dict) -> dict:
        """A row with a bad cell: each cell on its own, so every problem is listed."""
        values = {}
        for column, raw in record.items():
            try:
                values[column] = self.parsers[column](raw)
            except v.BadValue as exc:
                self.problem(line, column, str(exc))
        return values

    def check(self, line: int, values: dict) -> None:
        """Checks of one row beyond its cells (references, slugs), listing problems."""

    def keys(self, values: dict) -> list[tuple[str, object]]:
        """(column, key) of each key a row must not share with another row of the file."""
        found: list[tuple[str, object]] = []
        if values.get("uuid"):
            found.append(("uuid", values["uuid"]))
        if values.get("id") is not None and self.uses_id(values):
            found.append(("id", values["id"]))
        return found

    def uses_id(self, values: dict) -> bool:
        return self.keep_ids

    def _distinct(self, batch: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
        """The rows of a batch that share no key with an earlier row of it. (Earlier batches
        are in the database by now: `match` finds what a row shares with them.)"""
        seen: dict[tuple[str, object], tuple[int, int]] = {}
        distinct = []
        for index, (line, values) in enumerate(batch):
            clash = False
            for column, key in self.keys(values):
                # By row, not by line: a JSON array on one line has many rows on it.
                earlier, first = seen.setdefault((column, key), (line, index))
                if first != index:
                    shown = key[1] if isinstance(key, tuple) else key
                    where = "in an earlier object of line" if earlier == line else "on line"
                    self.problem(line, column, f"'{_cell(shown)}' is also {where} {earlier}")
                    clash = True
                    break
            if not clash:
                distinct.append((line, values))
        return distinct

    def _repeated(self, line: int, column: str, key) -> None:
        shown = key[1] if isinstance(key, tuple) else key
        self.problem(line, column, f"'{_cell(shown)}' is also on an earlier line")

    def created_here(self, row_id: int) -> bool:
        """Whether a stored row was created by this import (so the file has it twice)."""
        return self.empty or row_id >= self.first_new

    def flush(self, batch: list[tuple[int, dict]]) -> None:
        batch = self._distinct(batch)
        if not batch:
            return
        creates, updates = [], []
        for (line, values), row in zip(batch, self.match(batch), strict=True):
            if row is SKIP:
                continue
            if row is None:
                creates.append((line, values))
            elif row.id in self.claimed:
                column = "uuid" if values.get("uuid") == row.uuid else self.key_column
                self.problem(line, column, f"the same {self.noun} as an earlier line")
            else:
                self.claimed.add(row.id)
                updates.append((line, values, row))
        creates, updates = self.check_batch(creates, updates)
        if self.problem_count:
            return  # only checking from now on: the transaction rolls back
        if creates:
            if not self._created(creates):
                self.flush(batch)  # again, carefully: finds the repeated uuid and lists it
                return
            self.result.created += len(creates)
            for _line, values in creates[: SHOWN_CHANGES - len(self.result.changes)]:
                self.note(f"create {self.label(values)}")
        if updates:
            self.update(updates)

    def _created(self, creates, write: Callable | None = None) -> bool:
        """Create the rows (`write` them: by default `create`); False (nothing written) when a
        uuid of theirs is on a row an earlier batch created, which only the table's unique
        index was left to find."""
        write = write or self.create
        if not self.uuids_unique:
            write(creates)
            return True
        next_id = self.next_id
        try:
            write(creates)
        except RepeatedUuid as exc:
            # Take back the rows that went in, so the careful look finds only the earlier one.
            ids = exc.ids
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                self.conn.execute(
                    delete(self.table).where(in_values(self.conn, self.table.c.id, chunk))
                )
            self.uuids_unique, self.next_id = False, next_id
            return False
        return True

    def insert_new(self, rows: list[tuple], columns: tuple[str, ...]) -> None:
        """Insert new rows of this table (`columns` starting with id and uuid). Trusting the
        unique index, a row whose uuid is taken is left out, and `RepeatedUuid` raised before
        anything refers to the rows."""
        if not self.uuids_unique:
            insert_rows(self.conn, self.table, columns, rows)
            return
        if insert_rows(self.conn, self.table, columns, rows, skip_taken=True) < len(rows):
            raise RepeatedUuid([row[0] for row in rows])

    def note(self, change: str) -> None:
        if len(self.result.changes) < SHOWN_CHANGES:
            self.result.changes.append(change)

    def match(self, batch: list[tuple[int, dict]]) -> list:
        """The stored row each file row updates (None: it is new; SKIP: refused), by uuid,
        else by natural key. A row this import created means the file has that key twice."""
        found: list = [None] * len(batch)
        if self.keep_ids:
            self._check_kept_ids(batch, found)
        if not self.uuids_unique:  # else the table's unique index finds a repeated uuid
            self._match_uuids(batch, found)
        rest = [(i, values) for i, (_, values) in enumerate(batch) if found[i] is None]
        for i, row in self.match_key(rest, batch):
            found[i] = row
        return found

    def _match_uuids(self, batch: list[tuple[int, dict]], found: list) -> None:
        by_uuid = {
            values["uuid"]: i
            for i, (_, values) in enumerate(batch)
            if values.get("uuid") and found[i] is None
        }
        if not by_uuid:
            return
        query = select(*self.stored_columns()).where(
            in_values(self.conn, self.table.c.uuid, list(by_uuid))
        )
        for row in self.conn.execute(query):
            i = by_uuid[row.uuid]
            found[i] = SKIP
            if row.deleted_at is not None:
                self.matched_removed(batch[i][0], batch[i][1], row)
            elif self.created_here(row.id):
                self._repeated(batch[i][0], "uuid", row.uuid)
            else:
                found[i] = row

    def matched_removed(self, line: int, values: dict, row) -> None:
        """A row whose uuid is a removed row's: it cannot be updated."""
        self.problem(line, "uuid", f"this {self.noun} was removed")

    def _check_kept_ids(self, batch: list[tuple[int, dict]], found: list) -> None:
        """A kept id the file had on an earlier line. Exports are in id order: only a batch
        whose ids do not all come after the ones before needs a look in the database."""
        ids = {values["id"]: i for i, (_, values) in enumerate(batch)}
        if min(ids) > self.last_kept_id:
            self.last_kept_id = max(ids)
            return
        self.last_kept_id = max(self.last_kept_id, *ids)
        query = select(self.table.c.id).where(in_values(self.conn, self.table.c.id, list(ids)))
        for (row_id,) in self.conn.execute(query):
            self._repeated(batch[ids[row_id]][0], "id", row_id)
            found[ids[row_id]] = SKIP

    def match_key(self, rest: list[tuple[int, dict]], batch) -> Iterable[tuple[int, object]]:
        return ()

    def match_column(self, rest, batch, column: str) -> Iterable[tuple[int, object]]:
        """Matches by a unique key column of live rows (a slug, a handle)."""
        wanted = {values[column]: i for i, values in rest}
        if not wanted:
            return
        key = self.table.c[column]
        query = select(*self.stored_columns()).where(
            in_values(self.conn, key, list(wanted)), self.table.c.deleted_at.is_(None)
        )
        for row in self.conn.execute(query):
            i = wanted[getattr(row, column)]
            if self.created_here(row.id):
                self._repeated(batch[i][0], column, getattr(row, column))
                yield i, SKIP
            else:
                yield i, row

    def rows_by_id(self, wanted: list[tuple[int, int]]) -> Iterable[tuple[int, object]]:
        """(position, whole stored row) for (position, id) pairs."""
        positions = {row_id: i for i, row_id in wanted}
        ids = list(positions)
        for start in range(0, len(ids), BATCH):
            query = select(*self.stored_columns()).where(
                in_values(self.conn, self.table.c.id, ids[start : start + BATCH])
            )
            for row in self.conn.execute(query):
                yield positions[row.id], row

    def check_batch(self, creates: list, updates: list) -> tuple[list, list]:
        """Checks that need the database (references, clashes); the rows still good."""
        return creates, updates

    def take_id(self, values: dict) -> int:
        if self.keep_ids and values.get("id") is not None:
            return values["id"]
        self.next_id += 1
        return self.next_id - 1

    def new_row(self, values: dict, **fields) -> dict:
        """A new row's id, uuid, times and creation stamp."""
        return {
            "id": self.take_id(values),
            "uuid": values.get("uuid") or new_uuid(),
            "created_at": self.now,
            "updated_at": self.now,
            "deleted_at": None,
            "stamps": self.created_stamps,
        } | fields

    def set_changed(self, field: str, old: list, new: list, people: bool = False) -> list[str]:
        """The stamps of a set field an import changed: the field and each member it added or
        removed (`tags+vip`, as the commands stamp them), so merging copies keeps a member an
        import removed from one copy while the other copy added another. People merge by
        uuid (ids differ between copies)."""
        added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
        if people:
            if self.user_uuids is None:
                self.user_uuids = dict(self.conn.execute(select(users.c.id, users.c.uuid)).all())
            added, removed = ([self.user_uuids[i] for i in ids] for ids in (added, removed))
        return [field, *set_member_stamps(field, added, removed)]

    def write_updates(self, changed_rows: list[tuple[object, dict, list[str]]]) -> None:
        """Update rows in batches of the same changed columns, each stamped per field."""
        groups: dict[tuple[str, ...], list[dict]] = {}
        for row, changes, touched in changed_rows:
            stamps = json.loads(row.stamps)
            stamps.update(dict.fromkeys([*changes, *touched], self.stamp))
            params = {f"new_{k}": value for k, value in changes.items()}
            params |= {"_id": row.id, "new_stamps": json.dumps(stamps, sort_keys=True)}
            groups.setdefault(tuple(sorted(changes)), []).append(params)
        for columns, params in groups.items():
            statement = (
                update(self.table)
                .where(self.table.c.id == bindparam("_id"))
                .values(
                    {c: bindparam(f"new_{c}") for c in columns}
                    | {"stamps": bindparam("new_stamps"), "updated_at": self.now}
                )
            )
            self.conn.execute(statement, params)

    def one_flag_per_group(self, group: str, flag: str, keep: dict) -> None:
        """One row a group holds `flag` (a team's default owner, a customer's primary
        contact), as the commands keep it: the live rows holding it in the groups of `keep`
        (group -> the id that keeps it, or None) lose it."""
        table = self.table
        query = select(table).where(
            in_values(self.conn, table.c[group], list(keep)),
            table.c[flag],
            table.c.deleted_at.is_(None),
        )
        losing = [row for row in self.conn.execute(query) if row.id != keep[row._mapping[group]]]
        self.write_updates([(row, {flag: False}, []) for row in losing])

    def finish(self) -> None:
        """After the last row: ids given by hand move a server's id sequence past them."""
        if self.result.created:
            advance_id_sequence(self.conn, self.table)

    def label(self, values: dict, row=None) -> str:
        raise NotImplementedError

    def create(self, creates: list[tuple[int, dict]]) -> None:
        raise NotImplementedError

    def update(self, updates: list[tuple[int, dict, object]]) -> None:
        raise NotImplementedError

    SCALARS: tuple[str, ...] = ()  # the stored columns an update may change as they are

    def changes(self, values: dict, row) -> dict:
        """The stored columns whose value the row changes: column -> new value."""
        return {
            column: values[column]
            for column in self.SCALARS
            if column in values and values[column] != getattr(row, column)
        }

    def counted(self, values: dict, row, changed: list[tuple[str, object, object]]) -> bool:
        """Count an update (noting what changes) or an unchanged row; whether it changes."""
        if not changed:
            self.result.unchanged += 1
            return False
        self.result.updated += 1
        self.note(_changes_text(self.label(values, row), changed))
        return True


# values.py's parsers whose values are not remembered: a new list each row (a row's list may
# be changed by its checks), or a different cell each row (ids, uuids).
_FORGOTTEN = frozenset({v.items, v.identifier, v.uuid_text})


def _remembered(parser: Callable) -> Callable:
    """A text cell's parser that remembers the values of the last few thousand cells: most
    columns repeat a few values (a status, a due date, a customer ten rows in a row), and a
    cell remembered costs no Python call. values.py's parsers only: each gives the same
    value for the same text, and an unchangeable one (a problem is raised again)."""
    if parser.__module__ != v.__name__ or parser in _FORGOTTEN:
        return parser
    return lru_cache(maxsize=4096)(parser)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while rows stream through: an import makes millions
    of short-lived tuples and dicts (no cycles), and each collection would walk every object
    alive, a third of the import's time on a million rows."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def user_key(text: str) -> str:
    """A handle, email or full name as a person is looked up: lowercase, spaces collapsed."""
    return " ".join(text.lower().split())


def _users(conn: Connection) -> tuple[dict[str, int], dict[int, str]]:
    """Handle, email or full name -> id (a live user, else the last removed one) and id ->
    handle. A handle never has an `@`, so the first two never clash; a full name (a CRM's
    owner column) is known when one live user has it and it is nobody's handle."""
    by_name: dict[str, int] = {}
    by_id: dict[int, str] = {}
    full_names: dict[str, list[int]] = {}
    query = select(users.c.id, users.c.handle, users.c.email, users.c.name,
                   users.c.deleted_at.is_(None)).order_by(
        users.c.deleted_at.is_(None), users.c.id
    )  # fmt: skip
    for user_id, handle, email, name, live in conn.execute(query):
        by_name[handle] = user_id  # live users come last and win
        if email:
            by_name[email.strip().lower()] = user_id
        if name and live:
            full_names.setdefault(user_key(name), []).append(user_id)
        by_id[user_id] = handle
    for name, ids in full_names.items():
        if len(ids) == 1 and name not in by_name:
            by_name[name] = ids[0]
    return by_name, by_id


def linked_values(conn: Connection, link: Table, owner: str, column: str, ids: list[int]) -> dict:
    """Owner id -> sorted values of a link table, for `ids`."""
    found: dict[int, list] = {i: [] for i in ids}
    for start in range(0, len(ids), BATCH):
        query = select(link.c[owner], link.c[column]).where(
            in_values(conn, link.c[owner], ids[start : start + BATCH])
        )
        for owner_id, value in conn.execute(query):
            found[owner_id].append(value)
    return {key: sorted(value) for key, value in found.items()}


def replace_links(
    conn: Connection, link: Table, owner: str, column: str, rows: dict[int, list]
) -> None:
    """Replace the link rows of each owner id in `rows` with its values."""
    ids = list(rows)
    for start in range(0, len(ids), BATCH):
        conn.execute(delete(link).where(in_values(conn, link.c[owner], ids[start : start + BATCH])))
    add_links(conn, link, owner, column, rows.items())


def add_links(conn: Connection, link: Table, owner: str, column: str, rows) -> None:
    params = [(owner_id, value) for owner_id, values in rows for value in values]
    insert_rows(conn, link, (owner, column), params)


def insert(conn: Connection, table: Table, rows: list[dict]) -> None:
    """Insert rows built alike (the same keys in the same order) through the driver."""
    if rows:
        columns = tuple(rows[0])
        insert_rows(conn, table, columns, list(map(itemgetter(*columns), rows)))
