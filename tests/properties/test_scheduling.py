"""Set-wise scheduling on SQL equals the reference (memory backend): on random rosters, plans
(slots per area, or per grade in some areas, graded with or without the area, some areas
with grade frequencies of their own) and changes
between runs (suspended, closed, regraded and moved businesses, assignments handed over,
grade frequencies changed), where the SQL backend re-schedules only the counties whose
inputs changed."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import twores
from twores.core.areas import Tier
from twores.core.assignment import Assignment
from twores.core.businesses import FoodBusiness, Grade, OperatingStatus
from twores.core.periods import Frequency, Period, PeriodKind
from twores.core.ports import Store
from twores.core.roster import Roster
from twores.core.supervision import TaskPlan, TaskSlot, task_business_key, task_key, task_slots
from twores.plugins.builtin.memory import MemoryStore
from twores.testing.postgres import fresh_sql_store, sql_backends
from twores.testing.strategies import periods, rosters

ADMIN = twores.Scope("tester", twores.Role.ADMIN)
KINDS = st.sampled_from([PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.HALF_YEAR])


@st.composite
def plans(draw: st.DrawFn, roster: Roster) -> tuple[TaskPlan, TaskPlan]:
    """A plan, and the same plan with the frequency of each grade drawn again (rules that
    changed between two runs)."""
    requested: Period = draw(periods(kinds=KINDS))
    as_of = requested.start + timedelta(days=draw(st.integers(-5, 200)))
    areas = sorted(a.code for a in roster.hierarchy)
    graded = draw(st.sets(st.sampled_from(areas)) | st.just(set(areas))) if areas else set()
    marked = draw(st.sets(st.sampled_from(areas))) if areas else set()
    regional = draw(st.sets(st.sampled_from(areas))) if areas else set()
    reads_area = draw(st.booleans())

    def slots(frequency: Frequency) -> tuple[TaskSlot, ...]:
        return task_slots(requested, frequency, lambda p: p.end - timedelta(days=1), as_of)

    def grade_of(business: FoodBusiness) -> Grade:
        if reads_area and business.area_code in marked:
            return Grade.A
        return business.grade or Grade.D

    def plan() -> TaskPlan:
        by_grade = {grade: Frequency(draw(KINDS), draw(st.integers(1, 2))) for grade in Grade}
        own = {grade: Frequency(draw(KINDS), draw(st.integers(1, 2))) for grade in Grade}
        return TaskPlan(
            requested,
            lambda area: None if area in graded else slots(Frequency()),
            grade_of,
            lambda grade, area: slots((own if area in regional else by_grade)[grade]),
            grading_reads_area=reads_area,
        )

    return plan(), plan()


@st.composite
def hand_overs(draw: st.DrawFn, roster: Roster, plan: TaskPlan) -> list[Assignment]:
    """Assignments ended inside the period (their businesses unassigned from then on)."""
    if not roster.assignments:
        return []
    start = plan.requested.start
    ended = []
    for assignment in draw(st.lists(st.sampled_from(roster.assignments), unique=True, max_size=3)):
        on = max(assignment.valid_from, start + timedelta(days=draw(st.integers(0, 60))))
        ended.append(assignment.ended(on))
    return ended


@st.composite
def changes(draw: st.DrawFn, roster: Roster, plan: TaskPlan) -> list[FoodBusiness]:
    """Businesses changed between two runs; a new status dated before, inside or after the
    period (a status taken after a slot's period leaves that slot owed), or undated."""
    businesses = sorted(roster.businesses.values(), key=lambda b: b.key)
    low = sorted({b.area_code for b in businesses})
    start = plan.requested.start
    dates = st.none() | st.builds(lambda d: start + timedelta(days=d), st.integers(-40, 200))
    stopped = {
        "suspend": OperatingStatus.SUSPENDED,
        "close": OperatingStatus.CLOSED,
        "revoke": OperatingStatus.REVOKED,
    }
    changed = []
    for business in draw(st.lists(st.sampled_from(businesses), unique=True)) if low else []:
        kind = draw(st.sampled_from([*stopped, "reopen", "regrade", "move"]))
        if kind in stopped:
            business = attrs.evolve(business, status=stopped[kind], status_since=draw(dates))
        elif kind == "reopen":
            business = attrs.evolve(business, status=OperatingStatus.OPERATING)
        elif kind == "regrade":
            business = attrs.evolve(business, grade=draw(st.sampled_from(Grade)))
        else:  # within its county: a move to another is a new registration, refused
            of = roster.hierarchy.ancestor  # codes of generated regions are not statistical
            home = of(business.area_code, Tier.COUNTY)
            county = [a for a in low if of(a, Tier.COUNTY) == home]
            business = attrs.evolve(business, area_code=draw(st.sampled_from(county)))
        changed.append(business)
    return changed


def _tasks(store: Store) -> list[object]:
    with store.unit_of_work(ADMIN) as uow:
        return list(uow.tasks.stream())


@pytest.mark.parametrize("backend", sql_backends())
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), roster=rosters(max_businesses=12, max_cadres=6))
def test_set_wise_scheduling_equals_the_reference(
    backend: str, data: st.DataObject, roster: Roster
) -> None:
    plan, replanned = data.draw(plans(roster))
    later = data.draw(changes(roster, plan))
    handed = data.draw(hand_overs(roster, plan))
    second_plan = data.draw(st.sampled_from([plan, replanned]))
    with fresh_sql_store(backend) as sql:
        outcomes = []
        for store in (MemoryStore(), sql):
            with store.unit_of_work(ADMIN) as uow:
                uow.areas.upsert_many(roster.hierarchy)
                uow.businesses.upsert_many(roster.businesses.values())
                uow.cadres.upsert_many(roster.cadres.values())
                uow.assignments.upsert_many(roster.assignments)
                first = uow.tasks.sync(plan)
                uow.commit()
            after_first = _tasks(store)
            with store.unit_of_work(ADMIN) as uow:
                uow.businesses.upsert_many(later)
                uow.assignments.upsert_many(handed)
                second = uow.tasks.sync(second_plan)
                again = uow.tasks.sync(second_plan)
                uow.commit()
            outcomes.append((first, after_first, second, _tasks(store), again))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][4].written.changed == 0


@given(
    business_key=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1),
    period=periods(),
    seq=st.integers(min_value=1, max_value=366),
)
def test_a_task_key_names_its_business(business_key: str, period: Period, seq: int) -> None:
    """The SQL store finds tasks by key through their business (no index on key alone)."""
    assert task_business_key(task_key(business_key, period, seq)) == business_key
