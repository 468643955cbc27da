"""Frequency rules that change on a date: each task period is judged by the rules in force
on its first day, whatever period is scheduled, and a visit's entry window is that of the
period the rules give, scheduled or not."""

from __future__ import annotations

from datetime import date, datetime

import pytest

import twores
from twores.core.areas import Tier
from twores.core.assignment import Assignment
from twores.core.businesses import BusinessType, FoodBusiness, Grade, Scale
from twores.core.cadres import Cadre
from twores.core.periods import CHINA_TZ, Frequency, PeriodKind
from twores.core.ports import Store
from twores.core.rules import Rule, RuleSet, Ruling
from twores.core.supervision import WindowClosedError
from twores.divisions import demo_region
from twores.plugins import hookimpl
from twores.plugins.builtin.memory import MemoryStore
from twores.services.supervision import VisitInput, record_visit, schedule

ADMIN = twores.Scope("tester", twores.Role.ADMIN)
COUNTY, VILLAGE = "450323", "450323101001"
APRIL = date(2026, 4, 1)
HALF_YEAR_FROM_APRIL = Rule(
    "test.from", "村级自4月1日起半年一次", "village half-yearly from 1 April", effective_from=APRIL
)
HALF_YEAR_TO_APRIL = Rule(
    "test.to", "村级半年一次（至3月31日）", "village half-yearly until 31 March", effective_to=APRIL
)
FIXED = Rule("test.fixed", "固定频次", "a fixed frequency")


def _rules(rule: Rule, holder: Tier, kind: PeriodKind) -> object:
    """``holder`` visits once per ``kind`` while ``rule`` is in force (quarterly otherwise)."""

    class Rules:
        @hookimpl
        def twores_rule_sets(self) -> list[RuleSet]:
            return [RuleSet("test", "1", "测试", "test", (rule,))]

        @hookimpl(tryfirst=True)
        def twores_supervision_frequency(self, tier: Tier, on: date) -> Ruling[Frequency] | None:
            if tier is holder and rule.in_force(on):
                return Ruling(Frequency(kind, 1), rule)
            return None

    return Rules()


def _store(grade: Grade = Grade.D, tier: Tier = Tier.VILLAGE) -> tuple[Store, FoodBusiness]:
    business = FoodBusiness(
        name="店1",
        area_code=VILLAGE,
        licence_no="JY14503230000001",
        grade=grade,
        business_type=BusinessType.CATERING,
        scale=Scale.MICRO,
    )
    area = VILLAGE if tier is Tier.VILLAGE else COUNTY
    store = MemoryStore()
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(demo_region().subtree(COUNTY))
        uow.businesses.upsert_many([business])
        uow.cadres.upsert_many([Cadre(id="c1", name="干部1", tier=tier, area_code=area)])
        uow.assignments.upsert_many([Assignment("c1", business.key, date(2025, 1, 1))])
        uow.commit()
    return store, business


def _tasks(store: Store) -> list[str]:
    with store.unit_of_work(ADMIN) as uow:
        return sorted(
            f"{t.period}{' done' if t.done else ''}{' exempt' if t.exempt else ''}"
            for t in uow.tasks.stream()
        )


def _at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 10, tzinfo=CHINA_TZ)


def _fresh(
    rule: Rule, kind: PeriodKind = PeriodKind.HALF_YEAR
) -> tuple[twores.Twores, Store, FoodBusiness]:
    """An app whose village cadres visit once per ``kind`` while ``rule`` is in force."""
    app = twores.build(load_entrypoints=False, plugins=[_rules(rule, Tier.VILLAGE, kind)])
    return (app, *_store())


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        (["2026"], ["2026H2", "2026Q1", "2026Q2"]),
        (["2026Q2"], ["2026Q2"]),
        (["2026Q2", "2026Q1", "2026Q3", "2026Q4"], ["2026H2", "2026Q1", "2026Q2"]),
        (["2026H2", "2026H1"], ["2026H2", "2026Q1", "2026Q2"]),
    ],
)
def test_a_switch_to_half_yearly_on_1_april_leaves_q2_quarterly(
    runs: list[str], expected: list[str]
) -> None:
    app, store, _ = _fresh(HALF_YEAR_FROM_APRIL)
    for period in runs:
        schedule(app, store, ADMIN, period, on=date(2026, 4, 2))
    assert _tasks(store) == expected


