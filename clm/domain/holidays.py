"""The model's holidays: days that business-day durations (`5bd`) skip besides weekends.

A removed holiday keeps its row as a tombstone (like every mergeable row), so a merge of a
copy made before the removal does not bring it back."""

from collections.abc import Collection, Iterator
from datetime import date

from sqlalchemy import Connection, select

from clm.dates import Duration
from clm.db import utcnow
from clm.domain.records import new_row, update_row
from clm.errors import Conflict, NotFound
from clm.storage.tables import holidays

LIVE = holidays.c.deleted_at.is_(None)


def add_holiday(conn: Connection, day: date, name: str | None = None) -> None:
    if conn.scalar(select(holidays.c.id).where(holidays.c.day == day, LIVE)):
        raise Conflict(f"{day} is already a holiday")
    conn.execute(holidays.insert().values(new_row(conn, day=day, name=name)))


def remove_holiday(conn: Connection, day: date) -> None:
    row = conn.execute(select(holidays).where(holidays.c.day == day, LIVE)).first()
    if row is None:
        raise NotFound(f"no holiday on {day}")
    update_row(conn, holidays, row, {"deleted_at": utcnow()})


def list_holidays(conn: Connection) -> Iterator[dict]:
    query = select(holidays.c.day, holidays.c.name).where(LIVE).order_by(holidays.c.day)
    for row in conn.execute(query):
        yield row._asdict()


def holiday_days(conn: Connection) -> frozenset[date]:
    """The days business-day durations skip besides weekends."""
    return frozenset(conn.scalars(select(holidays.c.day).where(LIVE)))


def days_off_for(conn: Connection, duration: Duration) -> Collection[date]:
    """The holidays `duration` skips: none (and no query) unless it counts business days."""
    return holiday_days(conn) if duration.unit == "bd" else ()


def set_holidays(conn: Connection, wanted: list[dict]) -> None:
    """Make the live holidays exactly `wanted` (each a day and a name): the others removed,
    new ones added, a changed name edited (each change stamped, for merging)."""
    names = {holiday["day"]: holiday.get("name") for holiday in wanted}
    rows = {row.day: row for row in conn.execute(select(holidays).where(LIVE))}
    for day, row in rows.items():
        if day not in names:
            update_row(conn, holidays, row, {"deleted_at": utcnow()})
        elif row.name != names[day]:
            update_row(conn, holidays, row, {"name": names[day]})
    for day, name in names.items():
        if day not in rows:
            conn.execute(holidays.insert().values(new_row(conn, day=day, name=name)))
