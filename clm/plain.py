"""Values as plain text and JSON, shared by the domain and the renderer: control characters
made visible, spreadsheet formulas neutralised, whole numbers without `.0`, UTC times."""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def visible(text: str) -> str:
    """Text safe for a terminal: control characters shown as `\\x1b`, `\\u202e`, never sent."""
    if text.isascii() and text.isprintable():  # most text: nothing to show (and quick)
        return text
    return _HIDDEN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


_BREAKS = re.compile("[\n\t]")


def visible_cell(text: str) -> str:
    """Text for one cell of a table: as `visible`, and a newline or tab shown as `\\n`, `\\t`
    too, so a name piped through a table can never forge a row or a column."""
    if text.isascii() and text.isprintable():  # no control character, newline or tab
        return text
    return visible(_BREAKS.sub(lambda m: "\\n" if m.group() == "\n" else "\\t", text))


# Limits on what a user can store (documented in `clm help limits`): long enough for any real
# name or note, short enough that one field cannot swell a book, a table or an export.
LINE_CHARS = 500  # names, titles, slugs, handles, tags, sources: every one-line field
NOTE_CHARS = 10_000  # a note's text, a reason, an outcome
LONG_FIELDS = frozenset({"text", "reason", "outcome", "blocked_reason"})
MAX_ARR = (
    10**16
)  # ARR: ten quadrillion, exact as a float; a sum over any book stays a finite number


def too_long(field: str, value) -> str | None:
    """What is wrong with a text field (or each item of a list field) past its limit, or None."""
    limit = NOTE_CHARS if field in LONG_FIELDS else LINE_CHARS
    items = value if isinstance(value, list | tuple) else [value]
    for item in items:
        if isinstance(item, str) and len(item) > limit:
            return f"{len(item):,} characters: at most {limit:,}"
    return None


def neutralise_formula(text: str) -> str:
    """A leading `'` on text a spreadsheet would run as a formula (and on text that already
    looks neutralised), so `unneutralise_formula` gives back exactly what was stored."""
    return "'" + text if text.lstrip("'").startswith(_FORMULA_START) else text


def unneutralise_formula(text: str) -> str:
    if text.startswith("'") and text.lstrip("'").startswith(_FORMULA_START):
        return text[1:]
    return text


CENT = 0.005  # less than half a cent of ARR is none: sums of floats are not exact


def number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def utc_text(moment: datetime) -> str:
    """UTC ISO 8601 with a Z; a naive time is taken as UTC (SQLite stores them naive)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def jsonable(value):
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return number(value)
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


def _secret(key: str) -> bool:
    return "password" in key.lower()  # password, sslpassword: libpq's secrets in a query


def has_password(url: str) -> bool:
    """Whether a database URL carries a password, in its user part or its query string."""
    if "://" not in url:
        return False
    parts = urlsplit(url)
    try:
        return parts.password is not None or any(
            _secret(key) for key, _ in parse_qsl(parts.query, keep_blank_values=True)
        )
    except ValueError:
        return True  # not readable enough to tell: treat it as secret


def hide_password(url: str) -> str:
    """The URL with every password (user part or query string) shown as ***."""
    if "://" not in url or not has_password(url):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}:***@{host}" if ":" in user else netloc
    query = urlencode(
        [
            (k, "***" if _secret(k) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*/=:-",
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def row_converter(convert: dict[int, Callable], missing: dict | None = None) -> Callable:
    """A function converting the cells of a row at the given places, the others as they are;
    a None at a place becomes `missing[place]` (None by default). A closure, not generated
    code: about a microsecond more a row than a compiled `(r[0], f(r[1]), …)`, which the
    exports and bulk inserts can afford."""
    missing = missing or {}
    places = tuple((i, convert_cell, missing.get(i)) for i, convert_cell in convert.items())

    def row(row: tuple) -> tuple:
        cells = list(row)
        for i, convert_cell, instead in places:
            value = cells[i]
            cells[i] = instead if value is None else convert_cell(value)
        return tuple(cells)  # as drivers take a row

    return row


def is_text(value: str) -> bool:
    """Whether `value` can be stored: no lone surrogate (what an undecodable byte of the
    command line becomes in Python), which neither database driver can encode."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
