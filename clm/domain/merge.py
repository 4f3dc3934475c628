"""Folding a diverged copy of the database back in (`clm db merge`).

Rows are matched by uuid. Mutable rows merge field by field: the edit with the later hybrid
logical clock stamp wins, a tie goes to the greater value, so the result does not depend on
which copy merges into which. Tombstones are fields like any other (nothing undeletes), so
deletes are kept. Append-only history is unioned. New rows keep their uuid and get local ids;
foreign keys travel as uuids. The tables are classified below: a new table is one line here.

The other copy is attached to this one's connection (SQLite), so SQLite finds the rows that
differ (_differing) and the history this copy lacks; only those rows come into Python, and a
diverged copy differs in few: memory does not grow with the book.
"""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sqlalchemy import (
    Connection,
    MetaData,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    except_,
    exists,
    insert,
    or_,
    select,
    update,
)

from clm.db import attach_copy, clock, get_meta, in_values, suspend_audit, utcnow
from clm.domain.conflicted_copies import remember_merged
from clm.domain.engine.owner import merge_owner
from clm.domain.metric_merge import merge_points
from clm.domain.records import CREATED, update_row
from clm.errors import ClmError
from clm.storage.tables import APPEND_ONLY as HISTORY_TABLES
from clm.storage.tables import customers, health_scores, metadata, transitions

# History: unioned by uuid. Two rows holding one unique key under different uuids (both
# copies fired the same reminder) keep the smaller uuid, whichever way the merge runs.
APPEND_ONLY = tuple(table.name for table in HISTORY_TABLES)
# The outbox stays with the copy that ticked: a merged copy never sends its messages again.
# Metric points merge by their key (merge_points, which keeps the latest values with them), the
# scorecard's scores by their customer (_merge_scores), not as rows with uuids.
NOT_MERGED = ("clm_meta", "clm_migrations", "outbox", "audit_context")
KEYED = ("metric_points", "metric_latest", "health_scores")


@dataclass(frozen=True)
class Link:
    """A link table: a set of values under a parent row, stamped as one field of the parent
    (`touched` in update_row). `derived` columns are recomputed after the merge."""

    table: str
    parent: str
    field: str
    derived: tuple[str, ...] = ()


LINKS = (
    Link("customer_tags", "customer_id", "tags"),
    Link("customer_influencers", "customer_id", "influencers"),
    Link("milestone_collaborators", "milestone_id", "collaborators"),
    Link("milestone_reminders", "milestone_id", "remind", derived=("remind_on", "pending")),
)
# How the loser of a clash on a live unique key gives way: a text column gets a suffix, a
# flag is cleared; otherwise (the same stage, playbook, rule or occurrence made twice) it is
# removed. The row made first keeps the key.
GIVE_WAY = {
    "uq_customers_slug": "slug",
    "uq_users_handle": "handle",
    "uq_users_team_default_owner": {"default_owner": False},
    "uq_contacts_primary": {"is_primary": False},
}
SYSTEM = ("id", "uuid", "created_at", "updated_at", "stamps")
# Link fields that merge as sets, member by member (see _merge_set); `remind` stays one value.
SET_FIELDS = ("tags", "influencers", "collaborators")


@cache
def tables() -> dict[str, Table]:
    """Every table in foreign key order (parents first)."""
    return {t.name: t for t in metadata.sorted_tables}


def mutable_tables() -> list[Table]:
    return [t for t in tables().values() if "stamps" in t.c]


@dataclass
class Report:
    added: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    fields: dict[str, set] = field(default_factory=lambda: defaultdict(set))
    clashes: list[str] = field(default_factory=list)
    # Each record added, changed (a row per field: ours -> the merged value) or removed.
    details: list[dict] = field(default_factory=list)
    more: Counter = field(default_factory=Counter)  # records of a table not in the details

    def tell(self, table: str, action: str, row: dict, name=None, ours=None, theirs=None):
        self.details.append({
            "table": table, "action": action, "record": _label(row), "field": name,
            "ours": _shown(ours), "theirs": _shown(theirs), "uuid": row["uuid"],
        })  # fmt: skip

    def detail_lines(self) -> list[str]:
        """One line a record or changed field: `customers acme: name 'Acme' -> 'Acme Inc'`."""
        lines = []
        for d in self.details:
            what = f"{d['table']} {d['record']}"
            if d["action"] == "change":
                lines.append(f"  change {what}: {d['field']} {d['ours']!r} -> {d['theirs']!r}")
            else:
                lines.append(f"  {d['action']} {what}")
        return lines + [f"  and {n} more {table}" for table, n in self.more.items() if n]

    def lines(self) -> list[str]:
        out = []
        for name in tables():
            parts = [f"{self.added[name]} added"] if self.added[name] else []
            if self.updated[name]:
                changed = ", ".join(sorted(self.fields[name]))
                parts.append(f"{self.updated[name]} updated ({changed})")
            if parts:
                out.append(f"{name}: {'; '.join(parts)}")
        return out + self.clashes

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.clashes)


