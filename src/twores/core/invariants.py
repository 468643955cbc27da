"""Invariants: stated once, as pure functions of a snapshot returning every violation.

The library checks them, our tests check them with Hypothesis, and users' testers call them
through ``twores.testing.assert_invariants``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import date

import attrs

from twores.core.areas import Hierarchy, Tier, is_standard_code
from twores.core.assignment import Assignment, Plan, UnplacedReason
from twores.core.businesses import FoodBusiness
from twores.core.cadres import Cadre
from twores.core.roster import Roster, RuleBook


@attrs.frozen
class Violation:
    """One broken invariant: its kind, the ids involved, and a zh/en message."""

    kind: str
    ids: tuple[str, ...]
    message_zh: str
    message_en: str


def hierarchy_violations(hierarchy: Hierarchy) -> list[Violation]:
    """Parent exactly one tier up, acyclic, and ancestry agreeing with statistical codes."""
    found: list[Violation] = []
    for area in hierarchy:
        path = hierarchy.path(area.code)
        if len(path) > len(Tier) or len({a.code for a in path}) != len(path):
            found.append(
                Violation(
                    "hierarchy.cycle",
                    (area.code,),
                    "区划上级关系成环",
                    "the parent chain has a cycle",
                )
            )
            continue
        if path[0].tier is not Tier.PROVINCE:
            found.append(
                Violation(
                    "hierarchy.root",
                    (area.code, path[0].code),
                    f"根区划 {path[0].code} 不是省级",
                    f"root {path[0].code} is not a province",
                )
            )
        for upper, lower in itertools.pairwise(path):
            if lower.tier.depth != upper.tier.depth + 1:
                found.append(
                    Violation(
                        "hierarchy.tier_step",
                        (lower.code, upper.code),
                        f"{lower.code} 的上级 {upper.code} 不是高一级",
                        f"parent {upper.code} of {lower.code} is not one tier up",
                    )
                )
            if (
                is_standard_code(lower.code)
                and is_standard_code(upper.code)
                and not lower.code.startswith(upper.code)
            ):
                found.append(
                    Violation(
                        "hierarchy.code_prefix",
                        (lower.code, upper.code),
                        f"{lower.code} 不以上级代码 {upper.code} 开头",
                        f"{lower.code} does not start with its parent's code {upper.code}",
                    )
                )
        for ancestor in path:
            if hierarchy.ancestor(area.code, ancestor.tier) != ancestor or not hierarchy.contains(
                ancestor.code, area.code
            ):
                found.append(
                    Violation(
                        "hierarchy.ancestry",
                        (area.code, ancestor.code),
                        f"{ancestor.code} 在 {area.code} 的路径上，但查询结果不符",
                        f"{ancestor.code} is on the path of {area.code}; ancestry queries disagree",
                    )
                )
    for area in hierarchy:
        below = {a.code for a in hierarchy.descendants(area.code)}
        expected = {
            other.code
            for child in hierarchy.children(area.code)
            for other in (child, *hierarchy.descendants(child.code))
        }
        if below != expected:
            found.append(
                Violation(
                    "hierarchy.descendants",
                    (area.code,),
                    f"{area.code} 的下级区划集合不一致",
                    f"descendants of {area.code} disagree with its children",
                )
            )
    return found


def roster_violations(
    roster: Roster, rules: RuleBook, on: date, *, ignore: Iterable[str] = ()
) -> list[Violation]:
    """Assignment invariants on ``on`` (docs/sources.md); the businesses in ``ignore`` (a
    plan's unplaced ones) may lack a cadre, and every other check still holds for them.

    * coverage: every business open and in scope on ``on`` (its status as of that day,
      not as of now) has exactly one active assignment;
    * tier: the cadre's tier is the one the rules in force give for the business's grade;
    * jurisdiction: the business lies inside the cadre's area, an area of the cadre's tier;
      both filed under areas the hierarchy holds;
    * no active assignment to an unknown or inactive cadre, or to an unknown business or one
      closed or revoked by ``on``;
    * no overlapping valid time for one business, over the whole history;
    * no cadre above the load cap where the rules set one.

    In that order: coverage by business key, then each active assignment's violations by
    business key, overlaps by business (in the order of ``roster.assignments``), load
    caps by cadre id (:class:`RosterViolationParts` holds the first three apart, for a
    check made part by part)."""
    parts = roster_violation_parts(roster, rules, on, ignore=ignore)
    return [
        *parts.coverage,
        *parts.assignments,
        *parts.overlaps,
        *load_cap_violations(roster, rules, on, parts.load),
    ]


@attrs.frozen
class RosterViolationParts:
    """:func:`roster_violations` but the load caps, section by section, and each cadre's
    load (active assignments on the day): a roster split by business (each business
    with all its assignments) gives, per part, sections whose every violation names its
    business first (``ids[0]``), so merged by that key they are the whole roster's, and
    the loads add up to the whole roster's."""

    coverage: list[Violation]
    assignments: list[Violation]
    overlaps: list[Violation]
    load: Counter[str]


def roster_violation_parts(
    roster: Roster, rules: RuleBook, on: date, *, ignore: Iterable[str] = ()
) -> RosterViolationParts:
    """The sections of :func:`roster_violations` before the load caps, and the loads."""
    skipped = set(ignore)
    coverage: list[Violation] = []
    active_by_business: dict[str, list[Assignment]] = {}
    load: Counter[str] = Counter()
    for assignment in roster.active_assignments(on):
        active_by_business.setdefault(assignment.business_key, []).append(assignment)
        load[assignment.cadre_id] += 1

    for key in sorted(roster.businesses):
        business = roster.businesses[key]
        if not business.in_scope_on(on):  # as of the day checked, not as of now
            continue
        held = active_by_business.get(key, [])
        if not held and key not in skipped:
            coverage.append(
                Violation(
                    "coverage.missing",
                    (key,),
                    f"{business.status_on(on).zh}主体 {key} 没有包保干部",
                    f"{business.status_on(on).en} business {key} has no assigned cadre",
                )
            )
        elif len(held) > 1:
            cadres = ", ".join(sorted(a.cadre_id for a in held))
            coverage.append(
                Violation(
                    "coverage.multiple",
                    (key, *sorted(a.cadre_id for a in held)),
                    f"主体 {key} 同时有 {len(held)} 名包保干部：{cadres}",
                    f"business {key} has {len(held)} active assignments: {cadres}",
                )
            )

    assigned: list[Violation] = []
    for key in sorted(active_by_business):
        for assignment in active_by_business[key]:
            assigned.extend(assignment_violations(roster, rules, on, assignment))

    overlaps: list[Violation] = []
    for key, history in _by_business(roster.assignments).items():
        for first, second in overlapping_pairs(history):
            overlaps.append(
                Violation(
                    "assignment.overlap",
                    (key, first.cadre_id, second.cadre_id),
                    f"主体 {key} 的包保关系时间重叠（{first.cadre_id} 与 {second.cadre_id}）",
                    f"assignments of business {key} overlap "
                    f"({first.cadre_id} and {second.cadre_id})",
                )
            )
    return RosterViolationParts(coverage, assigned, overlaps, load)


def load_cap_violations(
    roster: Roster, rules: RuleBook, on: date, load: Mapping[str, int]
) -> list[Violation]:
    """The cadres of ``roster`` holding more than the rules' cap (``load``: their active
    assignments on ``on``), by cadre id; an unknown cadre, or one filed under an area
    the hierarchy does not hold, is another violation's."""
    found: list[Violation] = []
    hierarchy = roster.hierarchy
    for cadre_id in sorted(load):
        cadre = roster.cadres.get(cadre_id)
        if cadre is None or cadre.area_code not in hierarchy:
            continue
        cap = rules.load_cap(cadre.tier, on, cadre.area_code)
        if cap is not None and load[cadre_id] > cap:
            found.append(
                Violation(
                    "assignment.load_cap",
                    (cadre_id,),
                    f"干部 {cadre_id} 包保 {load[cadre_id]} 家，超过上限 {cap}",
                    f"cadre {cadre_id} holds {load[cadre_id]} businesses, above the cap of {cap}",
                )
            )
    return found


def _by_business(assignments: Iterable[Assignment]) -> dict[str, list[Assignment]]:
    grouped: dict[str, list[Assignment]] = {}
    for assignment in assignments:
        grouped.setdefault(assignment.business_key, []).append(assignment)
    return grouped


def overlapping_pairs(history: Iterable[Assignment]) -> Iterator[tuple[Assignment, Assignment]]:
    """Every pair of one business's assignments whose valid times share a day, the earlier
    first (a sweep in start order: each meets only those still running when it starts)."""
    running: list[Assignment] = []
    ordered = sorted(history, key=lambda a: (a.valid_from, a.valid_to or date.max, a.cadre_id))
    for assignment in ordered:
        if assignment.valid_from == assignment.valid_to:
            continue  # an empty one shares no day
        running = [a for a in running if a.valid_to is None or a.valid_to > assignment.valid_from]
        for earlier in running:
            yield earlier, assignment
        running.append(assignment)


def overlapping(first: Assignment, second: Assignment) -> bool:
    """Two assignments' valid times share a day (an empty one shares none)."""
    if first.valid_from == first.valid_to or second.valid_from == second.valid_to:
        return False
    return (second.valid_to is None or first.valid_from < second.valid_to) and (
        first.valid_to is None or second.valid_from < first.valid_to
    )


def assignment_violations(
    roster: Roster, rules: RuleBook, on: date, assignment: Assignment
) -> list[Violation]:
    """What is wrong with one assignment active on ``on``: an unknown, closed or revoked
    business; an unknown or inactive cadre; the wrong tier; a business or cadre filed
    under an area the hierarchy does not hold; a business outside the cadre's area; a
    cadre whose area is not of their tier (the planner never places on one)."""
    key, cadre_id = assignment.business_key, assignment.cadre_id
    ids = (key, cadre_id)
    business = roster.businesses.get(key)
    cadre = roster.cadres.get(cadre_id)
    if business is None or cadre is None:
        unknown = [(f"主体 {key}", f"business {key}")] if business is None else []
        unknown += [(f"干部 {cadre_id}", f"cadre {cadre_id}")] if cadre is None else []
        missing_zh = "和".join(zh for zh, _ in unknown)
        missing = " and ".join(en for _, en in unknown)
        return [
            Violation(
                "assignment.dangling",
                ids,
                f"包保关系指向不存在的{missing_zh}",
                f"an assignment refers to unknown {missing}",
            )
        ]
    found: list[Violation] = []
    status = business.status_on(on)  # as of the day checked, not as of now
    if not status.in_scope:
        found.append(
            Violation(
                "assignment.closed_business",
                ids,
                f"已{status.zh}的主体 {key} 仍有包保干部 {cadre_id}",
                f"{status.en} business {key} still assigned to {cadre_id}",
            )
        )
    if not cadre.is_active(on):
        found.append(
            Violation(
                "assignment.inactive_cadre",
                ids,
                f"不在岗的干部 {cadre_id} 仍包保主体 {key}",
                f"inactive cadre {cadre_id} still assigned to {key}",
            )
        )
    tier = rules.tier_of(rules.grade_of(business, on), on, business.area_code)
    if cadre.tier is not tier:
        found.append(
            Violation(
                "assignment.tier",
                ids,
                f"主体 {key} 应由{tier.zh}干部包保，{cadre_id} 为{cadre.tier.zh}",
                f"business {key} needs a {tier.en} cadre; {cadre_id} is {cadre.tier.en}",
            )
        )
    hierarchy = roster.hierarchy
    unknown_areas = [
        (what_zh, what_en, who, code)
        for what_zh, what_en, who, code in (
            ("主体", "business", key, business.area_code),
            ("干部", "cadre", cadre_id, cadre.area_code),
        )
        if code not in hierarchy
    ]
    for what_zh, what_en, who, code in unknown_areas:
        found.append(
            Violation(
                "assignment.unknown_area",
                (*ids, code),
                f"{what_zh} {who} 所在区划 {code} 不在区划树中",
                f"{what_en} {who} is filed under {code}, an area the hierarchy does not hold",
            )
        )
    if not unknown_areas and not hierarchy.contains(cadre.area_code, business.area_code):
        found.append(
            Violation(
                "assignment.jurisdiction",
                ids,
                f"主体 {key}（{business.area_code}）不在干部 {cadre_id} 的辖区 "
                f"{cadre.area_code} 内",
                f"business {key} ({business.area_code}) lies outside {cadre_id}'s area "
                f"{cadre.area_code}",
            )
        )
    if cadre.area_code in hierarchy and hierarchy[cadre.area_code].tier is not cadre.tier:
        area_tier = hierarchy[cadre.area_code].tier
        found.append(
            Violation(
                "assignment.cadre_area_tier",
                ids,
                f"干部 {cadre_id} 为{cadre.tier.zh}干部，其辖区 {cadre.area_code} 却是"
                f"{area_tier.zh}区划",
                f"cadre {cadre_id} is of {cadre.tier.en} tier but their area "
                f"{cadre.area_code} is a {area_tier.en} area",
            )
        )
    return found


def eligible_cadres(
    roster: Roster, rules: RuleBook, on: date, business: FoodBusiness
) -> list[Cadre]:
    """The active cadres the rules let hold ``business`` on ``on``: of the tier its grade
    maps to, filed at its ancestor of that tier (worked out without the planner)."""
    return _active_by_area(roster, on).get(_target(roster, rules, on, business), [])


def _target(
    roster: Roster, rules: RuleBook, on: date, business: FoodBusiness
) -> tuple[str, Tier] | None:
    """The area and tier whose cadres may hold ``business`` (None: no such area)."""
    if business.area_code not in roster.hierarchy:
        return None
    tier = rules.tier_of(rules.grade_of(business, on), on, business.area_code)
    area = roster.hierarchy.ancestor(business.area_code, tier)
    return None if area is None else (area.code, tier)


def _active_by_area(roster: Roster, on: date) -> dict[tuple[str, Tier] | None, list[Cadre]]:
    found: dict[tuple[str, Tier] | None, list[Cadre]] = {}
    for cadre in sorted(roster.cadres.values(), key=lambda c: c.id):
        if cadre.is_active(on):
            found.setdefault((cadre.area_code, cadre.tier), []).append(cadre)
    return found


def placement_violations(
    roster: Roster, plan: Plan, rules: RuleBook, after: Roster
) -> list[Violation]:
    """What ``plan`` (made on ``roster``, giving ``after``) left unplaced that it could
    place, and what it placed nowhere without saying so: a business in scope on the plan's
    day (``in_scope_on``, as :func:`roster_violations` judges coverage) is unplaced exactly
    when it has no eligible cadre, or (``load_cap``) every eligible cadre is at the cap;
    every other one is held in ``after``. Listing unplaced a business that is unknown or
    closed (or revoked) by that day is a violation; one not yet open then may be listed
    or not (the planner may plan ahead for it)."""
    on = plan.on
    said = {u.business_key: u.reason for u in plan.unplaced}
    active = after.active_assignments(on)
    held = Counter(a.cadre_id for a in active)
    holding = {a.business_key for a in active}
    by_area = _active_by_area(roster, on)
    found: list[Violation] = [
        Violation(
            "plan.unplaced_out_of_scope",
            (key,),
            f"计划列为未安排的 {key} 在 {on} 不是在营（或停业）的主体，无需安排",
            f"the plan lists {key} unplaced, but it is no operating or suspended business on {on}",
        )
        for key in sorted(said)
        if (business := roster.businesses.get(key)) is None
        or not business.status_on(on).in_scope  # as of the plan's day, not as of now
    ]
    for key, business in sorted(roster.businesses.items()):
        if not business.in_scope_on(on):  # as of the plan's day, not as of now
            continue
        cadres = by_area.get(_target(roster, rules, on, business), [])
        reason = said.get(key)
        if not cadres and reason is None:
            found.append(
                Violation(
                    "plan.unsaid_unplaced",
                    (key,),
                    f"主体 {key} 没有可包保的干部，计划却未列为未安排",
                    f"business {key} has no eligible cadre, yet the plan does not list it unplaced",
                )
            )
        elif cadres and reason is None and key not in holding:
            who = "、".join(c.id for c in cadres[:5])
            found.append(
                Violation(
                    "plan.dropped",
                    (key, *(c.id for c in cadres[:5])),
                    f"主体 {key} 可由 {who} 包保，计划却既未安排也未列为未安排",
                    f"business {key} could be held by {who}, yet the plan neither placed it "
                    "nor listed it unplaced",
                )
            )
        elif cadres and reason is not None:
            room = [
                c.id
                for c in cadres
                if (cap := rules.load_cap(c.tier, on, c.area_code)) is None or held[c.id] < cap
            ]
            if reason is not UnplacedReason.LOAD_CAP or room:
                who = "、".join(room or [c.id for c in cadres][:5])
                found.append(
                    Violation(
                        "plan.placeable_unplaced",
                        (key, *(room or [c.id for c in cadres])[:5]),
                        f"主体 {key} 可由 {who} 包保，计划却列为未安排（{reason.zh}）",
                        f"business {key} could be held by {who}, yet the plan left it "
                        f"unplaced ({reason.en})",
                    )
                )
    return found
