"""Import: every row of a file checked, then written in the caller's one transaction with
batched Core inserts and updates, so a bad row imports nothing.

Rows match stored ones by uuid, else by natural key (a customer's slug, a user's handle, a
milestone's customer, title and due date; a task without a uuid by its id), and update them,
stamping each changed field; the others are created. A column the file has sets the field (an
empty cell empties it, or for a field that cannot be empty keeps it); a column it lacks leaves
the field as it is. Into an empty table a file's ids are kept, so an exported book imported
into a new database exports the same bytes. Import loads data as it is: no playbook runs and
no rule fires (the next tick does that). A customer's `stage_entered` is recorded as its entry
into its stage: a transition, and its stay.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from functools import lru_cache
from itertools import chain, repeat
from typing import BinaryIO, ClassVar

from sqlalchemy import Connection, delete, select

from clm.dates import parse_duration
from clm.db import in_values, insert_new, insert_rows, log_bulk_write, suspend_audit
from clm.domain.arr_history import arr_moved, log_arr, terminal_stages
from clm.domain.custom_fields import set_many
from clm.domain.engine.field_defs import field_defs
from clm.domain.engine.fields import with_change_days
from clm.domain.health import log_health
from clm.domain.health_now import customer_columns, drop_scores
from clm.domain.holidays import holiday_days
from clm.domain.milestones import check_recurrence, log_offset, logged_offset, settle_reminders
from clm.domain.records import check_handle, new_uuid
from clm.domain.transfer import READ_COLUMNS
from clm.domain.transfer import values as v
from clm.domain.transfer.batches import (
    BATCH,
    SHOWN_CHANGES,
    SHOWN_PROBLEMS,
    SKIP,
    Importer,
    ImportResult,
    insert,
    linked_values,
    replace_links,
    user_key,
)
from clm.domain.transfer.files import Records
from clm.domain.transitions import StageEntry, record_entries
from clm.errors import Invalid, did_you_mean
from clm.plain import LINE_CHARS
from clm.storage.tables import (
    arr_log,
    contacts,
    ctas,
    customer_influencers,
    customer_tags,
    customers,
    health_log,
    milestone_collaborators,
    milestone_reminders,
    milestones,
    reminder_log,
    stages,
    tasks,
    transitions,
    users,
)


def import_table(
    conn: Connection,
    today: date,
    by: str | None,
    table: str,
    stream: BinaryIO,
    fmt: str,
    mapping: dict[str, str | None],
    progress: Callable[[int, int], None] | None = None,
    value_map: dict[str, dict[str, str]] | None = None,
    date_format: str | None = None,
) -> ImportResult:
    """Import one file into `table` (users, customers, milestones or tasks) inside the
    caller's write transaction; `Problems` (clm.errors) lists what is wrong and writes nothing.
    `progress(rows, bytes_read)` is called after each batch. `value_map` maps cells of a
    column to clm's values (a CRM's stage names); `date_format` is how the file writes dates."""
    importer = IMPORTERS[table](conn, today, by)
    if value_map:
        importer.value_map = value_map
    if date_format:
        importer.use_date_format(date_format)
    columns = (*READ_COLUMNS[table], *getattr(importer, "custom", ()))
    records = Records(stream, fmt, columns, importer.required, mapping)
    # One line in the audit log for the whole import, not one per field of a million rows.
    suspend_audit(conn)
    result = importer.run(records, progress)
    summary = f"import: {result.created} created, {result.updated} updated"
    log_bulk_write(conn, table, summary)
    return result


# --- users -------------------------------------------------------------------------------


class KeyedImporter(Importer):
    """Rows with a unique key column of their own (a user's handle, a customer's slug)."""

    def keys(self, values: dict) -> list:
        return [*super().keys(values), (self.key_column, values[self.key_column])]

    def label(self, values: dict, row=None) -> str:
        return getattr(row, self.key_column) if row is not None else values[self.key_column]

    def match_key(self, rest, batch):
        return self.match_column(rest, batch, self.key_column)

    def check_renames(self, renamed: dict) -> None:
        """A key changed to another live row's: `renamed` is new key -> (line, stored row)."""
        if not renamed:
            return
        key = self.table.c[self.key_column]
        query = select(self.table.c.id, key).where(
            in_values(self.conn, key, list(renamed)), self.table.c.deleted_at.is_(None)
        )
        for other_id, value in self.conn.execute(query):
            line, row = renamed[value]
            if other_id != row.id:
                self.problem(
                    line, self.key_column, f"'{value}' is another {self.noun}'s {self.key_column}"
                )


def _removed_on(day: date | None) -> dict:
    """A removed user's removal: the start of that day (UTC)."""
    if day is None:
        return {}
    return {"deleted_at": datetime.combine(day, time.min, tzinfo=UTC), "default_owner": False}


