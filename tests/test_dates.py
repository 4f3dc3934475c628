"""The date and duration grammar (SPEC.md "dates in" / "durations in") and its arithmetic.

Every test passes its own `today`; none reads the real clock.
"""

import calendar
from datetime import date, timedelta
from itertools import pairwise

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clm.dates import (
    Duration,
    days_between,
    parse_date,
    parse_duration,
    parse_period,
    period_name,
    split_period,
)
from clm.errors import Invalid

TODAY = date(2026, 11, 23)  # a Monday
FRI = date(2026, 11, 27)
SAT = date(2026, 11, 28)
SUN = date(2026, 11, 29)
MON = date(2026, 11, 30)
TUE = date(2026, 12, 1)

UNITS = ("d", "w", "m", "y", "bd")

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))


def month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def is_business_day(day: date, holidays=()) -> bool:
    return day.weekday() < 5 and day not in holidays


# --- parse_date: accepted forms ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23", date(2026, 11, 23)),
        ("2024-02-29", date(2024, 2, 29)),
        ("2000-02-29", date(2000, 2, 29)),
        ("1999-12-31", date(1999, 12, 31)),
        ("2030-01-01", date(2030, 1, 1)),
        ("0001-01-01", date(1, 1, 1)),
        ("9999-12-31", date(9999, 12, 31)),
    ],
)
def test_iso_dates_ignore_today(text, expected):
    assert parse_date(text, TODAY) == expected
    assert parse_date(text, date(1990, 6, 15)) == expected


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("today", TODAY, TODAY),
        ("tomorrow", TODAY, date(2026, 11, 24)),
        ("yesterday", TODAY, date(2026, 11, 22)),
        ("tomorrow", date(2024, 2, 28), date(2024, 2, 29)),
        ("tomorrow", date(2023, 2, 28), date(2023, 3, 1)),
        ("yesterday", date(2024, 3, 1), date(2024, 2, 29)),
        ("tomorrow", date(2026, 12, 31), date(2027, 1, 1)),
        ("yesterday", date(2026, 1, 1), date(2025, 12, 31)),
        ("today", date(2024, 2, 29), date(2024, 2, 29)),
    ],
)
def test_today_tomorrow_yesterday(text, today, expected):
    assert parse_date(text, today) == expected


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("+30d", TODAY, date(2026, 12, 23)),
        ("-30d", TODAY, date(2026, 10, 24)),
        ("+0d", TODAY, TODAY),
        ("-2w", TODAY, date(2026, 11, 9)),
        ("+2w", TODAY, date(2026, 12, 7)),
        ("+3m", TODAY, date(2027, 2, 23)),
        ("-3m", TODAY, date(2026, 8, 23)),
        ("+1y", TODAY, date(2027, 11, 23)),
        ("-1y", TODAY, date(2025, 11, 23)),
        ("+5bd", TODAY, date(2026, 11, 30)),
        ("-5bd", TODAY, date(2026, 11, 16)),
        ("+1bd", FRI, MON),
        ("-1bd", MON, FRI),
        ("+1bd", SAT, MON),
        ("-1bd", SUN, FRI),
        # months clamp to the end of the target month
        ("+3m", date(2026, 11, 30), date(2027, 2, 28)),
        ("+3m", date(2023, 11, 30), date(2024, 2, 29)),
        ("+1m", date(2024, 1, 31), date(2024, 2, 29)),
        ("+1m", date(2023, 1, 31), date(2023, 2, 28)),
        ("-1m", date(2024, 3, 31), date(2024, 2, 29)),
        ("+1m", date(2026, 3, 31), date(2026, 4, 30)),
        ("+1y", date(2024, 2, 29), date(2025, 2, 28)),
        ("-1y", date(2024, 2, 29), date(2023, 2, 28)),
        ("+4y", date(2024, 2, 29), date(2028, 2, 29)),
        # crossing year ends
        ("+1d", date(2026, 12, 31), date(2027, 1, 1)),
        ("+2m", date(2026, 12, 31), date(2027, 2, 28)),
        # word units
        ("+30 days", TODAY, date(2026, 12, 23)),
        ("-2 weeks", TODAY, date(2026, 11, 9)),
        ("+3 months", TODAY, date(2027, 2, 23)),
        ("+1 year", TODAY, date(2027, 11, 23)),
        ("+1 business day", FRI, MON),
    ],
)
def test_signed_offsets_from_today(text, today, expected):
    assert parse_date(text, today) == expected


