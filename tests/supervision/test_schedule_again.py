"""Scheduling again follows every input of a county: after a hand-over, a change of rules
(also of only the frequency a grade gets) or of a business, the SQL backend (which skips
counties whose inputs did not change) gives what the memory backend gives; with nothing
changed it schedules no county again."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

import twores
from twores.core.areas import Tier
from twores.core.businesses import OperatingStatus
from twores.core.periods import Frequency, PeriodKind
from twores.core.ports import Store
from twores.core.rules import Ruling
from twores.plugins import hookimpl
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.plugins.sqlalchemy.repos.sync_marks import SyncMarks
from twores.services.supervision import schedule
from twores.testing.postgres import POSTGRES_URL, fresh_sql_store

from .helpers import ADMIN, START, load
from .test_schedule_rules import HALF_YEARLY, GradeDependentRules


def _change(app: twores.Twores, store: Store, change: str) -> None:
    with store.unit_of_work(ADMIN) as uow:
        if change == "hand-over":
            held = sorted(uow.assignments.stream(), key=lambda a: a.business_key)[:5]
            uow.assignments.upsert_many([a.ended(START) for a in held])  # from the start
        elif change == "business":
            first = next(iter(sorted(uow.businesses.stream(), key=lambda b: b.key)))
            uow.businesses.upsert_many([attrs.evolve(first, status=OperatingStatus.SUSPENDED)])
        uow.commit()
    if change == "rules":
        app.plugins.register(GradeDependentRules())
    elif change == "grade-rules":
        app.plugins.unregister(name="grade-dependent")
        app.plugins.register(MonthlyCountyRules())


class MonthlyCountyRules(GradeDependentRules):
    """As GradeDependentRules, but county-tier cadres visit monthly."""

    @hookimpl
    def twores_supervision_frequency(self, tier: Tier) -> Ruling[Frequency] | None:
        if tier is Tier.COUNTY:
            return Ruling(Frequency(PeriodKind.MONTH, 1), HALF_YEARLY)
        return None


_statements: list[str] = []


def _recorded(connection: object, cursor: object, statement: str, *rest: object) -> None:
    _statements.append(statement)


@pytest.mark.parametrize("change", ["hand-over", "rules", "grade-rules", "business", "nothing"])
def test_scheduling_again_follows_every_input(
    roster: twores.Roster, tmp_path: Path, change: str
) -> None:
    found = []
    _statements.clear()
    sql = SqlStore(f"sqlite:///{tmp_path / 'again.db'}")
    for store in (MemoryStore(), sql):
        app = twores.build(load_entrypoints=False)
        if change == "grade-rules":  # the grade decides before and after
            app.plugins.register(GradeDependentRules(), name="grade-dependent")
        load(store, roster, START)
        schedule(app, store, ADMIN, "2026Q1", on=START)
        _change(app, store, change)
        if store is sql:
            sa.event.listen(sql.engine, "before_cursor_execute", _recorded)
        report = schedule(app, store, ADMIN, "2026Q1", on=START)
        with store.unit_of_work(ADMIN) as uow:
            found.append((report, list(uow.tasks.stream())))
    assert found[0] == found[1]
    rescheduled = any("INSERT INTO twores_wanted" in s for s in _statements)
    assert rescheduled is (change != "nothing")
    assert (found[0][0].written.changed > 0) is (change != "nothing")


@pytest.mark.skipif(POSTGRES_URL is None, reason="TWORES_TEST_POSTGRES_URL is not set")
def test_a_change_committed_during_a_run_is_scheduled_by_the_next(
    roster: twores.Roster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL another writer can start while a run is under way (it waits for the
    run to commit before it writes); its change must not count as read: the next run
    schedules the county again."""
    renamed, suspended = sorted(roster.businesses)[:2]

    def change(store: Store, key: str, **values: object) -> None:
        with store.unit_of_work(ADMIN) as uow:
            business = uow.businesses.get(key)
            assert business is not None
            uow.businesses.upsert_many([attrs.evolve(business, **values)])
            uow.commit()

    def suspend(store: Store) -> None:
        change(store, suspended, status=OperatingStatus.SUSPENDED)

    found = []
    with fresh_sql_store("postgresql") as sql:
        for store in (MemoryStore(), sql):
            app = twores.build(load_entrypoints=False)
            load(store, roster, START)
            schedule(app, store, ADMIN, "2026Q1", on=START)
            change(store, renamed, name="改名饭店")  # the county is read again, no task moves
            if store is sql:  # another writer starts while the run is under way
                save = SyncMarks.save
                writer = threading.Thread(target=suspend, args=(sql,))
                monkeypatch.setattr(
                    SyncMarks, "save", lambda m, f, s=save, w=writer: (w.start(), s(m, f))
                )
                schedule(app, store, ADMIN, "2026Q1", on=START)
                writer.join()
                monkeypatch.setattr(SyncMarks, "save", save)
            else:
                schedule(app, store, ADMIN, "2026Q1", on=START)
                suspend(store)
            report = schedule(app, store, ADMIN, "2026Q1", on=START)
            with store.unit_of_work(ADMIN) as uow:
                found.append((report, list(uow.tasks.stream())))
    assert found[0] == found[1]
    assert found[0][0].exempt == 1


