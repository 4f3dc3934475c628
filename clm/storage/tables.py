"""The tables, as SQLAlchemy Core `Table`s: commands and the domain layer use nothing else.

Declared in Core rather than as SQLModel classes: a class costs a pydantic model and an ORM
mapper at import, which every command paid (a third of `clm customer list`) and none used.
The columns are those the SQLModel classes made (types, nullability, defaults, keys, index
names), so the DDL is the same; tests/storage/test_migrations.py holds it to the fixture dumps.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
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
    text,
    types,
)

metadata = MetaData()

LIVE = text("deleted_at IS NULL")


class UTCDateTime(types.TypeDecorator):
    """Aware datetimes in, UTC datetimes out (SQLite stores them naive, as UTC): the type
    SQLModel gives a `datetime` field."""

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def __repr__(self) -> str:
        return "UTCDateTime()"

    def coerce_compared_value(self, op, value):
        return types.Interval() if isinstance(value, timedelta) else self

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("datetime values must have timezone information")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def partial_unique(name: str, *columns: str, where=LIVE, unique: bool = True) -> Index:
    """A (unique) index over the rows `where` holds (by default: not tombstoned, so a removed
    slug can be reused). `clm.db` gives PostgreSQL the same condition when it connects to one:
    naming it here would load SQLAlchemy's PostgreSQL dialect on every start."""
    return Index(name, *columns, unique=unique, sqlite_where=where, info={"where": where})


# Column shorthands. A string is a VARCHAR (of `length` if given).
def string(name: str, length: int | None = None, required: bool = True, **kw) -> Column:
    return Column(name, String(length), nullable=not required, **kw)


def day(name: str, required: bool = True, **kw) -> Column:
    return Column(name, Date, nullable=not required, **kw)


def moment(name: str, required: bool = True) -> Column:
    return Column(name, UTCDateTime(), nullable=not required)


def number(name: str, required: bool = True, **kw) -> Column:
    return Column(name, Integer, nullable=not required, **kw)


def flag(name: str, default: bool) -> Column:
    return Column(name, Boolean, nullable=False, default=default)


def ref(name: str, target: str, required: bool = True, **kw) -> Column:
    """An integer foreign key to `target` (`table.column`)."""
    return Column(name, Integer, ForeignKey(target), nullable=not required, **kw)


def user_ref(name: str, **kw) -> Column:
    return ref(name, "users.id", required=False, **kw)


def serial() -> Column:
    return Column("id", Integer, primary_key=True)


def identity() -> list[Column]:
    """An append-only row's id people type and uuid for identity across copies."""
    return [serial(), string("uuid", 36, unique=True)]


def record() -> list[Column]:
    """What every mergeable row carries: an id people type, a uuid for identity across copies,
    times, per-field change stamps (JSON: field -> hybrid logical clock stamp) and a
    tombstone."""
    return [
        *identity(),
        moment("created_at"),
        moment("updated_at"),
        moment("deleted_at", required=False),
        string("stamps", default="{}"),
    ]


meta = Table(
    "clm_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    string("value"),
)

migrations = Table(
    "clm_migrations",
    metadata,
    Column("name", String(128), primary_key=True),
    moment("applied_at"),
)

users = Table(
    "users",
    metadata,
    *record(),
    string("handle", 64),
    string("name", required=False),
    string("email", required=False),
    string("team", required=False, index=True),
    flag("default_owner", False),
    # Notifications: the channel (email, webhook or none), daily or immediate, the webhook URL.
    string("notify", 16, default="none", server_default="none"),
    string("digest", 16, default="daily", server_default="daily"),
    string("webhook", required=False),
    # Team mode: the server login role of this user (`clm user grant`), and what it may do:
    # member, manager, admin or service (see clm.storage.team).
    string("db_role", 63, required=False),
    string("access", 16, default="member", server_default="member"),
    partial_unique("uq_users_handle", "handle"),
    # At most one default owner per team: the database guarantees it, not a check.
    partial_unique(
        "uq_users_team_default_owner", "team", where=text("default_owner AND deleted_at IS NULL")
    ),
)

stages = Table(
    "stages",
    metadata,
    *record(),
    string("key", 64),
    string("name"),
    number("position"),
    string("team", required=False),
    number("expected_days", required=False),
    string("playbook", required=False),
    flag("terminal", False),
    partial_unique("uq_stages_key", "key"),
)

