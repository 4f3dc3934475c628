"""`clm init`, `clm demo` and `clm db …`: creating, checking and backing up the database."""

import shlex
from pathlib import Path
from typing import Annotated

import typer

from clm.commands.common import FormatOpt, ListsItsCommands, YesOpt
from clm.render.output import Col, Format, render_rows, say, visible

app = typer.Typer(
    help="The database: where it is, its health, its schema, backups.", cls=ListsItsCommands
)

DEMO_FILE = "clm-demo.db"
DEMO_TOUR = (
    ("", "your agenda: what is due, overdue, renewing"),
    ("customer list", "the book, stage by stage"),
    ("customer show aperture-corp", "one account: dates, milestones, timeline"),
    ("why aperture-corp", "who moved it, when and why"),
    ("model show", "the lifecycle drawn: stages, teams, rules"),
    ("tick --dry-run --until +30d", "the next month, played without writing"),
    ("help", "every command, and the date grammar"),
)


def init(
    ctx: typer.Context,
    template: Annotated[
        str, typer.Option(help="Lifecycle template: default or simple.")
    ] = "default",
    force: Annotated[
        bool,
        typer.Option(
            help="Recreate an existing database (a file is kept as a backup; a server "
            "database is first copied into a SQLite file here, then its tables are dropped)."
        ),
    ] = False,
    yes: YesOpt = False,
) -> None:
    """Create a database with a lifecycle template.

    Example: clm --db team.db init --template simple
    """
    env = ctx.obj
    from clm.domain.new_book import init_database

    if force and "://" in (env.db_target or "") and not env.db_target.startswith("sqlite:"):
        from clm.commands.common import confirm
        from clm.db import exists
        from clm.plain import hide_password

        if exists(env.db_target):
            where = hide_password(env.db_target)
            confirm(env, f"drop every clm table of {where} (a copy is saved here first)", yes)
    database, saved = init_database(env.db_target, template, force)
    if saved:
        say(env, f"Saved the old database as {saved}.")
    say(env, f"Created {database.describe()} with the {template} lifecycle.")


def demo(
    ctx: typer.Context,
    customers: Annotated[int, typer.Option(min=1, max=100_000, help="How many customers.")] = 24,
) -> None:
    """Create a sample book of business to try clm on (./clm-demo.db unless --db is given;
    never $CLM_DB).

    Example: clm demo && clm --db clm-demo.db customer list
    """
    env = ctx.obj
    from clm.db import get_meta
    from clm.domain.demo import build_demo
    from clm.domain.new_book import init_database
    from clm.errors import Conflict

    target = env.db_option or DEMO_FILE
    env.db_target = target
    try:
        database, _ = init_database(target, "default", force=False)
    except Conflict:
        with env.database().read() as conn:
            if get_meta(conn, "demo") != "true":
                raise Conflict(
                    f"{target} holds a database that is not a demo: pick another --db"
                ) from None
        env._database = None
        database, _ = init_database(target, "default", force=True)
    ticked = build_demo(database, env.today, customers)
    say(env, f"Created a demo book of {customers} customers in {database.describe()}.")
    say(env, f"Ticked every day of its history; today ({env.today}): "
             f"{len(ticked.transitions)} stage changes, "
             f"{len(ticked.reminders)} reminders, {len(ticked.ctas_opened)} CTAs opened, "
             f"{ticked.overdue_count} items overdue.")  # fmt: skip
    where = shlex.quote(str(database.path.resolve())) if database.path else target
    say(env, "Use it (in this shell), as alice of customer success:")
    say(env, f"  export CLM_DB={where} CLM_USER=alice")
    say(env, "Then try:")
    for command, what in DEMO_TOUR:
        say(env, f"  clm {command:<34} {what}")


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print where the database is (a file path or a server URL).

    Example: clm db path
    """
    env = ctx.obj
    from clm.db import resolve
    from clm.plain import hide_password

    url, file = resolve(env.db_target)
    env.stdout.write(f"{file if file is not None else hide_password(url)}\n")


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Check the database: integrity, foreign keys, schema version, notifications that could
    not be sent, and the conflicted copies a sync service left beside it, with the command
    that merges each (on a server: the connection, the server's version, the schema version
    and the notifications).

    Example: clm db check
    """
    env = ctx.obj
    from clm.db import damage_marker, integrity_problems, server_description
    from clm.domain.conflicted_copies import find_copies, merge_command
    from clm.errors import ClmError

    env.warn_copies = False
    database = env.database()
    env.stdout.write(f"database: {database.describe()}\n")
    for key, value in server_description(database).items():
        env.stdout.write(f"{key}: {value}\n")
    env.stdout.write(f"schema version: {database.schema_version()}\n")
    if not database.is_sqlite:  # the server enforces its own integrity and keys
        from clm.db import policy_problems

        _check_notifications(env, database)
        with database.read() as conn:
            problems = policy_problems(conn)
        for problem in problems:
            env.stdout.write(f"problem: {problem}\n")
        if problems:
            raise ClmError("row-level security is not in place: run clm db migrate as the owner")
        env.stdout.write("row-level security: on\n")
        return
    problems = integrity_problems(database)
    for problem in problems:
        env.stdout.write(f"problem: {problem}\n")
    if problems:
        from clm.db import damaged_message

        raise ClmError(damaged_message(str(database.path), problems[0]))
    env.stdout.write("integrity: ok\n")
    _check_notifications(env, database)
    if database.damaged:
        damage_marker(database.path).unlink()
        say(env, "The db checks out again: writes are allowed.")
    for copy in find_copies(database.path):
        kind = "conflicted copy" if copy.named else "copy"
        env.stdout.write(f"{kind} ({copy.service}): {copy.path}\n")
        if copy.merged:
            env.stdout.write("  merged, and unchanged since: it can be deleted\n")
        else:
            env.stdout.write(f"  merge it: {merge_command(env.db_option, copy.path)}\n")


