"""Data-quality signals: each kind exactly in its situation, order-free, silent on clean data."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twores.core.assignment import Assignment
from twores.core.businesses import BusinessType, FoodBusiness, OperatingStatus
from twores.core.errors import InvalidValueError
from twores.core.periods import CHINA_TZ, Period, PeriodKind
from twores.core.quality import QualityRules, Signal, SignalKind, quality_signals
from twores.core.supervision import Visit, VisitMode

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
    mode: VisitMode = VisitMode.ON_SITE,
) -> Visit:
    return Visit(
        licence(business),
        cadre,
        area,
        on,
        recorded or at(on),
        mode=mode,
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
    context: Iterable[Visit] = (),
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
        context=context,
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


def test_a_grouped_session_is_not_too_many_visits_nor_reused_evidence() -> None:
    """集中督导: one session covers many businesses, each record with the session's photo."""
    photo = digest("session")
    session = [visit(business=i, mode=VisitMode.GROUPED, evidence=(photo,)) for i in range(12)]
    assert run(session) == []
    # another cadre's records of the same session share its photo too
    assert run([*session, visit("C2", 50, mode=VisitMode.GROUPED, evidence=(photo,))]) == []
    # on-site visits beyond the limit that day are still too many
    on_site = [visit(business=100 + i) for i in range(9)]
    [busy] = run([*session, *on_site])
    assert busy.kind is K.TOO_MANY_PER_DAY and "记录 9 次督导" in busy.zh
    # the session's photo attached again on another day, or to an on-site visit: reused
    for again in (
        visit(business=60, on=DAY + timedelta(1), mode=VisitMode.GROUPED, evidence=(photo,)),
        visit(business=61, evidence=(photo,)),
    ):
        [reused] = run([*session, again])
        assert reused.kind is K.SAME_EVIDENCE and len(reused.visits) == 13


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
    # one of the pair's assignments was active that day: not flagged
    earlier = Assignment("C1", v.business_key, LONG_AGO, date(2025, 2, 1))
    later = Assignment("C1", v.business_key, date(2026, 3, 1))
    assert run([v], [earlier, later]) == []
    # another cadre's assignment does not count
    [other] = run([v], [Assignment("C2", v.business_key, LONG_AGO)])
    assert other.kind is K.BEFORE_ASSIGNMENT and "从未包保" in other.zh
    assert "never assigned" in other.en


def test_visit_after_the_assignment_ended() -> None:
    v = visit()  # 2026-03-02
    ended = Assignment("C1", v.business_key, LONG_AGO, date(2026, 2, 1))
    [signal] = run([v], [ended])
    assert signal.kind is K.AFTER_ASSIGNMENT and signal.subject == v.key
    assert (
        signal.zh
        == f"干部 C1 于 2026-03-02 督导主体 {v.business_key}，但其包保已于 2026-01-31 结束"
    )  # the last day held: valid_to (2026-02-01) is the first day not held
    assert "after the assignment ended on 2026-01-31" in signal.en
    # the day it ended is already outside it (valid_to is exclusive)
    assert kinds(run([v], [attrs.evolve(ended, valid_to=DAY)])) == [K.AFTER_ASSIGNMENT]
    assert run([v], [attrs.evolve(ended, valid_to=DAY + timedelta(1))]) == []
    # in a gap between two assignments of the pair
    later = Assignment("C1", v.business_key, date(2026, 4, 1))
    [gap] = run([v], [ended, later])
    assert gap.kind is K.AFTER_ASSIGNMENT and "2026-04-01 才重新开始" in gap.zh
    assert "began on 2026-04-01" in gap.en
    # handed to another cadre: the visit is outside C1's assignment
    handed = [ended, Assignment("C2", v.business_key, date(2026, 2, 1))]
    assert kinds(run([v], handed)) == [K.AFTER_ASSIGNMENT]


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
    # its assignment ended with the closure: said once, as after the closure
    ended = Assignment("C1", v.business_key, LONG_AGO, DAY - timedelta(1))
    closed = business(0, OperatingStatus.CLOSED, DAY - timedelta(1))
    assert kinds(run([v], [ended], businesses=[closed])) == [K.AFTER_CLOSURE]


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
    assert signal.zh == (
        "干部 C1 在 2026-03-31 截止前 2 天内补录 4 条督导（录入晚于督导 2 天及以上），"
        "占该期 6 条的 67%，超过 50%"
    )
    assert "back-filled 4 of 6 visits (67%)" in signal.en and "2026-03-31" in signal.en
    assert run(rushed_visits(3, 3)) == []  # exactly half is not more than half
    assert run(rushed_visits(4, 0)) == []  # fewer than min_visits in the period
    assert kinds(run(rushed_visits(5, 0))) == [K.LAST_MINUTE]
    # three days before the close is not "the last two days"
    calm = [visit("C1", i, date(2026, 3, 1 + i), at(CLOSE - timedelta(2), 20)) for i in range(6)]
    assert run(calm) == []


