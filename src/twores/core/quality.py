"""Data-quality signals (数据质量提示) against fabricated or box-ticking records.

docs/sources.md, Known problems (formalism, fake data, year-end catch-up rushes). Signals are
flagged for a person to look at, never blocking, each explained in Chinese and English
with the cadre, date, count and threshold involved. Thresholds are :class:`QualityRules`,
which a region may change.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

import attrs

from twores.core.areas import CODE_LENGTHS, is_standard_code
from twores.core.assignment import Assignment
from twores.core.businesses import FoodBusiness
from twores.core.errors import InvalidValueError
from twores.core.labels import LabelledEnum, clean_text
from twores.core.periods import CHINA_TZ
from twores.core.supervision import Visit


class SignalKind(LabelledEnum):
    TOO_MANY_PER_DAY = ("too_many_per_day", "单日督导次数过多", "too many visits in one day")
    BEFORE_ASSIGNMENT = (
        "before_assignment",
        "督导日期早于包保开始",
        "visit before the assignment began",
    )
    AFTER_CLOSURE = (
        "after_closure",
        "主体注销或吊销后仍有督导",
        "visit after the business closed or lost its licence",
    )
    LAST_MINUTE = ("last_minute", "截止前集中补录", "bulk entry just before the window closed")
    SAME_TEXT = ("same_text", "多条记录文字雷同", "identical text across visits")
    SAME_EVIDENCE = ("same_evidence", "证据文件重复使用", "the same evidence file reused")
    ODD_HOURS = ("odd_hours", "录入时间异常", "recorded at an implausible hour")


def _between(low: float, high: float | None = None) -> Callable[[Any, Any, Any], None]:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
        if value < low or (high is not None and value > high):
            bound = f"{low}–{high}" if high is not None else f"≥ {low}"
            raise InvalidValueError(attribute.name, value, f"应为 {bound}", f"must be {bound}")

    return check


@attrs.frozen
class QualityRules:
    """Thresholds: counts and shares must exceed their limit; the minimums are inclusive."""

    max_visits_per_cadre_day: int = attrs.field(default=8, validator=_between(1))
    #: Entries recorded on the closing day or the ``last_minute_days - 1`` days before it...
    last_minute_days: int = attrs.field(default=2, validator=_between(1))
    #: ...flag a cadre when more than this share of their visits in the period (counting
    #: late entries too) were entered then, if they have at least ``min_visits`` in it.
    last_minute_share: float = attrs.field(default=0.5, validator=_between(0, 1))
    min_visits: int = attrs.field(default=5, validator=_between(1))
    #: Finding texts shorter than this (after clean-up) are ignored, e.g. "无".
    same_text_min_length: int = attrs.field(default=6, validator=_between(1))
    #: ``recorded_at`` hours (China time) in ``[night_start, 24) ∪ [0, night_end)`` are odd;
    #: when ``night_start <= night_end`` the range is ``[night_start, night_end)``.
    night_start: int = attrs.field(default=23, validator=_between(0, 23))
    night_end: int = attrs.field(default=6, validator=_between(0, 23))

    def is_night(self, hour: int) -> bool:
        if self.night_start > self.night_end:
            return hour >= self.night_start or hour < self.night_end
        return self.night_start <= hour < self.night_end


@attrs.frozen
class Signal:
    kind: SignalKind
    area_code: str  # where it is reported (the visits' area code)
    subject: str  # the cadre id, the visit key, the text or the evidence hash
    visits: tuple[str, ...]  # keys of the visits involved, sorted
    zh: str
    en: str

    def sort_key(self) -> tuple[str, str, str, tuple[str, ...], str, str]:
        return (self.kind.value, self.area_code, self.subject, self.visits, self.zh, self.en)


def _area(group: Iterable[Visit]) -> str:
    """Where a signal over ``group`` is reported: the smallest area holding every visit's
    area (their statistical codes' common ancestor: a signal across townships is the
    county's); for zones' codes, which say no ancestor, the most common area (ties to the
    smallest code)."""
    counts = Counter(v.area_code for v in group)
    codes = sorted(counts)
    if len(codes) > 1 and all(is_standard_code(c) for c in codes):
        first, last = codes[0], codes[-1]  # sorted: what they share, all share
        shared = next(
            (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first)
        )
        common = max((n for n in CODE_LENGTHS if n <= shared), default=None)
        if common is not None:
            return codes[0][:common]
    return min(counts, key=lambda code: (-counts[code], code))


#: Explanations by kind (or variant), formatted with the signal's specifics.
_TEXTS: dict[str, tuple[str, str]] = {
    "too_many_per_day": (
        "干部 {who} 于 {day} 记录 {n} 次督导，超过每日 {most} 次",
        "cadre {who} recorded {n} visits on {day}, more than {most} a day",
    ),
    "before_assignment": (
        "干部 {who} 于 {day} 督导主体 {biz}，早于包保开始日 {start}",
        "cadre {who} visited business {biz} on {day}, before the assignment began on {start}",
    ),
    "never_assigned": (
        "干部 {who} 于 {day} 督导主体 {biz}，但从未包保该主体",
        "cadre {who} visited business {biz} on {day} but was never assigned to it",
    ),
    "after_closure": (
        "主体 {biz} 已于 {closed} {status_zh}，干部 {who} 仍于 {day} 记录督导",
        "business {biz} {status_en} on {closed} yet cadre {who} recorded a visit on {day}",
    ),
    "last_minute": (
        "干部 {who} 在 {close} 截止前 {days} 天内录入 {n} 条督导，"
        "占该期 {total} 条的 {pct}，超过 {limit}",
        "cadre {who} entered {n} of {total} visits ({pct}) in the last {days} days "
        "before the window closed on {close}, more than {limit}",
    ),
    "same_text": (
        "{n} 条督导记录（干部 {cadres}）的发现问题文字完全相同：“{text}”",
        "{n} visits (cadres {cadres}) share the finding text “{text}”",
    ),
    "same_evidence": (
        "证据文件 {digest}… 出现在 {n} 条督导记录中（干部 {cadres}）",
        "evidence file {digest}… is attached to {n} visits (cadres {cadres})",
    ),
    "odd_hours": (
        "干部 {who} 的督导记录 {subject} 录入于北京时间 {at}，处于 {span} 之间",
        "cadre {who} entered visit {subject} at {at} China time, within {span}",
    ),
}


def quality_signals(
    visits: Iterable[Visit],
    assignments: Iterable[Assignment],
    businesses: Mapping[str, FoodBusiness],
    *,
    window_closes: Callable[[Visit], date],
    rules: QualityRules = QualityRules(),
) -> list[Signal]:
    """Every signal in ``visits``, sorted by (kind, area code, subject).

    ``window_closes`` gives the entry-window close day of the visit's period. Identical
    records given twice count once; the result does not depend on the input order.
    """
    rows = list(dict.fromkeys(visits))
    first_start: dict[tuple[str, str], date] = {}
    for a in assignments:
        pair = (a.cadre_id, a.business_key)
        first_start[pair] = min(a.valid_from, first_start.get(pair, a.valid_from))
    found: set[Signal] = set()

    def add(
        kind: SignalKind, group: list[Visit], subject: str, variant: str = "", **fields: object
    ) -> None:
        zh, en = _TEXTS[variant or kind.value]
        who = sorted({v.cadre_id for v in group})
        zh = zh.format(**fields, n=len(group), subject=subject, cadres="、".join(who))
        en = en.format(**fields, n=len(group), subject=subject, cadres=", ".join(who))
        keys = tuple(sorted({v.key for v in group}))
        found.add(Signal(kind, _area(group), subject, keys, zh, en))

    by_day: defaultdict[tuple[str, date], list[Visit]] = defaultdict(list)
    by_close: defaultdict[tuple[str, date], list[Visit]] = defaultdict(list)
    by_text: defaultdict[str, list[Visit]] = defaultdict(list)
    by_hash: defaultdict[str, list[Visit]] = defaultdict(list)
    for v in rows:
        by_day[v.cadre_id, v.visited_on].append(v)
        by_close[v.cadre_id, window_closes(v)].append(v)
        for text in {clean_text(f) for f in v.findings}:
            if len(text) >= rules.same_text_min_length:
                by_text[text].append(v)
        for digest in set(v.evidence):
            by_hash[digest].append(v)
        about = {"who": v.cadre_id, "day": v.visited_on.isoformat(), "biz": v.business_key}
        start = first_start.get((v.cadre_id, v.business_key))
        if start is None:
            add(SignalKind.BEFORE_ASSIGNMENT, [v], v.key, "never_assigned", **about)
        elif v.visited_on < start:
            add(SignalKind.BEFORE_ASSIGNMENT, [v], v.key, start=start.isoformat(), **about)
        business = businesses.get(v.business_key)
        if business and not business.status.in_scope:  # closed or revoked (吊销)
            closed = business.status_since
            if closed and v.visited_on > closed:
                status = {"status_zh": business.status.zh, "status_en": business.status.en}
                add(
                    SignalKind.AFTER_CLOSURE,
                    [v],
                    v.key,
                    closed=closed.isoformat(),
                    **status,
                    **about,
                )
        local = v.recorded_at.astimezone(CHINA_TZ)
        if rules.is_night(local.hour):
            span = f"{rules.night_start}:00–{rules.night_end}:00"
            at = local.strftime("%Y-%m-%d %H:%M")
            add(SignalKind.ODD_HOURS, [v], v.key, at=at, span=span, **about)

    most = rules.max_visits_per_cadre_day
    for (who, day), group in by_day.items():
        if len(group) > most:
            add(SignalKind.TOO_MANY_PER_DAY, group, who, who=who, day=day.isoformat(), most=most)

    days, share = rules.last_minute_days, rules.last_minute_share
    for (who, close), group in by_close.items():
        rushed = [v for v in group if 0 <= (close - v.recorded_day).days < days]
        total = len(group)
        if total >= rules.min_visits and len(rushed) > share * total:
            facts = {"who": who, "close": close.isoformat(), "days": str(days)}
            pct, limit = f"{len(rushed) / total:.0%}", f"{share:.0%}"
            add(SignalKind.LAST_MINUTE, rushed, who, total=total, pct=pct, limit=limit, **facts)

    for text, group in by_text.items():
        if len({v.key for v in group}) >= 2:
            quoted = text if len(text) <= 30 else text[:29] + "…"
            add(SignalKind.SAME_TEXT, group, text, text=quoted)

    for digest, group in by_hash.items():
        if len({v.key for v in group}) >= 2:
            add(SignalKind.SAME_EVIDENCE, group, digest, digest=digest[:12])

    return sorted(found, key=Signal.sort_key)