# What names a record in the detail, by the first column a table has of these.
LABELS = ("slug", "handle", "key", "title", "name", "reason", "text", "on")


def _label(row: dict) -> str:
    for column in LABELS:
        if row.get(column) not in (None, ""):
            text = str(row[column])
            return text if len(text) <= 40 else text[:39] + "…"
    return row["uuid"][:8]


def _shown(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, tuple | list):  # a link field: its members (rows of one or more values)
        return ";".join(_shown(v[0] if isinstance(v, tuple) and len(v) == 1 else v) for v in value)
    return str(value)


@cache
def their_tables(schema: str) -> dict[str, Table]:
    """The other copy's tables, as attached under `schema` (attach_copy)."""
    theirs = MetaData()
    return {t.name: t.to_metadata(theirs, schema=schema) for t in metadata.sorted_tables}


@cache
def foreign_keys(table: Table) -> dict[str, str]:
    """Column -> the table it points to (every such table has uuids)."""
    return {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}


def _with_parents(joined, row, name: str, copy: dict[str, Table], prefix: str):
    """`joined` (a join holding `row`, a row of table `name` of one copy) joined to the parents
    its foreign keys point to; its columns by name, each foreign key as its parent's uuid: rows
    of two copies compare this way, since each copy numbers its rows itself."""
    columns = {}
    for column in row.c:
        target = foreign_keys(tables()[name]).get(column.name)
        if target is None:
            columns[column.name] = column
            continue
        parent = copy[target].alias(f"{prefix}_{column.name}")
        joined = joined.outerjoin(parent, parent.c.id == column)
        columns[column.name] = parent.c.uuid
    return joined, columns


def _select_rows(name: str, copy: dict[str, Table], where, exclude=()) -> Select:
    """A copy's rows of table `name` in uuid space (where(columns) picks them), in id order
    (a link table has none)."""
    row = copy[name].alias("row")
    joined, columns = _with_parents(row, row, name, copy, "parent")
    shown = [column.label(n) for n, column in columns.items() if n not in exclude]
    query = select(*shown).select_from(joined).where(where(columns))
    return query.order_by(row.c.id) if "id" in row.c else query


def _read(conn: Connection, name: str, copy: dict[str, Table], where) -> list[dict]:
    """A copy's rows of table `name` that where(columns) picks, in uuid space with their link
    fields, in id order."""
    rows = [r._asdict() for r in conn.execute(_select_rows(name, copy, where))]
    for link in _links_of(tables()[name]):
        values = _link_values(conn, copy, link, [r["uuid"] for r in rows])
        for r in rows:
            r[link.field] = values.get(r["uuid"], ())
    return rows


def _by_uuid(conn: Connection, uuids):
    return lambda columns: in_values(conn, columns["uuid"], list(uuids))


def _link_values(conn: Connection, copy, link: Link, parents: list[str]) -> dict[str, tuple]:
    """Parent uuid -> the sorted tuple of its link values (foreign keys as uuids)."""
    if not parents:
        return {}
    query = _select_rows(
        link.table,
        copy,
        lambda columns: in_values(conn, columns[link.parent], parents),
        exclude=link.derived,
    )
    values = defaultdict(list)
    for row in conn.execute(query):
        row = row._asdict()
        values[row.pop(link.parent)].append(tuple(row.values()))
    return {p: tuple(sorted(v, key=repr)) for p, v in values.items()}


