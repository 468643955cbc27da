from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from twores.core.businesses import BusinessType, FoodBusiness
from twores.divisions import demo_region

#: A village of the demo region.
VILLAGE = next(a for a in demo_region() if len(a.code) == 12)

POSTGRES_URL = os.environ.get("TWORES_TEST_POSTGRES_URL")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the test server, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("TWORES_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    import sqlalchemy as sa

    from twores.plugins.sqlalchemy.backend import normalise_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalise_url(POSTGRES_URL))
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def catering_business(number: int) -> FoodBusiness:
    """Catering business ``number`` of :data:`VILLAGE`, licensed by its county."""
    return FoodBusiness(
        name=f"饭店{number}",
        area_code=VILLAGE.code,
        business_type=BusinessType.CATERING,
        licence_no=f"JY1{VILLAGE.code[:6]}{number:07d}",
    )
