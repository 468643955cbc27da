"""The unit-of-work rules on the SQL backends at their real batch size (the contract suite
shrinks it): a refused write past the first 5,000-row batch (COPY on PostgreSQL) stores
nothing, every end of a unit returns its connection, and two threads writing with one
unit meet a typed error, never a driver's."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import twores
from twores.core.errors import UnitFailedError, UnitInUseError
from twores.divisions import demo_region
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.plugins.sqlalchemy.repos import BATCH
from twores.testing.postgres import fresh_sql_store, sql_backends

ADMIN = twores.Scope("admin", twores.Role.ADMIN)
OFFICE = twores.Scope("灵川县食安办", twores.Role.OFFICE, "450323")


def _shop(i: int, area: str = "450323106200") -> twores.FoodBusiness:
    return twores.FoodBusiness(
        name=f"测试便利店{i}",
        area_code=area,
        business_type=twores.BusinessType.SALES,
        licence_no=f"JY1450323{i:07d}",
        scale=twores.Scale.MICRO,
    )


@pytest.fixture(params=sql_backends())
def store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    with fresh_sql_store(request.param) as store:
        with store.unit_of_work(ADMIN) as uow:
            uow.areas.upsert_many(demo_region())
            uow.businesses.upsert_many([_shop(1)])
            uow.commit()
        yield store


def _stored(store: SqlStore) -> tuple[int, int]:
    with store.unit_of_work(ADMIN) as uow:
        return uow.businesses.count(), sum(1 for _ in uow.audit.entries())


@pytest.mark.parametrize(
    ("scope", "last"),
    [
        (OFFICE, _shop(9999, area="450304200201")),  # 象山区, outside 灵川县's scope
        (ADMIN, _shop(1, area="450304200201")),  # business 1 moved to another county
    ],
)
def test_a_write_refused_after_a_whole_batch_stores_nothing(
    store: SqlStore, scope: twores.Scope, last: twores.FoodBusiness
) -> None:
    before = _stored(store)
    with store.unit_of_work(scope) as uow:
        with pytest.raises(twores.TworesError):
            uow.businesses.upsert_many([*(_shop(100_000 + i) for i in range(BATCH)), last])
        uow.businesses.upsert_many([_shop(2)])  # the caller goes on with its unit
        with pytest.raises(UnitFailedError):
            uow.commit()
    assert _stored(store) == before


def test_every_end_of_a_unit_returns_its_connection(store: SqlStore) -> None:
    pool = store.engine.pool
    with store.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many([_shop(2)])
        uow.commit()
    with store.unit_of_work(ADMIN) as uow:
        uow.rollback()
    with store.unit_of_work(OFFICE) as uow:
        with pytest.raises(twores.TworesError):
            uow.businesses.upsert_many([_shop(3, area="450304200201")])  # out of scope
        with pytest.raises(UnitFailedError):
            uow.commit()
    with store.unit_of_work(ADMIN):
        pass
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


def test_two_threads_writing_with_one_unit_meet_a_typed_error(store: SqlStore) -> None:
    """The reviewer's case: on PostgreSQL the audit chain raced (a raw IntegrityError)."""
    before = _stored(store)
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    with store.unit_of_work(ADMIN) as uow:

        def write(base: int) -> None:
            start.wait(10)
            try:
                uow.businesses.upsert_many(_shop(base + i) for i in range(1000))
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=write, args=(base,)) for base in (10_000, 20_000)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert all(isinstance(e, UnitInUseError) for e in errors), errors
        if errors:  # they overlapped: the unit failed
            with pytest.raises(UnitFailedError):
                uow.commit()
        else:  # one after the other
            uow.commit()
    businesses, _ = _stored(store)
    assert businesses == before[0] + (0 if errors else 2000)
