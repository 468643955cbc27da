"""Scheduling under frequency rules that change kind on dated days: a year scheduled in
pieces, in any order, gives the tasks that scheduling it at once gives, and no two open
tasks of a business overlap (each period judged by the rules in force on its first day)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import twores
from twores.core.areas import Tier
from twores.core.assignment import Assignment
from twores.core.businesses import BusinessType, FoodBusiness, Grade, Scale
from twores.core.cadres import Cadre
from twores.core.periods import Frequency, Period, PeriodKind
from twores.core.ports import Store
from twores.core.rules import Rule, RuleSet, Ruling
from twores.core.supervision import SupervisionTask
from twores.divisions import demo_region
from twores.plugins import hookimpl
from twores.plugins.builtin.memory import MemoryStore
from twores.services.supervision import schedule

ADMIN = twores.Scope("tester", twores.Role.ADMIN)
COUNTY, TOWNSHIP, VILLAGE = "450323", "450323101", "450323101001"
AREAS = tuple(demo_region().subtree(COUNTY))
YEAR = Period.parse("2026")
ON = date(2026, 1, 5)
RULE = Rule("test.switching", "频次按日期变更", "frequency switching on dated days", "test")
KINDS = [PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.HALF_YEAR, PeriodKind.YEAR]
#: The tier each business's grade maps to nationally, and where its cadre sits.
HOLDERS = {Grade.D: (Tier.VILLAGE, VILLAGE), Grade.C: (Tier.TOWNSHIP, TOWNSHIP)}

Switches = dict[Tier, list[tuple[date, Frequency]]]


class SwitchingRules:
    """Each tier's frequency from each of its switch days on (national before the first)."""

    def __init__(self, switches: Switches) -> None:
        self.switches = switches

    @hookimpl
    def twores_rule_sets(self) -> list[RuleSet]:
        return [RuleSet("switching", "1", "测试", "test", (RULE,))]

    @hookimpl(tryfirst=True)
    def twores_supervision_frequency(self, tier: Tier, on: date) -> Ruling[Frequency] | None:
        found = [f for since, f in self.switches.get(tier, ()) if since <= on]
        return Ruling(found[-1], RULE) if found else None


@st.composite
def switches(draw: st.DrawFn, kinds: list[PeriodKind] = KINDS) -> Switches:
    days = st.builds(lambda d: date(2025, 7, 1) + timedelta(days=d), st.integers(0, 600))
    frequencies = st.builds(Frequency, st.sampled_from(kinds), st.integers(1, 2))
    return {
        tier: sorted(draw(st.lists(st.tuples(days, frequencies), max_size=4)), key=lambda s: s[0])
        for tier in (Tier.VILLAGE, Tier.TOWNSHIP)
    }


@st.composite
def pieces(draw: st.DrawFn, period: Period = YEAR) -> list[Period]:
    """``period`` whole, or split into its halves, quarters or months, each split again."""
    finer = {
        PeriodKind.YEAR: PeriodKind.HALF_YEAR,
        PeriodKind.HALF_YEAR: PeriodKind.QUARTER,
        PeriodKind.QUARTER: PeriodKind.MONTH,
    }.get(period.kind)
    if finer is None or not draw(st.booleans()):
        return [period]
    found, part = [], Period.containing(finer, period.start)
    while part.start <= period.end:
        found += draw(pieces(part))
        part = part.next()
    return found


def _store() -> Store:
    store = MemoryStore()
    businesses, cadres, assignments = [], [], []
    for i, (grade, (tier, area)) in enumerate(HOLDERS.items(), 1):
        business = FoodBusiness(
            name=f"店{i}",
            area_code=VILLAGE,
            licence_no=f"JY1450323{i:07d}",
            grade=grade,
            business_type=BusinessType.CATERING,
            scale=Scale.MICRO,
        )
        businesses.append(business)
        cadres.append(Cadre(id=f"c{i}", name=f"干部{i}", tier=tier, area_code=area))
        assignments.append(Assignment(f"c{i}", business.key, date(2024, 1, 1)))
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(AREAS)
        uow.businesses.upsert_many(businesses)
        uow.cadres.upsert_many(cadres)
        uow.assignments.upsert_many(assignments)
        uow.commit()
    return store


def _tasks(store: Store) -> list[SupervisionTask]:
    with store.unit_of_work(ADMIN) as uow:
        return sorted(uow.tasks.stream(), key=lambda t: t.key)


def _scheduled(rules: Switches, runs: list[Period]) -> list[SupervisionTask]:
    app = twores.build(load_entrypoints=False, plugins=[SwitchingRules(rules)])
    store = _store()
    for period in runs:
        schedule(app, store, ADMIN, period, on=ON)
    return _tasks(store)


def _assert_no_overlap(tasks: list[SupervisionTask]) -> None:
    open_tasks = [t for t in tasks if not t.exempt]
    for a, b in itertools.combinations(open_tasks, 2):
        if a.business_key == b.business_key and a.period != b.period:
            assert a.period.end < b.period.start or b.period.end < a.period.start, (a, b)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=switches(), runs=pieces().flatmap(st.permutations))
def test_a_year_scheduled_in_pieces_owes_what_it_owes_at_once(
    rules: Switches, runs: list[Period]
) -> None:
    at_once = _scheduled(rules, [YEAR])
    assert _scheduled(rules, runs) == at_once
    _assert_no_overlap(at_once)
    assert not any(t.exempt for t in at_once)  # nothing retired: the pieces agree


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=switches([PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.QUARTER]),
    split=st.tuples(pieces(Period.parse("2025H2")), pieces(Period.parse("2026H1"))),
    data=st.data(),
)
def test_weekly_rules_tile_across_the_new_year(
    rules: Switches, split: tuple[list[Period], list[Period]], data: st.DataObject
) -> None:
    """A week runs across 1 January: each year's pieces, in any order, owe the same."""
    runs = data.draw(st.permutations([*split[0], *split[1]]))
    halves = [Period.parse("2025H2"), Period.parse("2026H1")]
    at_once = _scheduled(rules, halves)
    assert _scheduled(rules, runs) == at_once
    _assert_no_overlap(at_once)
    assert not any(t.exempt for t in at_once)
