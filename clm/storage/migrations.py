"""Named, append-only schema migrations. Never edit one once released; add a new one.

A new database gets the current schema from the models and records every migration as
applied; an existing one runs the migrations it has not seen, each in its own transaction.
Each migration spells out its own tables (not the models, which move on) and comes with a
dump of a database of its schema in tests/fixtures/.
"""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    text,
    update,
)

from clm.storage.dialect import random_uuid


def _initial(conn: Connection) -> None:
    """0.1.0: users, stages, customers with tags and influencers, transitions, notes.

    Only ever the baseline of a new database, which the models create whole.
    """


def _record_columns() -> list[Column]:
    return [
        Column("id", Integer, primary_key=True),
        Column("uuid", String(36), nullable=False, unique=True),
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        Column("deleted_at", DateTime),
        Column("stamps", String, nullable=False),
    ]


def _partial(name: str, *columns: str, where: str = "deleted_at IS NULL") -> Index:
    return Index(
        name, *columns, unique=True, sqlite_where=text(where), postgresql_where=text(where)
    )


def _milestones_tasks_ctas_playbooks(conn: Connection) -> None:
    """Milestones with reminders, recurrence and collaborators; the reminder log; CTAs; tasks;
    playbooks and their runs; holidays; notes on a milestone; the default playbooks."""
    md = MetaData()
    user = ForeignKey("users.id")
    Table("customers", md, Column("id", Integer, primary_key=True))
    Table("users", md, Column("id", Integer, primary_key=True))
    Table("holidays", md, Column("day", Date, primary_key=True), Column("name", String))
    Table(
        "milestones",
        md,
        *_record_columns(),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
        Column("title", String, nullable=False),
        Column("due", Date, nullable=False),
        Column("status", String(16), nullable=False),
        Column("every", String),
        Column("series", String(36), nullable=False),
        Column("occurrence", Integer, nullable=False),
        Column("anchor", Date, nullable=False),
        Column("pinned", Boolean, nullable=False),
        Column("blocked_reason", String),
        Column("done_on", Date),
        Column("source", String),
        Index("ix_milestones_status_due", "status", "due"),
        _partial("uq_milestones_occurrence", "series", "occurrence"),
    )
    Table(
        "milestone_reminders",
        md,
        Column("milestone_id", Integer, ForeignKey("milestones.id"), primary_key=True),
        Column("offset", String(16), primary_key=True),
        Column("remind_on", Date, nullable=False, index=True),
    )
    Table(
        "milestone_collaborators",
        md,
        Column("milestone_id", Integer, ForeignKey("milestones.id"), primary_key=True),
        Column("user_id", Integer, user, primary_key=True, index=True),
    )
    Table(
        "reminder_log",
        md,
        Column("id", Integer, primary_key=True),
        Column("uuid", String(36), nullable=False, unique=True),
        Column("milestone_uuid", String(36), nullable=False),
        Column("offset", String(16), nullable=False),
        Column("remind_on", Date, nullable=False),
        Column("fired_on", Date, nullable=False),
        Column("recipients", String, nullable=False),
        Column("created_at", DateTime, nullable=False),
        Index("uq_reminder_log", "milestone_uuid", "offset", unique=True),
    )
    Table(
        "ctas",
        md,
        *_record_columns(),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
        Column("type", String(16), nullable=False),
        Column("reason", String, nullable=False),
        Column("priority", String(8), nullable=False),
        Column("status", String(16), nullable=False),
        Column("owner_id", Integer, ForeignKey("users.id"), index=True),
        Column("due", Date),
        Column("snoozed_until", Date),
        Column("outcome", String),
        Column("closed_on", Date),
        Column("source", String),
        _partial(
            "uq_ctas_open",
            "customer_id",
            "type",
            "reason",
            where="status = 'open' AND deleted_at IS NULL",
        ),
        Index("ix_ctas_status_due", "status", "due"),
    )
    Table(
        "tasks",
        md,
        *_record_columns(),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
        Column("title", String, nullable=False),
        Column("due", Date),
        Column("status", String(16), nullable=False),
        Column("assignee_id", Integer, ForeignKey("users.id"), index=True),
        Column("milestone_id", Integer, ForeignKey("milestones.id"), index=True),
        Column("cta_id", Integer, ForeignKey("ctas.id"), index=True),
        Column("done_on", Date),
        Column("source", String),
        Index("ix_tasks_status_due", "status", "due"),
    )
    playbooks = Table(
        "playbooks",
        md,
        *_record_columns(),
        Column("name", String(64), nullable=False),
        Column("description", String),
        Column("on_start", Boolean, nullable=False),
        _partial("uq_playbooks_name", "name"),
    )
    items = Table(
        "playbook_items",
        md,
        *_record_columns(),
        Column("playbook_id", Integer, ForeignKey("playbooks.id"), nullable=False, index=True),
        Column("position", Integer, nullable=False),
        Column("kind", String(16), nullable=False),
        Column("title", String, nullable=False),
        Column("anchor", String(16), nullable=False),
        Column("offset", String, nullable=False),
        Column("remind", String, nullable=False),
        Column("every", String),
        Column("milestone", String),
    )
    Table(
        "playbook_runs",
        md,
        Column("id", Integer, primary_key=True),
        Column("uuid", String(36), nullable=False, unique=True),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("playbook", String(64), nullable=False),
        Column("run_key", String(64), nullable=False),
        Column("anchor_day", Date, nullable=False),
        Column("created_at", DateTime, nullable=False),
        Index("uq_playbook_runs", "customer_id", "playbook", "run_key", unique=True),
    )
    md.create_all(
        conn, tables=[t for t in md.sorted_tables if t.name not in ("customers", "users")]
    )
    conn.execute(
        text("ALTER TABLE notes ADD COLUMN milestone_id INTEGER REFERENCES milestones (id)")
    )
    Index(
        "ix_notes_milestone_id", Table("notes", md, Column("milestone_id", Integer)).c.milestone_id
    ).create(conn)
    _seed_default_playbooks(conn, playbooks, items)