def _ids(conn: Connection, name: str, uuids) -> dict[str, int]:
    """uuid -> id in this copy of those rows of table `name`."""
    t = tables()[name]
    return dict(
        conn.execute(select(t.c.uuid, t.c.id).where(in_values(conn, t.c.uuid, list(uuids)))).all()
    )


def _to_ids(conn: Connection, table: Table, rows: list[dict]) -> list[dict]:
    """Rows in uuid space as this copy stores them (their parents are already here)."""
    keys = foreign_keys(table)
    wanted = defaultdict(set)
    for row in rows:
        for column, target in keys.items():
            if row[column] is not None:
                wanted[target].add(row[column])
    ids = {target: _ids(conn, target, uuids) for target, uuids in wanted.items()}
    return [
        {**row, **{c: ids[t][row[c]] for c, t in keys.items() if row[c] is not None}}
        for row in rows
    ]


def merge_copy(conn: Connection, other: Connection) -> Report:
    """Fold `other` (a read-only copy of this database) into `conn`'s write transaction."""
    mine_lineage, their_lineage = get_meta(conn, "lineage"), get_meta(other, "lineage")
    if mine_lineage != their_lineage:
        raise ClmError(
            "not a copy of this database (another lineage): merge only copies of one file"
        )
    report = Report()
    suspend_audit(conn)  # each copy logged its own edits: the union of the logs tells them
    theirs = their_tables(attach_copy(conn, other))
    # Edits made here after the merge must follow every edit merged in, whatever the clocks.
    clock(conn).observe(get_meta(other, "hlc") or "")
    touched_milestones: set[str] = set()
    for table in mutable_tables():
        rows = _merge_mutable(conn, table, theirs, report)
        if table.name == "milestones":
            touched_milestones = rows
    for name in APPEND_ONLY:
        added = _union_history(conn, tables()[name], theirs, report)
        if name == "transitions":
            _one_history(conn, added, report)
    _refresh_reminders(conn, touched_milestones)
    merge_points(conn, other, report)  # by their key: (metric, customer, day)
    _merge_scores(conn, theirs, report)
    merge_owner(conn, other)
    return report


def _merge_scores(conn: Connection, theirs: dict[str, Table], report: Report) -> None:
    """The scorecard's scores, one a customer (matched by its uuid): the later score is kept,
    of two of one day the greater, whichever way the merge runs. (A health set by hand in
    either copy holds over a score of a day it covers, as the customer's fields merged say.)"""
    score, customer = (
        theirs["health_scores"].alias("their_score"),
        theirs["customers"].alias("them"),
    )
    scores = health_scores.c
    source = score.join(customer, customer.c.id == score.c.customer_id).join(
        customers, customers.c.uuid == customer.c.uuid
    )
    found = select(customers.c.id, score.c.on, score.c.health).select_from(source)
    added = found.where(~exists().where(scores.customer_id == customers.c.id))
    counts = conn.execute(insert(health_scores).from_select(["customer_id", "on", "health"], added))
    if counts.rowcount:
        report.added["health_scores"] += counts.rowcount

    def their(column):  # the other copy's value of the score this row holds
        query = select(column).select_from(source)
        return query.where(customers.c.id == scores.customer_id).scalar_subquery()

    on, health = their(score.c.on), their(score.c.health)
    later = or_(on > scores.on, and_(on == scores.on, health > scores.health))
    changed = conn.execute(update(health_scores).values(on=on, health=health).where(later))
    if changed.rowcount:
        report.updated["health_scores"] += changed.rowcount
        report.fields["health_scores"].add("health")


def _stamp(stamps: dict, name: str) -> str:
    return stamps.get(name) or stamps.get(CREATED, "")


def merge_fields(mine: dict, theirs: dict) -> dict:
    """One row from two versions: per field, the later stamp wins; a tie (the same stamp, or
    none on either side) goes to the greater value, so the order of the merge does not matter."""
    my_stamps, their_stamps = json.loads(mine["stamps"]), json.loads(theirs["stamps"])
    merged = dict(mine)
    for name in mine:
        if name in SYSTEM:
            continue
        if name in SET_FIELDS:
            merged[name] = _merge_set(name, (mine, my_stamps), (theirs, their_stamps))
            continue
        a, b = _stamp(my_stamps, name), _stamp(their_stamps, name)
        if (b, repr(theirs[name])) > (a, repr(mine[name])):
            merged[name] = theirs[name]
    stamps = {
        k: max(my_stamps.get(k, ""), their_stamps.get(k, "")) for k in {**my_stamps, **their_stamps}
    }
    merged["stamps"] = json.dumps(stamps, sort_keys=True)
    merged["updated_at"] = max(mine["updated_at"], theirs["updated_at"])
    return merged


