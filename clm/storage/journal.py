"""Whose is a hot journal: read from its content before SQLite rolls it back into the db.

A sync service can deliver the rollback journal of another copy of the book (another machine
crashed mid-write) beside this file. SQLite checks only that the journal is well formed, so
rolling it back writes the other copy's pages into this file: edits silently reverted, or a
file that is sound but no longer any copy's state. The journal says what it belongs to:

- its header: the page size and the db's size in pages when its transaction began;
- the original page 1, when journaled, with the file's change counter at that time. clm's
  writers journal page 1 first (`STAMP_PAGE_ONE`), so every journal a clm write leaves has
  it. The file's counter is then the journal's (the commit had not written page 1 yet) or
  one more (killed after writing it, before deleting the journal); any other is a copy that
  counted its own commits. Without page 1, page 1 in the file is as the transaction found
  it, so its size field is the journal's starting size;
- the lineage: rolled back in a scratch copy, the db must still be this book.
"""

import os
import shutil
import sqlite3
import struct
import tempfile
from pathlib import Path
from typing import BinaryIO

JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")

# Offsets in the db header (page 1's first 100 bytes) and the journal's header.
_PAGE_SIZE, _COUNTER, _SIZE, _VALID_FOR = 16, 24, 28, 92
_JOURNAL_HEADER = struct.Struct(">8sIIIII")  # magic, records, nonce, start size, sector, page
_ALL_TO_THE_END = 0xFFFFFFFF  # records: as many as the journal holds (synchronous=OFF)
# Makes a write transaction's journal begin with page 1 (its header holds the change counter
# that ties the journal to this file): writing clm's application id ('clm1') into the header
# does, and costs nothing, since every commit journals page 1 anyway.
STAMP_PAGE_ONE = f"PRAGMA application_id = {0x636C6D31}"


def _u32(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 4])


def _page_size(header: bytes) -> int:
    size = int.from_bytes(header[_PAGE_SIZE : _PAGE_SIZE + 2])
    return 65536 if size == 1 else size


def _journaled_page_one(journal: BinaryIO, size: int, page_size: int) -> bytes | None:
    """Page 1 as the journal saved it, if it did, among the records SQLite would play back
    (segments of synced records, each after a header at a sector boundary). Read record by
    record: a large transaction's journal is not read into memory."""
    offset, record = 0, page_size + 8
    while offset + _JOURNAL_HEADER.size <= size:
        journal.seek(offset)
        magic, count, _, _, sector, _ = _JOURNAL_HEADER.unpack(journal.read(_JOURNAL_HEADER.size))
        if magic != JOURNAL_MAGIC or not sector:
            return None
        offset += sector
        if count == _ALL_TO_THE_END:
            count = (size - offset) // record
        if not count:
            return None  # an unsynced segment: SQLite plays nothing from here on
        for _ in range(count):
            if offset + record > size:
                return None
            journal.seek(offset)
            if int.from_bytes(journal.read(4)) == 1:
                return journal.read(page_size)
            offset += record
        offset = -(-offset // sector) * sector
    return None


def foreign_journal(path: Path, journal: Path) -> str | None:
    """Why a hot journal cannot be this file's (None when it can be): its page size, its page
    1's change counter or starting size against the file's header, its lineage."""
    with path.open("rb") as f:
        header = f.read(100)
    with journal.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if len(header) < 100 or size < _JOURNAL_HEADER.size:
            return None  # nothing to compare: SQLite's own checks decide
        _, _, _, start_size, _, page_size = _JOURNAL_HEADER.unpack(f.read(_JOURNAL_HEADER.size))
        if page_size != _page_size(header):
            return f"its pages are of {page_size} bytes, this file's of {_page_size(header)}"
        page_one = _journaled_page_one(f, size, page_size)
    counter = _u32(header, _COUNTER)
    if page_one is not None:
        theirs = _u32(page_one, _COUNTER)
        if counter not in (theirs, theirs + 1):
            return f"it was written at change {theirs} of its file; this file is at {counter}"
    elif _u32(header, _VALID_FOR) == counter and _u32(header, _SIZE) != start_size:
        return f"its file had {start_size} pages, this file has {_u32(header, _SIZE)}"
    ours, theirs = _lineage(path), _rolled_back_lineage(path, journal)
    if ours and theirs and ours != theirs:
        return f"rolling it back would make this book another one (lineage {theirs})"
    return None


def _lineage(db: Path) -> str | None:
    """The book's lineage as the file holds it now (read as is: no lock, no rollback)."""
    return _read_lineage(f"{db.resolve().as_uri()}?mode=ro&immutable=1")


def _rolled_back_lineage(path: Path, journal: Path) -> str | None:
    """The lineage of the db as rolling the journal back would leave it, tried on a scratch
    copy (the file itself is not touched until the journal is known to be its own)."""
    with tempfile.TemporaryDirectory(prefix="clm-journal-") as scratch:
        trial = Path(scratch) / "trial.db"
        shutil.copyfile(path, trial)
        shutil.copyfile(journal, f"{trial}-journal")
        return _read_lineage(trial.as_uri())


def _read_lineage(uri: str) -> str | None:
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT value FROM clm_meta WHERE key = 'lineage'").fetchone()
        return row[0] if row else None
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()
