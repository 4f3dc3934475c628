"""The SQLModel tables. Commands and the domain layer use them through SQLAlchemy Core."""

from datetime import date, datetime

from pydantic import ConfigDict
from sqlalchemy import Column, ForeignKey, Index, Integer, text
from sqlmodel import Field, SQLModel

LIVE = text("deleted_at IS NULL")


def partial_unique(name: str, *columns: str, where=LIVE, unique: bool = True) -> Index:
    """A (unique) index over the rows `where` holds (by default: not tombstoned, so a removed
    slug can be reused). `clm.db` gives PostgreSQL the same condition when it connects to one:
    naming it here would load SQLAlchemy's PostgreSQL dialect on every start."""
    return Index(name, *columns, unique=unique, sqlite_where=where, info={"where": where})


def user_fk(**kwargs) -> int | None:
    return Field(default=None, foreign_key="users.id", **kwargs)


class Base(SQLModel):
    # Tables are used through SQLAlchemy Core; building pydantic validators at import time
    # would only slow every command's start.
    model_config = ConfigDict(defer_build=True)


class Record(Base):
    """What every mergeable row carries: an id people type, a uuid for identity across copies,
    times, per-field change stamps (JSON: field -> hybrid logical clock stamp) and a tombstone."""

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    stamps: str = "{}"


class Meta(Base, table=True):
    __tablename__ = "clm_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str


class Migration(Base, table=True):
    __tablename__ = "clm_migrations"
    name: str = Field(primary_key=True, max_length=128)
    applied_at: datetime


class User(Record, table=True):
    __tablename__ = "users"
    __table_args__ = (
        partial_unique("uq_users_handle", "handle"),
        # At most one default owner per team: the database guarantees it, not a check.
        partial_unique(
            "uq_users_team_default_owner",
            "team",
            where=text("default_owner AND deleted_at IS NULL"),
        ),
    )
    handle: str = Field(max_length=64)
    name: str | None = None
    email: str | None = None
    team: str | None = Field(default=None, index=True)
    default_owner: bool = False


class Stage(Record, table=True):
    __tablename__ = "stages"
    __table_args__ = (partial_unique("uq_stages_key", "key"),)
    key: str = Field(max_length=64)
    name: str
    position: int
    team: str | None = None
    expected_days: int | None = None
    playbook: str | None = None
    terminal: bool = False


class Customer(Record, table=True):
    __tablename__ = "customers"
    __table_args__ = (
        partial_unique("uq_customers_slug", "slug"),
        # What the rules filter on: a stage, then a date or a metric.
        Index("ix_customers_stage_entered", "stage", "stage_entered"),
        Index("ix_customers_stage_renewal", "stage", "renewal"),
        Index("ix_customers_stage_health", "stage", "health"),
        Index("ix_customers_stage_lead_score", "stage", "lead_score"),
    )
    slug: str = Field(max_length=128)
    name: str
    stage: str = Field(max_length=64)
    stage_entered: date
    owner_id: int | None = user_fk(index=True)
    start: date
    renewal: date | None = Field(default=None, index=True)
    term: str = "1y"
    arr: float | None = None
    health: int | None = None
    lead_score: int | None = None
    source: str | None = None
    # The day (as --today saw it) each metric last changed: when a metric rule became true.
    health_on: date | None = None
    lead_score_on: date | None = None
    arr_on: date | None = None
    # The uuid of the transition that began this stay in `stage`: a rule fires once per stay.
    stay: str | None = Field(default=None, max_length=36)


def customer_fk() -> int:
    return Field(
        sa_column=Column(Integer, ForeignKey("customers.id"), primary_key=True, nullable=False)
    )


class CustomerTag(Base, table=True):
    __tablename__ = "customer_tags"
    customer_id: int = customer_fk()
    tag: str = Field(primary_key=True, max_length=64, index=True)


class CustomerInfluencer(Base, table=True):
    __tablename__ = "customer_influencers"
    customer_id: int = customer_fk()
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)


