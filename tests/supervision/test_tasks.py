"""Task generation: exactly what the frequency rule requires, idempotent, hand-over credit."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import twores
from twores.core.assignment import Assignment, AssignmentReason
from twores.core.businesses import OperatingStatus
from twores.core.periods import CHINA_TZ, Frequency, Period, PeriodKind
from twores.core.ports import Store
from twores.core.security import ScopeError
from twores.core.supervision import (
    FindingsRecordedError,
    NotAssignedError,
    TaskSlot,
    VisitMode,
    WindowClosedError,
    required_tasks,
    task_periods,
    task_slots,
    visit_key,
)
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.plugins.storage.common import audited_records
from twores.services.supervision import VisitInput, record_visit, schedule
from twores.services.synth import synthetic_roster
from twores.testing.postgres import POSTGRES_URL, fresh_sql_store
from twores.testing.strategies import periods, rosters

from .helpers import ADMIN, COUNTY, START, load


@given(
    rosters(max_businesses=20),
    periods(),
    st.lists(st.sampled_from(list(PeriodKind)), min_size=1, max_size=3),
    st.integers(1, 3),
)
def test_tasks_are_exactly_what_the_frequency_rule_requires(
    roster: twores.Roster, requested: Period, kinds: list[PeriodKind], visits: int
) -> None:
    def frequency_of(business: twores.FoodBusiness) -> Frequency:
        return Frequency(kinds[hash(business.key) % len(kinds)], visits)

    by_business: dict[str, list[Assignment]] = {}
    for assignment in roster.assignments:
        by_business.setdefault(assignment.business_key, []).append(assignment)

    def slots_of(business: twores.FoodBusiness) -> tuple[TaskSlot, ...]:
        return task_slots(requested, frequency_of(business), lambda p: p.end, requested.start)

    tasks = required_tasks(roster.businesses.values(), by_business, slots_of)
    expected = Counter(
        {
            b.key: len(task_periods(requested, frequency_of(b).kind)) * visits
            for b in roster.businesses.values()
            if b.status is not OperatingStatus.CLOSED
        }
    )
    assert Counter(t.business_key for t in tasks) == expected
    assert len({t.key for t in tasks}) == len(tasks)
    for task in tasks:
        assert task.period.start <= requested.end and task.period.end >= requested.start
        business = roster.businesses[task.business_key]
        assert task.exempt == (business.status is OperatingStatus.SUSPENDED)


def test_scheduling_again_changes_nothing(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    first = schedule(app, store, ADMIN, "2026Q1", on=START)
    in_scope = [b for b in roster.businesses.values() if b.status is not OperatingStatus.CLOSED]
    assert first.tasks == len(in_scope) and first.written.inserted == first.tasks
    again = schedule(app, store, ADMIN, "2026Q1", on=START)
    assert again.written.changed == 0 and again.retired == 0


def test_every_scheduled_task_is_audited_with_what_the_plan_decided(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    _assert_scheduled_tasks_audited(app, store, roster)


@pytest.mark.skipif(POSTGRES_URL is None, reason="TWORES_TEST_POSTGRES_URL is not set")
def test_every_scheduled_task_is_audited_on_postgresql(
    app: twores.Twores, roster: twores.Roster
) -> None:
    with fresh_sql_store("postgresql") as store:
        _assert_scheduled_tasks_audited(app, store, roster)


def _assert_scheduled_tasks_audited(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    """The first run of 2026Q1, after 2025Q4's tasks were filed, audits exactly its own."""
    load(store, roster, START)
    schedule(app, store, ADMIN, "2025Q4", on=START)
    with store.unit_of_work(ADMIN) as uow:
        before = len(list(uow.audit.entries()))
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        span = Period.parse("2026Q1")
        tasks = list(uow.tasks.stream(overlapping=(span.start, span.end)))
        entries = [e for e in list(uow.audit.entries())[before:] if e.entity == "task"]
        assert uow.audit.verify() == []
    assert {e.operation for e in entries} == {"insert"}
    assert {e.actor for e in entries} == {ADMIN.actor}
    audited = {k: r for e in entries for k, r in audited_records(e).items()}
    assert audited.keys() == {t.key for t in tasks}
    for task in tasks:
        recorded = audited[task.key]
        assert recorded["area_code"] == task.area_code
        assert recorded["cadre_id"] == task.cadre_id
        assert recorded["exempt_reason"] == task.exempt_reason
        assert str(recorded["due_on"]) == task.due_on.isoformat()