@pytest.mark.parametrize(
    ("text", "holidays", "expected"),
    [
        ("+1bd", {MON}, TUE),
        ("+1bd", {MON, TUE}, date(2026, 12, 2)),
        ("+1bd", {date(2026, 12, 25)}, MON),  # a holiday not in the way changes nothing
        ("-1bd", {date(2026, 11, 26)}, date(2026, 11, 25)),  # Thanksgiving Thursday
        ("-3bd", {date(2026, 11, 26)}, date(2026, 11, 23)),
    ],
)
def test_business_day_offsets_skip_holidays(text, holidays, expected):
    assert parse_date(text, FRI, holidays=holidays) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        # Monday 2026-11-23: every name at once
        (
            TODAY,
            {
                "som": date(2026, 11, 1),
                "eom": date(2026, 11, 30),
                "soq": date(2026, 10, 1),
                "eoq": date(2026, 12, 31),
                "soy": date(2026, 1, 1),
                "eoy": date(2026, 12, 31),
                "sow": date(2026, 11, 23),
                "eow": date(2026, 11, 29),
            },
        ),
        # leap February, on a Saturday
        (
            date(2024, 2, 10),
            {
                "som": date(2024, 2, 1),
                "eom": date(2024, 2, 29),
                "soq": date(2024, 1, 1),
                "eoq": date(2024, 3, 31),
                "soy": date(2024, 1, 1),
                "eoy": date(2024, 12, 31),
                "sow": date(2024, 2, 5),
                "eow": date(2024, 2, 11),
            },
        ),
        # the leap day itself
        (date(2024, 2, 29), {"som": date(2024, 2, 1), "eom": date(2024, 2, 29)}),
        # common-year February; centuries: 2100 is not a leap year, 2000 is
        (date(2023, 2, 10), {"eom": date(2023, 2, 28), "eoq": date(2023, 3, 31)}),
        (date(2100, 2, 15), {"eom": date(2100, 2, 28)}),
        (date(2000, 2, 15), {"eom": date(2000, 2, 29)}),
        # last day of a quarter, first day of the next
        (
            date(2026, 3, 31),
            {
                "som": date(2026, 3, 1),
                "eom": date(2026, 3, 31),
                "soq": date(2026, 1, 1),
                "eoq": date(2026, 3, 31),
            },
        ),
        (
            date(2026, 4, 1),
            {
                "som": date(2026, 4, 1),
                "eom": date(2026, 4, 30),
                "soq": date(2026, 4, 1),
                "eoq": date(2026, 6, 30),
            },
        ),
        (date(2026, 6, 30), {"soq": date(2026, 4, 1), "eoq": date(2026, 6, 30)}),
        (date(2026, 7, 1), {"soq": date(2026, 7, 1), "eoq": date(2026, 9, 30)}),
        (date(2026, 9, 30), {"soq": date(2026, 7, 1), "eoq": date(2026, 9, 30)}),
        (date(2026, 10, 1), {"soq": date(2026, 10, 1), "eoq": date(2026, 12, 31)}),
        # first and last day of a year; weeks that straddle the year end
        (
            date(2026, 12, 31),
            {
                "som": date(2026, 12, 1),
                "eom": date(2026, 12, 31),
                "soy": date(2026, 1, 1),
                "eoy": date(2026, 12, 31),
                "sow": date(2026, 12, 28),
                "eow": date(2027, 1, 3),
            },
        ),
        (
            date(2026, 1, 1),  # a Thursday
            {
                "soq": date(2026, 1, 1),
                "soy": date(2026, 1, 1),
                "eoy": date(2026, 12, 31),
                "sow": date(2025, 12, 29),
                "eow": date(2026, 1, 4),
            },
        ),
        # a Sunday is the last day of its week
        (SUN, {"sow": date(2026, 11, 23), "eow": SUN}),
    ],
    ids=lambda value: value.isoformat() if isinstance(value, date) else "",
)
def test_named_days(today, expected):
    assert {name: parse_date(name, today) for name in expected} == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TODAY", TODAY),
        ("Tomorrow", date(2026, 11, 24)),
        ("  yesterday  ", date(2026, 11, 22)),
        ("\tEOM\n", date(2026, 11, 30)),
        ("EoQ", date(2026, 12, 31)),
        (" 2026-11-23 ", TODAY),
        ("+30D", date(2026, 12, 23)),
        (" -2W ", date(2026, 11, 9)),
        ("+3M", date(2027, 2, 23)),
        ("+5BD", date(2026, 11, 30)),
        ("+30 Days", date(2026, 12, 23)),
    ],
)
def test_date_case_and_surrounding_whitespace(text, expected):
    assert parse_date(text, TODAY) == expected


