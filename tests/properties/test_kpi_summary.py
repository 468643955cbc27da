"""After any sequence of writes, the SQL backend's KPI summary equals a recount from raw rows
and equals the memory backend (the reference)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import twores
from twores.core.businesses import OperatingStatus, Staff, StaffMember
from twores.core.duties import DutyKind, DutyRecord, StaffRole
from twores.core.letters import Letter
from twores.core.periods import CHINA_TZ
from twores.core.ports import Store, UnitOfWork
from twores.core.roster import Roster
from twores.core.supervision import SupervisionTask, visit_key
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.kpis import compute_kpis, kpi_dashboard
from twores.services.problems import NewProblem, open_problems
from twores.services.supervision import schedule
from twores.testing.postgres import fresh_sql_store, sql_backends
from twores.testing.strategies import rosters

ADMIN = twores.Scope("tester", twores.Role.ADMIN)
APP = twores.build(load_entrypoints=False)
START = date(2026, 1, 5)
DAYS = st.dates(date(2026, 1, 1), date(2026, 3, 31))
Write = Callable[[UnitOfWork], object]


def _load(roster: Roster) -> Write:
    def write(uow: UnitOfWork) -> object:
        uow.areas.upsert_many(roster.hierarchy)
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        return uow.assignments.upsert_many(roster.assignments)

    return write


@st.composite
def writes(draw: st.DrawFn, roster: Roster) -> tuple[str, object]:
    """One write to the raw tables, or a KPI read that fills the summary."""
    businesses = sorted(roster.businesses.values(), key=lambda b: b.key)
    cadres = sorted(roster.cadres.values(), key=lambda c: c.id)
    kind = draw(
        st.sampled_from(
            [
                "schedule",
                "visit",
                "visit",
                "exempt",
                "status",
                "opened",
                "staff",
                "duty",
                "letter",
                "problem",
                "end",
                "read",
                "read",
            ]
        )
    )
    if kind in ("status", "opened", "staff", "duty", "problem") and businesses:
        b = draw(st.sampled_from(businesses))
        if kind == "status":
            status = draw(st.sampled_from(list(OperatingStatus)))
            since = draw(DAYS)
            opened = b.opened_on if b.opened_on is None or b.opened_on <= since else None
            return kind, attrs.evolve(b, status=status, status_since=since, opened_on=opened)
        if kind == "opened":  # opened in the quarter, or not known
            opened = draw(
                st.none() | DAYS.filter(lambda d: b.status_since is None or d <= b.status_since)
            )
            return kind, attrs.evolve(b, opened_on=opened)
        if kind == "staff":
            person = StaffMember("李四", banned_until=draw(st.none() | DAYS))  # banned: no count
            staff = Staff(
                director=person if draw(st.booleans()) else None,
                officer=person if draw(st.booleans()) else None,
            )
            return kind, attrs.evolve(b, staff=staff)
        if kind == "duty":
            routine = draw(st.sampled_from(list(DutyKind)))
            role = StaffRole.DIRECTOR if routine is DutyKind.WEEKLY else StaffRole.HEAD
            role = StaffRole.OFFICER if routine is DutyKind.DAILY else role
            return kind, DutyRecord(b.key, b.area_code, routine, draw(DAYS), role, "王五")
        return kind, NewProblem(b.key, draw(st.sampled_from(["过期", "脏乱"])), "甲", draw(DAYS))
    if kind == "letter" and cadres:
        c = draw(st.sampled_from(cadres))
        year = draw(st.sampled_from([2025, 2026]))  # last year's, signed in its autumn, counts
        early = st.dates(date(2025, 1, 1), date(2025, 12, 31)) if year == 2025 else DAYS
        signed = draw(st.none() | early)
        generated = date(year, 1, 1)
        if signed is not None and draw(st.booleans()):  # superseded: a second row, as history
            generated = signed + timedelta(days=draw(st.integers(1, 60)))
        return kind, Letter(c.id, c.area_code, year, "h", 1, generated, signed)
    if kind in ("visit", "exempt", "end"):
        return kind, draw(st.integers(0, 1_000))
    if kind == "read":
        counties = [a.code for a in roster.hierarchy if a.tier.depth <= 3]
        return kind, (draw(DAYS), draw(st.none() | st.sampled_from(counties)))
    return "schedule", None


def _apply(store: Store, kind: str, arg: object) -> None:
    if kind == "schedule":
        schedule(APP, store, ADMIN, "2026Q1", on=START)
    elif kind == "problem":
        at = datetime(2026, 3, 31, 9, tzinfo=CHINA_TZ)
        open_problems(APP, store, ADMIN, [arg], at=at)  # type: ignore[list-item]
    elif kind == "read":
        day, within = arg  # type: ignore[misc]
        compute_kpis(APP, store, ADMIN, "2026Q1", as_of=day, within=within)
    else:
        with store.unit_of_work(ADMIN) as uow:
            _write(uow, kind, arg)
            uow.commit()


def _write(uow: UnitOfWork, kind: str, arg: object) -> None:
    if kind in ("status", "opened", "staff"):
        uow.businesses.upsert_many([arg])  # type: ignore[list-item]
    elif kind == "duty":
        uow.duties.upsert_many([arg])  # type: ignore[list-item]
    elif kind == "letter":
        uow.letters.upsert_many([arg])  # type: ignore[list-item]
    elif kind in ("visit", "exempt"):
        tasks = list(uow.tasks.stream())
        if tasks:
            t = tasks[int(arg) % len(tasks)]  # type: ignore[call-overload]
            days = (t.period.end - t.period.start).days + 1
            day = t.period.start + timedelta(days=int(arg) % days)  # type: ignore[call-overload]
            visit = visit_key(t.business_key, day, t.cadre_id or "c0")
            done = attrs.evolve(t, visit_id=None if t.done else visit)
            uow.tasks.upsert_many(
                [done if kind == "visit" else attrs.evolve(t, exempt_reason="停业")]
            )
    elif kind == "end":
        held = list(uow.assignments.stream(active_on=START))
        if held:
            uow.assignments.upsert_many([held[int(arg) % len(held)].ended(date(2026, 2, 1))])  # type: ignore[call-overload]


@pytest.mark.parametrize("backend", sql_backends())
@settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), roster=rosters(max_businesses=10, max_cadres=6))
def test_summary_equals_a_recount_and_the_memory_backend(
    backend: str, data: st.DataObject, roster: Roster
) -> None:
    with fresh_sql_store(backend) as sql:
        memory = MemoryStore()
        for store in (memory, sql):
            with store.unit_of_work(ADMIN) as uow:
                _load(roster)(uow)
                uow.commit()
        steps = data.draw(st.lists(writes(roster), max_size=12))
        for kind, arg in [("schedule", None), *steps]:
            for store in (memory, sql):
                _apply(store, kind, arg)
            day = data.draw(DAYS)
            summary = compute_kpis(APP, sql, ADMIN, "2026Q1", as_of=day).values
            recount = compute_kpis(APP, sql, ADMIN, "2026Q1", as_of=day, fresh=True).values
            reference = compute_kpis(APP, memory, ADMIN, "2026Q1", as_of=day).values
            assert summary == recount
            assert summary == reference
        day = data.draw(DAYS)
        reference = compute_kpis(APP, memory, ADMIN, "2026Q1", as_of=day).values
        root = roster.hierarchy.roots[0].code if roster.hierarchy.roots else None
        board = kpi_dashboard(APP, sql, ADMIN, "2026Q1", root, as_of=day)
        for name, row in board.values.items():
            assert all(v == reference[name].get(v.area_code, v) for v in row.values())


def test_completing_a_task_moves_the_summary_without_a_recount(tmp_path: Path) -> None:
    from twores.divisions import demo_region
    from twores.plugins.sqlalchemy import tables
    from twores.services.synth import synthetic_roster

    county = "450323"
    hierarchy = demo_region().subtree(county)
    roster = synthetic_roster(hierarchy, businesses=30, cadres=10, seed=3, within=county)
    from twores.core.assignment import plan_assignments

    sql = SqlStore(f"sqlite:///{tmp_path / 'k.db'}")
    with sql.unit_of_work(ADMIN) as uow:
        _load(roster)(uow)
        uow.assignments.apply(plan_assignments(roster, APP.plugins.rulebook(), START))
        uow.commit()
    schedule(APP, sql, ADMIN, "2026Q1", on=START)
    day = date(2026, 3, 31)
    before = compute_kpis(APP, sql, ADMIN, "2026Q1", as_of=day).value("task_completion", county)
    with sql.unit_of_work(ADMIN) as uow:
        task = next(t for t in uow.tasks.stream() if not t.done and not t.exempt)
        uow.tasks.upsert_many([attrs.evolve(task, visit_id=_visit_of(task))])
        uow.commit()
    s = tables.kpi_states
    with sql.engine.connect() as connection:  # moved by the write itself, stamp and all
        row = connection.execute(
            s.select().where(
                s.c.kpi == "task_completion", s.c.as_of == day, s.c.county_code == county
            )
        ).one()
        v = tables.kpi_versions
        versions = connection.execute(v.select().where(v.c.county_code == county)).all()
    assert row.numerator == before.numerator + 1
    assert row.stamp == next(v.version for v in versions if v.source == "task")
    after = compute_kpis(APP, sql, ADMIN, "2026Q1", as_of=day)
    assert after.value("task_completion", county).numerator == before.numerator + 1
    sql.close()


def test_the_dashboard_moves_when_a_task_is_completed(tmp_path: Path) -> None:
    """Above county level the dashboard is remembered per process until a county's change
    versions move: a completed task shows on the next read."""
    from twores.core.assignment import plan_assignments
    from twores.divisions import demo_region
    from twores.services.synth import synthetic_roster

    city = demo_region().subtree("4503")
    roster = synthetic_roster(city, businesses=40, cadres=20, seed=4, within="4503")
    sql = SqlStore(f"sqlite:///{tmp_path / 'k.db'}")
    with sql.unit_of_work(ADMIN) as uow:
        _load(roster)(uow)
        uow.assignments.apply(plan_assignments(roster, APP.plugins.rulebook(), START))
        uow.commit()
    schedule(APP, sql, ADMIN, "2026Q1", on=START)
    day = date(2026, 3, 31)

    def done() -> int:
        board = kpi_dashboard(APP, sql, ADMIN, "2026Q1", "4503", as_of=day)
        return board.values["task_completion"]["4503"].numerator

    before = done()
    assert done() == before  # remembered
    with sql.unit_of_work(ADMIN) as uow:
        task = next(t for t in uow.tasks.stream() if not t.done and not t.exempt)
        uow.tasks.upsert_many([attrs.evolve(task, visit_id=_visit_of(task))])
        uow.commit()
    assert done() == before + 1
    sql.close()


def _visit_of(task: SupervisionTask) -> str:
    return visit_key(task.business_key, task.period.start, "c1")
