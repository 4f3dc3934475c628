"""A pager for what a command shows on a terminal, as git and gh have: $CLM_PAGER, else $PAGER,
else `less -FRX` (which prints a page that fits and exits). Never in a pipe; `--no-pager`, or
an empty or `cat` pager, turns it off."""

import contextlib
import io
import os
import shlex
import shutil
import subprocess
import sys

DEFAULT = "less -FRX"


def pager_command(configured: str | None = None) -> str | None:
    """The pager to run, or None: CLM_PAGER, PAGER, the config file's, then less if there."""
    for value in (os.environ.get("CLM_PAGER"), os.environ.get("PAGER"), configured):
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


def start(stdout, configured: str | None = None) -> Pager | None:
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
