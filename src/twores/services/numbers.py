"""Rates as people read them: to one decimal, but never rounded up to 100% or down to 0%."""

from __future__ import annotations

NONE = "—"


def percent(rate: float | None) -> str:
    """``rate`` (0..1) as ``97.3%``; one business short of all shows ``>99.9%`` (3766 of
    3767 would round to 100.0%), one of many shows ``<0.1%``; ``—`` when there is none."""
    if rate is None:
        return NONE
    shown = f"{rate:.1%}"
    if rate < 1 and shown == "100.0%":
        return ">99.9%"
    if rate > 0 and shown == "0.0%":
        return "<0.1%"
    return shown


def percent_format(rate: float) -> str:
    """An Excel number format that shows ``rate`` as a percentage without rounding a rate
    short of all to 100% or one above none to 0%: ``0.0%``, or as many more decimals as
    that takes (3766 of 3767: ``0.00%``, 99.97%)."""
    for decimals in range(1, 6):
        shown = round(rate * 100, decimals)
        if not (rate < 1 and shown >= 100) and not (rate > 0 and shown <= 0):
            break
    return f"0.{'0' * decimals}%"