# The customers the scorecard reads apart (clm.domain.scorecard), as its index states them.
SET_APART = "deleted_at IS NOT NULL OR health_override_until IS NOT NULL"

customers = Table(
    "customers",
    metadata,
    *record(),
    string("slug", 128),
    string("name"),
    string("stage", 64),
    day("stage_entered"),
    user_ref("owner_id", index=True),
    day("start"),
    day("renewal", required=False, index=True),
    string("term", default="1y"),
    Column("arr", Float, nullable=True),
    number("health", required=False),
    number("lead_score", required=False),
    string("source", required=False),
    # The day (as --today saw it) each metric last changed: when a metric rule became true.
    day("health_on", required=False),
    day("lead_score_on", required=False),
    day("arr_on", required=False),
    # The uuid of the transition that began this stay in `stage`: a rule fires once per stay.
    string("stay", 36, required=False),
    # The team a handoff went to that had nobody to assign: the owner was kept until someone
    # is assigned (clm customer assign). NULL when no handoff is pending.
    string("handoff_pending", 64, required=False),
    # The renewal forecast set by hand (commit, likely, at-risk, lost); NULL: from health.
    string("forecast", 16, required=False),
    # A health set by hand over the scorecard's: the last day it holds, and why.
    day("health_override_until", required=False),
    string("health_override_reason", required=False),
    partial_unique("uq_customers_slug", "slug"),
    # The few removed customers, found without reading the others: an overdue count leaves
    # their items out.
    partial_unique(
        "ix_customers_removed", "id", where=text("deleted_at IS NOT NULL"), unique=False
    ),
    # The few customers handed to a team with nobody to assign (the agenda lists them).
    partial_unique(
        "ix_customers_handoff_pending",
        "handoff_pending",
        where=text("handoff_pending IS NOT NULL"),
        unique=False,
    ),
    # The few customers removed or with a health set by hand: the scorecard's day reads them
    # apart without reading every customer (clm.domain.scorecard).
    partial_unique(
        "ix_customers_set_apart",
        "id",
        where=text(SET_APART),
        unique=False,
    ),
    # What the rules filter on: a stage, then a date or a metric.
    Index("ix_customers_stage_entered", "stage", "stage_entered"),
    Index("ix_customers_stage_renewal", "stage", "renewal"),
    Index("ix_customers_stage_health", "stage", "health"),
    # Only the customers that have a lead score (leads and prospects, mostly): a move between
    # later stages, the tick's daily work, leaves this index alone.
    partial_unique(
        "ix_customers_stage_lead_score",
        "stage",
        "lead_score",
        where=text("lead_score IS NOT NULL"),
        unique=False,
    ),
)

customer_tags = Table(
    "customer_tags",
    metadata,
    Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True),
    Column("tag", String(64), primary_key=True, index=True),
)

customer_influencers = Table(
    "customer_influencers",
    metadata,
    Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True, index=True),
)

# Append-only stage history: who moved which customer where, on which day, and why.
transitions = Table(
    "transitions",
    metadata,
    *identity(),
    ref("customer_id", "customers.id"),
    string("from_stage", required=False),
    string("to_stage"),
    day("on", index=True),
    string("by", required=False),
    string("rule", required=False),
    string("reason", required=False),
    user_ref("from_owner_id"),
    user_ref("to_owner_id"),
    moment("created_at"),
    # A customer's history in order, covering the stage: reports read stays from the index.
    Index("ix_transitions_stays", "customer_id", "on", "id", "to_stage"),
)

# A team's way of assigning the customers handed to it (`assign`: default-owner, round-robin or
# least-loaded) and, for round-robin, the member assigned last. A team without a row assigns
# to its default owner.
teams = Table(
    "teams",
    metadata,
    *record(),
    string("name", 64),
    string("assign", 16, default="default-owner"),
    user_ref("last_assigned_id"),
    partial_unique("uq_teams_name", "name"),
)

# Where a team's digest goes: its channel (a webhook URL, Slack-compatible or generic JSON).
# Not part of the model file: a webhook URL is a secret (Slack revokes a leaked one).
team_channels = Table(
    "team_channels",
    metadata,
    *record(),
    string("team", 64),
    string("webhook", required=False),
    partial_unique("uq_team_channels_team", "team"),
)

