"""The `clm` console script (and `python -m clm`).

A shell asks for completions on every TAB, scripts ask for the version, and people type
`clm --help`: these are answered from here, before the CLI (Typer, every command module) is
imported, in about the time Python takes to start. A command ends the process here too, without
Python's teardown (`_end`).
"""

import os
import sys


def main() -> None:
    if "_CLM_COMPLETE" in os.environ:
        from clm.cli.completion import respond

        sys.exit(respond())
    if sys.argv[1:] == ["--version"]:
        from clm import __version__

        print(f"clm {__version__}")
        return
    if sys.argv[1:] in (["--help"], ["-h"]) and _wide_terminal():
        from clm.cli.command_index import ROOT_HELP  # generated: the CLI's own help at 78 columns

        sys.stdout.write(ROOT_HELP)
        return
    from clm.cli import collector

    collector.pause()  # resumed when the command opens its database
    from clm.cli.app import main as run

    try:
        run()
    except SystemExit as exc:
        _end(exc.code)
    _end(0)


def _end(code) -> None:
    """Exit with `code` (as `sys.exit` takes it) without the interpreter's teardown, which
    frees every object of SQLAlchemy, Typer, Rich and the command's work one by one for a
    process about to end: 0.1 s of CPU after the floor's imports alone, 0.2 s after a tick
    (a quarter of it). What the teardown does that anyone sees is done first: the exit
    handlers run and the output is flushed (stdout failing then exits 120, as Python does).
    The command has closed its database connections and files (its context's close)."""
    import atexit
    import contextlib

    atexit._run_exitfuncs()
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # the reader went away, or stdout was closed
        code = code or 120
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def _wide_terminal() -> bool:
    """Click wraps help at 78 columns on any terminal of 80 or more (and in a pipe)."""
    import shutil

    return shutil.get_terminal_size().columns >= 80


if __name__ == "__main__":
    main()