class Transition(Base, table=True):
    """Append-only stage history: who moved which customer where, on which day, and why."""

    __tablename__ = "transitions"
    # A customer's history in order, covering the stage: reports read stays from the index.
    __table_args__ = (Index("ix_transitions_stays", "customer_id", "on", "id", "to_stage"),)
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    customer_id: int = Field(foreign_key="customers.id")
    from_stage: str | None = None
    to_stage: str
    on: date = Field(index=True)
    by: str | None = None
    rule: str | None = None
    reason: str | None = None
    from_owner_id: int | None = user_fk()
    to_owner_id: int | None = user_fk()
    created_at: datetime


class Note(Base, table=True):
    """Append-only timeline entries: notes, calls, emails, meetings and system events."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_customer_on", "customer_id", "on"),)
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    customer_id: int = Field(foreign_key="customers.id")
    on: date
    kind: str = Field(max_length=16)
    text: str
    by: str | None = None
    created_at: datetime
    milestone_id: int | None = Field(default=None, foreign_key="milestones.id", index=True)


class Holiday(Base, table=True):
    """Days business-day durations (`5bd`) skip besides weekends."""

    __tablename__ = "holidays"
    day: date = Field(primary_key=True)
    name: str | None = None


class Milestone(Record, table=True):
    """A dated objective on a customer. A recurring one is a series of rows, one per
    occurrence, each due `every` × `occurrence` after the series' first due date."""

    __tablename__ = "milestones"
    __table_args__ = (
        Index("ix_milestones_status_due", "status", "due"),
        # Marking an occurrence done creates the next one at most once.
        partial_unique("uq_milestones_occurrence", "series", "occurrence"),
    )
    customer_id: int = Field(foreign_key="customers.id", index=True)
    title: str
    due: date
    status: str = Field(default="open", max_length=16)
    every: str | None = None
    series: str = Field(max_length=36)  # the uuid of the series' first occurrence
    occurrence: int = 0
    anchor: date  # the series' first due date: occurrences are computed from it, never chained
    pinned: bool = False
    blocked_reason: str | None = None
    done_on: date | None = None
    source: str | None = None


class MilestoneReminder(Base, table=True):
    """When a milestone reminds: its due date minus each offset. `pending` until it fires or
    its milestone is finished, so the tick scans only what may still fire, not all history."""

    __tablename__ = "milestone_reminders"
    __table_args__ = (
        partial_unique(
            "ix_milestone_reminders_pending", "remind_on", where=text("pending"), unique=False
        ),
    )
    milestone_id: int = Field(foreign_key="milestones.id", primary_key=True)
    offset: str = Field(primary_key=True, max_length=16)
    remind_on: date = Field(index=True)
    pending: bool = True