# Append-only: every change of a customer's owner, who made it and why (handoff, policy,
# manual, renewal, removal; `handoff pending` when a handoff found nobody and kept the owner).
owner_changes = Table(
    "owner_changes",
    metadata,
    *identity(),
    ref("customer_id", "customers.id"),
    day("on"),
    user_ref("from_owner_id"),
    user_ref("to_owner_id"),
    string("by", required=False),
    string("why", 32),
    string("detail", required=False),
    moment("created_at"),
    Index("ix_owner_changes_customer", "customer_id", "on"),
)

# Append-only timeline entries: notes, calls, emails, meetings and system events.
notes = Table(
    "notes",
    metadata,
    *identity(),
    ref("customer_id", "customers.id"),
    day("on"),
    string("kind", 16),
    string("text"),
    string("by", required=False),
    moment("created_at"),
    ref("milestone_id", "milestones.id", required=False, index=True),
    Index("ix_notes_customer_on", "customer_id", "on"),
)

# Days business-day durations (`5bd`) skip besides weekends. A removed one keeps its row as a
# tombstone, so merging a copy that still has it does not bring it back.
holidays = Table(
    "holidays",
    metadata,
    *record(),
    day("day"),
    string("name", required=False),
    partial_unique("uq_holidays_day", "day"),
)

# A dated objective on a customer. A recurring one is a series of rows, one per occurrence,
# each due `every` × `occurrence` after the series' anchor: its first due date, or for one a
# playbook set a whole number of periods after a day (start +1y, every 1y), that day (the
# first occurrence then has that number).
milestones = Table(
    "milestones",
    metadata,
    *record(),
    ref("customer_id", "customers.id", index=True),
    string("title"),
    day("due"),
    string("status", 16, default="open"),
    string("every", required=False),
    string("series", 36),  # the uuid of the series' first occurrence
    number("occurrence", default=0),
    day("anchor"),  # what the series counts from: occurrences are computed from it, not chained
    flag("pinned", False),
    string("blocked_reason", required=False),
    day("done_on", required=False),
    string("source", required=False),
    # Covering what makes an item overdue and whose it is: the tick counts the overdue from
    # the index alone (clm.domain.agenda.overdue_count).
    Index("ix_milestones_status_due", "status", "due", "customer_id", "deleted_at"),
    # `milestone_done:TITLE` rules: a customer's live done milestones of a title, without
    # reading its other milestones. New milestones (open) are not in it: the tick's inserts
    # leave it alone.
    partial_unique(
        "ix_milestones_done",
        "customer_id",
        "title",
        where=text("status = 'done' AND deleted_at IS NULL"),
        unique=False,
    ),
    # Marking an occurrence done creates the next one at most once.
    partial_unique("uq_milestones_occurrence", "series", "occurrence"),
    # `report overdue`: each customer's unfinished milestones in due order. Its condition is
    # spelled as the query spells it (clm.domain.agenda.UNFINISHED, as literals): SQLite uses a
    # partial index only for a query whose WHERE holds the same terms, and none with
    # parameters in their place.
    partial_unique(
        "ix_milestones_unfinished",
        "customer_id",
        "due",
        where=text("status IN ('open', 'blocked') AND deleted_at IS NULL"),
        unique=False,
    ),
)

# When a milestone reminds: its due date minus each offset. `pending` until it fires or its
# milestone is finished, so the tick scans only what may still fire, not all history.
# Kept in day order (on SQLite the table is its primary key's b-tree, no rowid): the
# reminders a tick fires lie side by side, so marking them fired writes a few pages, not one
# page each. A milestone's reminders are found by the unique key.
milestone_reminders = Table(
    "milestone_reminders",
    metadata,
    Column("milestone_id", Integer, ForeignKey("milestones.id"), nullable=False),
    Column("offset", String(16), nullable=False),
    day("remind_on"),
    flag("pending", True),
    PrimaryKeyConstraint("remind_on", "milestone_id", "offset", name="pk_milestone_reminders"),
    UniqueConstraint("milestone_id", "offset", name="uq_milestone_reminders"),
    # Covering: the tick reads the due reminders' milestones from the index alone. `pending`
    # too (always true in it), or SQLite counts on reading each row for it, and on a book with
    # most of its reminders pending reads all those past in the table's key instead.
    partial_unique(
        "ix_milestone_reminders_pending",
        "remind_on",
        "milestone_id",
        "offset",
        "pending",
        where=text("pending"),
        unique=False,
    ),
    sqlite_with_rowid=False,
)

