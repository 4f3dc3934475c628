"""A list of news rows kept on disk past a chunk: what a tick made, until it is printed.

A catch-up tick on a large book makes hundreds of thousands of rows (stage changes, reminders,
tasks, the overdue list) that the output and the digests read only after the commit. Held as
dicts they were most of its memory (~150 MB on a 100,000-customer book); a spool keeps one
chunk in memory and writes the others, pickled, to a temporary file that goes when the spool
does (or the process ends). A steady day's few rows never leave memory."""

import pickle
import tempfile
from collections.abc import Iterable, Iterator

CHUNK = 2000  # rows held in memory before they go to the file; rows read back at a time


class Spool:
    """Rows appended, then read in order as often as wanted (`chunks` a list at a time):
    `len`, truth, iteration and equality as a list's. Pickled, so a row reads back equal (its
    dates still dates); rows are not changed after they are appended."""

    def __init__(self, rows: Iterable[dict] = (), chunk: int | None = None):
        self.chunk = chunk or CHUNK
        self._tail: list = []  # the rows not written yet
        self._offsets: list[int] = []  # where each written chunk starts in the file
        self._file = None
        self._count = 0
        self.extend(rows)

    def append(self, row) -> None:
        self._tail.append(row)
        self._count += 1
        if len(self._tail) >= self.chunk:
            self._write()

    def extend(self, rows: Iterable) -> None:
        for row in rows:
            self.append(row)

    def _write(self) -> None:
        if self._file is None:
            # Open for the spool's life (closed with it): a reader seeks where it reads.
            self._file = tempfile.TemporaryFile(prefix="clm-news-")  # noqa: SIM115
        self._file.seek(0, 2)
        self._offsets.append(self._file.tell())
        pickle.dump(self._tail, self._file, pickle.HIGHEST_PROTOCOL)
        self._tail = []

    def chunks(self) -> Iterator[list]:
        """The rows a list at a time (at most a chunk), in order."""
        for offset in self._offsets:
            self._file.seek(offset)  # each reader seeks: two may interleave
            yield pickle.load(self._file)
        if self._tail:
            yield list(self._tail)

    def __iter__(self) -> Iterator:
        for rows in self.chunks():
            yield from rows

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __eq__(self, other) -> bool:
        if isinstance(other, Spool | list | tuple):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # as a list's

    def __repr__(self) -> str:
        return f"Spool({list(self)!r})" if len(self) <= 10 else f"<Spool of {len(self)} rows>"

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
