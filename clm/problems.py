"""Problems found together and reported at once (an import, a model file, a rule): each a
`Problem(place, message)`, listed to the user by `listed` alone."""

from typing import NamedTuple

from clm.errors import Invalid


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
