"""`clm field …`: the custom fields customers carry (`customer add|edit --set NAME=VALUE`)."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt, noun
from clm.render.output import Col, Format, print_handle, render_rows, say

app = noun("Custom fields on customers: number, text, date, choice, bool. Lists by default.")

COLUMNS = (Col("name"), Col("kind"), Col("choices"), Col("description"), Col("customers"))
FieldName = Annotated[str, typer.Argument(help="The field's name, e.g. seats.")]
Choices = Annotated[
    list[str] | None,
    typer.Option("--choice", metavar="VALUE", help="A value of a choice field (repeatable)."),
]
Description = Annotated[str | None, typer.Option(help="What the field holds.")]


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """List the custom fields and how many customers hold a value of each.

    Example: clm field list
    """
    env = ctx.obj
    from clm.domain.custom_fields import list_fields

    with env.database().read() as conn:
        render_rows(env, iter(list_fields(conn)), COLUMNS, fmt, noun="fields")


@app.command("add")
def add(
    ctx: typer.Context,
    name: FieldName,
    kind: Annotated[str, typer.Option(help="number, text, date, choice or bool.")],
    choice: Choices = None,
    description: Description = None,
) -> None:
    """Add a custom field.

    Example: clm field add segment --kind choice --choice smb --choice enterprise
    """
    env = ctx.obj
    from clm.domain.custom_fields import add_field

    with env.database().write() as conn:
        field = add_field(conn, name, kind, choice or (), description)
    say(env, f"Added field {field.name} ({field.kind}). Set it: clm customer edit SLUG --set "
        f"{field.name}=VALUE")  # fmt: skip
    print_handle(env, field.name)


@app.command("edit")
def edit(
    ctx: typer.Context,
    name: FieldName,
    choice: Choices = None,
    description: Description = None,
) -> None:
    """Change a field's choices (all of them, repeated) or description.

    Example: clm field edit segment --choice smb --choice mid-market --choice enterprise
    """
    env = ctx.obj
    from clm.domain.custom_fields import edit_field

    with env.database().write() as conn:
        field = edit_field(conn, name, choice, description)
    say(env, f"Changed field {field.name}.")


@app.command("rm")
def rm(ctx: typer.Context, name: FieldName) -> None:
    """Remove a field and every customer's value of it (a rule reading it must go first).

    Example: clm field rm seats
    """
    env = ctx.obj
    from clm.domain.custom_fields import remove_field

    with env.database().write() as conn:
        field, gone = remove_field(conn, name)
    say(env, f"Removed field {field.name} and {gone} value{'' if gone == 1 else 's'}.")
