"""Copies of the db file beside it: the conflicted copies sync services leave when two people
edit offline. A name is only a hint; a copy is a file that carries the db's lineage id."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

# What each service calls the copy of `NAME.db` (`{stem}`, `{suffix}`), tried in this order.
SERVICES = (
    ("Dropbox", r"{stem} \(.+'s conflicted copy \d{{4}}-\d{{2}}-\d{{2}}( \(\d+\))?\){suffix}"),
    ("Syncthing", r"{stem}\.sync-conflict-\d{{8}}-\d{{6}}-[A-Z0-9]+{suffix}"),
    ("Nextcloud", r"{stem} \(conflicted copy .+ \d{{4}}-\d{{2}}-\d{{2}} \d{{6}}\){suffix}"),
    ("iCloud", r"{stem} \d+{suffix}"),
    ("Google Drive or Box", r"{stem} \(\d+\){suffix}"),
    ("OneDrive", r"{stem}-[^.\s]+{suffix}"),
)
MERGED = "merged_copies"  # meta: the clocks of the copies merged in, the last KEPT_MERGES
KEPT_MERGES = 20
# Files beside a db that are never copies: its journal, WAL files, clm's own backups.
NEVER = ("-journal", "-wal", "-shm", ".bak", ".damaged")


@dataclass(frozen=True)
class Copy:
    path: Path
    service: str  # which sync service's naming it has, or "renamed"
    merged: bool = False  # merged in, and unchanged since: it can go

    @property
    def named(self) -> bool:
        """Named as a sync service names its conflicts (not a copy someone made by hand)."""
        return self.service != "renamed"


def find_copies(db: Path) -> list[Copy]:
    """The copies of `db` in its directory: a listing, then the meta row of each sibling with
    the db's extension (not its journal or backups)."""
    from clm.storage.files import sqlite_meta  # (light: not the engine, as the agenda reads)

    keys = ("lineage", "backup_at", "hlc", MERGED)
    try:
        siblings = sorted(p for p in db.parent.iterdir() if _candidate(db, p))
    except OSError:
        return []
    if not siblings:
        return []
    mine = sqlite_meta(db, keys) or {}
    if not mine.get("lineage"):
        return []
    patterns = [
        (service, re.compile(pattern.format(stem=re.escape(db.stem), suffix=re.escape(db.suffix))))
        for service, pattern in SERVICES
    ]
    merged = set(json.loads(mine.get(MERGED) or "[]"))
    copies = []
    for path in siblings:
        theirs = sqlite_meta(path, keys) or {}
        # A backup clm made (`db backup`) carries the lineage too, and its own mark.
        if theirs.get("lineage") != mine["lineage"] or theirs.get("backup_at") not in (
            None,
            mine.get("backup_at"),
        ):
            continue
        service = next((s for s, p in patterns if p.fullmatch(path.name)), "renamed")
        copies.append(Copy(path, service, merged=theirs.get("hlc") in merged))
    return copies


def remember_merged(conn, path: Path) -> None:
    """Note that the copy at `path` is merged as it is now (by its clock, the last change it
    holds): it is no longer a copy to merge until it changes."""
    from clm.db import get_meta, set_meta, sqlite_meta

    last = (sqlite_meta(path, ("hlc",)) or {}).get("hlc")
    if last is None:
        return
    merged = [value for value in json.loads(get_meta(conn, MERGED) or "[]") if value != last]
    set_meta(conn, MERGED, json.dumps([*merged, last][-KEPT_MERGES:]))


def _candidate(db: Path, path: Path) -> bool:
    name = path.name
    return (
        name != db.name
        and path.suffix == db.suffix
        and (db.suffix or name.startswith(db.stem))
        and not name.endswith(NEVER)
        and path.is_file()
    )


def merge_command(db_option: str | None, copy: Path) -> str:
    """The command that merges `copy` in, as the user would type it."""
    import shlex

    db = f"--db {shlex.quote(db_option)} " if db_option else ""
    return f"clm {db}db merge {shlex.quote(str(copy))}"


def copies_warning(db: Path) -> str | None:
    """One line when a sync service's conflicted copies, not merged yet, lie beside the db,
    else None. (A copy made by hand is for `db check` to list: it is often meant.)"""
    copies = [copy for copy in find_copies(db) if copy.named and not copy.merged]
    if not copies:
        return None
    names = ", ".join(c.path.name for c in copies)
    many = "copies" if len(copies) > 1 else "copy"
    return (
        f"{len(copies)} conflicted {many} of {db.name} beside it ({names}): "
        "clm db check shows them, clm db merge FILE folds one in"
    )