def _seed_default_playbooks(conn: Connection, playbooks: Table, items: Table) -> None:
    from clm.lifecycle import PLAYBOOKS, TEMPLATES

    now = datetime.now(UTC)
    stamps = json.dumps({"*": f"{int(now.timestamp() * 1000):013d}-0000-00000000"})

    def record(**fields) -> dict:
        return {
            "uuid": str(uuid.uuid4()),
            "created_at": now,
            "updated_at": now,
            "stamps": stamps,
        } | fields

    for spec in PLAYBOOKS:
        playbook_id = conn.execute(
            playbooks.insert().values(
                record(name=spec.name, description=spec.description, on_start=spec.on_start)
            )
        ).inserted_primary_key[0]
        conn.execute(
            items.insert(),
            [
                record(
                    playbook_id=playbook_id,
                    position=i,
                    kind=item.kind,
                    title=item.title,
                    anchor=item.anchor,
                    offset=item.offset,
                    remind=";".join(item.remind),
                    every=item.every,
                    milestone=item.milestone,
                )
                for i, item in enumerate(spec.items, start=1)
            ],
        )
    stages = Table("stages", MetaData(), Column("key", String), Column("playbook", String))
    for stage in TEMPLATES["default"].stages:
        if stage.playbook:
            conn.execute(
                update(stages)
                .where(stages.c.key == stage.key, stages.c.playbook.is_(None))
                .values(playbook=stage.playbook)
            )


