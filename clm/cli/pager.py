"""A pager for what a command shows on a terminal, as git and gh have: $CLM_PAGER, else the
config file's `pager`, else $PAGER, else `less -FRX` (which prints a page that fits and
exits). Never in a pipe; `--no-pager`, or an empty or `cat` pager, turns it off."""

import contextlib
import io
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable

DEFAULT = "less -FRX"


def pager_command(configured: Callable[[], str | None] = lambda: None) -> str | None:
    """The pager to run, or None: CLM_PAGER, the config file's, PAGER, then less if there.
    The config file beats $PAGER as git's core.pager does: $PAGER is every program's, the
    file is clm's own."""
    for value in (os.environ.get("CLM_PAGER"), configured, os.environ.get("PAGER")):
        if callable(value):  # the config file is read only when CLM_PAGER is not set
            value = value()
        if value is not None:
            value = value.strip()
            return None if value in ("", "cat") else value
    return DEFAULT if shutil.which("less") else None


class PagerStream(io.TextIOWrapper):
    """The pager's input, seen by the renderer as the terminal it pages onto (Rich still
    measures the real terminal)."""

    def isatty(self) -> bool:
        return True


class Pager:
    def __init__(self, command: str):
        env = os.environ.copy()
        env.setdefault("LESS", "FRX")  # as git: colours through, no screen clearing
        env.setdefault("LV", "-c")
        self.process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
        self.stream = PagerStream(self.process.stdin, encoding="utf-8", line_buffering=False)

    def close(self) -> None:
        """Let the reader finish: the command's output ends, the pager stays until quit."""
        with contextlib.suppress(BrokenPipeError):  # quit before the end: nothing to add
            self.stream.close()
        self.process.wait()


def start(stdout, configured: Callable[[], str | None] = lambda: None) -> Pager | None:
    """A pager over `stdout` if it is the process's terminal and one is wanted."""
    if stdout is not sys.stdout or not _is_tty(stdout):
        return None
    command = pager_command(configured)
    if command is None or not shlex.split(command):
        return None
    return Pager(command)


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except ValueError:
        return False
