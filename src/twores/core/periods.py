"""Periods (督导周期): day, ISO week, month, quarter, half-year and year.

All dates are calendar dates in China Standard Time (Asia/Shanghai). A period is written
``2026-03-15``, ``2026-W11``, ``2026-03``, ``2026Q1``, ``2026H1`` or ``2026``.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs

from twores.core.errors import InvalidPeriodError, InvalidValueError
from twores.core.labels import LabelledEnum

CHINA_TZ = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today's date in China, whatever the host's time zone."""
    return datetime.now(CHINA_TZ).date()


_ONE_DAY = timedelta(days=1)


def last_day(end: date | None) -> date | None:
    """The last day of a span that ends before ``end`` (validity is half-open: a cadre
    whose ``active_to`` is 07-01 served through 06-30), as sheets and pages show it:
    offices write the last day served (任职截止日期, 结束日期)."""
    return None if end is None else end - _ONE_DAY


def end_after(last: date | None) -> date | None:
    """The half-open end of a span whose last day is ``last`` (:func:`last_day` undone);
    a span through the last day there is (9999-12-31, which offices write for no end) has
    none."""
    return None if last is None or last == date.max else last + _ONE_DAY


def china_time(at: datetime | None = None) -> datetime:
    """``at`` (default: now) as a time in China; a time without a zone is refused (read
    as the host's own, it would move a step to another China day)."""
    if at is not None and at.tzinfo is None:
        raise InvalidValueError(
            "at", at.isoformat(), "须带时区（如 +08:00）", "must carry a time zone (e.g. +08:00)"
        )
    return (at or datetime.now(CHINA_TZ)).astimezone(CHINA_TZ)


class PeriodKind(LabelledEnum):
    DAY = ("day", "日", "day", ("每日", "天"))
    WEEK = ("week", "周", "ISO week", ("每周", "星期"))
    MONTH = ("month", "月", "month", ("每月",))
    QUARTER = ("quarter", "季度", "quarter", ("每季度", "季"))
    HALF_YEAR = ("half_year", "半年", "half-year", ("每半年", "半年度"))
    YEAR = ("year", "年度", "year", ("每年", "年"))


#: The years a period may fall in.
YEARS = (1949, 2999)

