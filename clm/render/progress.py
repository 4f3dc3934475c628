"""The one progress bar, on stderr, for long operations (import, export to a file, a tick over
many days, a database copy): shown on a terminal, silent in a pipe or from cron. The domain
reports through plain callbacks; the commands turn those into calls on a Bar."""

from collections.abc import Iterator
from contextlib import contextmanager

from clm.render import Streams


class Bar:
    """What a long operation reports to: `advance(n)` as work is done, `update(...)` for a
    new count, total or description; `show()` puts a bar made hidden on the screen."""

    def __init__(self, progress=None, task=None):
        self._progress, self._task = progress, task
        self.shown = False

    def show(self) -> None:
        if self._progress is not None and not self.shown:
            self._progress.start()
            self.shown = True

    def advance(self, n: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(
        self,
        completed: float | None = None,
        total: float | None = None,
        description: str | None = None,
    ) -> None:
        if self._progress is not None:
            changes = {"completed": completed, "total": total, "description": description}
            self._progress.update(self._task, **{k: v for k, v in changes.items() if v is not None})


@contextmanager
def progress(
    env: Streams, description: str, total: float | None = None, unit: str = "", hidden=False
) -> Iterator[Bar]:
    """A transient progress bar on the invocation's stderr while the block runs, if stderr is
    a terminal (a silent Bar otherwise): a gauge while the task has a total, else a spinner
    and a count. `hidden` waits for `bar.show()` (an import shows it for a large file only)."""
    if not env.stderr.isatty():
        yield Bar()
        return
    from rich.progress import (
        BarColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text

    from clm.render.output import console

    class Gauge(BarColumn):
        def render(self, task):
            return super().render(task) if task.total else Text("")

    class Count(ProgressColumn):
        def render(self, task):
            shown = f"{task.completed:,.0f}" + (f"/{task.total:,.0f}" if task.total else "")
            return Text(shown + (f" {unit}" if unit else ""))

    columns = [SpinnerColumn(), TextColumn("{task.description}"), Gauge(), Count()]
    bars = Progress(
        *columns, TimeElapsedColumn(), console=console(env, stderr=True), transient=True
    )
    bar = Bar(bars, bars.add_task(description, total=total))
    if not hidden:
        bar.show()
    try:
        yield bar
    finally:
        if bar.shown:
            bars.stop()


class CountingWriter:
    """A text stream that advances a Bar by one for each line written through it."""

    def __init__(self, stream, bar: Bar):
        self._stream, self._bar = stream, bar

    def write(self, text: str) -> int:
        self._bar.advance(text.count("\n"))
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)
