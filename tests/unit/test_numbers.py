"""Rates as shown: never rounded to all when one is missing, nor to none when one is there."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from twores.services.numbers import percent, percent_format


@given(st.integers(1, 10**7), st.data())
def test_a_rate_shows_100_percent_only_when_complete_and_0_only_when_empty(
    denominator: int, data: st.DataObject
) -> None:
    numerator = data.draw(st.integers(0, denominator))
    shown = percent(numerator / denominator)
    assert (shown == "100.0%") == (numerator == denominator)
    assert (shown == "0.0%") == (numerator == 0)


def test_examples() -> None:
    assert percent(3766 / 3767) == ">99.9%"
    assert percent(1 / 20000) == "<0.1%"
    assert percent(0.9734) == "97.3%"
    assert percent(None) == "—"


@given(st.integers(1, 10**7), st.data())
def test_an_excel_rate_format_shows_100_and_0_percent_only_when_so(
    denominator: int, data: st.DataObject
) -> None:
    numerator = data.draw(st.integers(0, denominator))
    rate = numerator / denominator
    decimals = len(percent_format(rate)) - len("0.%")
    shown = round(rate * 100, decimals)  # what Excel shows with that many decimals
    assert (shown == 100) == (numerator == denominator)
    assert (shown == 0) == (numerator == 0)
    assert percent_format(0.9734) == "0.0%" and percent_format(3766 / 3767) == "0.00%"