# --- parse_date: refusals ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-13-45",
        "2023-02-29",
        "2026-02-30",
        "2026-00-10",
        "01/02/2026",
        "03/04/2024",
        "2026/11/23",
        "23.11.2026",
        "next friday",
        "friday",
        "",
        "   ",
        "+",
        "-",
        "++1d",
        "+-1d",
        "1d",
        "30d",
        "+d",
        "+1.5m",
        "+3 fortnights",
        "2026-1-5",
        "26-11-23",
        "20261123",
        "2026-11-23T10:00",
        "tomorrow!",
        "to morrow",
        "eom+1d",
    ],
)
def test_refused_dates_name_the_value_and_the_forms(text):
    with pytest.raises(Invalid) as excinfo:
        parse_date(text, TODAY)
    message = str(excinfo.value)
    assert f"'{text}'" in message
    for form in ("YYYY-MM-DD", "today", "tomorrow", "yesterday", "+30d", "eom", "eoq", "eoy"):
        assert form in message, (form, message)


def test_refused_date_message_uses_the_callers_name_for_the_value():
    with pytest.raises(Invalid, match=r"^invalid due date 'next friday': use YYYY-MM-DD"):
        parse_date("next friday", TODAY, what="due date")


@pytest.mark.parametrize("text", ["+999999y", "+999999m", "+999999w", "-999999d", "-999999bd"])
def test_offsets_past_the_calendar_are_refused_not_crashed(text):
    with pytest.raises(Invalid, match="out of range"):
        parse_date(text, TODAY)


# --- parse_duration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", Duration(30, "d")),
        ("2w", Duration(2, "w")),
        ("2m", Duration(2, "m")),
        ("3m", Duration(3, "m")),
        ("1y", Duration(1, "y")),
        ("5bd", Duration(5, "bd")),
        ("0d", Duration(0, "d")),
        ("30 days", Duration(30, "d")),
        ("1 day", Duration(1, "d")),
        ("2 weeks", Duration(2, "w")),
        ("2 months", Duration(2, "m")),
        ("1 month", Duration(1, "m")),
        ("1 year", Duration(1, "y")),
        ("10 years", Duration(10, "y")),
        ("1 business day", Duration(1, "bd")),
        ("5 business days", Duration(5, "bd")),
        ("30D", Duration(30, "d")),
        ("2 Months", Duration(2, "m")),
        ("  5BD\n", Duration(5, "bd")),
        ("30days", Duration(30, "d")),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("30 days", "30d"),
        ("2 weeks", "2w"),
        ("2 months", "2m"),
        ("1 year", "1y"),
        ("1 business day", "1bd"),
        ("5BD", "5bd"),
        (" 3M ", "3m"),
    ],
)
def test_duration_str_is_canonical(text, canonical):
    assert str(parse_duration(text)) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "-3d",
        "+3d",
        "3",
        "d",
        "",
        "   ",
        "3 fortnights",
        "1.5m",
        "3 dayz",
        "3x",
        "d3",
        "3d3d",
        "1 business  day",
    ],
)
def test_refused_durations_name_the_value_and_the_forms(text):
    with pytest.raises(Invalid) as excinfo:
        parse_duration(text)
    message = str(excinfo.value)
    assert f"'{text}'" in message
    for form in ("30d", "2w", "3m", "1y", "5bd"):
        assert form in message, (form, message)


def test_refused_duration_message_uses_the_callers_name_for_the_value():
    with pytest.raises(Invalid, match=r"^invalid follow-up interval '3 fortnights': use 30d"):
        parse_duration("3 fortnights", what="follow-up interval")


