"""Rescheduling a period after a business is added credits the visits filed before its task
existed, reading only the businesses whose tasks the run wrote (not the whole period), and
gives what the memory store, which looks at every business, gives."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date, datetime
from typing import Any

import pytest

import twores
from twores.core.assignment import Assignment
from twores.core.periods import CHINA_TZ
from twores.core.ports import Store
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.services import supervision
from twores.services.supervision import VisitInput, record_visit, schedule
from twores.services.synth import synthetic_roster
from twores.testing.postgres import fresh_sql_store, sql_backends

from .helpers import ADMIN, COUNTY, START, load

VISITED = date(2026, 1, 10)


@pytest.fixture(params=["memory", *sql_backends()])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    with fresh_sql_store(request.param) as store:
        yield store


def _done(store: Store) -> list[tuple[str, str | None, str | None]]:
    with store.unit_of_work(ADMIN) as uow:
        return [(t.key, t.visit_id, t.credited_to) for t in uow.tasks.stream() if t.done]


def test_a_business_added_mid_quarter_gets_its_filed_visit_credited_alone(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = twores.build(load_entrypoints=False)
    roster = synthetic_roster(
        demo_region().subtree(COUNTY), businesses=24, cadres=8, seed=11, within=COUNTY
    )
    new_key = sorted(roster.businesses)[5]
    new = roster.businesses.pop(new_key)
    load(store, roster, START)
    first = schedule(app, store, ADMIN, "2026Q1", on=START)
    assert first.written.inserted > 0
    with store.unit_of_work(ADMIN) as uow:
        held = list(uow.assignments.stream(active_on=START))
    # a visit of an old business that credits nothing (not counted): left alone either way
    other = VisitInput(held[0].business_key, held[0].cadre_id, VISITED, mode="其他")
    noon = datetime(2026, 1, 10, 12, tzinfo=CHINA_TZ)
    record_visit(app, store, ADMIN, other, now=noon)
    cadre = held[1].cadre_id
    with store.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many([new])
        uow.assignments.upsert_many([Assignment(cadre, new_key, START)])
        uow.commit()
    filed = record_visit(app, store, ADMIN, VisitInput(new_key, cadre, VISITED), now=noon)
    assert filed.task is None  # no task yet
    before = _done(store)

    seen: list[Collection[str] | None] = []
    credit = supervision._credit_filed_visits

    def spy(*args: Any) -> int:
        seen.append(args[4])
        return credit(*args)

    monkeypatch.setattr(supervision, "_credit_filed_visits", spy)
    again = schedule(app, store, ADMIN, "2026Q1", on=date(2026, 1, 20))
    assert again.written.inserted >= 1 and again.credited == 1
    done = _done(store)
    assert [d for d in done if d not in before] == [
        (d[0], f"{new_key}/{VISITED.isoformat()}/{cadre}", cadre)
        for d in done
        if d[0].startswith(f"{new_key}/")
    ]
    assert len(done) == len(before) + 1
    assert seen == [frozenset({new_key})]  # only the business whose task was written
    assert schedule(app, store, ADMIN, "2026Q1", on=date(2026, 1, 20)).credited == 0