class UserImporter(KeyedImporter):
    table, noun = users, "user"
    key_column = "handle"
    required = ("handle",)
    parsers: ClassVar[dict[str, Callable]] = {
        "handle": v.stripped,
        "name": v.text,
        "email": v.text,
        "team": v.stripped,
        "default_owner": v.flag,
        "uuid": v.uuid_text,
        "removed": v.iso_date,
    }
    defaulted = frozenset({"default_owner"})
    SCALARS = ("handle", "name", "email", "team", "default_owner")

    # A row with a `removed` day (from `export users --all`) is a removed user: created as
    # one, matched by its uuid (a live user may have its handle now; with no uuid, a live
    # user of its handle is a clash), never made live here nor a live user removed (`clm user
    # rm` hands their work over).

    def check(self, line: int, values: dict) -> None:
        for column in ("handle", "team"):
            if values.get(column) is not None:
                try:
                    values[column] = check_handle(values[column], column)
                except Invalid as exc:
                    self.problem(line, column, str(exc))
        if values.get("email") is not None and "@" not in values["email"]:
            self.problem(line, "email", f"invalid email '{values['email']}': expected name@domain")
        if values.get("removed") and values.get("default_owner"):
            self.problem(line, "default_owner", "a removed user is no team's default owner")

    def keys(self, values: dict) -> list:
        if values.get("removed"):
            return Importer.keys(self, values)
        return super().keys(values)

    def match_key(self, rest, batch):
        keyed = [
            (i, values) for i, values in rest if not (values.get("removed") and values.get("uuid"))
        ]
        return super().match_key(keyed, batch)

    def label(self, values: dict, row=None) -> str:
        removed = " (removed)" if row is None and values.get("removed") else ""
        return super().label(values, row) + removed

    def matched_removed(self, line: int, values: dict, row) -> None:
        if values.get("removed"):
            self.result.unchanged += 1  # removed here too: nothing to change
        else:
            super().matched_removed(line, values, row)

    def check_batch(self, creates, updates):
        """A handle changed to another user's; a team's second default owner; a live user
        the file says was removed."""
        for line, values, row in updates:
            if values.get("removed"):
                self.problem(
                    line,
                    "removed",
                    f"user '{row.handle}' is not removed here: clm user rm {row.handle} removes "
                    "them and hands their work over",
                )
        renamed = {
            values["handle"]: (line, row)
            for line, values, row in updates
            if values["handle"] != row.handle
        }
        self.check_renames(renamed)
        good = [
            (line, values, row)
            for line, values, row in updates
            if self._owner_ok(line, {"team": row.team, "default_owner": row.default_owner} | values)
        ]
        return [(line, values) for line, values in creates if self._owner_ok(line, values)], good

    def _owner_ok(self, line: int, values: dict) -> bool:
        """At most one default owner per team, and only of a team."""
        if not values.get("default_owner"):
            return True
        team = values.get("team")
        if team is None:
            self.problem(line, "default_owner", "a default owner needs a team")
            return False
        earlier = self.default_owners.setdefault(team, line)
        if earlier != line:
            self.problem(
                line, "default_owner", f"team {team} has its default owner on line {earlier}"
            )
            return False
        return True

    def _demote(self, teams: dict[str, int | None]) -> None:
        """The current default owners of teams that get a new one stop being it (as
        `user add --default-owner` does)."""
        self.one_flag_per_group("team", "default_owner", teams)

    def create(self, creates):
        claims = {values["team"]: None for _, values in creates if values.get("default_owner")}
        if claims:
            self._demote(claims)
        rows = [
            self.new_row(
                values,
                handle=values["handle"],
                name=values.get("name"),
                email=values.get("email"),
                team=values.get("team"),
                default_owner=values.get("default_owner", False),
            )
            | _removed_on(values.get("removed"))
            for _, values in creates
        ]
        insert(self.conn, users, rows)
        for row in rows:
            if row["deleted_at"] is None or row["handle"] not in self.user_ids:
                self.user_ids[row["handle"]] = row["id"]  # a live user's handle wins
            self.handles[row["id"]] = row["handle"]

    def update(self, updates):
        changed_rows, claims = [], {}
        for _line, values, row in updates:
            changes = self.changes(values, row)
            if self.counted(values, row, [(c, getattr(row, c), new) for c, new in changes.items()]):
                changed_rows.append((row, changes, []))
            if values.get("default_owner", row.default_owner):
                claims[values.get("team", row.team)] = row.id
        if claims:
            self._demote(claims)
        self.write_updates(changed_rows)


# --- customers ---------------------------------------------------------------------------


