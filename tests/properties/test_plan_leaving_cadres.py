"""Plans made while some cadres' departures are recorded for a later day (review 5, item 4).

Rosters come from the shipped strategies; some of their active cadres then get a recorded
departure after the plan day, and their assignments end on it (as the cadre import ends
them). A plan on the day, applied, must keep the invariants until the first departure, and
leave no business held by a cadre who has left on any departure day.
"""

from __future__ import annotations

from datetime import date, timedelta

import attrs
from hypothesis import given
from hypothesis import strategies as st

from twores.core.assignment import AssignmentReason, Plan, PlanMode, apply_plan, plan_assignments
from twores.core.invariants import roster_violations
from twores.core.roster import Roster
from twores.testing import assert_invariants, national_rules
from twores.testing.strategies import DEFAULT_DAY, rosters

RULES = national_rules()
ON = DEFAULT_DAY


@st.composite
def rosters_with_departures(draw: st.DrawFn) -> Roster:
    roster = draw(rosters())
    active = sorted(c for c, cadre in roster.cadres.items() if cadre.is_active(ON))
    leaving = draw(st.lists(st.sampled_from(active), unique=True)) if active else []
    days = st.integers(1, 400).map(lambda n: ON + timedelta(days=n))
    departs = {c: draw(days) for c in leaving}
    cadres = [
        attrs.evolve(cadre, active_to=departs[c]) if c in departs else cadre
        for c, cadre in roster.cadres.items()
    ]
    history = [
        attrs.evolve(a, valid_to=end)
        if (end := departs.get(a.cadre_id)) is not None
        and a.valid_from < end
        and (a.valid_to is None or a.valid_to > end)
        else a
        for a in roster.assignments
    ]
    return Roster.build(roster.hierarchy, roster.businesses.values(), cadres, history)


def departures(roster: Roster) -> list[date]:
    return sorted({c.active_to for c in roster.cadres.values() if c.active_to and c.active_to > ON})


@given(rosters_with_departures(), st.sampled_from(PlanMode))
def test_an_applied_plan_holds_no_business_on_a_cadre_who_has_left(
    roster: Roster, mode: PlanMode
) -> None:
    plan = plan_assignments(roster, RULES, ON, mode)
    unplaced = {u.business_key for u in plan.unplaced}
    after = roster.with_assignments(apply_plan(roster.assignments, plan))
    days = departures(roster)
    for day in (ON, *(days[:1] and [days[0] - timedelta(days=1)])):
        assert_invariants(roster=after, rules=RULES, on=day, ignore=unplaced)
    for day in days:
        inactive = [
            v for v in roster_violations(after, RULES, day) if v.kind == "assignment.inactive_cadre"
        ]
        assert not inactive, (day, inactive)
    for change in plan.creates:
        assert change.valid_to is None or change.valid_to > ON
        leaves = roster.cadres[change.cadre_id].active_to
        if leaves is not None:
            assert change.valid_to is not None and change.valid_to <= leaves


@given(rosters_with_departures())
def test_incremental_gives_no_new_business_to_a_leaver_while_someone_stays(
    roster: Roster,
) -> None:
    plan = plan_assignments(roster, RULES, ON, PlanMode.INCREMENTAL)
    for change in plan.creates:
        if roster.cadres[change.cadre_id].active_to is None:
            continue
        group = plan.targets[change.business_key][0]
        stays = [c for c in plan.loads[group] if roster.cadres[c].active_to is None]
        assert not stays, (change, stays)  # no load cap in the national rules


@given(rosters_with_departures())
def test_incremental_plans_on_each_departure_hand_over_and_keep_the_invariants(
    roster: Roster,
) -> None:
    roster = roster.with_assignments(apply_plan(roster.assignments, plan_on(roster, ON)))
    for day in departures(roster):
        # What the earlier plans created ended on the departure: nothing to end for it.
        kinds = {v.kind for v in roster_violations(roster, RULES, day)}
        assert "assignment.inactive_cadre" not in kinds
        plan = plan_on(roster, day)
        assert not [c for c in plan.ends if c.reason is AssignmentReason.CADRE_LEFT]
        roster = roster.with_assignments(apply_plan(roster.assignments, plan))


def plan_on(roster: Roster, day: date) -> Plan:
    """An incremental plan on ``day``, checked against the invariants once applied."""
    plan = plan_assignments(roster, RULES, day, PlanMode.INCREMENTAL)
    after = roster.with_assignments(apply_plan(roster.assignments, plan))
    unplaced = {u.business_key for u in plan.unplaced}
    assert_invariants(roster=after, rules=RULES, on=day, ignore=unplaced)
    return plan
