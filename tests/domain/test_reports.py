"""The reports' arithmetic: percentiles from a histogram agree with the sorted list's."""

import math
import os
import statistics
from collections import Counter
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from clm.domain.reports import stage_counts
from clm.domain.stay_counts import median_p90


@given(st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=200))
def test_median_and_p90_from_a_histogram(days):
    histogram = sorted(Counter(days).items())
    median, p90 = median_p90(histogram)
    ordered = sorted(days)
    assert median == statistics.median(ordered)
    assert p90 == ordered[math.ceil(0.9 * len(ordered)) - 1]  # nearest rank


def test_as_of_before_anything_happened_is_an_empty_book(clm):
    from clm.db import Database
    from clm.domain.new_book import install_template

    clm("customer", "add", "Acme", "--start", "2026-05-01", "--arr", "10")
    database = Database.open(os.environ["CLM_DB"], on_create=install_template)
    with database.read() as conn:
        before = stage_counts(conn, date(2026, 4, 30))
        after = stage_counts(conn, date(2026, 5, 1))
    assert all(row["customers"] == 0 for row in before)
    assert [(r["stage"], r["arr"]) for r in after if r["customers"]] == [("onboarding", 10)]
