"""`clm stage …`: the lifecycle's stages in order, with their teams and SLAs."""

import typer

from clm.commands.common import FormatOpt, noun
from clm.output import Col, Format, render_rows

app = noun("Lifecycle stages. Lists by default.")

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
