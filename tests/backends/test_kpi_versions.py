"""A county's change version moves between any read of it and a later write, also inside one
unit of work (summary stamps are versions read, so a stamp must never survive a write), and
stored task counts stay right when another transaction stores counts between two writes."""

from __future__ import annotations

from datetime import date

import attrs
import pytest
from tests.backends.conftest import VILLAGE, catering_business

import twores
from twores.core.assignment import plan_assignments
from twores.core.supervision import visit_key
from twores.divisions import demo_region
from twores.services.kpis import compute_kpis
from twores.services.supervision import schedule
from twores.services.synth import synthetic_roster
from twores.testing.postgres import POSTGRES_URL, fresh_sql_store, sql_backends

ADMIN = twores.Scope("tester", twores.Role.ADMIN)
COUNTY = VILLAGE.code[:6]
START = date(2026, 1, 5)


@pytest.mark.parametrize("backend", sql_backends())
def test_a_write_after_a_read_moves_the_version(backend: str) -> None:
    with fresh_sql_store(backend) as store, store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(demo_region())
        summary = uow.kpi_summary  # type: ignore[attr-defined]
        uow.businesses.upsert_many([catering_business(1)])
        first = summary.versions([COUNTY])[COUNTY]["business"]
        uow.businesses.upsert_many([catering_business(2)])
        uow.businesses.upsert_many([attrs.evolve(catering_business(2), name="饭店二")])
        second = summary.versions([COUNTY])[COUNTY]["business"]
        uow.businesses.upsert_many([catering_business(3)])
        third = summary.fingerprint([COUNTY])
        uow.businesses.upsert_many([catering_business(4)])
        assert first < second
        assert summary.fingerprint([COUNTY])[1] > third[1]


POSTGRES_ONLY = pytest.mark.skipif(
    POSTGRES_URL is None, reason="TWORES_TEST_POSTGRES_URL is not set: no PostgreSQL"
)


@POSTGRES_ONLY
def test_counts_stored_between_two_task_writes_of_one_unit_of_work_stay_right() -> None:
    """Another transaction stores task counts (stamped with the version committed then)
    between two task writes of one unit of work: after it commits, the stored counts still
    equal a recount (READ COMMITTED lets the second write see them)."""
    app = twores.build(load_entrypoints=False)
    hierarchy = demo_region().subtree(COUNTY)
    roster = synthetic_roster(hierarchy, businesses=30, cadres=10, seed=3, within=COUNTY)
    day = date(2026, 3, 31)
    with fresh_sql_store("postgresql") as store:
        with store.unit_of_work(ADMIN) as uow:
            uow.areas.upsert_many(roster.hierarchy)
            uow.businesses.upsert_many(roster.businesses.values())
            uow.cadres.upsert_many(roster.cadres.values())
            uow.assignments.apply(plan_assignments(roster, app.plugins.rulebook(), START))
            uow.commit()
        schedule(app, store, ADMIN, "2026Q1", on=START)
        with store.unit_of_work(ADMIN) as uow:
            first, second = [t for t in uow.tasks.stream() if not t.done and not t.exempt][:2]
            uow.tasks.upsert_many(
                [attrs.evolve(first, visit_id=visit_key(first.business_key, START, "c1"))]
            )
            compute_kpis(app, store, ADMIN, "2026Q1", as_of=day)  # stores counts, commits
            uow.tasks.upsert_many(
                [attrs.evolve(second, visit_id=visit_key(second.business_key, START, "c2"))]
            )
            uow.commit()
        stored = compute_kpis(app, store, ADMIN, "2026Q1", as_of=day)
        recount = compute_kpis(app, store, ADMIN, "2026Q1", as_of=day, fresh=True)
        assert stored.value("task_completion", COUNTY) == recount.value("task_completion", COUNTY)


@pytest.mark.parametrize("backend", sql_backends())
def test_recounts_into_the_summary_wait_for_each_other(backend: str) -> None:
    """Two dashboards recounting at once (two web workers, say): the second waits for the
    first to commit, then finds the counts fresh, instead of colliding on its insert."""
    import threading
    import time

    with fresh_sql_store(backend) as store:
        with store.unit_of_work(ADMIN) as uow:
            uow.areas.upsert_many(demo_region())
            uow.businesses.upsert_many([catering_business(1)])
            uow.commit()
        first = store.unit_of_work(ADMIN)
        first.kpi_summary.claim()
        claimed = threading.Event()

        def second() -> None:
            with store.unit_of_work(ADMIN) as uow:
                uow.kpi_summary.claim()
                claimed.set()

        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(0.3)
        assert not claimed.is_set()  # held off while the first recounts
        first.commit()
        waiting.join(timeout=10)
        assert claimed.is_set()
        both = [compute_kpis(twores.build(), store, ADMIN, "2026Q1") for _ in range(2)]
        assert both[0].value("coverage", COUNTY) == both[1].value("coverage", COUNTY)
