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
