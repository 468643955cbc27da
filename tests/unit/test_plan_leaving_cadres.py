"""A plan made after a cadre's departure is recorded, dated before it (review 5, item 4).

A township's cadre sheet, imported on 10-25, records that one of its two township cadres
leaves (active to 10-31, so ``active_to`` 11-01) and that a successor starts on 11-01; the
import ends the leaver's assignments on 11-01. A plan on 10-26 must not give the leaver
new businesses while the other cadre stays, and what it must give them ends on 11-01.
"""

from __future__ import annotations

from datetime import date

import attrs
import pytest

from twores import (
    Assignment,
    AssignmentReason,
    BusinessType,
    Cadre,
    FoodBusiness,
    Grade,
    PlanMode,
    Roster,
    Tier,
    apply_plan,
    plan_assignments,
    roster_violations,
)
from twores.divisions import demo_region
from twores.plugins.manager import make_plugin_manager
from twores.testing import assert_invariants

RULES = make_plugin_manager(load_entrypoints=False).rulebook()
TOWNSHIP = "450323101"
VILLAGE = "450323101202"
START = date(2026, 7, 1)
IMPORTED = date(2026, 10, 25)
PLANNED = date(2026, 10, 26)
LEAVES = date(2026, 11, 1)  # 任职截止日期 2026-10-31, half-open


def shop(index: int) -> FoodBusiness:
    return FoodBusiness(
        name=f"店{index}",
        area_code=VILLAGE,
        business_type=BusinessType.SALES,
        licence_no=f"JY145032310{index:05d}",
        grade=Grade.C,  # a township cadre's
    )


def township_cadre(cadre_id: str, active_from: date, active_to: date | None = None) -> Cadre:
    return Cadre(
        id=cadre_id,
        name="王伟",
        tier=Tier.TOWNSHIP,
        area_code=TOWNSHIP,
        active_from=active_from,
        active_to=active_to,
    )


def applied(roster: Roster, on: date, mode: PlanMode) -> tuple[Roster, frozenset[str]]:
    plan = plan_assignments(roster, RULES, on, mode)
    unplaced = frozenset(u.business_key for u in plan.unplaced)
    return roster.with_assignments(apply_plan(roster.assignments, plan)), unplaced


def after_the_import(new_businesses: int = 3) -> Roster:
    """Six businesses shared by the stayer and the leaver, whose ones end on the departure
    (as the import ends them); ``new_businesses`` more registered since, held by no one."""
    held = [shop(i) for i in range(6)]
    history = [
        Assignment(
            "leaver" if i % 2 else "stayer",
            b.key,
            START,
            LEAVES if i % 2 else None,
            AssignmentReason.IMPORTED,
        )
        for i, b in enumerate(held)
    ]
    cadres = [
        township_cadre("stayer", active_from=START),
        township_cadre("leaver", active_from=START, active_to=LEAVES),
        township_cadre("successor", active_from=LEAVES),
    ]
    new = [shop(100 + i) for i in range(new_businesses)]
    return Roster.build(demo_region(), [*held, *new], cadres, history)


def kinds(roster: Roster, on: date) -> set[str]:
    return {v.kind for v in roster_violations(roster, RULES, on)}


@pytest.mark.parametrize("mode", list(PlanMode))
def test_a_plan_before_a_recorded_departure_holds_the_invariants_after_it(mode: PlanMode) -> None:
    roster, unplaced = applied(after_the_import(), PLANNED, mode)
    assert not unplaced
    for day in (PLANNED, date(2026, 10, 31)):
        assert_invariants(roster=roster, rules=RULES, on=day)
    # On the departure the leaver's businesses are orphaned, and no one holds one after it.
    assert "assignment.inactive_cadre" not in kinds(roster, LEAVES)
    leavers = [a for a in roster.assignments if a.cadre_id == "leaver"]
    assert all(a.valid_to is not None and a.valid_to <= LEAVES for a in leavers)
    # The next incremental plan, on the departure, hands exactly those over.
    orphaned = {a.business_key for a in leavers if a.valid_to == LEAVES}
    plan = plan_assignments(roster, RULES, LEAVES, PlanMode.INCREMENTAL)
    assert not plan.ends
    assert {c.business_key for c in plan.creates} == orphaned
    assert {c.reason for c in plan.creates} == {AssignmentReason.CADRE_LEFT}
    after = roster.with_assignments(apply_plan(roster.assignments, plan))
    assert_invariants(roster=after, rules=RULES, on=LEAVES)


def test_incremental_gives_new_businesses_to_the_cadre_who_stays() -> None:
    plan = plan_assignments(after_the_import(), RULES, PLANNED, PlanMode.INCREMENTAL)
    assert {c.cadre_id for c in plan.creates} == {"stayer"}
    assert all(c.valid_to is None for c in plan.creates)
    assert all(c.reason is AssignmentReason.NEW_BUSINESS for c in plan.creates)


def test_rebalance_gives_a_leaver_only_what_balance_needs_and_ends_it_on_departure() -> None:
    # 6 held (3 each) and 3 new: loads 5/4, the extra slot going to the one who stays.
    plan = plan_assignments(after_the_import(), RULES, PLANNED, PlanMode.REBALANCE)
    loads = plan.loads[next(g for g in plan.loads if g.tier is Tier.TOWNSHIP)]
    assert loads == {"stayer": 5, "leaver": 4}
    for change in plan.creates:
        assert change.valid_to == (LEAVES if change.cadre_id == "leaver" else None)


def test_when_every_cadre_leaves_each_create_ends_on_its_cadres_departure() -> None:
    roster = after_the_import()
    later = date(2027, 3, 1)
    stayer = attrs.evolve(roster.cadres["stayer"], active_to=later)
    roster = Roster.build(
        roster.hierarchy,
        roster.businesses.values(),
        [stayer, roster.cadres["leaver"], roster.cadres["successor"]],
        roster.assignments,
    )
    plan = plan_assignments(roster, RULES, PLANNED, PlanMode.INCREMENTAL)
    # Both leave: least-loaded first, ties to the later departure; each create ends on
    # its cadre's departure.
    assert [c.cadre_id for c in plan.creates] == ["stayer", "leaver", "stayer"]
    departs = {"stayer": later, "leaver": LEAVES}
    assert all(c.valid_to == departs[c.cadre_id] for c in plan.creates)


def test_a_future_takeover_before_the_departure_still_ends_the_create() -> None:
    roster = after_the_import(new_businesses=1)
    only_leaver = Roster.build(
        roster.hierarchy,
        roster.businesses.values(),
        [roster.cadres["leaver"], roster.cadres["successor"]],
        [a for a in roster.assignments if a.cadre_id == "leaver"]
        + [Assignment("successor", shop(100).key, LEAVES, None, AssignmentReason.IMPORTED)],
    )
    plan = plan_assignments(only_leaver, RULES, PLANNED, PlanMode.INCREMENTAL)
    creates = {c.business_key: c for c in plan.creates}
    assert creates[shop(100).key].valid_to == LEAVES  # the successor's own starts then
    assert all(c.cadre_id == "leaver" and c.valid_to == LEAVES for c in creates.values())
    after = only_leaver.with_assignments(apply_plan(only_leaver.assignments, plan))
    assert "assignment.overlap" not in kinds(after, PLANNED)
    assert kinds(after, LEAVES) <= {"coverage.missing"}
