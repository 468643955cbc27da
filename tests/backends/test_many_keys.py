"""Streaming the tasks or assignments of any number of businesses: one statement per batch
of keys (PostgreSQL takes at most 65,535 parameters a statement, this SQLite 250,000), in
the order the repositories promise whatever the batches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.supervision.helpers import ADMIN, COUNTY, START, load

import twores
from twores.divisions import demo_region
from twores.plugins.sqlalchemy import repos
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.supervision import schedule
from twores.services.synth import synthetic_roster
from twores.testing.postgres import fresh_sql_store, sql_backends

#: Past each database's limit on parameters a statement.
MANY = {"sqlite": 250_001, "postgresql": 65_536}


@pytest.fixture(params=sql_backends())
def store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    with fresh_sql_store(request.param) as store:
        app = twores.build(load_entrypoints=False)
        roster = synthetic_roster(
            demo_region().subtree(COUNTY), businesses=30, cadres=8, seed=3, within=COUNTY
        )
        load(store, roster, START)
        schedule(app, store, ADMIN, "2026Q1", on=START)
        yield store


def test_tasks_and_assignments_of_more_keys_than_a_statement_takes(store: SqlStore) -> None:
    with store.unit_of_work(ADMIN) as uow:
        tasks = list(uow.tasks.stream())
        assignments = list(uow.assignments.stream())
        real = sorted({t.business_key for t in tasks})
        many = MANY["sqlite" if store.is_sqlite else "postgresql"]
        keys = [*(f"{COUNTY}-none-{i:06d}" for i in range(many - len(real))), *real]
        assert list(uow.tasks.stream(business_keys=keys)) == tasks
        assert list(uow.assignments.stream(business_keys=keys)) == assignments


def test_batches_keep_the_promised_order(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    with store.unit_of_work(ADMIN) as uow:
        tasks = list(uow.tasks.stream())
        assignments = list(uow.assignments.stream())
        keys = {t.business_key for t in tasks} | {a.business_key for a in assignments}
        monkeypatch.setattr(repos, "BATCH", 2)
        assert list(uow.tasks.stream(business_keys=keys)) == tasks
        assert list(uow.assignments.stream(business_keys=keys)) == assignments
        some = sorted(keys)[::3]
        assert list(uow.tasks.stream(business_keys=some)) == [
            t for t in tasks if t.business_key in some
        ]
        assert list(uow.tasks.stream(business_keys=[])) == []
        assert list(uow.assignments.stream(business_keys=[])) == []


@given(
    keys=st.lists(st.text(alphabet="A-/.0Z", min_size=1, max_size=5), max_size=30),
    size=st.integers(1, 4),
)
def test_a_business_s_keys_batched_keep_its_task_keys_in_order(keys: list[str], size: int) -> None:
    """A business key may hold slashes and characters sorting before one: a task key of a
    batch still sorts before every one of the next batch's."""
    suffixes = ["/2026Q1/0", "/2026Q1/1", "/2026-01/0"]
    batches = _batched(keys, size)
    assert sorted(k for b in batches for k in b) == sorted(set(keys))
    read = [t for b in batches for t in sorted(k + s for k in b for s in suffixes)]
    assert read == sorted(read)


def _batched(keys: list[str], size: int) -> list[list[str]]:
    saved = repos.BATCH
    repos.BATCH = size
    try:
        return list(repos.prefix_batches(keys, "/"))
    finally:
        repos.BATCH = saved


def test_keys_are_looked_up_as_values_whatever_characters_they_hold(store: SqlStore) -> None:
    """PostgreSQL binds a batch of keys as one array: commas, quotes, braces and
    backslashes in a key are a key's own characters, never the array's syntax."""
    odd = ["a,b", '{"x"}', "NULL", "back\\slash", "it's", "", "全角，逗号"]
    with store.unit_of_work(ADMIN) as uow:
        stored = [b.key for b in uow.businesses.stream()]
        found = uow.businesses.get_many([*odd, *stored])
        assert sorted(found) == sorted(stored)
        assert uow.tasks.get_many(odd) == {}
