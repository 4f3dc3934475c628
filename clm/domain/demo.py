"""A deterministic sample book of business: users in each team, customers spread over every
stage with a history of moves, notes, renewals coming up."""

import random
from datetime import date, timedelta

from sqlalchemy import Connection

from clm.db import set_meta
from clm.domain.customers import add_customer, add_note, move_customer
from clm.domain.users import add_user
from clm.lifecycle import CHURN_REASONS

USERS = (
    ("mia", "Mia Marketing", "marketing", True),
    ("sam", "Sam Sales", "sales", True),
    ("alice", "Alice Success", "customer-success", True),
    ("bob", "Bob Success", "customer-success", False),
    ("amy", "Amy Accounts", "account-management", True),
)
FIRST = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka",
         "Tyrell", "Cyberdyne", "Soylent", "Vandelay", "Pied Piper", "Aperture", "Gringotts",
         "Oscorp")  # fmt: skip
SECOND = ("Corp", "Labs", "Industries", "Systems", "Foods", "Logistics", "Health", "Bank")
# Where demo customers stand: the lifecycle path each walks, and how many take each path.
PATHS = (
    ("lead",),
    ("lead", "prospect"),
    ("onboarding",),
    ("onboarding", "launched"),
    ("onboarding", "launched", "adopting"),
    ("onboarding", "launched", "adopting", "renewal"),
    ("onboarding", "launched", "will-churn"),
    ("onboarding", "launched", "adopting", "churned"),
)
# The account's people: a champion and a sponsor at each customer past the lead stages.
PEOPLE = ("Ana Ruiz", "Ben Okafor", "Chloé Martin", "Dev Patel", "Eva Novak", "Femi Adeyemi",
          "Grace Lee", "Hugo Silva", "Ines Costa", "Jon Berg", "Kira Sato")  # fmt: skip
NOTES = ("Kick-off call with the champion", "Sent the onboarding guide", "QBR: usage up 20%",
         "Champion left the company", "Asked about the enterprise plan")  # fmt: skip