# --- Duration arithmetic ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "anchor", "times", "expected"),
    [
        (Duration(1, "m"), date(2024, 1, 31), 1, date(2024, 2, 29)),
        (Duration(1, "m"), date(2023, 1, 31), 1, date(2023, 2, 28)),
        (Duration(1, "m"), date(2024, 1, 31), 2, date(2024, 3, 31)),  # not Mar 29
        (Duration(1, "m"), date(2024, 1, 31), 3, date(2024, 4, 30)),
        (Duration(1, "m"), date(2024, 1, 31), 13, date(2025, 2, 28)),
        (Duration(1, "m"), date(2024, 3, 31), -1, date(2024, 2, 29)),
        (Duration(2, "m"), date(2024, 12, 31), 1, date(2025, 2, 28)),
        (Duration(3, "m"), date(2024, 11, 30), 1, date(2025, 2, 28)),
        (Duration(3, "m"), date(2024, 11, 30), 2, date(2025, 5, 30)),
        (Duration(1, "y"), date(2024, 2, 29), 1, date(2025, 2, 28)),
        (Duration(1, "y"), date(2024, 2, 29), -1, date(2023, 2, 28)),
        (Duration(1, "y"), date(2024, 2, 29), 4, date(2028, 2, 29)),
        (Duration(1, "y"), date(2096, 2, 29), 4, date(2100, 2, 28)),
        (Duration(30, "d"), date(2026, 11, 23), 1, date(2026, 12, 23)),
        (Duration(2, "w"), date(2026, 11, 23), -1, date(2026, 11, 9)),
        (Duration(7, "d"), date(2026, 11, 23), 0, date(2026, 11, 23)),
        (Duration(1, "bd"), FRI, 1, MON),
        (Duration(1, "bd"), MON, -1, FRI),
        (Duration(5, "bd"), TODAY, 2, date(2026, 12, 7)),
    ],
)
def test_shift(duration, anchor, times, expected):
    assert duration.shift(anchor, times) == expected


def test_monthly_series_from_jan_31_stays_on_month_ends():
    month = Duration(1, "m")
    series = [month.shift(date(2024, 1, 31), k) for k in range(12)]
    assert series == [date(2024, m, month_length(2024, m)) for m in range(1, 13)]


def test_after_and_before_are_one_step_each_way():
    month = Duration(1, "m")
    assert month.after(date(2024, 1, 31)) == date(2024, 2, 29)
    assert month.before(date(2024, 3, 31)) == date(2024, 2, 29)
    assert Duration(1, "y").after(date(2024, 2, 29)) == date(2025, 2, 28)
    assert Duration(1, "y").before(date(2024, 2, 29)) == date(2023, 2, 28)


@pytest.mark.parametrize(
    ("anchor", "n", "holidays", "expected"),
    [
        (FRI, 1, (), MON),
        (FRI, 1, {MON}, TUE),
        (FRI, 1, {MON, TUE}, date(2026, 12, 2)),
        (SAT, 1, (), MON),
        (SUN, 1, {MON}, TUE),
        (MON, -1, (), FRI),
        (TUE, -1, {MON}, FRI),
        (TUE, -1, {MON, FRI}, date(2026, 11, 26)),
        (SUN, -1, (), FRI),
        (TODAY, 5, (), MON),
        (TODAY, 5, {date(2026, 11, 26), date(2026, 11, 27)}, date(2026, 12, 2)),
        # Christmas and the following Monday off
        (date(2026, 12, 24), 1, {date(2026, 12, 25), date(2026, 12, 28)}, date(2026, 12, 29)),
        (date(2026, 12, 29), -1, {date(2026, 12, 25), date(2026, 12, 28)}, date(2026, 12, 24)),
    ],
)
def test_business_days_skip_weekends_and_holidays(anchor, n, holidays, expected):
    bd = Duration(1, "bd")
    assert bd.shift(anchor, n, holidays) == expected
    if n == 1:
        assert bd.after(anchor, holidays) == expected
    if n == -1:
        assert bd.before(anchor, holidays) == expected


def test_shift_past_the_calendar_is_refused_not_crashed():
    with pytest.raises(Invalid, match="out of range"):
        Duration(1, "d").after(date.max)
    with pytest.raises(Invalid, match="out of range"):
        Duration(1, "m").before(date.min)


# --- days_between -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (TODAY, TODAY, 0),
        (TODAY, date(2026, 12, 23), 30),
        (date(2026, 12, 23), TODAY, -30),
        (date(2024, 2, 28), date(2024, 3, 1), 2),
        (date(2023, 2, 28), date(2023, 3, 1), 1),
        (date(2024, 1, 1), date(2025, 1, 1), 366),
        (date(2025, 1, 1), date(2026, 1, 1), 365),
    ],
)
def test_days_between(start, end, expected):
    assert days_between(start, end) == expected