class CustomerImporter(KeyedImporter):
    table, noun = customers, "customer"
    key_column = "slug"
    required = ("name",)
    inserts_new = True
    parsers: ClassVar[dict[str, Callable]] = {
        "slug": v.stripped,
        "name": v.stripped,
        "stage": v.stripped,
        "stage_entered": v.iso_date,
        "owner": v.stripped,
        "start": v.iso_date,
        "renewal": v.iso_date,
        "term": v.term,
        "arr": v.amount,
        "health": v.score,
        "lead_score": v.score,
        "source": v.stripped,
        "tags": v.items,
        "influencers": v.items,
        "uuid": v.uuid_text,
    }
    defaulted = frozenset({"stage", "stage_entered", "start", "term"})
    deferrable: ClassVar[dict] = {
        customers: ("uq_customers_slug",),  # matching by slug goes through it
        transitions: (),
        health_log: (),
        customer_tags: (),
        customer_influencers: (),
        arr_log: (),  # a new customer's ARR: its entry as new business
    }
    SCALARS = (
        "slug",
        "name",
        "stage",
        "stage_entered",
        "owner_id",
        "start",
        "renewal",
        "term",
        "arr",
        "health",
        "lead_score",
        "source",
    )

    def __init__(self, conn, today, by):
        super().__init__(conn, today, by)
        from clm.domain.customers import SLUG, TAG, slugify
        from clm.domain.stages import entry_stage

        self.stages = set(conn.scalars(select(stages.c.key).where(stages.c.deleted_at.is_(None))))
        self.entry_stage = entry_stage(conn)
        # Custom fields are columns too, by name: typed and checked as `--set` checks them.
        self.custom = field_defs(conn)
        self.parsers = self.parsers | {
            name: _field_parser(field, today) for name, field in self.custom.items()
        }
        self.slug_ok, self.tag_ok, self.slugify = SLUG.fullmatch, TAG.fullmatch, slugify

    def check(self, line: int, values: dict) -> None:
        slug = values.get("slug")
        if slug is not None:
            slug = slug.lower()
            if not self.slug_ok(slug) or len(slug) > 128:
                self.problem(
                    line,
                    "slug",
                    f"invalid slug '{slug}': use lowercase letters and digits joined by '-'",
                )
            values["slug"] = slug
        elif values.get("name") is not None:
            values["_derived"] = True
            values["slug"] = self.slugify(values["name"])
            if not values["slug"]:
                self.problem(
                    line, "slug", f"cannot derive a slug from '{values['name']}': give one"
                )
        if values.get("stage") is not None:
            stage = values["stage"].lower()
            if stage not in self.stages:
                self.problem(line, "stage", f"no stage '{stage}'{did_you_mean(stage, self.stages)}")
            values["stage"] = stage
        if values.get("owner") is not None:
            values["owner_id"] = self.user(line, "owner", values["owner"])
            values["owner"] = self.handles.get(values["owner_id"])
        elif "owner" in values:
            values["owner_id"] = None
        if values.get("influencers"):
            ids = [self.user(line, "influencers", handle) for handle in values["influencers"]]
            values["influencers"] = sorted({self.handles[i] for i in ids if i is not None})
            values["influencer_ids"] = sorted(set(filter(None, ids)))
        elif "influencers" in values:
            values["influencer_ids"] = []
        if values.get("tags"):
            for tag in values["tags"]:
                if not self.tag_ok(tag):
                    self.problem(
                        line, "tags", f"invalid tag '{tag}': use up to 64 characters without ';'"
                    )
            values["tags"] = sorted(set(values["tags"]))
        entered = values.get("stage_entered")
        if entered is not None and entered > self.today:
            self.problem(line, "stage_entered", f"{entered} is after today ({self.today})")

    def check_batch(self, creates, updates):
        renamed = {
            values["slug"]: (line, row)
            for line, values, row in updates
            if not values.get("_derived") and values["slug"] != row.slug
        }
        self.check_renames(renamed)
        good = []
        for line, values, row in updates:
            start, renewal = values.get("start", row.start), values.get("renewal", row.renewal)
            if self._dates_ok(line, start, renewal):
                good.append((line, values, row))
        creates = [
            (line, values)
            for line, values in creates
            if self._dates_ok(line, values.get("start", self.today), values.get("renewal"))
        ]
        return creates, good

    def stored_columns(self) -> list:
        return customer_columns()  # its health as now: the score, if the scorecard set it

    def _dates_ok(self, line: int, start: date, renewal: date | None) -> bool:
        if renewal is not None and renewal <= start:
            self.problem(line, "renewal", f"{renewal} is not after the start {start}")
            return False
        return True

    # A new customer's columns, in the order `create` gives them.
    CREATED_COLUMNS = (
        "id", "uuid", "created_at", "updated_at", "stamps", "slug", "name", "stage",
        "stage_entered", "owner_id", "start", "renewal", "term", "arr", "health",
        "lead_score", "source", "health_on", "lead_score_on", "arr_on", "stay",
    )  # fmt: skip

    def create(self, creates):
        """New customers as rows of tuples straight to the driver, with their stage entries,
        health log, tags and influencers."""
        today, now, stamps, by = self.today, self.now, self.created_stamps, self.by
        entry_stage, take_id = self.entry_stage, self.take_id
        rows, entries, scores, tags, followers, revenue = [], [], [], [], [], []
        terminal = terminal_stages(self.conn)
        for _, values in creates:
            get = values.get
            row_id = take_id(values)
            start = get("start", today)
            entered = get("stage_entered")
            if entered is None:
                entered = min(start, today)
            stage = get("stage", entry_stage)
            owner_id, arr, health, lead = (
                get("owner_id"),
                get("arr"),
                get("health"),
                get("lead_score"),
            )
            stay = new_uuid()
            rows.append((
                row_id, get("uuid") or new_uuid(), now, now, stamps, values["slug"],
                values["name"], stage, entered, owner_id, start, get("renewal"),
                get("term", "1y"), arr, health, lead, get("source"),
                None if health is None else today, None if lead is None else today,
                None if arr is None else today, stay,
            ))  # fmt: skip
            entries.append(
                StageEntry(stay, row_id, None, stage, entered, by, None, "imported", None,
                           owner_id, now)
            )  # fmt: skip
            if health is not None:
                scores.append((new_uuid(), row_id, today, health, now))
            revenue += arr_moved(row_id, entered, None, arr, True, stage not in terminal)
            if get("tags"):
                tags += [(row_id, tag) for tag in values["tags"]]
            if get("influencer_ids"):
                followers += [(row_id, user_id) for user_id in values["influencer_ids"]]
        self.insert_new(rows, self.CREATED_COLUMNS)
        if any(name in values for _, values in creates for name in self.custom):
            slugs = {values["slug"]: values for _, values in creates}
            made = self.conn.execute(
                select(customers.c.id, customers.c.slug).where(
                    in_values(self.conn, customers.c.slug, list(slugs)),
                    customers.c.deleted_at.is_(None),
                )
            )
            self._set_custom([(row.id, slugs[row.slug]) for row in made])
        record_entries(self.conn, entries)
        health_columns = ("uuid", "customer_id", "on", "health", "created_at")
        insert_rows(self.conn, health_log, health_columns, scores)
        log_arr(self.conn, revenue)
        insert_rows(self.conn, customer_tags, ("customer_id", "tag"), tags)
        insert_rows(self.conn, customer_influencers, ("customer_id", "user_id"), followers)

    def _entry(self, customer_id, from_stage, to_stage, on, stay, from_owner, to_owner):
        """The transition recording an imported stage entry."""
        return StageEntry(stay, customer_id, from_stage, to_stage, on, self.by, None,
                          "imported", from_owner, to_owner, self.now)  # fmt: skip

    def _set_custom(self, rows: list[tuple[int, dict]]) -> dict:
        custom = self.custom
        return set_many(
            self.conn,
            self.today,
            [
                (customer_id, {custom[k]: value for k, value in values.items() if k in custom})
                for customer_id, values in rows
            ],
        )

    def update(self, updates):
        custom_changes = self._set_custom([(row.id, values) for _, values, row in updates])
        ids = [row.id for _, _, row in updates]
        has = set().union(*(values.keys() for _, values, _ in updates))
        tags = (
            linked_values(self.conn, customer_tags, "customer_id", "tag", ids)
            if "tags" in has
            else {}
        )
        followers = (
            linked_values(self.conn, customer_influencers, "customer_id", "user_id", ids)
            if "influencers" in has
            else {}
        )
        changed_rows, entries, new_tags, new_followers = [], [], {}, {}
        for _line, values, row in updates:
            if values.get("_derived"):
                values = {key: value for key, value in values.items() if key != "slug"}
            changes = self.changes(values, row)
            if "stage" in changes and "stage_entered" not in values:
                changes["stage_entered"] = self.today
            shown = [
                (
                    "owner" if c == "owner_id" else c,
                    self.handles.get(getattr(row, c)) if c == "owner_id" else getattr(row, c),
                    self.handles.get(new) if c == "owner_id" else new,
                )
                for c, new in changes.items()
            ]
            touched = []
            if "tags" in values and values["tags"] != tags[row.id]:
                touched += self.set_changed("tags", tags[row.id], values["tags"])
                new_tags[row.id] = values["tags"]
                shown.append(("tags", tags[row.id], values["tags"]))
            if "influencers" in values and values["influencer_ids"] != followers[row.id]:
                touched += self.set_changed(
                    "influencers", followers[row.id], values["influencer_ids"], people=True
                )
                new_followers[row.id] = values["influencer_ids"]
                old = sorted(self.handles[i] for i in followers[row.id])
                shown.append(("influencers", old, values["influencers"]))
            shown += custom_changes.get(row.id, [])
            if not self.counted(values, row, shown):
                continue
            changes = with_change_days(changes, self.today)
            if "stage" in changes:
                changes["stay"] = new_uuid()
                entries.append(
                    self._entry(
                        row.id,
                        row.stage,
                        changes["stage"],
                        changes.get("stage_entered", row.stage_entered),
                        changes["stay"],
                        row.owner_id,
                        changes.get("owner_id", row.owner_id),
                    )
                )
            changed_rows.append((row, changes, touched))
        self.write_updates(changed_rows)
        record_entries(self.conn, entries)
        typed = [row.id for row, changes, _ in changed_rows if changes.get("health") is not None]
        log_health(
            self.conn,
            [(row.id, self.today, changes["health"]) for row, changes, _ in changed_rows
             if changes.get("health") is not None],
        )  # fmt: skip
        drop_scores(self.conn, typed)  # an imported health holds until the next score
        terminal = terminal_stages(self.conn)
        revenue = []
        for row, changes, _ in changed_rows:
            if {"arr", "stage"} & changes.keys():
                on = changes["stage_entered"] if "stage" in changes else self.today
                after = changes.get("arr", row.arr)
                now_live = changes.get("stage", row.stage) not in terminal
                revenue += arr_moved(row.id, on, row.arr, after, row.stage not in terminal,
                                     now_live)  # fmt: skip
        log_arr(self.conn, revenue)
        replace_links(self.conn, customer_tags, "customer_id", "tag", new_tags)
        replace_links(self.conn, customer_influencers, "customer_id", "user_id", new_followers)


