"""Python's cyclic garbage collector during a command: off while the process starts, on for the
command's own work.

Starting builds objects that live as long as the process (modules, Typer's commands,
SQLAlchemy's tables and engine): collections while they are made find no garbage, and each
later full collection walks them all again. A steady tick on a 100,000-customer book spent
60 ms of CPU collecting, 6 ms once they are frozen (kept out of every collection) before the
database is opened. Reference counting frees everything else as usual either way."""

import gc

_paused = False


def pause() -> None:
    """No collections until `resume` (the console script, before it imports the CLI)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Freeze what exists now (the startup's objects) and collect again, if `pause` stopped
    it; else nothing (a test, or a program that imported clm, keeps its own settings)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
