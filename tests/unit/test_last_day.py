"""Sheets write a span's last day; the domain keeps half-open ends (core.periods)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from twores.core.periods import end_after, last_day


@given(st.dates(max_value=date(9999, 12, 30)))
def test_the_last_day_and_the_end_after_it_undo_each_other(day: date) -> None:
    assert last_day(end_after(day)) == day
    assert end_after(day) == date.fromordinal(day.toordinal() + 1)


def test_no_end_and_the_last_day_there_is_mean_no_end() -> None:
    assert end_after(None) is None and last_day(None) is None
    assert end_after(date.max) is None  # 9999-12-31: written for "no end", never an overflow