def _rules(conn: Connection) -> None:
    """Transition rules and their firings (once per customer per stay); each customer's
    current stay; the default rules where the default lifecycle's stages exist."""
    md = MetaData()
    Table("customers", md, Column("id", Integer, primary_key=True))
    rules = Table(
        "rules",
        md,
        *_record_columns(),
        Column("name", String(64), nullable=False),
        Column("position", Integer, nullable=False),
        Column("from_stages", String, nullable=False),
        Column("to_stage", String),
        Column("conditions", String, nullable=False),
        Column("cta", String),
        Column("playbook", String),
        Column("enabled", Boolean, nullable=False),
        _partial("uq_rules_name", "name"),
    )
    Table(
        "rule_firings",
        md,
        Column("id", Integer, primary_key=True),
        Column("uuid", String(36), nullable=False, unique=True),
        Column("rule", String(64), nullable=False),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("stay", String(36), nullable=False),
        Column("fired_on", Date, nullable=False),
        Column("created_at", DateTime, nullable=False),
        Index("uq_rule_firings", "rule", "customer_id", "stay", unique=True),
    )
    md.create_all(conn, tables=[rules, md.tables["rule_firings"]])
    conn.execute(text("ALTER TABLE customers ADD COLUMN stay VARCHAR(36)"))
    customers = Table("customers", MetaData(), Column("id", Integer), Column("stay", String))
    transitions = Table(
        "transitions", MetaData(), Column("id", Integer), Column("uuid", String),
        Column("customer_id", Integer), Column("on", Date),
    )  # fmt: skip
    latest = (
        select(transitions.c.uuid)
        .where(transitions.c.customer_id == customers.c.id)
        .order_by(transitions.c.on.desc(), transitions.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    conn.execute(update(customers).values(stay=latest))
    indexed = Table(
        "customers", MetaData(), Column("stage", String), Column("renewal", Date),
        Column("health", Integer), Column("lead_score", Integer),
    )  # fmt: skip
    for column in ("renewal", "health", "lead_score"):
        Index(f"ix_customers_stage_{column}", indexed.c.stage, indexed.c[column]).create(conn)
    _seed_default_rules(conn, rules)
    conn.execute(
        text("ALTER TABLE milestone_reminders ADD COLUMN pending BOOLEAN NOT NULL DEFAULT TRUE")
    )
    reminders = Table(
        "milestone_reminders", MetaData(), Column("milestone_id", Integer),
        Column("offset", String), Column("remind_on", Date), Column("pending", Boolean),
    )  # fmt: skip
    milestones = Table(
        "milestones", MetaData(), Column("id", Integer), Column("uuid", String),
        Column("status", String), Column("deleted_at", DateTime),
    )  # fmt: skip
    log = Table(
        "reminder_log", MetaData(), Column("milestone_uuid", String), Column("offset", String)
    )
    fired = select(log.c.milestone_uuid).where(
        log.c.milestone_uuid == milestones.c.uuid, log.c.offset == reminders.c.offset
    )
    settled = select(milestones.c.id).where(
        milestones.c.id == reminders.c.milestone_id,
        (milestones.c.status.in_(("done", "cancelled")) | milestones.c.deleted_at.is_not(None))
        | fired.exists(),
    )
    conn.execute(update(reminders).where(settled.exists()).values(pending=False))
    Index(
        "ix_milestone_reminders_pending",
        reminders.c.remind_on,
        sqlite_where=text("pending"),
        postgresql_where=text("pending"),
    ).create(conn)


def _seed_default_rules(conn: Connection, rules: Table) -> None:
    from clm.lifecycle import RULES

    stages = Table("stages", MetaData(), Column("key", String), Column("deleted_at", DateTime))
    keys = set(conn.scalars(select(stages.c.key).where(stages.c.deleted_at.is_(None))))
    now = datetime.now(UTC)
    stamps = json.dumps({"*": f"{int(now.timestamp() * 1000):013d}-0000-00000000"})
    rows = [
        {"uuid": str(uuid.uuid4()), "created_at": now, "updated_at": now, "stamps": stamps,
         "name": spec.name, "position": position, "from_stages": ";".join(spec.from_stages),
         "to_stage": spec.to, "conditions": json.dumps(list(spec.when)), "cta": spec.cta,
         "playbook": spec.playbook, "enabled": True}
        for position, spec in enumerate(RULES, start=1)
        if keys.issuperset(spec.from_stages) and (spec.to is None or spec.to in keys)
    ]  # fmt: skip
    if rows:
        conn.execute(rules.insert(), rows)


def _health_history(conn: Connection) -> None:
    """Health over time: an append-only log, begun with each customer's health as it is now,
    from the day it was last set. The transitions' index covers the stage, so reports read a
    customer's stays from the index alone."""
    transitions = Table(
        "transitions", MetaData(), Column("id", Integer), Column("customer_id", Integer),
        Column("on", Date), Column("to_stage", String),
    )  # fmt: skip
    conn.execute(text("DROP INDEX ix_transitions_customer_on"))
    Index(
        "ix_transitions_stays",
        transitions.c.customer_id, transitions.c.on, transitions.c.id, transitions.c.to_stage,
    ).create(conn)  # fmt: skip
    md = MetaData()
    Table("customers", md, Column("id", Integer, primary_key=True))
    log = Table(
        "health_log",
        md,
        Column("id", Integer, primary_key=True),
        Column("uuid", String(36), nullable=False, unique=True),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("on", Date, nullable=False),
        Column("health", Integer, nullable=False),
        Column("created_at", DateTime, nullable=False),
        Index("ix_health_log_customer_on", "customer_id", "on"),
    )
    log.create(conn)
    customers = Table(
        "customers", MetaData(), Column("id", Integer), Column("health", Integer),
        Column("health_on", Date), Column("start", Date),
    )  # fmt: skip
    query = select(customers.c.id, customers.c.health, customers.c.health_on, customers.c.start)
    now = datetime.now(UTC)
    rows = [
        {"uuid": str(uuid.uuid4()), "customer_id": row.id, "on": row.health_on or row.start,
         "health": row.health, "created_at": now}
        for row in conn.execute(query.where(customers.c.health.is_not(None)))
    ]  # fmt: skip
    if rows:
        conn.execute(log.insert(), rows)


def _pending_reminders_covered(conn: Connection) -> None:
    """The index of pending reminders carries their milestone and offset: the tick finds the
    reminders due, and their milestones' collaborators, in the index alone instead of reading
    each reminder's row (a page each, scattered over a large book's reminders). A server also
    gets statistics of pending and remind_on together (see `clm.db.server_statistics`)."""
    reminders = Table(
        "milestone_reminders", MetaData(), Column("milestone_id", Integer),
        Column("offset", String), Column("remind_on", Date), Column("pending", Boolean),
    )  # fmt: skip
    conn.execute(text("DROP INDEX ix_milestone_reminders_pending"))
    pending = text("pending")
    Index(
        "ix_milestone_reminders_pending",
        reminders.c.remind_on, reminders.c.milestone_id, reminders.c.offset,
        sqlite_where=pending, postgresql_where=pending,
    ).create(conn)  # fmt: skip
    from clm.storage.statistics import server_statistics  # (it imports this module)

    server_statistics(conn, analyze=True)


def _steady_tick(conn: Connection) -> None:
    """What the daily tick reads and writes, cut down. Reminders are kept in day order (the
    primary key leads with the day; on SQLite the table is that key's b-tree): the reminders
    a tick fires lie side by side, so marking them fired writes a few pages instead of one
    each; the day index is then the key's own. `milestone_done:TITLE` rules find a customer's
    live done milestones of a title in their own partial index, not among all its milestones;
    the lead-score index holds only customers that have a score, so moving the others (the
    tick's daily moves) leaves it alone."""
    md = MetaData()
    Table("milestones", md, Column("id", Integer, primary_key=True))
    columns = ("milestone_id", "offset", "remind_on", "pending")
    reminders = Table(
        "milestone_reminders_0006",
        md,
        Column("milestone_id", Integer, ForeignKey("milestones.id"), nullable=False),
        Column("offset", String(16), nullable=False),
        Column("remind_on", Date, nullable=False),
        Column("pending", Boolean, nullable=False),
        PrimaryKeyConstraint("remind_on", "milestone_id", "offset", name="pk_milestone_reminders"),
        UniqueConstraint("milestone_id", "offset", name="uq_milestone_reminders"),
        sqlite_with_rowid=False,
    )
    reminders.create(conn)
    listed = ", ".join(f'"{c}"' for c in columns)
    conn.execute(
        text(
            f"INSERT INTO milestone_reminders_0006 ({listed}) SELECT {listed} "
            'FROM milestone_reminders ORDER BY remind_on, milestone_id, "offset"'
        )
    )
    conn.execute(text("DROP TABLE milestone_reminders"))  # with its indexes
    conn.execute(text("ALTER TABLE milestone_reminders_0006 RENAME TO milestone_reminders"))
    renamed = Table(
        "milestone_reminders", MetaData(), Column("milestone_id", Integer),
        Column("offset", String), Column("remind_on", Date),
    )  # fmt: skip
    pending = text("pending")
    Index(
        "ix_milestone_reminders_pending",
        renamed.c.remind_on, renamed.c.milestone_id, renamed.c.offset,
        sqlite_where=pending, postgresql_where=pending,
    ).create(conn)  # fmt: skip
    milestones = Table(
        "milestones", MetaData(), Column("customer_id", Integer), Column("title", String),
    )  # fmt: skip
    done = text("status = 'done' AND deleted_at IS NULL")
    Index(
        "ix_milestones_done", milestones.c.customer_id, milestones.c.title,
        sqlite_where=done, postgresql_where=done,
    ).create(conn)  # fmt: skip
    customers = Table(
        "customers", MetaData(), Column("stage", String), Column("lead_score", Integer),
    )  # fmt: skip
    conn.execute(text("DROP INDEX ix_customers_stage_lead_score"))
    scored = text("lead_score IS NOT NULL")
    Index(
        "ix_customers_stage_lead_score", customers.c.stage, customers.c.lead_score,
        sqlite_where=scored, postgresql_where=scored,
    ).create(conn)  # fmt: skip
    from clm.storage.statistics import (  # (it imports this module)
        refresh_table_statistics,
        server_statistics,
    )

    server_statistics(conn)  # the dropped table took its statistics object along
    refresh_table_statistics(conn, "milestone_reminders", "milestones", "customers")


def _holiday_tombstones(conn: Connection) -> None:
    """Holidays become rows like the others (id, uuid, times, stamps and a tombstone), so a
    holiday removed in one copy stays removed when another copy that still has it is merged.
    A holiday's uuid comes from the database's lineage and its day: copies of one file that
    upgrade apart give the same holiday the same uuid."""
    old = Table("holidays", MetaData(), Column("day", Date), Column("name", String))
    rows = conn.execute(select(old.c.day, old.c.name)).all()
    old.drop(conn)
    holidays = Table(
        "holidays",
        MetaData(),
        *_record_columns(),
        Column("day", Date, nullable=False),
        Column("name", String),
        _partial("uq_holidays_day", "day"),
    )
    holidays.create(conn)
    meta = Table("clm_meta", MetaData(), Column("key", String), Column("value", String))
    lineage = conn.scalar(select(meta.c.value).where(meta.c.key == "lineage")) or ""
    now = datetime.now(UTC)
    created = json.dumps({"*": "0000000000000-0000-00000000"})  # older than any edit
    if rows:
        conn.execute(
            holidays.insert(),
            [
                {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"clm:{lineage}:holiday:{day}")),
                 "created_at": now, "updated_at": now, "stamps": created, "day": day,
                 "name": name}
                for day, name in rows
            ],
        )  # fmt: skip


