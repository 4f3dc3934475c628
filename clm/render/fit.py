"""Which columns of a table a terminal of a given width shows, and how wide: bars shrink
first, then low-priority columns go, then long text is cut short with `…`, then bars go and
columns from the right. What must stay whole (numbers, dates, slugs, ids, commands) is never
made narrower than its widest cell."""

from collections.abc import Sequence
from dataclasses import dataclass

GAP = 3  # cells between two columns of a SIMPLE_HEAD table without edges
BAR_MIN = 6  # a bar narrower than this says nothing: it goes instead
TEXT_MIN = 8  # text is cut short to no fewer cells than this (or its header's longest word)


@dataclass(frozen=True)
class Fit:
    """What the layout needs to know of one column."""

    natural: int  # its widest cell or header
    least: int  # the narrowest it may become (its natural width if it must stay whole)
    drop: int = 0  # > 0: dropped early, higher first; < 0: dropped last of all
    bar: bool = False


def column_fit(header: str, cells: Sequence[int], whole: bool, drop: int = 0) -> Fit:
    """A column of `cells` (their widths) under `header`: a whole column shrinks only down to
    its widest cell or header word (the header wraps between words); text down to TEXT_MIN."""
    widest = max(cells, default=0)
    word = max((len(w) for w in header.split()), default=0)
    natural = max(widest, len(header))
    least = max(widest, word) if whole else min(natural, max(TEXT_MIN, word))
    return Fit(natural, least, drop)


def bar_fit(width: int) -> Fit:
    return Fit(width, min(BAR_MIN, width), bar=True)


def layout(fits: Sequence[Fit], width: int) -> dict[int, int]:
    """The columns to show (by index) and their widths, to fit in `width` cells if it can be
    done; one column at least stays."""
    kept = list(range(len(fits)))
    droppable = sorted((i for i in kept if fits[i].drop > 0), key=lambda i: -fits[i].drop)
    for shrink_text in (False, True):
        while True:
            widths = _shrunk(fits, kept, width, shrink_text)
            if _total(widths) <= width or len(kept) < 2 or not droppable or shrink_text:
                break
            kept.remove(droppable.pop(0))
        if _total(widths) <= width:
            return widths
    # Still too wide: the bars go, then columns from the right (the essential ones last).
    last = [i for i in kept if fits[i].bar]
    last += sorted((i for i in kept if not fits[i].bar), key=lambda i: (fits[i].drop < 0, -i))
    while _total(widths) > width and len(kept) > 1:
        kept.remove(last.pop(0))
        widths = _shrunk(fits, kept, width, True)
    return widths


def _total(widths: dict[int, int]) -> int:
    return sum(widths.values()) + GAP * max(len(widths) - 1, 0)


def _shrunk(fits: Sequence[Fit], kept: list[int], width: int, shrink_text: bool):
    """Natural widths, then the bars narrowed, then (if `shrink_text`) every other column
    that may shrink narrowed, the widest first, until the table fits or none can shrink."""
    widths = {i: fits[i].natural for i in kept}
    excess = _total(widths) - width
    for i in kept:
        if excess > 0 and fits[i].bar:
            cut = min(excess, widths[i] - fits[i].least)
            widths[i] -= cut
            excess -= cut
    while excess > 0 and shrink_text:
        slack = [i for i in kept if not fits[i].bar and widths[i] > fits[i].least]
        if not slack:
            break
        widest = max(slack, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths
