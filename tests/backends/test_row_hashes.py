"""A stored row whose hash was made another way (written set-wise, or by an earlier version
of ``row_hash``) holding the same values is unchanged: only its hash is rewritten, with no
audit entry; a row whose values differ is still updated and audited."""

from __future__ import annotations

import hashlib

import attrs
import pytest
import sqlalchemy as sa
from tests.backends.conftest import catering_business

import twores
from twores.divisions import demo_region
from twores.plugins.sqlalchemy import rows
from twores.testing.postgres import fresh_sql_store, sql_backends

ADMIN = twores.Scope("tester", twores.Role.ADMIN)


def _old_hash(values: tuple[object, ...]) -> str:
    """``row_hash`` as versions before MessagePack made it."""
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


@pytest.mark.parametrize("backend", sql_backends())
def test_rows_hashed_another_way_are_rehashed_not_changed(backend: str) -> None:
    businesses = [catering_business(n) for n in range(1, 7)]
    with fresh_sql_store(backend) as store:
        with store.unit_of_work(ADMIN) as uow:
            uow.areas.upsert_many(demo_region())
            uow.businesses.upsert_many(businesses)
            uow.commit()
        table = sa.table("businesses", sa.column("key"), sa.column("row_hash"))
        with store.engine.begin() as connection:
            for business in businesses[:3]:
                old = _old_hash(rows.BUSINESS.values_of(business))
                connection.execute(
                    table.update().where(table.c.key == business.key).values(row_hash=old)
                )
            for business in businesses[3:5]:  # as a set-wise write leaves them
                connection.execute(
                    table.update().where(table.c.key == business.key).values(row_hash="")
                )
        with store.unit_of_work(ADMIN) as uow:
            audited = uow.audit.summary().entries
            renamed = attrs.evolve(businesses[0], name="饭店一号")
            result = uow.businesses.upsert_many([renamed, *businesses[1:]])
            uow.commit()
        assert (result.inserted, result.updated, result.unchanged) == (0, 1, 5)
        with store.unit_of_work(ADMIN) as uow:
            changes = list(uow.audit.entries())[audited:]
            assert [(e.operation, e.key) for e in changes] == [("update", businesses[0].key)]
        with store.engine.connect() as connection:
            stored = dict(connection.execute(sa.select(table.c.key, table.c.row_hash)).all())
        for business in [renamed, *businesses[1:]]:
            assert stored[business.key] == rows.row_hash(rows.BUSINESS.values_of(business))
