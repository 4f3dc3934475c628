"""Merging diverged copies: properties over random edit histories of three copies with skewed
clocks, on real files, against a reference model where whole-row last-writer-wins fails."""

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from clm.db import Database, open_copy
from clm.domain.customers import add_customer, add_note, edit_customer, remove_customer
from clm.domain.merge import (
    APPEND_ONLY,
    KEYED,
    LINKS,
    NOT_MERGED,
    foreign_keys,
    merge_copy,
    mutable_tables,
    tables,
)
from clm.domain.new_book import install_template
from clm.errors import ClmError
from clm.storage.clock import Clock
from clm.storage.tables import customers

TODAY = date(2026, 11, 23)
COPIES = "abc"
BASE_NAMES = ("Acme", "Beta", "Core")
FIELDS = {
    "name": st.sampled_from(["Acme Inc", "Beta Ltd", "Core AG", "Delta"]),
    "health": st.integers(0, 100),
    "source": st.sampled_from(["web", "event", "referral"]),
    "arr": st.sampled_from([1000.0, 2500.0, 9000.0]),
}
HOUR_MS = 3_600_000
MEMORY = Path("/dev/shm")


def test_every_table_has_a_merge_rule():
    classified = {t.name for t in mutable_tables()}
    classified |= {*APPEND_ONLY, *NOT_MERGED, *KEYED, *(link.table for link in LINKS)}
    assert classified == set(tables())


# --- Histories -------------------------------------------------------------------------------

edit_op = st.tuples(
    st.just("edit"), st.sampled_from(COPIES), st.integers(0, 2), st.sampled_from(sorted(FIELDS))
).flatmap(lambda t: st.tuples(*map(st.just, t), FIELDS[t[3]]))
ops = st.one_of(
    edit_op,
    edit_op,
    st.tuples(st.just("tag"), st.sampled_from(COPIES), st.integers(0, 2), st.sampled_from("xyz")),
    st.tuples(st.just("remove"), st.sampled_from(COPIES), st.integers(0, 2)),
    st.tuples(st.just("note"), st.sampled_from(COPIES), st.integers(0, 2)),
    st.tuples(st.just("add"), st.sampled_from(COPIES), st.sampled_from(["Echo", "Fox"])),
    st.tuples(st.just("sync"), st.sampled_from(COPIES), st.sampled_from(COPIES)),
)
histories = st.tuples(
    # Clock skews: a laptop an hour behind, one a few seconds ahead, one right.
    st.permutations([-HOUR_MS, 0, 4_000]),
    st.lists(st.tuples(ops, st.integers(1, 3_000)), min_size=1, max_size=14),
)


@dataclass
class Edit:
    row: str  # which row (a base customer's index)
    field: str
    value: object
    vector: dict  # vector clock: which edits of each copy it has seen


@dataclass
class Causality:
    """Vector clocks per copy: which edit happened after which, whatever the wall clocks say."""

    vectors: dict = field(default_factory=lambda: {c: dict.fromkeys(COPIES, 0) for c in COPIES})

    def tick(self, copy: str) -> dict:
        self.vectors[copy][copy] += 1
        return dict(self.vectors[copy])

    def sync(self, dst: str, src: str) -> None:
        self.vectors[dst] = {c: max(self.vectors[dst][c], self.vectors[src][c]) for c in COPIES}


def before(a: dict, b: dict) -> bool:
    return a != b and all(a[c] <= b[c] for c in COPIES)


def lost_edits(edits: list[Edit], value_of) -> list[Edit]:
    """Edits a merged state lost: per field, an edit no other edit follows must survive when it
    is the only one (causally later edits win whatever the clocks); among concurrent edits one
    of them must survive."""
    lost = []
    by_field: dict = {}
    for edit in edits:
        by_field.setdefault((edit.row, edit.field), []).append(edit)
    for (row, name), group in by_field.items():
        latest = [e for e in group if not any(before(e.vector, o.vector) for o in group)]
        if value_of(row, name) not in [e.value for e in latest]:
            lost += latest
    return lost


