"""Planner properties, using only the strategies twores ships."""

from __future__ import annotations

import random
from collections import Counter

import networkx as nx
from hypothesis import given
from hypothesis import strategies as st

from twores.core.areas import Area
from twores.core.assignment import (
    AssignmentReason,
    ChangeAction,
    Plan,
    PlanMode,
    apply_plan,
    plan_assignments,
)
from twores.core.businesses import FoodBusiness
from twores.core.cadres import Cadre
from twores.core.roster import Roster
from twores.core.rules import Rule, RuleSet, Ruling
from twores.plugins import hookimpl
from twores.plugins.manager import make_plugin_manager
from twores.testing import assert_invariants, assert_unplaced_exactly, national_rules
from twores.testing.strategies import DEFAULT_DAY, roster_changes, rosters

RULES = national_rules()
ON = DEFAULT_DAY
modes = st.sampled_from(PlanMode)


def target_area(roster: Roster, business: FoodBusiness) -> Area | None:
    """The area whose cadres may take the business, computed without the planner."""
    if business.area_code not in roster.hierarchy:
        return None
    grade = RULES.grade_of(business, ON)
    tier = RULES.tier_of(grade, ON, business.area_code)
    return roster.hierarchy.ancestor(business.area_code, tier)


def eligible(roster: Roster, business: FoodBusiness) -> list[Cadre]:
    area = target_area(roster, business)
    if area is None:
        return []
    return [
        c
        for c in roster.cadres.values()
        if c.is_active(ON) and c.tier is area.tier and c.area_code == area.code
    ]


def applied(roster: Roster, plan: Plan) -> Roster:
    return roster.with_assignments(apply_plan(roster.assignments, plan))


@given(rosters(), modes)
def test_after_any_plan_invariants_hold_except_for_exactly_the_ineligible(
    roster: Roster, mode: PlanMode
) -> None:
    plan = plan_assignments(roster, RULES, ON, mode)
    unplaced = {u.business_key for u in plan.unplaced}
    assert_invariants(roster=applied(roster, plan), rules=RULES, on=ON, ignore=unplaced)
    without_cadre = {
        key for key, b in roster.businesses.items() if b.in_scope and not eligible(roster, b)
    }
    assert unplaced == without_cadre
    assert_unplaced_exactly(roster, plan, RULES)  # the shipped check agrees with this one


@given(rosters(), modes, st.data())
def test_invariants_hold_after_churn_and_replanning(
    roster: Roster, mode: PlanMode, data: st.DataObject
) -> None:
    roster = applied(roster, plan_assignments(roster, RULES, ON, PlanMode.FRESH))
    for change in data.draw(roster_changes(roster, on=ON)):
        roster = roster.apply(change)
    plan = plan_assignments(roster, RULES, ON, mode)
    unplaced = {u.business_key for u in plan.unplaced}
    assert_invariants(roster=applied(roster, plan), rules=RULES, on=ON, ignore=unplaced)


@given(rosters(), st.sampled_from([PlanMode.FRESH, PlanMode.REBALANCE]))
def test_loads_within_one_per_group_after_fresh_and_rebalance(
    roster: Roster, mode: PlanMode
) -> None:
    plan = plan_assignments(roster, RULES, ON, mode)
    for group, loads in plan.loads.items():
        assert plan.imbalance(group) <= 1, (group, loads)
    after = applied(roster, plan)
    held = Counter(a.cadre_id for a in after.active_assignments(ON))
    for loads in plan.loads.values():
        for cadre_id, load in loads.items():
            assert held[cadre_id] == load


def needs_placing(roster: Roster) -> set[str]:
    """In-scope, placeable businesses without one valid active assignment."""
    valid: Counter[str] = Counter()
    for assignment in roster.active_assignments(ON):
        business = roster.businesses.get(assignment.business_key)
        cadre = roster.cadres.get(assignment.cadre_id)
        if business is None or cadre is None or not business.in_scope or not cadre.is_active(ON):
            continue
        area = target_area(roster, business)
        if area is not None and cadre.tier is area.tier and cadre.area_code == area.code:
            valid[business.key] += 1
    return {
        key
        for key, business in roster.businesses.items()
        if business.in_scope and eligible(roster, business) and valid[key] == 0
    }


@given(rosters(), st.data())
def test_incremental_places_exactly_the_new_orphaned_regraded_and_moved(
    roster: Roster, data: st.DataObject
) -> None:
    roster = applied(roster, plan_assignments(roster, RULES, ON, PlanMode.INCREMENTAL))
    for change in data.draw(roster_changes(roster, on=ON)):
        roster = roster.apply(change)
    expected = needs_placing(roster)
    plan = plan_assignments(roster, RULES, ON, PlanMode.INCREMENTAL)
    assert {c.business_key for c in plan.creates} == expected
    assert len(plan.creates) == len(expected)


