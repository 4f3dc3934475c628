"""Team mode on a server: clm users as login roles, the group role of each access level, and
the row-level security policies that scope what a role sees (PostgreSQL only; on a SQLite
file the file is the boundary and these are no-ops).

A member sees the customers they own, influence, collaborate on through a milestone, or
whose stage their team owns; a manager also those owned by their team; an admin and the
service role (the tick) everything. A milestone collaborator may read that customer, mark
that milestone done or blocked and add tasks under it, nothing else (a trigger holds them to
those fields: a policy says which rows, not which columns). The database's owner (who ran
`clm init`) is above the policies, as PostgreSQL makes table owners.

The group roles' rights are granted again after each migration (`after_migrations`), so a
role granted before a migration added a table has its rights on that table too.
"""

from sqlalchemy import Connection

from clm.storage.dialect import run_script

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
    "health_scores": "customer_id",
    "owner_changes": "customer_id",
    "customer_tags": "customer_id",
    "customer_influencers": "customer_id",
    "playbook_runs": "customer_id",
    "rule_firings": "customer_id",
    "arr_log": "customer_id",
    "metric_points": "customer_id",
    "metric_latest": "customer_id",
    "field_values": "customer_id",
    "contacts": "customer_id",
}

# The lifecycle model: on a server only an admin (and the owner) changes it; members and
# managers read it, the service role (the tick) keeps its rights. A member's `customer add`
# moves a round-robin team's pointer, so those columns of teams stay theirs to update.
MODEL = (
    "stages",
    "teams",
    "team_channels",
    "holidays",
    "playbooks",
    "playbook_items",
    "rules",
    "metrics",
    "fields",
)
ROUND_ROBIN = ("last_assigned_id", "updated_at", "stamps")
# The model's settings kept in clm_meta, among keys every write changes (the clock).
MODEL_SETTINGS = ("entry_stage", "churn_reasons", "scorecard")
MODEL_REFUSAL = (
    "only an admin may change the lifecycle model (stages, rules, playbooks, holidays, "
    "teams, custom fields, metrics, the scorecard, churn reasons); your role may read it"
)
USERS_REFUSAL = (
    "only an admin adds users or changes their team, role or default owner; a member or "
    "manager may change their own name, email and notifications (user edit)"
)

# What a collaborator's `milestone done` / `milestone block` writes of their milestone.
COLLABORATOR_FIELDS = ("status", "done_on", "blocked_reason", "updated_at", "stamps")
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
CREATE OR REPLACE FUNCTION clm_sees_all(who name) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT EXISTS (SELECT 1 FROM users WHERE db_role = who AND deleted_at IS NULL
                 AND access IN ('admin', 'service'))
$$;
CREATE OR REPLACE FUNCTION clm_scope(who name, writing boolean) RETURNS SETOF integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  WITH me AS (SELECT id, team, access FROM users WHERE db_role = who AND deleted_at IS NULL)
  SELECT c.id FROM customers c, me
  WHERE c.owner_id = me.id
     OR c.stage IN (SELECT s.key FROM stages s WHERE s.team = me.team AND s.deleted_at IS NULL)
     OR (me.access = 'manager'
         AND c.owner_id IN (SELECT o.id FROM users o WHERE o.team = me.team))
  UNION
  SELECT i.customer_id FROM customer_influencers i, me WHERE i.user_id = me.id
  UNION
  SELECT m.customer_id
  FROM milestone_collaborators mc JOIN milestones m ON m.id = mc.milestone_id, me
  WHERE NOT writing AND mc.user_id = me.id AND m.deleted_at IS NULL
$$;
CREATE OR REPLACE FUNCTION clm_holders(who name) RETURNS SETOF integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  WITH me AS (SELECT id, team, access FROM users WHERE db_role = who AND deleted_at IS NULL)
  SELECT id FROM me
  UNION
  SELECT o.id FROM users o, me WHERE me.access = 'manager' AND o.team = me.team
$$;
CREATE OR REPLACE FUNCTION clm_team_stages(who name) RETURNS SETOF varchar
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT s.key FROM stages s JOIN users u ON u.team = s.team
  WHERE u.db_role = who AND u.deleted_at IS NULL AND s.deleted_at IS NULL
$$;
CREATE OR REPLACE FUNCTION clm_collaborates(mid integer, who name) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT EXISTS (SELECT 1 FROM milestone_collaborators mc JOIN users u ON u.id = mc.user_id
                 WHERE mc.milestone_id = mid AND u.db_role = who AND u.deleted_at IS NULL)
$$;
CREATE OR REPLACE FUNCTION clm_collaborated_before(s varchar, occ integer, who name)
RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT EXISTS (SELECT 1 FROM milestones m WHERE m.series = s AND m.occurrence = occ - 1
                 AND m.status = 'done' AND m.deleted_at IS NULL
                 AND clm_collaborates(m.id, who))
