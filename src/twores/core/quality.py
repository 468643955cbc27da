"""Data-quality signals (数据质量提示) against fabricated or box-ticking records.

docs/sources.md, Known problems (formalism, fake data, year-end catch-up rushes). Signals are
flagged for a person to look at, never blocking, each explained in Chinese and English
with the cadre, date, count and threshold involved. Thresholds are :class:`QualityRules`,
which a region may change.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Protocol

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


class Seen(Protocol):
    """What a signal over several visits needs of each (a :class:`Visit` has it)."""

    @property
    def key(self) -> str: ...
    @property
    def cadre_id(self) -> str: ...
    @property
    def area_code(self) -> str: ...
    @property
    def business_key(self) -> str: ...
    @property
    def visited_on(self) -> date: ...
    @property
    def mode(self) -> VisitMode: ...


def _area(group: Iterable[Seen]) -> str:
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


def copy_candidates(v: Visit, rules: QualityRules) -> set[str]:
    """The finding texts of ``v`` that could show copying: long enough, saying a problem
    was found, not a checklist item's name."""
    return {
        text
        for text in {clean_text(f) for f in v.findings}
        if len(text) >= rules.same_text_min_length
        and text not in _CHECKLIST_TEXTS
        and not means_no_problem(text)
    }


def _evidence_use(v: Seen) -> tuple[str, ...]:
    """One use of an evidence file: a visit, or a day's grouped session (集中督导) whose
    one photo every business it covered attaches."""
    return ("grouped", v.visited_on.isoformat()) if v.mode is VisitMode.GROUPED else (v.key,)


@attrs.frozen
class SeenVisit:
    """A visit kept for a signal judged over several parts (a few fields, not its text)."""

    key: str
    cadre_id: str
    area_code: str
    business_key: str
    visited_on: date
    mode: VisitMode

    @classmethod
    def of(cls, v: Visit) -> SeenVisit:
        return cls(v.key, v.cadre_id, v.area_code, v.business_key, v.visited_on, v.mode)


class QualityOverview:
    """A light first look at all the visits judged together (one entry per cadre, evidence
    hash and candidate text), so that :class:`QualityJudge` can then take them a part (a
    county) at a time with the same result as all at once.

    Each visit is added with its ``place`` (its county). A cadre or evidence hash seen in
    one place only is judged with that place; the others are judged at the end. Finding
    texts count their writers over all the places (common wording)."""

    def __init__(self, rules: QualityRules = QualityRules()) -> None:
        self.rules = rules
        self._cadres: dict[str, str | None] = {}  # None: seen in several places
        # by Python hash: a collision can only send a hash to the end (same result)
        self._hashes: dict[int, str | None] = {}
        self._writers: dict[str, set[str]] = {}  # below the common-wording count
        self._common: set[str] = set()

    def add(self, v: Visit, place: str) -> None:
        if self._cadres.setdefault(v.cadre_id, place) != place:
            self._cadres[v.cadre_id] = None
        for digest in set(v.evidence):
            if self._hashes.setdefault(hash(digest), place) != place:
                self._hashes[hash(digest)] = None
        for text in copy_candidates(v, self.rules):
            if text in self._common:
                continue
            who = self._writers.setdefault(text, set())
            who.add(v.cadre_id)
            if len(who) >= self.rules.same_text_common_cadres:
                self._common.add(text)
                del self._writers[text]

    def judge(self) -> QualityJudge:
        """A judge for the visits added, taken a place at a time."""
        return QualityJudge(
            self.rules,
            common=frozenset(self._common),
            roaming=frozenset(c for c, place in self._cadres.items() if place is None),
            shared=lambda digest: self._hashes.get(hash(digest), "") is None,
        )


