"""Writers at once in one county, each in its own transaction: none deadlocks, none loses
what another wrote, and the audit chain still verifies (PostgreSQL, where they overlap;
SQLite takes one writer at a time by itself)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta

import attrs
import pytest
from tests.supervision.helpers import ADMIN, load

import twores
from twores.core.businesses import Scale
from twores.core.periods import CHINA_TZ
from twores.divisions import demo_region
from twores.services.supervision import VisitInput, record_visit, schedule
from twores.services.synth import synthetic_roster
from twores.testing.postgres import POSTGRES_URL, scratch_store

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="TWORES_TEST_POSTGRES_URL is not set")

START = date(2026, 1, 5)
WRITERS = 4


def _together(work: list[Callable[[], None]]) -> list[BaseException]:
    """Run each callable in a thread of its own, all released at once; what they raised."""
    gate = threading.Barrier(len(work))
    failures: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        gate.wait()
        try:
            job()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_visits_recorded_at_once_in_one_county_all_land() -> None:
    assert POSTGRES_URL is not None
    app = twores.build(load_entrypoints=False)
    roster = synthetic_roster(demo_region(), businesses=200, cadres=40, seed=5, within="450323")
    with scratch_store(POSTGRES_URL) as store:
        load(store, roster, START)
        schedule(app, store, ADMIN, "2026Q1", on=START)
        with store.unit_of_work(ADMIN) as uow:
            held = sorted(uow.assignments.stream(active_on=START), key=lambda a: a.business_key)
        shares = [held[i::WRITERS][:20] for i in range(WRITERS)]

        def writer(share: list[twores.Assignment]) -> Callable[[], None]:
            def record() -> None:
                for n, a in enumerate(share):
                    day = START + timedelta(days=n)
                    found = (f"问题{n}",) if n % 2 else ()  # problems first, or visits first
                    visit = VisitInput(a.business_key, a.cadre_id, day, findings=found)
                    now = datetime(2026, 2, 10, 10, tzinfo=CHINA_TZ)
                    record_visit(app, store, ADMIN, visit, now=now)

            return record

        assert _together([writer(share) for share in shares]) == []
        with store.unit_of_work(ADMIN) as uow:
            assert len(list(uow.visits.stream())) == sum(map(len, shares))
            assert len(list(uow.problems.stream())) == sum(len(share) // 2 for share in shares)
            assert uow.audit.verify() == []


def test_two_writers_changing_one_business_leave_one_of_their_records() -> None:
    """The later upsert compares with what the earlier committed (never a stale read):
    the row is one writer's record whole, its hash that record's, and the audit says so."""
    assert POSTGRES_URL is not None
    roster = synthetic_roster(demo_region(), businesses=20, cadres=5, seed=3, within="450323")
    business = next(iter(roster.businesses.values()))
    renamed = attrs.evolve(business, name="新名称饭店")
    resized = attrs.evolve(business, scale=Scale.LARGE)
    with scratch_store(POSTGRES_URL) as store:
        with store.unit_of_work(ADMIN) as uow:
            uow.areas.upsert_many(roster.hierarchy)
            uow.businesses.upsert_many(roster.businesses.values())
            uow.commit()

        def write(record: twores.FoodBusiness) -> Callable[[], None]:
            def upsert() -> None:
                with store.unit_of_work(ADMIN) as uow:
                    uow.businesses.upsert_many([record])
                    uow.commit()

            return upsert

        assert _together([write(renamed), write(resized)]) == []
        with store.unit_of_work(ADMIN) as uow:
            stored = uow.businesses.get(business.key)
            assert stored in (renamed, resized)
            again = uow.businesses.upsert_many([stored])
            assert again == twores.UpsertResult(0, 0, 1)  # its hash is its own
            entries = [e for e in uow.audit.entries() if e.key == business.key]
            assert uow.audit.verify() == []
        assert len(entries) == 2


def test_processes_opening_a_fresh_database_at_once_migrate_it_once() -> None:
    import uuid

    import sqlalchemy as sa

    from twores.plugins.sqlalchemy.backend import SqlStore, normalise_url

    assert POSTGRES_URL is not None
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalise_url(POSTGRES_URL))
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    opened: list[SqlStore] = []
    try:
        assert _together([lambda: opened.append(SqlStore(url)) for _ in range(3)]) == []
        assert len({store.revision() for store in opened}) == 1
    finally:
        for store in opened:
            store.close()
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
