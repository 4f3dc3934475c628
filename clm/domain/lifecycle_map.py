"""The lifecycle as a map to draw on a wall: stages in order, every way a customer moves (the
rules, and the paths people take by hand), and each team's role at each stage."""

from dataclasses import dataclass

from sqlalchemy import Connection, select

from clm.lifecycle import PREVIOUS, RENEWAL_STAGE
from clm.storage.tables import customers, milestone_collaborators, milestones, users

# What a team does at a stage, in the order a poster lists them.
OWNS, RECEIVES, HANDS_OFF, COLLABORATES = "owns", "receives", "hands off", "collaborates"
ROLE_ORDER = (OWNS, RECEIVES, HANDS_OFF, COLLABORATES)


@dataclass(frozen=True)
class Move:
    """A way customers go from stages to stages: a rule of the tick (`by_hand` False) or a
    path people take by hand (win, churn, renew, win back). `back` when it returns the
    customer to the stage it came from: `targets` are the stages it may have come from."""

    name: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    how: str  # the conditions, or what the person does
    by_hand: bool = False
    back: bool = False
    enabled: bool = True
    also: str = ""  # what else the rule does: its CTA, its playbook


@dataclass(frozen=True)
class Role:
    kind: str  # OWNS, RECEIVES, HANDS_OFF or COLLABORATES
    detail: str = ""  # the other team, or the milestones collaborated on


@dataclass(frozen=True)
class LifecycleMap:
    stages: list[dict]  # as model_file.read_model has them
    entry_stage: str
    moves: list[Move]
    teams: list[str]
    roles: dict[tuple[str, str], list[Role]]  # (team, stage key) -> its roles there
    churn_reasons: list[str]


def lifecycle_map(conn: Connection, model: dict) -> LifecycleMap:
    """The map of `model` (model_file.read_model's), with the teams clm knows and the
    milestones their members collaborate on."""
    from clm.domain.ownership import known_teams

    moves = [*_rule_moves(model), *_hand_moves(model)]
    teams = known_teams(conn)
    roles = _roles(model["stages"], moves, _collaborations(conn, model))
    return LifecycleMap(
        model["stages"], model["entry_stage"], moves, teams, roles, model["churn_reasons"]
    )


def _arrivals(moves: list[Move], stage: str) -> tuple[str, ...]:
    """The stages a rule moves customers into `stage` from: where "back" may lead."""
    found = [s for move in moves if stage in move.targets for s in move.sources if s != stage]
    return tuple(dict.fromkeys(found))


def _rule_moves(model: dict) -> list[Move]:
    keys = {stage["key"] for stage in model["stages"]}
    moves = []
    for rule in model["rules"]:
        sources = tuple(s for s in rule["from"] if s in keys)
        also = [f"CTA {rule['cta']}" if rule["cta"] else "", rule["playbook"] or ""]
        also = " + ".join(part if i == 0 else f"playbook {part}" for i, part in enumerate(also)
                          if part)  # fmt: skip
        move = Move(
            rule["name"], sources, (rule["to"],) if rule["to"] in keys else (),
            " and ".join(rule["when"]), enabled=rule["enabled"], also=also,
            back=rule["to"] == PREVIOUS,
        )  # fmt: skip
        moves.append(move)
    # A rule back to the previous stage may lead to any stage a rule moves customers in from.
    return [
        Move(m.name, m.sources, _came_from(moves, m.sources), m.how, back=True,
             enabled=m.enabled, also=m.also)
        if m.back else m
        for m in moves
    ]  # fmt: skip


def _came_from(moves: list[Move], stages: tuple[str, ...]) -> tuple[str, ...]:
    found = [s for stage in stages for s in _arrivals(moves, stage) if s not in stages]
    return tuple(dict.fromkeys(found))


