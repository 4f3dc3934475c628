"""Names for shell completion (slugs, handles, stage keys, rules, playbooks, open items), read
from the SQLite file with the stdlib, read-only.

Not in clm/db.py because that module imports SQLAlchemy at its top, and a completion must
answer before SQLAlchemy could load. A server database (PostgreSQL) completes no values.
"""

import sqlite3
from pathlib import Path

LIMIT = 200
# What each kind of name is: (value, help) rows; ids are numbers, the rest text.
QUERIES = {
    "customer": "SELECT slug AS value, name AS help FROM customers WHERE deleted_at IS NULL",
    "user": "SELECT handle AS value, coalesce(name, team) AS help FROM users "
    "WHERE deleted_at IS NULL",
    "stage": "SELECT key AS value, name AS help FROM stages WHERE deleted_at IS NULL",
    "rule": "SELECT name AS value, NULL AS help FROM rules WHERE deleted_at IS NULL",
    "playbook": "SELECT name AS value, description AS help FROM playbooks WHERE deleted_at IS NULL",
    "team": "SELECT team AS value, NULL AS help FROM stages WHERE deleted_at IS NULL "
    "UNION SELECT team, NULL FROM users WHERE deleted_at IS NULL",
    "milestone": "SELECT m.id AS value, c.slug || ': ' || m.title AS help FROM milestones m "
    "JOIN customers c ON c.id = m.customer_id "
    "WHERE m.deleted_at IS NULL AND m.status IN ('open', 'blocked')",
    "task": "SELECT t.id AS value, c.slug || ': ' || t.title AS help FROM tasks t "
    "JOIN customers c ON c.id = t.customer_id WHERE t.deleted_at IS NULL AND t.status = 'open'",
    "cta": "SELECT a.id AS value, c.slug || ': ' || a.type || ': ' || a.reason AS help "
    "FROM ctas a JOIN customers c ON c.id = a.customer_id "
    "WHERE a.deleted_at IS NULL AND a.status = 'open'",
}


def sqlite_file(target: str | None) -> Path | None:
    """The SQLite file of `--db`/`CLM_DB`/the default, as clm.db.resolve finds it; None for a
    server URL."""
    if not target:
        import platformdirs

        return platformdirs.user_data_path("clm") / "clm.db"
    if "://" not in target:
        return Path(target).expanduser()
    if target.startswith("sqlite:///"):
        return Path(target.removeprefix("sqlite:///")).expanduser()
    return None


def names(target: str | None, kind: str, prefix: str) -> list[tuple[str, str]]:
    """(value, help) pairs of `kind` starting with `prefix`; [] when there is no database."""
    path = sqlite_file(target)
    if kind not in QUERIES or path is None or not path.is_file() or any(c in prefix for c in "*?["):
        return []
    # GLOB matches case-sensitively, as clm's names are, and a literal prefix uses the index.
    numeric = kind in ("milestone", "task", "cta")
    match, order = ("CAST(value AS TEXT)", "length(value), value") if numeric else ("value",) * 2
    sql = (
        f"SELECT value, help FROM ({QUERIES[kind]}) "
        f"WHERE value IS NOT NULL AND {match} GLOB ? ORDER BY {order} LIMIT {LIMIT}"
    )
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=0.5)
    except sqlite3.Error:
        return []
    try:
        rows = conn.execute(sql, (prefix + "*",)).fetchall()
    except sqlite3.Error:
        return []
    finally:
        conn.close()
    # One line of help each: a shell's menu has no room for a paragraph.
    return [(str(value), " ".join(str(help_text or "").split())[:60]) for value, help_text in rows]
