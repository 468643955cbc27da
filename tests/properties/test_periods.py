"""Period arithmetic across year ends, leap days and ISO weeks."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from twores.core.periods import Period, PeriodKind
from twores.core.supervision import task_periods

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
kinds = st.sampled_from(list(PeriodKind))


@given(kinds, days)
def test_a_day_lies_in_exactly_one_period_of_each_kind(kind: PeriodKind, day: date) -> None:
    period = Period.containing(kind, day)
    assert day in period
    assert period.previous().end + timedelta(days=1) == period.start
    assert period.next().start == period.end + timedelta(days=1)
    assert day not in period.next() and day not in period.previous()


@given(kinds, days)
def test_periods_round_trip_through_their_text(kind: PeriodKind, day: date) -> None:
    period = Period.containing(kind, day)
    assert Period.parse(str(period)) == period


@given(kinds, days)
def test_lengths(kind: PeriodKind, day: date) -> None:
    period = Period.containing(kind, day)
    year_days = 366 if period.start.year % 4 == 0 and period.start.year != 2100 else 365
    expected = {
        PeriodKind.DAY: {1},
        PeriodKind.WEEK: {7},
        PeriodKind.MONTH: {28, 29, 30, 31},
        PeriodKind.QUARTER: {90, 91, 92},
        PeriodKind.HALF_YEAR: {181, 182, 184},
        PeriodKind.YEAR: {year_days},
    }[kind]
    assert period.days in expected


@given(kinds, kinds, days)
def test_task_periods_tile_the_requested_period(
    requested_kind: PeriodKind, kind: PeriodKind, day: date
) -> None:
    requested = Period.containing(requested_kind, day)
    found = task_periods(requested, kind)
    assert found[0].start <= requested.start and found[-1].end >= requested.end
    for before, after in itertools.pairwise(found):
        assert before.next() == after


def test_iso_week_53_spans_the_year_end() -> None:
    week = Period.containing(PeriodKind.WEEK, date(2027, 1, 1))
    assert str(week) == "2026-W53" and date(2026, 12, 31) in week
    assert Period.parse("2026-W53") == week


def test_leap_day() -> None:
    february = Period.parse("2028-02")
    assert february.end == date(2028, 2, 29) and date(2028, 2, 29) in Period.parse("2028Q1")