def test_marks_of_another_release_do_not_hold(
    roster: twores.Roster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an upgrade, what scheduling writes may have changed: every county is read."""
    from twores.plugins.sqlalchemy.repos import sync_marks

    app = twores.build(load_entrypoints=False)
    store = SqlStore(f"sqlite:///{tmp_path / 'upgraded.db'}")
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    _statements.clear()
    sa.event.listen(store.engine, "before_cursor_execute", _recorded)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    assert not any("INSERT INTO twores_wanted" in s for s in _statements)
    monkeypatch.setattr(sync_marks, "SCHEDULER", "a later release")
    schedule(app, store, ADMIN, "2026Q1", on=START)
    assert any("INSERT INTO twores_wanted" in s for s in _statements)


_BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            POSTGRES_URL is None, reason="TWORES_TEST_POSTGRES_URL is not set"
        ),
    ),
]


@pytest.mark.parametrize("backend", _BACKENDS)
@pytest.mark.parametrize(
    "periods", [("2026Q1", "2026Q1"), ("2026Q1", "2026"), ("2026Q1", "2026Q2")]
)
def test_runs_at_once_wait_for_each_other(
    roster: twores.Roster, backend: str, periods: tuple[str, str]
) -> None:
    """Two runs at once (of one period, or of periods that share tasks: a year and its
    quarter, two quarters and their half-year) both succeed and leave what running them
    one after the other leaves, instead of one failing on the other's tasks or locks."""
    app = twores.build(load_entrypoints=False)
    app.plugins.register(GradeDependentRules())  # county-tier businesses: half-yearly
    memory = MemoryStore()
    load(memory, roster, START)
    for period in periods:
        schedule(app, memory, ADMIN, period, on=START)
    with fresh_sql_store(backend) as sql:
        load(sql, roster, START)
        with ThreadPoolExecutor(2) as pool:
            runs = [pool.submit(schedule, app, sql, ADMIN, p, on=START) for p in periods]
            for run in runs:
                run.result()
        with sql.unit_of_work(ADMIN) as uow, memory.unit_of_work(ADMIN) as reference:
            assert list(uow.tasks.stream()) == list(reference.tasks.stream())


def test_a_status_taken_after_a_period_leaves_its_tasks_owed(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    from datetime import date

    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        first = sorted(uow.businesses.stream(), key=lambda b: b.key)[:3]
        statuses = [
            (OperatingStatus.SUSPENDED, date(2026, 8, 1)),
            (OperatingStatus.CLOSED, date(2026, 9, 1)),
            (OperatingStatus.REVOKED, date(2026, 5, 1)),
        ]
        uow.businesses.upsert_many(
            attrs.evolve(b, status=status, status_since=since)
            for b, (status, since) in zip(first, statuses, strict=True)
        )
        uow.commit()
    again = schedule(app, store, ADMIN, "2026Q1", on=date(2026, 12, 1))
    assert again.written.changed == 0 and again.retired == 0  # Q1 was owed in full
    schedule(app, store, ADMIN, "2026Q3", on=date(2026, 7, 1))
    suspended, closed, revoked = (b.key for b in first)
    with store.unit_of_work(ADMIN) as uow:
        q3 = {t.business_key: t for t in uow.tasks.stream(overlapping=(date(2026, 7, 1),) * 2)}
    assert q3[suspended].exempt_reason == "停业（自2026-08-01）"
    assert closed not in q3 and revoked not in q3  # gone by the end of Q3
