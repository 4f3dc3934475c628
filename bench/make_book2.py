#!/usr/bin/env python3
"""The second book: a differently shaped book of business, as csv files for `clm import`.

    python bench/make_book2.py N DIR [--today 2026-11-23] [--seed 2]

Writes DIR/users.csv, DIR/customers.csv and DIR/milestones.csv (ten milestones per customer),
streamed row by row, to be loaded with `clm import users|customers|milestones`. Its shapes
differ from make_book.py's on purpose (a target met on one book only is not met):

- 44 users, several owners per team and uneven loads (one owner in each team holds a
  third of its customers);
- stages: adopting 42%, renewal 18%, lead 9%, launched 8%, churned 8%, prospect 6%,
  onboarding 5%, will-churn 4%; starts spread evenly over the past three years;
- a third of the contract customers' renewals already past (lapsed, not yet renewed);
- milestones titled from a pool of twenty (numbered, so customer, title and due stay a
  unique key), due from the start to a year ahead; past ones 70% done, 18% open (past-due
  work), 7% blocked, 5% cancelled; future ones open or blocked;
- 85% of milestones carry a reminder, one to three offsets between 1w and 2m.

Deterministic for a seed. Prints a JSON summary (rows, seconds) to stderr.
"""

import argparse
import csv
import json
import random
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

TEAMS = {"marketing": 6, "sales": 10, "customer-success": 18, "account-management": 10}
# stage -> (share of the book, team whose users own it)
STAGES = {
    "adopting": (0.42, "customer-success"),
    "renewal": (0.18, "account-management"),
    "lead": (0.09, "marketing"),
    "launched": (0.08, "customer-success"),
    "churned": (0.08, "customer-success"),
    "prospect": (0.06, "sales"),
    "onboarding": (0.05, "customer-success"),
    "will-churn": (0.04, "customer-success"),
}
TITLES = ("Kick-off", "Data migration", "SSO rollout", "Admin training", "QBR", "Champion map",
          "Usage target", "Renewal prep", "Upsell review", "NPS survey", "Health review",
          "Success plan", "Exec sponsor call", "API integration", "Pilot wrap-up",
          "Security audit", "Onsite visit", "Roadmap session", "Invoice check",
          "Case study")  # fmt: skip
OFFSETS = ("1w", "10d", "2w", "3w", "1m", "6w", "2m")
SOURCES = ("web", "event", "partner", "referral", "outbound", "")
TAGS = ("enterprise", "smb", "emea", "apac", "na", "strategic", "pilot", "")
MILESTONES_PER_CUSTOMER = 10


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # Feb 29
        return day.replace(year=day.year + years, day=28)


