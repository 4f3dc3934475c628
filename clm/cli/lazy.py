"""The command tree, built as far as the command line goes.

Typer builds the Click command of each of clm's sixty-odd commands, reading every parameter
from its signature, before it parses anything: a third of `clm --help` and of `clm --version`.
`lazy_root(app)` builds the root group alone and each subcommand when it is first used;
the root's help lists them from stand-ins that carry only their help texts.
"""

import inspect

from typer import main as typer_main
from typer.core import TyperCommand, TyperGroup


class LazyGroup(TyperGroup):
    """A group whose subcommands may still be pending: built by `get_command` on first use.
    Built by Typer itself (as the tests' `app` is), nothing is pending and it is a TyperGroup."""

    pending: dict | None = None
    _listing = False

    def get_command(self, ctx, cmd_name):
        if self.pending and not self._listing and cmd_name in self.pending:
            from clm.cli.fields import install_fields

            built = self.pending.pop(cmd_name)()
            install_fields(built, cmd_name)
            self.commands[cmd_name] = built
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx, formatter):
        # Listing needs only names and help texts: the stand-ins have them.
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False


def lazy_root(app) -> LazyGroup:
    """`app`'s root Click group (a LazyGroup subclass) with its subcommands pending, in the
    order Typer gives them (commands, then groups)."""
    commands, groups = app.registered_commands, app.registered_groups
    app.registered_commands, app.registered_groups = [], []
    try:
        root = typer_main.get_command(app)
    finally:
        app.registered_commands, app.registered_groups = commands, groups
    assert isinstance(root, LazyGroup), "the root group class must be a LazyGroup"
    settings = {
        "pretty_exceptions_short": app.pretty_exceptions_short,
        "rich_markup_mode": app.rich_markup_mode,
    }
    root.pending = {}
    for info in commands:
        name = info.name or typer_main.get_command_name(info.callback.__name__)
        doc = inspect.getdoc(info.callback) if info.help is None else inspect.cleandoc(info.help)
        root.commands[name] = TyperCommand(
            name=name,
            help=doc,
            short_help=info.short_help,
            hidden=info.hidden,
            deprecated=info.deprecated,
            rich_markup_mode=app.rich_markup_mode,
        )
        root.pending[name] = _builder(typer_main.get_command_from_info, info, settings)
    for info in groups:
        solved = typer_main.solve_typer_info_defaults(info)
        root.commands[solved.name] = TyperGroup(
            name=solved.name,
            help=solved.help,
            short_help=solved.short_help,
            hidden=solved.hidden,
            deprecated=solved.deprecated,
            rich_markup_mode=app.rich_markup_mode,
        )
        group_settings = settings | {"suggest_commands": app.suggest_commands}
        root.pending[solved.name] = _builder(typer_main.get_group_from_info, info, group_settings)
    return root


def _builder(build, info, settings):
    return lambda: build(info, **settings)