def test_a_county_office_schedules_its_own_county(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    neighbour = "450324"
    hierarchy = demo_region()
    others = synthetic_roster(hierarchy.subtree(neighbour), businesses=30, cadres=10, seed=6)
    load(store, roster, START)
    load(store, others, START)
    office = twores.Scope("county office", twores.Role.OFFICE, COUNTY)
    report = schedule(app, store, office, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        tasks = list(uow.tasks.stream())
    assert report.tasks == len(tasks) > 0
    assert {t.area_code[:6] for t in tasks} == {COUNTY}
    with pytest.raises(ScopeError):
        schedule(app, store, twores.Scope("reader", twores.Role.READ_ONLY, COUNTY), "2026Q2")


def _handed_over(app: twores.Twores, store: Store, roster: twores.Roster) -> tuple[str, str, str]:
    """Hand one business from its cadre to a colleague of the same area on 02-15."""
    with store.unit_of_work(ADMIN) as uow:
        held = list(uow.assignments.stream(active_on=START))
        first = held[0]
        old = uow.cadres.get(first.cadre_id)
        assert old is not None
        colleague = attrs.evolve(old, id=f"{old.id}-b", name="接任干部")
        uow.cadres.upsert_many([colleague])
        uow.assignments.upsert_many(
            [
                first.ended(date(2026, 2, 15)),
                Assignment(
                    colleague.id,
                    first.business_key,
                    date(2026, 2, 15),
                    None,
                    AssignmentReason.MANUAL,
                ),
            ]
        )
        uow.commit()
    return first.business_key, old.id, colleague.id


def test_the_task_moves_and_the_cadre_assigned_on_the_visit_date_gets_the_credit(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    business, old, new = _handed_over(app, store, roster)
    report = schedule(app, store, ADMIN, "2026Q1", on=date(2026, 2, 20))
    assert report.written.updated == 1  # the task follows the business to its new cadre
    with store.unit_of_work(ADMIN) as uow:
        (task,) = uow.tasks.stream(business_key=business)
    assert task.cadre_id == new
    now = datetime(2026, 3, 1, 9, tzinfo=CHINA_TZ)
    with pytest.raises(NotAssignedError):
        record_visit(app, store, ADMIN, VisitInput(business, old, date(2026, 2, 20)), now=now)
    outcome = record_visit(app, store, ADMIN, VisitInput(business, new, date(2026, 2, 20)), now=now)
    assert outcome.task is not None and outcome.task.credited_to == new
    with store.unit_of_work(ADMIN) as uow:
        (task,) = uow.tasks.stream(business_key=business)
    assert task.done and task.credited_to == new


def test_a_visit_before_the_hand_over_credits_the_cadre_of_that_day(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    business, old, new = _handed_over(app, store, roster)
    schedule(app, store, ADMIN, "2026Q1", on=date(2026, 2, 20))
    now = datetime(2026, 3, 1, 9, tzinfo=CHINA_TZ)
    with pytest.raises(NotAssignedError):
        record_visit(app, store, ADMIN, VisitInput(business, new, date(2026, 2, 1)), now=now)
    outcome = record_visit(app, store, ADMIN, VisitInput(business, old, date(2026, 2, 1)), now=now)
    assert outcome.task is not None and outcome.task.credited_to == old


@pytest.mark.parametrize(
    ("recorded", "late"),
    [
        (datetime(2026, 3, 31, 23, 59, 59, tzinfo=CHINA_TZ), False),
        (datetime(2026, 3, 31, 15, 59, 59, tzinfo=twores.core.periods.ZoneInfo("UTC")), False),
        (datetime(2026, 4, 1, 0, 0, 0, tzinfo=CHINA_TZ), True),
        (datetime(2026, 3, 31, 16, 0, 0, tzinfo=twores.core.periods.ZoneInfo("UTC")), True),
    ],
)
def test_the_window_closes_at_midnight_in_china(
    app: twores.Twores, store: Store, roster: twores.Roster, recorded: datetime, late: bool
) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        assignment = next(uow.assignments.stream(active_on=START))
    visit = VisitInput(assignment.business_key, assignment.cadre_id, date(2026, 3, 20))
    if late:
        with pytest.raises(WindowClosedError):
            record_visit(app, store, ADMIN, visit, now=recorded)
        with store.unit_of_work(ADMIN) as uow:
            assert list(uow.visits.stream()) == []  # refused: nothing written
        visit = attrs.evolve(visit, late_reason="系统故障补录")
    outcome = record_visit(app, store, ADMIN, visit, now=recorded)
    assert outcome.late is late and outcome.task is not None


def _scheduled(app: twores.Twores, store: Store, roster: twores.Roster) -> Assignment:
    """The roster loaded, 2026Q1 scheduled: the first assignment held at its start."""
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        return next(uow.assignments.stream(active_on=START))


def test_modes_that_do_not_count_leave_the_task_open(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    a = _scheduled(app, store, roster)
    now = datetime(2026, 3, 2, 10, tzinfo=CHINA_TZ)
    other = VisitInput(a.business_key, a.cadre_id, date(2026, 3, 1), mode="其他")
    assert record_visit(app, store, ADMIN, other, now=now).task is None
    video = VisitInput(a.business_key, a.cadre_id, date(2026, 3, 2), mode="视频督导")
    outcome = record_visit(app, store, ADMIN, video, now=now)
    assert outcome.task is not None and outcome.visit.mode is VisitMode.VIDEO
    again = record_visit(app, store, ADMIN, video, now=now)
    assert again.written.changed == 0 and again.task == outcome.task


def test_recording_the_same_visit_again_later_changes_nothing(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    a = _scheduled(app, store, roster)
    with store.unit_of_work(ADMIN) as uow:
        entries = len(list(uow.audit.entries()))
    visit = VisitInput(a.business_key, a.cadre_id, date(2026, 3, 2))
    first = record_visit(app, store, ADMIN, visit, now=datetime(2026, 3, 2, 10, tzinfo=CHINA_TZ))
    after_window = datetime(2026, 5, 6, 9, tzinfo=CHINA_TZ)  # Q1's window has closed
    again = record_visit(app, store, ADMIN, visit, now=after_window)
    assert again.written.changed == 0 and not again.late
    assert again.visit.recorded_at == first.visit.recorded_at  # entered when it first was
    with store.unit_of_work(ADMIN) as uow:
        assert len(list(uow.audit.entries())) == entries + 2  # the visit and its task, once
    edited = attrs.evolve(visit, mode="视频督导", late_reason="  ")
    with pytest.raises(WindowClosedError):  # a blank reason is no reason
        record_visit(app, store, ADMIN, edited, now=after_window)


def test_a_visit_recorded_again_keeps_its_findings_and_opens_the_added_ones(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    a = _scheduled(app, store, roster)
    now = datetime(2026, 3, 2, 10, tzinfo=CHINA_TZ)
    first = VisitInput(a.business_key, a.cadre_id, date(2026, 3, 2), findings=("后厨地面油污",))
    record_visit(app, store, ADMIN, first, now=now)
    replaced = attrs.evolve(first, findings=("新发现：无健康证",))
    with pytest.raises(FindingsRecordedError, match="后厨地面油污"):
        record_visit(app, store, ADMIN, replaced, now=now + timedelta(hours=2))
    added = attrs.evolve(first, findings=("后厨地面油污", "新发现：无健康证"))
    again = record_visit(app, store, ADMIN, added, now=now + timedelta(hours=2))
    assert again.written.updated == 1 and len(again.opened) == 1
    with store.unit_of_work(ADMIN) as uow:
        found = sorted(p.description for p in uow.problems.stream())
        assert uow.visits.get(again.visit.key).findings == added.findings
    assert found == ["后厨地面油污", "新发现：无健康证"]


def test_a_read_only_scope_records_no_visit_not_even_one_recorded_before(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    a = _scheduled(app, store, roster)
    visit = VisitInput(a.business_key, a.cadre_id, date(2026, 3, 2))
    now = datetime(2026, 3, 2, 10, tzinfo=CHINA_TZ)
    record_visit(app, store, ADMIN, visit, now=now)
    viewer = twores.Scope("访客", twores.Role.READ_ONLY)
    with pytest.raises(ScopeError):
        record_visit(app, store, viewer, visit, now=now)


def test_suspended_businesses_are_exempt_and_closed_ones_drop_out(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    keys = sorted(roster.businesses)[:2]
    with store.unit_of_work(ADMIN) as uow:
        suspended, closed = (uow.businesses.get(k) for k in keys)
        assert suspended is not None and closed is not None
        uow.businesses.upsert_many(
            [
                attrs.evolve(
                    suspended, status=OperatingStatus.SUSPENDED, status_since=date(2026, 2, 1)
                ),
                attrs.evolve(closed, status=OperatingStatus.CLOSED),
            ]
        )
        uow.commit()
    report = schedule(app, store, ADMIN, "2026Q1", on=date(2026, 2, 2))
    assert report.retired == 1
    with store.unit_of_work(ADMIN) as uow:
        (held,) = uow.tasks.stream(business_key=keys[0])
        (gone,) = uow.tasks.stream(business_key=keys[1])
    assert held.exempt_reason == "停业（自2026-02-01）"
    assert gone.exempt and not gone.done
    assert report.tasks == len(roster.businesses) - 1
    assert schedule(app, store, ADMIN, "2026Q2", on=date(2026, 4, 1)).tasks == report.tasks
    with store.unit_of_work(ADMIN) as uow:
        assert len(list(uow.tasks.stream(business_key=keys[1]))) == 1  # none for Q2


def test_memory_and_sqlite_agree_on_tasks_and_visits(
    app: twores.Twores, roster: twores.Roster, tmp_path: Path
) -> None:
    results = []
    for store in (MemoryStore(), SqlStore(f"sqlite:///{tmp_path / 'agree.db'}")):
        load(store, roster, START)
        schedule(app, store, ADMIN, "2026H1", on=START)
        with store.unit_of_work(ADMIN) as uow:
            held = list(uow.assignments.stream(active_on=START))[:10]
        now = datetime(2026, 5, 1, 8, tzinfo=CHINA_TZ)
        for i, a in enumerate(held):
            day = START + timedelta(days=10 * i)
            record_visit(
                app,
                store,
                ADMIN,
                VisitInput(a.business_key, a.cadre_id, day, findings=("未公示许可证",)),
                now=now if day > date(2026, 3, 31) else datetime(2026, 3, 31, 12, tzinfo=CHINA_TZ),
            )
        with store.unit_of_work(ADMIN) as uow:
            results.append(
                (
                    list(uow.tasks.stream()),
                    list(uow.tasks.stream(overlapping=(date(2026, 4, 1), date(2026, 4, 30)))),
                    list(uow.visits.stream()),
                    list(uow.visits.stream(between=(date(2026, 1, 1), date(2026, 1, 31)))),
                    list(uow.tasks.stream(within=COUNTY + "101")),
                )
            )
    assert results[0] == results[1]
    assert len(results[0][2]) == 10


def test_the_township_plan_closes_q4_on_november_30(store: Store, roster: twores.Roster) -> None:
    from twores.plugins.regions import township_plan_2023

    app = twores.build(load_entrypoints=False)
    app.plugins.register(township_plan_2023)
    assert app.plugins.window_close(Period.parse("2026Q4")).value == date(2026, 11, 30)
    assert app.plugins.window_close(Period.parse("2026Q1")).value == date(2026, 3, 31)
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q4", on=date(2026, 10, 1))
    with store.unit_of_work(ADMIN) as uow:
        a = next(uow.assignments.stream(active_on=START))
    visit = VisitInput(a.business_key, a.cadre_id, date(2026, 11, 20))
    with pytest.raises(WindowClosedError):
        record_visit(app, store, ADMIN, visit, now=datetime(2026, 12, 1, 9, tzinfo=CHINA_TZ))
    ok = record_visit(app, store, ADMIN, visit, now=datetime(2026, 11, 30, 23, tzinfo=CHINA_TZ))
    assert ok.task is not None and not ok.late


@given(
    handover=st.dates(min_value=date(2026, 1, 2), max_value=date(2026, 3, 31)),
    visit=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 3, 31)),
)
def test_credit_goes_to_the_cadre_assigned_on_the_visit_date(handover: date, visit: date) -> None:
    app = twores.build(load_entrypoints=False)
    store = MemoryStore()
    hierarchy = demo_region().subtree(COUNTY)
    small = synthetic_roster(hierarchy, businesses=5, cadres=4, seed=2, within=COUNTY)
    load(store, small, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        first = next(uow.assignments.stream(active_on=START))
        old = uow.cadres.get(first.cadre_id)
        assert old is not None
        new = attrs.evolve(old, id=f"{old.id}-b", name="接任干部")
        uow.cadres.upsert_many([new])
        uow.assignments.upsert_many(
            [
                first.ended(handover),
                Assignment(new.id, first.business_key, handover, None, AssignmentReason.MANUAL),
            ]
        )
        uow.commit()
    schedule(app, store, ADMIN, "2026Q1", on=handover)
    holder, other = (new.id, old.id) if visit >= handover else (old.id, new.id)
    now = datetime(2026, 3, 31, 20, tzinfo=CHINA_TZ)
    with pytest.raises(NotAssignedError):
        record_visit(app, store, ADMIN, VisitInput(first.business_key, other, visit), now=now)
    done = record_visit(app, store, ADMIN, VisitInput(first.business_key, holder, visit), now=now)
    assert done.task is not None and done.task.credited_to == holder


def test_a_business_that_moves_within_its_county_takes_its_fulfilled_task_along(
    app: twores.Twores, store: Store
) -> None:
    """Scheduling goes county by county; a moved business's task keeps its visit, and a
    business filed at city level (its own distribution key) is scheduled too. A move to
    another county is a new registration there, refused (``cross_county_move``)."""
    from twores.services.synth import synthetic_businesses

    city = demo_region().subtree("4503")
    roster = synthetic_roster(city, businesses=60, cadres=30, seed=8, within="4503")
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        counties = uow.businesses.county_codes()
        assert len(counties) > 1
        task = next(iter(uow.tasks.stream(county_code=counties[0])))
        business = uow.businesses.get(task.business_key)
        assert business is not None
        elsewhere = next(  # another village of the same county
            a.code
            for a in city.subtree(counties[0])
            if a.code != business.area_code and a.tier is twores.Tier.VILLAGE
        )
        other_county = next(b for b in uow.businesses.stream(county_code=counties[-1]))
        visited = visit_key(task.business_key, START, "c")
        uow.tasks.upsert_many([attrs.evolve(task, visit_id=visited, credited_to="c")])
        (extra,) = synthetic_businesses(city, 1, seed=99)
        uow.businesses.upsert_many(
            [
                attrs.evolve(business, area_code=elsewhere),
                attrs.evolve(extra, area_code="4503"),
            ]
        )
        uow.commit()
    with pytest.raises(twores.StructureError) as refused, store.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many([attrs.evolve(business, area_code=other_county.area_code)])
    assert "cross_county_move" in {e.code for e in refused.value.errors}
    report = schedule(app, store, ADMIN, "2026Q1", on=START)
    assert report.retired == 0 and report.tasks == len(roster.businesses) + 1
    with store.unit_of_work(ADMIN) as uow:
        moved = uow.tasks.get_many([task.key])[task.key]
        assert moved.done and moved.area_code == elsewhere
        assert task.key in {t.key for t in uow.tasks.stream(county_code=counties[0])}
        assert "4503" in uow.businesses.county_codes()
        assert [t.area_code for t in uow.tasks.stream(county_code="4503")] == ["4503"]
    again = schedule(app, store, ADMIN, "2026Q1", on=START)
    assert again.written.inserted == again.written.updated == 0


def test_a_township_office_records_no_visit_of_a_cadre_above_it(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    with store.unit_of_work(ADMIN) as uow:
        above = next(
            a
            for a in uow.assignments.stream(active_on=START)
            if roster.cadres[a.cadre_id].area_code == COUNTY
            and roster.businesses[a.business_key].area_code != COUNTY
        )
    township = roster.hierarchy.ancestor(
        roster.businesses[above.business_key].area_code, twores.Tier.TOWNSHIP
    )
    assert township is not None
    office = twores.Scope("镇食安办", twores.Role.OFFICE, township.code)
    visit = VisitInput(above.business_key, above.cadre_id, date(2026, 3, 2))
    with pytest.raises(twores.ScopeError, match=above.cadre_id):
        record_visit(app, store, office, visit, now=datetime(2026, 3, 2, 18, tzinfo=CHINA_TZ))
    county = twores.Scope("县食安办", twores.Role.OFFICE, COUNTY)
    assert record_visit(
        app, store, county, visit, now=datetime(2026, 3, 2, 18, tzinfo=CHINA_TZ)
    ).visit


def test_a_visit_stored_with_a_no_problem_finding_is_recorded_again_without_it(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    """A visit filed before "无" was read as no finding holds it as one: recording the same
    visit again is no change of findings, not a refusal."""
    a = _scheduled(app, store, roster)
    now = datetime(2026, 3, 2, 10, tzinfo=CHINA_TZ)
    visit = VisitInput(a.business_key, a.cadre_id, date(2026, 3, 2), findings=("无",))
    first = record_visit(app, store, ADMIN, visit, now=now)
    assert first.visit.findings == () and not first.opened
    with store.unit_of_work(ADMIN) as uow:  # as an earlier release stored it
        uow.visits.upsert_many([attrs.evolve(first.visit, findings=("无",))])
        uow.commit()
    again = record_visit(app, store, ADMIN, visit, now=now + timedelta(hours=2))
    assert again.written.updated == 1 and again.visit.findings == () and not again.opened
