"""The cells of an imported file as typed values: strict ISO dates, whole numbers in range,
amounts, true/false, `;`-joined lists, durations, ids and uuids. Each parser takes a csv cell
(text) or a JSON value and raises `BadValue` saying what it accepts."""

import math
import re
import uuid
from datetime import date, datetime
from functools import lru_cache

from clm.dates import DURATION_FORMS, at_most_a_century, parse_duration, parse_every
from clm.errors import Invalid
from clm.plain import MAX_ARR

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


class BadValue(Exception):
    """A cell that does not parse: the message names the value and what is accepted."""


# The common cell of each type (a whole-number score, true/false) looked up, not parsed.
_SCORES = {"": None} | {str(n): n for n in range(101)}
_FLAGS = {"": None, "true": True, "false": False}


def _shown(raw) -> str:
    text = raw if isinstance(raw, str) else repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def text(raw, strip: bool = False) -> str | None:
    """Text, verbatim (or stripped); empty is None. A JSON number is taken as its text."""
    if raw.__class__ is str:
        return (raw.strip() if strip else raw) or None
    if raw is None:
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    raise BadValue(f"expected text, not {_shown(raw)}")


def stripped(raw) -> str | None:
    """Text without the blanks around it (names, titles, slugs); empty is None."""
    if raw.__class__ is str:
        return raw.strip() or None
    return text(raw, strip=True)


# What a CRM writes for a moment: a date, a time, and perhaps its offset from UTC.
_ISO_MOMENT = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII | re.IGNORECASE,
)


def _moment_day(text: str, match) -> date:
    """The day of an ISO date-time: its date part as written, or, with an offset from UTC,
    the day it was in the user's time zone."""
    if match.group(2) is None:
        return date.fromisoformat(match.group(1))
    moment = datetime.fromisoformat(text.replace(" ", "T", 1).replace("z", "Z"))
    return moment.astimezone().date()


@lru_cache(maxsize=8192)
def _iso(raw: str) -> date:
    day = raw.strip()
    if not _ISO_DATE.fullmatch(day):
        moment = _ISO_MOMENT.fullmatch(day)
        if moment is not None:
            try:
                return _moment_day(day, moment)
            except ValueError:
                raise BadValue(f"invalid date-time '{_shown(raw)}': no such moment") from None
        raise BadValue(
            f"invalid date '{_shown(raw)}': use YYYY-MM-DD (or an ISO date-time; another "
            "form with --date-format)"
        )
    try:
        return date.fromisoformat(day)
    except ValueError:
        raise BadValue(f"invalid date '{day}': no such day; use YYYY-MM-DD") from None


def iso_date(raw) -> date | None:
    """A date written as YYYY-MM-DD, strictly: no `today`, no offsets, no day-first guessing."""
    if raw.__class__ is str and raw:
        return _iso(raw)
    if raw is None or raw == "":
        return None
    raise BadValue(f"invalid date {_shown(raw)}: use YYYY-MM-DD")


def dated_as(date_format: str):
    """A date parser for cells written in `date_format` (strftime's %d/%m/%Y…; a time after
    the date is allowed, its day kept); an ISO date is taken too."""

    @lru_cache(maxsize=8192)
    def parse(raw):
        if raw is None or raw == "":
            return None
        text = str(raw).strip()
        try:
            return datetime.strptime(text, date_format).date()
        except ValueError:
            pass
        try:
            return iso_date(text)
        except BadValue:
            raise BadValue(
                f"invalid date '{_shown(raw)}': use the --date-format {date_format} or YYYY-MM-DD"
            ) from None

    return parse


def whole(raw, low: int, high: int) -> int | None:
    """A whole number from `low` to `high`."""
    if raw is None or raw == "":
        return None
    value = _number(raw)
    if not float(value).is_integer() or not low <= value <= high:
        raise BadValue(f"invalid value '{_shown(raw)}': use a whole number {low}–{high}")
    return int(value)


def score(raw) -> int | None:
    """A health or lead score: a whole number 0–100."""
    if raw.__class__ is str and raw in _SCORES:
        return _SCORES[raw]  # the common case, in short
    return whole(raw, 0, 100)


