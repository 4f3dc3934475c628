"""`clm contact …`: the account's people, their roles, the primary contact, who left."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt, noun
from clm.render.output import Col, Format, print_handle, render_record, render_rows, say

app = noun("The account's people: champion, sponsor, signer, … Lists by default.")

COLUMNS = (
    Col("id"),
    Col("customer"),
    Col("name"),
    Col("role"),
    Col("email"),
    Col("phone", drop=1),
    Col("primary"),
    Col("left_on", "left"),
)
ContactId = Annotated[int, typer.Argument(help="The contact's id (clm contact list).")]
Role = Annotated[
    str | None,
    typer.Option(
        help="One of the model's contact_roles (by default champion, sponsor, signer, billing, "
        "admin, user)."
    ),
]
Email = Annotated[str | None, typer.Option(help="Email address.")]
Phone = Annotated[str | None, typer.Option(help="Phone number.")]


@app.command("add")
def add(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The customer's slug.")],
    name: Annotated[str, typer.Argument(help="The person's name, e.g. 'Ana Ruiz'.")],
    role: Role = None,
    email: Email = None,
    phone: Phone = None,
    primary: Annotated[
        bool, typer.Option("--primary", help="The primary contact (a first contact is).")
    ] = False,
) -> None:
    """Add a contact to a customer.

    Example: clm contact add acme-corp "Ana Ruiz" --role champion --email ana@acme.com
    """
    env = ctx.obj
    from clm.domain.contacts import add_contact

    with env.database().write() as conn:
        contact = add_contact(conn, slug, name, role, email, phone, primary)
    main = ", the primary contact" if contact["primary"] else ""
    say(env, f"Added contact {contact['id']} ({contact['name']}) to {contact['customer']}{main}.")
    print_handle(env, str(contact["id"]))


@app.command("list")
def list_(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option(help="Only this customer's contacts.")] = None,
    role: Annotated[str | None, typer.Option(help="Only contacts with this role.")] = None,
    here: Annotated[bool, typer.Option("--here", help="Only those who have not left.")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """List contacts by customer, the primary one first.

    Example: clm contact list --customer acme-corp
    """
    env = ctx.obj
    from clm.domain.contacts import list_contacts

    with env.database().read() as conn:
        rows = list_contacts(conn, customer, role, left=not here)
        render_rows(env, rows, COLUMNS, fmt, noun="contacts")


@app.command("show")
def show(ctx: typer.Context, contact_id: ContactId, fmt: FormatOpt = Format.table) -> None:
    """Show a contact.

    Example: clm contact show 3
    """
    env = ctx.obj
    from clm.domain.contacts import show_contact

    with env.database().read() as conn:
        contact = show_contact(conn, contact_id)
    render_record(env, f"{contact['name']} ({contact['customer']})", contact, COLUMNS, fmt, [])


@app.command("edit")
def edit(
    ctx: typer.Context,
    contact_id: ContactId,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    role: Role = None,
    email: Email = None,
    phone: Phone = None,
    primary: Annotated[
        bool, typer.Option("--primary", help="Make it the customer's primary contact.")
    ] = False,
    left: Annotated[
        bool,
        typer.Option("--left", help="The person left the account (fires contact_left:ROLE)."),
    ] = False,
    on: Annotated[
        str | None, typer.Option(metavar="DATE", help="When they left (default: today).")
    ] = None,
    back: Annotated[bool, typer.Option("--back", help="They are there again.")] = False,
) -> None:
    """Change a contact, make it primary, or mark that the person left.

    Example: clm contact edit 3 --left --on 2026-11-30
    """
    env = ctx.obj
    from clm.domain.contacts import edit_contact
    from clm.errors import Invalid

    if left and back:
        raise Invalid("--left and --back contradict each other: give one")
    if on is not None and not left:
        raise Invalid("--on goes with --left: the day the person left")
    left_on = (env.date(on, "--on") or env.today) if left else None
    if (name, role, email, phone, left_on) == (None,) * 5 and not (primary or back):
        raise Invalid("nothing to change: pass at least one option (see clm contact edit --help)")
    with env.database().write() as conn:
        changed = edit_contact(
            conn, env.today, contact_id, name, role, email, phone, primary or None, left_on, back
        )
    what = f"Changed {', '.join(changed)} of contact {contact_id}."
    say(env, what if changed else f"No change to contact {contact_id}.")


@app.command("rm")
def rm(ctx: typer.Context, contact_id: ContactId) -> None:
    """Remove a contact.

    Example: clm contact rm 3
    """
    env = ctx.obj
    from clm.domain.contacts import remove_contact

    with env.database().write() as conn:
        name = remove_contact(conn, contact_id)
    say(env, f"Removed contact {contact_id} ({name}).")