milestone_collaborators = Table(
    "milestone_collaborators",
    metadata,
    Column("milestone_id", Integer, ForeignKey("milestones.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True, index=True),
)

# Append-only: each reminder that fired. The unique key makes a reminder fire once per
# milestone occurrence and offset, across re-runs, concurrent ticks and merged copies.
reminder_log = Table(
    "reminder_log",
    metadata,
    *identity(),
    string("milestone_uuid", 36),
    string("offset", 16),
    day("remind_on"),
    day("fired_on"),
    string("recipients"),
    moment("created_at"),
    Index("uq_reminder_log", "milestone_uuid", "offset", unique=True),
)

# A call to action. At most one open CTA per customer, type and reason.
ctas = Table(
    "ctas",
    metadata,
    *record(),
    ref("customer_id", "customers.id", index=True),
    string("type", 16),
    string("reason"),
    string("priority", 8, default="medium"),
    string("status", 16, default="open"),
    user_ref("owner_id", index=True),
    day("due", required=False),
    day("snoozed_until", required=False),
    string("outcome", required=False),
    day("closed_on", required=False),
    string("source", required=False),
    day("opened_on", required=False),  # as --today saw it (NULL: opened before schema 0008)
    partial_unique(
        "uq_ctas_open",
        "customer_id",
        "type",
        "reason",
        where=text("status = 'open' AND deleted_at IS NULL"),
    ),
    Index("ix_ctas_status_due", "status", "due"),
)

tasks = Table(
    "tasks",
    metadata,
    *record(),
    ref("customer_id", "customers.id", index=True),
    string("title"),
    day("due", required=False),
    string("status", 16, default="open"),
    user_ref("assignee_id", index=True),
    ref("milestone_id", "milestones.id", required=False, index=True),
    ref("cta_id", "ctas.id", required=False, index=True),
    day("done_on", required=False),
    string("source", required=False),
    Index("ix_tasks_status_due", "status", "due", "customer_id", "deleted_at"),
)

# A named list of task and milestone templates; `on_start` ones apply to every customer added
# (anchored on its start date), others through a stage, a rule or a CTA.
playbooks = Table(
    "playbooks",
    metadata,
    *record(),
    string("name", 64),
    string("description", required=False),
    flag("on_start", False),
    partial_unique("uq_playbooks_name", "name"),
)

# A template: a task or milestone due `offset` after an anchor (stage entry, start, renewal,
# or the day the playbook runs), with reminders and recurrence for milestones.
playbook_items = Table(
    "playbook_items",
    metadata,
    *record(),
    ref("playbook_id", "playbooks.id", index=True),
    number("position"),
    string("kind", 16),
    string("title"),
    string("anchor", 16, default="entry"),
    string("offset", default="0d"),
    string("remind", default=""),  # offsets joined by ';'
    string("every", required=False),
    string("milestone", required=False),  # a task goes under the milestone item with this title
)

# Append-only: a playbook applied to a customer, once per `run_key` (a stage entry's
# transition uuid, `start`, or a CTA's uuid), guaranteed by the unique key.
playbook_runs = Table(
    "playbook_runs",
    metadata,
    *identity(),
    ref("customer_id", "customers.id"),
    string("playbook", 64),
    string("run_key", 64),
    day("anchor_day"),
    moment("created_at"),
    Index("uq_playbook_runs", "customer_id", "playbook", "run_key", unique=True),
)

# Moves customers between stages and opens CTAs when all its conditions hold.
rules = Table(
    "rules",
    metadata,
    *record(),
    string("name", 64),
    number("position"),
    string("from_stages"),  # stage keys joined by ';'
    string("to_stage", required=False),
    string("conditions"),  # a JSON list of `FIELD OP VALUE` strings
    string("cta", required=False),  # `TYPE:REASON`
    string("playbook", required=False),
    flag("enabled", True),
    # Into a terminal stage: the churn reason its moves record (one of the model's list).
    string("churn_reason", required=False),
    partial_unique("uq_rules_name", "name"),
)

# Append-only: a rule fired for a customer during one stay in a stage. The unique key makes a
# rule fire at most once per stay, so a CTA a person closed is not reopened tomorrow.
rule_firings = Table(
    "rule_firings",
    metadata,
    *identity(),
    string("rule", 64),
    ref("customer_id", "customers.id"),
    string("stay", 36),
    day("fired_on"),
    moment("created_at"),
    Index("uq_rule_firings", "rule", "customer_id", "stay", unique=True),
)

# Append-only: a customer's health score from a day on, written whenever it is set, so
# `customer show` can draw health over time.
health_log = Table(
    "health_log",
    metadata,
    *identity(),
    ref("customer_id", "customers.id"),
    day("on"),
    number("health"),
    moment("created_at"),
    Index("ix_health_log_customer_on", "customer_id", "on"),
)

# The scorecard's latest score of each customer it scores, and the day it was scored: the
# tick rewrites these narrow rows (tens of thousands a day), not the customers' rows and their
# indexes. A customer's health is this score unless a health set by hand holds over it (its
# `health_override_until` is on or after the score's day); else its own `health` column (set
# by hand, imported, or with no score). A health set by hand removes the customer's score; a
# removed scorecard folds its scores back into the customers' column (clm.domain.health_now).
health_scores = Table(
    "health_scores",
    metadata,
    Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True),
    number("health"),
    day("on"),
)

# Append-only: every change of a customer's ARR, dated as --today saw it. `arr` is the
# customer's ARR from that day on (a churned customer keeps it, as lost ARR); `change` is what
# the change did to the live book's ARR (a churn takes the whole ARR off, a reactivation puts
# it back). The live book's ARR on a day is the sum of the changes up to it.
arr_log = Table(
    "arr_log",
    metadata,
    *identity(),
    ref("customer_id", "customers.id"),
    day("on"),
    string("kind", 16),  # new, expansion, contraction, churn, reactivation
    Column("arr", Float, nullable=False),
    Column("change", Float, nullable=False),
    moment("created_at"),
    Index("ix_arr_log_customer_on", "customer_id", "on"),
    Index("ix_arr_log_on", "on", "kind"),
    # Sums of a customer's changes by kind and day from the index alone (migration 0019).
    Index("ix_arr_log_covering", "customer_id", "on", "kind", "change"),
)

# What is to be sent: one message per user (or team), day and kind (`digest`, or
# `blocked:UUID` for an immediate one), written in the tick's transaction and sent after its
# commit. The unique keys make re-runs, catch-up and concurrent ticks queue one digest a person
# (a team) a day; the uuid is the Message-ID (the idempotency key of a webhook), so a re-send
# after a crash is the same message. Not merged: only the copy that ticked sends.
# `next_try_at` is both the backoff and the lease of the sender sending it.
outbox = Table(
    "outbox",
    metadata,
    *identity(),
    user_ref("user_id"),  # to a user, or
    string("team", 64, required=False),  # to a team's channel (team_channels)
    day("day"),
    string("kind", 64),
    string("payload"),  # JSON: the items the message tells, each with a key
    string("state", 16, default="pending"),  # pending, sent or failed
    number("attempts", default=0),
    moment("next_try_at", required=False),
    string("channel", 16, required=False),  # how it went (or was last tried)
    string("error", required=False),  # the last try's failure
    moment("sent_at", required=False),
    moment("created_at"),
    Index("uq_outbox", "user_id", "day", "kind", unique=True),
    Index("uq_outbox_team", "team", "day", "kind", unique=True),
    Index("ix_outbox_state", "state", "next_try_at"),
)

# The usage metrics a book tracks (`active_users`): their points are in metric_points.
metrics = Table(
    "metrics",
    metadata,
    *record(),
    string("name", 64),
    string("description", required=False),
    partial_unique("uq_metrics_name", "name"),
)

# A metric's value for a customer on a day: one per (metric, customer, day), upserted, so a
# re-import changes nothing. Keyed (and on SQLite clustered, without a rowid) metric first: a
# rule or scorecard reading one metric reads that metric's points alone; the customer index
# serves one customer's page.
metric_points = Table(
    "metric_points",
    metadata,
    ref("metric_id", "metrics.id"),
    ref("customer_id", "customers.id"),
    day("day"),
    Column("value", Float, nullable=False),
    # The hybrid clock's stamp of the write that set the value, as a number (its milliseconds
    # and counter, clm.storage.clock.stamp_number): a merge keeps the later of two values.
    Column("stamp", BigInteger, nullable=True),
    PrimaryKeyConstraint("metric_id", "customer_id", "day"),
    Index("ix_metric_points_customer", "customer_id"),
    sqlite_with_rowid=False,
)

# Each customer's latest point of each metric (its day and value), one row a (customer,
# metric) that has points, kept by every write of points (clm.domain.metric_latest). Keyed
# customer first: the tick's scorecard reads every customer's latest values in one pass of
# this narrow table in customer order, not four seeks a customer into the points. The index
# on the day tells the tick at once whether any value is dated after the day it scores.
metric_latest = Table(
    "metric_latest",
    metadata,
    ref("customer_id", "customers.id"),
    ref("metric_id", "metrics.id"),
    day("day"),
    Column("value", Float, nullable=False),
    PrimaryKeyConstraint("customer_id", "metric_id"),
    Index("ix_metric_latest_day", "day"),
    sqlite_with_rowid=False,
)

# The audit log: every change to a record of the audited tables (`clm.storage.audit`), field
# by field, written by database triggers so set-based writes stay set-based. `by` is the clm
# user the command ran as, `role` the server role that connected (none on a file); a created
# record is one row of field `*`. Append-only; copies merge it as a union by uuid. Values are
# text as the database renders them (dates ISO, booleans 0/1 or true/false).
audit_log = Table(
    "audit_log",
    metadata,
    *identity(),
    string("at", 32),  # ISO 8601 UTC, to the millisecond (written by SQL on both dialects)
    string("by", 64, required=False),
    string("role", 64, required=False),
    string("command", required=False),
    string("record", 32),  # the table
    string("row_uuid", 36),
    string("customer_uuid", 36, required=False),
    string("field", 64),
    string("old", required=False),
    string("new", required=False),
    Index("ix_audit_log_row_field", "row_uuid", "field"),
    Index("ix_audit_log_customer", "customer_uuid"),
)

# SQLite only (a server keeps these per transaction in settings): who runs the command that
# holds the write lock, and which command, for the audit triggers to read. One row, id 1.
audit_context = Table(
    "audit_context",
    metadata,
    serial(),
    string("by", 64, required=False),
    string("command", required=False),
    flag("quiet", False),  # a merge: the changes it writes are logged in the copy they came from
)

# Custom fields on customers, defined by the lifecycle model: a name, a kind (number, text,
# date, choice, bool) and, for a choice, its values (joined by ';').
fields = Table(
    "fields",
    metadata,
    *record(),
    string("name", 64),
    string("kind", 16),
    string("choices", required=False),
    string("description", required=False),
    partial_unique("uq_fields_name", "name"),
)

# A customer's value of a custom field: one row per customer and field, the value in the
# column of its kind (a number or bool in `number_value`, text or a choice in `text_value`, a
# date in `date_value`), so `--where` and rules compare typed columns in SQL. `changed_on` is
# the day (as --today saw it) it was last set: the day a rule on it became true.
field_values = Table(
    "field_values",
    metadata,
    *record(),
    ref("customer_id", "customers.id"),
    ref("field_id", "fields.id"),
    Column("number_value", Float, nullable=True),
    string("text_value", required=False),
    day("date_value", required=False),
    day("changed_on"),
    partial_unique("uq_field_values", "customer_id", "field_id"),
    Index("ix_field_values_number", "field_id", "number_value"),
    Index("ix_field_values_text", "field_id", "text_value"),
    Index("ix_field_values_date", "field_id", "date_value"),
)

# The account's people: a role from the model's list, at most one primary contact per
# customer, and the day a contact left (which fires `contact_left:ROLE`).
contacts = Table(
    "contacts",
    metadata,
    *record(),
    ref("customer_id", "customers.id", index=True),
    string("name"),
    string("email", required=False),
    string("phone", required=False),
    string("role", 32, required=False),
    flag("is_primary", False),
    day("left_on", required=False),
    partial_unique(
        "uq_contacts_primary", "customer_id", where=text("is_primary AND deleted_at IS NULL")
    ),
)

# History: rows only ever appended, never edited or tombstoned. Copies of a database merge
# them as a union by uuid.
APPEND_ONLY = (
    transitions,
    notes,
    reminder_log,
    rule_firings,
    playbook_runs,
    health_log,
    owner_changes,
    arr_log,
    audit_log,
)