# --- milestones and tasks: rows of a customer ---------------------------------------------


class CustomerRowImporter(Importer):
    """Rows that belong to a customer, named by its slug in the file."""

    keeps_ids = True

    def __init__(self, conn, today, by):
        super().__init__(conn, today, by)
        query = select(customers.c.slug, customers.c.id).where(customers.c.deleted_at.is_(None))
        self.customer_ids: dict[str, int] = dict(conn.execute(query).all())
        self.slugs = {customer_id: slug for slug, customer_id in self.customer_ids.items()}

    def check(self, line: int, values: dict) -> None:
        if values.get("customer") is None:
            return
        slug = values["customer"].lower()
        values["customer_id"] = self.customer_ids.get(slug)
        if values["customer_id"] is None:
            close = (
                [s for s in self.customer_ids if s[:2] == slug[:2]]
                if self.problem_count <= SHOWN_PROBLEMS
                else []
            )
            self.problem(line, "customer", f"no customer '{slug}'{did_you_mean(slug, close)}")
        values["customer"] = slug

    def label(self, values: dict, row=None) -> str:
        number = f" {row.id}" if row is not None else ""
        return f"{self.noun}{number} ({values['customer']}: {values.get('title') or row.title})"


def _field_parser(field, today: date) -> Callable:
    """A custom field's cells as stored values (an empty one removes it; so does one of spaces
    alone, as in the built-in text columns)."""

    def parse(raw):
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, bool):
            raw = str(raw).lower()
        try:
            return field.parse(str(raw), today)
        except Invalid as exc:
            raise v.BadValue(str(exc)) from None

    return parse


@lru_cache(maxsize=1024)
def _offsets(listed: tuple[str, ...]) -> tuple[str, ...]:
    """Reminder offsets in their stored form, once each, sorted."""
    return tuple(sorted({v.duration(offset) for offset in listed}))


_NO_DAYS_OFF: frozenset[date] = frozenset()


@lru_cache(maxsize=65536)
def _recurrence_problem(every: str, due: date) -> str | None:
    """What is wrong with a series starting on `due` and recurring `every`, or None (a few
    recurrences and days make most of a file's rows: each pair is checked once)."""
    try:
        check_recurrence(every, due, due, 0)
    except Invalid as exc:
        return str(exc)
    return None


def _reason_given(status: str, reason: str | None) -> bool:
    """Whether a milestone of this status has the reason it needs (a blocked one, one)."""
    return status != "blocked" or bool(reason)


@lru_cache(maxsize=65536)
def _remind_on(offset: str, due: date, days_off: frozenset[date]) -> date:
    return parse_duration(offset).before(due, days_off)


def _fired(item: str) -> tuple[str, date]:
    """A `reminded` item, `OFFSET@DAY` (DAY an ISO date, or a day number for a long offset,
    as the reminder log keeps it): the offset and the day it fired for."""
    offset, at, day = item.strip().rpartition("@")
    if not at:
        raise v.BadValue(f"'{item}' is not OFFSET@DAY (like 1w@2026-12-24)")
    offset = v.duration(offset)
    try:
        return offset, date.fromordinal(int(day)) if day.isdigit() else date.fromisoformat(day)
    except ValueError:
        raise v.BadValue(f"'{item}': '{day}' is not a date (YYYY-MM-DD)") from None


def _log_entries(milestone_uuid: str, fired, now: datetime) -> list[dict]:
    """Reminder log rows for (offset, day) pairs a milestone fired: an offset's first day under
    the bare offset, any later one under its dated key (as the tick logs them)."""
    entries, seen = [], set()
    for offset, day in sorted(fired):
        key = offset if offset not in seen else log_offset(offset, day)
        seen.add(offset)
        entries.append({
            "uuid": new_uuid(), "milestone_uuid": milestone_uuid, "offset": key,
            "remind_on": day, "fired_on": day, "recipients": "", "created_at": now,
        })  # fmt: skip
    return entries


