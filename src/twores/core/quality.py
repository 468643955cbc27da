"""Data-quality signals (数据质量提示) against fabricated or box-ticking records.

docs/sources.md, Known problems (formalism, fake data, year-end catch-up rushes). Signals are
flagged for a person to look at, never blocking, each explained in Chinese and English
with the cadre, date, count and threshold involved. Thresholds are :class:`QualityRules`,
which a region may change.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import attrs

from twores.core.areas import CODE_LENGTHS, is_standard_code
from twores.core.assignment import Assignment
from twores.core.businesses import FoodBusiness
from twores.core.errors import InvalidValueError
from twores.core.labels import LabelledEnum, clean_text
from twores.core.periods import CHINA_TZ
from twores.core.problems import means_no_problem
from twores.core.supervision import NATIONAL_CHECKLIST, Visit, VisitMode


class SignalKind(LabelledEnum):
    TOO_MANY_PER_DAY = ("too_many_per_day", "单日督导次数过多", "too many visits in one day")
    BEFORE_ASSIGNMENT = (
        "before_assignment",
        "督导日期早于包保开始",
        "visit before the assignment began",
    )
    AFTER_ASSIGNMENT = (
        "after_assignment",
        "督导日期在包保结束后",
        "visit after the assignment ended",
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

    #: Grouped visits (集中督导: one session covers many businesses) are not counted here.
    max_visits_per_cadre_day: int = attrs.field(default=8, validator=_between(1))
    #: Entries recorded on the closing day or the ``last_minute_days - 1`` days before it,
    #: at least ``last_minute_lag_days`` after the visit (back-filled, not entered on the
    #: spot)...
    last_minute_days: int = attrs.field(default=2, validator=_between(1))
    last_minute_lag_days: int = attrs.field(default=2, validator=_between(0))
    #: ...flag a cadre when more than this share of their visits in the window's period
    #: (counting late entries too) were, if they have at least ``min_visits`` in it.
    last_minute_share: float = attrs.field(default=0.5, validator=_between(0, 1))
    min_visits: int = attrs.field(default=5, validator=_between(1))
    #: One cadre's identical finding text at this many businesses is flagged (copying)...
    same_text_min_businesses: int = attrs.field(default=3, validator=_between(2))
    #: ...unless shorter than this (after clean-up), saying "no problem" (无, 未发现问题),
    #: a checklist item's name, or written by this many cadres or more (common wording).
    same_text_min_length: int = attrs.field(default=6, validator=_between(1))
    same_text_common_cadres: int = attrs.field(default=3, validator=_between(2))
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
    "after_assignment": (
        "干部 {who} 于 {day} 督导主体 {biz}，但其包保已于 {end} 结束",
        "cadre {who} visited business {biz} on {day}, after the assignment ended on {end}",
    ),
    "between_assignments": (
        "干部 {who} 于 {day} 督导主体 {biz}，但其包保已于 {end} 结束，{start} 才重新开始",
        "cadre {who} visited business {biz} on {day}, between the assignment that ended on "
        "{end} and the one that began on {start}",
    ),
    "after_closure": (
        "主体 {biz} 已于 {closed} {status_zh}，干部 {who} 仍于 {day} 记录督导",
        "business {biz} {status_en} on {closed} yet cadre {who} recorded a visit on {day}",
    ),
    "last_minute": (
        "干部 {who} 在 {close} 截止前 {days} 天内补录 {n} 条督导（录入晚于督导 {lag} 天及以上），"
        "占该期 {total} 条的 {pct}，超过 {limit}",
        "cadre {who} back-filled {n} of {total} visits ({pct}) in the last {days} days "
        "before the window closed on {close} ({lag} or more days after the visit), "
        "more than {limit}",
    ),
    "same_text": (
        "干部 {cadres} 在 {businesses} 个主体的 {n} 条督导记录中"
        "填写了完全相同的发现问题文字：“{text}”",
        "cadre {cadres} wrote the identical finding text “{text}” in {n} visits to "
        "{businesses} businesses",
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


#: Cadres named in one explanation at most; the rest are counted ("等 N 名").
_MOST_NAMED = 5
#: Checklist items' names: standard wording, never evidence of copying.
_CHECKLIST_TEXTS = frozenset(clean_text(i.zh) for i in NATIONAL_CHECKLIST.items)


def _named(who: list[str], lang: str) -> str:
    """The cadres ``who``, the first few by id and the rest as a count."""
    shown = ("、" if lang == "zh" else ", ").join(who[:_MOST_NAMED])
    if len(who) <= _MOST_NAMED:
        return shown
    return f"{shown} 等 {len(who)} 名" if lang == "zh" else f"{shown} and others, {len(who)} in all"


def _outside_assignment(
    v: Visit, held: list[Assignment]
) -> tuple[SignalKind, str, dict[str, str]] | None:
    """Why ``v`` lies outside every assignment of its cadre to its business (kind, text
    variant, dates), or None when one was active on its day."""
    if any(a.is_active(v.visited_on) for a in held):
        return None
    if not held:
        return SignalKind.BEFORE_ASSIGNMENT, "never_assigned", {}
    first = min(a.valid_from for a in held)
    if v.visited_on < first:
        return SignalKind.BEFORE_ASSIGNMENT, "", {"start": first.isoformat()}
    # the last day held (``valid_to`` is the first day not held)
    end = max(a.valid_to for a in held if a.valid_to is not None and a.valid_to <= v.visited_on)
    end -= timedelta(days=1)
    later = [a.valid_from for a in held if a.valid_from > v.visited_on]
    if later:
        dates = {"end": end.isoformat(), "start": min(later).isoformat()}
        return SignalKind.AFTER_ASSIGNMENT, "between_assignments", dates
    return SignalKind.AFTER_ASSIGNMENT, "after_assignment", {"end": end.isoformat()}


def _copy_texts(rows: list[Visit], rules: QualityRules) -> dict[tuple[str, str], list[Visit]]:
    """(cadre, finding text) -> that cadre's visits with it, for the texts that could show
    copying: long enough, saying a problem was found, not common wording."""
    by_pair: defaultdict[tuple[str, str], list[Visit]] = defaultdict(list)
    for v in rows:
        for text in {clean_text(f) for f in v.findings}:
            if (
                len(text) >= rules.same_text_min_length
                and text not in _CHECKLIST_TEXTS
                and not means_no_problem(text)
            ):
                by_pair[v.cadre_id, text].append(v)
    writers = Counter(text for _, text in by_pair)
    return {
        pair: group
        for pair, group in by_pair.items()
        if writers[pair[1]] < rules.same_text_common_cadres
        and len({v.business_key for v in group}) >= rules.same_text_min_businesses
    }


def _evidence_use(v: Visit) -> tuple[str, ...]:
    """One use of an evidence file: a visit, or a day's grouped session (集中督导) whose
    one photo every business it covered attaches."""
    return ("grouped", v.visited_on.isoformat()) if v.mode is VisitMode.GROUPED else (v.key,)


def quality_signals(
    visits: Iterable[Visit],
    assignments: Iterable[Assignment],
    businesses: Mapping[str, FoodBusiness],
    *,
    window_closes: Callable[[Visit], date],
    rules: QualityRules = QualityRules(),
    context: Iterable[Visit] = (),
) -> list[Signal]:
    """Every signal in ``visits``, sorted by (kind, area code, subject).

    ``window_closes`` gives the entry-window close day of the visit's period. ``context``:
    more visits of the same windows' periods (outside a report's own period), counted only
    in the back-filling share, so it does not depend on the period reported; a
    back-filling signal is returned when one of its entries is in ``visits``. Identical
    records given twice count once; the result does not depend on the input order.
    """
    rows = list(dict.fromkeys(visits))
    own = set(rows)
    extra = [v for v in dict.fromkeys(context) if v not in own]
    held: defaultdict[tuple[str, str], list[Assignment]] = defaultdict(list)
    for a in assignments:
        held[a.cadre_id, a.business_key].append(a)
    found: set[Signal] = set()

    def add(
        kind: SignalKind, group: list[Visit], subject: str, variant: str = "", **fields: object
    ) -> None:
        zh, en = _TEXTS[variant or kind.value]
        who = sorted({v.cadre_id for v in group})
        zh = zh.format(**fields, n=len(group), subject=subject, cadres=_named(who, "zh"))
        en = en.format(**fields, n=len(group), subject=subject, cadres=_named(who, "en"))
        keys = tuple(sorted({v.key for v in group}))
        found.add(Signal(kind, _area(group), subject, keys, zh, en))

    by_day: defaultdict[tuple[str, date], list[Visit]] = defaultdict(list)
    by_close: defaultdict[tuple[str, date], list[Visit]] = defaultdict(list)
    by_hash: defaultdict[str, list[Visit]] = defaultdict(list)
    for v in extra:
        by_close[v.cadre_id, window_closes(v)].append(v)
    for v in rows:
        if v.mode is not VisitMode.GROUPED:  # a grouped session covers many at once
            by_day[v.cadre_id, v.visited_on].append(v)
        by_close[v.cadre_id, window_closes(v)].append(v)
        for digest in set(v.evidence):
            by_hash[digest].append(v)
        about = {"who": v.cadre_id, "day": v.visited_on.isoformat(), "biz": v.business_key}
        business = businesses.get(v.business_key)
        after_closure = False
        if business and not business.status.in_scope:  # closed or revoked (吊销)
            closed = business.status_since
            if closed and v.visited_on > closed:
                after_closure = True
                status = {"status_zh": business.status.zh, "status_en": business.status.en}
                add(
                    SignalKind.AFTER_CLOSURE,
                    [v],
                    v.key,
                    closed=closed.isoformat(),
                    **status,
                    **about,
                )
        outside = _outside_assignment(v, held[v.cadre_id, v.business_key])
        if outside is not None:
            kind, variant, dates = outside
            if not (kind is SignalKind.AFTER_ASSIGNMENT and after_closure):  # said once
                add(kind, [v], v.key, variant, **dates, **about)
        local = v.recorded_at.astimezone(CHINA_TZ)
        if rules.is_night(local.hour):
            span = f"{rules.night_start}:00–{rules.night_end}:00"
            at = local.strftime("%Y-%m-%d %H:%M")
            add(SignalKind.ODD_HOURS, [v], v.key, at=at, span=span, **about)

    most = rules.max_visits_per_cadre_day
    for (who, day), group in by_day.items():
        if len(group) > most:
            add(SignalKind.TOO_MANY_PER_DAY, group, who, who=who, day=day.isoformat(), most=most)

    days, share, lag = rules.last_minute_days, rules.last_minute_share, rules.last_minute_lag_days
    for (who, close), group in by_close.items():
        rushed = [
            v
            for v in group
            if 0 <= (close - v.recorded_day).days < days
            and (v.recorded_day - v.visited_on).days >= lag  # back-filled, not on the spot
        ]
        total = len(group)
        if total >= rules.min_visits and len(rushed) > share * total and own & set(rushed):
            facts = {"who": who, "close": close.isoformat(), "days": str(days), "lag": str(lag)}
            pct, limit = f"{len(rushed) / total:.0%}", f"{share:.0%}"
            add(SignalKind.LAST_MINUTE, rushed, who, total=total, pct=pct, limit=limit, **facts)

    for (_, text), group in _copy_texts(rows, rules).items():
        quoted = text if len(text) <= 30 else text[:29] + "…"
        businesses_count = len({v.business_key for v in group})
        add(SignalKind.SAME_TEXT, group, text, text=quoted, businesses=businesses_count)

    for digest, group in by_hash.items():
        if len({_evidence_use(v) for v in group}) >= 2:
            add(SignalKind.SAME_EVIDENCE, group, digest, digest=digest[:12])

    return sorted(found, key=Signal.sort_key)
