"""The shipped roster-churn state machine, run as our users run it."""

from __future__ import annotations

from datetime import date

import attrs
import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from twores.core.assignment import Plan, PlanMode, Unplaced, UnplacedReason, plan_assignments
from twores.core.roster import Roster, RuleBook
from twores.testing import InvariantViolated, RosterChurn, stateful


class NationalChurn(RosterChurn):
    regions = ()


TestNationalChurn = NationalChurn.TestCase
TestNationalChurn.settings = settings(stateful_step_count=12, deadline=None)


def test_the_machine_catches_a_planner_that_gives_up_on_placeable_businesses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def lazy(
        roster: Roster, rules: RuleBook, on: date, mode: PlanMode = PlanMode.INCREMENTAL
    ) -> Plan:
        honest = plan_assignments(roster, rules, on, mode)
        given_up = [
            Unplaced(c.business_key, UnplacedReason.NO_ACTIVE_CADRE) for c in honest.creates
        ]
        return attrs.evolve(
            honest,
            changes=honest.ends,
            unplaced=tuple(sorted([*honest.unplaced, *given_up], key=lambda u: u.business_key)),
        )

    monkeypatch.setattr(stateful, "plan_assignments", lazy)
    with pytest.raises(InvariantViolated, match="placeable_unplaced"):
        run_state_machine_as_test(
            NationalChurn,
            settings=settings(
                max_examples=30, deadline=None, database=None, phases=[Phase.generate]
            ),
        )
