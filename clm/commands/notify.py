"""`clm notify …`: send what the tick queued, see what was sent, try a channel."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt
from clm.render.output import Col, Format, render_rows, say

app = typer.Typer(help="Notifications: digests by email or webhook, sent once.")

COLUMNS = (
    Col("id", number=True),
    Col("day"),
    Col("user"),
    Col("kind", drop=2),
    Col("state"),
    Col("channel", drop=1),
    Col("attempts", header="tries", number=True, drop=3),
    Col("sent_at", header="sent at"),
    Col("subject", drop=4),
    Col("error", drop=5),
    Col("uuid", header="message id", table=False),
    Col("team", drop=2),  # a team channel's message (no user); last: the columns before stay put
)


def deliver(env, retry: bool = False, only_the_sender: bool = False, quiet: bool = False) -> None:
    """Send what is pending; one `Error:` line per reason something was not sent (exit 1).
    `only_the_sender`: on a machine that does not tick this synced file, leave it queued for
    the one that does (instead of an error). `quiet`: only the errors."""
    import sys

    from clm.domain.notify.deliver import send_pending
    from clm.domain.notify.settings import smtp_settings
    from clm.errors import Conflict
    from clm.render.output import visible
    from clm.rules import check_sender

    database = env.database()
    with database.read() as conn:
        try:
            check_sender(database, conn)
        except Conflict:
            if not only_the_sender:
                raise
            say(env, "Notifications queued: the machine that ticks this db sends them.")
            return
    delivery = send_pending(database, env.today, smtp_settings, retry=retry)
    if delivery.sent and not quiet:
        n = len(delivery.sent)
        say(env, f"Sent {n} notification{'s' if n != 1 else ''}.")
    for line in delivery.problem_lines():
        sys.stderr.write(f"Error: {visible(line)}\n")
    if delivery.problems:
        raise typer.Exit(1)


@app.command("send")
def send(
    ctx: typer.Context,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print only what failed (cron mails nothing else)."),
    ] = False,
) -> None:
    """Send the notifications the tick queued and those due to be tried again.

    For a separate cron line (clm tick sends too). Only the machine that ticks a synced file
    sends its notifications.

    Example: clm notify send --quiet
    """
    env = ctx.obj
    deliver(env, quiet=quiet)


@app.command("retry")
def retry(ctx: typer.Context) -> None:
    """Send again, now, the notifications that failed or wait to be tried again.

    Example: clm notify retry
    """
    deliver(ctx.obj, retry=True)


@app.command("log")
def log(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only those that failed.")] = False,
    user: Annotated[str | None, typer.Option(metavar="HANDLE", help="Only theirs.")] = None,
    team: Annotated[
        str | None, typer.Option(metavar="TEAM", help="Only those of the team's channel.")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """List the notifications: to whom (a user or a team's channel), for which day, their
    state, when sent, why not.

    Example: clm notify log --failed --format json
    """
    env = ctx.obj
    from clm.domain.notify.log import notification_log
    from clm.domain.ownership import get_team

    with env.database().read() as conn:
        team = get_team(conn, team) if team is not None else None
        rows = notification_log(conn, failed, user, team)
        render_rows(env, rows, COLUMNS, fmt, noun="notifications")


@app.command("test")
def test(
    ctx: typer.Context,
    to: Annotated[
        str | None, typer.Option("--to", metavar="HANDLE", help="The user to send it to.")
    ] = None,
    team: Annotated[
        str | None, typer.Option(metavar="TEAM", help="The team whose channel gets it.")
    ] = None,
) -> None:
    """Send a test message to a user through their channel (email or webhook), or to a
    team's webhook.

    Example: clm notify test --to alice
    """
    env = ctx.obj
    from clm.domain.notify.channels import Failure
    from clm.domain.notify.deliver import send_team_test, send_test
    from clm.domain.notify.settings import smtp_settings
    from clm.domain.ownership import get_team
    from clm.errors import Invalid

    if (to is None) == (team is None):
        raise Invalid("name whom to send the test to: --to HANDLE or --team TEAM (one of them)")
    with env.database().read() as conn:
        try:
            if team is not None:
                where = send_team_test(conn, get_team(conn, team))
            else:
                where = send_test(conn, to, smtp_settings)
        except Failure as e:
            raise Invalid(f"test message not sent: {e}") from None
    say(env, f"Sent a test message to {to or 'team ' + team} {where}.")
