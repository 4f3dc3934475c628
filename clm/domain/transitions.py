"""Stage entries: the one way a customer changes stage, with its handoff and its history row."""

from datetime import date

from sqlalchemy import Connection, select

from clm.domain.playbooks import apply_playbook
from clm.domain.records import new_row, update_row
from clm.domain.stages import entry_stage, get_stage
from clm.domain.users import default_owner
from clm.models import customers, playbooks, stages, transitions, users


def record_transition(conn: Connection, **fields) -> str:
    """Append a stage change to the history; its uuid (the key of the entry's playbook run)."""
    row = new_row(conn, **fields)
    del row["stamps"], row["updated_at"]  # history is append-only: never edited, never stamped
    conn.execute(transitions.insert().values(row))
    return row["uuid"]


def run_stage_playbooks(
    conn: Connection,
    customer_id: int,
    stage,
    entry_key: str,
    today: date,
    from_position: int | None = None,
):
    """Apply the stage's playbook for this entry (once per entry). A customer that reaches
    the entry stage or beyond (from before it) has a contract: it also gets the start
    playbooks, once (lifecycle phases)."""
    customer = conn.execute(select(customers).where(customers.c.id == customer_id)).one()
    anchors = {"entry": customer.stage_entered, "start": customer.start,
               "renewal": customer.renewal, "run": today}  # fmt: skip
    contract_from = get_stage(conn, entry_stage(conn)).position
    if stage.position >= contract_from and (from_position or 0) < contract_from:
        for name in conn.scalars(
            select(playbooks.c.name).where(playbooks.c.on_start, playbooks.c.deleted_at.is_(None))
        ):
            apply_playbook(conn, customer, name, "start", anchors)
    if stage.playbook:
        return apply_playbook(conn, customer, stage.playbook, entry_key, anchors)
    return None


def enter_stage(
    conn: Connection,
    customer,
    to_stage,
    on: date,
    by: str | None,
    rule: str | None = None,
    reason: str | None = None,
) -> dict:
    """Move `customer` into `to_stage` on `on`; a stage of another team hands the customer to
    that team's default owner, or leaves it unowned when the team has none."""
    from_team, from_position = conn.execute(
        select(stages.c.team, stages.c.position).where(
            stages.c.key == customer.stage, stages.c.deleted_at.is_(None)
        )
    ).first() or (None, None)
    owner_id = customer.owner_id
    if to_stage.team and to_stage.team != from_team:
        new_owner = default_owner(conn, to_stage.team)
        owner_id = new_owner.id if new_owner else None
    entry_key = record_transition(
        conn,
        customer_id=customer.id,
        from_stage=customer.stage,
        to_stage=to_stage.key,
        on=on,
        by=by,
        rule=rule,
        reason=reason,
        from_owner_id=customer.owner_id,
        to_owner_id=owner_id,
    )
    update_row(
        conn,
        customers,
        customer,
        {"stage": to_stage.key, "stage_entered": on, "stay": entry_key}
        | ({"owner_id": owner_id} if owner_id != customer.owner_id else {}),
    )
    handles = dict(
        conn.execute(
            select(users.c.id, users.c.handle).where(
                users.c.id.in_([i for i in (customer.owner_id, owner_id) if i is not None])
            )
        ).all()
    )
    return {
        "customer": customer.slug,
        "from": customer.stage,
        "to": to_stage.key,
        "on": on,
        "team": to_stage.team,
        "from_owner": handles.get(customer.owner_id),
        "to_owner": handles.get(owner_id),
        "handoff": owner_id != customer.owner_id,
        "playbook": run_stage_playbooks(conn, customer.id, to_stage, entry_key, on, from_position),
    }
