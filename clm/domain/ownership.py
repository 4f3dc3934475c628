"""Ownership as policy: who a customer handed to a team goes to, the teams' assignment
policies, pending handoffs, and the log of owner changes."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from sqlalchemy import Connection, func, select

from clm.db import insert_rows, utcnow
from clm.domain.records import check_handle, new_row, new_uuid, update_row
from clm.errors import Invalid
from clm.storage.tables import customers, owner_changes, stages, team_channels, teams, users

POLICIES = ("default-owner", "round-robin", "least-loaded")
DEFAULT_POLICY = "default-owner"
# Owner changes a person made: after one of these during a renewal, the renewal keeps the owner.
BY_HAND = ("manual", "assign")


def check_policy(policy: str) -> str:
    policy = policy.strip().lower()
    if policy not in POLICIES:
        raise Invalid(f"invalid assignment policy '{policy}': use {', '.join(POLICIES)}")
    return policy


class Pick(NamedTuple):
    """Who a customer handed to `team` goes to: `owner_id` (the previous owner when kept), why
    (`kept`, the policy that chose, or `pending` when the team had nobody to assign)."""

    owner_id: int | None
    why: str
    team: str

    @property
    def pending(self) -> str | None:
        return self.team if self.why == "pending" else None


@dataclass
class _Team:
    policy: str
    members: list[tuple[str, int]]  # (handle, id) of its live members, by handle
    default_owner: int | None
    row: object | None  # its `teams` row, if it has one
    last_assigned: int | None
    loads: dict[int, int] | None = None  # least-loaded: member id -> live customers


class Assigner:
    """Picks owners for a batch of handoffs: the users and policies are read once, round-robin
    goes on from the member assigned last, least-loaded counts each team's live customers once
    (one grouped query) and adds what it assigns. `save` writes where round-robin stopped."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self._teams: dict[str, _Team] = {}
        rows = conn.execute(
            select(users.c.id, users.c.handle, users.c.team, users.c.default_owner)
            .where(users.c.deleted_at.is_(None), users.c.team.is_not(None))
            .order_by(users.c.handle)
        ).all()
        self._members: dict[str, list[tuple[str, int]]] = {}
        self._defaults: dict[str, int] = {}
        for row in rows:
            self._members.setdefault(row.team, []).append((row.handle, row.id))
            if row.default_owner:
                self._defaults[row.team] = row.id
        self._rows = {
            row.name: row for row in conn.execute(select(teams).where(teams.c.deleted_at.is_(None)))
        }

    def team(self, name: str) -> _Team:
        if name not in self._teams:
            row = self._rows.get(name)
            self._teams[name] = _Team(
                row.assign if row is not None else DEFAULT_POLICY,
                self._members.get(name, []),
                self._defaults.get(name),
                row,
                row.last_assigned_id if row is not None else None,
            )
        return self._teams[name]

    def pick(self, team_name: str, owner_id: int | None) -> Pick:
        """The owner of a customer handed to `team_name` from `owner_id`: kept when a live
        member of the team, else the team's policy, else kept with the handoff pending."""
        team = self.team(team_name)
        ids = [member_id for _, member_id in team.members]
        if owner_id is not None and owner_id in ids:
            return Pick(owner_id, "kept", team_name)
        chosen = None
        if team.policy == "round-robin" and ids:
            after = ids.index(team.last_assigned) + 1 if team.last_assigned in ids else 0
            if team.last_assigned is not None and team.last_assigned not in ids:
                # The member assigned last left the team: go on from where their handle stood.
                last = self.conn.scalar(
                    select(users.c.handle).where(users.c.id == team.last_assigned)
                )
                after = sum(1 for handle, _ in team.members if last and handle <= last)
            chosen = ids[after % len(ids)]
            team.last_assigned = chosen
        elif team.policy == "least-loaded" and ids:
            if team.loads is None:
                team.loads = self._loads(ids)
            chosen = min(ids, key=lambda member: (team.loads[member], ids.index(member)))
            team.loads[chosen] += 1
        elif team.policy == DEFAULT_POLICY:
            chosen = team.default_owner
        if chosen is None:
            return Pick(owner_id, "pending", team_name)
        return Pick(chosen, team.policy, team_name)

    def _loads(self, ids: list[int]) -> dict[int, int]:
        """Live customers (not in a terminal stage) of each of `ids`: one grouped query."""
        terminal = select(stages.c.key).where(stages.c.terminal, stages.c.deleted_at.is_(None))
        counted = self.conn.execute(
            select(customers.c.owner_id, func.count())
            .where(
                customers.c.owner_id.in_(ids),
                customers.c.deleted_at.is_(None),
                customers.c.stage.not_in(terminal),
            )
            .group_by(customers.c.owner_id)
        ).all()
        return dict.fromkeys(ids, 0) | dict(counted)

    def save(self) -> None:
        """Remember the member each round-robin team assigned last."""
        for team in self._teams.values():
            if team.row is not None and team.last_assigned != team.row.last_assigned_id:
                update_row(self.conn, teams, team.row, {"last_assigned_id": team.last_assigned})


