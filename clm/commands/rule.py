"""`clm rule …` and `clm explain`: the rules that move customers and open CTAs."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt, noun
from clm.render.output import (
    Col,
    Format,
    Section,
    print_handle,
    render_record,
    render_rows,
    say,
)

app = noun("Transition rules: from stages, conditions, actions. Lists by default.")

COLUMNS = (
    Col("name"),
    Col("from"),
    Col("to"),
    Col("when"),
    Col("cta", "CTA"),
    Col("playbook"),
    Col("enabled"),
    Col("churn_reason", "churn reason", drop=1),
)
EXPLAIN = (
    Col("rule"),
    Col("condition"),
    Col("value"),
    Col("holds"),
    Col("since"),
    Col("verdict"),
)
RuleName = Annotated[str, typer.Argument(help="The rule's name.")]
ChurnReason = Annotated[
    str | None,
    typer.Option(
        metavar="REASON",
        help="Into a terminal stage: the churn reason its moves record (see model export).",
    ),
]


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """List the rules in the order the tick tries them.

    Example: clm rule list
    """
    env = ctx.obj
    from clm.rules import list_rules

    with env.database().read() as conn:
        render_rows(env, list_rules(conn), COLUMNS, fmt, noun="rules")


@app.command("add")
def add(
    ctx: typer.Context,
    name: RuleName,
    from_: Annotated[
        str, typer.Option("--from", metavar="KEY[,KEY...]", help="The stages it applies in.")
    ],
    when: Annotated[
        list[str],
        typer.Option(
            metavar="COND",
            help="A condition, e.g. 'days_in_stage >= 30', 'health < 40', "
            "'milestone_done:Kick-off' (repeatable; all must hold).",
        ),
    ],
    to: Annotated[str | None, typer.Option(metavar="KEY", help="Move to this stage.")] = None,
    cta: Annotated[
        str | None, typer.Option(metavar="TYPE:REASON", help="Open a CTA, e.g. risk:low health.")
    ] = None,
    playbook: Annotated[str | None, typer.Option(help="Run this playbook.")] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it disabled.")] = False,
    churn_reason: ChurnReason = None,
) -> None:
    """Add a rule; every problem with it is reported at once.

    Example: clm rule add stalled --from onboarding --when "days_in_stage >= 45" --cta risk:stalled
    """
    env = ctx.obj
    from clm.rules import add_rule

    stages = _keys([from_])
    with env.database().write() as conn:
        rule = add_rule(conn, name, stages, when, to, cta, playbook, not disabled, churn_reason)
    say(env, f"Added rule {rule['name']}. Preview it: clm tick --dry-run --until +30d")
    print_handle(env, rule["name"])


def _keys(values: list[str] | None) -> list[str]:
    """Stage keys given one by one or comma-separated."""
    return [key for value in values or () for key in value.split(",") if key.strip()]


def _repeated(help_: str, metavar: str):
    return Annotated[list[str] | None, typer.Option(metavar=metavar, help=help_)]


@app.command("edit")
def edit(
    ctx: typer.Context,
    name: RuleName,
    from_: Annotated[
        str | None,
        typer.Option("--from", metavar="KEY[,KEY...]", help="The stages it applies in (all)."),
    ] = None,
    add_from: _repeated("Apply it in this stage too (repeatable).", "KEY") = None,
    remove_from: _repeated("Stop applying it in this stage (repeatable).", "KEY") = None,
    when: _repeated("Replace its conditions with these (repeatable).", "COND") = None,
    add_when: _repeated("Add a condition (repeatable).", "COND") = None,
    remove_when: _repeated("Remove a condition, written as rule list shows it.", "COND") = None,
    to: Annotated[str | None, typer.Option(metavar="KEY", help="Move to this stage.")] = None,
    no_to: Annotated[bool, typer.Option("--no-to", help="Move nowhere.")] = False,
    cta: Annotated[str | None, typer.Option(metavar="TYPE:REASON", help="Open this CTA.")] = None,
    no_cta: Annotated[bool, typer.Option("--no-cta", help="Open no CTA.")] = False,
    playbook: Annotated[str | None, typer.Option(help="Run this playbook.")] = None,
    no_playbook: Annotated[bool, typer.Option("--no-playbook", help="Run no playbook.")] = False,
    churn_reason: ChurnReason = None,
) -> None:
    """Change a rule's stages, conditions and actions in place, checked as rule add checks.

    It keeps its name, its place in the order and what it already did (a rule fires once
    per stay). Example: clm rule edit at-risk --add-from launched
    """
    env = ctx.obj
    from clm.errors import Invalid
    from clm.rules import edit_rule

    cleared = [what for what, flag in (("to", no_to), ("cta", no_cta), ("playbook", no_playbook))
               if flag]  # fmt: skip
    wanted = (from_, add_from, remove_from, when, add_when, remove_when, to, cta, playbook,
              churn_reason)  # fmt: skip
    if not cleared and all(value is None for value in wanted):
        raise Invalid(f"nothing to change: give rule edit {name} an option (see --help)")
    stages = None if from_ is None else _keys([from_])
    with env.database().write() as conn:
        rule, changed = edit_rule(
            conn, name, stages, _keys(add_from), _keys(remove_from), when, add_when or (),
            remove_when or (), to, cta, playbook, cleared, churn_reason,
        )  # fmt: skip
    if not changed:
        say(env, f"No change to rule {rule['name']}.")
        return
    say(env, f"Changed {', '.join(changed)} of rule {rule['name']}. "
             "Preview it: clm tick --dry-run --until +30d")  # fmt: skip


@app.command("rm")
def rm(ctx: typer.Context, name: RuleName) -> None:
    """Remove a rule.

    Example: clm rule rm stalled
    """
    env = ctx.obj
    from clm.rules import remove_rule

    with env.database().write() as conn:
        remove_rule(conn, name)
    say(env, f"Removed rule {name}.")


def _enable(env, name: str, enabled: bool) -> None:
    from clm.rules import set_enabled

    with env.database().write() as conn:
        set_enabled(conn, name, enabled)
    say(env, f"Rule {name} is {'enabled' if enabled else 'disabled'}.")


@app.command("enable")
def enable(ctx: typer.Context, name: RuleName) -> None:
    """Enable a rule: the next tick applies it.

    Example: clm rule enable stalled
    """
    _enable(ctx.obj, name, True)


@app.command("disable")
def disable(ctx: typer.Context, name: RuleName) -> None:
    """Disable a rule: ticks skip it until it is enabled again.

    Example: clm rule disable stalled
    """
    _enable(ctx.obj, name, False)


HEALTH = (
    Col("customer"),
    Col("health", number=True),
    Col("band"),
    Col("since"),
    Col("source"),
    Col("detail"),
)
MEASURES = (
    Col("measure"),
    Col("value", number=True),
    Col("on"),
    Col("score", number=True),
    Col("weight", number=True),
    Col("contribution", number=True),
    Col("scored_by", "scored by"),
    Col("note"),
)


def explain(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The customer's slug.")],
    health: Annotated[
        bool,
        typer.Option(
            "--health",
            help="Where its health comes from instead: the scorecard's measures with their "
            "values and contributions, or a health set by hand (reason, last day).",
        ),
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Explain each rule from a customer's stage: every condition's value, whether it holds
    and since when, and what the rule would do or why it won't. With --health, where its
    health comes from.

    Example: clm explain acme-corp --health
    """
    env = ctx.obj
    from clm.domain.health_explain import explain_health
    from clm.rules import explain as explain_rules

    with env.database().read() as conn:
        if health:
            record, measures = explain_health(conn, env.today, slug)
            sections = [Section("measures", "Scorecard measures", MEASURES, measures)]
            render_record(env, f"Health of {slug}", record, HEALTH, fmt, sections)
            return
        render_rows(
            env, explain_rules(conn, env.today, slug), EXPLAIN, fmt, noun="rules from its stage"
        )