def test_visits_entered_on_the_spot_are_not_back_filled() -> None:
    """Visited on the last days and entered the same day (or the next): not back-filling."""
    same_day = [
        visit("C1", i, CLOSE - timedelta(i % 2), at(CLOSE - timedelta(i % 2), 20)) for i in range(6)
    ]
    next_day = [visit("C1", i, CLOSE - timedelta(1), at(CLOSE, 9)) for i in range(6)]
    assert run(same_day) == [] and run(next_day) == []
    two_days = [visit("C1", i, CLOSE - timedelta(2), at(CLOSE, 9)) for i in range(6)]
    assert kinds(run(two_days)) == [K.LAST_MINUTE]
    assert kinds(run(same_day, rules=QualityRules(last_minute_lag_days=0))) == [K.LAST_MINUTE]


def test_the_back_filling_share_counts_the_context_of_the_window() -> None:
    """A report on part of the window's period gets the rest as context: the share is the
    same as over the whole period, and a signal shows where its entries are."""
    rushed = rushed_visits(4, 0)
    early = [visit("C1", 100 + i, date(2026, 1, 5 + i)) for i in range(4)]
    assert run(rushed, context=early) == []  # 4 of 8, as over the quarter
    assert kinds(run(rushed)) == []  # fewer than min_visits alone
    more = rushed_visits(5, 0)
    [signal] = run(more, context=early[:3])
    assert "补录 5 条督导" in signal.zh and "占该期 8 条的 62%" in signal.zh
    assert run(early[:3], context=more) == []  # none of its entries in the report


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


COPIED = "冷藏柜内生熟食品混放未分区存放"


def test_one_cadre_copying_a_text_across_businesses() -> None:
    a = visit(business=0, findings=(f"  {COPIED} ", "无"))
    b, c = (visit(business=i, findings=(COPIED,)) for i in (1, 2))
    [signal] = run([a, b, c])
    assert signal.kind is K.SAME_TEXT and signal.subject == COPIED
    assert signal.visits == tuple(sorted([a.key, b.key, c.key]))
    assert (
        signal.zh == f"干部 C1 在 3 个主体的 3 条督导记录中填写了完全相同的发现问题文字：“{COPIED}”"
    )
    assert (
        signal.en
        == f"cadre C1 wrote the identical finding text “{COPIED}” in 3 visits to 3 businesses"
    )
    assert run([a, b]) == []  # two businesses are not yet several
    # the same business followed up with the same text is no copying
    follow_up = [visit(business=0, on=DAY + timedelta(d), findings=(COPIED,)) for d in range(3)]
    assert run(follow_up) == []


def test_different_cadres_sharing_wording_are_not_copying() -> None:
    """Standard wording: cadres picking the same phrase is not copying."""
    shared = [visit(f"C{i}", i, findings=(COPIED,)) for i in range(10)]
    assert run(shared) == []
    # ...nor when many cadres use it, even if one of them uses it often
    often = [visit("C1", 100 + i, findings=(COPIED,)) for i in range(3)]
    assert run([*shared[:3], *often]) == []
    # two cadres (fewer than same_text_common_cadres): the copier is still flagged
    [signal] = run([shared[2], *often])
    assert signal.visits == tuple(sorted(v.key for v in often)) and "干部 C1 " in signal.zh
    checklist = [visit(business=i, findings=("落实进货查验和记录",)) for i in range(3)]
    assert run(checklist) == []


@pytest.mark.parametrize(
    "text", ["经现场检查，未发现明显问题", "经现场检查,未发现明显问题。", "暂未发现食品安全隐患"]
)
def test_saying_no_problem_is_not_identical_text(text: str) -> None:
    assert run([visit(business=i, findings=(text,)) for i in range(5)]) == []


@pytest.mark.parametrize(("text", "flagged"), [("一二三四五", False), ("一二三四五六", True)])
def test_same_text_length_threshold(text: str, flagged: bool) -> None:
    signals = run([visit(business=i, findings=(text,)) for i in range(3)])
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
    # many cadres: the explanation names the first five and counts the rest
    [many] = run([visit(f"C{i:02d}", i, evidence=(photo,)) for i in range(12)])
    assert "C00、C01、C02、C03、C04 等 12 名" in many.zh and "C05" not in many.zh
    assert "C00, C01, C02, C03, C04 and others, 12 in all" in many.en
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
                mode=draw(st.sampled_from([VisitMode.ON_SITE, VisitMode.GROUPED])),
            )
        )
    assignments = [
        Assignment(
            f"C{c}",
            licence(b),
            date(2026, 3, 20) + timedelta(d),
            None if length is None else date(2026, 3, 20) + timedelta(d + length),
        )
        for c, b, d, length in draw(
            st.lists(
                st.tuples(
                    st.integers(1, 3),
                    st.integers(0, 3),
                    st.integers(0, 12),
                    st.none() | st.integers(0, 6),
                )
            )
        )
    ]
    statuses = st.sampled_from(OperatingStatus)
    businesses = [
        business(i, draw(statuses), date(2026, 3, 20) + timedelta(draw(st.integers(0, 12))))
        for i in range(4)
    ]
    return visits, assignments, businesses


TIGHT = QualityRules(
    max_visits_per_cadre_day=2,
    min_visits=2,
    same_text_min_businesses=2,
    last_minute_lag_days=1,
)


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