class OwnerChange(NamedTuple):
    """One row of the owner log (in the order `record_owner_changes` writes the columns)."""

    uuid: str
    customer_id: int
    on: date
    from_owner_id: int | None
    to_owner_id: int | None
    by: str | None
    why: str
    detail: str | None
    created_at: object


def owner_change(customer_id, on, from_id, to_id, by, why, detail=None) -> OwnerChange:
    return OwnerChange(new_uuid(), customer_id, on, from_id, to_id, by, why, detail, utcnow())


def record_owner_changes(conn: Connection, changes: Iterable[OwnerChange]) -> None:
    """Append owner changes to the log, a batch in one statement."""
    changes = list(changes)
    if changes:
        insert_rows(conn, owner_changes, OwnerChange._fields, changes)


# --- teams ---------------------------------------------------------------------------------


def known_teams(conn: Connection) -> list[str]:
    """Every team clm knows of: those of stages, of live users, with a policy or a channel
    (so a channel outliving its team's stages can still be removed)."""
    found = set(conn.scalars(select(stages.c.team).where(stages.c.deleted_at.is_(None))))
    found |= set(conn.scalars(select(users.c.team).where(users.c.deleted_at.is_(None))))
    found |= set(conn.scalars(select(teams.c.name).where(teams.c.deleted_at.is_(None))))
    live = team_channels.c.deleted_at.is_(None) & team_channels.c.webhook.is_not(None)
    found |= set(conn.scalars(select(team_channels.c.team).where(live)))
    return sorted(team for team in found if team)


def get_team(conn: Connection, name: str) -> str:
    """A team's name, checked: one that owns a stage, has a member or a policy."""
    from clm.errors import NotFound, did_you_mean

    name = check_handle(name, "team")
    known = known_teams(conn)
    if name not in known:
        raise NotFound(
            f"no team '{name}'{did_you_mean(name, known)}; teams: {', '.join(known) or 'none'}"
        )
    return name


def team_policies(conn: Connection) -> list[dict]:
    """The teams with a policy row: `name, assign`, by name (what the model file holds)."""
    query = select(teams.c.name, teams.c.assign).where(teams.c.deleted_at.is_(None))
    return [row._asdict() for row in conn.execute(query.order_by(teams.c.name))]


def set_policies(conn: Connection, wanted: list[dict]) -> None:
    """Make the teams' policy rows those of `wanted` (`name, assign`): others are removed."""
    rows = {
        row.name: row for row in conn.execute(select(teams).where(teams.c.deleted_at.is_(None)))
    }
    names = {team["name"] for team in wanted}
    for name, row in rows.items():
        if name not in names:
            update_row(conn, teams, row, {"deleted_at": utcnow()})
    for team in wanted:
        set_policy(conn, team["name"], team["assign"], rows.get(team["name"]))


def set_policy(conn: Connection, name: str, policy: str, row=None) -> str | None:
    """Set a team's assignment policy; the policy it had."""
    policy = check_policy(policy)
    if row is None:
        row = conn.execute(
            select(teams).where(teams.c.name == name, teams.c.deleted_at.is_(None))
        ).first()
    if row is None:
        conn.execute(teams.insert().values(new_row(conn, name=name, assign=policy)))
        return DEFAULT_POLICY
    update_row(conn, teams, row, {"assign": policy} if row.assign != policy else {})
    return row.assign


