"""The environment of one invocation: database, today, current user and output streams.

Read once per command from options and environment variables, never at import time, so
tests can replace any of it.
"""

import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, TextIO

from clm.dates import Duration, check_today, parse_date, parse_duration
from clm.errors import ClmError, Invalid, NotFound
from clm.plain import has_password

if TYPE_CHECKING:
    from clm.db import Database
    from clm.storage.config_file import Config
    from clm.storage.reads import Reads


# Commands whose output is a whole book's data: under row-level security they say so.
SCOPED_OUTPUT = ("clm report", "clm export", "clm log", "clm customer list")


@dataclass
class Env:
    db_target: str | None
    today: date
    user: str | None
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    db_option: str | None = None  # --db as given: `clm demo` never writes into $CLM_DB
    db_from: str = "--db"  # where `db_target` came from, to name it in an error
    user_from: str = "--as"  # where `user` came from, to name it in an error: --as or CLM_USER
    fields: list[str] | None = None  # --fields of a list or show: the columns to write
    paging: bool = False  # --no-pager turns it off; the root turns it on otherwise
    warn_copies: bool = True  # `db check` and `db merge` list the copies themselves
    scoped: str | None = None  # on a server: the role whose row-level security applies
    _database: "Database | None" = None
    _pager: object = None
    _config: "Config | None" = None
    _dates: str | None = None  # see date_display

    def page(self) -> None:
        """Send what follows on stdout through the pager, on a terminal (once; see
        clm.cli.pager). Called by the renderer before a listing, a record or a report."""
        if not self.paging or self._pager is not None:
            return
        from clm.cli.pager import start

        self._pager = start(self.stdout, lambda: self.configured("pager")) or False
        if self._pager:
            self.stdout = self._pager.stream

    def close(self) -> None:
        """At the end of the command: wait for the pager to be quit. A report, export or log
        read under row-level security says so (on stderr: the data stays data)."""
        if self._pager:
            self._pager.close()
        command = self._database.command if self._database else None
        if self._database:
            self._database.close()
        failed = sys.exc_info()[0] is not None  # (an error is the one line said)
        if self.scoped and command and command.startswith(SCOPED_OUTPUT) and not failed:
            self.stderr.write(
                f"Note: this shows only what role {self.scoped} may see (row-level security).\n"
            )

    def configured(self, name: str) -> str | None:
        """A setting of the config file, read on first need: a command that has every
        setting from its options or the environment never reads the file."""
        if self._config is None:
            from clm.storage.config_file import read_config

            self._config = read_config()
            for unknown in self._config.unknown:  # a typo, or a key of a newer clm
                self.stderr.write(
                    f"Warning: config file {self._config.path}: unknown key '{unknown}' "
                    "ignored (`clm config list` shows the keys)\n"
                )
        return self._config.values.get(name)

    @classmethod
    def from_options(
        cls, db: str | None, today: str | None, user: str | None, mending: bool = False
    ) -> "Env":
        """`--db` > CLM_DB > the config file > the user data dir; `--today` > CLM_TODAY > the
        local date; `--as` > CLM_USER > the config file > none. `mending` (`clm config`): a
        broken config file is not an error yet (`clm config set` mends it)."""
        if db and has_password(db):
            # The process list is world-readable; the environment is not.
            raise Invalid(
                "a database password on the command line is visible to other users: "
                "set CLM_DB instead, or use PGPASSWORD or ~/.pgpass"
            )
        # A relative --today (`+3d`) counts from CLM_TODAY when that is set: a test or a
        # rehearsal that froze the day never sees the machine's clock.
        env = cls(db_target=None, db_option=db, today=_today(today), user=None)
        env.db_target, env.db_from = env._first("--db", db, "CLM_DB", "database", mending)
        handle, env.user_from = env._first("--as", user, "CLM_USER", "user", mending)
        env.user = (handle or "").strip().lower() or None
        from clm.render import output

        output.date_display = env.date_display  # read when a table first shows a date
        return env

    def date_display(self) -> str | None:
        """How tables and pages show dates: CLM_DATES, else the config file's `dates`; None
        for ISO. Read on first need, once. A broken config file shows ISO dates: a display
        preference never stops a command (the settings that matter say what is wrong)."""
        if self._dates is None:
            from clm.storage.config_file import key

            chosen, where = self._first("--dates", None, "CLM_DATES", "dates", mending=True)
            if where == "CLM_DATES" and chosen:
                try:
                    chosen = key("dates").check(chosen)
                except Invalid as exc:
                    raise Invalid(f"CLM_DATES: {exc}") from None
            self._dates = chosen or "iso"
        return None if self._dates == "iso" else self._dates

    def _first(self, option: str, given: str | None, variable: str, key: str, mending: bool):
        """(value, where it came from): the option, the variable, else the config file."""
        if given:
            return given, option
        if os.environ.get(variable):
            return os.environ[variable], variable
        try:
            value = self.configured(key)
        except ClmError:
            if not mending:
                raise
            value = None
        if value is None:
            return None, variable  # (the default, named by the variable that would set it)
        from clm.storage.config_file import config_path

        return value, f"{key} in {config_path()}"

    def database(self) -> "Database":
        """The database, opened (and created or migrated) on first use in this invocation."""
        if self._database is None:
            from clm.cli import collector
            from clm.db import Database

            collector.resume()  # the database stack is imported: what the command makes is new
            default = self.refuse_accidental_file()
            # The default place, however it was named, is made with its folders.
            target = None if default else self.db_target
            self._database = Database.open(target, on_create=_install_template)
            if not self._database.is_sqlite:  # on a server, the user is the connecting role's
                from clm.domain.team import server_user

                with self._database.read() as conn:
                    self.user, self.scoped = server_user(conn, self.user, self.user_from)
            # Who and what the audit log credits with this command's writes.
            self._database.actor, self._database.command = self.user, _command_path()
            self._warn(self._database)
        return self._database

    @contextmanager
    def reads(self, if_exists: bool = False) -> Iterator["Reads | None"]:
        """A read of the database through statements compiled ahead (clm.storage.reads): on a
        file in its usual state with the sqlite3 module alone, no SQLAlchemy imported; else
        (a server, a file to create, migrate or recover) on the database opened as usual.
        `if_exists`: None, and nothing created, when there is no clm database there yet."""
        if self._database is None:
            from clm.storage.location import busy_timeout_ms, resolve
            from clm.storage.reads import file_reads, usual_file

            _, path = resolve(self.db_target)
            if usual_file(path):
                with file_reads(path, busy_timeout_ms()) as reads:
                    if reads is not None:
                        if self.warn_copies:
                            self._warn_copies(path)
                        yield reads
                        return
        if if_exists and self._database is None:
            from clm.db import exists

            if not exists(self.db_target):
                yield None
                return
        from clm.storage.reads import connection_reads

        with self.database().read() as conn:
            yield connection_reads(conn)

    def refuse_accidental_file(self) -> bool:
        """A missing file is made by `clm init`, `clm demo`, or on first use of the default
        location, never by a mistyped --db or CLM_DB (which would list an empty book and
        exit 0). Whether the database is the default file."""
        from clm.db import default_path, resolve

        _, path = resolve(self.db_target)
        default = path is not None and path.absolute() == default_path().absolute()
        # (A missing folder is the storage's error: `no directory …`.)
        if path is None or default or path.exists() or not path.parent.is_dir():
            return default
        raise NotFound(
            f"no database at {path} (from {self.db_from}): check the path, or create one there "
            f"with `clm --db {shlex.quote(str(path))} init`"
        )

    def _warn(self, database: "Database") -> None:
        """Once per command: a recovered hot journal, conflicted copies beside the db."""
        for notice in database.notices:
            self.stderr.write(f"Warning: {notice}\n")
        if self.warn_copies and database.is_sqlite:
            self._warn_copies(database.path)

    def _warn_copies(self, path) -> None:
        from clm.domain.conflicted_copies import copies_warning

        notice = copies_warning(path)
        if notice:
            self.stderr.write(f"Warning: {notice}\n")

    def author(self, conn) -> str | None:
        """The current user as the author of a change, checked against the users (see
        `check_author`): a typo in --as or CLM_USER never ends up in the history."""
        from clm.domain.users import check_author

        return check_author(conn, self.user, self.user_from)

    def date(self, text: str | None, what: str = "date") -> date | None:
        """A date option as SPEC.md accepts it, relative to --today; None stays None. A
        business-day offset (`+5bd`) skips the model's holidays."""
        return None if text is None else parse_date(text, self.today, what, self._holidays)

    def _holidays(self) -> frozenset[date]:
        from clm.domain.holidays import holiday_days

        with self.database().read() as conn:
            return holiday_days(conn)

    def duration(self, text: str | None, what: str = "duration") -> Duration | None:
        return None if text is None else parse_duration(text, what)

    def interactive(self) -> bool:
        return self.stdin.isatty()