def _ownership_policy(conn: Connection) -> None:
    """Ownership as policy: teams with an assignment policy, a customer's pending handoff, the
    day a CTA was opened, and an append-only log of owner changes (begun with the handoffs the
    stage history holds)."""
    md = MetaData()
    Table("users", md, Column("id", Integer, primary_key=True))
    Table("customers", md, Column("id", Integer, primary_key=True))
    user = ForeignKey("users.id")
    Table(
        "teams",
        md,
        *_record_columns(),
        Column("name", String(64), nullable=False),
        Column("assign", String(16), nullable=False),
        Column("last_assigned_id", Integer, user),
        _partial("uq_teams_name", "name"),
    )
    log = Table(
        "owner_changes",
        md,
        Column("id", Integer, primary_key=True),
        Column("uuid", String(36), nullable=False, unique=True),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("on", Date, nullable=False),
        Column("from_owner_id", Integer, ForeignKey("users.id")),
        Column("to_owner_id", Integer, ForeignKey("users.id")),
        Column("by", String),
        Column("why", String(32), nullable=False),
        Column("detail", String),
        Column("created_at", DateTime, nullable=False),
        Index("ix_owner_changes_customer", "customer_id", "on"),
    )
    md.create_all(conn, tables=[md.tables["teams"], log])
    conn.execute(text("ALTER TABLE customers ADD COLUMN handoff_pending VARCHAR(64)"))
    conn.execute(text("ALTER TABLE ctas ADD COLUMN opened_on DATE"))
    ctas = Table(
        "ctas", MetaData(), Column("id", Integer), Column("created_at", DateTime),
        Column("opened_on", Date),
    )  # fmt: skip
    opened = [
        {"cta": row.id, "day": row.created_at.date()}
        for row in conn.execute(select(ctas.c.id, ctas.c.created_at))
    ]
    if opened:
        from sqlalchemy import bindparam

        conn.execute(
            update(ctas).where(ctas.c.id == bindparam("cta")).values(opened_on=bindparam("day")),
            opened,
        )
    transitions = Table(
        "transitions", MetaData(), Column("customer_id", Integer), Column("on", Date),
        Column("by", String), Column("rule", String), Column("from_stage", String),
        Column("from_owner_id", Integer),
        Column("to_owner_id", Integer), Column("created_at", DateTime),
    )  # fmt: skip
    moved = conn.execute(
        select(transitions).where(
            transitions.c.from_stage.is_not(None),
            transitions.c.from_owner_id.is_distinct_from(transitions.c.to_owner_id),
        )
    ).all()
    if moved:
        conn.execute(
            log.insert(),
            [
                {"uuid": str(uuid.uuid4()), "customer_id": row.customer_id, "on": row.on,
                 "from_owner_id": row.from_owner_id, "to_owner_id": row.to_owner_id,
                 "by": f"rule:{row.rule}" if row.rule else row.by,
                 "why": "handoff", "detail": None, "created_at": row.created_at}
                for row in moved
            ],
        )  # fmt: skip


