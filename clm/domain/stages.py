"""The lifecycle model's stages: their order, owning teams and SLAs, and its templates."""

import re
from collections.abc import Iterator

from sqlalchemy import Connection, func, select

from clm.db import get_meta, utcnow
from clm.domain.records import find_live, new_row, update_row
from clm.errors import Conflict, Invalid
from clm.storage.tables import customers, stages

STAGE_KEYS = ("key", "name", "position", "team", "expected_days", "playbook", "terminal")


def get_stage(conn: Connection, key: str):
    return find_live(conn, stages, "key", key.strip().lower(), "stage")


def entry_stage(conn: Connection) -> str:
    """The stage a customer added without --stage enters (the deal is won)."""
    return get_meta(conn, "entry_stage") or conn.scalar(
        select(stages.c.key).where(stages.c.deleted_at.is_(None)).order_by(stages.c.position)
    )


def list_stages(conn: Connection) -> Iterator[dict]:
    query = (
        select(*(stages.c[key] for key in STAGE_KEYS))
        .where(stages.c.deleted_at.is_(None))
        .order_by(stages.c.position)
    )
    for row in conn.execute(query):
        yield row._asdict()


# --- editing the lifecycle -----------------------------------------------------------------

STAGE_KEY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.ASCII)
CLEARABLE = ("team", "expected_days", "playbook")


def check_stage_key(key: str) -> str:
    """A stage key: lowercase letters and digits joined by '-', like a slug (up to 64)."""
    from clm.lifecycle import MOVE_TARGETS

    word = key.strip().lower()
    if word in MOVE_TARGETS:
        raise Invalid(f"invalid stage key '{key}': a rule's --to {word} means {MOVE_TARGETS[word]}")
    if not STAGE_KEY.fullmatch(word) or len(word) > 64:
        raise Invalid(
            f"invalid stage key '{key}': use lowercase letters and digits joined by '-' "
            "(e.g. will-churn), up to 64"
        )
    return word


def default_stage_name(key: str) -> str:
    """`will-churn` → `Will churn`."""
    return key.replace("-", " ").capitalize()


MAX_EXPECTED_DAYS = 36_500  # a century: any more and "today - expected days" leaves the calendar


def check_expected_days(days: int | None) -> int | None:
    if days is not None and not 1 <= days <= MAX_EXPECTED_DAYS:
        raise Invalid(
            f"invalid expected days {days}: use a whole number of days from 1 to "
            f"{MAX_EXPECTED_DAYS}"
        )
    return days


def live_stages(conn: Connection) -> list:
    """The live stage rows in lifecycle order."""
    query = select(stages).where(stages.c.deleted_at.is_(None)).order_by(stages.c.position)
    return list(conn.execute(query))


def set_positions(conn: Connection, ordered: list) -> None:
    """Number the stage rows of `ordered` 1..n, writing (and stamping) only those that move;
    a None holds the place of a stage the caller writes itself."""
    for position, row in enumerate(ordered, start=1):
        if row is not None and row.position != position:
            update_row(conn, stages, row, {"position": position})


def customers_in(conn: Connection, key: str) -> int:
    """How many live customers are in the stage."""
    return conn.scalar(
        select(func.count()).where(customers.c.stage == key, customers.c.deleted_at.is_(None))
    )


def _placed(conn: Connection, key: str, after: str | None, before: str | None) -> tuple[list, int]:
    """The live stages but `key`, and the index among them where `key` goes."""
    if after is not None and before is not None:
        raise Invalid("pass --after KEY or --before KEY, not both")
    neighbour = get_stage(conn, after or before)
    if neighbour.key == key:
        raise Invalid(f"stage '{key}' cannot go {'after' if after else 'before'} itself")
    others = [row for row in live_stages(conn) if row.key != key]
    index = next(i for i, row in enumerate(others) if row.key == neighbour.key)
    return others, index + 1 if after else index


def _checked(conn: Connection, fields: dict) -> dict:
    """The given (not None) stage fields, checked and normalised."""
    from clm.domain.playbooks import get_playbook
    from clm.domain.records import check_handle

    checked = {}
    for field, value in fields.items():
        if value is None:
            continue
        if field == "name":
            value = value.strip()
            if not value:
                raise Invalid("a stage name cannot be empty")
        elif field == "team":
            value = check_handle(value, "team")
        elif field == "expected_days":
            value = check_expected_days(value)
        elif field == "playbook":
            value = get_playbook(conn, value).name
        checked[field] = value
    return checked


