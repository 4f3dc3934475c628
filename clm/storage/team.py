"""Team mode on a server: clm users as login roles, the group role of each access level, and
the row-level security policies that scope what a role sees (PostgreSQL only; on a SQLite
file the file is the boundary and these are no-ops).

A member sees the customers they own, influence, collaborate on through a milestone, or
whose stage their team owns; a manager also those owned by their team; an admin and the
service role (the tick) everything. A milestone collaborator may read that customer, update
that milestone and add tasks under it, nothing else. The database's owner (who ran
`clm init`) is above the policies, as PostgreSQL makes table owners.
"""

from sqlalchemy import Connection

ACCESS = ("member", "manager", "admin", "service")
# Tables that carry a customer, and the column naming it.
SCOPED = {
    "customers": "id",
    "milestones": "customer_id",
    "tasks": "customer_id",
    "ctas": "customer_id",
    "notes": "customer_id",
    "transitions": "customer_id",
    "health_log": "customer_id",
    "owner_changes": "customer_id",
    "customer_tags": "customer_id",
    "customer_influencers": "customer_id",
    "playbook_runs": "customer_id",
    "rule_firings": "customer_id",
    "arr_log": "customer_id",
    "metric_points": "customer_id",
    "field_values": "customer_id",
    "contacts": "customer_id",
}

_FUNCTIONS = """
CREATE OR REPLACE FUNCTION clm_sees(cid integer, who name, writing boolean) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  WITH me AS (SELECT id, team, access FROM users WHERE db_role = who AND deleted_at IS NULL)
  SELECT EXISTS (SELECT 1 FROM me WHERE access IN ('admin', 'service'))
    OR EXISTS (
      SELECT 1 FROM customers c, me
      WHERE c.id = cid AND (
        c.owner_id = me.id
        OR EXISTS (SELECT 1 FROM stages s WHERE s.key = c.stage AND s.team = me.team
                   AND s.deleted_at IS NULL)
        OR (me.access = 'manager' AND EXISTS (
              SELECT 1 FROM users o WHERE o.id = c.owner_id AND o.team = me.team))))
    OR EXISTS (SELECT 1 FROM customer_influencers i, me
               WHERE i.customer_id = cid AND i.user_id = me.id)
    OR (NOT writing AND EXISTS (
      SELECT 1 FROM milestone_collaborators mc JOIN milestones m ON m.id = mc.milestone_id, me
      WHERE m.customer_id = cid AND mc.user_id = me.id AND m.deleted_at IS NULL))
$$;
CREATE OR REPLACE FUNCTION clm_collaborates(mid integer, who name) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT EXISTS (SELECT 1 FROM milestone_collaborators mc JOIN users u ON u.id = mc.user_id
                 WHERE mc.milestone_id = mid AND u.db_role = who AND u.deleted_at IS NULL)
$$;
"""


def install_policies(conn: Connection) -> None:
    """(Re)create the policies: reading needs `clm_sees`; writing it without collaborations,
    but a collaborator may update their milestone and add tasks under it."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(_FUNCTIONS)
    for table, column in SCOPED.items():
        conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        for name in ("read", "write", "collaborate"):
            conn.exec_driver_sql(f"DROP POLICY IF EXISTS clm_{name} ON {table}")
        conn.exec_driver_sql(
            f"CREATE POLICY clm_read ON {table} FOR SELECT "
            f"USING (clm_sees({column}, current_user, false))"
        )
        conn.exec_driver_sql(
            f"CREATE POLICY clm_write ON {table} FOR ALL "
            f"USING (clm_sees({column}, current_user, true)) "
            f"WITH CHECK (clm_sees({column}, current_user, true))"
        )
    # The log of a customer's records is as visible as the customer (the subquery is itself
    # scoped); the triggers append to it in the writer's name.
    conn.exec_driver_sql("ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY")
    for name in ("read", "append"):
        conn.exec_driver_sql(f"DROP POLICY IF EXISTS clm_{name} ON audit_log")
    conn.exec_driver_sql(
        "CREATE POLICY clm_read ON audit_log FOR SELECT USING (customer_uuid IS NULL OR "
        "EXISTS (SELECT 1 FROM customers c WHERE c.uuid = audit_log.customer_uuid))"
    )
    conn.exec_driver_sql("CREATE POLICY clm_append ON audit_log FOR INSERT WITH CHECK (true)")
    conn.exec_driver_sql(
        "CREATE POLICY clm_collaborate ON milestones FOR UPDATE "
        "USING (clm_collaborates(id, current_user)) "
        "WITH CHECK (clm_collaborates(id, current_user))"
    )
    conn.exec_driver_sql(
        "CREATE POLICY clm_collaborate ON tasks FOR INSERT "
        "WITH CHECK (clm_collaborates(milestone_id, current_user))"
    )


def drop_cross_table_policies(conn: Connection) -> None:
    """Before the tables are dropped: the log's policy reads customers, so it holds customers
    up (the other policies go with their tables)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "DO $$ BEGIN DROP POLICY IF EXISTS clm_read ON audit_log; "
            "EXCEPTION WHEN undefined_table THEN NULL; END $$"
        )


def policy_problems(conn: Connection) -> list[str]:
    """What `db check` reports of the policies: each scoped table without row-level security
    or without its policies (empty on a file, or when all is in place)."""
    if conn.dialect.name != "postgresql":
        return []
    found = {
        row[0]: (row[1], row[2])
        for row in conn.exec_driver_sql(
            "SELECT c.relname, c.relrowsecurity, count(p.polname) FROM pg_class c "
            "LEFT JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' "
            "GROUP BY c.relname, c.relrowsecurity"
        )
    }
    problems = []
    for table in SCOPED:
        secured, policies = found.get(table, (False, 0))
        if not secured or policies < 2:
            problems.append(f"{table}: row-level security is off (clm db migrate restores it)")
    return problems


def group_role(access: str) -> str:
    return f"clm_{access}"


def grant_login(conn: Connection, role: str, access: str) -> bool:
    """Make `role` a login role of `access` (creating it, and the group roles, when missing):
    its rights on this schema's tables, and no other access level. Whether it was created."""
    quote = conn.dialect.identifier_preparer.quote
    for level in ACCESS:
        _create_role(conn, group_role(level), login=False)
    created = _create_role(conn, role, login=True)
    schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
    group = group_role(access)
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {group}")
    conn.exec_driver_sql(
        f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {quote(schema)} TO {group}"
    )
    conn.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {group}")
    # The log is append-only: written by the triggers, never edited (nor by the owner's tools).
    conn.exec_driver_sql(f"REVOKE UPDATE, DELETE ON audit_log FROM {group}")
    for level in ACCESS:
        if level != access:
            conn.exec_driver_sql(f"REVOKE {group_role(level)} FROM {quote(role)}")
    conn.exec_driver_sql(f"GRANT {group} TO {quote(role)}")
    return created


def _create_role(conn: Connection, role: str, login: bool) -> bool:
    """Create a role unless it exists (roles belong to the server: another database, or a
    concurrent grant, may have made it)."""
    if conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": role}).first():
        return False
    quote = conn.dialect.identifier_preparer.quote
    conn.exec_driver_sql(
        "DO $$ BEGIN CREATE ROLE {} {}; EXCEPTION WHEN duplicate_object THEN NULL; END $$".format(
            quote(role), "LOGIN" if login else "NOLOGIN"
        )
    )
    return True


def connected_role(conn: Connection) -> str | None:
    """The server role this connection runs as; None on a file."""
    if conn.dialect.name != "postgresql":
        return None
    return conn.exec_driver_sql("SELECT current_user").scalar()
