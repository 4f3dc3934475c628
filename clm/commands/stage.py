"""`clm stage …`: the lifecycle's stages in order, with their teams and SLAs; add, edit, remove."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt, noun
from clm.render.output import Col, Format, print_handle, render_rows, say

app = noun("Lifecycle stages: list, add, edit, remove. Lists by default.")

COLUMNS = (
    Col("key"),
    Col("name"),
    Col("position", table=False),
    Col("team"),
    Col("expected_days", "SLA days"),
    Col("playbook"),
    Col("terminal"),
)


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """List the stages in lifecycle order.

    Example: clm stage list
    """
    env = ctx.obj
    from clm.domain.stages import list_stages

    with env.database().read() as conn:
        render_rows(env, list_stages(conn), COLUMNS, fmt, noun="stages")


StageKey = Annotated[str, typer.Argument(help="The stage's key, e.g. launched.")]
After = Annotated[str | None, typer.Option(metavar="KEY", help="Place it after this stage.")]
Before = Annotated[str | None, typer.Option(metavar="KEY", help="Place it before this stage.")]
Team = Annotated[str | None, typer.Option(help="The team that owns the stage's customers.")]
ExpectedDays = Annotated[
    int | None, typer.Option(metavar="N", help="The stage's SLA: days a customer should stay.")
]
Playbook = Annotated[str | None, typer.Option(help="The playbook run on entering the stage.")]


@app.command("add")
def add(
    ctx: typer.Context,
    key: StageKey,
    name: Annotated[str | None, typer.Option(help="Its name (default: from the key).")] = None,
    after: After = None,
    before: Before = None,
    team: Team = None,
    expected_days: ExpectedDays = None,
    playbook: Playbook = None,
    terminal: Annotated[
        bool, typer.Option("--terminal", help="A final stage (churned): no way on.")
    ] = False,
    inherit_rules: Annotated[
        bool,
        typer.Option(
            "--inherit-rules",
            help="Extend the rules that apply on both sides of it (at-risk, renewal-due…) to it.",
        ),
    ] = False,
) -> None:
    """Insert a stage into the lifecycle, after or before another.

    It names the rules that apply in the stages on both sides of it but not in it (a customer
    there would escape them); --inherit-rules extends them to it.
    Example: clm stage add launched --after onboarding --team customer-success --expected-days 60
    """
    env = ctx.obj
    from clm.rules import add_stage

    with env.database().write() as conn:
        stage, spanning, passing = add_stage(
            conn, inherit_rules, key=key, name=name, after=after, before=before, team=team,
            expected_days=expected_days, playbook=playbook, terminal=terminal,
        )  # fmt: skip
    where = f"after {after.strip().lower()}" if after else f"before {before.strip().lower()}"
    say(
        env,
        f"Added stage {stage['key']} ({stage['name']}) at position {stage['position']}, {where}.",
    )
    names = ", ".join(spanning)
    if spanning and inherit_rules:
        say(env, f"Extended to {stage['key']} the rules on both sides of it: {names}.")
    elif spanning:
        say(
            env,
            f"Rules that apply on both sides of {stage['key']} but not in it: {names}. Extend "
            f"them: clm rule edit NAME --add-from {stage['key']} (or add the stage with "
            "--inherit-rules).",
        )
    for name in passing:
        say(env, f"Rule {name} moves customers past {stage['key']}: to stop there, clm rule "
                 f"edit {name} --to {stage['key']}")  # fmt: skip
    print_handle(env, stage["key"])


@app.command("edit")
def edit(
    ctx: typer.Context,
    key: StageKey,
    name: Annotated[str | None, typer.Option(help="New name (the key stays).")] = None,
    team: Team = None,
    expected_days: ExpectedDays = None,
    playbook: Playbook = None,
    terminal: Annotated[
        bool | None,
        typer.Option("--terminal/--not-terminal", help="Make it a final stage, or not."),
    ] = None,
    after: After = None,
    before: Before = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(
            metavar="FIELD",
            help="Empty a field: team, expected-days or playbook (repeatable).",
        ),
    ] = None,
) -> None:
    """Change a stage's name, team, SLA, playbook or terminal flag, or move it.

    Example: clm stage edit launched --expected-days 45 --after onboarding
    """
    env = ctx.obj
    from clm.domain.stages import edit_stage
    from clm.errors import Invalid

    cleared = tuple(field.strip().lower().replace("-", "_") for field in clear or ())
    options = (name, team, expected_days, playbook, terminal, after, before)
    if all(value is None for value in options) and not cleared:
        raise Invalid("nothing to change: pass at least one option (see clm stage edit --help)")
    with env.database().write() as conn:
        changed = edit_stage(
            conn, key, name, team, expected_days, playbook, terminal, after, before, cleared
        )
    key = key.strip().lower()
    say(env, f"Changed {', '.join(changed)} of stage {key}." if changed else f"No change to {key}.")


@app.command("rm")
def rm(
    ctx: typer.Context,
    key: StageKey,
    force: Annotated[
        bool, typer.Option("--force", help="Also remove the rules that use the stage.")
    ] = False,
) -> None:
    """Remove a stage no customer is in; rules that use it refuse it unless --force.

    Example: clm stage rm launched --force
    """
    env = ctx.obj
    from clm.domain.engine.rulebook import remove_stage

    with env.database().write() as conn:
        removed_rules = remove_stage(conn, key, force=force)
    message = f"Removed stage {key.strip().lower()}."
    if removed_rules:
        rule_s = "rule" if len(removed_rules) == 1 else "rules"
        message += f" Removed the {rule_s} that used it: {', '.join(removed_rules)}."
    say(env, message)