class MilestoneImporter(CustomerRowImporter):
    table, noun = milestones, "milestone"
    key_column = "title"
    required = ("customer", "title", "due")
    inserts_new = True
    STATUSES = ("open", "done", "blocked", "cancelled")
    UNFINISHED = ("open", "blocked")
    parsers: ClassVar[dict[str, Callable]] = {
        "id": v.identifier,
        "customer": v.stripped,
        "title": v.stripped,
        "due": v.iso_date,
        "status": v.one_of(STATUSES),
        "remind": v.items,
        "every": v.recurrence,
        "collaborators": v.items,
        "pinned": v.flag,
        "blocked_reason": v.text,
        "done_on": v.iso_date,
        "uuid": v.uuid_text,
        "reminded": v.items,
    }
    defaulted = frozenset({"status", "pinned"})
    deferrable: ClassVar[dict] = {
        milestones: ("ix_milestones_customer_id",),  # matching by natural key goes through it
        milestone_reminders: (),
        milestone_collaborators: (),
    }
    SCALARS = (
        "customer_id",
        "title",
        "due",
        "status",
        "every",
        "pinned",
        "blocked_reason",
        "done_on",
    )

    def __init__(self, conn, today, by):
        super().__init__(conn, today, by)
        self.days_off = holiday_days(conn)
        self.fired_any = conn.scalar(select(reminder_log.c.id).limit(1)) is not None
        # Into an empty table: a byte a customer id, set once a row of the customer is written.
        self.written = bytearray(max(self.slugs, default=0) + 1)

    def check(self, line: int, values: dict) -> None:
        super().check(line, values)
        if "remind" in values:
            try:
                values["remind"] = list(_offsets(tuple(values["remind"])))
            except v.BadValue:
                for offset in values["remind"]:
                    try:
                        v.duration(offset)
                    except v.BadValue as exc:
                        self.problem(line, "remind", str(exc))
        for offset in values.get("remind") or () if values.get("due") else ():
            try:  # a reminder before the calendar begins (due 0001-01-15, 1m before)
                _remind_on(offset, values["due"], _NO_DAYS_OFF)
            except Invalid as exc:
                self.problem(line, "remind", str(exc))
        if "reminded" in values:
            fired = set()
            for item in values["reminded"] or ():
                try:
                    fired.add(_fired(item))
                except v.BadValue as exc:
                    self.problem(line, "reminded", str(exc))
            values["reminded"] = sorted(fired)
        # a new milestone is the first of its series, anchored on its due date
        every, due = values.get("every"), values.get("due")
        if every and due and (wrong := _recurrence_problem(every, due)) is not None:
            self.problem(line, "every", wrong)
        if not values.get("collaborators", True):
            values["collaborator_ids"] = []
        elif "collaborators" in values:
            ids = [self.user(line, "collaborators", handle) for handle in values["collaborators"]]
            values["collaborator_ids"] = sorted(set(filter(None, ids)))
            values["collaborators"] = sorted(self.handles[i] for i in values["collaborator_ids"])

    def keys(self, values: dict) -> list:
        key = (values["customer_id"], values["title"], values["due"])
        return [*super().keys(values), ("title", key)]

    def match_key(self, rest, batch):
        """By customer, title and due date: the customers' milestones are looked at (their
        keys only, then the whole rows of those that match)."""
        wanted = {(values["customer_id"], values["title"], values["due"]): i for i, values in rest}
        matched = self._stored_matches(wanted)
        stored = []
        for i, ids in matched.items():
            line = batch[i][0]
            if any(self.created_here(row_id) for row_id in ids):
                self._repeated(line, "title", batch[i][1]["title"])
                yield i, SKIP
            elif len(ids) > 1:
                listed = " and ".join(map(str, sorted(ids)))
                self.problem(
                    line, "title", f"matches milestones {listed}: give its uuid to say which"
                )
                yield i, SKIP
            else:
                stored.append((i, ids[0]))
        yield from self.rows_by_id(stored)

    def _stored_matches(self, wanted: dict[tuple, int]) -> dict[int, list[int]]:
        """The ids of the live stored milestones of each (customer id, title, due) key in
        `wanted` (key -> position), by position. Into a table empty at the start, only the
        customers of rows this import wrote have any to look at."""
        customer_ids = {key[0] for key in wanted}
        if self.empty:
            written = self.written
            customer_ids = {i for i in customer_ids if written[i]}
        customer_ids = sorted(customer_ids)
        matched: dict[int, list[int]] = {}
        columns = (milestones.c.id, milestones.c.customer_id, milestones.c.title, milestones.c.due)
        for start in range(0, len(customer_ids), BATCH):
            query = select(*columns).where(
                in_values(self.conn, milestones.c.customer_id, customer_ids[start : start + BATCH]),
                milestones.c.deleted_at.is_(None),
            )
            for row_id, *key in self.conn.execute(query):
                i = wanted.get(tuple(key))
                if i is not None:
                    matched.setdefault(i, []).append(row_id)
        return matched

    def check_batch(self, creates, updates):
        good = []
        for line, values, row in updates:
            if self._reason_ok(
                line, {"status": row.status, "blocked_reason": row.blocked_reason} | values
            ):
                good.append((line, values, row))
        return [(line, values) for line, values in creates if self._reason_ok(line, values)], good

    def _reason_ok(self, line: int, values: dict) -> bool:
        if values.get("status") == "blocked" and not values.get("blocked_reason"):
            self.problem(line, "blocked_reason", "a blocked milestone needs a reason")
            return False
        return True

    def _reminders(self, milestone_id: int, due: date, offsets, live: bool, fired=()) -> list[dict]:
        """The reminder rows of a milestone; one that fired for its day (`fired` holds the
        (offset, day) pairs) is not pending."""
        days = {offset: _remind_on(offset, due, self.days_off) for offset in offsets}
        return [
            {
                "milestone_id": milestone_id,
                "offset": offset,
                "remind_on": day,
                "pending": live and (offset, day) not in fired,
            }
            for offset, day in days.items()
        ]

    CREATED_COLUMNS = (
        "id", "uuid", "created_at", "updated_at", "stamps", "customer_id", "title", "due",
        "status", "every", "series", "occurrence", "anchor", "pinned", "blocked_reason",
        "done_on",
    )  # fmt: skip
    REMINDER_COLUMNS = ("milestone_id", "offset", "remind_on", "pending")

    def create(self, creates):
        """New milestones as rows of tuples straight to the driver; their reminders and
        collaborators as rows of the link tables."""
        now, stamps, days_off = self.now, self.created_stamps, self.days_off
        take_id, unfinished = self.take_id, self.UNFINISHED
        rows, reminders, collaborators, logged = [], [], [], []
        for _, values in creates:
            get = values.get
            row_id = take_id(values)
            row_uuid = get("uuid") or new_uuid()
            status, due = get("status", "open"), values["due"]
            rows.append((
                row_id, row_uuid, now, now, stamps, values["customer_id"], values["title"], due,
                status, get("every"), row_uuid, 0, due, get("pinned", False),
                get("blocked_reason"), get("done_on"),
            ))  # fmt: skip
            offsets = get("remind")
            fired = get("reminded") or ()
            if fired:
                logged += _log_entries(row_uuid, fired, now)
            if offsets:
                live = status in unfinished
                reminders += [
                    (row_id, offset, day, live and (offset, day) not in fired)
                    for offset, day in ((o, _remind_on(o, due, days_off)) for o in offsets)
                ]
            if get("collaborator_ids"):
                collaborators += [(row_id, user_id) for user_id in values["collaborator_ids"]]
        self.insert_new(rows, self.CREATED_COLUMNS)
        if self.empty:
            self._written({row[5] for row in rows})
        insert_rows(self.conn, milestone_reminders, self.REMINDER_COLUMNS, reminders)
        insert_rows(self.conn, milestone_collaborators, ("milestone_id", "user_id"), collaborators)
        self._log_fired(logged)

    def _written(self, customer_ids: set[int]) -> None:
        written = self.written
        for customer_id in customer_ids:
            written[customer_id] = 1

    def take_batch(self, chunk) -> bool:
        """A csv batch of new milestones checked and written a column at a time: each check of
        `parse`, `check`, `flush` and `check_batch` on whole columns, and the rows of `create`
        zipped from them. Only into a table empty at the start with no problem so far; any
        doubt (a bad cell, a repeated key, an earlier batch's key) leaves the batch to go row
        by row, which lists its problems."""
        if self.problem_count or not self.uuids_unique:
            return False
        records = [record for _, record in chunk]
        if any(record.__class__ is not dict for record in records):
            return False
        if records[0].keys() != self._columns:
            self._columns_of(records[0])
        names, n = self._names, len(records)
        if not self._short_cells or len(names) < 2:
            return False
        cells = list(zip(*map(self._cells, records), strict=True))
        # Only a text column's value can be too long (`too_long` looks at text alone; the
        # other parsers refuse a long cell or give a short value): a batch with a long text
        # cell is looked at row by row.
        text = (v.text, v.stripped, v.items)
        if any(
            self.parsers[name] in text and max(map(len, column)) > LINE_CHARS
            for name, column in zip(names, cells, strict=True)
        ):
            return False
        try:
            typed = {
                name: list(map(parse, column))
                for name, parse, column in zip(names, self._column_parsers, cells, strict=True)
            }
        except v.BadValue:
            return False
        if any(None in typed[column] for column in self.required if column in typed):
            return False
        nothing = [None] * n
        slugs = list(map(str.lower, typed["customer"]))
        customer_ids = list(map(self.customer_ids.get, slugs))
        titles, dues = typed["title"], typed["due"]
        statuses = typed.get("status", nothing)
        if None in statuses:
            statuses = ["open" if s is None else s for s in statuses]
        remind = typed.get("remind")
        if remind is not None:
            try:
                remind = list(map(_offsets, map(tuple, remind)))
            except v.BadValue:
                return False
            # A day before an offset stays in the calendar for a later day too: each offset
            # of the batch is checked on its earliest day (a far-off one checks each row).
            earliest = min(dues)
            try:
                for offset in set(chain.from_iterable(remind)):
                    _remind_on(offset, earliest, _NO_DAYS_OFF)
            except Invalid:
                return False
        fired = [()] * n
        if "reminded" in typed:
            try:
                fired = [sorted(set(map(_fired, c))) if c else () for c in typed["reminded"]]
            except v.BadValue:
                return False
        every = typed.get("every", nothing)
        people = None
        if "collaborators" in typed:
            find, people = self.user_ids.get, []
            for handles in typed["collaborators"]:
                found = [find(user_key(handle)) for handle in handles]
                if None in found:
                    return False
                people.append(sorted(set(found)))
        reasons = typed.get("blocked_reason", nothing)
        uuids = typed.get("uuid", nothing)
        given = uuids if None not in uuids else [row_uuid for row_uuid in uuids if row_uuid]
        keys = list(zip(customer_ids, titles, dues, strict=True))
        ids = typed.get("id") if self.keep_ids else None
        if (
            None in customer_ids
            or any(e and _recurrence_problem(e, d) for e, d in set(zip(every, dues, strict=True)))
            or len(set(given)) < len(given)
            or len(set(keys)) < n
            or (self.keep_ids and (ids is None or None in ids or len(set(ids)) < n))
            or (self.keep_ids and min(ids) <= self.last_kept_id)
            or ("blocked" in statuses and not all(map(_reason_given, statuses, reasons)))
            or self._stored_matches(dict(zip(keys, range(n), strict=True)))
        ):
            return False
        if self.keep_ids:
            self.last_kept_id = max(ids)
        pinned = typed.get("pinned", nothing)
        if None in pinned:
            pinned = [False if p is None else p for p in pinned]
        done_on = typed.get("done_on", nothing)

        def write(_) -> None:
            now = self.now
            if self.keep_ids:
                row_ids = ids
            else:
                row_ids = list(range(self.next_id, self.next_id + n))
                self.next_id += n
            row_uuids = [row_uuid or new_uuid() for row_uuid in uuids]
            rows = list(zip(
                row_ids, row_uuids, repeat(now), repeat(now), repeat(self.created_stamps),
                customer_ids, titles, dues, statuses, every, row_uuids, repeat(0), dues,
                pinned, reasons, done_on, strict=False,
            ))  # fmt: skip
            self.insert_new(rows, self.CREATED_COLUMNS)
            self._written(set(customer_ids))
            reminders, logged = [], []
            days_off, unfinished = self.days_off, self.UNFINISHED
            for row_id, row_uuid, offsets, due, status, done in zip(
                row_ids, row_uuids, remind or nothing, dues, statuses, fired, strict=True
            ):
                if done:
                    logged += _log_entries(row_uuid, done, now)
                if not offsets:
                    continue
                live = status in unfinished
                reminders += [
                    (row_id, offset, day, live and (offset, day) not in done)
                    for offset, day in ((o, _remind_on(o, due, days_off)) for o in offsets)
                ]
            insert_rows(self.conn, milestone_reminders, self.REMINDER_COLUMNS, reminders)
            collaborators = [
                (row_id, user_id)
                for row_id, user_ids in zip(row_ids, people or (), strict=False)
                for user_id in user_ids
            ]
            insert_rows(
                self.conn, milestone_collaborators, ("milestone_id", "user_id"), collaborators
            )
            self._log_fired(logged)

        if not self._created(None, write):
            return False
        self.result.created += n
        shown = SHOWN_CHANGES - len(self.result.changes)
        for slug, title in zip(slugs[:shown], titles[:shown], strict=True):
            self.note(f"create {self.label({'customer': slug, 'title': title})}")
        return True

    def _log_fired(self, entries: list[dict]) -> list[dict]:
        """Reminder log entries from the file, those the log lacks; the ones that went in."""
        went_in = insert_new(self.conn, reminder_log, entries)
        self.fired_any = self.fired_any or bool(went_in)
        return went_in

    def update(self, updates):
        self._reminded(updates)
        ids = [row.id for _, _, row in updates]
        offsets = linked_values(self.conn, milestone_reminders, "milestone_id", "offset", ids)
        has = set().union(*(values.keys() for _, values, _ in updates))
        people = (
            linked_values(self.conn, milestone_collaborators, "milestone_id", "user_id", ids)
            if "collaborators" in has
            else {}
        )
        changed_rows, remind_again, new_people = [], [], {}
        for _line, values, row in updates:
            changes = self.changes(values, row)
            shown = [
                (
                    "customer" if c == "customer_id" else c,
                    self.slugs.get(getattr(row, c), "?") if c == "customer_id" else getattr(row, c),
                    values["customer"] if c == "customer_id" else new,
                )
                for c, new in changes.items()
            ]
            touched = []
            remind = values.get("remind", offsets[row.id])
            if remind != offsets[row.id]:
                touched.append("remind")
                shown.append(("remind", offsets[row.id], remind))
            if "collaborators" in values and values["collaborator_ids"] != people[row.id]:
                touched += self.set_changed(
                    "collaborators", people[row.id], values["collaborator_ids"], people=True
                )
                new_people[row.id] = values["collaborator_ids"]
                old = sorted(self.handles[i] for i in people[row.id])
                shown.append(("collaborators", old, values["collaborators"]))
            if not self.counted(values, row, shown):
                continue
            if "due" in changes and row.occurrence == 0:
                changes["anchor"] = changes["due"]
            if "remind" in touched or {"due", "status"} & changes.keys():
                remind_again.append(
                    (row, changes.get("due", row.due), changes.get("status", row.status), remind)
                )
            changed_rows.append((row, changes, touched))
        self.write_updates(changed_rows)
        self._remind_again(remind_again)
        replace_links(self.conn, milestone_collaborators, "milestone_id", "user_id", new_people)

    def _reminded(self, updates) -> None:
        """Fired reminders the file knows of and this book does not (a book brought back from
        an export, a copy's firings): logged, and no longer pending. The log only grows: a
        reminder fired stays fired."""
        entries = [
            entry
            for _line, values, row in updates
            if values.get("reminded")
            for entry in _log_entries(row.uuid, values["reminded"], self.now)
        ]
        went_in = {entry["milestone_uuid"] for entry in self._log_fired(entries)}
        for _line, _values, row in updates:
            if row.uuid in went_in:  # a few milestones: those whose reminders the file fired
                settle_reminders(self.conn, row.id)

    def _remind_again(self, rows: list) -> None:
        """New reminder days for milestones whose due date, reminders or status changed; one
        that fired already stays fired."""
        if not rows:
            return
        fired: dict[str, set] = {}  # milestone uuid -> the (offset, day) reminders it fired
        if self.fired_any:
            uuids = [row.uuid for row, *_ in rows]
            log = reminder_log
            for start in range(0, len(uuids), BATCH):
                query = select(log.c.milestone_uuid, log.c.offset, log.c.remind_on).where(
                    in_values(self.conn, log.c.milestone_uuid, uuids[start : start + BATCH])
                )
                for milestone_uuid, key, remind_on in self.conn.execute(query):
                    fired.setdefault(milestone_uuid, set()).add((logged_offset(key), remind_on))
        reminders = []
        for row, due, status, offsets in rows:
            live = status in self.UNFINISHED
            reminders += self._reminders(row.id, due, offsets, live, fired.get(row.uuid, ()))
        ids = [row.id for row, *_ in rows]
        for start in range(0, len(ids), BATCH):
            self.conn.execute(
                delete(milestone_reminders).where(
                    in_values(
                        self.conn, milestone_reminders.c.milestone_id, ids[start : start + BATCH]
                    )
                )
            )
        if reminders:
            insert(self.conn, milestone_reminders, reminders)