# --- The real thing: three SQLite files ------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("base") / "base.db"
    db = Database.open(str(path), on_create=install_template)
    with db.write() as conn:
        for name in BASE_NAMES:
            add_customer(conn, TODAY, None, name, health=50, tags=["w"])
    return path


class Copies:
    """Three copies of the base file, each with its own machine clock."""

    def __init__(self, base: Path, skews, tmp: Path):
        self.tmp, self.now = tmp, 1_800_000_000_000
        self.paths = {c: tmp / f"{c}.db" for c in COPIES}
        self.skews = dict(zip(COPIES, skews, strict=True))
        for path in self.paths.values():
            shutil.copyfile(base, path)
        self.dbs = {
            c: Database.open(str(p), on_create=install_template) for c, p in self.paths.items()
        }
        with self.dbs["a"].read() as conn:
            self.slugs = list(conn.scalars(select(customers.c.slug).order_by(customers.c.id)))
            self.uuids = list(conn.scalars(select(customers.c.uuid).order_by(customers.c.id)))

    def write(self, copy: str, action) -> bool:
        """Run `action(conn)` in a write transaction of `copy` with that machine's clock."""
        with self.dbs[copy].write() as conn:
            from clm.db import get_meta

            wall = lambda: (self.now + self.skews[copy]) * 1_000_000  # noqa: E731
            conn.info["clm_clock"] = Clock(get_meta(conn, "hlc"), node=f"0000000{copy}", wall=wall)
            try:
                action(conn=conn)
            except ClmError:
                return False
        return True

    def merge(self, dst: Path, src: Path) -> None:
        db = Database.open(str(dst), on_create=install_template)
        with open_copy(src) as other, db.write() as conn:
            merge_copy(conn, other)


def merged(copies: Copies, name: str, *sources: str) -> Path:
    """A new file: the first source (a copy or an earlier result) with the others merged in."""
    path = copies.tmp / f"{name}.db"
    shutil.copyfile(copies.tmp / f"{sources[0]}.db", path)
    for source in sources[1:]:
        copies.merge(path, copies.tmp / f"{source}.db")
    return path


def canonical(path: Path) -> dict:
    """Every merged table's rows as data: keyed by uuid, foreign keys as uuids, no local ids,
    no stamps (a clash resolved by the merge is stamped when it happens)."""
    out = {}
    with open_copy(path) as conn:
        uuids = {}
        for name, table in tables().items():
            if name in NOT_MERGED:
                continue
            rows = []
            for row in conn.execute(select(table)):
                row = row._asdict()
                for column, target in foreign_keys(table).items():
                    if target not in uuids:
                        t = tables()[target]
                        uuids[target] = dict(conn.execute(select(t.c.id, t.c.uuid)).all())
                    if row[column] is not None:
                        row[column] = uuids[target][row[column]]
                for column in ("id", "stamps"):
                    row.pop(column, None)
                rows.append(tuple(sorted(row.items())))
            out[name] = sorted(rows, key=repr)
    return out


def _action(op, slug: str):
    """The domain call of one step (the connection is passed when it runs)."""
    kind = op[0]
    if kind == "edit":
        return partial(edit_customer, today=TODAY, slug=slug, fields={op[3]: op[4]})
    if kind == "tag":
        return partial(edit_customer, today=TODAY, slug=slug, fields={}, add_tags=[op[3]])
    if kind == "remove":
        return partial(remove_customer, slug=slug)
    return partial(add_note, today=TODAY, by=None, slug=slug, text=f"from {op[1]}")


def play(copies: Copies, steps) -> tuple[list[Edit], set[str]]:
    causality, edits, removed = Causality(), [], set()
    for op, advance in steps:
        copies.now += advance
        kind, copy = op[0], op[1]
        if kind == "sync":
            if op[2] != copy:
                copies.merge(copies.paths[copy], copies.paths[op[2]])
                causality.sync(copy, op[2])
            continue
        if kind == "add":
            copies.write(copy, partial(add_customer, today=TODAY, by=None, name=op[2]))
            continue
        slug, row = copies.slugs[op[2]], copies.uuids[op[2]]
        action = _action(op, slug)
        if copies.write(copy, action):
            if kind == "edit":
                edits.append(Edit(row, op[3], op[4], causality.tick(copy)))
            elif kind != "note":
                causality.tick(copy)
            if kind == "remove":
                removed.add(row)
    return edits, removed


