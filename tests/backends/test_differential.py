"""Random operation sequences give identical query results on the memory and SQL backends."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from twores.core.assignment import PlanMode, plan_assignments
from twores.core.businesses import Grade, OperatingStatus
from twores.core.errors import TworesError
from twores.core.ports import Store
from twores.core.roster import Roster
from twores.core.security import Role, Scope
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.testing import national_rules
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
