"""Each invariant catches the violation it names."""

from __future__ import annotations

from datetime import date

import attrs
import pytest

from twores import (
    Area,
    Assignment,
    BusinessType,
    Cadre,
    FoodBusiness,
    Grade,
    Hierarchy,
    OperatingStatus,
    Roster,
    Tier,
)
from twores.core.assignment import Unplaced, UnplacedReason, plan_assignments
from twores.core.invariants import roster_violations
from twores.divisions import demo_region
from twores.plugins.manager import make_plugin_manager
from twores.testing import (
    InvariantViolated,
    assert_invariants,
    assert_unplaced_exactly,
    national_rules,
)

ON = date(2025, 6, 30)
RULES = national_rules()
SHOP = FoodBusiness(
    name="店",
    area_code="450323101202",
    business_type=BusinessType.SALES,
    licence_no="JY14503231000001",
    grade=Grade.D,
)
VILLAGE_CADRE = Cadre(id="v", name="王伟", tier=Tier.VILLAGE, area_code="450323101202")


def kinds(
    businesses: list[FoodBusiness], cadres: list[Cadre], assignments: list[Assignment]
) -> list[str]:
    roster = Roster.build(demo_region(), businesses, cadres, assignments)
    return sorted(v.kind for v in roster_violations(roster, RULES, ON))


def test_a_correct_roster_has_no_violations() -> None:
    assert kinds([SHOP], [VILLAGE_CADRE], [Assignment("v", SHOP.key, date(2025, 1, 1))]) == []


def test_coverage() -> None:
    assert kinds([SHOP], [VILLAGE_CADRE], []) == ["coverage.missing"]
    other = Cadre(id="w", name="李娜", tier=Tier.VILLAGE, area_code="450323101202")
    two = [Assignment("v", SHOP.key, date(2025, 1, 1)), Assignment("w", SHOP.key, date(2025, 2, 1))]
    assert kinds([SHOP], [VILLAGE_CADRE, other], two) == ["assignment.overlap", "coverage.multiple"]


def test_tier_and_jurisdiction() -> None:
    township = Cadre(id="t", name="王伟", tier=Tier.TOWNSHIP, area_code="450323101")
    assert kinds([SHOP], [township], [Assignment("t", SHOP.key, date(2025, 1, 1))]) == [
        "assignment.tier"
    ]
    elsewhere = Cadre(id="e", name="王伟", tier=Tier.VILLAGE, area_code="450323101203")
    assert kinds([SHOP], [elsewhere], [Assignment("e", SHOP.key, date(2025, 1, 1))]) == [
        "assignment.jurisdiction"
    ]


def test_a_cadre_whose_area_is_not_of_their_tier() -> None:
    """A village-tier cadre filed on a township-level zone (its code says no tier): the
    planner never places on one, so the checks flag it too."""
    zone = Area(code="450323-Z1", name="灵川开发区", tier=Tier.TOWNSHIP, parent_code="450323")
    shop = attrs.evolve(SHOP, area_code=zone.code)
    misfiled = Cadre(id="m", name="王伟", tier=Tier.VILLAGE, area_code=zone.code)
    roster = Roster.build(
        Hierarchy([*demo_region(), zone]),
        [shop],
        [misfiled],
        [Assignment("m", shop.key, date(2025, 1, 1))],
    )
    assert [v.kind for v in roster_violations(roster, RULES, ON)] == ["assignment.cadre_area_tier"]


def test_inactive_cadre_closed_business_and_dangling() -> None:
    gone = Cadre(
        id="v",
        name="王伟",
        tier=Tier.VILLAGE,
        area_code="450323101202",
        active_from=date(2020, 1, 1),
        active_to=date(2025, 3, 1),
    )
    assert kinds([SHOP], [gone], [Assignment("v", SHOP.key, date(2025, 1, 1))]) == [
        "assignment.inactive_cadre"
    ]
    closed = FoodBusiness(
        name="店",
        area_code="450323101202",
        business_type=BusinessType.SALES,
        licence_no="JY14503231000001",
        grade=Grade.D,
        status=OperatingStatus.CLOSED,
    )
    assert kinds([closed], [VILLAGE_CADRE], [Assignment("v", SHOP.key, date(2025, 1, 1))]) == [
        "assignment.closed_business"
    ]
    assert kinds([SHOP], [], [Assignment("x", SHOP.key, date(2025, 1, 1))]) == [
        "assignment.dangling"
    ]


def test_overlap_in_history() -> None:
    history = [
        Assignment("v", SHOP.key, date(2024, 1, 1), date(2024, 6, 1)),
        Assignment("v", SHOP.key, date(2024, 5, 1), date(2024, 7, 1)),
        Assignment("v", SHOP.key, date(2025, 1, 1)),
    ]
    assert kinds([SHOP], [VILLAGE_CADRE], history) == ["assignment.overlap"]