def _merge_set(name: str, *sides: tuple[dict, dict]) -> tuple:
    """A set field (tags, influencers, collaborators) from two versions, member by member: a
    member is kept when its latest addition on either copy is later than its latest removal.
    A member with no stamp of its own (added with the row, or by an import) counts as added
    when the row was made."""
    added, removed = f"{name}+", f"{name}-"
    members = {values[0] for row, _ in sides for values in row[name]}
    members |= {
        key[len(added) :]
        for _, stamps in sides
        for key in stamps
        if key.startswith((added, removed))
    }
    kept = []
    for member in members:
        latest_add = max(
            stamps.get(added + member)
            or ((stamps.get(CREATED) or "0") if (member,) in row[name] else "")
            for row, stamps in sides
        )
        latest_remove = max(stamps.get(removed + member, "") for _, stamps in sides)
        if latest_add > latest_remove:
            kept.append((member,))
    return tuple(sorted(kept, key=repr))


def _links_of(table: Table) -> list[Link]:
    return [link for link in LINKS if foreign_keys(tables()[link.table])[link.parent] == table.name]


def _renumbered(theirs: dict[str, Table], name: str) -> Select:
    """The ids of table `name` the other copy gives to another row than this one does (or to a
    row this one lacks): a foreign key holding one of them does not compare as a number."""
    their_row, my_row = theirs[name].alias("their_parent"), tables()[name].alias("my_parent")
    joined = their_row.outerjoin(my_row, my_row.c.id == their_row.c.id)
    return (
        select(their_row.c.id)
        .select_from(joined)
        .where(my_row.c.uuid.is_distinct_from(their_row.c.uuid))
    )


def _differing(conn: Connection, table: Table, theirs: dict[str, Table]) -> set[str]:
    """The uuids of the other copy's rows this copy lacks or holds otherwise (a field, a
    parent or a link value), found by SQLite: a diverged copy differs in few rows. Rows pair by
    id, so both copies are read in their order: each keeps the ids the file had when they
    parted. A row whose id holds another row here differs (merged rows compare their ids too);
    a foreign key compares as a number unless it holds a renumbered id. This finds every row
    whose fields or links differ in uuid space, and a few more, which merge to what they were."""
    their_row, my_row = theirs[table.name].alias("their_row"), table.alias("my_row")
    differs = [my_row.c.uuid.is_distinct_from(their_row.c.uuid)]
    differs += [their_row.c[c.name].is_distinct_from(my_row.c[c.name]) for c in table.c]
    differs += [
        their_row.c[c].in_(_renumbered(theirs, target)) for c, target in foreign_keys(table).items()
    ]
    paired = their_row.outerjoin(my_row, my_row.c.id == their_row.c.id)
    found = set(conn.scalars(select(their_row.c.uuid).select_from(paired).where(or_(*differs))))
    parents = set()
    for link in _links_of(table):
        their_links, my_links = theirs[link.table], tables()[link.table]
        values = [c.name for c in my_links.c if c.name not in link.derived]
        sides = [select(*(links.c[v] for v in values)) for links in (their_links, my_links)]
        for first, second in (sides, sides[::-1]):
            apart = except_(first, second).subquery()
            parents |= set(conn.scalars(select(apart.c[link.parent]).distinct()))
        for column, target in foreign_keys(my_links).items():
            if column != link.parent:
                renumbered = their_links.c[column].in_(_renumbered(theirs, target))
                parents |= set(conn.scalars(select(their_links.c[link.parent]).where(renumbered)))
    if parents:  # ids of either copy: those of this one name the same rows, or rows found above
        their_table = theirs[table.name]
        by_id = in_values(conn, their_table.c.id, sorted(parents))
        found |= set(conn.scalars(select(their_table.c.uuid).where(by_id)))
    return found


