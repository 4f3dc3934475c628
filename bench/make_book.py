#!/usr/bin/env python3
"""Build a large, realistic book of business for benchmarks, fast.

    python bench/make_book.py N DB [--today 2026-11-23] [--seed 1] [--stale 0.1]

Runs `clm --db DB --today TODAY init` (schema, default lifecycle, rules, playbooks), then
loads with the stdlib sqlite3 module in one transaction (executemany, synchronous=OFF for
the load only), writing every column as clm itself writes it:

- 20 users over the default teams (marketing, sales, customer-success,
  account-management), one default owner per team;
- N customers in a steady-state mix: lead 5%, prospect 3%, onboarding 3%, launched 6%,
  adopting 58%, renewal 15%, will-churn 2%, churned 8%; starts over the past 3 years,
  renewal = start + 1y rolled forward to the next anniversary after today, owned by a user
  of the stage's team;
- the stage dates agree with the rules (onboarding < 30 days, launched < 60 days,
  adopting renewing in more than 90 days), except for a `--stale` share of leads,
  onboarding, launched and adopting customers whose rule already holds: the first tick's
  catch-up. Health 40-100, except will-churn customers (20-39, about 2% of the book), so no
  health rule fires; leads mostly score below 50;
- one `transitions` row per customer (the `stay`), the playbook runs clm would have
  recorded (lifecycle from the start, the current stage's playbook), so a move in the tick
  does not re-apply them;
- ten milestones per customer, as the playbooks make them (the yearly Renewal series, the
  onboarding three, Renewal signed, Save plan agreed) plus one-off ones over the customer's
  life; the lifecycle phases (Introduction, Adoption, Retention) are computed from the
  lifecycle playbook's run, as clm does, not stored; leads and prospects have ten sales
  milestones. Past ones are 95% done (churned customers': cancelled), future ones open.
  Each has one reminder '2w' before its due date, pending while the milestone is open.

Deterministic for a seed (uuids and times included). Ends with ANALYZE (unless --no-analyze).
"""

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

USERS = (
    # handle, name, team, default owner
    ("mia", "Mia Marketing", "marketing", True),
    ("mark", "Mark Marketing", "marketing", False),
    ("maya", "Maya Marketing", "marketing", False),
    ("sam", "Sam Sales", "sales", True),
    ("sara", "Sara Sales", "sales", False),
    ("sol", "Sol Sales", "sales", False),
    ("steve", "Steve Sales", "sales", False),
    ("alice", "Alice Success", "customer-success", True),
    ("bob", "Bob Success", "customer-success", False),
    ("carol", "Carol Success", "customer-success", False),
    ("dave", "Dave Success", "customer-success", False),
    ("erin", "Erin Success", "customer-success", False),
    ("frank", "Frank Success", "customer-success", False),
    ("grace", "Grace Success", "customer-success", False),
    ("heidi", "Heidi Success", "customer-success", False),
    ("ivan", "Ivan Success", "customer-success", False),
    ("amy", "Amy Accounts", "account-management", True),
    ("andy", "Andy Accounts", "account-management", False),
    ("anna", "Anna Accounts", "account-management", False),
    ("arturo", "Arturo Accounts", "account-management", False),
)
# stage -> (share of the book, team whose users own it)
STAGES = {
    "lead": (0.05, "marketing"),
    "prospect": (0.03, "sales"),
    "onboarding": (0.03, "customer-success"),
    "launched": (0.06, "customer-success"),
    "adopting": (0.58, "customer-success"),
    "renewal": (0.15, "account-management"),
    "will-churn": (0.02, "customer-success"),
    "churned": (0.08, "customer-success"),
}
STAGE_PLAYBOOK = {"onboarding": "onboarding", "renewal": "renewal", "will-churn": "save"}
WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka",
         "Tyrell", "Cyberdyne", "Soylent", "Vandelay", "Pied Piper", "Aperture", "Gringotts",
         "Oscorp", "Massive", "Dunder", "Prestige", "Nakatomi")  # fmt: skip
KINDS = ("Corp", "Labs", "Industries", "Systems", "Foods", "Logistics", "Health", "Bank")
SOURCES = ("marketing", "sales", "referral", "partner")
ONE_OFF = ("Executive business review", "Health check", "Expansion proposal",
           "Integration go-live", "Case study", "Security review", "Usage review")  # fmt: skip