def test_every_overlapping_pair_is_found_not_only_neighbours() -> None:
    history = [
        Assignment("a", SHOP.key, date(2020, 1, 1), date(2030, 1, 1)),
        Assignment("b", SHOP.key, date(2020, 6, 1), date(2020, 6, 1)),  # empty: shares no day
        Assignment("c", SHOP.key, date(2021, 1, 1), date(2022, 1, 1)),
        Assignment("d", SHOP.key, date(2022, 1, 1), date(2023, 1, 1)),
    ]
    cadres = [attrs.evolve(VILLAGE_CADRE, id=c) for c in "abcd"]
    roster = Roster.build(demo_region(), [SHOP], cadres, history)
    found = roster_violations(roster, RULES, ON)
    pairs = [v.ids[1:] for v in found if v.kind == "assignment.overlap"]
    assert sorted(pairs) == [("a", "c"), ("a", "d")]  # c and d only touch


def test_a_plan_that_leaves_a_placeable_business_unplaced_is_caught() -> None:
    other = attrs.evolve(SHOP, licence_no="JY14503231000002")
    roster = Roster.build(demo_region(), [SHOP, other], [VILLAGE_CADRE], [])
    honest = plan_assignments(roster, RULES, ON)
    assert_unplaced_exactly(roster, honest, RULES)
    lazy = attrs.evolve(
        honest, changes=(), unplaced=(Unplaced(SHOP.key, UnplacedReason.NO_ACTIVE_CADRE),)
    )
    with pytest.raises(InvariantViolated) as caught:
        assert_unplaced_exactly(roster, lazy, RULES)
    # SHOP listed though placeable; the other neither placed nor listed (dropped)
    assert [v.kind for v in caught.value.violations] == ["plan.placeable_unplaced", "plan.dropped"]
    assert f"{SHOP.key} could be held by v" in str(caught.value)
    assert other.key in str(caught.value.violations[1])


def test_a_plan_cannot_hide_a_bad_assignment_by_calling_its_business_unplaced() -> None:
    closed = attrs.evolve(SHOP, status=OperatingStatus.CLOSED)
    held = Assignment(VILLAGE_CADRE.id, SHOP.key, date(2021, 1, 1))
    roster = Roster.build(demo_region(), [closed], [VILLAGE_CADRE], [held])
    honest = plan_assignments(roster, RULES, ON)
    assert_unplaced_exactly(roster, honest, RULES)
    hiding = attrs.evolve(
        honest, changes=(), unplaced=(Unplaced(SHOP.key, UnplacedReason.NO_ACTIVE_CADRE),)
    )
    with pytest.raises(InvariantViolated) as listed:  # a closed business needs no cadre
        assert_unplaced_exactly(roster, hiding, RULES)
    assert [v.kind for v in listed.value.violations] == ["plan.unplaced_out_of_scope"]
    with pytest.raises(InvariantViolated) as still_held:  # ignored: may lack a cadre, no more
        assert_invariants(roster=roster, rules=RULES, on=ON, ignore={SHOP.key})
    assert [v.kind for v in still_held.value.violations] == ["assignment.closed_business"]


def test_the_kit_says_what_it_takes_instead_of_failing_obscurely() -> None:
    roster = Roster.build(demo_region(), [SHOP], [VILLAGE_CADRE], [])
    with pytest.raises(TypeError, match="not one string"):
        assert_invariants(roster=roster, on=ON, ignore=SHOP.key)
    manager = make_plugin_manager(load_entrypoints=False)
    with pytest.raises(InvariantViolated, match=r"coverage\.missing"):  # a manager: its rule book
        assert_invariants(roster=roster, on=ON, rules=manager)
    with pytest.raises(TypeError, match="RuleBook"):
        assert_invariants(roster=roster, on=ON, rules="national")


def test_messages_name_every_unknown_record_and_the_business_status() -> None:
    roster = Roster.build(demo_region(), [], [], [Assignment("ghost", "JY0", date(2025, 1, 1))])
    (dangling,) = roster_violations(roster, RULES, ON)
    assert "主体 JY0和干部 ghost" in dangling.message_zh
    assert "business JY0 and cadre ghost" in dangling.message_en
    stopped = attrs.evolve(SHOP, status=OperatingStatus.SUSPENDED)
    (missing,) = roster_violations(Roster.build(demo_region(), [stopped], [], []), RULES, ON)
    assert missing.message_zh.startswith("停业主体") and "suspended business" in missing.message_en
