"""A unit of work refused as busy (``WritesBusyError``: another writer held the claim
longer than ``writes_wait``) stays as it was and usable, on every backend: on PostgreSQL
the lock timeout used to abort the unit's transaction (every later statement failed with
InFailedSqlTransaction, and whatever the unit had done was lost)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import twores
from twores.core.errors import UnitFailedError
from twores.core.ports import Store, WritesBusyError
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.testing.postgres import fresh_sql_store, sql_backends

ADMIN = twores.Scope("admin", twores.Role.ADMIN)
WAIT = 0.2
POSTGRES = sql_backends()[1:]


def _shop(i: int) -> twores.FoodBusiness:
    return twores.FoodBusiness(
        name=f"测试便利店{i}",
        area_code="450323106200",
        business_type=twores.BusinessType.SALES,
        licence_no=f"JY1450323{i:07d}",
        scale=twores.Scale.MICRO,
    )


@contextmanager
def loaded(backend: str) -> Iterator[Store]:
    """A store holding the areas and business 1."""
    with _opened(backend) as store:
        with store.unit_of_work(ADMIN) as uow:
            uow.areas.upsert_many(demo_region())
            uow.businesses.upsert_many([_shop(1)])
            uow.commit()
        yield store


@contextmanager
def _opened(backend: str) -> Iterator[Store]:
    if backend == "memory":
        yield MemoryStore()
        return
    with fresh_sql_store(backend) as sql:
        yield sql


@contextmanager
def claimed(store: Store, name: str | None = None) -> Iterator[None]:
    """Another thread's unit of work holds the writer claim (or the SQL store's claim on
    ``name``, :meth:`SqlUnitOfWork.claim_writer`) meanwhile, for at most 5 s."""
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with store.unit_of_work(ADMIN) as holder:
            if name is None:
                holder.claim_writes()
            else:
                holder.claim_writer(name)  # type: ignore[attr-defined]
            held.set()
            done.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(30)
    try:
        yield
    finally:
        done.set()
        thread.join(30)


@pytest.mark.parametrize("backend", ["memory", *sql_backends()])
def test_a_unit_refused_as_busy_reads_on_and_claims_again_later(backend: str) -> None:
    with loaded(backend) as store, store.unit_of_work(ADMIN) as uow:
        uow.writes_wait = WAIT
        assert uow.businesses.count() == 1
        with claimed(store):
            with pytest.raises(WritesBusyError):
                uow.claim_writes()
            assert uow.businesses.count() == 1
            assert uow.businesses.get(_shop(1).key) == _shop(1)
        uow.claim_writes()  # the other writer is done: the claim is taken now
        uow.businesses.upsert_many([_shop(2)])
        uow.commit()
        with store.unit_of_work(ADMIN) as after:
            assert after.businesses.count() == 2
            assert after.audit.verify() == []


@pytest.mark.parametrize("backend", POSTGRES)
def test_an_upsert_refused_as_busy_leaves_the_unit_readable_and_as_it_was(backend: str) -> None:
    """The claim an upsert takes by itself (SqlUnitOfWork.writing): refused, the unit
    keeps its reads and settings; the refused write fails it, as any write that raises."""
    with loaded(backend) as store:
        assert isinstance(store, SqlStore)
        with store.unit_of_work(ADMIN) as uow:
            uow.writes_wait = WAIT
            uow.tune_for_bulk()  # a SET LOCAL of its transaction
            with claimed(store):
                with pytest.raises(WritesBusyError):
                    uow.businesses.upsert_many([_shop(2)])
                assert uow.businesses.count() == 1
                assert uow.connection.exec_driver_sql("SHOW work_mem").scalar() == "64MB"
            with pytest.raises(UnitFailedError):
                uow.commit()
        with store.unit_of_work(ADMIN) as after:
            assert after.businesses.count() == 1


@pytest.mark.parametrize("backend", POSTGRES)
def test_a_refused_claim_on_a_name_keeps_what_the_unit_wrote_before(backend: str) -> None:
    """claim_writer (scheduling's, sign-in's) waits at most writes_wait too, and a refusal
    takes nothing back: the unit commits what it wrote before it."""
    with loaded(backend) as store:
        assert isinstance(store, SqlStore)
        with store.unit_of_work(ADMIN) as uow:
            uow.writes_wait = WAIT
            uow.businesses.upsert_many([_shop(2)])
            with claimed(store, "twores.test"):
                with pytest.raises(WritesBusyError):
                    uow.claim_writer("twores.test")
                assert uow.businesses.get(_shop(2).key) == _shop(2)
            uow.commit()
        with store.unit_of_work(ADMIN) as after:
            assert after.businesses.count() == 2
            assert after.audit.verify() == []
