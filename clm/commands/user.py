"""`clm user …`: the people who own and follow customers, and their teams."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt, YesOpt, confirm, noun
from clm.render.output import Col, Format, print_handle, render_rows, say

app = noun("Users and teams. Lists by default.")

COLUMNS = (
    Col("handle"),
    Col("name"),
    Col("email"),
    Col("team"),
    Col("default_owner"),
    Col("notify", drop=2),
    Col("digest", table=False),
    Col("webhook", table=False),
    Col("uuid", table=False),
)


@app.command("add")
def add(
    ctx: typer.Context,
    handle: Annotated[str, typer.Argument(help="Short lowercase handle, e.g. alice.")],
    name: Annotated[str | None, typer.Option(help="Full name.")] = None,
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    team: Annotated[str | None, typer.Option(help="Team, e.g. sales, customer-success.")] = None,
    default_owner: Annotated[
        bool,
        typer.Option("--default-owner", help="Customers handed to TEAM go to this user."),
    ] = False,
) -> None:
    """Add a user.

    Example: clm user add alice --name "Alice Smith" --team customer-success --default-owner
    """
    env = ctx.obj
    from clm.domain.users import add_user

    with env.database().write() as conn:
        user = add_user(
            conn, handle, name=name, email=email, team=team, is_default_owner=default_owner
        )
    text = f"Added user {user['handle']}" + (f" in team {user['team']}" if user["team"] else "")
    if user["default_owner"]:
        text += f", its default owner (was {user['replaced'] or 'nobody'})"
    say(env, text + ".")
    print_handle(env, user["handle"])


@app.command("grant")
def grant(
    ctx: typer.Context,
    handle: Annotated[str, typer.Argument(help="The user's handle.")],
    role: Annotated[
        str,
        typer.Option(
            "--role", metavar="ROLE", help="member, manager, admin or service (the tick)."
        ),
    ] = "member",
) -> None:
    """Give a user an access level; on a PostgreSQL server, create (or map) their login role.

    On a server each user connects as their own role and sees what the role may: a member
    the customers they own, influence, collaborate on or whose stage their team owns; a
    manager also those of their team; an admin and service everything. On a file the level
    is recorded, and the file itself is the boundary. Run it as the database's owner or an
    admin; the login's password is set on the server (ALTER ROLE … PASSWORD).

    Example: clm user grant alice --role manager
    """
    env = ctx.obj
    from clm.domain.team import grant as grant_access

    with env.database().write() as conn:
        done = grant_access(conn, handle, role.strip().lower(), env.user)
    if done.role is None:
        say(env, f"{done.handle} is a {done.access} (a file has no login roles).")
    else:
        how = "created login role" if done.created else "mapped to the existing role"
        say(env, f"{done.handle} is a {done.access}: {how} {done.role}.")


@app.command("edit")
def edit(
    ctx: typer.Context,
    handle: Annotated[str, typer.Argument(help="The user's handle.")],
    name: Annotated[str | None, typer.Option(help="Full name.")] = None,
    email: Annotated[str | None, typer.Option(help="Email address ('' removes it).")] = None,
    notify: Annotated[
        str | None,
        typer.Option(metavar="email|webhook|none", help="Where their digest goes (default none)."),
    ] = None,
    digest: Annotated[
        str | None,
        typer.Option(
            metavar="daily|immediate",
            help="daily: one digest a tick; immediate: a blocked milestone is also sent at once.",
        ),
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Their webhook: https://… gets a JSON body, a hooks.slack.com or slack+https://… "
            "URL a Slack one ('' removes it).",
        ),
    ] = None,
) -> None:
    """Change a user's name, email or notifications.

    Example: clm user edit alice --email alice@example.com --notify email --digest daily
    """
    env = ctx.obj
    from clm.domain.users import edit_user

    with env.database().write() as conn:
        user = edit_user(conn, handle, name, email, notify, digest, webhook)
    if not user["changed"]:
        say(env, f"User {user['handle']} unchanged.")
        return
    say(env, f"Updated user {user['handle']}: {', '.join(user['changed'])}.")


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """List users.

    Example: clm user list --format json
    """
    env = ctx.obj
    from clm.domain.users import list_users

    with env.database().read() as conn:
        render_rows(env, list_users(conn), COLUMNS, fmt, noun="users")


@app.command("rm")
def rm(
    ctx: typer.Context,
    handle: Annotated[str, typer.Argument(help="The user's handle.")],
    reassign: Annotated[
        str | None,
        typer.Option(help="Hand their customers, open tasks and CTAs to this user."),
    ] = None,
    unassign: Annotated[
        bool, typer.Option(help="Leave their customers, open tasks and CTAs without an owner.")
    ] = False,
    yes: YesOpt = False,
) -> None:
    """Remove a user: no more reminders, collaborations or default ownership.

    A user who still owns customers or has open tasks or CTAs is refused unless you say
    where that work goes. Closed work keeps their name as history.

    Example: clm user rm bob --reassign alice --yes
    """
    env = ctx.obj
    from clm.domain.users import plan_removal, plural_counts, remove_user
    from clm.errors import Invalid

    if reassign and unassign:
        raise Invalid("--reassign and --unassign exclude each other: pick one")
    with env.database().write() as conn:
        removal = plan_removal(conn, handle, reassign, unassign)
        confirm(env, f"remove user '{removal.user.handle}'", yes)
        remove_user(conn, removal, env.today)
    say(env, f"Removed user {removal.user.handle}.")
    if removal.moved:
        heir = f"to {removal.heir.handle}" if removal.heir else "to nobody"
        say(env, f"Handed {plural_counts(removal.moved)} {heir}.")


TEAM = (Col("handle"), Col("customers", number=True))


@app.command("team")
def team(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="TEAM", help="The team, e.g. sales.")],
    assign: Annotated[
        str | None,
        typer.Option(
            metavar="POLICY",
            help="Who gets customers handed to the team: default-owner, round-robin (among "
            "its members) or least-loaded (the member with the fewest live customers).",
        ),
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="The team's channel: a daily digest of its customers' news to this webhook "
            "(https://… a JSON body, hooks.slack.com or slack+https://… a Slack one; '' "
            "removes it).",
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Show a team (policy, default owner, webhook, members and their customers), or set its
    policy or its webhook.

    A handoff keeps an owner who is a member of the receiving team; otherwise the policy
    picks, and a team with nobody to pick keeps the owner with the handoff pending. A team
    with a webhook gets one digest a day: reminders and CTAs on the customers in its stages,
    customers handed into the team, and those it has to assign.
    Example: clm user team customer-success --assign round-robin
    """
    env = ctx.obj
    from clm.domain.notify.teams import set_webhook, shown, webhook_of
    from clm.domain.ownership import get_team, set_policy, team_summary

    if assign is not None or webhook is not None:
        with env.database().write() as conn:
            team_name = get_team(conn, name)
            if assign is not None:
                was = set_policy(conn, team_name, assign)
                say(env, f"Team {team_name} assigns by {team_summary(conn, name)['assign']} "
                         f"(was {was}).")  # fmt: skip
            if webhook is not None:
                was = set_webhook(conn, team_name, webhook)
                now = shown(webhook_of(conn, team_name))
                say(env, f"Team {team_name} webhook: {now} (was {shown(was)}).")
        return
    with env.database().read() as conn:
        summary = team_summary(conn, name)
        hook = shown(webhook_of(conn, summary["team"]))
    say(
        env,
        f"Team {summary['team']}: assigns by {summary['assign']}, default owner "
        f"{summary['default_owner'] or 'none'}, stages {', '.join(summary['stages']) or 'none'}, "
        f"{summary['handoffs_pending']} handoffs pending, webhook {hook}.",
    )
    render_rows(env, summary["members"], TEAM, fmt, noun="members")
