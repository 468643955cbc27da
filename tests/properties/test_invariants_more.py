"""The placement invariant judges scope on the plan's day, as the roster invariants do;
a planner that drops a placeable business silently fails it; an assignment whose business
or cadre is filed under an area the hierarchy does not hold is reported as that."""

from __future__ import annotations

from datetime import date

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import twores
from twores.core.areas import Area, Hierarchy, Tier
from twores.core.assignment import (
    Assignment,
    Plan,
    PlanMode,
    Unplaced,
    UnplacedReason,
    plan_assignments,
)
from twores.core.businesses import BusinessType, FoodBusiness, Grade, OperatingStatus
from twores.core.cadres import Cadre
from twores.core.invariants import placement_violations, roster_violations
from twores.core.roster import Roster
from twores.testing import (
    InvariantViolated,
    assert_invariants,
    assert_unplaced_exactly,
    national_rules,
)

ON = date(2025, 6, 30)
RULES = national_rules()
VILLAGE = "450323101001"
H = Hierarchy(
    [
        Area("45", "广西", Tier.PROVINCE),
        Area("4503", "桂林市", Tier.CITY),
        Area("450323", "灵川县", Tier.COUNTY),
        Area("450323101", "灵川镇", Tier.TOWNSHIP),
        Area(VILLAGE, "甲村", Tier.VILLAGE),
    ]
)
CADRE = Cadre(id="cv01", name="王伟", tier=Tier.VILLAGE, area_code=VILLAGE)


def shop(i: int, **changes: object) -> FoodBusiness:
    return FoodBusiness(
        name=f"店{i}号",
        area_code=VILLAGE,
        business_type=BusinessType.CATERING,
        licence_no=f"JY14503230{i:06d}",
        grade=Grade.D,
        **changes,  # type: ignore[arg-type]
    )


def kinds_of_plan(roster: Roster, plan: Plan) -> list[str]:
    after = roster.with_assignments(twores.apply_plan(roster.assignments, plan))
    return [v.kind for v in placement_violations(roster, plan, RULES, after)]


def both_assertions(roster: Roster, plan: Plan) -> None:
    after = roster.with_assignments(twores.apply_plan(roster.assignments, plan))
    assert_unplaced_exactly(roster, plan, RULES)
    unplaced = {u.business_key for u in plan.unplaced}
    assert_invariants(roster=after, rules=RULES, on=plan.on, ignore=unplaced)


# --- scope on the plan's day (defect 3) -------------------------------------------------


@given(
    status=st.sampled_from([OperatingStatus.CLOSED, OperatingStatus.REVOKED]),
    days_later=st.integers(1, 3000),
    with_cadre=st.booleans(),
)
def test_a_business_closed_after_the_plan_day_is_judged_as_still_open(
    status: OperatingStatus, days_later: int, with_cadre: bool
) -> None:
    """Its closure dated after the plan's day: it was operating that day, so the planner
    places it or (no cadre) lists it unplaced, and both assertions agree."""
    since = date.fromordinal(ON.toordinal() + days_later)
    roster = Roster.build(H, [shop(7, status=status, status_since=since)], [CADRE] * with_cadre)
    plan = plan_assignments(roster, RULES, ON, PlanMode.FRESH)
    assert [u.business_key for u in plan.unplaced] == ([] if with_cadre else [shop(7).key])
    both_assertions(roster, plan)


def test_a_business_closed_by_the_plan_day_still_may_not_be_listed() -> None:
    closed = shop(7, status=OperatingStatus.CLOSED, status_since=ON)
    roster = Roster.build(H, [closed])
    plan = plan_assignments(roster, RULES, ON, PlanMode.FRESH)
    assert plan.unplaced == ()
    listed = attrs.evolve(plan, unplaced=(Unplaced(closed.key, UnplacedReason.NO_ACTIVE_CADRE),))
    assert kinds_of_plan(roster, listed) == ["plan.unplaced_out_of_scope"]


