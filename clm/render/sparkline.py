"""A series of values drawn in one line of block characters, for a terminal."""

from clm.render import Streams
from clm.render.output import say

SPARKS = "▁▂▃▄▅▆▇█"
WIDEST = 90  # days drawn: the last ones of a longer series


def sparkline(values: list[float]) -> str:
    """Each value as a block from lowest (the series' minimum) to highest (its maximum)."""
    low, high = min(values), max(values)
    span = high - low
    if not span:
        return SPARKS[3] * len(values)
    return "".join(SPARKS[min(7, int((value - low) * 8 / span))] for value in values)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def print_series(env: Streams, title: str, points: list[dict]) -> None:
    """`acme-corp active_users  ▁▃▅█  12 → 40 (2026-10-01 to 2026-11-23), low 12, high 40`:
    the last WIDEST days of the series; a gap of days without a value is drawn as a space."""
    if not points:
        say(env, f"No values of {title}.")
        return
    shown = points[-WIDEST:]
    by_day = {point["day"]: point["value"] for point in shown}
    first, last = shown[0]["day"], shown[-1]["day"]
    line = sparkline(list(by_day.values()))
    days = (last - first).days + 1
    if days <= WIDEST:  # the gaps as spaces, so a missing week shows
        marks = dict(zip(by_day, line, strict=True))
        line = "".join(
            marks.get(first.fromordinal(first.toordinal() + i), " ") for i in range(days)
        )
    values = [point["value"] for point in shown]
    env.stdout.write(
        f"{title}  {line}  {_number(values[0])} → {_number(values[-1])} ({first} to {last}), "
        f"low {_number(min(values))}, high {_number(max(values))}\n"
    )
