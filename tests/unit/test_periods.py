from __future__ import annotations

from datetime import date

import pytest

from twores.core.errors import InvalidPeriodError
from twores.core.periods import Period, PeriodKind


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026H2", date(2026, 7, 1), date(2026, 12, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 4)),
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-03-15", date(2026, 3, 15), date(2026, 3, 15)),
    ],
)
def test_parse_bounds_and_text(text: str, start: date, end: date) -> None:
    period = Period.parse(text)
    assert (period.start, period.end) == (start, end)
    assert str(period) == text
    assert start in period and end in period


def test_containing_next_previous() -> None:
    quarter = Period.containing(PeriodKind.QUARTER, date(2026, 5, 20))
    assert str(quarter) == "2026Q2" and quarter.label() == "2026年第2季度"
    assert str(quarter.next()) == "2026Q3" and str(quarter.previous()) == "2026Q1"
    assert str(Period.parse("2026Q4").next()) == "2027Q1"


@pytest.mark.parametrize("text", ["2026Q5", "2026-13", "26Q1", "2026-02-30", ""])
def test_bad_periods(text: str) -> None:
    with pytest.raises(InvalidPeriodError) as info:
        Period.parse(text)
    assert text in info.value.message_zh


def test_a_period_starts_on_its_first_day() -> None:
    with pytest.raises(InvalidPeriodError):
        Period(date(2026, 2, 1), PeriodKind.QUARTER)
