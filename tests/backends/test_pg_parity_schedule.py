"""Set-wise scheduling (repos/task_sync.py) on the SQL backends: a suspended business's
task reason is spelt as the memory store spells it whatever the session's DateStyle, and
every statement joining records by business also matches their county (implied by the
key, but what a distributed PostgreSQL, Citus, pushes joins down by)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from tests.supervision.helpers import ADMIN, COUNTY, START, load

import twores
from twores.core.businesses import OperatingStatus
from twores.core.ports import Store
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.supervision import schedule
from twores.services.synth import synthetic_roster
from twores.testing.postgres import fresh_sql_store, sql_backends

ON = date(2026, 2, 2)
SINCE = date(2026, 2, 1)


def _roster() -> tuple[twores.Roster, str]:
    """A county's roster with one business suspended since ``SINCE``; that business."""
    region = demo_region().subtree(COUNTY)
    roster = synthetic_roster(region, businesses=60, cadres=20, seed=5, within=COUNTY)
    key = sorted(roster.businesses)[0]
    suspended = OperatingStatus.SUSPENDED
    roster.businesses[key] = attrs.evolve(
        roster.businesses[key], status=suspended, status_since=SINCE
    )
    return roster, key


def _reasons(store: Store, key: str) -> set[str | None]:
    app = twores.build(load_entrypoints=False)
    schedule(app, store, ADMIN, "2026Q1", on=ON)
    with store.unit_of_work(ADMIN) as uow:
        return {t.exempt_reason for t in uow.tasks.stream(business_key=key)}


def _dmy(dbapi_connection: Any, _: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET DateStyle = 'SQL, DMY'")
    dbapi_connection.commit()


@pytest.fixture(params=sql_backends())
def store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    with fresh_sql_store(request.param) as store:
        yield store


def test_a_suspended_business_task_reason_is_spelt_as_on_memory_whatever_the_datestyle(
    store: SqlStore,
) -> None:
    if store.is_postgres:  # after the store's own settings, on every new connection
        sa.event.listen(store.engine, "connect", _dmy)
        store.engine.dispose()
    roster, key = _roster()
    memory = MemoryStore()
    load(memory, roster, START)
    load(store, roster, START)
    expected = _reasons(memory, key)
    assert expected == {"停业（自2026-02-01）"}
    assert _reasons(store, key) == expected


#: ``a.key = b.business_key`` and the like: two tables' rows matched by business.
BY_BUSINESS = re.compile(
    r'(\w+)\.("?)(?:key|business_key)\2 = (\w+)\.("?)(?:key|business_key)\4(?!\w)'
)


def _same_county(statement: str, a: str, b: str) -> bool:
    return any(f"{x}.county_code = {y}.county_code" in statement for x, y in ((a, b), (b, a)))


def test_every_scheduling_join_by_business_matches_the_county_too(store: SqlStore) -> None:
    roster, _ = _roster()
    load(store, roster, START)
    app = twores.build(load_entrypoints=False)
    seen: list[str] = []

    def note(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", note)
    schedule(app, store, ADMIN, "2026Q1", on=ON)  # the first run inserts the tasks
    schedule(app, store, ADMIN, "2026", on=ON)  # a later one brings them up to date
    joins = [(s, a, b) for s in seen for a, _, b, _ in BY_BUSINESS.findall(s) if a != b]
    tables = {frozenset((a, b)) for _, a, b in joins}
    assert {"filed", "twores_wanted"} in tables  # the statements this test is about ran
    assert {"businesses", "supervision_tasks"} in tables
    assert {"twores_wanted_slots", "supervision_tasks"} in tables
    assert [(a, b) for s, a, b in joins if not _same_county(s, a, b)] == []
