"""The SQLModel tables. Commands and the domain layer use them through SQLAlchemy Core."""

from datetime import date, datetime

from pydantic import ConfigDict
from sqlalchemy import Column, ForeignKey, Index, Integer, text
from sqlmodel import Field, SQLModel

LIVE = text("deleted_at IS NULL")


def partial_unique(name: str, *columns: str, where=LIVE) -> Index:
    """A unique index over the rows `where` holds (by default: not tombstoned, so a removed
    slug can be reused). `clm.db` gives PostgreSQL the same condition when it connects to one:
    naming it here would load SQLAlchemy's PostgreSQL dialect on every start."""
    return Index(name, *columns, unique=True, sqlite_where=where, info={"where": where})


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
        Index("ix_customers_stage_entered", "stage", "stage_entered"),
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
    __table_args__ = (Index("ix_transitions_customer_on", "customer_id", "on"),)
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


users = User.__table__
stages = Stage.__table__
customers = Customer.__table__
customer_tags = CustomerTag.__table__
customer_influencers = CustomerInfluencer.__table__
transitions = Transition.__table__
notes = Note.__table__
meta = Meta.__table__
migrations = Migration.__table__
