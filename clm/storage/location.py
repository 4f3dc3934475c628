"""Where the database lives and how long a command waits for its lock: read without the
engine, so a read path that needs no SQLAlchemy need not import it."""

import os
from pathlib import Path

from clm.errors import Invalid
from clm.plain import hide_password


def busy_timeout_ms() -> int:
    """How long a command waits for another's lock before "database busy": CLM_BUSY_TIMEOUT
    seconds, 15 by default; on a server, lock_timeout (and 20 times it, statement_timeout)."""
    text = os.environ.get("CLM_BUSY_TIMEOUT", "15")
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86_400:
        raise Invalid(f"invalid CLM_BUSY_TIMEOUT '{text}': use seconds from 0.001 to 86400")
    return max(1, int(seconds * 1000))


def default_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("clm") / "clm.db"


def resolve(target: str | None) -> tuple[str, Path | None]:
    """The SQLAlchemy URL and (for SQLite) the file path of `--db`/`CLM_DB` or the default."""
    if not target:
        path = default_path()
    elif "://" not in target:
        path = Path(target).expanduser()
    elif target.startswith("sqlite:///") and len(target) > len("sqlite:///"):
        path = Path(target.removeprefix("sqlite:///")).expanduser()
    elif target.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + target.split("://", 1)[1], None
    elif target.startswith("postgresql+psycopg://"):
        return target, None
    else:
        raise Invalid(
            f"unsupported database '{hide_password(target)}': use a file path, sqlite:///PATH or postgresql://…"
        )
    return f"sqlite:///{path}", path
