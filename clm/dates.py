"""The date and duration grammar of SPEC.md, and month-end-safe date arithmetic."""

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from clm.errors import Invalid

DATE_FORMS = (
    "YYYY-MM-DD, today, tomorrow, yesterday, an offset from today (+30d, -2w, +3m, +1y, +5bd; "
    "also today+30d, today-14d), "
    "eom, eoq, eoy (end of month, quarter, year), som, soq, soy, sow, eow"
)
DURATION_FORMS = "30d, 2w, 3m, 1y, 5bd (business days), or words: '30 days', '2 months', '1 year'"

_UNIT_NAMES = {
    "d": ("d", "day", "days"),
    "w": ("w", "wk", "wks", "week", "weeks"),
    "m": ("m", "mo", "mon", "month", "months"),
    "y": ("y", "yr", "yrs", "year", "years"),
    "bd": ("bd", "business day", "business days", "workday", "workdays"),
}
_UNITS = {name: unit for unit, names in _UNIT_NAMES.items() for name in names}
_DURATION = re.compile(r"(\d{1,6})\s*([a-z][a-z ]*?)", re.ASCII)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


@dataclass(frozen=True, order=True)
class Duration:
    """A count of days, weeks, months, years or business days, e.g. `Duration(2, "m")`."""

    count: int
    unit: str

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    def shift(self, anchor: date, times: int = 1, holidays: Collection[date] = ()) -> date:
        """`anchor` moved by `times` of this duration (negative: back), always from the anchor.

        Months and years clamp to the month's end (Jan 31 + 1m = Feb 28/29) and are computed
        from the anchor, never chained, so a monthly series never drifts.
        """
        n = self.count * times
        try:
            if self.unit == "bd":
                return _add_business_days(anchor, n, holidays)
            if self.unit == "d":
                return anchor + timedelta(days=n)
            if self.unit == "w":
                return anchor + timedelta(weeks=n)
            if self.unit == "m":
                return anchor + relativedelta(months=n)
            return anchor + relativedelta(years=n)
        except (OverflowError, ValueError) as exc:
            raise Invalid(
                f"{anchor} {'+' if n >= 0 else '-'} {abs(n)}{self.unit} is out of range"
            ) from exc

    def times_in(self, other: "Duration") -> int | None:
        """How many of this duration make exactly `other` (`1y` in `+12m`: 1), else None:
        months with years, days with weeks; business days only with business days."""
        mine, theirs = _in_base_units(self), _in_base_units(other)
        if mine[1] != theirs[1] or mine[0] == 0:
            return None
        times, rest = divmod(theirs[0], mine[0])
        return None if rest else times

    def _steps_to(self, anchor: date, day: date) -> int:
        """About how many of this duration lie from `anchor` to `day` (`day` not earlier)."""
        step, unit = _in_base_units(self)
        if unit == "m":
            return ((day.year - anchor.year) * 12 + day.month - anchor.month) // step
        return (day - anchor).days // step

    def position_of(self, anchor: date, day: date) -> int | None:
        """The `k >= 0` with `shift(anchor, k) == day`: where `day` falls in the series of
        this duration counted from `anchor`, or None when it is not in that series."""
        if self.unit == "bd" or self.count == 0 or day < anchor:
            return None
        k = self._steps_to(anchor, day)
        return k if self.shift(anchor, k) == day else None

    def first_after(self, anchor: date, day: date, holidays: Collection[date] = ()) -> date:
        """The first date of the series `anchor + k × self` (k >= 1) that is after `day`."""
        if self.unit == "bd" or self.count == 0:
            return self.after(max(anchor, day), holidays)
        k = max(1, self._steps_to(anchor, day) if day >= anchor else 1)
        while self.shift(anchor, k) <= day:
            k += 1
        return self.shift(anchor, k)

    def after(self, anchor: date, holidays: Collection[date] = ()) -> date:
        return self.shift(anchor, 1, holidays)

    def before(self, anchor: date, holidays: Collection[date] = ()) -> date:
        return self.shift(anchor, -1, holidays)


def _in_base_units(duration: Duration) -> tuple[int, str]:
    """A duration as a count of months, of days or of business days."""
    factor, unit = {"y": (12, "m"), "w": (7, "d")}.get(duration.unit, (1, duration.unit))
    return duration.count * factor, unit


