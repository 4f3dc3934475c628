"""`customer show`: a customer's details and everything that hangs off it, read through
statements compiled ahead (clm.storage.reads), so on a file it runs without importing
SQLAlchemy. The statements are the ones the domain's lists and reports build (milestones,
CTAs, tasks, contacts, timeline, phases, ARR history, health), with the customer a parameter."""

from datetime import date

from clm.domain.engine.field_defs import defs_of, shown_values
from clm.domain.health_card import META_KEY, Scorecard, card_of, measured
from clm.domain.shapes import (
    cta_record,
    customer_record,
    daily_health,
    forecast_of,
    milestone_record,
    phases_of,
    sparkline,
    stays_of,
    with_phases,
)
from clm.errors import not_found

RECENT = 15  # the timeline entries a customer's page shows (`customer timeline`: all of them)


def customer_page(reads, today: date, slug: str) -> tuple[dict, dict]:
    """A customer's details and what hangs off it: its unfinished milestones (pinned ones also
    as `pinned` dates), its lifecycle phases, open CTAs and tasks, its renewal forecast and ARR
    history, and its recent history (the latest `RECENT` entries of its timeline; `earlier`:
    how many more there are)."""
    customer = _customer(reads, slug)
    mine = {"customer_id": customer.id, "today": today}
    record = customer_record(reads.dicts("show.record", **mine)[0], today)
    unfinished = [milestone_record(row) for row in reads.dicts("show.milestones", **mine)]
    record["pinned"] = [f"{m['title']} {m['due']}" for m in unfinished if m["pinned"]]
    health = daily_health(reads.all("show.health", **mine))
    record["health_trend"] = sparkline(health)
    # The band (the default bands without a scorecard, as rules on it read it) and its run.
    card = card_of(reads.scalar("day.meta", key=META_KEY))
    bands = card or Scorecard(())
    record["band"], record["band_since"] = bands.band(record["health"]), bands.band_run(health)
    measures = []
    if card is not None:  # the missing measures, and a health set by hand over the score
        values = {m.metric: reads.scalar("show.metric_value", metric=m.metric, **mine)
                  for m in card.measures}  # fmt: skip
        found = measured(card, values)
        record["health_missing"], measures = found["missing"], found["measures"]
        until = customer.health_override_until
        if until is not None and until >= today:
            record["health_override"] = f"until {until}: {customer.health_override_reason}"
    terminal = reads.scalar("show.stage_terminal", stage=customer.stage)
    reason = reads.scalar("show.stay_reason", stay=customer.stay) if terminal else None
    record |= {"churn_reason": reason, "lost_arr": customer.arr if terminal else None}
    record |= forecast_of(reads.first("show.forecast", **mine))
    phases = phases_of(
        reads.all("show.phase_items", **mine), record["start"], record["renewal"], today,
        lambda: frozenset(day for (day,) in reads.all("show.holidays")),
    )  # fmt: skip
    history = with_phases(reads.dicts("show.timeline", **mine), phases, None, ())
    custom = shown_values(defs_of(reads.all("show.fields")), reads.all("show.field_values", **mine))
    record |= custom
    return record, {
        "fields": list(custom),
        "contacts": reads.dicts("show.contacts", **mine),
        "milestones": unfinished,
        "phases": phases,
        "ctas": [cta_record(row) for row in reads.dicts("show.ctas", **mine)],
        "tasks": reads.dicts("show.tasks", **mine),
        "stays": stays_of(reads.all("show.stays", **mine), today),
        "health_history": health,
        "arr_history": reads.dicts("show.arr_history", **mine),
        "timeline": history[-RECENT:],
        "earlier": max(0, len(history) - RECENT),
        "health_measures": measures,
    }


def _customer(reads, slug: str):
    """The live customer with this slug, else NotFound with the closest slugs (as
    clm.domain.records.get_customer says it)."""
    key = slug.strip().lower()
    found = reads.first("show.customer", slug=key)
    if found is None:
        inside = "%" + key.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        prefix = key[:2].replace("%", "").replace("_", "") + "%"
        raise not_found("customer", key, reads.scalars("show.slugs", prefix=prefix, inside=inside))
    return found


def page_statements() -> dict:
    """The page's statements by name, each of the customer `:customer_id` as of `:today`."""
    from sqlalchemy import Date, Integer, String, bindparam, select

    from clm.domain.arr_history import arr_history_query
    from clm.domain.churn import stage_terminal_query, stay_reason_query
    from clm.domain.contacts import contacts_query
    from clm.domain.ctas import awake_ctas, cta_query
    from clm.domain.custom_fields import values_query
    from clm.domain.customer_rows import select_customers, stays_query
    from clm.domain.engine.field_defs import field_defs_query
    from clm.domain.forecast import forecast_query
    from clm.domain.health import health_query
    from clm.domain.holidays import LIVE, holidays
    from clm.domain.list_filters import list_filters
    from clm.domain.milestones import STATUSES, UNFINISHED, milestone_query
    from clm.domain.phases import phase_items_query
    from clm.domain.scorecard import latest_value_query
    from clm.domain.tasks import STATUSES as TASK_STATUSES
    from clm.domain.tasks import task_query
    from clm.domain.timeline import timeline_query
    from clm.storage.tables import contacts, ctas, customers, milestones, tasks

    def given(name: str, sql_type):
        return bindparam(name, type_=sql_type, required=False)

    customer_id, today = given("customer_id", Integer), given("today", Date)
    slug = customers.c.slug
    unfinished = list_filters(None, today, milestones, STATUSES, UNFINISHED)
    open_tasks = list_filters(None, today, tasks, TASK_STATUSES, ("open",))
    return {
        "show.customer": select(
            customers.c.id, customers.c.stage, customers.c.arr, customers.c.stay,
            customers.c.health_override_until, customers.c.health_override_reason,
        ).where(slug == given("slug", String), customers.c.deleted_at.is_(None)),
        "show.slugs": select(slug).where(
            customers.c.deleted_at.is_(None),
            slug.like(given("prefix", String)) | slug.like(given("inside", String), escape="/"),
        ).limit(500),
        "show.record": select_customers().where(customers.c.id == customer_id),
        "show.milestones": milestone_query(*unfinished, milestones.c.customer_id == customer_id),
        "show.health": health_query(customer_id),
        "show.metric_value": latest_value_query(given("metric", String), today, customer_id),
        "show.stage_terminal": stage_terminal_query(given("stage", String)),
        "show.stay_reason": stay_reason_query(given("stay", String)),
        "show.forecast": forecast_query(customer_id),
        "show.phase_items": phase_items_query(customer_id),
        "show.holidays": select(holidays.c.day).where(LIVE),
        "show.timeline": timeline_query(customer_id),
        "show.fields": field_defs_query(),
        "show.field_values": values_query(customer_id),
        "show.contacts": contacts_query(contacts.c.customer_id == customer_id),
        "show.ctas": cta_query(today, *awake_ctas(today), ctas.c.customer_id == customer_id),
        "show.tasks": task_query(*open_tasks, tasks.c.customer_id == customer_id),
        "show.stays": stays_query(customer_id),
        "show.arr_history": arr_history_query(customer_id),
    }  # fmt: skip
