"""The statements that read customers as lists, reports and pages show them."""

from sqlalchemy import func, select

from clm.domain.health_now import health_now
from clm.storage.tables import customer_influencers, customer_tags, customers, transitions, users


def select_customers():
    """Live customers (slug, name, stage, owner's handle, dates, ARR, health, tags and
    influencers aggregated with ';', …) as lists and pages read them."""
    owner = users.alias("owner")
    follower = users.alias("follower")
    tags = (
        select(func.aggregate_strings(customer_tags.c.tag, ";"))
        .where(customer_tags.c.customer_id == customers.c.id)
        .scalar_subquery()
    )
    influencers = (
        select(func.aggregate_strings(follower.c.handle, ";"))
        .select_from(
            customer_influencers.join(follower, follower.c.id == customer_influencers.c.user_id)
        )
        .where(
            customer_influencers.c.customer_id == customers.c.id, follower.c.deleted_at.is_(None)
        )
        .scalar_subquery()
    )
    return (
        select(
            customers.c.slug,
            customers.c.name,
            customers.c.stage,
            owner.c.handle.label("owner"),
            customers.c.start,
            customers.c.renewal,
            customers.c.term,
            customers.c.arr,
            health_now().label("health"),
            customers.c.lead_score,
            customers.c.source,
            tags.label("tags"),
            influencers.label("influencers"),
            customers.c.stage_entered,
            customers.c.uuid,
            customers.c.handoff_pending,
        )
        .select_from(customers.outerjoin(owner, owner.c.id == customers.c.owner_id))
        .where(customers.c.deleted_at.is_(None))
    )


def stays_query(customer_id):
    """The stages a customer entered (stage, day), oldest first."""
    return (
        select(transitions.c.to_stage, transitions.c.on)
        .where(transitions.c.customer_id == customer_id)
        .order_by(transitions.c.on, transitions.c.id)
    )