def _hand_moves(model: dict) -> list[Move]:
    """Win (reaching the entry stage from before it), churn (into a terminal stage, with a
    reason), renew (`customer renew`: back to the stage the customer came from, never the
    entry stage) and win back (a churned customer, with a new contract)."""
    stages = model["stages"]
    keys = [stage["key"] for stage in stages]
    entry = model["entry_stage"]
    if entry not in keys:
        return []
    at = keys.index(entry)
    # Customers churn into the terminal stages after the entry stage (one before it is where
    # deals are lost, not customers).
    terminal = tuple(s["key"] for s in stages[at:] if s["terminal"])
    terminal = terminal or tuple(s["key"] for s in stages if s["terminal"])
    live = [s["key"] for s in stages[at:] if not s["terminal"]]
    moves = []
    before = tuple(s["key"] for s in stages[:at] if not s["terminal"])
    if before:
        moves.append(Move("win", before, (entry,), "deal won: the contract starts", True))
    if terminal and live:
        moves.append(Move("churn", tuple(live), terminal, "with a churn reason", True))
    if RENEWAL_STAGE in keys:
        # As contracts.stage_after_renewal: where it came from, unless that is the entry stage
        # or before it: then the first stage after the entry stage.
        usable = [s["key"] for s in stages[at + 1 :] if not s["terminal"]]
        usable = [key for key in usable if key != RENEWAL_STAGE]
        came_from = _came_from(_rule_moves(model), (RENEWAL_STAGE,))
        back_to = {key if key in usable else usable[0] for key in came_from if usable}
        back = tuple(key for key in usable if key in back_to)
        if back:
            how = "customer renew: the next term"
            moves.append(Move("renew", (RENEWAL_STAGE,), back, how, True, back=True))
    if terminal:
        moves.append(Move("win back", terminal, (entry,), "a new contract starts", True))
    return moves


def _collaborations(conn: Connection, model: dict) -> dict[tuple[str, str], list[str]]:
    """(team, stage key) -> the titles of the milestones the team's members collaborate on
    that the stage's playbook, or a rule's into it, makes."""
    made_at: dict[str, set[str]] = {}  # playbook -> the stages it runs for
    for stage in model["stages"]:
        if stage["playbook"]:
            made_at.setdefault(stage["playbook"], set()).add(stage["key"])
    for rule in model["rules"]:
        if rule["playbook"] and rule["to"]:
            made_at.setdefault(rule["playbook"], set()).add(rule["to"])
    if not made_at:
        return {}
    query = (
        select(users.c.team, milestones.c.source, milestones.c.title)
        .distinct()
        .select_from(milestone_collaborators)
        .join(users, users.c.id == milestone_collaborators.c.user_id)
        .join(milestones, milestones.c.id == milestone_collaborators.c.milestone_id)
        .join(customers, customers.c.id == milestones.c.customer_id)
        .where(
            users.c.deleted_at.is_(None),
            users.c.team.is_not(None),
            milestones.c.deleted_at.is_(None),
            customers.c.deleted_at.is_(None),
            milestones.c.source.in_([f"playbook:{name}" for name in made_at]),
        )
        .order_by(users.c.team, milestones.c.title)
    )
    found: dict[tuple[str, str], list[str]] = {}
    for team, source, title in conn.execute(query):
        for stage in sorted(made_at[source.removeprefix("playbook:")]):
            titles = found.setdefault((team, stage), [])
            if title not in titles:
                titles.append(title)
    return found


def _roles(
    stages: list[dict], moves: list[Move], collaborations: dict[tuple[str, str], list[str]]
) -> dict[tuple[str, str], list[Role]]:
    """Each team's roles stage by stage: the stages it owns; where a move takes customers from
    one team's stage into another team's, the giver hands off and the taker receives; the
    stage playbooks' milestones its members collaborate on."""
    team_of = {stage["key"]: stage["team"] for stage in stages}
    roles: dict[tuple[str, str], list[Role]] = {}

    def add(team: str, stage: str, role: Role) -> None:
        if role not in roles.setdefault((team, stage), []):
            roles[(team, stage)].append(role)

    for stage in stages:
        if stage["team"]:
            add(stage["team"], stage["key"], Role(OWNS))
    for move in moves:
        for source in move.sources:
            for target in move.targets:
                giver, taker = team_of.get(source), team_of.get(target)
                if giver and taker and giver != taker:
                    add(giver, source, Role(HANDS_OFF, taker))
                    add(taker, target, Role(RECEIVES, giver))
    for (team, stage), titles in collaborations.items():
        add(team, stage, Role(COLLABORATES, ", ".join(titles)))
    for key, found in roles.items():
        roles[key] = sorted(found, key=lambda role: (ROLE_ORDER.index(role.kind), role.detail))
    return roles
