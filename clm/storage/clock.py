"""A hybrid logical clock: change stamps that order edits across copies even when clocks skew."""

import hashlib
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

_WIDTH_MS, _WIDTH_COUNTER = 13, 4


def node_id() -> str:
    """Eight hex digits naming this machine, the stamps' deterministic tie-break."""
    machine = Path("/etc/machine-id")
    seed = machine.read_text().strip() if machine.exists() else socket.gethostname()
    return hashlib.sha1(seed.encode()).hexdigest()[:8]


class Clock:
    """Issues stamps `MMMMMMMMMMMMM-CCCC-NODE` that sort as text in causal order.

    A stamp is never older than the last one issued or seen (`last`), so an edit made after
    merging a copy from a machine whose clock runs ahead still wins over that copy's edits.
    """

    def __init__(self, last: str | None = None, node: str | None = None, wall=time.time_ns):
        self.last = last
        self.node = node or node_id()
        self.wall = wall  # nanoseconds since the epoch

    def stamp(self) -> str:
        wall = self.wall() // 1_000_000
        last_ms, last_counter = _parts(self.last)
        ms, counter = (wall, 0) if wall > last_ms else (last_ms, last_counter + 1)
        self.last = f"{ms:0{_WIDTH_MS}d}-{counter:0{_WIDTH_COUNTER}d}-{self.node}"
        return self.last

    def observe(self, stamp: str) -> None:
        """Remember a stamp seen elsewhere (a merged copy) so later stamps follow it."""
        if self.last is None or stamp > self.last:
            self.last = stamp


def stamp_number(stamp: str) -> int:
    """A stamp as one number that sorts as the stamps do but for the node (a tie between two
    machines' stamps of the same millisecond and counter): 8 bytes a row, not 30."""
    ms, counter = _parts(stamp)
    return ms * 10**_WIDTH_COUNTER + counter


def number_stamp(number: int) -> str:
    """The stamp a number stands for, without its node (for Clock.observe)."""
    ms, counter = divmod(number, 10**_WIDTH_COUNTER)
    return f"{ms:0{_WIDTH_MS}d}-{counter:0{_WIDTH_COUNTER}d}-"


def _parts(stamp: str | None) -> tuple[int, int]:
    if not stamp:
        return 0, 0
    ms, counter, _node = stamp.split("-", 2)
    return int(ms), int(counter)


def utcnow() -> datetime:
    return datetime.now(UTC)