def customer_rows(state: dict) -> dict:
    return {dict(row)["uuid"]: dict(row) for row in state["customers"]}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(histories)
def test_merge_is_commutative_associative_idempotent_and_loses_no_edit(base, history):
    skews, steps = history
    # In memory where there is one: each commit would otherwise wait for an fsync.
    with tempfile.TemporaryDirectory(dir=MEMORY if MEMORY.is_dir() else None) as tmp:
        copies = Copies(base, skews, Path(tmp))
        edits, removed = play(copies, steps)
        ab, ba = merged(copies, "ab", "a", "b"), merged(copies, "ba", "b", "a")
        assert canonical(ab) == canonical(ba)  # commutative
        ab_c = merged(copies, "ab_c", "ab", "c")
        merged(copies, "bc", "b", "c")
        a_bc = merged(copies, "a_bc", "a", "bc")
        assert canonical(ab_c) == canonical(a_bc)  # associative
        again = merged(copies, "again", "ab_c", "c", "a", "ab")
        assert canonical(again) == canonical(ab_c)  # idempotent
        final = customer_rows(canonical(ab_c))
        assert lost_edits(edits, lambda row, name: final[row][name]) == []
        assert all(final[row]["deleted_at"] is not None for row in removed)  # deletes kept
        notes = {n for c in COPIES for n in canonical(copies.paths[c])["notes"]}
        assert set(canonical(ab_c)["notes"]) == notes  # history unioned


# --- The reference model: per-field merge holds, whole-row last-writer-wins does not ----------


def model_play(steps, skews, merge) -> tuple[list[Edit], dict]:
    """The same histories on rows as dicts {field: (stamp, value)}, with clm's clock."""
    now = [1_800_000_000_000]
    clocks = {
        c: Clock(node=f"0000000{c}", wall=lambda c=c: (now[0] + skews[c]) * 1_000_000)
        for c in COPIES
    }
    state = {c: {str(i): {} for i in range(3)} for c in COPIES}
    causality, edits = Causality(), []
    for op, advance in steps:
        now[0] += advance
        kind, copy = op[0], op[1]
        if kind == "sync" and op[2] != copy:
            for row in state[copy]:
                state[copy][row] = merge(state[copy][row], state[op[2]][row])
            for fields in state[op[2]].values():
                for stamp, _ in fields.values():
                    clocks[copy].observe(stamp)
            causality.sync(copy, op[2])
        elif kind == "edit":
            state[copy][str(op[2])][op[3]] = (clocks[copy].stamp(), op[4])
            edits.append(Edit(str(op[2]), op[3], op[4], causality.tick(copy)))
    total = {}
    for row in state["a"]:
        total[row] = merge(merge(state["a"][row], state["b"][row]), state["c"][row])
    return edits, total


def per_field(a: dict, b: dict) -> dict:
    return {f: max(x for x in (a.get(f), b.get(f)) if x) for f in {*a, *b}}


def whole_row(a: dict, b: dict) -> dict:
    newest = lambda row: max((s for s, _ in row.values()), default="")  # noqa: E731
    return max(a, b, key=lambda row: (newest(row), repr(sorted(row.items()))))


def model_holds(merge, history) -> bool:
    skews, steps = history
    edits, total = model_play(steps, dict(zip(COPIES, skews, strict=True)), merge)
    return not lost_edits(edits, lambda row, name: total[row].get(name, (None, None))[1])


@settings(max_examples=200, deadline=None)
@given(histories)
def test_the_reference_per_field_merge_loses_no_edit(history):
    assert model_holds(per_field, history)


def test_whole_row_last_writer_wins_loses_edits():
    counterexample = find(histories, lambda h: not model_holds(whole_row, h))
    assert counterexample  # two copies edit different fields of one row: one edit is lost
