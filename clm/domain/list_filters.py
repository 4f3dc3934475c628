"""The filters of a list of work (milestones, tasks, CTAs): by customer, by the person it is
for, by status, overdue, due within a duration; one builder for the three lists."""

from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import Connection, Table

from clm.dates import Duration
from clm.errors import Invalid
from clm.storage.tables import customers, users


def list_filters(
    conn: Connection,
    today: date,
    table: Table,
    statuses: Sequence[str],
    unfinished: Sequence[str],
    *,
    status: str | None = None,
    customer: str | None = None,
    person: str | None = None,
    person_column: str | None = None,
    overdue: bool = False,
    due_within: Duration | None = None,
    named_statuses: Mapping[str | None, list] | None = None,
) -> list:
    """The WHERE clauses of a list of `table`'s rows. `status`: one of `statuses`, `all`, or
    None for the `unfinished` ones; `named_statuses` gives the clauses of a status that is
    more than the status column (None for the default). `person`: a user's handle, matched
    on `person_column`. `overdue`: unfinished and due before today. `due_within`: due from
    today to that duration ahead (business days skip the days off)."""
    named = named_statuses or {}
    where = []
    if status in named:
        where += named[status]
    elif status is None:
        where.append(table.c.status.in_(unfinished))
    elif status != "all":
        if status not in statuses:
            raise Invalid(f"invalid --status '{status}': use {', '.join(statuses)} or all")
        where.append(table.c.status == status)
    if customer is not None:
        from clm.domain.records import get_customer

        where.append(table.c.customer_id == get_customer(conn, customer).id)
    if person is not None:
        from clm.domain.users import get_user

        where.append(table.c[person_column] == get_user(conn, person).id)
    if overdue:
        from sqlalchemy import select

        from clm.storage.tables import customers, stages

        # Never a churned customer's (see clm.domain.churn).
        terminal = select(stages.c.key).where(stages.c.terminal, stages.c.deleted_at.is_(None))
        churned = select(customers.c.id).where(customers.c.stage.in_(terminal))
        where += [
            table.c.status.in_(unfinished),
            table.c.due < today,
            table.c.customer_id.not_in(churned),
        ]
    if due_within is not None:
        from clm.domain.holidays import days_off_for

        last = due_within.after(today, days_off_for(conn, due_within))
        where.append(table.c.due.between(today, last))
    return where


def listed_by_due(query, table: Table, person, *where):
    """`query` (of `table`'s columns, its customer's and `users`') over the live rows of live
    customers, `users` being the person `person` names; by due date, undated last, then id."""
    return (
        query.select_from(
            table.join(customers, customers.c.id == table.c.customer_id).outerjoin(
                users, users.c.id == person
            )
        )
        .where(table.c.deleted_at.is_(None), customers.c.deleted_at.is_(None), *where)
        .order_by(table.c.due.is_(None), table.c.due, table.c.id)
    )