def test_scheduling_q2_leaves_a_done_q1_task_alone() -> None:
    app, store, business = _fresh(HALF_YEAR_FROM_APRIL)
    schedule(app, store, ADMIN, "2026Q1", on=date(2026, 1, 5))
    record_visit(
        app, store, ADMIN, VisitInput(business.key, "c1", date(2026, 2, 10)), now=_at(2, 10)
    )
    report = schedule(app, store, ADMIN, "2026Q2", on=date(2026, 4, 2))
    assert report.retired == 0
    assert _tasks(store) == ["2026Q1 done", "2026Q2"]


@pytest.mark.parametrize(
    "runs", [["2026"], ["2026Q1"], ["2026Q2"], ["2026Q1", "2026Q2"], ["2026Q2", "2026Q1"]]
)
def test_a_half_year_begun_under_its_rule_goes_on_after_a_switch_to_quarterly(
    runs: list[str],
) -> None:
    app, store, _ = _fresh(HALF_YEAR_TO_APRIL)
    for period in runs:
        schedule(app, store, ADMIN, period, on=date(2026, 1, 5))
    later = ["2026Q3", "2026Q4"] if runs == ["2026"] else []
    assert _tasks(store) == ["2026H1", *later]  # never retired, never beside a Q2


def test_a_visit_filed_first_fulfils_a_half_year_task_that_reaches_beyond_the_quarter() -> None:
    app, store, business = _fresh(HALF_YEAR_TO_APRIL)
    record_visit(
        app, store, ADMIN, VisitInput(business.key, "c1", date(2026, 2, 10)), now=_at(2, 10)
    )
    assert schedule(app, store, ADMIN, "2026Q2", on=date(2026, 4, 2)).credited == 1
    assert _tasks(store) == ["2026H1 done"]


@pytest.mark.parametrize("scheduled_first", [True, False])
def test_an_unscheduled_month_closes_its_window_as_a_scheduled_one(scheduled_first: bool) -> None:
    app, store, business = _fresh(FIXED, PeriodKind.MONTH)
    if scheduled_first:
        schedule(app, store, ADMIN, "2026-01", on=date(2026, 1, 2))
    visit = VisitInput(business.key, "c1", date(2026, 1, 10))
    with pytest.raises(WindowClosedError) as refused:
        record_visit(app, store, ADMIN, visit, now=_at(2, 20))
    assert "entry for 2026-01 closed on 2026-01-31" in refused.value.message_en
    late = VisitInput(business.key, "c1", date(2026, 1, 10), late_reason="系统故障补录")
    assert record_visit(app, store, ADMIN, late, now=_at(2, 20)).late
    if not scheduled_first:
        assert schedule(app, store, ADMIN, "2026-01", on=date(2026, 2, 21)).credited == 1


@pytest.mark.parametrize("scheduled_first", [True, False])
def test_an_unscheduled_half_year_keeps_its_window_open(scheduled_first: bool) -> None:
    app = twores.build(
        load_entrypoints=False, plugins=[_rules(FIXED, Tier.COUNTY, PeriodKind.HALF_YEAR)]
    )
    store, business = _store(Grade.B, Tier.COUNTY)
    if scheduled_first:
        schedule(app, store, ADMIN, "2026H1", on=date(2026, 1, 2))
    visit = VisitInput(business.key, "c1", date(2026, 2, 10))
    assert not record_visit(app, store, ADMIN, visit, now=_at(4, 5)).late
    if not scheduled_first:
        assert schedule(app, store, ADMIN, "2026H1", on=date(2026, 4, 6)).credited == 1
    assert _tasks(store) == ["2026H1 done"]


def test_scheduling_credits_no_visit_entered_after_its_window_without_a_reason() -> None:
    """Entered in time by the rules of its day (quarterly), the visit is late for the monthly
    task the rules changed since give: it fulfils it only when entered again with a reason."""
    app = twores.build(load_entrypoints=False)
    store, business = _store()
    visit = VisitInput(business.key, "c1", date(2026, 1, 10))
    assert not record_visit(app, store, ADMIN, visit, now=_at(2, 20)).late
    app.plugins.register(_rules(FIXED, Tier.VILLAGE, PeriodKind.MONTH))
    assert schedule(app, store, ADMIN, "2026-01", on=date(2026, 2, 21)).credited == 0
    assert _tasks(store) == ["2026-01"]
    late = VisitInput(business.key, "c1", date(2026, 1, 10), late_reason="规则调整后补录")
    outcome = record_visit(app, store, ADMIN, late, now=_at(2, 22))
    assert outcome.late and outcome.task is not None
    assert _tasks(store) == ["2026-01 done"]
