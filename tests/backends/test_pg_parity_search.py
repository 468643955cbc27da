"""``BusinessRepository.search`` folds case as the memory store does (``str.lower()``) on
every backend: SQLite's own ``lower()`` folds ASCII letters only, PostgreSQL's those of the
database's LC_CTYPE (ASCII only again under ``C``)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

import twores
from twores.core.ports import Store
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore, normalise_url
from twores.testing.postgres import POSTGRES_URL, fresh_sql_store, sql_backends

ADMIN = twores.Scope("admin", twores.Role.ADMIN)
NAMES = (
    "ÉCLAIR法式甜品店",
    "ΑΛΦΑ咖啡",
    "ΟΔΥΣΣΕΑΣ餐厅",  # a final sigma: ς
    "Straße餐厅",
    "KFC肯德基",
    "İSTANBUL烤肉",  # İ lower-cases to two characters, "i̇"
    "Ёлка小吃",
    "测试便利店",
)
QUERIES = (
    "éclair",
    "ÉCLAIR",
    "éclair法式",
    "αλφα",
    "οδυσσεας",
    "οδυσσεασ",
    "straße",
    "STRASSE",
    "kfc",
    "i̇stanbul",
    "istanbul",
    "ёлка",
    "便利",
    "jy1450323",
    "JY14503230000003",
    "%",
    "_",
)


def _shops() -> list[twores.FoodBusiness]:
    return [
        twores.FoodBusiness(
            name=name,
            area_code="450323106200",
            business_type=twores.BusinessType.SALES,
            licence_no=f"JY1450323{i:07d}",
            scale=twores.Scale.MICRO,
        )
        for i, name in enumerate(NAMES)
    ]


def _found(store: Store) -> dict[str, list[str]]:
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(demo_region())
        uow.businesses.upsert_many(_shops())
        uow.commit()
    with store.unit_of_work(ADMIN) as uow:
        return {q: [b.name for b in uow.businesses.search(q, limit=20)] for q in QUERIES}


@pytest.fixture(scope="module")
def on_memory() -> dict[str, list[str]]:
    found = _found(MemoryStore())
    assert found["éclair"] == ["ÉCLAIR法式甜品店"]  # the reference folds beyond ASCII
    return found


@pytest.mark.parametrize("backend", sql_backends())
def test_search_finds_what_it_finds_on_memory(
    backend: str, on_memory: dict[str, list[str]]
) -> None:
    with fresh_sql_store(backend) as store:
        assert _found(store) == on_memory


@contextmanager
def c_ctype_database() -> Iterator[SqlStore]:
    """A store in a database of its own created with LC_CTYPE ``C`` (dropped after)."""
    assert POSTGRES_URL is not None
    name = f"p_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        )
    url = sa.engine.make_url(normalise_url(POSTGRES_URL)).set(database=name)
    store = SqlStore(url.render_as_string(hide_password=False))
    try:
        yield store
    finally:
        store.close()
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="TWORES_TEST_POSTGRES_URL is not set")
def test_search_does_not_depend_on_the_databases_ctype(on_memory: dict[str, list[str]]) -> None:
    with c_ctype_database() as store:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT lower('É')").scalar() == "É"
        assert _found(store) == on_memory


def test_a_query_left_to_ascii_lower_has_no_character_a_non_ascii_one_folds_into() -> None:
    """What lets a search for Chinese, digits or most Latin letters skip the Unicode
    lower-casing (a Python function per row on SQLite), checked against every character
    of this Python's Unicode: no such query holds a character ``str.lower()`` makes of a
    non-ASCII one, nor a non-ASCII one it would change."""
    from twores.plugins.sqlalchemy.repos.records import _folds_as_ascii

    folded_into: set[str] = set()
    changing: list[str] = []
    for code in range(0x80, sys.maxunicode + 1):
        ch = chr(code)
        if ch.lower() != ch:
            folded_into.update(ch.lower())
            changing.append(ch)
    assert [c for c in folded_into if _folds_as_ascii(c)] == []
    assert [c for c in changing if _folds_as_ascii(c)] == []
    assert _folds_as_ascii("饭店jy1450323") and not _folds_as_ascii("kfc")