class TaskImporter(CustomerRowImporter):
    table, noun = tasks, "task"
    required = ("customer", "title")
    STATUSES = ("open", "done", "cancelled")  # cancelled: its customer churned
    parsers: ClassVar[dict[str, Callable]] = {
        "id": v.identifier,
        "customer": v.stripped,
        "title": v.stripped,
        "due": v.iso_date,
        "status": v.one_of(STATUSES),
        "assignee": v.stripped,
        "milestone": v.identifier,
        "cta": v.identifier,
        "source": v.text,
        "uuid": v.uuid_text,
    }
    defaulted = frozenset({"status"})
    SCALARS = (
        "customer_id",
        "title",
        "due",
        "status",
        "assignee_id",
        "milestone_id",
        "cta_id",
        "source",
    )

    def check(self, line: int, values: dict) -> None:
        super().check(line, values)
        if values.get("assignee") is not None:
            values["assignee_id"] = self.user(line, "assignee", values["assignee"])
        elif "assignee" in values:
            values["assignee_id"] = None
        for column in ("milestone", "cta"):
            if column in values:
                values[f"{column}_id"] = values[column]

    def uses_id(self, values: dict) -> bool:
        # A task has no natural key: a row without a uuid is matched by its id.
        return self.keep_ids or not values.get("uuid")

    def match_key(self, rest, batch):
        wanted = {
            values["id"]: i
            for i, values in rest
            if values.get("id") is not None and not values.get("uuid")
        }
        if wanted:
            table = self.table
            for row in self.conn.execute(
                select(table).where(in_values(self.conn, table.c.id, list(wanted)))
            ):
                i = wanted[row.id]
                if row.deleted_at is not None:
                    self.problem(batch[i][0], "id", f"{self.noun} {row.id} was removed")
                    yield i, SKIP
                elif self.created_here(row.id):
                    self._repeated(batch[i][0], "id", row.id)
                    yield i, SKIP
                else:
                    yield i, row

    def check_batch(self, creates, updates):
        """A task's milestone and CTA must exist and be on its own customer."""
        rows = creates + [(line, values) for line, values, _ in updates]
        bad = set()
        for column, table, what in (("milestone", milestones, "milestone"), ("cta", ctas, "CTA")):
            ids = sorted({values[column] for _, values in rows if values.get(column)})
            owners = {}
            for start in range(0, len(ids), BATCH):
                query = select(table.c.id, table.c.customer_id).where(
                    in_values(self.conn, table.c.id, ids[start : start + BATCH])
                )
                owners.update(self.conn.execute(query).all())
            for line, values in rows:
                target = values.get(column)
                if target is None:
                    continue
                if target not in owners:
                    hint = (
                        " (CTAs are not imported: skip the column with --map cta=)"
                        if column == "cta"
                        else ""
                    )
                    self.problem(line, column, f"no {what} {target}{hint}")
                    bad.add(line)
                elif owners[target] != values["customer_id"]:
                    other = self.slugs.get(owners[target], "another customer")
                    self.problem(
                        line, column, f"{what} {target} is on {other}, not {values['customer']}"
                    )
                    bad.add(line)
        return (
            [(line, values) for line, values in creates if line not in bad],
            [(line, values, row) for line, values, row in updates if line not in bad],
        )

    def create(self, creates):
        rows = [
            self.new_row(
                values,
                customer_id=values["customer_id"],
                title=values["title"],
                due=values.get("due"),
                status=values.get("status", "open"),
                assignee_id=values.get("assignee_id"),
                milestone_id=values.get("milestone_id"),
                cta_id=values.get("cta_id"),
                source=values.get("source"),
                done_on=self.today if values.get("status") == "done" else None,
            )
            for _, values in creates
        ]
        insert(self.conn, tasks, rows)

    def update(self, updates):
        changed_rows = []
        for _line, values, row in updates:
            changes = self.changes(values, row)
            shown = []
            for column, new in changes.items():
                name = column.removesuffix("_id")
                old = getattr(row, column)
                if column == "customer_id":
                    old, new = self.slugs.get(old, "?"), values["customer"]
                elif column == "assignee_id":
                    old, new = self.handles.get(old), self.handles.get(new)
                shown.append((name, old, new))
            if not self.counted(values, row, shown):
                continue
            if "status" in changes:
                changes["done_on"] = self.today if changes["status"] == "done" else None
            changed_rows.append((row, changes, []))
        self.write_updates(changed_rows)