_PATTERNS: tuple[tuple[PeriodKind, re.Pattern[str]], ...] = (
    (PeriodKind.DAY, re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")),
    (PeriodKind.WEEK, re.compile(r"^(\d{4})-?W(\d{2})$")),
    (PeriodKind.MONTH, re.compile(r"^(\d{4})-(\d{2})$")),
    (PeriodKind.QUARTER, re.compile(r"^(\d{4})-?Q([1-4])$")),
    (PeriodKind.HALF_YEAR, re.compile(r"^(\d{4})-?H([12])$")),
    (PeriodKind.YEAR, re.compile(r"^(\d{4})$")),
)


def period_start(kind: PeriodKind, day: date) -> date:
    """The first day of the period of ``kind`` that contains ``day``."""
    if kind is PeriodKind.DAY:
        return day
    if kind is PeriodKind.WEEK:
        return day - timedelta(days=day.weekday())
    if kind is PeriodKind.MONTH:
        return day.replace(day=1)
    if kind is PeriodKind.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if kind is PeriodKind.HALF_YEAR:
        return date(day.year, 1 if day.month <= 6 else 7, 1)
    return date(day.year, 1, 1)


@attrs.frozen(order=True)
class Period:
    """One period, identified by its kind and first day."""

    start: date
    kind: PeriodKind = attrs.field(order=False)

    def __attrs_post_init__(self) -> None:
        if period_start(self.kind, self.start) != self.start:
            raise InvalidPeriodError(
                "start",
                self.start.isoformat(),
                f"不是一个{self.kind.zh}的第一天",
                f"is not the first day of a {self.kind.en}",
            )

    @classmethod
    def containing(cls, kind: PeriodKind, day: date) -> Period:
        return cls(period_start(kind, day), kind)

    @classmethod
    def parse(cls, text: str) -> Period:
        value = text.strip().upper()
        for kind, pattern in _PATTERNS:
            match = pattern.match(value)
            if not match:
                continue
            parts = tuple(int(g) for g in match.groups())
            if not YEARS[0] <= parts[0] <= YEARS[1]:
                raise InvalidPeriodError(
                    "period",
                    text,
                    f"年份应在 {YEARS[0]}–{YEARS[1]} 之间",
                    f"the year must be {YEARS[0]}-{YEARS[1]}",
                )
            try:
                return cls._from_match(kind, parts)
            except ValueError:
                break
        raise InvalidPeriodError(
            "period",
            text,
            "应形如 2026-03-15、2026-W11、2026-03、2026Q1、2026H1 或 2026",
            "expected e.g. 2026-03-15, 2026-W11, 2026-03, 2026Q1, 2026H1 or 2026",
        )

    @classmethod
    def _from_match(cls, kind: PeriodKind, parts: tuple[int, ...]) -> Period:
        year = parts[0]
        if kind is PeriodKind.DAY:
            return cls(date(year, parts[1], parts[2]), kind)
        if kind is PeriodKind.WEEK:
            return cls(date.fromisocalendar(year, parts[1], 1), kind)
        if kind is PeriodKind.MONTH:
            return cls(date(year, parts[1], 1), kind)
        if kind is PeriodKind.QUARTER:
            return cls(date(year, 3 * parts[1] - 2, 1), kind)
        if kind is PeriodKind.HALF_YEAR:
            return cls(date(year, 6 * parts[1] - 5, 1), kind)
        return cls(date(year, 1, 1), kind)

    @functools.cached_property
    def end(self) -> date:
        """The last day of the period (inclusive)."""
        return self.next().start - timedelta(days=1)

    def next(self) -> Period:
        start, kind = self.start, self.kind
        if kind is PeriodKind.DAY:
            return Period(start + timedelta(days=1), kind)
        if kind is PeriodKind.WEEK:
            return Period(start + timedelta(days=7), kind)
        months = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.HALF_YEAR: 6}.get(kind, 12)
        month_index = start.month - 1 + months
        return Period(date(start.year + month_index // 12, month_index % 12 + 1, 1), kind)

    def previous(self) -> Period:
        return Period.containing(self.kind, self.start - timedelta(days=1))

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return self._text

    @functools.cached_property
    def _text(self) -> str:
        start, kind = self.start, self.kind
        if kind is PeriodKind.DAY:
            return start.isoformat()
        if kind is PeriodKind.WEEK:
            year, week, _ = start.isocalendar()
            return f"{year}-W{week:02d}"
        if kind is PeriodKind.MONTH:
            return f"{start.year}-{start.month:02d}"
        if kind is PeriodKind.QUARTER:
            return f"{start.year}Q{(start.month + 2) // 3}"
        if kind is PeriodKind.HALF_YEAR:
            return f"{start.year}H{1 if start.month == 1 else 2}"
        return str(start.year)

    def label(self, lang: str = "zh") -> str:
        start, kind = self.start, self.kind
        if lang != "zh":
            return str(self)
        if kind is PeriodKind.QUARTER:
            return f"{start.year}年第{(start.month + 2) // 3}季度"
        if kind is PeriodKind.HALF_YEAR:
            return f"{start.year}年{'上' if start.month == 1 else '下'}半年"
        if kind is PeriodKind.YEAR:
            return f"{start.year}年"
        if kind is PeriodKind.MONTH:
            return f"{start.year}年{start.month}月"
        if kind is PeriodKind.WEEK:
            year, week, _ = start.isocalendar()
            return f"{year}年第{week}周"
        return f"{start.year}年{start.month}月{start.day}日"


@attrs.frozen
class Frequency:
    """How often something is due: ``visits`` times per period of ``kind``."""

    kind: PeriodKind = attrs.field(
        default=PeriodKind.QUARTER, validator=attrs.validators.instance_of(PeriodKind)
    )
    visits: int = attrs.field(default=1, validator=attrs.validators.ge(1))

    def label(self, lang: str = "zh") -> str:
        if lang == "zh":
            return f"每{self.kind.zh}{self.visits}次"
        return f"{self.visits} per {self.kind.en}"
