"""Stage entries: the one way a customer changes stage, with its handoff and its history row."""

import json
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import NamedTuple

from sqlalchemy import Connection, select

from clm.db import clock, insert_rows, update_rows, utcnow
from clm.domain.arr_history import churned as arr_churned
from clm.domain.arr_history import log_arr, reactivated
from clm.domain.churn import Churn, close_out
from clm.domain.contracts import contract_notes, new_contract, win_back
from clm.domain.playbooks import Run, Templates, apply_playbooks
from clm.domain.records import new_uuid
from clm.domain.stages import entry_stage, get_stage
from clm.storage.tables import customers, notes, playbooks, stages, transitions, users


class Lookups:
    """What stage entries look up, read once per transaction instead of once per move: live
    stages, the teams' members and policies (the assigner), user handles, the entry stage, the
    start playbooks and the playbooks' items. Valid while the model does not change (a tick
    never changes it)."""

    def __init__(self, conn: Connection):
        from clm.domain.ownership import Assigner

        self.conn = conn
        self.stages = {
            row.key: row
            for row in conn.execute(select(stages).where(stages.c.deleted_at.is_(None)))
        }
        self.handles = dict(conn.execute(select(users.c.id, users.c.handle)).all())
        self.assigner = Assigner(conn)
        self.templates = Templates(conn)
        self._contract_from: int | None = None
        self._start_playbooks: list[str] | None = None

    def stage(self, key: str):
        """A live stage row; NotFound (with suggestions) when there is none."""
        return self.stages.get(key) or get_stage(self.conn, key)

    def contract_from(self) -> int:
        """The entry stage's position: reaching it from before means the deal is won."""
        if self._contract_from is None:
            self._contract_from = self.stage(entry_stage(self.conn)).position
        return self._contract_from

    def start_playbooks(self) -> list[str]:
        if self._start_playbooks is None:
            self._start_playbooks = list(
                self.conn.scalars(
                    select(playbooks.c.name).where(
                        playbooks.c.on_start, playbooks.c.deleted_at.is_(None)
                    )
                )
            )
        return self._start_playbooks


class StageEntry(NamedTuple):
    """One row of the stage history (in the order `record_entries` writes the columns)."""

    uuid: str  # the entry's key: its playbook run's, and the customer's `stay`
    customer_id: int
    from_stage: str | None
    to_stage: str
    on: date
    by: str | None
    rule: str | None
    reason: str | None
    from_owner_id: int | None
    to_owner_id: int | None
    created_at: datetime


def record_entries(conn: Connection, entries: list[StageEntry]) -> None:
    """Append stage entries to the history, a batch in one statement straight to the driver:
    the one writer of the history for moves, the tick and imports. Append-only: never edited,
    so never stamped."""
    insert_rows(conn, transitions, StageEntry._fields, entries)


def record_transition(conn: Connection, **fields) -> str:
    """Append one stage change to the history (`fields` by column name; the others empty);
    its uuid (the key of the entry's playbook run)."""
    entry = StageEntry(
        **dict.fromkeys(StageEntry._fields) | {"uuid": new_uuid(), "created_at": utcnow()} | fields
    )
    record_entries(conn, [entry])
    return entry.uuid


def stage_runs(
    lookups: Lookups,
    customer,
    stage,
    entry_key: str,
    today: date,
    from_position: int | None = None,
) -> tuple[list[Run], int | None]:
    """The playbooks an entry into `stage` applies (`customer` as it is after the entry): the
    stage's own, once per entry; and for a customer that reaches the entry stage or beyond
    (from before it), who then has a contract, the start playbooks, once (lifecycle phases).
    Also the index of the stage's own run in the list, if any."""
    anchors = {"entry": customer.stage_entered, "start": customer.start,
               "renewal": customer.renewal, "run": today}  # fmt: skip
    runs = []
    contract_from = lookups.contract_from()
    if stage.position >= contract_from and (from_position or 0) < contract_from:
        runs += [
            Run(customer.id, customer.owner_id, name, "start", anchors)
            for name in lookups.start_playbooks()
        ]
    if not stage.playbook:
        return runs, None
    runs.append(Run(customer.id, customer.owner_id, stage.playbook, entry_key, anchors))
    return runs, len(runs) - 1