class ContactImporter(TaskImporter):
    """Contacts: matched by uuid, else by id (a person has no natural key); one primary
    contact a customer, the file's taking it from a stored one."""

    table, noun = contacts, "contact"
    required = ("customer", "name")
    parsers: ClassVar[dict[str, Callable]] = {
        "id": v.identifier,
        "customer": v.stripped,
        "name": v.stripped,
        "role": v.stripped,
        "email": v.stripped,
        "phone": v.stripped,
        "primary": v.flag,
        "left_on": v.iso_date,
        "uuid": v.uuid_text,
    }
    defaulted = frozenset({"primary"})
    SCALARS = ("customer_id", "name", "role", "email", "phone", "is_primary", "left_on")

    def check(self, line: int, values: dict) -> None:
        CustomerRowImporter.check(self, line, values)
        from clm.domain.contacts import check_role, contact_roles

        if not hasattr(self, "roles"):
            self.roles = contact_roles(self.conn)  # once an import
        try:
            values["role"] = check_role(values.get("role"), self.roles)
        except Invalid as exc:
            self.problem(line, "role", str(exc))
        email = values.get("email")
        if email is not None and ("@" not in email or " " in email):
            self.problem(line, "email", f"invalid email '{email}': use an address like a@b.com")
        if "primary" in values:
            values["is_primary"] = values["primary"]
        left = values.get("left_on")
        if left is not None and left > self.today:
            self.problem(line, "left_on", f"{left} is after today ({self.today})")

    def label(self, values: dict, row=None) -> str:
        number = f" {row.id}" if row is not None else ""
        return f"contact{number} ({values['customer']}: {values.get('name') or row.name})"

    def check_batch(self, creates, updates):
        seen: dict[int, int] = {}
        rows = creates + [(line, values) for line, values, _ in updates]
        for line, values in rows:
            if values.get("is_primary"):
                earlier = seen.setdefault(values["customer_id"], line)
                if earlier != line:
                    self.problem(line, "primary", f"{values['customer']} has its primary "
                                 f"contact on line {earlier}")  # fmt: skip
        return creates, updates

    def _take_primary(self, rows: list[tuple[int, int | None]]) -> None:
        """The customers (with the contact that becomes primary) lose their other primary."""
        self.one_flag_per_group("customer_id", "is_primary", dict(rows))

    def create(self, creates):
        primary = [
            (values["customer_id"], None) for _, values in creates if values.get("is_primary")
        ]
        if primary:
            self._take_primary(primary)
        rows = [
            self.new_row(
                values, customer_id=values["customer_id"], name=values["name"],
                role=values.get("role"), email=values.get("email"), phone=values.get("phone"),
                is_primary=values.get("is_primary", False), left_on=values.get("left_on"),
            )
            for _, values in creates
        ]  # fmt: skip
        insert(self.conn, contacts, rows)

    def update(self, updates):
        primary = [
            (values.get("customer_id", row.customer_id), row.id)
            for _, values, row in updates
            if values.get("is_primary") and not row.is_primary
        ]
        if primary:
            self._take_primary(primary)
        changed_rows = []
        for _line, values, row in updates:
            changes = self.changes(values, row)
            shown = [
                (c.removesuffix("_id").removeprefix("is_"), getattr(row, c), new)
                for c, new in changes.items()
            ]
            if self.counted(values, row, shown):
                changed_rows.append((row, changes, []))
        self.write_updates(changed_rows)


IMPORTERS: dict[str, type[Importer]] = {
    "users": UserImporter,
    "customers": CustomerImporter,
    "milestones": MilestoneImporter,
    "tasks": TaskImporter,
    "contacts": ContactImporter,
}