def test_a_business_opening_after_the_plan_day_need_not_be_listed() -> None:
    """Not yet open on the plan's day, it is no coverage gap (``roster_violations``), so a
    plan that leaves it out entirely is not told it should have listed it."""
    later = shop(8, opened_on=date(2025, 9, 1))
    roster = Roster.build(H, [later])
    plan = plan_assignments(roster, RULES, ON, PlanMode.FRESH)
    silent = attrs.evolve(plan, changes=(), unplaced=())
    assert kinds_of_plan(roster, silent) == []
    assert roster_violations(roster, RULES, ON) == []
    both_assertions(roster, plan)  # and what the planner does with it passes too


# --- a planner that gives up cannot pass (defect 4) -------------------------------------


def test_a_placeable_business_neither_placed_nor_listed_is_reported() -> None:
    roster = Roster.build(H, [shop(1), shop(2)], [CADRE])
    honest = plan_assignments(roster, RULES, ON, PlanMode.FRESH)
    both_assertions(roster, honest)
    lazy = attrs.evolve(honest, changes=(), unplaced=())
    with pytest.raises(InvariantViolated) as caught:
        assert_unplaced_exactly(roster, lazy, RULES)
    violations = caught.value.violations
    assert [(v.kind, v.ids) for v in violations] == [
        ("plan.dropped", (shop(1).key, "cv01")),
        ("plan.dropped", (shop(2).key, "cv01")),
    ]
    assert all(v.message_zh and v.message_en for v in violations)
    assert "cv01" in violations[0].message_en and "cv01" in violations[0].message_zh


def test_a_business_kept_by_an_incremental_plan_is_not_dropped() -> None:
    held = Assignment("cv01", shop(1).key, date(2025, 1, 1))
    roster = Roster.build(H, [shop(1)], [CADRE], [held])
    plan = plan_assignments(roster, RULES, ON, PlanMode.INCREMENTAL)
    assert plan.is_empty
    both_assertions(roster, plan)


# --- an unknown area is named as such (defect 5) ----------------------------------------


def test_a_business_filed_under_an_unknown_area_is_reported_as_that() -> None:
    stray = attrs.evolve(shop(4), area_code="450399101001")
    held = Assignment("cv01", stray.key, date(2025, 1, 1))
    roster = Roster.build(H, [stray], [CADRE], [held])
    found = [v for v in roster_violations(roster, RULES, ON) if v.kind.startswith("assignment.")]
    assert [(v.kind, v.ids) for v in found] == [
        ("assignment.unknown_area", (stray.key, "cv01", "450399101001"))
    ]
    assert "450399101001" in found[0].message_en and "450399101001" in found[0].message_zh
    assert "outside" not in found[0].message_en


def test_a_cadre_filed_under_an_unknown_area_is_reported_as_that() -> None:
    stray = attrs.evolve(CADRE, area_code="450323199001")
    held = Assignment("cv01", shop(5).key, date(2025, 1, 1))
    roster = Roster.build(H, [shop(5)], [stray], [held])
    found = [v for v in roster_violations(roster, RULES, ON) if v.kind.startswith("assignment.")]
    assert [(v.kind, v.ids) for v in found] == [
        ("assignment.unknown_area", (shop(5).key, "cv01", "450323199001"))
    ]
    assert "cadre cv01" in found[0].message_en and "干部 cv01" in found[0].message_zh


def test_a_business_outside_a_known_cadre_area_is_still_jurisdiction() -> None:
    other = Area("450323101002", "乙村", Tier.VILLAGE)
    roster = Roster.build(
        Hierarchy([*H, other]),
        [attrs.evolve(shop(6), area_code=other.code)],
        [CADRE],
        [Assignment("cv01", shop(6).key, date(2025, 1, 1))],
    )
    found = [
        v.kind for v in roster_violations(roster, RULES, ON) if v.kind.startswith("assignment.")
    ]
    assert found == ["assignment.jurisdiction"]