# --- properties -------------------------------------------------------------------------


@given(day=dates, today=dates)
def test_every_iso_date_round_trips(day, today):
    assert parse_date(day.isoformat(), today) == day


@given(today=dates, n=st.integers(0, 3650))
def test_plus_n_days_then_minus_n_days_is_today(today, n):
    later = parse_date(f"+{n}d", today)
    assert days_between(today, later) == n
    assert parse_date(f"-{n}d", later) == today


@given(
    anchor=dates,
    unit=st.sampled_from(["d", "w"]),
    count=st.integers(0, 100),
    times=st.integers(-50, 50),
)
def test_day_and_week_shifts_are_exact_inverses(anchor, unit, count, times):
    duration = Duration(count, unit)
    moved = duration.shift(anchor, times)
    assert days_between(anchor, moved) == count * times * (7 if unit == "w" else 1)
    assert duration.shift(moved, -times) == anchor


@given(anchor=dates, k=st.integers(-120, 120))
def test_month_shift_is_relativedelta_clamped_to_month_end(anchor, k):
    moved = Duration(1, "m").shift(anchor, k)
    assert moved == anchor + relativedelta(months=k)
    assert Duration(abs(k), "m").shift(anchor, 1 if k >= 0 else -1) == moved
    assert moved.day == min(anchor.day, month_length(moved.year, moved.month))


@given(anchor=dates)
def test_monthly_series_never_drifts(anchor):
    month = Duration(1, "m")
    for k in range(25):
        moved = month.shift(anchor, k)
        months = anchor.year * 12 + anchor.month - 1 + k
        assert (moved.year, moved.month - 1) == divmod(months, 12)
        assert moved.day == min(anchor.day, month_length(moved.year, moved.month))


@given(anchor=dates, k=st.integers(-50, 50))
def test_year_shift_is_relativedelta_clamped_to_month_end(anchor, k):
    moved = Duration(1, "y").shift(anchor, k)
    assert moved == anchor + relativedelta(years=k)
    assert (moved.year, moved.month) == (anchor.year + k, anchor.month)
    assert moved.day == min(anchor.day, month_length(moved.year, moved.month))


def _holidays_near(anchor: date):
    return st.sets(st.integers(-60, 60).map(lambda offset: anchor + timedelta(days=offset)))


@given(data=st.data(), anchor=dates, n=st.integers(1, 30), sign=st.sampled_from([1, -1]))
def test_business_day_shifts_never_land_on_a_weekend_or_holiday(data, anchor, n, sign):
    holidays = data.draw(_holidays_near(anchor), label="holidays")
    moved = Duration(n, "bd").shift(anchor, sign, holidays)
    assert is_business_day(moved, holidays)
    assert (moved - anchor).days * sign >= n
    between = [anchor + timedelta(days=sign * i) for i in range(1, abs((moved - anchor).days))]
    assert sum(is_business_day(day, holidays) for day in between) == n - 1


@given(data=st.data(), start=dates, n=st.integers(0, 30))
def test_n_business_days_forward_then_back_returns_to_a_business_day(data, start, n):
    holidays = data.draw(_holidays_near(start), label="holidays")
    assume(is_business_day(start, holidays))
    bd = Duration(n, "bd")
    assert bd.before(bd.after(start, holidays), holidays) == start


@given(count=st.integers(0, 999_999), unit=st.sampled_from(UNITS))
def test_duration_str_round_trips(count, unit):
    duration = Duration(count, unit)
    assert parse_duration(str(duration)) == duration


@given(text=st.text())
def test_parse_date_raises_only_invalid_on_arbitrary_text(text):
    try:
        result = parse_date(text, TODAY)
    except Invalid as refusal:
        assert str(refusal)
    else:
        assert isinstance(result, date)


@settings(deadline=None)  # "+999999bd" is a legal date, found by stepping day by day
@given(text=st.from_regex(r"\s?[+-]{0,2}\s?\d{0,7}\s?[a-zA-Z ]{0,16}[!./]?", fullmatch=True))
def test_parse_date_raises_only_invalid_on_grammar_shaped_text(text):
    try:
        result = parse_date(text, TODAY)
    except Invalid as refusal:
        assert str(refusal)
    else:
        assert isinstance(result, date)