def run_stage_playbooks(
    conn: Connection,
    customer_id: int,
    stage,
    entry_key: str,
    today: date,
    from_position: int | None = None,
):
    """Apply the playbooks of an entry into `stage` (see `stage_runs`); what the stage's own
    playbook created, or None."""
    customer = conn.execute(select(customers).where(customers.c.id == customer_id)).one()
    runs, own = stage_runs(Lookups(conn), customer, stage, entry_key, today, from_position)
    done = apply_playbooks(conn, runs)
    return done[own] if own is not None else None


@dataclass
class Move:
    """A customer (its row as it is now) entering `to` (a stage row) on `on`."""

    customer: object
    to: object
    on: date
    by: str | None
    rule: str | None = None
    reason: str | None = None
    # The owner it goes to whatever the team's policy (a renewal returns the account), if any.
    owner_id: int | None = None
    owner_why: str | None = None
    playbooks: bool = True  # False: a return (after a renewal) runs no playbook again


@dataclass
class _Entered:
    """A customer row as it is after its move: what its entry's playbooks are anchored on."""

    id: int
    owner_id: int | None
    stage_entered: date
    start: date
    renewal: date | None


def enter_stage(
    conn: Connection,
    customer,
    to_stage,
    on: date,
    by: str | None,
    rule: str | None = None,
    reason: str | None = None,
    owner_id: int | None = None,
    owner_why: str | None = None,
    run_playbooks: bool = True,
) -> dict:
    """Move `customer` into `to_stage` on `on` (see `enter_stages` for its owner). Without
    `run_playbooks`, the entry applies none (a customer returning after its renewal)."""
    move = Move(customer, to_stage, on, by, rule, reason, owner_id, owner_why, run_playbooks)
    return enter_stages(conn, [move])[0][0]


# A move's changes of a customer, in the order `enter_stages` gives them.
SET = (
    "stage", "stage_entered", "stay", "owner_id", "handoff_pending", "start", "renewal",
    "stamps", "updated_at",
)  # fmt: skip


def _changed_columns(changes: list[tuple], written: set[str]) -> tuple[tuple, list[tuple]]:
    """The columns of `changes` (tuples of SET and the id) that some move changes, and the
    tuples cut down to them. A column no move changes holds its value in every row: left out
    of the UPDATE, SQLite does not rewrite the indexes that hold it (on a catch-up tick, which
    hands few customers over and wins no deal, the renewal's and pending handoffs': a fifth
    of the update). The rows keep their order (the audit log's)."""
    kept = [i for i, column in enumerate(SET) if column in written]
    if len(kept) == len(SET):
        return (*SET, "id"), changes
    cut = itemgetter(*kept, len(SET))
    return (*(SET[i] for i in kept), "id"), list(map(cut, changes))


def _new_owner(lookups: Lookups, move: Move, from_team: str | None):
    """The owner and pending handoff after `move`, and why (None: no handoff happened). A stage
    of another team hands the customer over: kept when its owner is a live member of that team,
    else to whom the team's policy picks, else kept with the handoff pending. A stage of no
    team (churned) ends a pending handoff."""
    from clm.domain.ownership import Pick

    customer, to_stage = move.customer, move.to
    if move.owner_id is not None:
        return Pick(move.owner_id, move.owner_why or "manual", to_stage.team), None
    if not to_stage.team:
        return None, None
    if to_stage.team == from_team:
        return None, customer.handoff_pending
    pick = lookups.assigner.pick(to_stage.team, customer.owner_id)
    return pick, pick.pending


