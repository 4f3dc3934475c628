"""The errors the domain layer raises (the CLI turns each into one `Error: …` line and exit 1),
and the problems found together and reported at once."""

import difflib
from typing import NamedTuple


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


# Problems found together and reported at once (an import, a model file, a rule): each a
# `Problem(place, message)`, listed to the user by `listed` alone.
class Problem(NamedTuple):
    """What is wrong (`message`) and where (`place`: `line 3, field owner`, `rules[2].when[0]`;
    empty when it is about the thing as a whole)."""

    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message


def listed(problems: list[Problem], total: int | None = None, source: str = "") -> list[str]:
    """The problems as people read them, one a line, in the order given, each after `source`
    (the file) when there is one; then `and N more` when they are the first of `total`."""
    lines = [f"{source}: {problem}" if source else str(problem) for problem in problems]
    more = (total or 0) - len(problems)
    return lines + ([f"and {more} more"] if more > 0 else [])


class Problems(Invalid):
    """Problems that stop a command: the error line sums them up (`summary`) and the CLI
    shows their `lines()` before it, unless `in_summary` (the summary names the only one)."""

    def __init__(
        self,
        problems: list[Problem],
        summary: str,
        total: int | None = None,
        in_summary: bool = False,
    ):
        super().__init__(summary)
        self.problems, self.total, self.source = problems, total or len(problems), ""
        self.in_summary = in_summary

    def found_in(self, source: str) -> "Problems":
        """The same problems, each shown after `source` (the file they are in)."""
        self.source = source
        return self

    def lines(self) -> list[str]:
        return [] if self.in_summary else listed(self.problems, self.total, self.source)
