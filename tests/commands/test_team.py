"""Team mode on a server: users as login roles (`clm user grant`), the connecting role as the
user, and row-level security, through clm and through psql directly. On a file the access
level is only recorded."""

import itertools
import os
import subprocess
import uuid

import pytest

from tests.conftest import sql

RUN = uuid.uuid4().hex[:6]  # roles belong to the server: unique per run (runs are parallel)
_made = itertools.count(1)


class Roles:
    """Login roles made for one test, each with a clm URL and a psql connection string."""

    def __init__(self, clm, owner_url: str, monkeypatch):
        self.clm, self.owner_url, self.made = clm, owner_url, []
        monkeypatch.setenv("PGPASSWORD", "team-test")

    def grant(self, team: str | None, access: str = "member") -> str:
        handle = f"r{RUN}{next(_made)}"
        self.clm("user", "add", handle, *(("--team", team) if team else ()))
        self.clm("user", "grant", handle, "--role", access)
        self.made.append(handle)
        sql(self.owner_url, f"ALTER ROLE {handle} PASSWORD 'team-test'")
        return handle

    def url(self, role: str) -> str:
        return self.owner_url.replace("postgresql:///", f"postgresql://{role}@127.0.0.1/", 1)

    def psql(self, role: str, statement: str) -> subprocess.CompletedProcess:
        base, _, query = self.owner_url.removeprefix("postgresql:///").partition("?")
        schema = query.removeprefix("options=-csearch_path%3D")
        conninfo = f"host=127.0.0.1 user={role} dbname={base} options=-csearch_path={schema}"
        return subprocess.run(
            ["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", conninfo, "-c", statement],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    def drop(self) -> None:
        for role in self.made:
            sql(self.owner_url, f"DROP OWNED BY {role}")
            sql(self.owner_url, f"DROP ROLE IF EXISTS {role}")


@pytest.fixture
def roles(clm, monkeypatch):
    made = Roles(clm, os.environ["CLM_DB"], monkeypatch)
    yield made
    made.drop()


@pytest.fixture
def book(clm, roles):
    """Two members of two teams, a manager of customer-success, and an account in each team's
    stage, one owned by the first member."""
    cs = roles.grant("customer-success")
    sales = roles.grant("sales")
    boss = roles.grant("customer-success", "manager")
    clm("customer", "add", "Acme Corp", "--owner", cs)  # onboarding: customer-success's
    clm("customer", "add", "Globex", "--stage", "prospect")  # sales's
    clm("customer", "add", "Initech", "--stage", "lead")  # marketing's: nobody's here
    return clm, cs, sales, boss


def as_role(clm, roles, role, *args, code=0):
    return clm("--db", roles.url(role), *args, code=code)


def slugs(clm, roles, role) -> list[str]:
    return sorted(c["slug"] for c in clm.json("--db", roles.url(role), "customer", "list"))


@pytest.mark.pg_only
def test_each_role_sees_only_its_scope_through_clm(book, roles):
    clm, cs, sales, boss = book
    assert slugs(clm, roles, cs) == ["acme-corp"]
    assert slugs(clm, roles, sales) == ["globex"]
    assert slugs(clm, roles, boss) == ["acme-corp"]
    out = as_role(clm, roles, sales, "report", "stages")
    assert "only what role" in out.stderr
    milestones = clm.json("--db", roles.url(sales), "milestone", "list", "--status", "all")
    assert {m["customer"] for m in milestones} <= {"globex"}
    error = clm.error("--db", roles.url(sales), "customer", "edit", "acme-corp", "--health", "5")
    assert error == "Error: no customer 'acme-corp'"


@pytest.mark.pg_only
def test_psql_as_the_role_cannot_read_or_change_rows_out_of_scope(book, roles):
    _, cs, sales, _ = book
    assert roles.psql(cs, "SELECT slug FROM customers ORDER BY slug").stdout.split() == [
        "acme-corp"
    ]
    changed = roles.psql(sales, "UPDATE customers SET health = 1 WHERE slug = 'acme-corp'")
    assert changed.returncode == 0
    assert sql(os.environ["CLM_DB"], "SELECT health FROM customers WHERE slug = 'acme-corp'") == [
        (None,)
    ]
    theirs = "SELECT count(*) FROM milestones m JOIN customers c ON c.id = m.customer_id "
    assert roles.psql(sales, theirs + "WHERE c.slug = 'acme-corp'").stdout.strip() == "0"
    # The log is append-only for them.
    refused = roles.psql(cs, "DELETE FROM audit_log")
    assert refused.returncode != 0 and "permission denied" in refused.stderr


@pytest.mark.pg_only
def test_a_collaborator_gains_and_loses_access(book, roles):
    clm, _, sales, _ = book
    [milestone] = [
        m for m in clm.json("milestone", "list", "--customer", "acme-corp") if m["title"]
    ][:1]
    clm("milestone", "edit", str(milestone["id"]), "--collaborator", sales)
    assert slugs(clm, roles, sales) == ["acme-corp", "globex"]
    # Read and mark their milestone, but not edit the customer.
    as_role(clm, roles, sales, "milestone", "done", str(milestone["id"]))
    clm.error("--db", roles.url(sales), "customer", "edit", "acme-corp", "--health", "5")
    clm("milestone", "edit", str(milestone["id"]), "--remove-collaborator", sales)
    assert slugs(clm, roles, sales) == ["globex"]


@pytest.mark.pg_only
def test_the_user_is_the_connecting_role(book, roles):
    clm, cs, sales, _ = book
    as_role(clm, roles, cs, "customer", "edit", "acme-corp", "--health", "60")
    [change] = clm.json("log", "--field", "health")
    assert (change["by"], change["role"]) == (cs, cs)
    error = clm.error("--db", roles.url(cs), "--as", sales, "customer", "list")
    assert "only an admin may act as someone else" in error
    admin = roles.grant(None, "admin")
    assert slugs(clm, roles, admin) == ["acme-corp", "globex", "initech"]
    as_role(clm, roles, admin, "--as", cs, "customer", "list")
    assert "only an admin grants" in clm.error("--db", roles.url(cs), "user", "grant", sales)


@pytest.mark.pg_only
def test_db_check_reports_row_level_security(book, roles):
    clm, *_ = book
    assert "row-level security: on" in clm("db", "check").stdout


def test_grant_on_a_file_records_the_level(clm):
    clm("user", "add", "alice")
    out = clm("user", "grant", "alice", "--role", "manager")
    assert "alice is a manager" in out.stderr + out.stdout
    assert clm.error("user", "grant", "alice", "--role", "boss") == (
        "Error: unknown role 'boss': use member, manager, admin, service"
    )
    assert clm.error("user", "grant", "nobody").startswith("Error: no user 'nobody'")


def collaborate(clm, roles, role) -> int:
    """Make `role` a collaborator on acme-corp's first milestone; its id."""
    first = clm.json("milestone", "list", "--customer", "acme-corp")[0]["id"]
    clm("milestone", "edit", str(first), "--collaborator", role)
    return first


@pytest.mark.pg_only
def test_a_collaborator_may_only_mark_their_milestone_and_add_tasks_under_it(book, roles):
    clm, _, sales, _ = book
    mid = collaborate(clm, roles, sales)
    as_role(clm, roles, sales, "task", "add", "acme-corp", "Call Bo", "--milestone", str(mid))
    as_role(clm, roles, sales, "milestone", "block", str(mid), "--reason", "waiting on IT")
    assert clm.json("milestone", "show", str(mid))["status"] == "blocked"
    tasks = clm.json("task", "list", "--customer", "acme-corp")
    [task] = [t for t in tasks if t["title"] == "Call Bo"]
    only = "Error: a milestone collaborator may only mark it done or blocked and add tasks"
    for args in (
        ("milestone", "edit", str(mid), "--title", "Mine now"),
        ("milestone", "edit", str(mid), "--due", "2027-01-01"),
        ("milestone", "reopen", str(mid)),
        ("milestone", "cancel", str(mid)),
        ("milestone", "rm", str(mid), "--yes"),
    ):
        assert clm.error("--db", roles.url(sales), *args).startswith(only), args
    refused = clm.error("--db", roles.url(sales), "task", "done", str(task["id"]))
    assert "may read task" in refused and "but not change it" in refused
    other = clm.error(
        "--db", roles.url(sales), "milestone", "add", "acme-corp", "Take over", "--due", "+7d"
    )
    assert other.startswith("Error: ") and "\n" not in other
    as_role(clm, roles, sales, "milestone", "done", str(mid))
    shown = clm.json("milestone", "show", str(mid))
    assert (shown["status"], shown["title"]) != ("done", "Mine now")
    assert shown["status"] == "done" and shown["title"] != "Mine now"


@pytest.mark.pg_only
def test_psql_as_a_collaborator_may_change_only_status_fields(book, roles):
    clm, _, sales, _ = book
    mid = collaborate(clm, roles, sales)
    refused = roles.psql(sales, f"UPDATE milestones SET title = 'x' WHERE id = {mid}")
    assert refused.returncode != 0
    assert "a milestone collaborator may only mark it done or blocked" in refused.stderr
    reopened = roles.psql(sales, f"UPDATE milestones SET status = 'cancelled' WHERE id = {mid}")
    assert reopened.returncode != 0
    blocked = roles.psql(
        sales, f"UPDATE milestones SET status = 'blocked', blocked_reason = 'IT' WHERE id = {mid}"
    )
    assert blocked.returncode == 0, blocked.stderr
    owner = os.environ["CLM_DB"]
    assert sql(owner, f"SELECT status, title <> 'x' FROM milestones WHERE id = {mid}") == [
        ("blocked", True)
    ]
    # Other customers' rows and the customer's own fields stay out of reach.
    roles.psql(sales, "UPDATE customers SET health = 3 WHERE slug = 'acme-corp'")
    assert sql(owner, "SELECT health FROM customers WHERE slug = 'acme-corp'") == [(None,)]
    added = roles.psql(
        sales,
        "INSERT INTO tasks (uuid, customer_id, title, status, stamps, created_at, updated_at) "
        "SELECT gen_random_uuid()::text, id, 'x', 'open', '{}', now(), now() FROM customers "
        "WHERE slug = 'acme-corp'",
    )
    assert added.returncode != 0 and "row-level security" in added.stderr


@pytest.mark.pg_only
def test_the_owner_and_an_admin_are_not_held_to_a_collaborators_fields(book, roles):
    clm, _, sales, _ = book
    mid = collaborate(clm, roles, sales)
    clm("milestone", "edit", str(mid), "--title", "Renamed by the owner")
    admin = roles.grant(None, "admin")
    as_role(clm, roles, admin, "milestone", "edit", str(mid), "--title", "Renamed by an admin")
    assert clm.json("milestone", "show", str(mid))["title"] == "Renamed by an admin"


@pytest.mark.pg_only
def test_a_role_granted_before_a_migration_may_use_the_table_it_added(book, roles, monkeypatch):
    from clm.storage import migrations

    clm, cs, _, _ = book

    def probe_table(conn):
        conn.exec_driver_sql("CREATE TABLE team_probe (id integer PRIMARY KEY, note text)")

    added = [*migrations.MIGRATIONS, ("9999_team_probe", probe_table)]
    monkeypatch.setattr(migrations, "MIGRATIONS", added)
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", len(added))
    clm("db", "migrate")
    written = roles.psql(
        cs, "INSERT INTO team_probe VALUES (1, 'hello'); SELECT note FROM team_probe"
    )
    assert (written.returncode, written.stdout.strip()) == (0, "hello"), written.stderr
    # The policies and the log's append-only rights survive the re-grant.
    assert roles.psql(cs, "DELETE FROM audit_log").returncode != 0
    assert slugs(clm, roles, cs) == ["acme-corp"]


@pytest.mark.pg_only
def test_a_member_cannot_make_themselves_an_admin(book, roles):
    _, cs, _, _ = book
    refused = roles.psql(cs, f"UPDATE users SET access = 'admin' WHERE handle = '{cs}'")
    assert refused.returncode != 0 and "permission denied" in refused.stderr
    sneaked = roles.psql(
        cs,
        "INSERT INTO users (uuid, handle, db_role, access, stamps, created_at, updated_at) "
        f"VALUES (gen_random_uuid()::text, 'x{cs}', '{cs}', 'admin', '{{}}', now(), now())",
    )
    assert sneaked.returncode != 0 and "permission denied" in sneaked.stderr


@pytest.mark.pg_only
def test_quiet_is_heard_only_from_admins_service_and_the_owner(book, roles):
    _, cs, _, _ = book
    owner = os.environ["CLM_DB"]
    logged = "SELECT count(*) FROM audit_log WHERE field = 'health' AND new = '{}'"
    quiet = roles.psql(
        cs, "SET clm.quiet = 'on'; UPDATE customers SET health = 41 WHERE slug = 'acme-corp'"
    )
    assert quiet.returncode == 0, quiet.stderr
    assert sql(owner, logged.format(41)) == [(1,)]
    admin = roles.grant(None, "admin")
    roles.psql(
        admin, "SET clm.quiet = 'on'; UPDATE customers SET health = 42 WHERE slug = 'acme-corp'"
    )
    assert sql(owner, logged.format(42)) == [(0,)]
    roles.psql(admin, "UPDATE customers SET health = 43 WHERE slug = 'acme-corp'")
    assert sql(owner, logged.format(43)) == [(1,)]


@pytest.mark.pg_only
def test_the_newer_commands_show_a_member_only_their_scope(book, roles):
    """contact, field, metric, log, undo and the revenue reports, as a member of sales (who
    sees globex only) after the owner wrote to acme-corp."""
    clm, _, sales, _ = book
    clm("field", "add", "seats", "--kind", "number")
    clm("metric", "add", "logins")
    for slug in ("acme-corp", "globex"):
        clm("customer", "edit", slug, "--set", "seats=9", "--arr", "1000")
        clm("contact", "add", slug, f"Contact of {slug}")
        clm("metric", "set", slug, "logins", "5")
    as_sales = ("--db", roles.url(sales))
    contacts = clm.json(*as_sales, "contact", "list")
    assert {c["customer"] for c in contacts} == {"globex"}
    assert clm.error(*as_sales, "contact", "list", "--customer", "acme-corp") == (
        "Error: no customer 'acme-corp'"
    )
    assert clm.error(*as_sales, "contact", "add", "acme-corp", "Eve").startswith(
        "Error: no customer 'acme-corp'"
    )
    acme_contact = next(c for c in clm.json("contact", "list") if c["customer"] == "acme-corp")
    assert clm.error(*as_sales, "contact", "rm", str(acme_contact["id"])).startswith(
        "Error: no contact"
    )
    assert clm.json(*as_sales, "field", "list")[0]["customers"] == 1
    assert clm.error(*as_sales, "metric", "show", "acme-corp", "logins").startswith(
        "Error: no customer 'acme-corp'"
    )
    assert clm.error(*as_sales, "metric", "set", "acme-corp", "logins", "1").startswith(
        "Error: no customer 'acme-corp'"
    )
    log = clm.json(*as_sales, "log")
    assert {r["customer"] for r in log} <= {"globex", None}
    assert clm.error(*as_sales, "log", "acme-corp") == "Error: no customer 'acme-corp'"
    acme_change = clm.json("log", "acme-corp", "--field", "arr")[-1]["id"]
    assert clm.error(*as_sales, "undo", str(acme_change)).startswith(
        f"Error: no change {acme_change}"
    )
    for report in ("retention", "forecast", "churn", "cohorts"):
        out = as_role(clm, roles, sales, "report", report, "--format", "json")
        assert "acme" not in out.stdout and "only what role" in out.stderr, report


@pytest.mark.pg_only
def test_a_collaborator_marking_a_recurring_milestone_done_gets_its_next_occurrence(book, roles):
    clm, _, sales, _ = book
    clm("milestone", "add", "acme-corp", "QBR", "--due", "+7d", "--every", "quarter",
        "--collaborator", sales)  # fmt: skip
    [qbr] = [
        m for m in clm.json("milestone", "list", "--customer", "acme-corp") if m["title"] == "QBR"
    ]
    as_role(clm, roles, sales, "milestone", "done", str(qbr["id"]))
    qbrs = [
        m
        for m in clm.json("milestone", "list", "--customer", "acme-corp", "--status", "all")
        if m["title"] == "QBR"
    ]
    assert sorted(m["status"] for m in qbrs) == ["done", "open"]
    # The next occurrence keeps them on it, and still only its status is theirs to change.
    [following] = [m for m in qbrs if m["status"] == "open"]
    assert clm.error(
        "--db", roles.url(sales), "milestone", "edit", str(following["id"]), "--title", "Mine"
    ).startswith("Error: a milestone collaborator may only")


PLAYBOOK = '\n[[playbooks]]\nname = "mine"\ndescription = "x"\non_start = false\n'


@pytest.mark.pg_only
@pytest.mark.parametrize("access", ["member", "manager"])
def test_only_an_admin_may_change_the_lifecycle_model(book, roles, tmp_path, access):
    """Members and managers read the model; each change is one Error line, nothing written."""
    clm, _, _, _ = book
    role = roles.grant("customer-success", access)
    model = tmp_path / "model.toml"
    clm("model", "export", str(model))
    before = model.read_text()
    with_playbook = tmp_path / "playbook.toml"
    with_playbook.write_text(before + PLAYBOOK)
    fewer_reasons = tmp_path / "reasons.toml"
    fewer_reasons.write_text(before.replace('    "acquired",\n', "", 1))
    only = "Error: only an admin may change the lifecycle model"
    for args in (
        ("stage", "add", "pilot", "--after", "onboarding"),
        ("stage", "edit", "onboarding", "--expected-days", "9"),
        ("rule", "add", "slow", "--from", "onboarding", "--when", "health < 9", "--cta", "risk:x"),
        ("model", "apply", str(with_playbook)),
        ("model", "apply", str(fewer_reasons)),
        ("field", "add", "segment", "--kind", "text"),
        ("metric", "add", "logins"),
        ("holiday", "add", "2027-01-01"),
    ):
        refused = clm.error("--db", roles.url(role), *args)
        assert refused.startswith(only) and "\n" not in refused.strip(), (args, refused)
    after = tmp_path / "after.toml"
    clm("model", "export", str(after))
    assert after.read_text() == before
    assert clm.json("--db", roles.url(role), "stage", "list")  # reading is still theirs
    assert clm.json("field", "list") == [] and clm.json("metric", "list") == []


@pytest.mark.pg_only
def test_psql_as_a_member_reads_the_model_and_only_an_admin_changes_it(book, roles):
    clm, cs, _, _ = book
    change = "UPDATE stages SET expected_days = 9 WHERE key = 'onboarding'"
    assert roles.psql(cs, "SELECT count(*) FROM stages").stdout.strip() != "0"
    refused = roles.psql(cs, change)
    assert refused.returncode != 0 and "permission denied" in refused.stderr
    setting = roles.psql(cs, "INSERT INTO clm_meta VALUES ('churn_reasons', '[]')")
    assert setting.returncode != 0 and "only an admin" in setting.stderr
    admin = roles.grant(None, "admin")
    assert roles.psql(admin, change).returncode == 0
    [onboarding] = [s for s in clm.json("stage", "list") if s["key"] == "onboarding"]
    assert onboarding["expected_days"] == 9
    as_role(clm, roles, admin, "stage", "add", "pilot", "--after", "onboarding")
    as_role(clm, roles, admin, "metric", "add", "logins")


@pytest.mark.pg_only
def test_a_member_may_move_a_round_robin_teams_pointer_only(book, roles):
    """Adding a customer to a round-robin team moves its pointer: that column stays theirs."""
    clm, cs, _, _ = book
    clm("user", "team", "customer-success", "--assign", "round-robin")
    team = "WHERE name = 'customer-success'"
    moved = roles.psql(cs, f"UPDATE teams SET last_assigned_id = NULL, updated_at = now() {team}")
    assert moved.returncode == 0, moved.stderr
    policy = roles.psql(cs, f"UPDATE teams SET assign = 'default-owner' {team}")
    assert policy.returncode != 0 and "permission denied" in policy.stderr


@pytest.mark.pg_only
def test_a_member_edits_only_their_own_notifications_and_only_an_admin_adds_users(book, roles):
    clm, cs, sales, _ = book
    as_role(clm, roles, cs, "user", "edit", cs, "--email", "me@example.com", "--notify", "email")
    [me] = [u for u in clm.json("user", "list") if u["handle"] == cs]
    assert me["email"] == "me@example.com"
    other = clm.error("--db", roles.url(cs), "user", "edit", sales, "--email", "x@example.com")
    assert other.startswith(f"Error: your role may read user {sales} but not change them")
    added = clm.error("--db", roles.url(cs), "user", "add", f"n{cs}")
    assert added.startswith("Error: only an admin adds users") and "\n" not in added.strip()
    moved = roles.psql(cs, f"UPDATE users SET team = 'sales' WHERE handle = '{cs}'")
    assert moved.returncode != 0 and "permission denied" in moved.stderr
    assert f"n{cs}" not in [u["handle"] for u in clm.json("user", "list")]
    admin = roles.grant(None, "admin")
    as_role(clm, roles, admin, "user", "edit", sales, "--email", "s@example.com")
    as_role(clm, roles, admin, "user", "add", f"n{cs}", "--team", "sales")


@pytest.mark.pg_only
def test_the_tick_as_the_service_role_still_writes_what_it_needs(book, roles):
    clm, _, _, _ = book
    clm("user", "team", "customer-success", "--assign", "round-robin")
    clm("rule", "disable", "at-risk")
    clm("customer", "add", "Foo", "--health", "20")
    clm("rule", "add", "lowh", "--from", "onboarding", "--when", "health < 30", "--cta", "risk:x")
    cron = roles.grant(None, "service")
    ticked = clm.json("--db", roles.url(cron), "tick")
    assert [c["reason"] for c in ticked["ctas_opened"]] == ["x"]


@pytest.mark.pg_only
def test_a_member_adds_a_customer_they_own_or_one_in_their_teams_stage(book, roles):
    """The new row is in the member's scope by its own columns: an owner or a stage of theirs.
    (The scope read the customers already there, so every insert by a member was refused.)"""
    clm, cs, sales, _ = book
    as_role(clm, roles, cs, "customer", "add", "Hooli")  # onboarding: customer-success's
    as_role(clm, roles, sales, "customer", "add", "Umbrella", "--stage", "prospect")
    as_role(clm, roles, sales, "customer", "add", "Wonka", "--stage", "lead", "--owner", sales)
    assert slugs(clm, roles, cs) == ["acme-corp", "hooli"]
    assert slugs(clm, roles, sales) == ["globex", "umbrella", "wonka"]
    refused = clm.error("--db", roles.url(sales), "customer", "add", "Soylent", "--stage", "lead")
    assert refused.startswith("Error: ") and "scope" in refused
    assert "soylent" not in [c["slug"] for c in clm.json("customer", "list")]
