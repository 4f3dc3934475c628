"""The `clm` console script (and `python -m clm`).

A shell asks for completions on every TAB, and scripts ask for the version: both are answered
from here, before the CLI (Typer, every command module) is imported, in about the time Python
takes to start.
"""

import os
import sys


def main() -> None:
    if "_CLM_COMPLETE" in os.environ:
        from clm.completion import respond

        sys.exit(respond())
    if sys.argv[1:] == ["--version"]:
        from clm import __version__

        print(f"clm {__version__}")
        return
    from clm.cli import main as run

    run()


if __name__ == "__main__":
    main()