class Book:
    def __init__(self, today: date, seed: int):
        self.today = today
        self.rng = random.Random(f"clm-bench-book2-{seed}")
        self.users: dict[str, list[str]] = {}

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def write_users(self, out) -> int:
        w = csv.writer(out)
        w.writerow(("handle", "name", "email", "team", "default_owner", "uuid"))
        for team, size in TEAMS.items():
            handles = [f"{team.split('-')[0][:5]}{k:02d}" for k in range(size)]
            self.users[team] = handles
            for k, handle in enumerate(handles):
                w.writerow((handle, f"{handle.title()} of {team}", f"{handle}@corp.test", team,
                            "true" if k == 0 else "false", self.uuid()))  # fmt: skip
        return sum(TEAMS.values())

    def owner(self, team: str) -> str:
        handles = self.users[team]
        # One heavy owner per team (a third of its customers), the rest shared evenly.
        return handles[0] if self.rng.random() < 1 / 3 else self.rng.choice(handles[1:])

    def write_customers(self, n: int, out, plan: list) -> None:
        rng, today, days = self.rng, self.today, timedelta
        w = csv.writer(out)
        w.writerow(("slug", "name", "stage", "stage_entered", "owner", "start", "renewal", "term",
                    "arr", "health", "lead_score", "source", "tags", "uuid"))  # fmt: skip
        keys = list(STAGES)
        stages = rng.choices(keys, [STAGES[k][0] for k in keys], k=n)
        for i, stage in enumerate(stages):
            start = today - days(rng.randint(0, 3 * 365))
            renewal = arr = lead_score = None
            health = rng.randint(10, 100)
            if stage in ("lead", "prospect"):
                lead_score = rng.randint(0, 100)
                entered = start + days(rng.randint(0, (today - start).days))
            else:
                arr = rng.randrange(5, 5000) * 100
                renewal = add_years(start, 1)
                while renewal <= today:
                    renewal = add_years(renewal, 1)
                if rng.random() < 1 / 3 and renewal > add_years(start, 1):
                    renewal = add_years(renewal, -1)  # lapsed: past, not renewed yet
                entered = start + days(rng.randint(0, (today - start).days))
                if stage == "will-churn":
                    health = rng.randint(5, 45)
            slug = f"c{i + 1:06d}-{rng.choice(TITLES).lower().replace(' ', '-')}"
            tags = ";".join(sorted({t for t in rng.sample(TAGS, 2) if t}))
            w.writerow((slug, f"Customer {i + 1} {slug[8:].title()}", stage, entered.isoformat(),
                        self.owner(STAGES[stage][1]), start.isoformat(),
                        renewal.isoformat() if renewal else "", "1y" if arr else "",
                        arr or "", health, "" if lead_score is None else lead_score,
                        rng.choice(SOURCES), tags, self.uuid()))  # fmt: skip
            plan.append((slug, start, stage))

    def write_milestones(self, out, plan: list) -> int:
        rng, today, days = self.rng, self.today, timedelta
        w = csv.writer(out)
        w.writerow(("customer", "title", "due", "status", "remind", "blocked_reason", "done_on",
                    "uuid"))  # fmt: skip
        rows = 0
        for slug, start, stage in plan:
            span = (today + days(365) - start).days
            for k, title in enumerate(rng.sample(TITLES, MILESTONES_PER_CUSTOMER)):
                due = start + days(rng.randint(0, span))
                roll = rng.random()
                done_on = blocked = ""
                if stage == "churned" and due > today:
                    status = "cancelled"
                elif due < today:
                    status = ("done" if roll < 0.70 else "open" if roll < 0.88 else
                              "blocked" if roll < 0.95 else "cancelled")  # fmt: skip
                else:
                    status = "blocked" if roll < 0.05 else "open"
                if status == "done":
                    done_on = min(today, due + days(rng.randint(-10, 20))).isoformat()
                elif status == "blocked":
                    blocked = "waiting on the customer"
                remind = ""
                if rng.random() < 0.85:
                    remind = ";".join(rng.sample(OFFSETS, rng.choice((1, 1, 2, 3))))
                w.writerow((slug, f"{title} {k + 1}", due.isoformat(), status, remind, blocked,
                            done_on, self.uuid()))  # fmt: skip
                rows += 1
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="how many customers")
    parser.add_argument("dir", type=Path, help="where the csv files go (created)")
    parser.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    book, plan = Book(args.today, args.seed), []
    with open(args.dir / "users.csv", "w", newline="") as out:
        users = book.write_users(out)
    with open(args.dir / "customers.csv", "w", newline="") as out:
        book.write_customers(args.n, out, plan)
    with open(args.dir / "milestones.csv", "w", newline="") as out:
        milestones = book.write_milestones(out, plan)
    summary = {"dir": str(args.dir), "today": args.today.isoformat(), "seed": args.seed,
               "rows": {"users": users, "customers": args.n, "milestones": milestones},
               "seconds": round(time.perf_counter() - began, 2)}  # fmt: skip
    print(json.dumps(summary), file=sys.stderr)


if __name__ == "__main__":
    main()
