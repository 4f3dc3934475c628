"""The funnel and time in stage from the stays, read through statements compiled ahead
(clm.storage.reads): on a file, `report funnel` and `report time-in-stage` import no
SQLAlchemy. The statements are written in clm.domain.reports, which also serves the dashboard
from here (on its connection)."""

from collections import Counter
from datetime import date, timedelta

from clm.plain import number

FUNNEL_KEYS = ("stage", "entered", "moved_on", "conversion", "median_days")
TIME_KEYS = ("stage", "customers", "median_days", "p90_days", "expected_days", "over")
OVER_KEYS = ("customer", "stage", "owner", "days_in_stage", "expected_days", "days_over")
# A stay as `stay_days` reads it: stage, days and next stage apart (a stage key is a slug,
# lowercase letters, digits and "-"), stays apart.
STAY_FIELDS, STAYS_APART = " ", ","
CUSTOMERS_PER_TEXT = 20_000  # customer ids a text of stays spans (`stay_days`)


def lifecycle(reads) -> list[dict]:
    """The live stages in order: key, name, team, position, expected days, terminal."""
    return reads.dicts("stays.lifecycle")


def per_stage(stage_list: list[dict], found: dict[str, dict], empty: dict) -> list[dict]:
    """One row per stage in lifecycle order (zeros where none), then stages no longer in the
    model that the history still names."""
    keys = [stage["key"] for stage in stage_list]
    keys += sorted(set(found) - set(keys))
    return [{"stage": key} | found.get(key, empty) for key in keys]


