"""The files beside a SQLite database: backups, private files, hot journals, damage markers and
read-only copies."""

import os
import shutil
import sqlite3
from pathlib import Path

from clm.errors import ClmError, Conflict, Invalid, NotFound
from clm.storage.clock import utcnow
from clm.storage.journal import JOURNAL_MAGIC, foreign_journal


def backup_path(path: Path, label: str) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    backup, n = path.with_name(f"{path.name}.{label}-{stamp}.bak"), 1
    while backup.exists():  # two backups within a second
        n += 1
        backup = path.with_name(f"{path.name}.{label}-{stamp}-{n}.bak")
    return backup


def refuse_other_files(path: Path) -> None:
    """A file that is there and is not SQLite is never opened as the database."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return  # made, refused or reported where it is opened
    if head and head != SQLITE_HEADER[: len(head)]:
        raise ClmError(
            f"'{path}' is not a SQLite database: name a clm database, or a new file to create one"
        )


def create_private_file(path: Path, exclusive: bool = False, make_parents: bool = False) -> None:
    """Create an empty file readable by its owner only (SQLite gives its journal the same mode);
    its directory must exist unless `make_parents`."""
    if path.is_dir():
        raise Invalid(f"database path '{path}' is a directory")
    if path.exists() and not exclusive:
        return
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif not path.parent.is_dir():
        raise NotFound(f"no directory '{path.parent}' for '{path.name}': create it first")
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
    except FileExistsError:
        if exclusive:
            raise ClmError(f"'{path}' already exists") from None


def is_own_file(target: Path, database: Path | None) -> bool:
    """Whether `target` is the database itself, its journal, its damage marker or one of the
    backups clm keeps beside it: files no `--output`/`--force` may ever write over."""
    if database is None:
        return False
    real, db = Path(os.path.realpath(target)), Path(os.path.realpath(database))
    if real.parent == db.parent and real.name.startswith(db.name):
        rest = real.name[len(db.name) :]
        if rest in ("", "-journal", "-wal", "-shm", ".damaged") or (
            rest.startswith(".") and rest.endswith(".bak")
        ):
            return True
    try:
        return target.exists() and os.path.samefile(target, database)
    except OSError:
        return False


def own_file_kind(target: Path, database: Path) -> str:
    """How to name one of the database's own files in a refusal."""
    same = os.path.realpath(target) == os.path.realpath(database)
    if same or (target.exists() and os.path.samefile(target, database)):
        return "is the database itself"
    return "is one of the database's own files (its journal or a backup)"


def write_private_file(file: Path, text: str, replace: bool = False) -> None:
    """Write `text` as `file`, readable by its owner only, all or nothing: into a temporary
    file beside it, synced, then linked in (or with `replace`, renamed over an existing file
    or link, never following it). A full disk or a crash leaves no empty or partial `file`
    that a retry would then call "already exists"."""
    import tempfile

    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{file.name}.", suffix=".tmp", dir=file.parent
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if replace:
            os.replace(temporary, file)
        else:
            os.link(temporary, file)  # fails if `file` exists, even a dangling link
    except FileExistsError:
        raise Conflict(f"'{file}' already exists") from None
    except OSError as exc:
        raise Invalid(f"cannot write '{file}': {exc.strerror}; nothing was written") from None
    finally:
        Path(temporary).unlink(missing_ok=True)


SQLITE_HEADER = b"SQLite format 3\x00"
_PENDING_BYTE = 0x40000000  # SQLite's lock bytes: PENDING, then RESERVED


def damage_marker(path: Path) -> Path:
    return path.with_name(f"{path.name}.damaged")


def newest_backup(path: Path) -> Path | None:
    """The newest backup clm made beside the db (before a migration, init or merge)."""
    backups = [p for p in path.parent.glob(f"{path.name}.*.bak") if ".hot-" not in p.name]
    return max(backups, key=lambda p: p.stat().st_mtime, default=None)


def _journal_is_hot(path: Path, journal: Path) -> bool:
    """A journal with a valid header whose writer is gone: no process holds the db's RESERVED
    or PENDING lock (a live writer's journal is not hot, it is in use)."""
    import fcntl
    import struct

    try:
        with journal.open("rb") as f:
            if f.read(8) != JOURNAL_MAGIC:
                return False
    except OSError:
        return False
    layout = "hhqqi"  # struct flock: type, whence, start, len, pid
    fd = os.open(path, os.O_RDONLY)
    try:
        probe = struct.pack(layout, fcntl.F_WRLCK, os.SEEK_SET, _PENDING_BYTE, 2, 0)
        held = struct.unpack(layout, fcntl.fcntl(fd, fcntl.F_GETLK, probe))[0]
    finally:
        os.close(fd)
    return held == fcntl.F_UNLCK


def save_hot_journal(path: Path) -> tuple[Path, Path] | None:
    """Before SQLite rolls a hot journal back into the db, save both aside (a journal a sync
    service delivered from another machine would turn the db into garbage); their paths."""
    journal = Path(f"{path}-journal")
    if not journal.exists() or not _journal_is_hot(path, journal):
        return None
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    why = foreign_journal(path, journal)
    if why:
        # Not rolled back: the file stays as it is, the journal is kept aside, the user told.
        aside = path.with_name(f"{path.name}.hot-{stamp}.foreign-journal.bak")
        os.replace(journal, aside)
        raise ClmError(
            f"the journal beside {path} is another copy's ({why}): a sync service brought it "
            f"from another machine. It is set aside as {aside} and {path} is left as it was; "
            "if another copy of this book has edits, merge it in with clm db merge COPY, then "
            "run the command again"
        )
    pair = (path.with_name(f"{path.name}.hot-{stamp}.db.bak"),
            path.with_name(f"{path.name}.hot-{stamp}.journal.bak"))  # fmt: skip
    for source, dest in zip((path, journal), pair, strict=True):
        create_private_file(dest, exclusive=True)
        shutil.copyfile(source, dest)
    return pair


def sqlite_meta(path: Path, keys: tuple[str, ...]) -> dict[str, str] | None:
    """Some meta values of a SQLite file, read without locking or recovering it (cheap: for
    files beside the db); None when it is not a clm database."""
    try:
        with path.open("rb") as f:
            if f.read(16) != SQLITE_HEADER:
                return None
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except OSError:
        return None
    try:
        marks = ",".join("?" * len(keys))
        rows = conn.execute(f"SELECT key, value FROM clm_meta WHERE key IN ({marks})", keys)
        return dict(rows.fetchall())
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()
