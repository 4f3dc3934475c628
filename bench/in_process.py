"""clm run inside a benchmark's own process (its statements recorded, its phases timed), with
its output thrown away."""

import contextlib
import os
import sys


def run_clm(*args: str) -> None:
    """`clm ARGS` in this process, its stdout to /dev/null; an exit with an error raises."""
    from clm.cli.app import main as clm_main

    sys.argv = ["clm", *args]
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        try:
            clm_main()
        except SystemExit as exc:
            if exc.code:
                raise
