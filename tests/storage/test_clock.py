"""The hybrid logical clock behind per-field change stamps."""

from hypothesis import given
from hypothesis import strategies as st

from clm.storage.clock import Clock


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=50))
def test_stamps_only_grow_whatever_the_wall_clock_does(walls_ms):
    readings = iter(walls_ms)
    clock = Clock(node="0000abcd", wall=lambda: next(readings) * 1_000_000)
    stamps = [clock.stamp() for _ in walls_ms]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_a_stamp_seen_from_a_clock_ahead_is_followed():
    clock = Clock(node="0000abcd")
    ahead = "9999999999999-0000-ffffffff"
    clock.observe(ahead)
    assert clock.stamp() > ahead
