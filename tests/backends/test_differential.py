"""Random operation sequences give identical query results on the memory and SQL backends."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import twores
from twores.core.assignment import PlanMode, plan_assignments
from twores.core.businesses import Grade, OperatingStatus
from twores.core.errors import TworesError
from twores.core.ports import Store
from twores.core.roster import Roster
from twores.core.security import Role, Scope
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.assignments import check, end_closed_assignments
from twores.services.synth import synthetic_roster
from twores.testing import national_rules
from twores.testing.postgres import fresh_sql_store, sql_backends
from twores.testing.strategies import DEFAULT_DAY, roster_changes, rosters

SYSTEM = Scope.system("differential")
RULES = national_rules()


class MemoryVersusSql(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.stores: list[Store] = [
            MemoryStore(),
            SqlStore(f"sqlite:///{Path(self.folder.name) / 'twores.db'}"),
        ]
        self.roster: Roster | None = None

    def teardown(self) -> None:
        for store in self.stores:
            store.close()
        self.folder.cleanup()

    def each(self, action: object, scope: Scope = SYSTEM) -> list[object]:
        """Run ``action(uow)`` on every store; the outcome (value or error code) must agree."""
        outcomes = []
        for store in self.stores:
            try:
                with store.unit_of_work(scope) as uow:
                    outcome = action(uow)  # type: ignore[operator]
                    uow.commit()
            except TworesError as error:
                outcome = ("error", error.code)
            outcomes.append(outcome)
        assert outcomes[0] == outcomes[1], outcomes
        return outcomes

    @initialize(roster=rosters(max_businesses=20, max_cadres=10, assignments=False))
    def load(self, roster: Roster) -> None:
        self.roster = roster

        def write(uow: object) -> object:
            return (
                uow.areas.upsert_many(roster.hierarchy),  # type: ignore[attr-defined]
                uow.businesses.upsert_many(roster.businesses.values()),  # type: ignore[attr-defined]
                uow.cadres.upsert_many(roster.cadres.values()),  # type: ignore[attr-defined]
            )

        self.each(write)

    @rule(data=st.data())
    def churn(self, data: st.DataObject) -> None:
        assert self.roster is not None
        for change in data.draw(roster_changes(self.roster, on=DEFAULT_DAY, max_size=3)):
            self.roster = self.roster.apply(change)
        roster = self.roster
        self.each(
            lambda uow: (
                uow.businesses.upsert_many(roster.businesses.values()),
                uow.cadres.upsert_many(roster.cadres.values()),
            )
        )

    @rule(mode=st.sampled_from(PlanMode))
    def plan(self, mode: PlanMode) -> None:
        assert self.roster is not None
        stored = self.each(lambda uow: list(uow.assignments.stream()))[0]
        roster = self.roster.with_assignments(stored)  # type: ignore[arg-type]
        plan = plan_assignments(roster, RULES, DEFAULT_DAY, mode)
        self.each(lambda uow: uow.assignments.apply(plan))

    @rule(data=st.data(), grade=st.sampled_from(Grade))
    def regrade_one(self, data: st.DataObject, grade: Grade) -> None:
        assert self.roster is not None
        if not self.roster.businesses:
            return
        key = data.draw(st.sampled_from(sorted(self.roster.businesses)))
        business = attrs.evolve(self.roster.businesses[key], grade=grade)
        self.each(lambda uow: uow.businesses.upsert_many([business]))

    @rule(data=st.data())
    def scoped_write(self, data: st.DataObject) -> None:
        assert self.roster is not None
        if not self.roster.businesses:
            return
        area = data.draw(st.sampled_from(sorted(a.code for a in self.roster.hierarchy)))
        key = data.draw(st.sampled_from(sorted(self.roster.businesses)))
        closed = attrs.evolve(self.roster.businesses[key], status=OperatingStatus.CLOSED)
        self.each(lambda uow: uow.businesses.upsert_many([closed]), Scope("u", Role.OFFICE, area))

    @invariant()
    def queries_agree(self) -> None:
        if self.roster is None:
            return
        areas = sorted(a.code for a in self.roster.hierarchy)[:4]

        def read(uow: object) -> object:
            result: list[object] = [
                list(uow.businesses.stream()),  # type: ignore[attr-defined]
                list(uow.cadres.stream()),  # type: ignore[attr-defined]
                list(uow.assignments.stream()),  # type: ignore[attr-defined]
                uow.assignments.count(active_on=DEFAULT_DAY),  # type: ignore[attr-defined]
                uow.assignments.count(active_on=date(2024, 1, 1)),  # type: ignore[attr-defined]
                [b.key for b in uow.businesses.stream()][:1],  # type: ignore[attr-defined]
            ]
            for code in areas:
                result.append(list(uow.businesses.stream(within=code)))  # type: ignore[attr-defined]
                result.append(uow.cadres.count(within=code))  # type: ignore[attr-defined]
                result.append(list(uow.assignments.stream(within=code)))  # type: ignore[attr-defined]
            for key in sorted(self.roster.businesses)[:3]:  # type: ignore[union-attr]
                result.append(uow.businesses.get(key))  # type: ignore[attr-defined]
            return result

        self.each(read)
        for code in areas[:2]:
            self.each(read, Scope("reader", Role.READ_ONLY, code))


TestMemoryVersusSql = MemoryVersusSql.TestCase
TestMemoryVersusSql.settings = settings(max_examples=60, stateful_step_count=8, deadline=None)


@contextmanager
def _store(backend: str) -> Iterator[Store]:
    if backend == "memory":
        yield MemoryStore()
        return
    with fresh_sql_store(backend) as store:
        yield store


@pytest.mark.parametrize("backend", ["memory", *sql_backends()])
def test_a_past_day_is_checked_by_the_status_the_business_had_then(backend: str) -> None:
    """``check(on=...)`` judges each business as it stood that day (``in_scope_on``), as the
    KPIs do: one closed on 1 March, its assignment ended that day, was rightly held on
    1 February; one unheld in February and closed in March lacked a cadre then."""
    app = twores.build(load_entrypoints=False)
    admin = Scope("管理员", Role.ADMIN)
    roster = synthetic_roster(
        demo_region().subtree("450323"), businesses=12, cadres=6, seed=3, within="450323"
    )
    closed_on, asked = date(2026, 3, 1), date(2026, 2, 1)
    with _store(backend) as store:
        with store.unit_of_work(admin) as uow:
            uow.areas.upsert_many(roster.hierarchy)
            uow.businesses.upsert_many(roster.businesses.values())
            uow.cadres.upsert_many(roster.cadres.values())
            uow.assignments.apply(plan_assignments(roster, RULES, date(2026, 1, 5)))
            uow.commit()
        held, unheld = sorted(roster.businesses.values(), key=lambda b: b.key)[:2]
        with store.unit_of_work(admin) as uow:
            (mine,) = uow.assignments.stream(business_key=unheld.key)
            uow.assignments.upsert_many([attrs.evolve(mine, valid_to=mine.valid_from)])
            gone = [
                attrs.evolve(b, status=OperatingStatus.CLOSED, status_since=closed_on)
                for b in (held, unheld)
            ]
            uow.businesses.upsert_many(gone)
            end_closed_assignments(uow, {b.key: closed_on for b in gone})
            uow.commit()
        found = {(v.kind, v.ids[0]) for v in check(app, store, admin, on=asked).violations}
        assert found == {("coverage.missing", unheld.key)}
        assert check(app, store, admin, on=closed_on).violations == ()
