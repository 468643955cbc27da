"""A Hypothesis state machine for roster churn, for users to subclass.

Each step churns the roster (cadres leave, join or move; businesses open, close, regrade or
move) or plans and applies assignments; after every plan the invariants must hold for all but
the businesses the plan reported unplaceable, and exactly those must lack an eligible cadre.

Subclass it to test your region and your storage::

    from twores.testing.stateful import RosterChurn

    class InnerMongoliaChurn(RosterChurn):
        regions = ("inner_mongolia",)

    TestInnerMongoliaChurn = InnerMongoliaChurn.TestCase
"""

from __future__ import annotations

import functools
import weakref
from datetime import date

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from twores.core.assignment import Plan, PlanMode, apply_plan, plan_assignments
from twores.core.roster import Roster, RuleBook
from twores.plugins.manager import TworesPluginManager
from twores.testing.assertions import assert_invariants, assert_unplaced_exactly
from twores.testing.plugin_managers import plugin_manager_for, region_roots
from twores.testing.strategies import DEFAULT_DAY, region_rosters, roster_changes


@functools.cache
def _manager_for(regions: tuple[str, ...]) -> TworesPluginManager:
    """One plugin manager per set of regions (not one per example)."""
    return plugin_manager_for(regions)


_ROOTS: weakref.WeakKeyDictionary[TworesPluginManager, tuple[str, ...]] = (
    weakref.WeakKeyDictionary()
)


def _roots(manager: TworesPluginManager) -> tuple[str, ...]:
    """The regions' roots of ``manager``, found once per manager (not once per example)."""
    found = _ROOTS.get(manager)
    if found is None:
        found = _ROOTS[manager] = region_roots(manager)
    return found


class RosterChurn(RuleBasedStateMachine):
    """Churn, plan, apply; check the invariants after each plan."""

    #: Entry-point region plugins to enable (the national rules are always on).
    regions: tuple[str, ...] = ()
    #: The day every plan is made on.
    on: date = DEFAULT_DAY

    def __init__(self) -> None:
        super().__init__()
        self.plugin_manager = self.make_plugin_manager()
        self.rulebook: RuleBook = self.make_rules()
        self.roots = _roots(self.plugin_manager)
        self.roster: Roster | None = None
        #: The last plan, and the roster it was made on.
        self.last_plan: Plan | None = None
        self.planned_on: Roster | None = None

    # --- extension points -------------------------------------------------------------

    def make_plugin_manager(self) -> TworesPluginManager:
        """The plugin manager under test (default: the national rules and the installed
        ``regions``); override to bring your own — rosters are drawn under its regions'
        roots and planned with its rules (build it once, not once per example)."""
        return _manager_for(tuple(self.regions))

    def make_rules(self) -> RuleBook:
        """The rules under test: ``self.plugin_manager``'s (override to test other rules on
        the same rosters)."""
        return self.plugin_manager.rulebook()

    def roster_strategy(self) -> st.SearchStrategy[Roster]:
        """Rosters under the enabled regions' roots (any province without regions), with
        cadres where the rules send businesses."""
        return region_rosters(self.roots, self.rulebook, on=self.on)

    def apply(self, plan: Plan) -> Roster:
        """Apply ``plan``; override to write through your backend and read the roster back."""
        assert self.roster is not None
        return self.roster.with_assignments(apply_plan(self.roster.assignments, plan))

    # --- steps ------------------------------------------------------------------------

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        self.roster = data.draw(self.roster_strategy(), label="roster")

    @rule(data=st.data())
    def churn(self, data: st.DataObject) -> None:
        assert self.roster is not None
        for change in data.draw(
            roster_changes(self.roster, on=self.on, max_size=3), label="changes"
        ):
            self.roster = self.roster.apply(change)
        self.last_plan = None

    @rule(mode=st.sampled_from(PlanMode))
    def plan_and_apply(self, mode: PlanMode) -> None:
        assert self.roster is not None
        plan = plan_assignments(self.roster, self.rulebook, self.on, mode)
        self.planned_on = self.roster
        self.roster = self.apply(plan)
        self.last_plan = plan

    @precondition(lambda self: self.last_plan is not None)
    @rule()
    def plan_again_changes_nothing(self) -> None:
        assert self.roster is not None and self.last_plan is not None
        again = plan_assignments(self.roster, self.rulebook, self.on, PlanMode.INCREMENTAL)
        assert again.is_empty, f"a second incremental plan still changes {len(again.changes)}"

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def invariants_hold_after_a_plan(self) -> None:
        if self.last_plan is None or self.roster is None:
            return
        unplaced = {u.business_key for u in self.last_plan.unplaced}
        assert_invariants(roster=self.roster, rules=self.rulebook, on=self.on, ignore=unplaced)
        assert self.planned_on is not None
        assert_unplaced_exactly(self.planned_on, self.last_plan, self.rulebook)