SALES = ("Discovery call", "Product demo", "Technical evaluation", "Proposal sent",
         "Security questionnaire", "Pricing negotiation", "Reference call", "Pilot kick-off",
         "Pilot review", "Contract sent")  # fmt: skip
MILESTONES_PER_CUSTOMER = 10
NODE = "be4c4b00"  # the stamps' node: a fixed one keeps the book deterministic
CHUNK = 5000  # customers generated and inserted at a time


def add_months(day: date, months: int) -> date:
    """`day` + months, clamped to the month's end (as clm's durations do)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise AssertionError(day)


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def next_anniversary(start: date, today: date) -> tuple[date, int]:
    """The first start + k years (k >= 1) after today, and k."""
    k = 1
    while add_years(start, k) <= today:
        k += 1
    return add_years(start, k), k


class Loader:
    def __init__(self, conn: sqlite3.Connection, today: date, seed: int, stale: float):
        self.conn, self.today, self.stale = conn, today, stale
        self.rng = random.Random(f"clm-bench-book-{seed}")
        self.iso: dict[int, str] = {}
        # Rows are written as imported at 09:00 UTC on `today`, a microsecond apart.
        self.t0 = datetime(today.year, today.month, today.day, 9, 0, 0)
        self.t0_ms = int((self.t0 - datetime(1970, 1, 1)).total_seconds() * 1000)
        self.tick = 0
        self.ids = {
            table: conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
            for table in (
                "users",
                "customers",
                "transitions",
                "milestones",
                "playbook_runs",
                "arr_log",
            )
        }

    # --- values as clm writes them -------------------------------------------------------

    def day(self, d: date) -> str:
        ordinal = d.toordinal()
        text = self.iso.get(ordinal)
        if text is None:
            text = self.iso[ordinal] = d.isoformat()
        return text

    def uuid(self) -> str:
        h = self.rng.getrandbits(128)
        h = (h & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
        s = f"{h:032x}"
        return f"{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:]}"

    def now(self) -> tuple[str, str]:
        """created_at (`YYYY-MM-DD HH:MM:SS.ffffff`) and the creation stamp of the next row."""
        t = self.tick
        self.tick += 1
        seconds, micro = divmod(t, 1_000_000)
        minutes, seconds = divmod(seconds, 60)
        created = f"{self.t0:%Y-%m-%d} 09:{minutes:02d}:{seconds:02d}.{micro:06d}"
        ms, counter = divmod(t, 1000)
        stamps = f'{{"*": "{self.t0_ms + ms:013d}-{counter:04d}-{NODE}"}}'
        return created, stamps

    def last_stamp(self) -> str:
        ms, counter = divmod(max(self.tick - 1, 0), 1000)
        return f"{self.t0_ms + ms:013d}-{counter:04d}-{NODE}"

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    # --- the book ------------------------------------------------------------------------

    def users(self) -> dict[str, list[int]]:
        existing = self.conn.execute("SELECT count(*) FROM users").fetchone()[0]
        if existing:
            raise SystemExit("error: the database has users already: make_book needs a new one")
        rows, teams = [], {}
        for handle, name, team, default in USERS:
            created, stamps = self.now()
            user_id = self.next_id("users")
            rows.append((user_id, self.uuid(), created, created, stamps, handle, name,
                         f"{handle}@example.com", team, int(default)))  # fmt: skip
            teams.setdefault(team, []).append(user_id)
        self.conn.executemany(
            "INSERT INTO users (id, uuid, created_at, updated_at, stamps, handle, name, email,"
            " team, default_owner) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        return teams

    def customers(self, n: int) -> None:
        teams = self.users()
        playbooks = dict(self.conn.execute("SELECT name, id FROM playbooks"))
        for name in ("lifecycle", *STAGE_PLAYBOOK.values()):
            if name not in playbooks:
                raise SystemExit(f"error: no playbook '{name}': was the default template used?")
        stage_keys = {row[0] for row in self.conn.execute("SELECT key FROM stages")}
        if stage_keys != set(STAGES):
            raise SystemExit(f"error: stages {sorted(stage_keys)} are not the default template's")
        rng = self.rng
        keys = list(STAGES)
        weights = [STAGES[k][0] for k in keys]
        stages = rng.choices(keys, weights, k=n)
        for begin in range(0, n, CHUNK):
            batch = {"customers": [], "transitions": [], "milestones": [], "reminders": [],
                     "runs": [], "arr": []}  # fmt: skip
            for i in range(begin, min(n, begin + CHUNK)):
                owners = teams[STAGES[stages[i]][1]]
                self.customer(i, stages[i], rng.choice(owners), batch)
            self.insert(batch)

    def customer(self, i: int, stage: str, owner_id: int, batch: dict) -> None:
        rng, today = self.rng, self.today
        stale = rng.random() < self.stale
        days = timedelta
        renewal = lead_score = arr = None
        health = round(rng.triangular(40, 100, 78))
        if stage == "lead":
            start = today - days(rng.randint(0, 365))
            entered = start
            lead_score = rng.randint(50, 90) if stale else rng.randint(5, 49)
        elif stage == "prospect":
            start = today - days(rng.randint(14, 365))
            entered = start + days(rng.randint(0, (today - start).days))
            lead_score = rng.randint(50, 95)
        else:
            arr = float(rng.randrange(20, 1500) * 100)
            if stage == "onboarding":
                start = today - days(rng.randint(30, 60) if stale else rng.randint(0, 29))
                entered = start
            elif stage == "launched":
                entered = today - days(rng.randint(60, 120) if stale else rng.randint(0, 59))
                start = entered - days(rng.randint(30, 45))
            elif stage in ("adopting", "renewal"):
                if stage == "renewal":
                    to_renewal = rng.randint(1, 90)
                else:
                    to_renewal = rng.randint(1, 90) if stale else rng.randint(91, 364)
                target = today + days(to_renewal)
                latest = today - days(275 if stage == "renewal" else 150)
                choices = [
                    add_years(target, -k)
                    for k in (1, 2, 3)
                    if today - days(1090) <= add_years(target, -k) <= latest
                ]
                start = rng.choice(choices)
                renewal, _ = next_anniversary(start, today)  # Feb 29 moves to Feb 28
                if stage == "renewal":
                    entered = max(start + days(90), renewal - days(90))
                else:
                    first = start + days(90)
                    entered = first + days(rng.randint(0, max(0, (today - first).days)))
            elif stage == "will-churn":
                start = today - days(rng.randint(150, 1090))
                entered = max(start + days(30), today - days(rng.randint(0, 60)))
                health = rng.randint(20, 39)
            else:  # churned
                start = today - days(rng.randint(200, 1090))
                entered = start + days(rng.randint(120, (today - start).days))
            if renewal is None:
                renewal, _ = next_anniversary(start, today)
        customer_id = self.next_id("customers")
        created, stamps = self.now()
        stay = self.uuid()
        word = WORDS[i % len(WORDS)]
        kind = KINDS[(i // len(WORDS)) % len(KINDS)]
        name = f"{word} {kind} {i + 1}"
        slug = f"{word.lower().replace(' ', '-')}-{kind.lower()}-{i + 1}"
        d = self.day
        health_on = d(entered if stage == "will-churn" else start)
        batch["customers"].append((
            customer_id, self.uuid(), created, created, stamps, slug, name, stage, d(entered),
            owner_id, d(start), d(renewal) if renewal else None, "1y", arr, health, lead_score,
            rng.choice(SOURCES), health_on, d(start) if lead_score is not None else None,
            d(start) if arr is not None else None, stay,
        ))  # fmt: skip
        batch["transitions"].append((
            self.next_id("transitions"), stay, customer_id, None, stage, d(entered), "import",
            None, "imported", None, owner_id, created,
        ))  # fmt: skip
        if arr is not None:
            self.arr_history(customer_id, i, stage, start, entered, arr, created, batch)
        if stage in ("lead", "prospect"):
            self.sales_milestones(customer_id, start, batch)
            return
        self.run(batch, customer_id, "lifecycle", "start", start)
        if stage in STAGE_PLAYBOOK:
            self.run(batch, customer_id, STAGE_PLAYBOOK[stage], stay, entered)
        self.contract_milestones(customer_id, stage, start, entered, renewal, batch)

    def arr_history(self, customer_id, i, stage, start, entered, arr, created, batch) -> None:
        """The ARR log: new business on the start day; for four in ten customers a year on,
        an expansion (or, one time in three, a contraction) to the ARR they have now; a
        churned customer's churn on the day it churned. Its own generator (seeded by the
        customer), so the rest of the book is the same as before the log was kept."""
        rng, d = random.Random(i), self.day
        anniversary = start + timedelta(days=365)
        changed = anniversary < (entered if stage == "churned" else self.today)
        first = arr
        if changed and rng.random() < 0.4:
            first = float(round(arr * (0.8 if rng.random() < 2 / 3 else 1.25), -2))
        entries = [(start, "new", first, first)]
        if first != arr:
            kind = "expansion" if arr > first else "contraction"
            entries.append((anniversary, kind, arr, arr - first))
        if stage == "churned":
            entries.append((max(start, entered), "churn", arr, -arr))
        for on, kind, value, change in entries:
            key = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            batch["arr"].append((self.next_id("arr_log"), key, customer_id, d(on), kind, value,
                                 change, created))  # fmt: skip

    def run(self, batch, customer_id: int, playbook: str, run_key: str, anchor: date) -> None:
        created, _ = self.now()
        batch["runs"].append((self.next_id("playbook_runs"), self.uuid(), customer_id, playbook,
                              run_key, self.day(anchor), created))  # fmt: skip

    def sales_milestones(self, customer_id: int, start: date, batch: dict) -> None:
        step = self.rng.randint(7, 21)
        for n, title in enumerate(SALES):
            self.milestone(batch, customer_id, title, start + timedelta(days=step * (n + 1)))

    def contract_milestones(self, customer_id, stage, start, entered, renewal, batch) -> None:
        rng, today = self.rng, self.today
        churned = entered if stage == "churned" else None
        # The lifecycle phases (Introduction, Adoption, Retention) are no rows: clm computes
        # them from the lifecycle playbook's run recorded above, as it does for a book it makes.
        life = "playbook:lifecycle"
        onboarding = "playbook:onboarding"
        for title, offset in (("Product delivery", 14), ("Setup and installation", 21),
                              ("Personnel training", 30)):  # fmt: skip
            self.milestone(batch, customer_id, title, start + timedelta(days=offset), onboarding,
                           churned)  # fmt: skip
        # The yearly Renewal series: every past occurrence was renewed (done), up to the next.
        anchor, series = add_years(start, 1), None
        k = 0
        while True:
            due = add_years(start, k + 1)
            _, uuid = self.milestone(
                batch, customer_id, "Renewal", due, life, churned, every="1y",
                series=series, occurrence=k, anchor=anchor, renewed=due < today,
            )  # fmt: skip
            series = series or uuid
            if due >= renewal:
                break
            k += 1
        count = 3 + k + 1
        if stage == "renewal":
            self.milestone(batch, customer_id, "Renewal signed", renewal, "playbook:renewal")
            count += 1
        elif stage == "will-churn":
            self.milestone(batch, customer_id, "Save plan agreed", entered + timedelta(days=14),
                           "playbook:save")  # fmt: skip
            count += 1
        first, span = start + timedelta(days=30), (renewal - start).days - 30
        for title in rng.sample(ONE_OFF, MILESTONES_PER_CUSTOMER - count):
            due = first + timedelta(days=rng.randint(0, span))
            self.milestone(batch, customer_id, title, due, None, churned)

    def milestone(
        self,
        batch,
        customer_id,
        title,
        due,
        source=None,
        churned=None,
        every=None,
        series=None,
        occurrence=0,
        anchor=None,
        renewed=False,
    ) -> tuple[int, str]:
        rng, today = self.rng, self.today
        done_on = None
        if churned is not None and due > churned:
            status = "cancelled"
        elif due < today:
            if renewed or rng.random() < 0.95:
                status = "done"
                done_on = min(today, due + timedelta(days=rng.randint(-7, 7)))
            else:
                status = "cancelled" if churned is not None else "open"
        else:
            status = "open"
        milestone_id = self.next_id("milestones")
        uuid = self.uuid()
        created, stamps = self.now()
        d = self.day
        batch["milestones"].append((
            milestone_id, uuid, created, created, stamps, customer_id, title, d(due), status,
            every, series or uuid, occurrence, d(anchor or due), 0, None,
            d(done_on) if done_on else None, source,
        ))  # fmt: skip
        batch["reminders"].append(
            (milestone_id, "2w", d(due - timedelta(days=14)), int(status == "open"))
        )
        return milestone_id, uuid

    def insert(self, batch: dict) -> None:
        c = self.conn
        c.executemany(
            "INSERT INTO customers (id, uuid, created_at, updated_at, stamps, slug, name, stage,"
            " stage_entered, owner_id, start, renewal, term, arr, health, lead_score, source,"
            " health_on, lead_score_on, arr_on, stay)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            batch["customers"],
        )
        c.executemany(
            'INSERT INTO transitions (id, uuid, customer_id, from_stage, to_stage, "on", "by",'
            " rule, reason, from_owner_id, to_owner_id, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            batch["transitions"],
        )
        c.executemany(
            'INSERT INTO arr_log (id, uuid, customer_id, "on", kind, arr, change, created_at)'
            " VALUES (?,?,?,?,?,?,?,?)",
            batch["arr"],
        )
        c.executemany(
            "INSERT INTO playbook_runs (id, uuid, customer_id, playbook, run_key, anchor_day,"
            " created_at) VALUES (?,?,?,?,?,?,?)",
            batch["runs"],
        )
        c.executemany(
            "INSERT INTO milestones (id, uuid, created_at, updated_at, stamps, customer_id, title,"
            " due, status, every, series, occurrence, anchor, pinned, blocked_reason, done_on,"
            " source) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            batch["milestones"],
        )
        c.executemany(
            'INSERT INTO milestone_reminders (milestone_id, "offset", remind_on, pending)'
            " VALUES (?,?,?,?)",
            batch["reminders"],
        )


def find_clm(given: str | None) -> str:
    for candidate in (given, os.environ.get("CLM"), str(Path(sys.executable).with_name("clm"))):
        if candidate and (found := shutil.which(candidate)):
            return found
    found = shutil.which("clm")
    if not found:
        raise SystemExit("error: no clm found (pass --clm or set CLM)")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="how many customers")
    parser.add_argument("db", type=Path, help="the new database file")
    parser.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--stale",
        type=float,
        default=0.1,
        help="share of customers whose rule already holds (default 0.1)",
    )
    parser.add_argument("--no-analyze", action="store_true", help="skip ANALYZE at the end")
    parser.add_argument("--clm", help="the clm executable (default: $CLM, next to python, PATH)")
    args = parser.parse_args()
    if args.db.exists():
        raise SystemExit(f"error: {args.db} exists: make_book creates a new database")
    began = time.perf_counter()
    init = subprocess.run(
        [find_clm(args.clm), "--db", str(args.db), "--today", args.today.isoformat(), "init"],
        capture_output=True,
        text=True,
    )
    if init.returncode:
        raise SystemExit(f"error: clm init failed:\n{init.stdout}{init.stderr}")
    conn = sqlite3.connect(args.db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA journal_mode=MEMORY")  # not persistent: the file stays in DELETE mode
    conn.execute("PRAGMA cache_size=-512000")
    conn.execute("BEGIN IMMEDIATE")
    loader = Loader(conn, args.today, args.seed, args.stale)
    loader.customers(args.n)
    hlc = conn.execute("SELECT value FROM clm_meta WHERE key = 'hlc'").fetchone()
    stamp = max(hlc[0] if hlc else "", loader.last_stamp())
    conn.execute("INSERT OR REPLACE INTO clm_meta (key, value) VALUES ('hlc', ?)", (stamp,))
    conn.execute("COMMIT")
    loaded = time.perf_counter()
    if not args.no_analyze:
        conn.execute("ANALYZE")
    conn.execute("PRAGMA synchronous=FULL")
    conn.close()
    counts = {}
    with sqlite3.connect(args.db) as check:
        for table in ("customers", "milestones", "milestone_reminders", "transitions",
                      "playbook_runs", "users"):  # fmt: skip
            counts[table] = check.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    check.close()
    done = time.perf_counter()
    summary = {
        "db": str(args.db),
        "today": args.today.isoformat(),
        "seed": args.seed,
        "rows": counts,
        "seconds": {
            "load": round(loaded - began, 2),
            "analyze": round(done - loaded, 2),
            "total": round(done - began, 2),
        },
        "mb": round(args.db.stat().st_size / 1e6, 1),
    }
    print(json.dumps(summary), file=sys.stderr)


if __name__ == "__main__":
    main()