def _command_path() -> str | None:
    """The command being run, as typed without its arguments (`clm customer edit`)."""
    from typer._click.globals import get_current_context  # Typer ships its own Click

    ctx = get_current_context(silent=True)
    return ctx.command_path if ctx is not None else None


def _today(option: str | None) -> date:
    """--today, else CLM_TODAY, else the machine's date. A relative --today (`+3d`) counts from
    CLM_TODAY when that is set: a rehearsal (or a test) that froze the day never sees the
    machine's clock; an absolute --today does not need CLM_TODAY at all."""
    clock_day = date.today()
    frozen = os.environ.get("CLM_TODAY")
    if not option:
        return (
            check_today(parse_date(frozen, clock_day, "CLM_TODAY"), "CLM_TODAY")
            if frozen
            else clock_day
        )
    day = parse_date(option, clock_day, "--today")
    relative = parse_date(option, clock_day - timedelta(days=400), "--today") != day
    if frozen and relative:
        day = parse_date(option, parse_date(frozen, clock_day, "CLM_TODAY"), "--today")
    return check_today(day)


def _install_template(*args, **kwargs):
    """A new book's lifecycle template (clm.domain.new_book, imported only for a new book)."""
    from clm.domain.new_book import install_template

    return install_template(*args, **kwargs)