def amount(raw) -> float | None:
    """A number of 0 or more (ARR)."""
    if raw is None or raw == "":
        return None
    value = float(_number(raw))
    if value < 0:
        raise BadValue(f"invalid value '{_shown(raw)}': use a number of 0 or more")
    if value > MAX_ARR:
        raise BadValue(f"invalid value '{_shown(raw)}': use a number up to {MAX_ARR:,}")
    return value


def _number(raw) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise BadValue(f"invalid number {_shown(raw)}")
    value = raw
    if isinstance(raw, str):
        try:
            value = int(raw) if raw.strip().lstrip("+-").isdigit() else float(raw)
        except ValueError:
            raise BadValue(f"invalid number '{_shown(raw)}'") from None
    if isinstance(value, float) and not math.isfinite(value):
        # `1e400` reads as infinity: name the cell as written.
        raise BadValue(f"invalid number '{_shown(raw)}': use a finite number")
    return value


def flag(raw) -> bool | None:
    """true or false (also yes/no, 1/0)."""
    if raw.__class__ is str and raw in _FLAGS:
        return _FLAGS[raw]  # the common case, in short
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise BadValue(f"invalid value '{_shown(raw)}': use true or false")


def items(raw) -> list[str]:
    """A list: `;`-joined text (csv, tsv) or an array of text (json); items stripped."""
    if raw.__class__ is str:
        return list(_split(raw))
    if raw is None:
        return []
    if isinstance(raw, str):
        parts = raw.split(";")
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        parts = raw
    else:
        raise BadValue(f"invalid list {_shown(raw)}: use text joined by ';' or an array of text")
    return [part.strip() for part in parts if part.strip()]


@lru_cache(maxsize=4096)
def _split(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(";") if part.strip())


def duration(raw) -> str | None:
    """A duration in its stored form: `2 months` -> `2m`."""
    value = stripped(raw)
    return None if value is None else _duration(value)


@lru_cache(maxsize=1024)
def _duration(value: str) -> str:
    try:
        return str(parse_duration(value))
    except Invalid:
        raise BadValue(f"invalid duration '{_shown(value)}': use {DURATION_FORMS}") from None


def term(raw) -> str | None:
    """A customer's contract term: a duration from 1 day to 100 years."""
    value = duration(raw)
    if value is None:
        return None
    parsed = parse_duration(value)
    if parsed.count == 0 or not at_most_a_century(parsed):
        raise BadValue(f"invalid term '{_shown(raw)}': use a term from 1 day to 100 years, e.g. 1y")
    return value


def recurrence(raw) -> str | None:
    """A milestone's `every` in its stored form: `year` -> `1y`."""
    if raw.__class__ is str:
        value = raw.strip()
        return _recurrence(value) if value else None
    value = stripped(raw)
    return None if value is None else _recurrence(value)


@lru_cache(maxsize=1024)
def _recurrence(value: str) -> str:
    try:
        return str(parse_every(value, "recurrence"))
    except Invalid as exc:
        raise BadValue(str(exc).replace(f"'{value}'", f"'{_shown(value)}'", 1)) from None


def identifier(raw) -> int | None:
    """A row id: a whole number of 1 or more."""
    if raw.__class__ is str and raw.isdigit() and raw.isascii() and raw[0] != "0":
        return int(raw)  # the common case, in short
    if raw is None or raw == "":
        return None
    value = _number(raw)
    if not float(value).is_integer() or value < 1:
        raise BadValue(f"invalid id '{_shown(raw)}': use a whole number of 1 or more")
    return int(value)


def uuid_text(raw) -> str | None:
    """A uuid in its stored form: lowercase, with hyphens."""
    if raw.__class__ is str and len(raw) == 36 and _UUID.fullmatch(raw):
        return raw  # the common case, in short
    value = stripped(raw)
    if value is None or _UUID.fullmatch(value):
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise BadValue(f"invalid uuid '{_shown(value)}'") from None


def one_of(choices: tuple[str, ...]):
    """The parser of a column holding one of `choices` (lowercase; blanks and case forgiven)."""
    return lambda raw: choice(raw, choices)


def choice(raw, choices: tuple[str, ...]) -> str | None:
    if raw in choices:
        return raw  # the common case, in short
    value = stripped(raw)
    if value is None:
        return None
    if value.lower() not in choices:
        raise BadValue(f"invalid value '{_shown(value)}': use {', '.join(choices)}")
    return value.lower()
