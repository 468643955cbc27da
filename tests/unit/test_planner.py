from __future__ import annotations

import types
from datetime import date

import pytest

from twores import (
    Assignment,
    AssignmentReason,
    BusinessCloses,
    BusinessMoves,
    BusinessRegraded,
    BusinessType,
    Cadre,
    CadreLeaves,
    FoodBusiness,
    Grade,
    PlanMode,
    Roster,
    Tier,
    apply_plan,
    explain,
    plan_assignments,
)
from twores.core.assignment import UnplacedReason
from twores.core.roster import UnknownRecordError
from twores.core.rules import Rule, RuleSet, Ruling
from twores.divisions import demo_region
from twores.plugins import hookimpl
from twores.plugins.manager import make_plugin_manager
from twores.testing import assert_invariants

ON = date(2025, 6, 30)
VILLAGE = "450323101202"
OTHER_VILLAGE = "450323101203"
TOWNSHIP = "450323101"
RULES = make_plugin_manager(load_entrypoints=False).rulebook()


def shop(index: int, grade: Grade = Grade.D, area: str = VILLAGE) -> FoodBusiness:
    return FoodBusiness(
        name=f"店{index}",
        area_code=area,
        business_type=BusinessType.SALES,
        licence_no=f"JY145032310{index:05d}",
        grade=grade,
    )


def cadre(cadre_id: str, area: str = VILLAGE) -> Cadre:
    tier = Tier.for_code(area)
    assert tier is not None
    return Cadre(id=cadre_id, name="王伟", tier=tier, area_code=area)


def roster(
    businesses: list[FoodBusiness], cadres: list[Cadre], assignments: tuple[Assignment, ...] = ()
) -> Roster:
    return Roster.build(demo_region(), businesses, cadres, assignments)


def applied(r: Roster, mode: PlanMode = PlanMode.INCREMENTAL, rules: object = RULES) -> Roster:
    plan = plan_assignments(r, rules, ON, mode)  # type: ignore[arg-type]
    return r.with_assignments(apply_plan(r.assignments, plan))


def test_fresh_plan_balances_and_explains() -> None:
    r = roster([shop(i) for i in range(5)], [cadre("a"), cadre("b")])
    plan = plan_assignments(r, RULES, ON, PlanMode.FRESH)
    assert sorted(plan.loads[next(iter(plan.loads))].values()) == [2, 3]
    assert all(c.reason is AssignmentReason.NEW_BUSINESS for c in plan.creates)
    text = explain(plan, shop(0).key)
    assert "D级" in text and "村级" in text and VILLAGE in text
    assert "cadre" in explain(plan, shop(0).key, "en")


def test_end_reasons_name_what_changed() -> None:
    businesses = [shop(i) for i in range(6)]
    r = applied(roster(businesses, [cadre("a"), cadre("b"), cadre("t", TOWNSHIP)]), PlanMode.FRESH)
    held_by_b = sorted(a.business_key for a in r.assignments if a.cadre_id == "b")
    orphans = sorted(a.business_key for a in r.assignments if a.cadre_id == "a")
    regraded, moved, closed = held_by_b
    r = r.apply(CadreLeaves("a", ON))
    r = r.apply(BusinessRegraded(regraded, Grade.C))
    r = r.apply(BusinessMoves(moved, OTHER_VILLAGE))
    r = r.apply(BusinessCloses(closed, ON))
    plan = plan_assignments(r, RULES, ON)
    reasons = {c.business_key: c.reason for c in plan.ends}
    assert reasons == {
        **dict.fromkeys(orphans, AssignmentReason.CADRE_LEFT),
        regraded: AssignmentReason.REGRADED,
        moved: AssignmentReason.MOVED,
        closed: AssignmentReason.BUSINESS_CLOSED,
    }
    created = {c.business_key: c for c in plan.creates}
    assert created[regraded].cadre_id == "t"
    assert all(
        created[k].cadre_id == "b" and created[k].reason is AssignmentReason.CADRE_LEFT
        for k in orphans
    )
    assert moved in {u.business_key for u in plan.unplaced}  # no cadre in the new village


def test_unplaced_reasons() -> None:
    county_level = shop(1, Grade.D, area="450323")
    unknown = shop(2, area="450323999999")
    r = roster([shop(0), county_level, unknown], [])
    plan = plan_assignments(r, RULES, ON)
    reasons = {u.business_key: u.reason for u in plan.unplaced}
    assert reasons == {
        shop(0).key: UnplacedReason.NO_ACTIVE_CADRE,
        county_level.key: UnplacedReason.AREA_ABOVE_TIER,
        unknown.key: UnplacedReason.UNKNOWN_AREA,
    }
    assert "没有在岗" in explain(plan, shop(0).key)


CAP = Rule("test.cap", "村级干部最多包保 2 家", "village cadres hold at most 2")


