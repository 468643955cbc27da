"""Data-quality signals: each kind exactly in its situation, order-free, silent on clean data."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twores.core.assignment import Assignment
from twores.core.businesses import BusinessType, FoodBusiness, OperatingStatus
from twores.core.errors import InvalidValueError
from twores.core.periods import CHINA_TZ, Period, PeriodKind
from twores.core.quality import QualityRules, Signal, SignalKind, quality_signals
from twores.core.supervision import Visit

AREA = "110101"
DAY = date(2026, 3, 2)
CLOSE = date(2026, 3, 31)  # Q1 2026 closes here
LONG_AGO = date(2025, 1, 1)
K = SignalKind


def licence(i: int) -> str:
    return f"JY1110{i:010d}"


def digest(seed: object) -> str:
    return hashlib.sha256(str(seed).encode()).hexdigest()


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHINA_TZ)


def visit(
    cadre: str = "C1",
    business: int = 0,
    on: date = DAY,
    recorded: datetime | None = None,
    *,
    findings: tuple[str, ...] = (),
    evidence: tuple[str, ...] = (),
    area: str = AREA,
) -> Visit:
    return Visit(
        licence(business),
        cadre,
        area,
        on,
        recorded or at(on),
        findings=findings,
        evidence=evidence,
    )


def business(
    i: int, status: OperatingStatus = OperatingStatus.OPERATING, since: date | None = None
) -> FoodBusiness:
    return FoodBusiness(
        name="某食品店",
        area_code=AREA,
        business_type=BusinessType.SALES,
        licence_no=licence(i),
        status=status,
        status_since=since,
    )


def quarter_close(v: Visit) -> date:
    return Period.containing(PeriodKind.QUARTER, v.visited_on).end


def run(
    visits: Iterable[Visit],
    assignments: Iterable[Assignment] | None = None,
    businesses: Iterable[FoodBusiness] = (),
    rules: QualityRules | None = None,
) -> list[Signal]:
    """Signals, by default with every (cadre, business) pair assigned long ago."""
    visits = list(visits)
    if assignments is None:
        pairs = sorted({(v.cadre_id, v.business_key) for v in visits})
        assignments = [Assignment(c, b, LONG_AGO) for c, b in pairs]
    return quality_signals(
        visits,
        assignments,
        {b.key: b for b in businesses},
        window_closes=quarter_close,
        rules=rules or QualityRules(),
    )


def kinds(signals: Sequence[Signal]) -> list[SignalKind]:
    return [s.kind for s in signals]


# --- each kind in its situation ---------------------------------------------------------


def test_too_many_visits_in_one_day() -> None:
    visits = [visit(business=i) for i in range(9)]
    [signal] = run(visits)
    assert signal.kind is K.TOO_MANY_PER_DAY and signal.subject == "C1"
    assert signal.area_code == AREA
    assert signal.visits == tuple(sorted(v.key for v in visits))
    assert signal.zh == "干部 C1 于 2026-03-02 记录 9 次督导，超过每日 8 次"
    assert "9 visits on 2026-03-02" in signal.en and "8 a day" in signal.en
    assert run(visits[:8]) == []
    # the same nine spread over two days, or over two cadres, are fine
    assert run([*visits[:5], *(visit(business=i, on=DAY - timedelta(1)) for i in range(4))]) == []
    assert run([*visits[:5], *(visit("C2", business=i) for i in range(4))]) == []


@given(st.integers(1, 20), st.integers(1, 12))
def test_too_many_is_raised_exactly_above_the_threshold(count: int, most: int) -> None:
    signals = run(
        [visit(business=i) for i in range(count)],
        rules=QualityRules(max_visits_per_cadre_day=most),
    )
    assert kinds(signals) == ([K.TOO_MANY_PER_DAY] if count > most else [])


def test_visit_before_the_assignment_began() -> None:
    v = visit()
    [signal] = run([v], [Assignment("C1", v.business_key, DAY + timedelta(1))])
    assert signal.kind is K.BEFORE_ASSIGNMENT and signal.subject == v.key
    assert signal.visits == (v.key,)
    assert "2026-03-02" in signal.zh and "早于包保开始日 2026-03-03" in signal.zh
    assert "began on 2026-03-03" in signal.en
    assert run([v], [Assignment("C1", v.business_key, DAY)]) == []
    # some assignment of the pair began earlier (even if it has ended since): not flagged
    earlier = Assignment("C1", v.business_key, LONG_AGO, date(2025, 2, 1))
    later = Assignment("C1", v.business_key, date(2026, 4, 1))
    assert run([v], [earlier, later]) == []
    # another cadre's assignment does not count
    [other] = run([v], [Assignment("C2", v.business_key, LONG_AGO)])
    assert other.kind is K.BEFORE_ASSIGNMENT and "从未包保" in other.zh
    assert "never assigned" in other.en


def test_visit_after_the_business_closed() -> None:
    v = visit()
    [signal] = run([v], businesses=[business(0, OperatingStatus.CLOSED, DAY - timedelta(1))])
    assert signal.kind is K.AFTER_CLOSURE and signal.subject == v.key
    assert "已于 2026-03-01 注销" in signal.zh and "仍于 2026-03-02" in signal.zh
    assert "closed on 2026-03-01" in signal.en
    for quiet in (
        business(0, OperatingStatus.CLOSED, DAY),  # the closing day itself
        business(0, OperatingStatus.CLOSED, None),  # no date: cannot tell
        business(0, OperatingStatus.SUSPENDED, DAY - timedelta(1)),
        business(1, OperatingStatus.CLOSED, DAY - timedelta(1)),  # another business
    ):
        assert run([v], businesses=[quiet]) == []
    [revoked] = run([v], businesses=[business(0, OperatingStatus.REVOKED, DAY - timedelta(1))])
    assert revoked.kind is K.AFTER_CLOSURE and "已于 2026-03-01 吊销" in revoked.zh


def rushed_visits(rushed: int, early: int, cadre: str = "C1") -> list[Visit]:
    """``rushed`` entries recorded in the last two days of Q1, ``early`` on the day visited."""
    late = [
        visit(cadre, i, date(2026, 3, 1 + i), at(CLOSE - timedelta(i % 2), 20))
        for i in range(rushed)
    ]
    return late + [visit(cadre, 100 + i, date(2026, 2, 1 + i)) for i in range(early)]


def test_bulk_entry_just_before_the_window_closed() -> None:
    visits = rushed_visits(4, 2)
    [signal] = run(visits)
    assert signal.kind is K.LAST_MINUTE and signal.subject == "C1"
    assert signal.visits == tuple(sorted(v.key for v in visits[:4]))
    assert (
        signal.zh == "干部 C1 在 2026-03-31 截止前 2 天内录入 4 条督导，占该期 6 条的 67%，超过 50%"
    )
    assert "4 of 6 visits (67%)" in signal.en and "2026-03-31" in signal.en
    assert run(rushed_visits(3, 3)) == []  # exactly half is not more than half
    assert run(rushed_visits(4, 0)) == []  # fewer than min_visits in the period
    assert kinds(run(rushed_visits(5, 0))) == [K.LAST_MINUTE]
    # three days before the close is not "the last two days"
    calm = [visit("C1", i, date(2026, 3, 1 + i), at(CLOSE - timedelta(2), 20)) for i in range(6)]
    assert run(calm) == []


def test_late_entries_count_in_the_period_but_are_not_last_minute() -> None:
    rushed = rushed_visits(3, 0)
    late = [visit("C1", 50 + i, date(2026, 3, 5), at(date(2026, 4, 2))) for i in range(3)]
    assert run(rushed + late) == []  # 3 of 6
    assert kinds(run(rushed_visits(4, 0) + late[:2])) == [K.LAST_MINUTE]  # 4 of 6


@given(
    st.lists(st.integers(0, 6), min_size=1, max_size=12),
    st.integers(1, 4),
    st.sampled_from([0.25, 0.5, 0.75]),
    st.integers(1, 6),
)
def test_last_minute_matches_its_definition(
    days_before: list[int], window: int, share: float, least: int
) -> None:
    visits = [
        visit("C1", i, date(2026, 3, 10 + i), at(CLOSE - timedelta(d), 9))
        for i, d in enumerate(days_before)
    ]
    rules = QualityRules(last_minute_days=window, last_minute_share=share, min_visits=least)
    rushed = sum(d < window for d in days_before)
    expected = len(visits) >= least and rushed > share * len(visits)
    assert kinds(run(visits, rules=rules)) == ([K.LAST_MINUTE] if expected else [])


def test_identical_text_across_visits() -> None:
    a = visit(business=0, findings=("  进货查验记录不全 ", "无"))
    b = visit("C2", business=1, findings=("进货查验记录不全",))
    [signal] = run([a, b])
    assert signal.kind is K.SAME_TEXT and signal.subject == "进货查验记录不全"
    assert signal.visits == tuple(sorted([a.key, b.key]))
    assert "2 条督导记录" in signal.zh and "C1、C2" in signal.zh
    assert "C1, C2" in signal.en
    # short texts, one visit repeating itself, and two records of one visit are all fine
    assert run([visit(business=0, findings=("无",)), visit(business=1, findings=("无",))]) == []
    assert run([visit(findings=("进货查验记录不全", "进货查验记录不全"))]) == []
    again = visit(findings=("进货查验记录不全",), recorded=at(DAY, 11))
    assert run([visit(findings=("进货查验记录不全",)), again]) == []


@pytest.mark.parametrize(("text", "flagged"), [("一二三四五", False), ("一二三四五六", True)])
def test_same_text_length_threshold(text: str, flagged: bool) -> None:
    signals = run([visit(business=0, findings=(text,)), visit(business=1, findings=(text,))])
    assert kinds(signals) == ([K.SAME_TEXT] if flagged else [])


def test_the_same_evidence_file_reused() -> None:
    photo = digest("photo")
    visits = [visit(f"C{i}", i, evidence=(photo,)) for i in range(3)]
    [signal] = run(visits)
    assert signal.kind is K.SAME_EVIDENCE and signal.subject == photo
    assert signal.visits == tuple(sorted(v.key for v in visits))
    assert photo[:12] in signal.zh and "3 条督导记录" in signal.zh
    assert "attached to 3 visits" in signal.en
    assert run([visit(evidence=(photo, photo))]) == []
    assert (
        run([visit(business=0, evidence=(photo,)), visit(business=1, evidence=(digest(1),))]) == []
    )


@pytest.mark.parametrize(
    ("recorded", "odd"),
    [
        (at(DAY, 22, 59), False),
        (at(DAY, 23, 0), True),
        (at(DAY + timedelta(1), 5, 59), True),
        (at(DAY + timedelta(1), 6, 0), False),
        (datetime(2026, 3, 2, 14, 59, tzinfo=UTC), False),  # 22:59 in China
        (datetime(2026, 3, 2, 15, 0, tzinfo=UTC), True),  # 23:00 in China
    ],
)
def test_odd_hours_edges_are_in_china_time(recorded: datetime, odd: bool) -> None:
    v = visit(recorded=recorded)
    signals = run([v])
    assert kinds(signals) == ([K.ODD_HOURS] if odd else [])
    if odd:
        assert signals[0].subject == v.key and "23:00–6:00" in signals[0].zh


def test_a_night_range_that_does_not_wrap_midnight() -> None:
    rules = QualityRules(night_start=1, night_end=5)
    assert kinds(run([visit(recorded=at(DAY, 1))], rules=rules)) == [K.ODD_HOURS]
    assert run([visit(recorded=at(DAY, 0))], rules=rules) == []
    assert run([visit(recorded=at(DAY, 5))], rules=rules) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"max_visits_per_cadre_day": 0},
        {"last_minute_share": 1.5},
        {"night_start": 24},
        {"min_visits": 0},
    ],
)
def test_rules_reject_nonsense(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidValueError):
        QualityRules(**bad)


def test_kinds_are_labelled_and_parse_from_chinese() -> None:
    assert SignalKind.parse("证据文件重复使用") is K.SAME_EVIDENCE
    assert all(k.zh and k.en for k in SignalKind)


# --- whole data sets ----------------------------------------------------------------------

TEXTS = ["无", "进货查验记录不全", " 进货查验记录不全", "台账未及时更新到位", "已整改"]
HASHES = [digest(i) for i in range(3)]


@st.composite
def messy(draw: st.DrawFn) -> tuple[list[Visit], list[Assignment], list[FoodBusiness]]:
    """Small pools, so that every kind of signal turns up often."""
    visits = []
    for _ in range(draw(st.integers(0, 14))):
        on = date(2026, 3, 24) + timedelta(draw(st.integers(0, 8)))  # across the Q1 close
        recorded = at(on + timedelta(draw(st.integers(0, 3))), draw(st.integers(0, 23)))
        visits.append(
            visit(
                draw(st.sampled_from(["C1", "C2", "C3"])),
                draw(st.integers(0, 3)),
                on,
                recorded,
                findings=tuple(draw(st.lists(st.sampled_from(TEXTS), max_size=2))),
                evidence=tuple(draw(st.lists(st.sampled_from(HASHES), max_size=2))),
                area=draw(st.sampled_from([AREA, "110102"])),
            )
        )
    assignments = [
        Assignment(f"C{c}", licence(b), date(2026, 3, 20) + timedelta(d))
        for c, b, d in draw(
            st.lists(st.tuples(st.integers(1, 3), st.integers(0, 3), st.integers(0, 12)))
        )
    ]
    statuses = st.sampled_from(OperatingStatus)
    businesses = [
        business(i, draw(statuses), date(2026, 3, 20) + timedelta(draw(st.integers(0, 12))))
        for i in range(4)
    ]
    return visits, assignments, businesses


TIGHT = QualityRules(max_visits_per_cadre_day=2, min_visits=2)


@given(messy(), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_input_order(
    data: tuple[list[Visit], list[Assignment], list[FoodBusiness]], rnd: random.Random
) -> None:
    visits, assignments, businesses = data
    signals = run(visits, assignments, businesses, TIGHT)
    shuffled_visits, shuffled_assignments = visits[:], assignments[:]
    rnd.shuffle(shuffled_visits)
    rnd.shuffle(shuffled_assignments)
    assert run(shuffled_visits, shuffled_assignments, reversed(businesses), TIGHT) == signals
    assert run(visits + visits, assignments, businesses, TIGHT) == signals  # duplicates count once
    assert signals == sorted(signals, key=lambda s: (s.kind.value, s.area_code, s.subject))
    keys = {v.key for v in visits}
    areas_of: dict[str, set[str]] = {}
    for v in visits:
        areas_of.setdefault(v.key, set()).add(v.area_code)
    for s in signals:
        assert s.visits == tuple(sorted(set(s.visits))) and set(s.visits) <= keys
        assert s.zh and s.en and s.area_code in {AREA, "110102", "1101"}
        if all(len(areas_of[k]) == 1 for k in s.visits):  # (a key given in two areas: either)
            areas = {code for k in s.visits for code in areas_of[k]}
            # reported where all its visits lie: the county holding both areas
            assert s.area_code == (areas.pop() if len(areas) == 1 else "1101")


@st.composite
def clean(
    draw: st.DrawFn,
) -> tuple[list[Visit], list[Assignment], list[FoodBusiness], QualityRules]:
    """Data respecting every threshold: capped days, assigned pairs, distinct texts and files,
    working hours, entries made soon after the visit and well before the window closes."""
    rules = QualityRules(max_visits_per_cadre_day=draw(st.integers(1, 10)))
    visits: list[Visit] = []
    per_day: dict[tuple[str, date], int] = {}
    for i in range(draw(st.integers(0, 30))):
        cadre = draw(st.sampled_from(["C1", "C2", "C3"]))
        on = date(2026, 1, 1) + timedelta(draw(st.integers(0, 80)))  # up to 2026-03-22
        if per_day.get((cadre, on), 0) >= rules.max_visits_per_cadre_day:
            continue
        per_day[cadre, on] = per_day.get((cadre, on), 0) + 1
        recorded = at(on + timedelta(draw(st.integers(0, 5))), draw(st.integers(6, 22)), 59)
        text = draw(st.sampled_from(["无", "", f"第{i}条记录：进货查验台账不全"]))
        visits.append(
            visit(
                cadre,
                draw(st.integers(0, 5)),
                on,
                recorded,
                findings=(text,) if text else (),
                evidence=tuple(digest((i, n)) for n in range(draw(st.integers(0, 2)))),
            )
        )
    pairs = sorted({(v.cadre_id, v.business_key) for v in visits})
    assignments = [Assignment(c, b, date(2025, 12, 1)) for c, b in pairs]
    statuses = st.sampled_from(OperatingStatus)
    businesses = [business(i, draw(statuses), date(2026, 3, 30)) for i in range(6)]
    return visits, assignments, businesses, rules


@given(clean())
def test_no_signal_on_clean_data(
    data: tuple[list[Visit], list[Assignment], list[FoodBusiness], QualityRules],
) -> None:
    visits, assignments, businesses, rules = data
    assert run(visits, assignments, businesses, rules) == []
