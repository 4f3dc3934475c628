"""The account's people (`clm contact`): a role from the model's list, one primary contact
per customer, and the day a contact left (which fires `contact_left:ROLE`)."""

import json
import re
from collections.abc import Iterable, Iterator
from datetime import date

from sqlalchemy import Connection, func, select

from clm.db import get_meta, set_meta, utcnow
from clm.domain.records import find_by_id, get_customer, new_row, update_row
from clm.errors import Invalid, did_you_mean
from clm.lifecycle import CONTACT_ROLES as ROLES
from clm.plain import too_long
from clm.storage.tables import contacts, customers

CONTACT_KEYS = ("id", "customer", "name", "role", "email", "phone", "primary", "left_on")


META_KEY = "contact_roles"  # the model's list, as JSON; the default list while unset
ROLE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}", re.ASCII)


def contact_roles(conn: Connection) -> list[str]:
    """The roles a contact may have, in the model's order (the default list while unset)."""
    stored = get_meta(conn, META_KEY)
    return json.loads(stored) if stored else list(ROLES)


def check_roles(roles: Iterable[str]) -> list[str]:
    """A list of contact roles as the model keeps them; Invalid when one is not a role name or
    the list is empty."""
    keys = [str(text).strip().lower() for text in roles]
    wrong = [key for key in keys if not ROLE_NAME.fullmatch(key)]
    if not keys or wrong:
        shown = f" ('{wrong[0]}' is not one)" if wrong else ""
        raise Invalid(
            "contact_roles needs at least one role, each lowercase letters, digits, '-' or '_'"
            f", starting with a letter{shown}"
        )
    return list(dict.fromkeys(keys))


def set_contact_roles(conn: Connection, roles: list[str]) -> None:
    if roles != contact_roles(conn):
        set_meta(conn, META_KEY, json.dumps(roles))


def contacts_holding(conn: Connection, role: str) -> int:
    """How many live contacts have this role."""
    query = select(func.count()).where(contacts.c.role == role, contacts.c.deleted_at.is_(None))
    return conn.scalar(query)


def check_role(role: str | None, roles: list[str]) -> str | None:
    """A role typed by a person, one of the model's `roles`, else Invalid with the closest."""
    if role is None:
        return None
    word = role.strip().lower()
    if word not in roles:
        raise Invalid(
            f"invalid role '{role}': use one of {', '.join(roles)}{did_you_mean(word, roles)}"
        )
    return word


def _check_text(field: str, value: str | None, required: bool = False) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if required and not text:
        raise Invalid(f"invalid {field} '': a contact needs a {field}")
    problem = too_long(field, text)
    if problem:
        raise Invalid(f"invalid {field}: {problem}")
    if field == "email" and text and ("@" not in text or " " in text):
        raise Invalid(f"invalid email '{value}': use an address like ana@example.com")
    return text or None


def _clear_primary(conn: Connection, customer_id: int, but: int | None = None) -> None:
    """A customer has one primary contact: the one made primary takes it from the other."""
    query = select(contacts).where(
        contacts.c.customer_id == customer_id,
        contacts.c.is_primary,
        contacts.c.deleted_at.is_(None),
    )
    for row in conn.execute(query).all():
        if row.id != but:
            update_row(conn, contacts, row, {"is_primary": False})


def add_contact(
    conn: Connection,
    slug: str,
    name: str,
    role: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    primary: bool = False,
) -> dict:
    """Add a contact to a customer; its first contact is its primary one."""
    customer = get_customer(conn, slug)
    values = {
        "name": _check_text("name", name, required=True),
        "role": check_role(role, contact_roles(conn)),
        "email": _check_text("email", email),
        "phone": _check_text("phone", phone),
    }
    has_primary = conn.scalar(
        select(contacts.c.id).where(
            contacts.c.customer_id == customer.id,
            contacts.c.is_primary,
            contacts.c.deleted_at.is_(None),
        )
    )
    if primary:
        _clear_primary(conn, customer.id)
    row = new_row(
        conn, customer_id=customer.id, is_primary=primary or has_primary is None, **values
    )
    contact_id = conn.execute(contacts.insert().values(row)).inserted_primary_key[0]
    return show_contact(conn, contact_id)


def _select():
    return select(
        contacts.c.id,
        customers.c.slug.label("customer"),
        contacts.c.name,
        contacts.c.role,
        contacts.c.email,
        contacts.c.phone,
        contacts.c.is_primary.label("primary"),
        contacts.c.left_on,
    ).select_from(contacts.join(customers, customers.c.id == contacts.c.customer_id))


def list_contacts(
    conn: Connection,
    customer: str | None = None,
    role: str | None = None,
    left: bool = True,
) -> Iterator[dict]:
    """Live contacts of live customers, by customer, primary first, then name; without
    `left`, only those still there."""
    where = []
    if customer is not None:
        where.append(contacts.c.customer_id == get_customer(conn, customer).id)
    if role is not None:
        where.append(contacts.c.role == check_role(role, contact_roles(conn)))
    if not left:
        where.append(contacts.c.left_on.is_(None))
    for row in conn.execute(contacts_query(*where)):
        yield row._asdict()


def contacts_query(*where):
    """Live contacts of live customers (`where` more), by customer, primary first, then name."""
    return (
        _select()
        .where(contacts.c.deleted_at.is_(None), customers.c.deleted_at.is_(None), *where)
        .order_by(customers.c.slug, contacts.c.is_primary.desc(), contacts.c.name)
    )


def show_contact(conn: Connection, contact_id: int) -> dict:
    find_by_id(conn, contacts, contact_id, "contact")
    return conn.execute(_select().where(contacts.c.id == contact_id)).one()._asdict()


def edit_contact(
    conn: Connection,
    today: date,
    contact_id: int,
    name: str | None = None,
    role: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    primary: bool | None = None,
    left_on: date | None = None,
    back: bool = False,
) -> list[str]:
    """Change a contact (None: unchanged); `left_on` marks it as left that day (never after
    today), `back` as there again. Returns the names of what changed."""
    row = find_by_id(conn, contacts, contact_id, "contact")
    if left_on is not None and left_on > today:
        raise Invalid(f"invalid --on {left_on}: a contact leaves today or before")
    changes = {
        "name": _check_text("name", name, required=True),
        "role": check_role(role, contact_roles(conn)),
        "email": _check_text("email", email) if email is not None else None,
        "phone": _check_text("phone", phone) if phone is not None else None,
        "is_primary": primary,
        "left_on": left_on,
    }
    changes = {k: v for k, v in changes.items() if v is not None and getattr(row, k) != v}
    if back and row.left_on is not None:
        changes["left_on"] = None
    if changes.get("is_primary"):
        _clear_primary(conn, row.customer_id, but=row.id)
    update_row(conn, contacts, row, changes)
    return [{"is_primary": "primary", "left_on": "left"}.get(key, key) for key in changes]


def remove_contact(conn: Connection, contact_id: int) -> str:
    row = find_by_id(conn, contacts, contact_id, "contact")
    update_row(conn, contacts, row, {"deleted_at": utcnow(), "is_primary": False})
    return row.name