def _check_notifications(env, database) -> None:
    """Messages parked as failed: the db is fine, but someone was not told."""
    from clm.domain.notify.log import failed_count

    with database.read() as conn:
        failed = failed_count(conn)
    if failed:
        env.stdout.write(
            f"notifications failed: {failed} (clm notify log --failed; then clm notify retry)\n"
        )


@app.command("migrate")
def migrate(ctx: typer.Context) -> None:
    """Bring the schema up to date (every command does this itself; this says what it did).

    Example: clm db migrate
    """
    env = ctx.obj
    database = env.database()
    say(env, f"{database.describe()} is at schema version {database.schema_version()}.")


@app.command("backup")
def backup(
    ctx: typer.Context,
    dest: Annotated[Path, typer.Argument(help="The new backup file.")],
) -> None:
    """Write a consistent copy of the database file, readable by you only.

    Example: clm db backup ~/clm-backup.db
    """
    env = ctx.obj
    from clm.errors import ClmError

    database = env.database()
    if not database.is_sqlite:
        raise ClmError(
            "db backup is for SQLite files: on a server use pg_dump (pg_dump -Fc NAME > FILE), "
            "or clm db copy to a file"
        )
    if dest.exists() or dest.is_symlink():
        raise ClmError(f"'{dest}' already exists: pick a new file")
    say(env, f"Backed up to {database.backup(dest, mark=True)}.")


MERGE_COLUMNS = (
    Col("table"),
    Col("action"),
    Col("record"),
    Col("field"),
    Col("ours"),
    Col("theirs"),
    Col("uuid"),
)


@app.command("merge")
def merge(
    ctx: typer.Context,
    other: Annotated[Path, typer.Argument(help="A conflicted copy of the database file.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Fold a conflicted copy of the db file back in: the newer edit wins field by field,
    history is unioned, deletes are kept. The copy itself is never modified.

    Prints the counts of each table, then each record added, changed (field: ours -> the
    merged value) or removed; --format json|jsonl|csv|tsv gives those records alone.

    Example: clm db merge "clm (Mia's conflicted copy 2026-11-20).db" --dry-run
    """
    env = ctx.obj
    from clm.domain.merge import merge_file

    env.warn_copies = False
    database = env.database()
    report, saved = merge_file(database, other, dry_run)
    if fmt is not Format.table:
        render_rows(env, report.details, MERGE_COLUMNS, fmt, noun="changes")
    else:
        for line in report.lines() + report.detail_lines():
            env.stdout.write(f"{visible(line)}\n")
    if not report.changed:
        say(env, f"Nothing to merge: {database.describe()} already holds all of {other}.")
        return
    if saved:
        say(env, f"Saved the db as it was before the merge as {saved}.")
    if dry_run:
        say(env, f"Dry run: would merge {other} into {database.describe()}.")
        return
    say(env, f"Merged {other} into {database.describe()}: the copy can be deleted now.")


@app.command("copy")
def copy(
    ctx: typer.Context,
    dest: Annotated[
        str, typer.Argument(metavar="DEST", help="An empty database: a new file or a URL.")
    ],
) -> None:
    """Copy the whole database, history included, into an empty one: a file to a server and
    back. A URL's password comes from PGPASSWORD or ~/.pgpass, never the command line.

    Example: clm db copy postgresql://db.example.com/clm
    """
    env = ctx.obj
    from clm.domain.db_copy import copy_database
    from clm.render.progress import progress

    database = env.database()
    with progress(env, "Copying", unit="rows") as bar:

        def told(table: str, done: int, total: int) -> None:
            bar.update(completed=done, total=total, description=f"Copying {table}")

        copied = copy_database(database, dest, told)
    total = sum(copied.rows.values())
    say(env, f"Copied {total} rows in {len(copied.rows)} tables to {copied.dest}.")