class QualityJudge:
    """The signals of visits given in parts (each part's visits with the assignments and
    businesses they need), the same as :func:`quality_signals` of all at once when the
    parts hold every visit once and ``common``, ``roaming`` and ``shared`` are as
    :class:`QualityOverview` finds them.

    ``common``: the texts written by ``same_text_common_cadres`` cadres or more over all
    the parts; ``roaming``: the cadres whose visits may lie in several parts (their
    per-day and same-text groups are judged at the end); ``shared``: whether an evidence
    hash may lie in several parts (likewise). The back-filling share is always counted
    over all the parts, :meth:`count_context` included."""

    def __init__(
        self,
        rules: QualityRules = QualityRules(),
        *,
        common: Container[str] = frozenset(),
        roaming: Container[str] = frozenset(),
        shared: Callable[[str], bool] = lambda digest: False,
    ) -> None:
        self.rules = rules
        self._common, self._roaming, self._shared = common, roaming, shared
        self._found: dict[Signal, frozenset[str]] = {}  # -> the area codes of its visits
        self._days: defaultdict[tuple[str, date], list[Seen]] = defaultdict(list)
        self._texts: defaultdict[tuple[str, str], list[Seen]] = defaultdict(list)
        self._hashes: defaultdict[str, list[Seen]] = defaultdict(list)
        # (cadre, close) -> [visits counted, the back-filled ones with whether judged here]
        self._closes: dict[tuple[str, date], tuple[list[int], list[tuple[Seen, bool]]]] = {}

    def signals(self) -> list[Signal]:
        """Every signal, sorted by (kind, area code, subject), once all parts are in."""
        rules = self.rules
        for (who, day), group in self._days.items():
            self._busy_day(who, day, group)
        self._days.clear()
        for (_, text), group in self._texts.items():
            self._same_text(text, group)
        self._texts.clear()
        for digest, group in self._hashes.items():
            self._same_evidence(digest, group)
        self._hashes.clear()
        days, share, lag = (
            rules.last_minute_days,
            rules.last_minute_share,
            rules.last_minute_lag_days,
        )
        for (who, close), ([total], rushed) in self._closes.items():
            if (
                total >= rules.min_visits
                and len(rushed) > share * total
                and any(own for _, own in rushed)
            ):
                facts = {"who": who, "close": close.isoformat(), "days": str(days), "lag": str(lag)}
                pct, limit = f"{len(rushed) / total:.0%}", f"{share:.0%}"
                group = [v for v, _ in rushed]
                self._add(
                    SignalKind.LAST_MINUTE, group, who, total=total, pct=pct, limit=limit, **facts
                )
        self._closes.clear()
        return sorted(self._found, key=Signal.sort_key)

    def areas(self, signal: Signal) -> frozenset[str]:
        """The area codes of the visits of a signal :meth:`signals` returned."""
        return self._found[signal]

    def judge(
        self,
        visits: Iterable[Visit],
        assignments: Iterable[Assignment],
        businesses: Mapping[str, FoodBusiness],
        *,
        window_closes: Callable[[Visit], date],
    ) -> None:
        """Judge one part's visits (identical records given twice count once)."""
        rules = self.rules
        rows = list(dict.fromkeys(visits))
        held: defaultdict[tuple[str, str], list[Assignment]] = defaultdict(list)
        for a in assignments:
            held[a.cadre_id, a.business_key].append(a)
        by_day: defaultdict[tuple[str, date], list[Seen]] = defaultdict(list)
        by_pair: defaultdict[tuple[str, str], list[Seen]] = defaultdict(list)
        by_hash: defaultdict[str, list[Seen]] = defaultdict(list)
        for v in rows:
            roaming = v.cadre_id in self._roaming
            seen: Seen = SeenVisit.of(v) if roaming else v
            if v.mode is not VisitMode.GROUPED:  # a grouped session covers many at once
                (self._days if roaming else by_day)[v.cadre_id, v.visited_on].append(seen)
            self._count(v, window_closes(v), own=True)
            for digest in set(v.evidence):
                if self._shared(digest):
                    self._hashes[digest].append(SeenVisit.of(v))
                else:
                    by_hash[digest].append(v)
            for text in copy_candidates(v, rules):
                if text not in self._common:
                    (self._texts if roaming else by_pair)[v.cadre_id, text].append(seen)
            self._one_visit(v, held[v.cadre_id, v.business_key], businesses.get(v.business_key))
        for (who, day), group in by_day.items():
            self._busy_day(who, day, group)
        for (_, text), group in by_pair.items():
            self._same_text(text, group)
        for digest, group in by_hash.items():
            self._same_evidence(digest, group)

    def count_context(
        self, visits: Iterable[Visit], *, window_closes: Callable[[Visit], date]
    ) -> None:
        """More visits of the same windows' periods, counted only in the back-filling share
        (a visit judged already does not count again)."""
        for v in visits:
            self._count(v, window_closes(v), own=False)

    def _count(self, v: Visit, close: date, *, own: bool) -> None:
        rules = self.rules
        total, rushed = self._closes.setdefault((v.cadre_id, close), ([0], []))
        total[0] += 1
        if (
            0 <= (close - v.recorded_day).days < rules.last_minute_days
            and (v.recorded_day - v.visited_on).days >= rules.last_minute_lag_days
        ):  # back-filled, not on the spot
            rushed.append((SeenVisit.of(v), own))

    def _add(
        self,
        kind: SignalKind,
        group: Sequence[Seen],
        subject: str,
        variant: str = "",
        **fields: object,
    ) -> None:
        zh, en = _TEXTS[variant or kind.value]
        who = sorted({v.cadre_id for v in group})
        zh = zh.format(**fields, n=len(group), subject=subject, cadres=_named(who, "zh"))
        en = en.format(**fields, n=len(group), subject=subject, cadres=_named(who, "en"))
        keys = tuple(sorted({v.key for v in group}))
        signal = Signal(kind, _area(group), subject, keys, zh, en)
        self._found[signal] = self._found.get(signal, frozenset()) | {v.area_code for v in group}

    def _one_visit(self, v: Visit, held: list[Assignment], business: FoodBusiness | None) -> None:
        rules = self.rules
        about = {"who": v.cadre_id, "day": v.visited_on.isoformat(), "biz": v.business_key}
        after_closure = False
        if business and not business.status.in_scope:  # closed or revoked (吊销)
            closed = business.status_since
            if closed and v.visited_on > closed:
                after_closure = True
                status = {"status_zh": business.status.zh, "status_en": business.status.en}
                self._add(
                    SignalKind.AFTER_CLOSURE,
                    [v],
                    v.key,
                    closed=closed.isoformat(),
                    **status,
                    **about,
                )
        outside = _outside_assignment(v, held)
        if outside is not None:
            kind, variant, dates = outside
            if not (kind is SignalKind.AFTER_ASSIGNMENT and after_closure):  # said once
                self._add(kind, [v], v.key, variant, **dates, **about)
        local = v.recorded_at.astimezone(CHINA_TZ)
        if rules.is_night(local.hour):
            span = f"{rules.night_start}:00–{rules.night_end}:00"
            at = local.strftime("%Y-%m-%d %H:%M")
            self._add(SignalKind.ODD_HOURS, [v], v.key, at=at, span=span, **about)

    def _busy_day(self, who: str, day: date, group: Sequence[Seen]) -> None:
        most = self.rules.max_visits_per_cadre_day
        if len(group) > most:
            self._add(
                SignalKind.TOO_MANY_PER_DAY, group, who, who=who, day=day.isoformat(), most=most
            )

    def _same_text(self, text: str, group: Sequence[Seen]) -> None:
        businesses_count = len({v.business_key for v in group})
        if businesses_count >= self.rules.same_text_min_businesses:
            quoted = text if len(text) <= 30 else text[:29] + "…"
            self._add(SignalKind.SAME_TEXT, group, text, text=quoted, businesses=businesses_count)

    def _same_evidence(self, digest: str, group: Sequence[Seen]) -> None:
        if len({_evidence_use(v) for v in group}) >= 2:
            self._add(SignalKind.SAME_EVIDENCE, group, digest, digest=digest[:12])


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
    overview = QualityOverview(rules)
    for v in rows:
        overview.add(v, "")
    judge = overview.judge()
    judge.judge(rows, assignments, businesses, window_closes=window_closes)
    judge.count_context(
        [v for v in dict.fromkeys(context) if v not in own], window_closes=window_closes
    )
    return judge.signals()
