"""Scheduling where the frequency depends on the grade: the SQL backend (which grades each
distinct business profile) schedules exactly what the memory backend (which grades each
business) does, on a first run, after changes, and again."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import attrs
import pytest

import twores
from twores.core.areas import Tier
from twores.core.businesses import FoodBusiness, Grade, OperatingStatus, Scale
from twores.core.periods import Frequency, PeriodKind
from twores.core.ports import Store
from twores.core.rules import Rule, RuleSet, Ruling
from twores.core.supervision import NO_LONGER_DUE
from twores.plugins import hookimpl
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.rules import rule_business
from twores.services.supervision import schedule

from .helpers import ADMIN, COUNTY, START, load

TOWNSHIP = COUNTY + "101"
HALF_YEARLY = Rule("test.county_half_year", "县级半年一次", "county tier half-yearly", "test")
LARGE_IS_A = Rule("test.large_is_a", "大型为A级", "large businesses are grade A", "test")
TOWNSHIP_IS_B = Rule("test.township_b", "本镇为B级", "this township's are grade B", "test")


class GradeDependentRules:
    """County-tier cadres visit half-yearly; large businesses are grade A."""

    @hookimpl
    def twores_rule_sets(self) -> list[RuleSet]:
        rules = (HALF_YEARLY, LARGE_IS_A, TOWNSHIP_IS_B)
        return [RuleSet("test", "1", "测试规则", "test rules", rules)]

    @hookimpl
    def twores_supervision_frequency(self, tier: Tier) -> Ruling[Frequency] | None:
        if tier is Tier.COUNTY:
            return Ruling(Frequency(PeriodKind.HALF_YEAR, 1), HALF_YEARLY)
        return None

    @hookimpl(tryfirst=True)
    def twores_grade_business(self, business: FoodBusiness) -> Ruling[Grade] | None:
        if business.scale is Scale.LARGE:
            return Ruling(Grade.A, LARGE_IS_A)
        return None


class TownshipGradeRules(GradeDependentRules):
    """As above, and every business of one township is grade B (grading reads the area)."""

    @hookimpl(tryfirst=True)
    def twores_grade_business(  # type: ignore[override]
        self, business: FoodBusiness, area_path: tuple[str, ...]
    ) -> Ruling[Grade] | None:
        if TOWNSHIP in area_path:
            return Ruling(Grade.B, TOWNSHIP_IS_B)
        return super().twores_grade_business(business)


def _state(store: Store) -> list[object]:
    with store.unit_of_work(ADMIN) as uow:
        return list(uow.tasks.stream())


def _change(store: Store, keys: list[str]) -> None:
    """Suspend one business, close one, make one large (grade A: a county-tier task)."""
    with store.unit_of_work(ADMIN) as uow:
        suspended, closed, grown = (uow.businesses.get(k) for k in keys)
        assert suspended is not None and closed is not None and grown is not None
        uow.businesses.upsert_many(
            [
                attrs.evolve(
                    suspended, status=OperatingStatus.SUSPENDED, status_since=date(2026, 2, 1)
                ),
                attrs.evolve(closed, status=OperatingStatus.CLOSED),
                attrs.evolve(grown, scale=Scale.LARGE, grade=None),
            ]
        )
        uow.commit()


@pytest.mark.parametrize("by_area", [False, True], ids=["grade-by-profile", "grade-reads-area"])
def test_grade_dependent_frequencies_schedule_alike(
    roster: twores.Roster, tmp_path: Path, by_area: bool
) -> None:
    app = twores.build(load_entrypoints=False)
    app.plugins.register(TownshipGradeRules() if by_area else GradeDependentRules())
    assert app.plugins.grading_reads_area() is by_area
    keys = sorted(roster.businesses)[:3]
    states, reports = [], []
    for store in (MemoryStore(), SqlStore(f"sqlite:///{tmp_path / 'rules.db'}")):
        load(store, roster, START)
        first = schedule(app, store, ADMIN, "2026Q1", on=START)
        before = _state(store)
        _change(store, keys)
        later = schedule(app, store, ADMIN, "2026Q1", on=date(2026, 2, 2))
        again = schedule(app, store, ADMIN, "2026Q1", on=date(2026, 2, 2))
        states.append((before, _state(store)))
        reports.append((first, later, again))
    assert states[0] == states[1]
    assert reports[0] == reports[1]
    first, later, again = reports[0]
    kinds = {t.period.kind for t in states[0][0]}
    assert kinds == {PeriodKind.QUARTER, PeriodKind.HALF_YEAR}  # both frequencies occur
    assert later.written.changed > 0 and later.retired >= 1
    assert again.written.changed == 0 and again.retired == 0
    retired = [t for t in states[0][1] if t.exempt_reason == NO_LONGER_DUE]
    assert {t.business_key for t in retired} >= {keys[1]}


VILLAGES_MONTHLY = Rule(
    "test.village_monthly",
    "村级每月一次（自2026年7月1日）",
    "village tier monthly (from 1 July 2026)",
    "test",
    effective_from=date(2026, 7, 1),
)


class VillagesMonthlyFromJuly:
    """Village cadres supervise monthly from 1 July 2026 (quarterly before, nationally)."""

    @hookimpl
    def twores_rule_sets(self) -> list[RuleSet]:
        return [RuleSet("july", "1", "七月新规", "July rules", (VILLAGES_MONTHLY,))]

    @hookimpl
    def twores_supervision_frequency(self, tier: Tier) -> Ruling[Frequency] | None:
        if tier is Tier.VILLAGE:
            return Ruling(Frequency(PeriodKind.MONTH, 1), VILLAGES_MONTHLY)
        return None


@pytest.mark.parametrize("run_on", [date(2026, 1, 5), date(2026, 12, 20)])
def test_each_period_of_a_year_is_judged_by_the_rules_in_force_then(
    roster: twores.Roster, tmp_path: Path, run_on: date
) -> None:
    app = twores.build(load_entrypoints=False, plugins=[VillagesMonthlyFromJuly()])
    found = []
    for store in (MemoryStore(), SqlStore(f"sqlite:///{tmp_path / f'{run_on}.db'}")):
        load(store, roster, START)
        schedule(app, store, ADMIN, "2026", on=run_on)
        with store.unit_of_work(ADMIN) as uow:
            held = {a.business_key: a.cadre_id for a in uow.assignments.stream(active_on=START)}
            village = {c.id for c in uow.cadres.stream() if c.tier is Tier.VILLAGE}
            periods = {
                str(t.period)
                for t in uow.tasks.stream()
                if held.get(t.business_key) in village and not t.exempt_reason
            }
        found.append(periods)
    assert found[0] == found[1]  # memory and SQL alike, whatever day it runs
    months = {f"2026-{m:02d}" for m in range(7, 13)}
    assert found[0] == {"2026Q1", "2026Q2", *months}


THIS_COUNTY_MONTHLY = Rule("test.county_monthly", "本县县级每月一次", "this county's tier monthly")


class ThisCountyMonthly:
    """County cadres whose jurisdiction is COUNTY itself supervise monthly (the rule reads
    the end of ``area_path``, as the hook documents it: the cadre's jurisdiction)."""

    @hookimpl
    def twores_rule_sets(self) -> list[RuleSet]:
        return [RuleSet("county", "1", "本县规则", "county rules", (THIS_COUNTY_MONTHLY,))]

    @hookimpl(tryfirst=True)
    def twores_supervision_frequency(
        self, tier: Tier, area_path: tuple[str, ...]
    ) -> Ruling[Frequency] | None:
        if tier is Tier.COUNTY and area_path[-1] == COUNTY:
            return Ruling(Frequency(PeriodKind.MONTH, 1), THIS_COUNTY_MONTHLY)
        return None


def test_frequency_rules_read_the_cadres_jurisdiction_not_the_businesss_village(
    roster: twores.Roster, tmp_path: Path
) -> None:
    app = twores.build(load_entrypoints=False, plugins=[ThisCountyMonthly()])
    rules = app.plugins.rulebook()
    large = next(b for b in roster.businesses.values() if rules.grade_of(b, START) is Grade.B)
    assert len(large.area_code) > len(COUNTY)  # filed in a village or township of COUNTY
    kinds = []
    for store in (MemoryStore(), SqlStore(f"sqlite:///{tmp_path / 'county.db'}")):
        load(store, roster, START)
        schedule(app, store, ADMIN, "2026Q1", on=START)
        with store.unit_of_work(ADMIN) as uow:
            kinds.append({t.period.kind for t in uow.tasks.stream() if t.business_key == large.key})
    assert kinds == [{PeriodKind.MONTH}, {PeriodKind.MONTH}]
    ruled = rule_business(app, large, START)  # the explanation says what was scheduled
    assert ruled.tier.value is Tier.COUNTY and ruled.frequency.value.kind is PeriodKind.MONTH
    assert app.plugins.supervision_frequency(Tier.COUNTY, START, COUNTY).rule == THIS_COUNTY_MONTHLY