def enter_stages(
    conn: Connection, moves: list[Move], lookups: Lookups | None = None, extra_runs=()
) -> tuple[list[dict], list[dict | None]]:
    """Make many moves at once (at most one per customer), in a few statements whatever their
    number: the transitions, the customers' new stage, stay and owner (stamped field by field),
    then every entry's playbooks, with `extra_runs` (a tick's CTA and rule playbooks) applied in
    the same statements. What each move did, and what each of `extra_runs` created."""
    lookups = lookups or Lookups(conn)
    now = utcnow()
    hlc = clock(conn)
    from clm.domain.ownership import owner_change, record_owner_changes

    history, changes, done, owners, dated = [], [], [], [], []
    written = {"stamps", "updated_at"}  # the columns some move changes (see _changed_columns)
    churned, won_back, revenue = [], [], []
    runs = list(extra_runs)
    own_runs: list[int | None] = []
    for move in moves:
        customer, to_stage = move.customer, move.to
        came_from = lookups.stages.get(customer.stage)
        from_team, from_position = (
            (came_from.team, came_from.position) if came_from else (None, None)
        )
        pick, pending = _new_owner(lookups, move, from_team)
        owner_id = pick.owner_id if pick else customer.owner_id
        entry_key = new_uuid()
        if pick is not None and (owner_id != customer.owner_id or pick.why == "pending"):
            why, detail = ("handoff", pick.why) if move.owner_id is None else (pick.why, None)
            if pick.why == "pending":
                why, detail = "handoff pending", f"team {to_stage.team} has nobody to assign"
            owners.append(
                owner_change(
                    customer.id, move.on, customer.owner_id, owner_id, move.by, why, detail
                )
            )
        was_terminal = came_from is not None and came_from.terminal
        if to_stage.terminal and not was_terminal:
            churned.append(Churn(customer, to_stage.key, move.on, move.by, move.reason))
        elif was_terminal and not to_stage.terminal:
            won_back.append((customer.id, move.on, move.by, entry_key))
            revenue.append(reactivated(customer.id, move.on, customer.arr))
        history.append(
            StageEntry(
                entry_key, customer.id, customer.stage, to_stage.key, move.on, move.by,
                move.rule, move.reason, customer.owner_id, owner_id, now,
            )
        )  # fmt: skip
        changed = ["stage", "stage_entered", "stay"]
        if owner_id != customer.owner_id:
            changed.append("owner_id")
        if pending != customer.handoff_pending:
            changed.append("handoff_pending")
        start, renewal = customer.start, customer.renewal
        contract_from = lookups.contract_from()
        if from_position is not None and from_position < contract_from <= to_stage.position:
            # The deal is won: it reaches the entry stage from before it.
            won = new_contract(customer, move.on, lookups.templates.days_off, keep_renewal=True)
            start, renewal = won
            changed += [f for f, v in won._asdict().items() if v != getattr(customer, f)]
            dated += contract_notes(conn, customer, move.on, move.by, won, "the deal is won")
        written.update(changed)
        stamps = json.loads(customer.stamps)
        stamps.update(dict.fromkeys(changed, hlc.stamp()))
        changes.append(
            (
                to_stage.key, move.on, entry_key, owner_id, pending, start, renewal,
                json.dumps(stamps, sort_keys=True), now, customer.id,
            )
        )  # fmt: skip
        entered = _Entered(customer.id, owner_id, move.on, start, renewal)
        mine, own = [], None
        if move.playbooks:
            mine, own = stage_runs(lookups, entered, to_stage, entry_key, move.on, from_position)
        own_runs.append(None if own is None else len(runs) + own)
        runs += mine
        done.append(
            {
                "customer": customer.slug,
                "from": customer.stage,
                "to": to_stage.key,
                "on": move.on,
                "team": to_stage.team,
                "from_owner": lookups.handles.get(customer.owner_id),
                "to_owner": lookups.handles.get(owner_id),
                "handoff": owner_id != customer.owner_id,
                "pending": pick.pending if pick is not None else None,
                "assigned_by": pick.why if pick is not None else None,
            }
        )
    if history:
        record_entries(conn, history)
        update_rows(conn, customers, *_changed_columns(changes, written))
        record_owner_changes(conn, owners)
        lookups.assigner.save()
    # Before the entries' playbooks: a terminal stage's own (an exit interview) is new work.
    close_out(conn, churned)
    revenue += [arr_churned(c.customer.id, c.on, c.customer.arr) for c in churned]
    log_arr(conn, revenue)
    if dated:
        conn.execute(notes.insert(), dated)
    applied = apply_playbooks(conn, runs, lookups.templates)
    for customer_id, on, by, entry_key in won_back:
        win_back(conn, customer_id, on, by, entry_key)
    for record, own in zip(done, own_runs, strict=True):
        record["playbook"] = applied[own] if own is not None else None
    return done, applied[: len(extra_runs)]
