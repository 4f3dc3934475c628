"""Creating a database with a lifecycle template, and filling one with a demo book."""

from pathlib import Path

from clm.db import Database, exists, recreate, resolve
from clm.domain.stages import install_template
from clm.errors import Conflict, Invalid
from clm.lifecycle import TEMPLATES


def init_database(target: str | None, template: str, force: bool) -> tuple[Database, Path | None]:
    """A new database with `template`'s lifecycle; with `force` an existing one is set aside."""
    if template not in TEMPLATES:
        raise Invalid(f"unknown template '{template}': use one of {', '.join(TEMPLATES)}")
    saved = None
    if exists(target):
        if not force:
            on_file = resolve(target)[1] is not None
            kept = "a backup is kept" if on_file else "its tables are dropped: pg_dump it first"
            raise Conflict(f"the database already exists: pass --force to recreate it ({kept})")
        saved = recreate(target)
    database = Database.open(target, on_create=lambda conn: install_template(conn, template))
    return database, saved
