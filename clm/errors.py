"""The errors the domain layer raises; the CLI turns each into one `Error: …` line and exit 1."""

import difflib


class ClmError(Exception):
    """An error about the data: shown as `Error: <message>`, exit code 1."""


class NotFound(ClmError):
    """A customer, user, stage or other record that does not exist."""


class Invalid(ClmError):
    """A value that does not parse or is out of range."""


class Conflict(ClmError):
    """A value that clashes with what is stored (duplicate slug, stage in use, …)."""


class Refused(ClmError):
    """A destructive command that needs confirmation it did not get."""


def did_you_mean(word: str, choices) -> str:
    """A `; did you mean 'x'?` suffix: the choices that begin with `word` (a slug typed short,
    up to three), else the closest one; or ''."""
    choices = list(choices)
    close = sorted(c for c in choices if c.startswith(word) and c != word)[:3]
    close = close or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def not_found(kind: str, key: str, choices=()) -> NotFound:
    """`no customer 'acme'; did you mean 'acme-corp'?`"""
    return NotFound(f"no {kind} '{key}'{did_you_mean(key, choices)}")