def _merge_mutable(
    conn: Connection, table: Table, theirs: dict[str, Table], report: Report
) -> set[str]:
    """Merge one table of stamped rows; the uuids of the rows that changed here."""
    links = _links_of(table)
    differing = _differing(conn, table, theirs)
    if not differing:
        return set()
    # Only the rows that differ are read, from both copies: this copy's first (in id order),
    # then the other copy's new rows (in its id order), as the merged rows `final` hold them.
    my_rows = {r["uuid"]: r for r in _read(conn, table.name, tables(), _by_uuid(conn, differing))}
    final = dict(my_rows)
    for theirs_row in _read(conn, table.name, theirs, _by_uuid(conn, differing)):
        uuid = theirs_row["uuid"]
        if theirs_row == my_rows.get(uuid):
            continue
        clock(conn).observe(max(json.loads(theirs_row["stamps"]).values(), default=""))
        final[uuid] = merge_fields(my_rows[uuid], theirs_row) if uuid in my_rows else theirs_row
    _give_way(table, final, my_rows, conn, report)
    new = [u for u in final if u not in my_rows]
    changed = sorted((u for u in my_rows if final[u] != my_rows[u]), key=lambda u: my_rows[u]["id"])
    if not new and not changed:
        return set()
    # Rows about to change leave the live unique indexes first (every one of them is partial
    # on `deleted_at IS NULL`), so no intermediate state clashes.
    by_id = update(table).where(table.c.id == bindparam("_id"))
    if changed:
        conn.execute(
            by_id.where(table.c.deleted_at.is_(None)).values(deleted_at=utcnow()),
            [{"_id": my_rows[u]["id"]} for u in changed],
        )
    columns = [c.name for c in table.c if c.name != "id"]
    if new:
        conn.execute(
            table.insert(), _to_ids(conn, table, [{c: final[u][c] for c in columns} for u in new])
        )
        report.added[table.name] += len(new)
        for u in new:
            report.tell(table.name, "add", final[u])
    if changed:
        conn.execute(
            by_id,
            [
                row | {"_id": my_rows[u]["id"]}
                for u, row in zip(
                    changed,
                    _to_ids(conn, table, [{c: final[u][c] for c in columns} for u in changed]),
                    strict=True,
                )
            ],
        )
    for uuid in changed:
        before, after = my_rows[uuid], final[uuid]
        edited = {k for k in after if k not in SYSTEM and after[k] != before[k]}
        if edited:
            report.updated[table.name] += 1
            report.fields[table.name] |= edited
        if before.get("deleted_at") is None and after.get("deleted_at") is not None:
            report.tell(table.name, "remove", before)
            continue
        for name in sorted(edited):
            report.tell(table.name, "change", before, name, before[name], after[name])
    for link in links:
        relinked = [
            u
            for u in new + changed
            if u not in my_rows or final[u][link.field] != my_rows[u][link.field]
        ]
        _write_links(conn, link, theirs, relinked, final)
    return set(new) | set(changed)


def _write_links(conn: Connection, link: Link, theirs, parents: list[str], final: dict) -> None:
    if not parents:
        return
    t = tables()[link.table]
    ids = _ids(conn, foreign_keys(t)[link.parent], parents)
    conn.execute(
        delete(t).where(t.c[link.parent] == bindparam("_id")), [{"_id": ids[u]} for u in parents]
    )
    value_columns = [c.name for c in t.c if c.name != link.parent and c.name not in link.derived]
    # Derived columns start from the other copy's values (they are recomputed afterwards).
    derived = {}
    if link.derived:
        query = _select_rows(
            link.table, theirs, lambda columns: in_values(conn, columns[link.parent], parents)
        )
        for row in conn.execute(query):
            row = row._asdict()
            key = (row[link.parent], *(row[c] for c in value_columns))
            derived[key] = {c: row[c] for c in link.derived}
    rows = []
    for uuid in parents:
        for values in final[uuid][link.field]:
            row = {link.parent: uuid, **dict(zip(value_columns, values, strict=True))}
            row |= derived.get((uuid, *values), {})
            rows.append(row)
    if rows:
        conn.execute(t.insert(), _to_ids(conn, t, rows))