def _record(row) -> dict:
    return {key: getattr(row, key) for key in STAGE_KEYS}


def add_stage(
    conn: Connection,
    key: str,
    name: str | None = None,
    after: str | None = None,
    before: str | None = None,
    team: str | None = None,
    expected_days: int | None = None,
    playbook: str | None = None,
    terminal: bool = False,
) -> dict:
    """Insert a stage after or before another; the stages behind it move down one place."""
    key = check_stage_key(key)
    if conn.scalar(select(stages.c.id).where(stages.c.key == key, stages.c.deleted_at.is_(None))):
        raise Conflict(f"stage '{key}' already exists: change it with clm stage edit {key}")
    if after is None and before is None:
        raise Invalid("say where the stage goes: pass --after KEY or --before KEY")
    fields = _checked(
        conn, {"name": name, "team": team, "expected_days": expected_days, "playbook": playbook}
    )
    others, index = _placed(conn, key, after, before)
    set_positions(conn, [*others[:index], None, *others[index:]])
    row = new_row(
        conn,
        key=key,
        name=fields.get("name") or default_stage_name(key),
        position=index + 1,
        team=fields.get("team"),
        expected_days=fields.get("expected_days"),
        playbook=fields.get("playbook"),
        terminal=terminal,
    )
    conn.execute(stages.insert().values(row))
    return _record(get_stage(conn, key))


def edit_stage(
    conn: Connection,
    key: str,
    name: str | None = None,
    team: str | None = None,
    expected_days: int | None = None,
    playbook: str | None = None,
    terminal: bool | None = None,
    after: str | None = None,
    before: str | None = None,
    clear: tuple[str, ...] = (),
) -> list[str]:
    """Change a stage's fields (None: unchanged; `clear` names fields to empty) and, with
    `after` or `before`, its place; the names of the fields that changed."""
    row = get_stage(conn, key)
    given = {"name": name, "team": team, "expected_days": expected_days, "playbook": playbook}
    for field in clear:
        if field not in CLEARABLE:
            shown = ", ".join(name.replace("_", "-") for name in CLEARABLE)
            raise Invalid(f"cannot clear '{field.replace('_', '-')}': use one of {shown}")
        if given.get(field) is not None:
            raise Invalid(f"both a new {field.replace('_', ' ')} and clearing it: pass one")
    fields = (
        _checked(conn, given)
        | dict.fromkeys(clear)
        | ({"terminal": terminal} if terminal is not None else {})
    )
    if after is not None or before is not None:
        others, index = _placed(conn, row.key, after, before)
        set_positions(conn, [*others[:index], None, *others[index:]])
        fields["position"] = index + 1
    changes = {field: value for field, value in fields.items() if getattr(row, field) != value}
    update_row(conn, stages, row, changes)
    return list(changes)


def remove_stage(conn: Connection, key: str, rules_using=None) -> None:
    """Tombstone a stage no customer is in; the stages behind it move up one place.
    `rules_using(key)` gives the names of the rules that still name it: any refuse the
    removal (clm.domain.engine.rulebook.remove_stage removes them first, with --force)."""
    row = get_stage(conn, key)
    if row.key == entry_stage(conn):
        raise Conflict(
            f"stage '{row.key}' is the entry stage (customers added without --stage enter it) "
            "and cannot be removed"
        )
    count = customers_in(conn, row.key)
    if count:
        customer_s = "customer is" if count == 1 else "customers are"
        raise Conflict(
            f"stage '{row.key}' cannot be removed: {count} {customer_s} in it; "
            f"move them first (clm customer list --stage {row.key})"
        )
    used = sorted(rules_using(row.key)) if rules_using else []
    if used:
        raise Conflict(
            f"stage '{row.key}' is used by rule{'s' if len(used) > 1 else ''} {', '.join(used)}: "
            "change or remove them first, or pass --force to remove them with the stage"
        )
    update_row(conn, stages, row, {"deleted_at": utcnow()})
    set_positions(conn, live_stages(conn))
