"""The model's holidays: days that business-day durations (`5bd`) skip besides weekends."""

from collections.abc import Iterator
from datetime import date

from sqlalchemy import Connection, delete, select

from clm.errors import Conflict, NotFound
from clm.models import holidays


def add_holiday(conn: Connection, day: date, name: str | None = None) -> None:
    if conn.scalar(select(holidays.c.day).where(holidays.c.day == day)):
        raise Conflict(f"{day} is already a holiday")
    conn.execute(holidays.insert().values(day=day, name=name))


def remove_holiday(conn: Connection, day: date) -> None:
    if not conn.execute(delete(holidays).where(holidays.c.day == day)).rowcount:
        raise NotFound(f"no holiday on {day}")


def list_holidays(conn: Connection) -> Iterator[dict]:
    for row in conn.execute(select(holidays.c.day, holidays.c.name).order_by(holidays.c.day)):
        yield row._asdict()