def _add_business_days(anchor: date, n: int, holidays: Collection[date]) -> date:
    """Step `n` business days (Monday to Friday, not a holiday) from `anchor`."""
    step = 1 if n >= 0 else -1
    day = anchor
    for _ in range(abs(n)):
        day += timedelta(days=step)
        while day.weekday() >= 5 or day in holidays:
            day += timedelta(days=step)
    return day


@lru_cache(maxsize=1024)
def parse_duration(text: str, what: str = "duration") -> Duration:
    """Parse `30d`, `2w`, `3m`, `1y`, `5bd`, `30 days`, `2 months`, `1 business day`. Cached:
    a catch-up tick reads the same few playbook offsets and reminders for every run (a
    Duration is frozen; a text that fails raises again, an error is never cached)."""
    match = _DURATION.fullmatch(text.strip().lower())
    unit = _UNITS.get(match.group(2).strip()) if match else None
    if unit is None:
        raise Invalid(f"invalid {what} '{text}': use {DURATION_FORMS}")
    return Duration(int(match.group(1)), unit)


@lru_cache(maxsize=1024)
def parse_offset(text: str, what: str = "offset") -> tuple[int, Duration]:
    """A signed duration, `+1m`, `-14d`, `0d`: the sign (1 or -1) and the duration."""
    word = text.strip()
    sign = -1 if word.startswith("-") else 1
    return sign, parse_duration(word.lstrip("+-"), what)


RECURRENCES = {"year": Duration(1, "y"), "quarter": Duration(3, "m"), "month": Duration(1, "m"),
               "week": Duration(1, "w")}  # fmt: skip


EVERY_FORMS = (
    "year, quarter, month, week or a duration like 6m (days, weeks, months or years, "
    "up to 100 years)"
)
# A century in each unit: the longest recurrence or contract term (a longer one is a typo, and
# soon off the calendar).
_CENTURY = {"d": 36_525, "w": 5_218, "m": 1_200, "y": 100, "bd": 26_089}


def at_most_a_century(duration: Duration) -> bool:
    return duration.count <= _CENTURY[duration.unit]


def parse_every(text: str, what: str = "--every") -> Duration:
    """A recurrence: year, quarter, month, week or a duration (`6m`, `2w`) of at most a
    century; not business days, not zero, not blank."""
    word = text.strip().lower().removesuffix("ly")
    every = RECURRENCES.get(word) or RECURRENCES.get(text.strip().lower())
    if every is None:
        try:
            every = parse_duration(text, what)
        except Invalid:
            every = None
    if every is None or every.unit == "bd" or every.count == 0 or not at_most_a_century(every):
        raise Invalid(f"invalid {what} '{text}': use {EVERY_FORMS}")
    return every


def _end_of_month(day: date) -> date:
    return day + relativedelta(day=31)


def _named_day(name: str, today: date) -> date | None:
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return {
        "today": lambda: today,
        "tomorrow": lambda: today + timedelta(days=1),
        "yesterday": lambda: today - timedelta(days=1),
        "som": lambda: today.replace(day=1),
        "eom": lambda: _end_of_month(today),
        "soq": lambda: quarter_start,
        "eoq": lambda: _end_of_month(quarter_start + relativedelta(months=2)),
        "soy": lambda: date(today.year, 1, 1),
        "eoy": lambda: date(today.year, 12, 31),
        "sow": lambda: today - timedelta(days=today.weekday()),
        "eow": lambda: today + timedelta(days=6 - today.weekday()),
    }.get(name, lambda: None)()


def parse_date(
    text: str,
    today: date,
    what: str = "date",
    holidays: Collection[date] | Callable[[], Collection[date]] = (),
) -> date:
    """Parse a date as SPEC.md accepts it; anything else raises `Invalid` naming the forms.

    No day-first or fuzzy guessing: `01/02/2026` and `next friday` are refused. `holidays`
    may be a function, called only for a business-day offset (`+5bd`): the holidays live in
    the database, which a date that needs none of them should not open.
    """
    word = text.strip().lower()
    if _ISO.fullmatch(word):
        try:
            return date.fromisoformat(word)
        except ValueError as exc:
            raise Invalid(f"invalid {what} '{text}': {exc}; use {DATE_FORMS}") from None
    named = _named_day(word, today)
    if named is not None:
        return named
    if word.startswith("today") and word[5:].lstrip()[:1] in ("+", "-"):
        word = word[5:].replace(" ", "")  # today+30d is +30d, as rules write it
    if word[:1] in "+-" and len(word) > 1:
        try:
            offset = parse_duration(word[1:])
        except Invalid:
            pass
        else:
            if offset.unit != "bd":
                holidays = ()
            elif callable(holidays):
                holidays = holidays()
            try:
                return offset.shift(today, -1 if word[0] == "-" else 1, holidays)
            except Invalid:
                raise Invalid(f"invalid {what} '{text}': out of range; use {DATE_FORMS}") from None
    raise Invalid(f"invalid {what} '{text}': use {DATE_FORMS}")