@given(rosters(), modes)
def test_a_second_run_yields_an_empty_plan(roster: Roster, mode: PlanMode) -> None:
    once = applied(roster, plan_assignments(roster, RULES, ON, mode))
    assert plan_assignments(once, RULES, ON, mode).is_empty
    assert plan_assignments(once, RULES, ON, PlanMode.INCREMENTAL).is_empty


@given(rosters(), modes, st.randoms(use_true_random=False))
def test_input_order_never_changes_the_plan(
    roster: Roster, mode: PlanMode, rnd: random.Random
) -> None:
    businesses = list(roster.businesses.values())
    cadres = list(roster.cadres.values())
    assignments = list(roster.assignments)
    for items in (businesses, cadres, assignments):
        rnd.shuffle(items)
    shuffled = Roster.build(roster.hierarchy, businesses, cadres, assignments)
    assert plan_assignments(shuffled, RULES, ON, mode) == plan_assignments(roster, RULES, ON, mode)


def min_moves_by_flow(keys: list[str], cadre_ids: list[str], holder: dict[str, str]) -> int:
    """Fewest businesses that must change cadre so loads differ by at most one (MCF)."""
    n, m = len(keys), len(cadre_ids)
    base, extra = divmod(n, m)
    graph = nx.DiGraph()
    graph.add_node("source", demand=-n)
    graph.add_node("sink", demand=n)
    graph.add_edge("extra", "sink", capacity=extra, weight=0)
    for key in keys:
        graph.add_edge("source", ("b", key), capacity=1, weight=0)
        for cadre_id in cadre_ids:
            cost = 0 if holder.get(key) == cadre_id else 1
            graph.add_edge(("b", key), ("c", cadre_id), capacity=1, weight=cost)
    for cadre_id in cadre_ids:
        graph.add_edge(("c", cadre_id), "sink", capacity=base, weight=0)
        graph.add_edge(("c", cadre_id), "extra", capacity=1, weight=0)
    cost: int = nx.min_cost_flow_cost(graph)
    return cost


@given(rosters(max_businesses=25, max_cadres=10), st.data())
def test_rebalance_moves_equal_the_min_cost_flow_optimum(
    roster: Roster, data: st.DataObject
) -> None:
    roster = applied(roster, plan_assignments(roster, RULES, ON, PlanMode.INCREMENTAL))
    for change in data.draw(roster_changes(roster, on=ON)):
        roster = roster.apply(change)
    roster = applied(roster, plan_assignments(roster, RULES, ON, PlanMode.INCREMENTAL))
    plan = plan_assignments(roster, RULES, ON, PlanMode.REBALANCE)
    holder = {a.business_key: a.cadre_id for a in roster.active_assignments(ON)}
    moved = Counter(
        plan.targets[c.business_key][0] for c in plan.changes if c.action is ChangeAction.CREATE
    )
    for group, loads in plan.loads.items():
        keys = [k for k, (g, _) in plan.targets.items() if g == group]
        if not keys or not loads:
            continue
        assert moved[group] == min_moves_by_flow(keys, sorted(loads), holder), group


class _CapOfOne:
    """A region that caps every cadre at one business (so imported histories exceed it)."""

    RULE = Rule("test.cap.one", "每名干部至多包保1家", "at most one business a cadre", "测试")

    @hookimpl
    def twores_rule_sets(self) -> list[RuleSet]:
        return [RuleSet("cap_one", "1", "测试", "test", (self.RULE,))]

    @hookimpl(tryfirst=True)
    def twores_load_cap(self) -> Ruling[int | None]:
        return Ruling(1, self.RULE)


CAPPED = make_plugin_manager(load_entrypoints=False, plugins=[_CapOfOne()]).rulebook()


@given(rosters(rules=CAPPED))
def test_an_incremental_plan_brings_every_cadre_within_a_cap_moving_only_the_excess(
    roster: Roster,
) -> None:
    plan = plan_assignments(roster, CAPPED, ON, PlanMode.INCREMENTAL)
    unplaced = {u.business_key for u in plan.unplaced}
    after = applied(roster, plan)
    assert_invariants(roster=after, rules=CAPPED, on=ON, ignore=unplaced)
    ends = [c for c in plan.changes if c.action is ChangeAction.END]
    released = Counter(c.cadre_id for c in ends if c.reason is AssignmentReason.REBALANCE)
    ended_otherwise = {c.business_key for c in ends if c.reason is not AssignmentReason.REBALANCE}
    valid = Counter(
        a.cadre_id
        for a in roster.assignments
        if a.is_active(ON) and a.business_key not in ended_otherwise
    )
    # only the businesses beyond a cadre's cap move; the rest stay where they are
    assert released == Counter({c: n - 1 for c, n in valid.items() if n > 1})
