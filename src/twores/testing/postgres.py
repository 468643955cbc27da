"""A store in a schema of its own on a PostgreSQL server, dropped afterwards (tests and
benchmarks share one server without seeing each other's rows)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from twores.plugins.sqlalchemy.backend import SqlStore, normalise_url


@contextmanager
def scratch_store(url: str, prefix: str = "k") -> Iterator[SqlStore]:
    """A migrated :class:`SqlStore` on ``url`` in a fresh schema ``<prefix>_<random>``."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalise_url(url))
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    store = SqlStore(f"{url}{separator}options=-csearch_path%3D{schema}")
    try:
        yield store
    finally:
        store.close()
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