def fill_demo(conn: Connection, today: date, customers: int = 24) -> int:
    """Fill an empty database with `customers` demo accounts; deterministic for `today`."""
    rng = random.Random(f"clm-demo-{customers}-{today}")
    for handle, name, team, default in USERS:
        add_user(conn, handle, name=name, email=f"{handle}@example.com", team=team,
                 is_default_owner=default)  # fmt: skip
    for i in range(customers):
        name = f"{FIRST[i % len(FIRST)]} {SECOND[(i // len(FIRST)) % len(SECOND)]}"
        if i >= len(FIRST) * len(SECOND):
            name += f" {i // (len(FIRST) * len(SECOND)) + 1}"
        path = PATHS[i % len(PATHS)]
        # Those still onboarding started within its 30-day SLA; the others long enough ago,
        # one in five of those nearly a year ago, so renewals come up in the next weeks (and a
        # few have just passed, unrenewed: over the renewal stage's expected days).
        if path == ("onboarding",):
            first_day = rng.randint(3, 25)
        elif i % 3 == 1 and len(path) > 1 and path[0] != "lead":
            first_day = rng.randint(340, 372)
        else:
            first_day = rng.randint(20 * len(path), 330)
        start = today - timedelta(days=first_day)
        is_lead = path[0] == "lead"
        arr = None if is_lead else rng.randrange(6, 120) * 1000
        # A customer on its way to will-churn has lost its health (under at-risk's 40).
        health = rng.randint(25, 39) if "will-churn" in path else rng.randint(25, 95)
        record = add_customer(
            conn, start, "demo", name, stage=path[0], arr=arr,
            health=health, lead_score=_lead_score(rng, path) if is_lead else None,
            source=rng.choice(("marketing", "sales", "referral", "partner")),
            tags=rng.sample(("enterprise", "smb", "emea", "us", "apac"), 2),
        )  # fmt: skip
        day = start
        for stage in path[1:]:
            day += timedelta(days=rng.randint(10, max(11, (today - day).days // 2)))
            day = min(day, today)
            reason = rng.choice(CHURN_REASONS) if stage == "churned" else "demo history"
            move_customer(conn, day, "demo", record["slug"], stage, reason=reason, on=day)
        if not is_lead:
            _add_contacts(conn, record["slug"], i)
        add_note(
            conn,
            day,
            "demo",
            record["slug"],
            rng.choice(NOTES),
            kind=rng.choice(("note", "call", "meeting")),
        )
    _usage(conn, today)
    set_meta(conn, "demo", "true")
    return customers


# The demo's scorecard: two usage measures whose scores, on the last day of values, both
# equal the health the customer was given, so the tick keeps each demo customer's health.
DEMO_METRICS = {
    "active_users": ("Users active in the week", 2.0, 200.0),
    "license_use": ("Licenses in use, % of those bought", 1.0, 100.0),
}
USAGE_DAYS = 30


def _usage(conn: Connection, today: date) -> None:
    """Thirty days of usage up to yesterday for each customer past the sales stages, drifting
    to the values its health stands for, and the scorecard reading them."""
    from sqlalchemy import select

    from clm.domain.metrics import add_metric, metric_ids, upsert_points
    from clm.domain.scorecard import Measure, Scorecard, set_scorecard
    from clm.storage.tables import customers

    rng = random.Random(f"clm-demo-usage-{today}")
    for name, (description, _, _) in DEMO_METRICS.items():
        add_metric(conn, name, description)
    ids = metric_ids(conn)
    rows = conn.execute(
        select(customers.c.id, customers.c.health).where(
            customers.c.stage.not_in(("lead", "prospect")), customers.c.health.is_not(None)
        )
    ).all()
    points = []
    for customer_id, health in rows:
        start = rng.randint(20, 95)  # where its usage was a month ago
        for back in range(USAGE_DAYS, 0, -1):
            day = today - timedelta(days=back)
            share = (start + (health - start) * (USAGE_DAYS - back) / (USAGE_DAYS - 1)) / 100
            wobble = 0 if back == 1 else rng.uniform(-0.05, 0.05)
            for name, (_, _, full) in DEMO_METRICS.items():
                value = round(max(0.0, min(1.0, share + wobble)) * full)
                points.append((ids[name], customer_id, day, float(value)))
    upsert_points(conn, points)
    measures = tuple(
        Measure(name, weight, 0.0, full) for name, (_, weight, full) in DEMO_METRICS.items()
    )
    set_scorecard(conn, Scorecard(measures))


def _add_contacts(conn: Connection, slug: str, i: int) -> None:
    """A champion (the primary contact) and a sponsor, named from the customer's number (the
    demo's randomness is left as it was)."""
    from clm.domain.contacts import add_contact

    for n, role in enumerate(("champion", "sponsor")):
        name = PEOPLE[(2 * i + n) % len(PEOPLE)]
        email = f"{name.split()[0].lower().replace('é', 'e')}@{slug}.example"
        add_contact(conn, slug, name, role=role, email=email)


def build_demo(database, today: date, customers: int = 24):
    """A demo book as if cron had ticked every day: the history up to yesterday, most past work
    done on time, then today's tick (its result returned and remembered for `clm`)."""
    from clm.domain.agenda import remember_tick
    from clm.domain.engine.tick import run_ticks, tick

    with database.write() as conn:
        fill_demo(conn, today, customers)
    yesterday = today - timedelta(days=1)
    with database.write() as conn:
        remember_tick(conn, yesterday, [tick(conn, yesterday)])
        finish_old_work(conn, today)
    return run_ticks(database, today, today).days[0]


def finish_old_work(conn: Connection, today: date) -> None:
    """A CSM finishes most work on time: mark done what was due over two weeks ago, but for
    one item in six of the last two months, so the book has some overdue work to show."""
    from sqlalchemy import select

    from clm.domain.milestones import complete_milestone
    from clm.domain.tasks import complete_task
    from clm.storage.tables import milestones, tasks

    old = today - timedelta(days=14)
    for table, complete in ((tasks, complete_task), (milestones, complete_milestone)):
        query = select(table.c.id, table.c.due).where(table.c.status == "open", table.c.due < old)
        for n, (item_id, due) in enumerate(conn.execute(query).all()):
            if n % 6 or due < today - timedelta(days=60):
                complete(conn, due, item_id)


def _lead_score(rng: random.Random, path: tuple[str, ...]) -> int:
    """A lead that stays a lead scores under the qualify rule's 50; one that moves on, over."""
    return rng.randint(10, 45) if path == ("lead",) else rng.randint(50, 90)