def _live(where: str):
    """A Python test for a partial index's condition (`A AND B`, each `col IS NULL`,
    `col = 'text'` or a boolean `col`)."""
    tests = []
    for term in str(where).split(" AND "):
        term = term.strip()
        if term.endswith(" IS NULL"):
            tests.append(lambda r, c=term.removesuffix(" IS NULL"): r[c] is None)
        elif " = " in term:
            column, value = term.split(" = ")
            tests.append(lambda r, c=column, v=value.strip("'"): r[c] == v)
        elif term.isidentifier():
            tests.append(lambda r, c=term: bool(r[c]))
        else:
            raise ValueError(f"merge cannot read the index condition {where!r}")
    return lambda row: all(t(row) for t in tests)


def _give_way(table: Table, final: dict, my_rows: dict, conn: Connection, report: Report) -> None:
    """Resolve clashes on live unique keys in the merged rows (a slug both copies gave to
    different customers): the row made first keeps the key, the others give way. The rows held
    are those that differ; this copy's other rows holding one of their keys are read in."""
    for index in table.indexes:
        if not index.unique or "where" not in index.info:
            continue
        live = _live(index.info["where"])
        columns = [c.name for c in index.columns]
        groups = defaultdict(list)
        for row in final.values():
            if live(row):
                groups[tuple(row[c] for c in columns)].append(row)
        held = set()
        for key in groups:
            held |= _holders(conn, table, index, dict(zip(columns, key, strict=True)))
        held -= final.keys()
        for row in _read(conn, table.name, tables(), _by_uuid(conn, held)) if held else ():
            my_rows[row["uuid"]] = final[row["uuid"]] = row
            groups[tuple(row[c] for c in columns)].append(row)
        for rows in (groups[key] for key in sorted(groups, key=repr)):
            rows.sort(key=lambda r: (_stamp(json.loads(r["stamps"]), CREATED), r["uuid"]))
            for loser in rows[1:]:
                _give_way_row(table, index.name, loser, final, conn, report, rows[0])


def _holders(conn: Connection, table: Table, index, key: dict) -> set[str]:
    """The uuids of this copy's rows that hold `key` (values in uuid space) in a partial unique
    index (its condition spelled as the index spells it, so SQLite reads the index)."""
    where = [index.info["where"]]
    for column, value in key.items():
        target = foreign_keys(table).get(column)
        if value is not None and target is not None:
            value = _ids(conn, target, [value]).get(value)
            if value is None:
                return set()
        where.append(table.c[column].is_(None) if value is None else table.c[column] == value)
    return set(conn.scalars(select(table.c.uuid).where(*where)))


def _give_way_row(table, index: str, row: dict, final, conn, report: Report, winner) -> None:
    if final[row["uuid"]] is row:  # this copy's own row object, still compared against below
        final[row["uuid"]] = row = dict(row)
    how = GIVE_WAY.get(index)
    label = f"{table.name} {winner['uuid'][:8]} and {row['uuid'][:8]}"
    if isinstance(how, str):
        taken = {r[how] for r in final.values()}

        def is_taken(value) -> bool:  # by a row held, or by one of this copy's others
            holders = conn.scalars(select(table.c.uuid).where(table.c[how] == value))
            return value in taken or any(u not in final for u in holders)

        # The suffix comes from the uuid's random end (its start is a time, shared by rows made
        # in the same moment), so each row gets its own whichever order the copies merge in.
        width, value, tail = 4, row[how], row["uuid"].replace("-", "")
        while is_taken(f"{value}-{tail[-width:]}"):
            width += 2
        changes = {how: f"{value}-{tail[-width:]}"}
        report.clashes.append(
            f"{how} '{value}' was taken in both copies ({label}): the later one is now "
            f"'{changes[how]}'"
        )
    elif isinstance(how, dict):
        changes = dict(how)
        cleared = ", ".join(changes)
        report.clashes.append(f"{cleared} was set in both copies ({label}): kept the first")
    else:
        # A time both copies agree on, so either direction of the merge writes the same.
        changes = {"deleted_at": max(row["updated_at"], winner["updated_at"])}
        report.clashes.append(f"{label} are the same, made in both copies: removed the later")
    stamps = json.loads(row["stamps"])
    stamps.update(dict.fromkeys(changes, clock(conn).stamp()))
    row.update(changes, stamps=json.dumps(stamps, sort_keys=True))