def _notifications(conn: Connection) -> None:
    """Notifications: each user's channel (email, webhook or none), daily or immediate, and
    webhook URL; the outbox of messages to send, one per user, day and kind."""
    for column, kind in (
        ("notify", "VARCHAR(16) NOT NULL DEFAULT 'none'"),
        ("digest", "VARCHAR(16) NOT NULL DEFAULT 'daily'"),
        ("webhook", "VARCHAR"),
    ):
        conn.execute(text(f"ALTER TABLE users ADD COLUMN {column} {kind}"))
    md = MetaData()
    Table("users", md, Column("id", Integer, primary_key=True))
    Table(
        "outbox",
        md,
        Column("id", Integer, primary_key=True),
        Column("uuid", String(36), nullable=False, unique=True),
        Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
        Column("day", Date, nullable=False),
        Column("kind", String(64), nullable=False),
        Column("payload", String, nullable=False),
        Column("state", String(16), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("next_try_at", DateTime(timezone=True)),
        Column("channel", String(16)),
        Column("error", String),
        Column("sent_at", DateTime(timezone=True)),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Index("uq_outbox", "user_id", "day", "kind", unique=True),
        Index("ix_outbox_state", "state", "next_try_at"),
    ).create(conn)


def _rule_churn_reason(conn: Connection) -> None:
    """A rule that moves customers into a terminal stage carries its own churn reason; those
    that did so before record what the tick recorded for them: `other`."""
    conn.execute(text("ALTER TABLE rules ADD COLUMN churn_reason VARCHAR"))
    rules = Table(
        "rules", MetaData(), Column("to_stage", String), Column("churn_reason", String),
        Column("deleted_at", DateTime),
    )  # fmt: skip
    stages = Table(
        "stages", MetaData(), Column("key", String), Column("terminal", Boolean),
        Column("deleted_at", DateTime),
    )  # fmt: skip
    terminal = select(stages.c.key).where(stages.c.terminal, stages.c.deleted_at.is_(None))
    conn.execute(
        update(rules)
        .where(rules.c.to_stage.in_(terminal), rules.c.deleted_at.is_(None))
        .values(churn_reason="other")
    )


# The default model's lifecycle phases as books made before phases existed hold them: open
# milestone items anchored on the start. Spelled out here (not read from clm.lifecycle) so the
# migration stays what it was released as.
OLD_PHASE_TITLES = ("Introduction", "Adoption", "Retention")


def _phase_items(conn: Connection) -> None:
    """Old books' lifecycle phases become phase items: a playbook's start-anchored, one-off
    milestone items titled as the default model's phases turn into `phase` items, and the open
    milestones those items made (untouched since: not pinned, no live task under them) are
    removed, their reminders settled. Phases are computed from the item from now on (see
    clm.domain.phases), so a customer shows them as passed or ahead, never overdue. The user's
    own milestones (added by hand, another title, or worked on) are left as they are."""
    now = datetime.now(UTC)
    md = MetaData()
    playbooks = Table(
        "playbooks", md, Column("id", Integer), Column("name", String),
        Column("deleted_at", DateTime),
    )  # fmt: skip
    items = Table(
        "playbook_items", md, Column("playbook_id", Integer), Column("kind", String),
        Column("title", String), Column("anchor", String), Column("every", String),
        Column("remind", String), Column("deleted_at", DateTime), Column("updated_at", DateTime),
    )  # fmt: skip
    milestones = Table(
        "milestones", md, Column("id", Integer), Column("title", String),
        Column("status", String), Column("pinned", Boolean), Column("source", String),
        Column("deleted_at", DateTime), Column("updated_at", DateTime),
    )  # fmt: skip
    tasks = Table(
        "tasks", md, Column("milestone_id", Integer), Column("deleted_at", DateTime)
    )  # fmt: skip
    reminders = Table(
        "milestone_reminders", md, Column("milestone_id", Integer), Column("pending", Boolean)
    )  # fmt: skip
    phase_like = (
        (items.c.kind == "milestone")
        & (items.c.anchor == "start")
        & items.c.every.is_(None)
        & items.c.title.in_(OLD_PHASE_TITLES)
        & items.c.deleted_at.is_(None)
    )
    made_by_phase_item = (
        select(items.c.title)
        .join(playbooks, playbooks.c.id == items.c.playbook_id)
        .where(
            phase_like,
            playbooks.c.deleted_at.is_(None),
            items.c.title == milestones.c.title,
            milestones.c.source == "playbook:" + playbooks.c.name,
        )
        .exists()
    )
    worked_on = (
        select(tasks.c.milestone_id)
        .where(tasks.c.milestone_id == milestones.c.id, tasks.c.deleted_at.is_(None))
        .exists()
    )
    untouched_phase = (
        (milestones.c.status == "open")
        & milestones.c.deleted_at.is_(None)
        & ~milestones.c.pinned
        & made_by_phase_item
        & ~worked_on
    )
    removed = select(milestones.c.id).where(untouched_phase)
    conn.execute(
        update(reminders).where(reminders.c.milestone_id.in_(removed)).values(pending=False)
    )
    conn.execute(update(milestones).where(untouched_phase).values(deleted_at=now, updated_at=now))
    conn.execute(update(items).where(phase_like).values(kind="phase", remind="", updated_at=now))


def _arr_history(conn: Connection) -> None:
    """ARR over time: an append-only log of every change of a customer's ARR with its kind,
    begun with each customer's ARR as it is now, as new business on its start day (and, for a
    customer in a terminal stage, its churn on the day it entered that stage); and the
    renewal forecast a customer may be given by hand."""
    conn.execute(text("ALTER TABLE customers ADD COLUMN forecast VARCHAR(16)"))
    md = MetaData()
    Table("customers", md, Column("id", Integer, primary_key=True))
    log = Table(
        "arr_log",
        md,
        Column("id", Integer, primary_key=True),
        Column("uuid", String(36), nullable=False, unique=True),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("on", Date, nullable=False),
        Column("kind", String(16), nullable=False),
        Column("arr", Float, nullable=False),
        Column("change", Float, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Index("ix_arr_log_customer_on", "customer_id", "on"),
        Index("ix_arr_log_on", "on", "kind"),
    )
    log.create(conn)
    customers = Table(
        "customers", MetaData(), Column("id", Integer), Column("arr", Float),
        Column("start", Date), Column("stage", String), Column("stage_entered", Date),
    )  # fmt: skip
    stages = Table(
        "stages", MetaData(), Column("key", String), Column("terminal", Boolean),
        Column("deleted_at", DateTime),
    )  # fmt: skip
    terminal = select(stages.c.key).where(stages.c.terminal, stages.c.deleted_at.is_(None))
    # Two INSERT … SELECTs (new business, then the churns): a book of any size is seeded by
    # the database alone, each row with its own uuid.
    now = literal(datetime.now(UTC), log.c.created_at.type)
    written = ("uuid", "customer_id", "on", "kind", "arr", "change", "created_at")
    arr, seeded = customers.c.arr, customers.c.arr > 0
    new_business = select(
        random_uuid(), customers.c.id, customers.c.start, literal("new"), arr, arr, now
    ).where(seeded)
    churned_on = case(
        (customers.c.stage_entered > customers.c.start, customers.c.stage_entered),
        else_=customers.c.start,
    )
    churns = select(
        random_uuid(), customers.c.id, churned_on, literal("churn"), arr, -arr, now
    ).where(seeded, customers.c.stage.in_(terminal))
    conn.execute(log.insert().from_select(written, new_business))
    conn.execute(log.insert().from_select(written, churns))


def _metrics(conn: Connection) -> None:
    """Usage metrics: the metrics a book tracks (mergeable rows), and their points, one value
    per metric, customer and day, keyed (and clustered on SQLite) by metric first, so a rule
    reading one metric scans that metric's points alone. A customer's health set by hand over
    the scorecard's: until when, and why."""
    conn.execute(text("ALTER TABLE customers ADD COLUMN health_override_until DATE"))
    conn.execute(text("ALTER TABLE customers ADD COLUMN health_override_reason VARCHAR"))
    md = MetaData()
    Table("customers", md, Column("id", Integer, primary_key=True))
    Table(
        "metrics",
        md,
        *_record_columns(),
        Column("name", String(64), nullable=False),
        Column("description", String),
        _partial("uq_metrics_name", "name"),
    )
    Table(
        "metric_points",
        md,
        Column("metric_id", Integer, ForeignKey("metrics.id"), nullable=False),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("day", Date, nullable=False),
        Column("value", Float, nullable=False),
        PrimaryKeyConstraint("metric_id", "customer_id", "day"),
        Index("ix_metric_points_customer", "customer_id"),
        sqlite_with_rowid=False,
    )
    md.create_all(conn, tables=[md.tables["metrics"], md.tables["metric_points"]])


def _audit_log(conn: Connection) -> None:
    """Team mode. The audit log: every change to a customer, milestone, task, CTA, user,
    stage, rule or playbook, field by field, written by triggers (clm.storage.audit); the
    context they read on a file. The log starts with this migration: what came before is not
    in it. Users get a server login role and an access level; on a server, row-level security
    policies (clm.storage.team)."""
    md = MetaData()
    Table(
        "audit_log",
        md,
        Column("id", Integer, primary_key=True),
        Column("uuid", String(36), nullable=False, unique=True),
        Column("at", String(32), nullable=False),
        Column("by", String(64)),
        Column("role", String(64)),
        Column("command", String),
        Column("record", String(32), nullable=False),
        Column("row_uuid", String(36), nullable=False),
        Column("customer_uuid", String(36)),
        Column("field", String(64), nullable=False),
        Column("old", String),
        Column("new", String),
        Index("ix_audit_log_row_field", "row_uuid", "field"),
        Index("ix_audit_log_customer", "customer_uuid"),
    )
    Table(
        "audit_context",
        md,
        Column("id", Integer, primary_key=True),
        Column("by", String(64)),
        Column("command", String),
        Column("quiet", Boolean, nullable=False),
    )
    md.create_all(conn)
    conn.execute(text("ALTER TABLE users ADD COLUMN db_role VARCHAR(63)"))
    conn.execute(text("ALTER TABLE users ADD COLUMN access VARCHAR(16) NOT NULL DEFAULT 'member'"))
    from clm.storage.audit import install_triggers  # (it reads the tables as they are now)
    from clm.storage.team import install_policies

    install_triggers(conn)
    install_policies(conn)


def _custom_fields_contacts(conn: Connection) -> None:
    """Custom fields (their definitions and one typed value row per customer and field) and
    the account's contacts (issue 20)."""
    md = MetaData()
    Table("customers", md, Column("id", Integer, primary_key=True))
    Table(
        "fields",
        md,
        *_record_columns(),
        Column("name", String(64), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("choices", String),
        Column("description", String),
        _partial("uq_fields_name", "name"),
    )
    Table(
        "field_values",
        md,
        *_record_columns(),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("field_id", Integer, ForeignKey("fields.id"), nullable=False),
        Column("number_value", Float),
        Column("text_value", String),
        Column("date_value", Date),
        Column("changed_on", Date, nullable=False),
        _partial("uq_field_values", "customer_id", "field_id"),
        Index("ix_field_values_number", "field_id", "number_value"),
        Index("ix_field_values_text", "field_id", "text_value"),
        Index("ix_field_values_date", "field_id", "date_value"),
    )
    Table(
        "contacts",
        md,
        *_record_columns(),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
        Column("name", String, nullable=False),
        Column("email", String),
        Column("phone", String),
        Column("role", String(32)),
        Column("is_primary", Boolean, nullable=False),
        Column("left_on", Date),
        _partial("uq_contacts_primary", "customer_id", where="is_primary AND deleted_at IS NULL"),
    )
    for name in ("fields", "field_values", "contacts"):
        md.tables[name].create(conn)


def _team_limits(conn: Connection) -> None:
    """Team mode, the rest of it: the link tables' members (tags, influencers, milestone
    collaborators) logged as they are added and removed; `clm.quiet` heard only from the owner,
    admins and the service role; on a server a milestone collaborator held to marking it done
    or blocked and adding tasks under it (a trigger: policies choose rows, not fields), and
    members and managers no longer able to change who is who (users.access, users.db_role).
    No table changes; the group roles' rights follow every migration (Database.migrate)."""
    from clm.storage.audit import install_triggers  # (it reads the tables as they are now)
    from clm.storage.team import install_policies

    install_triggers(conn)
    install_policies(conn)


def _team_webhooks(conn: Connection) -> None:
    """Team webhooks: a team's channel (its webhook URL), and outbox rows addressed to a team
    instead of a user (one per team, day and kind, as a user's). The outbox's user becomes
    optional: SQLite drops a NOT NULL only by rebuilding the table."""
    md = MetaData()
    Table(
        "team_channels",
        md,
        *_record_columns(),
        Column("team", String(64), nullable=False),
        Column("webhook", String),
        _partial("uq_team_channels_team", "team"),
    ).create(conn)
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE outbox ALTER COLUMN user_id DROP NOT NULL"))
        conn.execute(text("ALTER TABLE outbox ADD COLUMN team VARCHAR(64)"))
    else:
        columns = (
            "id", "uuid", "user_id", "day", "kind", "payload", "state", "attempts",
            "next_try_at", "channel", "error", "sent_at", "created_at",
        )  # fmt: skip
        rebuilt = MetaData()
        Table("users", rebuilt, Column("id", Integer, primary_key=True))
        Table(
            "outbox_0017",
            rebuilt,
            Column("id", Integer, primary_key=True),
            Column("uuid", String(36), nullable=False, unique=True),
            Column("user_id", Integer, ForeignKey("users.id")),
            Column("team", String(64)),
            Column("day", Date, nullable=False),
            Column("kind", String(64), nullable=False),
            Column("payload", String, nullable=False),
            Column("state", String(16), nullable=False),
            Column("attempts", Integer, nullable=False),
            Column("next_try_at", DateTime(timezone=True)),
            Column("channel", String(16)),
            Column("error", String),
            Column("sent_at", DateTime(timezone=True)),
            Column("created_at", DateTime(timezone=True), nullable=False),
        ).create(conn)
        listed = ", ".join(columns)
        conn.execute(text(f"INSERT INTO outbox_0017 ({listed}) SELECT {listed} FROM outbox"))
        conn.execute(text("DROP TABLE outbox"))  # with its indexes
        conn.execute(text("ALTER TABLE outbox_0017 RENAME TO outbox"))
        conn.execute(text("CREATE INDEX ix_outbox_state ON outbox (state, next_try_at)"))
        conn.execute(text("CREATE UNIQUE INDEX uq_outbox ON outbox (user_id, day, kind)"))
    conn.execute(text("CREATE UNIQUE INDEX uq_outbox_team ON outbox (team, day, kind)"))


def _metric_point_stamps(conn: Connection) -> None:
    """A metric point's stamp (the hybrid clock's, as a number), so `db merge` keeps the later
    of two copies' values of a point. A point set before has none: it counts as the earliest."""
    conn.execute(text("ALTER TABLE metric_points ADD COLUMN stamp BIGINT"))


def _arr_log_covering_index(conn: Connection) -> None:
    """The ARR log read by customer and day without its rows: retention, churn and cohorts
    sum each customer's changes by kind over a period, from the index alone. The (customer,
    day) index stays: its order (with the row id) is the one a customer's latest entry is
    found by."""
    conn.execute(
        text('CREATE INDEX ix_arr_log_covering ON arr_log (customer_id, "on", kind, change)')
    )


def _health_scores(conn: Connection) -> None:
    """The scorecard's scores in their own narrow table, keyed by customer: the tick rewrote
    the row (and the indexes) of every customer whose score moved, tens of thousands a day.
    In a book with a scorecard, each customer's health that is not one set by hand holding
    over it moves there with its day (the customer's column keeps it too: a score of the same
    day reads the same)."""
    md = MetaData()
    Table("customers", md, Column("id", Integer, primary_key=True))
    scores = Table(
        "health_scores",
        md,
        Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True),
        Column("health", Integer, nullable=False),
        Column("on", Date, nullable=False),
    )
    scores.create(conn)
    from clm.storage.team import install_policies

    install_policies(conn)  # on a server, its rows as visible as their customers
    meta = Table("clm_meta", MetaData(), Column("key", String), Column("value", String))
    if not conn.scalar(select(meta.c.value).where(meta.c.key == "scorecard")):
        return
    customers = Table(
        "customers", MetaData(), Column("id", Integer), Column("health", Integer),
        Column("health_on", Date), Column("health_override_until", Date),
    )  # fmt: skip
    until = customers.c.health_override_until
    scored = select(customers.c.id, customers.c.health, customers.c.health_on).where(
        customers.c.health.is_not(None),
        customers.c.health_on.is_not(None),
        or_(until.is_(None), until < customers.c.health_on),
    )
    conn.execute(scores.insert().from_select(["customer_id", "health", "on"], scored))


def _unfinished_milestones_index(conn: Connection) -> None:
    """The unfinished milestones (open or blocked, not removed) by customer and due date:
    `report overdue` reads each live customer's past-due ones from this index rather than
    every milestone row of the book (0.45 -> 0.26 s of SQL on book 2's million milestones).
    Analysed where the book keeps statistics: without them SQLite would judge the new index by
    its shape beside the others' measured ones."""
    unfinished = text("status IN ('open', 'blocked') AND deleted_at IS NULL")
    milestones = Table(
        "milestones", MetaData(), Column("customer_id", Integer), Column("due", Date)
    )
    Index(
        "ix_milestones_unfinished", milestones.c.customer_id, milestones.c.due,
        sqlite_where=unfinished, postgresql_where=unfinished,
    ).create(conn)  # fmt: skip
    from clm.storage.statistics import refresh_table_statistics  # (it imports this module)

    refresh_table_statistics(conn, "milestones")


def _tick_covering_indexes(conn: Connection) -> None:
    """What the daily tick reads, read from indexes alone. The overdue count: the milestones'
    and tasks' (status, due) indexes carry the customer and the tombstone, and the removed
    customers get a partial index of their own (the tick read every overdue item's row and its
    customer's: 0.40 s of CPU for 176,879 items on a 100,000-customer book, 0.07 s now). The
    pending reminders' index carries `pending` too: SQLite took it for a column to read from
    each row, and on a book with most reminders pending it read every past reminder in the
    table's key instead, three times a tick (0.16 s there, 0.02 s now)."""
    md = MetaData()
    for name in ("milestones", "tasks"):
        table = Table(
            name, md, Column("status", String), Column("due", Date),
            Column("customer_id", Integer), Column("deleted_at", DateTime),
        )  # fmt: skip
        conn.execute(text(f"DROP INDEX ix_{name}_status_due"))
        Index(
            f"ix_{name}_status_due",
            table.c.status, table.c.due, table.c.customer_id, table.c.deleted_at,
        ).create(conn)  # fmt: skip
    customers = Table("customers", md, Column("id", Integer), Column("deleted_at", DateTime))
    removed = text("deleted_at IS NOT NULL")
    Index(
        "ix_customers_removed", customers.c.id, sqlite_where=removed, postgresql_where=removed
    ).create(conn)
    reminders = Table(
        "milestone_reminders", md, Column("milestone_id", Integer), Column("offset", String),
        Column("remind_on", Date), Column("pending", Boolean),
    )  # fmt: skip
    conn.execute(text("DROP INDEX ix_milestone_reminders_pending"))
    pending = text("pending")
    Index(
        "ix_milestone_reminders_pending",
        reminders.c.remind_on, reminders.c.milestone_id, reminders.c.offset, reminders.c.pending,
        sqlite_where=pending, postgresql_where=pending,
    ).create(conn)  # fmt: skip
    from clm.storage.statistics import refresh_table_statistics  # (it imports this module)

    refresh_table_statistics(conn, "milestones", "tasks", "customers", "milestone_reminders")


def _metric_latest(conn: Connection) -> None:
    """Each customer's latest point of each metric in a narrow table of its own, keyed by
    customer then metric and kept by every write of points: the tick's scorecard reads every
    customer's latest values in one pass of it, where four seeks a customer into the points
    (30 days x 4 metrics x 100,000 customers) cost more than the whole rest of the tick.
    Filled from the points there are: the newest day of each (metric, customer)."""
    md = MetaData()
    Table("customers", md, Column("id", Integer, primary_key=True))
    Table("metrics", md, Column("id", Integer, primary_key=True))
    points = Table(
        "metric_points", md, Column("metric_id", Integer), Column("customer_id", Integer),
        Column("day", Date), Column("value", Float),
    )  # fmt: skip
    latest = Table(
        "metric_latest",
        md,
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("metric_id", Integer, ForeignKey("metrics.id"), nullable=False),
        Column("day", Date, nullable=False),
        Column("value", Float, nullable=False),
        PrimaryKeyConstraint("customer_id", "metric_id"),
        sqlite_with_rowid=False,
    )
    latest.create(conn)
    p = points.c
    newest = (
        select(p.metric_id, p.customer_id, func.max(p.day).label("day"))
        .group_by(p.metric_id, p.customer_id)
        .subquery()
    )
    same = and_(
        p.metric_id == newest.c.metric_id,
        p.customer_id == newest.c.customer_id,
        p.day == newest.c.day,
    )
    rows = select(p.customer_id, p.metric_id, p.day, p.value).join_from(points, newest, same)
    conn.execute(latest.insert().from_select(["customer_id", "metric_id", "day", "value"], rows))
    from clm.storage.statistics import refresh_table_statistics  # (it imports this module)
    from clm.storage.team import install_policies

    install_policies(conn)  # on a server, its rows as visible as their customers
    refresh_table_statistics(conn, "metric_latest")


def _audit_uuids_in_time_order(conn: Connection) -> None:
    """On a file, the audit log's triggers give its rows version 7 uuids (time first) rather
    than random ones: the log's unique index on `uuid` then takes a day's rows near its end,
    where random ones landed on a page each (on a 100,000-customer book, an eighth of the
    pages a steady tick writes). A server's triggers are made again as they were."""
    from clm.storage.audit import install_triggers  # (it reads the tables as they are now)

    install_triggers(conn)


def _handoffs_index(conn: Connection) -> None:
    """The customers with a handoff pending, found without reading the others: the agenda
    read all 100,000 of a large book's customers for none (about 30 ms a start)."""
    customers = Table("customers", MetaData(), Column("handoff_pending", String))
    pending = text("handoff_pending IS NOT NULL")
    Index(
        "ix_customers_handoff_pending",
        customers.c.handoff_pending,
        sqlite_where=pending,
        postgresql_where=pending,
    ).create(conn)
    from clm.storage.statistics import refresh_table_statistics  # (it imports this module)

    refresh_table_statistics(conn, "customers")


def _scorecard_indexes(conn: Connection) -> None:
    """What the tick's scorecard reads besides the latest values, without reading the tables:
    whether any value is dated after the day it scores (a day run again, or points dated
    ahead), which was a scan of every latest value; and the few customers removed or with a
    health set by hand, which was a scan of every customer (9,400 pages of 100,000)."""
    md = MetaData()
    latest = Table("metric_latest", md, Column("day", Date))
    Index("ix_metric_latest_day", latest.c.day).create(conn)
    customers = Table("customers", md, Column("id", Integer))
    apart = text("deleted_at IS NOT NULL OR health_override_until IS NOT NULL")
    Index(
        "ix_customers_set_apart", customers.c.id, sqlite_where=apart, postgresql_where=apart
    ).create(conn)
    from clm.storage.statistics import refresh_table_statistics  # (it imports this module)

    refresh_table_statistics(conn, "metric_latest", "customers")


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0001_initial", _initial),
    ("0002_milestones_tasks_ctas_playbooks", _milestones_tasks_ctas_playbooks),
    ("0003_rules", _rules),
    ("0004_health_history", _health_history),
    ("0005_pending_reminders_covered", _pending_reminders_covered),
    ("0006_steady_tick", _steady_tick),
    ("0007_holiday_tombstones", _holiday_tombstones),
    ("0008_ownership_policy", _ownership_policy),
    ("0009_notifications", _notifications),
    ("0010_rule_churn_reason", _rule_churn_reason),
    ("0011_phase_items", _phase_items),
    ("0012_arr_history", _arr_history),
    ("0013_metrics", _metrics),
    ("0014_custom_fields_contacts", _custom_fields_contacts),
    ("0015_audit_log", _audit_log),
    ("0016_team_limits", _team_limits),
    ("0017_team_webhooks", _team_webhooks),
    ("0018_metric_point_stamps", _metric_point_stamps),
    ("0019_arr_log_covering_index", _arr_log_covering_index),
    ("0020_health_scores", _health_scores),
    ("0021_unfinished_milestones_index", _unfinished_milestones_index),
    ("0022_tick_covering_indexes", _tick_covering_indexes),
    ("0023_metric_latest", _metric_latest),
    ("0024_handoffs_index", _handoffs_index),
    ("0025_audit_uuids_in_time_order", _audit_uuids_in_time_order),
    ("0026_scorecard_indexes", _scorecard_indexes),
]
SCHEMA_VERSION = len(MIGRATIONS)