def median_p90(histogram: list[tuple[int, int]]) -> tuple:
    """The median and nearest-rank p90 of sorted (value, count) pairs."""
    n = sum(count for _, count in histogram)

    def ranked(rank: int) -> int:  # the rank-th smallest value, from 1
        seen = 0
        for value, count in histogram:
            seen += count
            if seen >= rank:
                return value
        raise ValueError(rank)

    median = (ranked((n + 1) // 2) + ranked((n + 2) // 2)) / 2
    return days(median), days(ranked(-(-9 * n // 10)))


def days(value) -> int | float | None:
    return None if value is None else number(round(float(value), 1))


def _moved_on(stage_list: list[dict]) -> set[tuple[str, str]]:
    """The (stage, next stage) pairs of a stay that moved on: to a later stage, not terminal."""
    return {
        (stage["key"], other["key"])
        for stage in stage_list
        for other in stage_list
        if other["position"] > stage["position"] and not other["terminal"]
    }


def stay_days(
    reads,
    stage_list: list[dict],
    today: date | None,
    since: date | None = None,
    as_of: date | None = None,
    moves: bool = True,
) -> list[tuple]:
    """One pass over the history for the funnel and time in stage: the count of stays per
    (stage, moved on or not, whole days spent), open stays counted up to `today` (None leaves
    their days out), by stage and days. A moved-on stay's days are the days it took to move
    on. Whether the stage it went to is moving on is decided here: a test per stay in SQL
    cost a sixth of the query (300,000 stays). Without `moves` (time in stage alone needs
    none) every stay counts as not moved on.

    The stays come as text, a `STAY_FIELDS`-separated token per stay, counted here: SQLite
    groups by sorting, and sorting 264,000 stays cost more than the window that finds them
    (0.2 s); counting the tokens takes 0.03 s. A text per `CUSTOMERS_PER_TEXT` customers, so
    what is held does not grow with the history (the whole of it was 5 MB for 264,000 stays,
    20 MB more at the peak)."""
    moved_on = _moved_on(stage_list)
    tokens: Counter = Counter()
    first, last = reads.first("stays.ids")
    if moves:
        name, params = "stays.moves", {"today": today, "since": since, "as_of": as_of}
    else:
        assert since is None and as_of is None and today is not None
        name, params = "stays.days", {"today": today}
    for low in range(first or 0, (last or -1) + 1, CUSTOMERS_PER_TEXT):
        ids = {"low": low, "high": low + CUSTOMERS_PER_TEXT - 1}
        tokens.update(reads.scalar(name, **params, **ids).split(STAYS_APART))
    counted: dict[tuple, int] = {}
    for found, count in tokens.items():
        if not found:  # a slice of customers with no stays
            continue
        key, spent, *went_to = found.split(STAY_FIELDS)
        stay = (key, int((key, *went_to) in moved_on), int(spent) if spent else None)
        counted[stay] = counted.get(stay, 0) + count
    order = sorted(counted, key=lambda f: (f[0], f[2] is not None, f[2] or 0, f[1]))
    return [(*found, counted[found]) for found in order]


def funnel(reads, since: date | None = None, as_of: date | None = None,
           stay_days_found: list[tuple] | None = None) -> list[dict]:  # fmt: skip
    """Per stage: entries into it (from `since`, up to `as_of`; a customer who comes back
    counts again), those that moved on to a later stage (not a terminal one: churn is no
    progress), the share, and the median days they took to move on. `stay_days_found` is the
    histogram of `stay_days` when the caller has it already."""
    stage_list = lifecycle(reads)
    if stay_days_found is None:
        stay_days_found = stay_days(reads, stage_list, None, since, as_of)
    live = {stage["key"] for stage in stage_list}
    entered: dict[str, int] = {}
    histograms: dict[str, list[tuple[int, int]]] = {}
    for key, was_moved, spent, count in stay_days_found:
        if key not in live:
            continue
        entered[key] = entered.get(key, 0) + count
        if was_moved:
            histograms.setdefault(key, []).append((spent, count))
    found = {}
    for key, count in entered.items():
        moved_on = sum(n for _, n in histograms.get(key, ()))
        found[key] = {
            "entered": count,
            "moved_on": moved_on,
            "conversion": round(moved_on / count, 3),
            "median_days": median_p90(histograms[key])[0] if moved_on else None,
        }
    empty = {"entered": 0, "moved_on": 0, "conversion": None, "median_days": None}
    return per_stage(stage_list, found, empty)


def time_in_stage(reads, today: date, stay_days_found: list[tuple] | None = None) -> list[dict]:
    """Per stage: the median and p90 days of its stays (open ones counted up to today) against
    its expected days, the customers in it now and how many of them are over. `stay_days_found`
    is the histogram of `stay_days` up to today when the caller has it already."""
    stage_list = lifecycle(reads)
    if stay_days_found is None:
        stay_days_found = stay_days(reads, stage_list, today, moves=False)
    histograms: dict[str, dict[int, int]] = {}
    for key, _moved, spent, count in stay_days_found:  # moved or not, a stay is a stay
        histogram = histograms.setdefault(key, {})
        histogram[spent] = histogram.get(spent, 0) + count
    measured = {key: median_p90(sorted(h.items())) for key, h in histograms.items()}
    now = {key: (count, late) for key, count, late in reads.all("stays.now", today=today)}
    expected = {stage["key"]: stage["expected_days"] for stage in stage_list}
    found = {
        key: {
            "customers": now.get(key, (0, 0))[0],
            "median_days": median,
            "p90_days": p90,
            "expected_days": expected.get(key),
            "over": now.get(key, (0, 0))[1],
        }
        for key, (median, p90) in measured.items()
    }
    empty = {"customers": 0, "median_days": None, "p90_days": None, "over": 0}
    rows = per_stage(stage_list, found, empty)
    return [{key: row.get(key, expected.get(row["stage"])) for key in TIME_KEYS} for row in rows]


def first_over_sla(reads, today: date, limit: int) -> list[dict]:
    """The first `limit` customers in their stage longer than its expected days, longest over
    first: the first few of each stage, each read in order from the (stage, day entered)
    index, then the first of those (not every customer over, 26,000 of book 2, sorted), in
    SQLite's order of slugs: on a connection (a server's slugs sort by its collation),
    clm.domain.reports.over_sla instead."""
    found = []
    for stage in lifecycle(reads):
        expected = stage["expected_days"]
        if expected:
            cutoff = today - timedelta(days=expected)
            rows = reads.all("stays.over", stage=stage["key"], cutoff=cutoff, limit=limit)
            found += [(*row, expected) for row in rows]
    found.sort(key=lambda row: (row[3], row[0]))  # by day entered, then slug (SQLite's order)
    rows = []
    for slug, stage, handle, entered, expected in found[:limit]:
        days_in = (today - entered).days
        rows.append(dict(zip(OVER_KEYS, (slug, stage, handle, days_in, expected,
                                         days_in - expected), strict=True)))  # fmt: skip
    return rows