@given(text=st.text())
def test_parse_duration_raises_only_invalid_on_arbitrary_text(text):
    try:
        result = parse_duration(text)
    except Invalid as refusal:
        assert str(refusal)
    else:
        assert isinstance(result, Duration)


series_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2150, 12, 31))


@given(
    anchor=series_dates,
    every=st.builds(Duration, st.integers(1, 24), st.sampled_from(["d", "w", "m", "y"])),
    k=st.integers(0, 40),
)
def test_a_series_date_knows_its_position_and_the_next_one(anchor, every, k):
    day = every.shift(anchor, k)
    assert every.position_of(anchor, day) == k
    # The next date of the series is computed from the anchor, never from the clamped `day`.
    assert every.first_after(anchor, day) == every.shift(anchor, k + 1)


@given(anchor=series_dates, day=series_dates, every=st.sampled_from(["1m", "3m", "1y", "2w"]))
def test_first_after_is_the_first_series_date_after_a_day(anchor, day, every):
    every = parse_duration(every)
    found = every.first_after(anchor, day)
    k = every.position_of(anchor, found)
    assert found > day and k is not None and k >= 1
    assert k == 1 or every.shift(anchor, k - 1) <= day


@pytest.mark.parametrize(
    ("every", "offset", "times"),
    [("1y", "12m", 1), ("1y", "1y", 1), ("3m", "1y", 4), ("1w", "14d", 2), ("1y", "0d", None),
     ("1y", "6m", None), ("1m", "30d", None), ("5bd", "10bd", 2), ("1y", "10bd", None)],
)  # fmt: skip
def test_times_in(every, offset, times):
    assert parse_duration(every).times_in(parse_duration(offset)) == times


# --- periods (report retention / churn --period) ------------------------------------------


years = st.integers(min_value=1900, max_value=2200)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026", (date(2026, 1, 1), date(2026, 12, 31))),
        ("2026Q3", (date(2026, 7, 1), date(2026, 9, 30))),
        ("2026q1", (date(2026, 1, 1), date(2026, 3, 31))),
        ("2026-02", (date(2026, 2, 1), date(2026, 2, 28))),
        ("2026-07..2026-09", (date(2026, 7, 1), date(2026, 9, 30))),
        ("2025Q4..2026", (date(2025, 10, 1), date(2026, 12, 31))),
        ("2026-01-15..2026-03-31", (date(2026, 1, 15), date(2026, 3, 31))),
        ("soq..today", (date(2026, 10, 1), TODAY)),
    ],
)
def test_a_period_is_its_first_and_last_day(text, expected):
    assert parse_period(text, TODAY) == expected


@pytest.mark.parametrize(
    "text", ["", "2026Q5", "2026Q0", "2026-13", "26", "2026..", "..2026", "2026..x", "Q3"]
)
def test_a_bad_period_names_the_forms(text):
    with pytest.raises(Invalid, match=r"use a year .*a quarter .*a month"):
        parse_period(text, TODAY)


def test_a_period_may_not_end_before_it_starts():
    with pytest.raises(Invalid, match=r"ends \(2025-12-31\) before it starts \(2026-01-01\)"):
        parse_period("2026..2025", TODAY)


@given(years, st.integers(1, 4))
def test_a_quarter_round_trips_and_holds_its_three_months(year, quarter):
    start, end = parse_period(f"{year}Q{quarter}", TODAY)
    assert (start.month, start.day) == (3 * quarter - 2, 1)
    assert end + timedelta(days=1) == start + relativedelta(months=3)
    assert period_name(start, end) == f"{year}Q{quarter}"


@settings(deadline=None)  # a range may hold centuries of quarters
@given(dates, dates)
def test_any_range_of_months_covers_whole_months_and_splits_without_gaps(a, b):
    low, high = sorted((a, b))
    start, end = parse_period(f"{low:%Y-%m}..{high:%Y-%m}", TODAY)
    assert start == low.replace(day=1)
    assert end == high.replace(day=month_length(high.year, high.month))
    quarter = Duration(3, "m")
    parts = split_period(start, end, quarter)
    assert parts[0][0] == start and parts[-1][1] == end
    assert all(later[0] == earlier[1] + timedelta(days=1) for earlier, later in pairwise(parts))
    assert all(first.month in (1, 4, 7, 10) or first == start for first, _ in parts)
    assert all(parse_period(period_name(*part), TODAY) == part for part in parts)
