"""Progress on stderr for long operations (import, export to a file, a tick on a big book,
merge, copy): shown on a terminal, silent in a pipe or from cron."""

from collections.abc import Iterator
from contextlib import contextmanager

from clm.render import Streams


class Bar:
    """What a long operation reports to: `advance(n)` as work is done; `total` when known."""

    def __init__(self, progress=None, task=None):
        self._progress, self._task = progress, task

    def advance(self, n: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, completed: float | None = None, total: float | None = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=completed, total=total)


@contextmanager
def progress(
    env: Streams, description: str, total: float | None = None, unit: str = ""
) -> Iterator[Bar]:
    """A transient progress bar (a spinner when the total is unknown) on the invocation's
    stderr while the block runs, if stderr is a terminal; a silent Bar otherwise."""
    if not env.stderr.isatty():
        yield Bar()
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from clm.render.output import console

    count = (
        "{task.completed:,.0f}" + (f"/{total:,.0f}" if total else "") + (f" {unit}" if unit else "")
    )
    columns = [SpinnerColumn(), TextColumn("{task.description}"), TextColumn(count)]
    if total:
        columns.insert(2, BarColumn())
    bar = Progress(*columns, TimeElapsedColumn(), console=console(env, stderr=True), transient=True)
    with bar:
        yield Bar(bar, bar.add_task(description, total=total))


class CountingWriter:
    """A text stream that advances a Bar by one for each line written through it."""

    def __init__(self, stream, bar: Bar):
        self._stream, self._bar = stream, bar

    def write(self, text: str) -> int:
        self._bar.advance(text.count("\n"))
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)
