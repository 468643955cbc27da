"""A county's change version moves between any read of it and a later write, also inside one
unit of work (summary stamps are versions read, so a stamp must never survive a write)."""

from __future__ import annotations

import attrs
import pytest

import twores
from twores.core.businesses import BusinessType, FoodBusiness
from twores.divisions import demo_region
from twores.testing.postgres import fresh_sql_store, sql_backends

ADMIN = twores.Scope("tester", twores.Role.ADMIN)
VILLAGE = next(a for a in demo_region() if len(a.code) == 12)
COUNTY = VILLAGE.code[:6]


def _business(number: int) -> FoodBusiness:
    return FoodBusiness(
        name=f"饭店{number}",
        area_code=VILLAGE.code,
        business_type=BusinessType.CATERING,
        licence_no=f"JY1{COUNTY}{number:07d}",
    )


@pytest.mark.parametrize("backend", sql_backends())
def test_a_write_after_a_read_moves_the_version(backend: str) -> None:
    with fresh_sql_store(backend) as store, store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(demo_region())
        summary = uow.kpi_summary  # type: ignore[attr-defined]
        uow.businesses.upsert_many([_business(1)])
        first = summary.versions([COUNTY])[COUNTY]["business"]
        uow.businesses.upsert_many([_business(2)])
        uow.businesses.upsert_many([attrs.evolve(_business(2), name="饭店二")])
        second = summary.versions([COUNTY])[COUNTY]["business"]
        uow.businesses.upsert_many([_business(3)])
        third = summary.fingerprint([COUNTY])
        uow.businesses.upsert_many([_business(4)])
        assert first < second
        assert summary.fingerprint([COUNTY])[1] > third[1]
