from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

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