$$;
CREATE OR REPLACE FUNCTION clm_collaborator_limits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Only for roles under the policies that may not write the customer: a collaborator.
  IF NOT row_security_active(TG_RELID) OR clm_sees_all(current_user) THEN RETURN NULL; END IF;
  IF EXISTS (
    SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE ((to_jsonb(n) - ARRAY[{allowed}]) IS DISTINCT FROM (to_jsonb(o) - ARRAY[{allowed}])
           OR (n.status IS DISTINCT FROM o.status AND n.status NOT IN ('done', 'blocked')))
      AND NOT clm_sees(n.customer_id, current_user, true))
  THEN
    RAISE EXCEPTION 'clm refused: a milestone collaborator may only mark it done or blocked '
      'and add tasks under it (its owner, an influencer or the stage''s team may do the rest)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION clm_model_settings_limits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Roles under the policies (not the owner) that are not admins or the tick.
  IF row_security_active(TG_RELID) AND NOT clm_sees_all(current_user)
     AND (CASE TG_OP WHEN 'DELETE' THEN OLD.key ELSE NEW.key END) IN ({settings})
  THEN
    RAISE EXCEPTION 'clm refused: {refusal}' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
"""
_FUNCTIONS = (
    _FUNCTIONS.replace("{allowed}", ", ".join(f"'{c}'" for c in COLLABORATOR_FIELDS))
    .replace("{settings}", ", ".join(f"'{k}'" for k in MODEL_SETTINGS))
    .replace("{refusal}", MODEL_REFUSAL)
)
REFUSED = "clm refused: "  # how the server's own refusals begin (see friendly_error)


# Whether the role sees everything, asked once per statement (an uncorrelated scalar subquery
# is an InitPlan), so an admin's or the tick's scans cost no per-row function call; for the
# others, the customers in scope as one set (a hashed subplan, built on first need).
SEES_ALL = "(SELECT clm_sees_all(current_user))"


def _in_scope(column: str, writing: bool) -> str:
    return (
        f"{SEES_ALL} OR {column} IN "
        f"(SELECT clm_scope(current_user, {'true' if writing else 'false'}))"
    )


def install_policies(conn: Connection) -> None:
    """(Re)create the policies: reading needs `clm_sees`; writing it without collaborations,
    but a collaborator may update their milestone and add tasks under it."""
    if conn.dialect.name != "postgresql":
        return
    present = set(
        conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).scalars()
    )
    sql = [_FUNCTIONS]  # sent as one script (see run_script)
    for table, column in SCOPED.items():
        if table not in present:
            continue  # an older schema's migration: the one that makes the table secures it
        sql.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        for name in ("read", "write", "collaborate", "collaborate_next"):
            sql.append(f"DROP POLICY IF EXISTS clm_{name} ON {table}")
        sql.append(
            f"CREATE POLICY clm_read ON {table} FOR SELECT USING ({_in_scope(column, False)})"
        )
        sql.append(
            f"CREATE POLICY clm_write ON {table} FOR ALL USING ({_in_scope(column, True)}) "
            f"WITH CHECK ({_in_scope(column, True)})"
        )
    # The log of a customer's records is as visible as the customer (the subquery is itself
    # scoped); the triggers append to it in the writer's name.
    sql.append("ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY")
    for name in ("read", "append"):
        sql.append(f"DROP POLICY IF EXISTS clm_{name} ON audit_log")
    sql.append(
        "CREATE POLICY clm_read ON audit_log FOR SELECT USING (customer_uuid IS NULL OR "
        "EXISTS (SELECT 1 FROM customers c WHERE c.uuid = audit_log.customer_uuid))"
    )
    sql.append("CREATE POLICY clm_append ON audit_log FOR INSERT WITH CHECK (true)")
    # A new customer is in scope by its own columns (an owner or a stage of the member's):
    # the scope above reads the customers already there, which the new row is not yet, and
    # an INSERT … RETURNING must also pass a read policy. Two hashed sets, not a call a row.
    holds = (
        "owner_id IN (SELECT clm_holders(current_user)) "
        "OR stage IN (SELECT clm_team_stages(current_user))"
    )
    for name in ("add", "hold"):
        sql.append(f"DROP POLICY IF EXISTS clm_{name} ON customers")
    sql.append(f"CREATE POLICY clm_add ON customers FOR INSERT WITH CHECK ({holds})")
    sql.append(f"CREATE POLICY clm_hold ON customers FOR SELECT USING ({holds})")
    sql.append(
        "CREATE POLICY clm_collaborate ON milestones FOR UPDATE "
        f"USING (NOT {SEES_ALL} AND clm_collaborates(id, current_user)) "
        f"WITH CHECK (NOT {SEES_ALL} AND clm_collaborates(id, current_user))"
    )
    sql.append(
        "CREATE POLICY clm_collaborate ON tasks FOR INSERT "
        f"WITH CHECK (NOT {SEES_ALL} AND clm_collaborates(milestone_id, current_user))"
    )
    # Blocking puts a line on the customer's timeline; marking a recurring milestone done
    # adds its next occurrence (the one after the occurrence they collaborate on).
    sql.append(
        "CREATE POLICY clm_collaborate ON notes FOR INSERT "
        f"WITH CHECK (NOT {SEES_ALL} AND kind = 'blocked' "
        "AND clm_collaborates(milestone_id, current_user))"
    )
    sql.append(
        "CREATE POLICY clm_collaborate_next ON milestones FOR INSERT "
        f"WITH CHECK (NOT {SEES_ALL} AND clm_collaborated_before(series, occurrence, current_user))"
    )
    sql.append("DROP TRIGGER IF EXISTS clm_collaborator_limits ON milestones")
    sql.append(
        "CREATE TRIGGER clm_collaborator_limits AFTER UPDATE ON milestones "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION clm_collaborator_limits()"
    )
    # Everyone reads the users; a member or manager writes only their own row (the grants
    # say which columns), an admin and the tick any.
    sql.append("ALTER TABLE users ENABLE ROW LEVEL SECURITY")
    for name in ("read", "write"):
        sql.append(f"DROP POLICY IF EXISTS clm_{name} ON users")
    sql.append("CREATE POLICY clm_read ON users FOR SELECT USING (true)")
    sql.append(
        f"CREATE POLICY clm_write ON users FOR ALL USING ({SEES_ALL} OR db_role = current_user) "
        f"WITH CHECK ({SEES_ALL} OR db_role = current_user)"
    )
    # The model's settings among clm_meta's keys: rows, not a table, so a trigger (under
    # row-level security, so row_security_active tells the owner apart; all rows visible).
    sql.append("ALTER TABLE clm_meta ENABLE ROW LEVEL SECURITY")
    sql.append("DROP POLICY IF EXISTS clm_all ON clm_meta")
    sql.append("CREATE POLICY clm_all ON clm_meta USING (true) WITH CHECK (true)")
    sql.append("DROP TRIGGER IF EXISTS clm_model_settings_limits ON clm_meta")
    sql.append(
        "CREATE TRIGGER clm_model_settings_limits BEFORE INSERT OR UPDATE OR DELETE ON clm_meta "
        "FOR EACH ROW EXECUTE FUNCTION clm_model_settings_limits()"
    )
    run_script(conn, sql)


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
    grant_group(conn, access)
    for level in ACCESS:
        if level != access:
            conn.exec_driver_sql(f"REVOKE {group_role(level)} FROM {quote(role)}")
    conn.exec_driver_sql(f"GRANT {group_role(access)} TO {quote(role)}")
    return created


# Link tables a write empties of a member (a tag, an influencer, a collaborator removed),
# rows rewritten whole (a milestone's reminders) and a customer's score, forgotten when its
# health is set by hand: the only DELETE anyone but the owner needs.
DELETED = (
    "customer_tags",
    "customer_influencers",
    "milestone_collaborators",
    "milestone_reminders",
    "health_scores",
)
# Who is who: only an admin adds users or changes their team, role or access (a member who
# could would widen their own scope); a member or manager edits their own name, email and
# notifications (`user edit`), nothing else (the policy on users says whose row).
USER_SELF_SERVICE = ("name", "email", "notify", "digest", "webhook", "updated_at", "stamps")


def grant_group(conn: Connection, access: str) -> None:
    """The rights of the group role of `access` on every table of this schema as it is now:
    read, add and change rows (the policies say which), delete link-table members, and
    append to the log. Run again after each migration (see `after_migrations`)."""
    quote = conn.dialect.identifier_preparer.quote
    schema = quote(conn.exec_driver_sql("SELECT current_schema()").scalar())
    group = group_role(access)
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {group}")
    conn.exec_driver_sql(
        f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {schema} TO {group}"
    )
    conn.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {group}")
    tables = set(
        conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).scalars()
    )
    for table in DELETED:
        if table in tables:
            conn.exec_driver_sql(f"GRANT DELETE ON {table} TO {group}")
    # The log is append-only: written by the triggers, never edited (nor by the owner's tools).
    conn.exec_driver_sql(f"REVOKE UPDATE, DELETE ON audit_log FROM {group}")
    if access in ("member", "manager"):
        for table in MODEL:
            if table in tables:
                conn.exec_driver_sql(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM {group}")
        if "teams" in tables:
            listed = ", ".join(quote(c) for c in ROUND_ROBIN)
            conn.exec_driver_sql(f"GRANT UPDATE ({listed}) ON teams TO {group}")
        listed = ", ".join(quote(c) for c in USER_SELF_SERVICE)
        conn.exec_driver_sql(f"REVOKE INSERT, UPDATE, DELETE ON users FROM {group}")
        conn.exec_driver_sql(f"GRANT UPDATE ({listed}) ON users TO {group}")


def after_migrations(conn: Connection) -> None:
    """After migrations ran on a server: the policies over the tables as they are now, and
    each existing group role's rights on them (a table a migration added included)."""
    if conn.dialect.name != "postgresql":
        return
    install_policies(conn)
    existing = set(
        conn.exec_driver_sql(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(%(names)s)",
            {"names": [group_role(level) for level in ACCESS]},
        ).scalars()
    )
    for level in ACCESS:
        if group_role(level) in existing:
            grant_group(conn, level)


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
