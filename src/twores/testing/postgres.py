"""A store in a schema of its own on a PostgreSQL server, dropped afterwards (tests and
benchmarks share one server without seeing each other's rows)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from twores.plugins.sqlalchemy.backend import SqlStore, normalise_url


@contextmanager
def scratch_store(url: str, prefix: str = "k", settings: Sequence[str] = ()) -> Iterator[SqlStore]:
    """A migrated :class:`SqlStore` on ``url`` in a fresh schema ``<prefix>_<random>``;
    its connections start with ``settings`` too (``name=value``: a DBA's defaults)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalise_url(url))
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    options = " ".join(f"-c{s}" for s in (f"search_path={schema}", *settings))
    separator = "&" if "?" in url else "?"
    store = SqlStore(f"{url}{separator}options={quote(options)}")
    try:
        yield store
    finally:
        store.close()
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


#: The PostgreSQL server tests may use (``TWORES_TEST_POSTGRES_URL``), if any.
POSTGRES_URL = os.environ.get("TWORES_TEST_POSTGRES_URL")


def sql_backends() -> list[Any]:
    """``sqlite``, and ``postgresql`` (skipped without a server), for ``parametrize``."""
    skip = pytest.mark.skipif(
        not POSTGRES_URL, reason="TWORES_TEST_POSTGRES_URL is not set: no PostgreSQL"
    )
    return ["sqlite", pytest.param("postgresql", marks=skip)]


@contextmanager
def fresh_sql_store(backend: str) -> Iterator[SqlStore]:
    """A fresh SQLite file (``sqlite``), or a fresh schema on :data:`POSTGRES_URL`."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            store = SqlStore(f"sqlite:///{Path(folder) / 'twores.db'}")
            try:
                yield store
            finally:
                store.close()
        return
    if POSTGRES_URL is None:
        raise RuntimeError("TWORES_TEST_POSTGRES_URL is not set")
    with scratch_store(POSTGRES_URL) as store:
        yield store
