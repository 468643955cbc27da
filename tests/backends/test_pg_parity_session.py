"""PostgreSQL: the store pins the session settings its statements rely on, whatever a
DBA set as the database's or role's defaults (simulated here by ``options=-c…`` in the
URL): dates as ISO text, and READ COMMITTED (each statement after the writer claim reads
what the writer before committed; under REPEATABLE READ the snapshot is the unit's first
read, before the claim)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date

import attrs
import pytest

import twores
from twores.core.businesses import OperatingStatus
from twores.divisions import demo_region
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.testing.postgres import POSTGRES_URL, scratch_store

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="TWORES_TEST_POSTGRES_URL is not set")

ADMIN = twores.Scope("admin", twores.Role.ADMIN)
#: What a DBA might have set with ALTER DATABASE/ROLE … SET.
DBA_DEFAULTS = ("datestyle=SQL,DMY", r"default_transaction_isolation=repeatable\ read")


def dba_store(*settings: str) -> AbstractContextManager[SqlStore]:
    """A store in a fresh schema whose connections start with ``settings`` (``-c``)."""
    assert POSTGRES_URL is not None
    return scratch_store(POSTGRES_URL, "p", settings)


def _shop(i: int) -> twores.FoodBusiness:
    return twores.FoodBusiness(
        name=f"测试便利店{i}",
        area_code="450323106200",
        business_type=twores.BusinessType.SALES,
        licence_no=f"JY1450323{i:07d}",
        scale=twores.Scale.MICRO,
        status=OperatingStatus.SUSPENDED,
        status_since=date(2026, 2, 1),
    )


def test_a_date_a_statement_turns_into_text_is_spelt_as_python_spells_it() -> None:
    with dba_store(*DBA_DEFAULTS) as store, store.unit_of_work(ADMIN) as uow:
        show = uow.connection.exec_driver_sql
        assert str(show("SHOW DateStyle").scalar()).startswith("ISO")
        assert show("SELECT CAST(DATE '2026-02-01' AS VARCHAR)").scalar() == "2026-02-01"


def test_a_unit_that_read_before_its_claim_reads_and_writes_over_the_commit_before() -> None:
    """Under a default of REPEATABLE READ the second unit, having read before its claim,
    still saw the old row after it, and its write failed with "could not serialize
    access" (rev3 #5: concurrent CLI writers exiting with "cannot use the database")."""
    shop = _shop(1)
    with dba_store(*DBA_DEFAULTS) as store:
        with store.unit_of_work(ADMIN) as uow:
            uow.areas.upsert_many(demo_region())
            uow.businesses.upsert_many([shop])
            uow.commit()
        with store.unit_of_work(ADMIN) as late:
            assert late.businesses.count() == 1  # its first read, before any claim
            with store.unit_of_work(ADMIN) as early:
                early.claim_writes()
                early.businesses.upsert_many([attrs.evolve(shop, name="改名饭店")])
                early.commit()
            late.claim_writes()
            assert late.businesses.get(shop.key) == attrs.evolve(shop, name="改名饭店")
            late.businesses.upsert_many([attrs.evolve(shop, name="再改名饭店")])
            late.commit()
        with store.unit_of_work(ADMIN) as uow:
            assert uow.businesses.get(shop.key) == attrs.evolve(shop, name="再改名饭店")
            assert uow.audit.verify() == []