class MilestoneCollaborator(Base, table=True):
    __tablename__ = "milestone_collaborators"
    milestone_id: int = Field(foreign_key="milestones.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)


class ReminderLog(Base, table=True):
    """Append-only: each reminder that fired. The unique key makes a reminder fire once per
    milestone occurrence and offset, across re-runs, concurrent ticks and merged copies."""

    __tablename__ = "reminder_log"
    __table_args__ = (Index("uq_reminder_log", "milestone_uuid", "offset", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    milestone_uuid: str = Field(max_length=36)
    offset: str = Field(max_length=16)
    remind_on: date
    fired_on: date
    recipients: str
    created_at: datetime


class Cta(Record, table=True):
    """A call to action. At most one open CTA per customer, type and reason."""

    __tablename__ = "ctas"
    __table_args__ = (
        partial_unique(
            "uq_ctas_open",
            "customer_id",
            "type",
            "reason",
            where=text("status = 'open' AND deleted_at IS NULL"),
        ),
        Index("ix_ctas_status_due", "status", "due"),
    )
    customer_id: int = Field(foreign_key="customers.id", index=True)
    type: str = Field(max_length=16)
    reason: str
    priority: str = Field(default="medium", max_length=8)
    status: str = Field(default="open", max_length=16)
    owner_id: int | None = user_fk(index=True)
    due: date | None = None
    snoozed_until: date | None = None
    outcome: str | None = None
    closed_on: date | None = None
    source: str | None = None


class Task(Record, table=True):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_status_due", "status", "due"),)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    title: str
    due: date | None = None
    status: str = Field(default="open", max_length=16)
    assignee_id: int | None = user_fk(index=True)
    milestone_id: int | None = Field(default=None, foreign_key="milestones.id", index=True)
    cta_id: int | None = Field(default=None, foreign_key="ctas.id", index=True)
    done_on: date | None = None
    source: str | None = None


class Playbook(Record, table=True):
    """A named list of task and milestone templates; `on_start` ones apply to every customer
    added (anchored on its start date), others through a stage, a rule or a CTA."""

    __tablename__ = "playbooks"
    __table_args__ = (partial_unique("uq_playbooks_name", "name"),)
    name: str = Field(max_length=64)
    description: str | None = None
    on_start: bool = False


class PlaybookItem(Record, table=True):
    """A template: a task or milestone due `offset` after an anchor (stage entry, start,
    renewal, or the day the playbook runs), with reminders and recurrence for milestones."""

    __tablename__ = "playbook_items"
    playbook_id: int = Field(foreign_key="playbooks.id", index=True)
    position: int
    kind: str = Field(max_length=16)
    title: str
    anchor: str = Field(default="entry", max_length=16)
    offset: str = "0d"
    remind: str = ""  # offsets joined by ';'
    every: str | None = None
    milestone: str | None = None  # a task goes under the milestone item with this title


class PlaybookRun(Base, table=True):
    """Append-only: a playbook applied to a customer, once per `run_key` (a stage entry's
    transition uuid, `start`, or a CTA's uuid), guaranteed by the unique key."""

    __tablename__ = "playbook_runs"
    __table_args__ = (Index("uq_playbook_runs", "customer_id", "playbook", "run_key", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    customer_id: int = Field(foreign_key="customers.id")
    playbook: str = Field(max_length=64)
    run_key: str = Field(max_length=64)
    anchor_day: date
    created_at: datetime


class Rule(Record, table=True):
    """Moves customers between stages and opens CTAs when all its conditions hold."""

    __tablename__ = "rules"
    __table_args__ = (partial_unique("uq_rules_name", "name"),)
    name: str = Field(max_length=64)
    position: int
    from_stages: str  # stage keys joined by ';'
    to_stage: str | None = None
    conditions: str  # a JSON list of `FIELD OP VALUE` strings
    cta: str | None = None  # `TYPE:REASON`
    playbook: str | None = None
    enabled: bool = True


class RuleFiring(Base, table=True):
    """Append-only: a rule fired for a customer during one stay in a stage. The unique key makes
    a rule fire at most once per stay, so a CTA a person closed is not reopened tomorrow."""

    __tablename__ = "rule_firings"
    __table_args__ = (Index("uq_rule_firings", "rule", "customer_id", "stay", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    rule: str = Field(max_length=64)
    customer_id: int = Field(foreign_key="customers.id")
    stay: str = Field(max_length=36)
    fired_on: date
    created_at: datetime


class HealthLog(Base, table=True):
    """Append-only: a customer's health score from a day on, written whenever it is set, so
    `customer show` can draw health over time."""

    __tablename__ = "health_log"
    __table_args__ = (Index("ix_health_log_customer_on", "customer_id", "on"),)
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    customer_id: int = Field(foreign_key="customers.id")
    on: date
    health: int
    created_at: datetime


users = User.__table__
stages = Stage.__table__
customers = Customer.__table__
customer_tags = CustomerTag.__table__
customer_influencers = CustomerInfluencer.__table__
transitions = Transition.__table__
notes = Note.__table__
holidays = Holiday.__table__
milestones = Milestone.__table__
milestone_reminders = MilestoneReminder.__table__
milestone_collaborators = MilestoneCollaborator.__table__
reminder_log = ReminderLog.__table__
ctas = Cta.__table__
tasks = Task.__table__
playbooks = Playbook.__table__
playbook_items = PlaybookItem.__table__
playbook_runs = PlaybookRun.__table__
rules = Rule.__table__
rule_firings = RuleFiring.__table__
health_log = HealthLog.__table__
meta = Meta.__table__
migrations = Migration.__table__

# History: rows only ever appended, never edited or tombstoned. Copies of a database merge
# them as a union by uuid.
APPEND_ONLY = (transitions, notes, reminder_log, rule_firings, playbook_runs, health_log)