def _union_history(conn: Connection, table: Table, theirs: dict, report: Report) -> list[dict]:
    """Add the other copy's history rows this one lacks (found by SQLite); those rows."""
    query = _select_rows(
        table.name,
        theirs,
        lambda columns: ~exists().where(table.c.uuid == columns["uuid"]),
        exclude=("id",),
    )
    new = _to_ids(conn, table, [r._asdict() for r in conn.execute(query)])
    for index in table.indexes:
        if not index.unique or len(index.columns) == 1:
            continue
        columns = [c.name for c in index.columns]
        for row in list(new):
            held = select(table.c.uuid).where(
                *(table.c[c].is_not_distinct_from(row[c]) for c in columns)
            )
            holder = conn.scalars(held.order_by(table.c.id.desc())).first()
            if holder is None:
                continue
            if row["uuid"] < holder:
                conn.execute(delete(table).where(table.c.uuid == holder))
            else:
                new.remove(row)
    if new:
        conn.execute(table.insert(), new)
        report.added[table.name] += len(new)
        for row in new:
            report.tell(table.name, "add", row)
    return new


def _one_history(conn: Connection, added: list[dict], report: Report) -> None:
    """Two copies that moved a customer apart (the same day, say) leave one history: its moves
    in the order they happened (effective day, then the time each was recorded, then uuid, the
    same whichever way the merge runs), and the customer where the last one put it. Readers
    order a customer's moves by day and id (an index does): the moves from the earliest one
    merged in on are written again in that order, same rows, new local ids (no table refers
    to a transition by its id)."""
    earliest: dict[int, object] = {}
    for row in added:
        customer_id = row["customer_id"]
        earliest[customer_id] = min(earliest.get(customer_id, row["on"]), row["on"])
    for customer_id, since in earliest.items():
        moves = [
            row._asdict()
            for row in conn.execute(
                select(transitions).where(
                    transitions.c.customer_id == customer_id, transitions.c.on >= since
                )
            )
        ]
        held = sorted(moves, key=lambda move: (move["on"], move["id"]))
        happened = sorted(moves, key=lambda move: (move["on"], move["created_at"], move["uuid"]))
        if held != happened:
            conn.execute(
                delete(transitions).where(transitions.c.uuid.in_([m["uuid"] for m in moves]))
            )
            conn.execute(
                transitions.insert(), [{k: v for k, v in m.items() if k != "id"} for m in happened]
            )
        _follow_last_move(conn, customer_id, happened[-1], report)


def _follow_last_move(conn: Connection, customer_id: int, last: dict, report: Report) -> None:
    """The customer in the stage its last move put it in, from that move's day, in that stay."""
    customer = conn.execute(select(customers).where(customers.c.id == customer_id)).one()
    changes = {"stage": last["to_stage"], "stage_entered": last["on"], "stay": last["uuid"]}
    changes = {name: value for name, value in changes.items() if getattr(customer, name) != value}
    if changes:
        update_row(conn, customers, customer, changes)
        report.updated["customers"] += 1
        report.fields["customers"].update(changes)


def _refresh_reminders(conn: Connection, milestone_uuids: set[str]) -> None:
    """Reminder days follow from the merged due dates and offsets; pending flags from the
    merged statuses, removals and reminder log."""
    from clm.domain.milestones import refresh_reminders

    refresh_reminders(conn, sorted(_ids(conn, "milestones", milestone_uuids).values()))


def merge_file(database, other_path, dry_run: bool = False) -> tuple[Report, Path | None]:
    """Merge the copy at `other_path` into `database` in one transaction, after a backup of
    the db (none for a dry run, which changes nothing); the report and the backup's path."""
    from clm.db import backup_path, open_copy

    if not database.is_sqlite:
        raise ClmError(
            "db merge is for SQLite files: on a server, copy data across with pg_dump/pg_restore"
        )
    if other_path.resolve() == database.path.resolve():
        raise ClmError(f"'{other_path}' is the database itself: name a copy of it")
    with open_copy(other_path) as other:
        saved = None if dry_run else database.backup(backup_path(database.path, "before-merge"))
        with database.write(dry_run=dry_run) as conn:
            report = merge_copy(conn, other)
            remember_merged(conn, other_path)
    return report, saved