def team_summary(conn: Connection, name: str) -> dict:
    """A team: its policy, default owner, live members with their live customers, stages."""
    name = get_team(conn, name)
    assigner = Assigner(conn)
    team = assigner.team(name)
    ids = [member_id for _, member_id in team.members]
    loads = assigner._loads(ids) if ids else {}
    handles = dict((member_id, handle) for handle, member_id in team.members)
    owned = conn.scalars(
        select(stages.c.key)
        .where(stages.c.team == name, stages.c.deleted_at.is_(None))
        .order_by(stages.c.position)
    ).all()
    pending = conn.scalar(
        select(func.count()).where(
            customers.c.handoff_pending == name, customers.c.deleted_at.is_(None)
        )
    )
    return {
        "team": name,
        "assign": team.policy,
        "default_owner": handles.get(team.default_owner),
        "members": [{"handle": handles[i], "customers": loads[i]} for i in ids],
        "stages": list(owned),
        "handoffs_pending": pending,
    }


# --- assigning by hand, and after a renewal ------------------------------------------------


def assign_customer(
    conn: Connection, today: date, by: str | None, slug: str, owner: str | None = None
) -> dict:
    """Give a customer an owner: `owner`, or whom its stage's team's policy picks (an owner
    who is a member of that team stays). Ends a pending handoff."""
    from clm.domain.records import get_customer
    from clm.domain.users import get_user
    from clm.errors import Conflict

    customer = get_customer(conn, slug)
    team = conn.scalar(
        select(stages.c.team).where(stages.c.key == customer.stage, stages.c.deleted_at.is_(None))
    )
    if owner is not None:
        owner_id, how = get_user(conn, owner).id, None
    elif not team:
        raise Invalid(
            f"no team owns stage {customer.stage} of '{customer.slug}': pass --owner USER"
        )
    else:
        assigner = Assigner(conn)
        pick = assigner.pick(team, customer.owner_id)
        if pick.why == "pending":
            raise Conflict(
                f"team {team} has nobody to assign ({assigner.team(team).policy}): add a member "
                f"(clm user add HANDLE --team {team}) or pass --owner USER"
            )
        assigner.save()
        owner_id, how = pick.owner_id, pick.why
    handles = dict(conn.execute(select(users.c.id, users.c.handle)).all())
    update_row(conn, customers, customer, {
        key: value
        for key, value in (("owner_id", owner_id), ("handoff_pending", None))
        if getattr(customer, key) != value
    })  # fmt: skip
    if owner_id != customer.owner_id:
        record_owner_changes(
            conn, [owner_change(customer.id, today, customer.owner_id, owner_id, by, "assign", how)]
        )
    return {
        "customer": customer.slug,
        "from_owner": handles.get(customer.owner_id),
        "to_owner": handles.get(owner_id),
        "how": how or "by hand",
        "was_pending": customer.handoff_pending,
    }


def owner_before_renewal(conn: Connection, customer, renewal_stage: str) -> int | None:
    """The live owner `customer` had before it entered `renewal_stage` (its current stay), to
    return the account to after the renewal; the current owner when someone reassigned it by
    hand during the renewal (their choice stands); None when nobody had it or that user is gone
    (the team's policy then picks)."""
    from clm.storage.tables import transitions

    entry = conn.execute(
        select(transitions.c.on, transitions.c.created_at, transitions.c.from_owner_id).where(
            transitions.c.uuid == customer.stay, transitions.c.to_stage == renewal_stage
        )
    ).first()
    if entry is None or entry.from_owner_id is None:
        return None
    reassigned = conn.scalar(
        select(owner_changes.c.id)
        .where(
            owner_changes.c.customer_id == customer.id,
            owner_changes.c.why.in_(BY_HAND),
            owner_changes.c.created_at >= entry.created_at,
        )
        .limit(1)
    )
    live = conn.scalar(
        select(users.c.id).where(users.c.id == entry.from_owner_id, users.c.deleted_at.is_(None))
    )
    return customer.owner_id if reassigned is not None else live