# The days clm accepts as today: rules look a century back and ahead of it, and the calendar
# ends at 9999-12-31. (A stored date may be any day of the calendar.)
TODAY_RANGE = (date(1900, 1, 1), date(2999, 12, 31))
DRY_RUN_YEARS = 3  # how far ahead `tick --dry-run --until` plays, day by day


def check_today(day: date, what: str = "--today") -> date:
    low, high = TODAY_RANGE
    if not low <= day <= high:
        raise Invalid(f"invalid {what} {day}: clm's today is a day from {low} to {high}")
    return day


def days_between(start: date, end: date) -> int:
    """Whole days from `start` to `end` (negative when `end` is earlier)."""
    return (end - start).days


# --- periods: a year, a quarter, a month, or a range of them ---------------------------------

PERIOD_FORMS = (
    "a year (2026), a quarter (2026Q3), a month (2026-07), or a range FROM..TO of those or of "
    "dates (2026-07..2026-09, 2026-01-15..2026-03-31)"
)
_YEAR = re.compile(r"(\d{4})", re.ASCII)
_QUARTER = re.compile(r"(\d{4})-?q([1-4])", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


def _period_bounds(text: str, today: date) -> tuple[date, date] | None:
    """The first and last day of one period as typed, or None when it is not one."""
    word = text.strip().lower()
    if found := _YEAR.fullmatch(word):
        year = int(found[1])
        return (date(year, 1, 1), date(year, 12, 31)) if year >= 1 else None
    if found := _QUARTER.fullmatch(word):
        year, quarter = int(found[1]), int(found[2])
        if year < 1:
            return None
        first = date(year, 3 * quarter - 2, 1)
        return first, _end_of_month(first + relativedelta(months=2))
    if found := _MONTH.fullmatch(word):
        year, month = int(found[1]), int(found[2])
        if year < 1 or not 1 <= month <= 12:
            return None
        first = date(year, month, 1)
        return first, _end_of_month(first)
    try:
        day = parse_date(word, today)
    except Invalid:
        return None
    return day, day


def parse_period(text: str, today: date, what: str = "--period") -> tuple[date, date]:
    """A period as the reports take it: its first and last day. One period (2026, 2026Q3,
    2026-07) or a range FROM..TO, from the first day of FROM to the last of TO, where each
    side is a period or any date SPEC.md accepts (soq, today, 2026-07-15)."""
    low, _, high = text.partition("..")
    first = _period_bounds(low, today) if low.strip() else None
    last = _period_bounds(high, today) if high.strip() else None
    if first is None or (_ and last is None) or (not _ and ".." in text):
        raise Invalid(f"invalid {what} '{text}': use {PERIOD_FORMS}")
    start, end = first[0], (last or first)[1]
    if end < start:
        raise Invalid(f"invalid {what} '{text}': it ends ({end}) before it starts ({start})")
    return start, end


def quarter_of(day: date) -> str:
    """`2026Q3`: the quarter a day is in, as periods are written."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def split_period(start: date, end: date, every: Duration) -> list[tuple[date, date]]:
    """The period from `start` to `end` cut at each calendar boundary of `every` (a month, a
    quarter, a year: periods of whole months counted from January), the first and last cut
    to the period's own ends."""
    months = every.count * {"m": 1, "y": 12}.get(every.unit, 0)
    if months == 0 or (12 % months and months % 12):
        raise Invalid(f"invalid --every '{every}': use month, quarter, year (or 2m, 6m, 2y)")
    parts = []
    first = start
    while first <= end:
        index = (first.year * 12 + first.month - 1) // months * months + months
        boundary = date(index // 12, index % 12 + 1, 1) if index // 12 <= 9999 else None
        last = min(end, boundary - timedelta(days=1)) if boundary else end
        parts.append((first, last))
        if boundary is None:
            break
        first = boundary
    return parts


def period_name(start: date, end: date) -> str:
    """How a period is written: 2026, 2026Q3, 2026-07 when it is one, else FROM..TO."""
    for name in (f"{start.year}", quarter_of(start), f"{start:%Y-%m}"):
        if _period_bounds(name, start) == (start, end):
            return name
    return f"{start}..{end}"