def test_a_regional_load_cap_is_honoured_and_checked() -> None:
    capped = types.SimpleNamespace(
        twores_rule_sets=hookimpl(lambda: [RuleSet("capped", "1", "上限", "cap", rules=(CAP,))]),
        twores_load_cap=hookimpl(lambda tier: Ruling(2, CAP) if tier is Tier.VILLAGE else None),
    )
    rules = make_plugin_manager(load_entrypoints=False, plugins=[capped]).rulebook()
    r = roster([shop(i) for i in range(5)], [cadre("a"), cadre("b")])
    for mode in PlanMode:
        plan = plan_assignments(r, rules, ON, mode)
        assert len(plan.creates) == 4
        assert [u.reason for u in plan.unplaced] == [UnplacedReason.LOAD_CAP]
    over = r.with_assignments([Assignment("a", shop(i).key, date(2025, 1, 1)) for i in range(3)])
    with pytest.raises(AssertionError, match="load_cap"):
        assert_invariants(roster=over, rules=rules, on=ON, ignore=[shop(3).key, shop(4).key])


def test_a_rule_book_hears_plugins_registered_after_it_was_made() -> None:
    manager = make_plugin_manager(load_entrypoints=False)
    rules = manager.rulebook()
    assert rules.load_cap(Tier.VILLAGE, ON, VILLAGE) is None  # asked (and kept) before
    capped = types.SimpleNamespace(
        twores_rule_sets=hookimpl(lambda: [RuleSet("capped", "1", "上限", "cap", rules=(CAP,))]),
        twores_load_cap=hookimpl(lambda tier: Ruling(2, CAP) if tier is Tier.VILLAGE else None),
    )
    manager.register(capped)
    assert rules.load_cap(Tier.VILLAGE, ON, VILLAGE) == 2
    manager.unregister(capped)
    assert rules.load_cap(Tier.VILLAGE, ON, VILLAGE) is None


def test_duplicates_keep_the_earliest_and_history_is_never_deleted() -> None:
    history = (
        Assignment("b", shop(0).key, date(2024, 3, 1)),
        Assignment("a", shop(0).key, date(2024, 1, 1)),
        Assignment("a", shop(0).key, date(2023, 1, 1), date(2024, 1, 1)),
    )
    r = roster([shop(0)], [cadre("a"), cadre("b")], history)
    plan = plan_assignments(r, RULES, ON)
    assert [(c.cadre_id, c.reason) for c in plan.ends] == [("b", AssignmentReason.DUPLICATE)]
    after = apply_plan(r.assignments, plan)
    assert len(after) == 3 and after[0].valid_to == ON and after[2] == history[2]


def test_ending_on_the_first_day_keeps_an_empty_interval() -> None:
    r = applied(roster([shop(0)], [cadre("a")]))
    r = r.apply(CadreLeaves("a", ON))
    after = applied(r)
    assert after.assignments[0].valid_from == after.assignments[0].valid_to == ON
    assert not after.assignments[0].is_active(ON)


def test_changes_refer_to_existing_records() -> None:
    r = roster([shop(0)], [cadre("a")])
    with pytest.raises(UnknownRecordError):
        r.apply(CadreLeaves("nobody", ON))
    with pytest.raises(UnknownRecordError):
        r.apply(BusinessRegraded("JY0", Grade.A))


def test_rebalance_moves_only_what_balance_needs() -> None:
    held = tuple(Assignment("a", shop(i).key, date(2025, 1, 1)) for i in range(6))
    r = roster([shop(i) for i in range(6)], [cadre("a"), cadre("b"), cadre("c")], held)
    assert plan_assignments(r, RULES, ON, PlanMode.INCREMENTAL).is_empty
    plan = plan_assignments(r, RULES, ON, PlanMode.REBALANCE)
    assert len(plan.creates) == 4 and len(plan.ends) == 4
    assert all(c.reason is AssignmentReason.REBALANCE for c in plan.changes)
    assert sorted(plan.loads[next(iter(plan.loads))].values()) == [2, 2, 2]


@pytest.mark.parametrize("mode", list(PlanMode))
def test_a_business_taken_over_later_is_held_until_then_not_twice(mode: PlanMode) -> None:
    later = date(2025, 9, 1)
    start = roster(
        [shop(1), shop(2)], [cadre("a"), cadre("b")], (Assignment("b", shop(1).key, later),)
    )
    plan = plan_assignments(start, RULES, ON, mode)
    bridged = next(c for c in plan.creates if c.business_key == shop(1).key)
    assert (bridged.valid_from, bridged.valid_to) == (ON, later)  # then the later one holds
    assert next(c for c in plan.creates if c.business_key == shop(2).key).valid_to is None
    after = start.with_assignments(apply_plan(start.assignments, plan))
    assert_invariants(roster=after, rules=RULES, on=ON)
    assert_invariants(roster=after, rules=RULES, on=later)


def test_a_business_closing_on_a_later_day_stays_held_until_then() -> None:
    """A closure recorded ahead of its day: the plan on a day before holds the business (as
    the invariants check that day), and the plan on the day ends the assignment."""
    closing = shop(0)
    r = applied(roster([closing, shop(1)], [cadre("a")]), PlanMode.FRESH)
    later = date(2025, 7, 15)
    r = r.apply(BusinessCloses(closing.key, later))
    assert plan_assignments(r, RULES, ON).ends == ()
    assert_invariants(roster=r, rules=RULES, on=ON)
    ended = plan_assignments(r, RULES, later).ends
    assert [(e.business_key, e.reason) for e in ended] == [
        (closing.key, AssignmentReason.BUSINESS_CLOSED)
    ]
