"""`clm playbook …`: templates of tasks and milestones that stages, rules and CTAs apply."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt, noun
from clm.render.output import Col, Format, Section, render_record, render_rows

app = noun("Playbooks: templates of tasks and milestones. Lists by default.")

COLUMNS = (
    Col("name"),
    Col("description"),
    Col("on_start", "on every start"),
    Col("items"),
    Col("stages"),
)
ITEMS = (
    Col("position", "#"),
    Col("kind"),
    Col("title"),
    Col("anchor"),
    Col("offset"),
    Col("remind"),
    Col("every"),
    Col("milestone", "under"),
)


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """List playbooks and the stages that run them.

    Example: clm playbook list
    """
    env = ctx.obj
    from clm.domain.playbooks import list_playbooks

    with env.database().read() as conn:
        render_rows(env, list_playbooks(conn), COLUMNS, fmt, noun="playbooks")


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The playbook's name.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Show a playbook's tasks and milestones, each due relative to its anchor.

    Example: clm playbook show onboarding
    """
    env = ctx.obj
    from clm.domain.playbooks import show_playbook

    with env.database().read() as conn:
        record, items = show_playbook(conn, name)
    render_record(
        env,
        f"Playbook {record['name']}",
        record,
        COLUMNS,
        fmt,
        [Section("items", "Items", ITEMS, items)],
    )
