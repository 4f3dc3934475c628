"""The `clm` command: global options, the one place errors become `Error: …`, the nouns."""

import os
import sys
from typing import Annotated

import typer
from typer._click.exceptions import ClickException  # Typer ships its own Click

from clm import __version__
from clm.cli.completion import COMPLETE_VAR
from clm.cli.lazy import LazyGroup, lazy_root
from clm.cli.params import install as install_param_coercion
from clm.commands import (
    agenda,
    completion,
    config,
    contact,
    cta,
    customer,
    db,
    field,
    help,
    holiday,
    log,
    metric,
    milestone,
    model,
    my,
    notify,
    playbook,
    report,
    rule,
    stage,
    task,
    tick,
    transfer,
    user,
)
from clm.errors import ClmError, Problems

install_param_coercion()  # option values without pydantic: see clm/param_coercion.py


def _fail(message: str, listed: list[str] = ()) -> None:
    """`Error: message` on stderr, after the problems it sums up (if any), and exit 1."""
    from clm.render.output import visible

    for line in listed:
        sys.stderr.write(visible(line) + "\n")
    sys.stderr.write(f"Error: {visible(message)}\n")
    raise typer.Exit(1)


class ClmRoot(LazyGroup):
    """Maps every ClmError (and database errors a user can act on) to one line and exit 1."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from clm.cli.fields import install_fields
        from clm.cli.help import verbatim_examples

        verbatim_examples(self)
        install_fields(self)

    def parse_args(self, ctx, args):
        from clm.cli.global_options import hoist
        from clm.plain import is_text

        for arg in args:  # bytes the locale could not decode reach Python as lone surrogates
            if not is_text(arg):
                _fail(
                    f"argument '{arg.encode('utf-8', 'backslashreplace').decode()}' is not "
                    "valid text: clm reads its arguments as UTF-8 (check the terminal's locale)"
                )
        return super().parse_args(ctx, hoist(self, ctx, args))

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Problems as exc:
            _fail(str(exc), exc.lines())
        except ClmError as exc:
            _fail(str(exc))
        except BrokenPipeError:
            _reader_gone()
        except (ClickException, typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if os.environ.get("CLM_DEBUG"):
                raise
            message = None
            # (The agenda and `my` read a file with the sqlite3 module alone: its errors too.)
            if "sqlalchemy" in sys.modules or type(exc).__module__ == "sqlite3":
                from clm.db import friendly_error

                message = friendly_error(exc, getattr(ctx.obj, "db_target", None))
            _fail(
                message
                or f"unexpected {type(exc).__name__}: {exc} (CLM_DEBUG=1 shows the traceback)"
            )


app = typer.Typer(
    cls=ClmRoot,
    name="clm",
    help=(
        "Customer lifecycle management in the terminal.\n\n"
        "`clm` alone shows today's agenda (yours with --as USER or $CLM_USER). `clm demo` "
        "builds a sample book to try; `clm help` lists the help topics (dates, conditions, "
        "output, environment); `clm completion bash` teaches your shell to complete.\n\n"
        "Example: clm --as alice customer list --stage onboarding"
    ),
    rich_markup_mode=None,
    add_completion=False,  # `clm completion SHELL` instead: answered without loading Typer
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["--help", "-h"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"clm {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    db_target: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH|URL",
            help="Database file or URL (default: $CLM_DB, the config file's, else the "
            "user data dir).",
            show_default=False,
        ),
    ] = None,
    today: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="The date clm takes as today (default: $CLM_TODAY, else the local date).",
        ),
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="USER",
            help="The current user (default: $CLM_USER, else the config file's).",
        ),
    ] = None,
    no_pager: Annotated[
        bool,
        typer.Option(
            "--no-pager",
            help="Write long output straight to the terminal (default: $CLM_PAGER, "
            "the config file's, $PAGER, else less -FRX, on a terminal only).",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Customer lifecycle management in the terminal.

    Accounts move through lifecycle stages; milestones carry due dates and reminders;
    a daily `clm tick` applies the rules and prints what is due. `clm` alone shows today's
    agenda; `clm help` lists the help topics (dates, durations, conditions).
    """
    from clm.cli.env import Env

    try:
        ctx.obj = Env.from_options(
            db=db_target, today=today, user=as_user, mending=ctx.invoked_subcommand == "config"
        )
    except ClmError as exc:
        _fail(str(exc))
    ctx.obj.paging = not no_pager
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None and not ctx.resilient_parsing:
        agenda.agenda(ctx)


app.add_typer(customer.app, name="customer")
app.add_typer(field.app, name="field")
app.add_typer(contact.app, name="contact")
app.command("note")(customer.note)
app.command("why")(customer.why)
app.add_typer(milestone.app, name="milestone")
app.add_typer(task.app, name="task")
app.add_typer(cta.app, name="cta")
app.add_typer(playbook.app, name="playbook")
app.command("my")(my.my)
app.command("agenda")(agenda.agenda)
app.add_typer(user.app, name="user")
app.add_typer(stage.app, name="stage")
app.add_typer(holiday.app, name="holiday")
app.add_typer(metric.app, name="metric")
app.add_typer(rule.app, name="rule")
app.command("explain")(rule.explain)
app.command("log")(log.log)
app.command("undo")(log.undo)
app.add_typer(model.app, name="model")
app.command("tick")(tick.tick)
app.add_typer(report.app, name="report")
app.command("export")(transfer.export)
app.command("import")(transfer.import_)
app.command("init")(db.init)
app.command("demo")(db.demo)
app.add_typer(db.app, name="db")
app.add_typer(notify.app, name="notify")
app.add_typer(config.app, name="config")
app.command("completion")(completion.completion)
app.command("help")(help.help_)


def main() -> None:
    if COMPLETE_VAR in os.environ:  # a shell asking for completions, on every TAB: be quick
        from clm.cli.completion import respond

        sys.exit(respond())
    try:
        lazy_root(app)(prog_name="clm")  # builds only the commands the line names
    except BrokenPipeError:
        _reader_gone()


def _reader_gone() -> None:
    """The reader (head, less) went away having read what it wanted: stop quietly and
    successfully, as `git log | head` does, so a `set -o pipefail` script goes on (Click
    would exit 1). What is still buffered for stdout goes nowhere."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)
