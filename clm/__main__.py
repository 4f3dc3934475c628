"""The `clm` console script (and `python -m clm`).

A shell asks for completions on every TAB, scripts ask for the version, and people type
`clm --help`: these are answered from here, before the CLI (Typer, every command module) is
imported, in about the time Python takes to start.
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
    from clm.cli.app import main as run

    run()


def _wide_terminal() -> bool:
    """Click wraps help at 78 columns on any terminal of 80 or more (and in a pipe)."""
    import shutil

    return shutil.get_terminal_size().columns >= 80


if __name__ == "__main__":
    main()
