"""Named, append-only schema migrations. Never edit one once released; add a new one.

A new database gets the current schema from the models and records every migration as
applied; an existing one runs the migrations it has not seen, each in its own transaction.
"""

from collections.abc import Callable

from sqlalchemy import Connection


def _initial(conn: Connection) -> None:
    """0.1.0: users, stages, customers with tags and influencers, transitions, notes.

    Only ever the baseline of a new database, which the models create whole.
    """


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0001_initial", _initial),
]
SCHEMA_VERSION = len(MIGRATIONS)
