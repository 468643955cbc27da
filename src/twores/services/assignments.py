"""Planning assignments for the stored roster, and checking the invariants on it."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy, Tier
from twores.core.assignment import (
    Assignment,
    AssignmentReason,
    Plan,
    PlanMode,
    Unplaced,
    plan_assignments,
)
from twores.core.businesses import IN_SCOPE_STATUSES, FoodBusiness
from twores.core.cadres import Cadre
from twores.core.gc import gc_paused
from twores.core.invariants import (
    RosterViolationParts,
    Violation,
    load_cap_violations,
    roster_violation_parts,
)
from twores.core.periods import today
from twores.core.ports import Store, UnitOfWork, UpsertResult
from twores.core.roster import Roster, RuleBook
from twores.core.security import Scope
from twores.services.lookups import check_office, county_filed


def upsert_cadres(
    uow: UnitOfWork, cadres: list[Cadre], *, on: date | None = None
) -> tuple[UpsertResult, UpsertResult]:
    """Write ``cadres``; a cadre who left (``active_to`` newly set, or earlier than stored)
    holds nothing from that day: their assignments still in force then end on it (reason
    cadre_left), so coverage drops at once and ``twores assign`` finds the businesses
    orphaned. A cadre moved to another area gives up, from ``on`` (default today), what
    they held where they served before (reason moved). Returns (cadres written,
    assignments ended)."""
    stored = uow.cadres.get_many([c.id for c in cadres])
    left = {
        c.id: c.active_to
        for c in cadres
        if c.active_to is not None
        and (
            (before := stored.get(c.id)) is None
            or before.active_to is None
            or c.active_to < before.active_to
        )
    }
    moved_on = on or today()
    moved = {
        c.id: moved_on
        for c in cadres
        if c.id not in left
        and (before := stored.get(c.id)) is not None
        and before.area_code != c.area_code
    }
    written = uow.cadres.upsert_many(cadres)
    areas = {c.id: c.area_code for c in cadres}
    served = {i: stored[i].area_code for i in moved}  # where they held businesses
    ended = _end(
        uow,
        _held_by(uow, {i: areas[i] for i in left}),
        lambda a: left[a.cadre_id],
        AssignmentReason.CADRE_LEFT,
    )
    ended += _end(uow, _held_by(uow, served), lambda a: moved[a.cadre_id], AssignmentReason.MOVED)
    return written, ended


def _held_by(uow: UnitOfWork, areas: Mapping[str, str]) -> list[Assignment]:
    """The assignments of the cadres of ``areas`` (cadre id -> the area they held them in):
    by index for a few, else one pass over the scope's."""
    if len(areas) <= _ONE_BY_ONE:
        return [
            a for c in sorted(areas) for a in uow.assignments.stream(cadre_id=c, within=areas[c])
        ]
    return [a for a in uow.assignments.stream() if a.cadre_id in areas]


#: Up to this many departing cadres, their assignments are read cadre by cadre.
_ONE_BY_ONE = 50


#: Businesses whose assignments are looked up at a time.
_BATCH = 5_000


def end_closed_assignments(uow: UnitOfWork, closed: dict[str, date]) -> UpsertResult:
    """Businesses closed or revoked (key -> the day their status changed) are held by no
    one from that day: their assignments still in force then end on it (reason
    business_closed), so coverage no longer counts them and no check finds a closed
    business held. Re-running changes nothing. Returns the assignments ended."""
    keys = sorted(closed)
    held = [
        a
        for start in range(0, len(keys), _BATCH)
        for a in uow.assignments.stream(business_keys=keys[start : start + _BATCH])
    ]
    return _end(uow, held, lambda a: closed[a.business_key], AssignmentReason.BUSINESS_CLOSED)


def end_moved_assignments(uow: UnitOfWork, moved: Mapping[str, str], on: date) -> UpsertResult:
    """Businesses moved to another area (key -> the area they are filed in now) are held
    from ``on`` only by cadres whose area holds that area (by the hierarchy: a county cadre
    keeps a business moved between its townships, a township cadre one moved between its
    villages): every other assignment still in force then ends on it (reason moved), so
    coverage drops at once and ``twores assign`` finds the business orphaned. A cadre the
    caller cannot see is left holding (an office sees no cadre above its own area, and
    every such area holds the caller's). Only the moved businesses' assignments are read,
    a batch at a time. Re-running changes nothing. Returns the assignments ended."""
    keys = sorted(moved)
    held = [
        a
        for start in range(0, len(keys), _BATCH)
        for a in uow.assignments.stream(business_keys=keys[start : start + _BATCH])
        if a.valid_to is None or a.valid_to > on
    ]
    if not held:
        return UpsertResult()
    cadres = uow.cadres.get_many({a.cadre_id for a in held})
    hierarchy = uow.areas.hierarchy()
    outside = [
        a
        for a in held
        if (cadre := cadres.get(a.cadre_id)) is not None
        and not hierarchy.holds(cadre.area_code, moved[a.business_key])
    ]
    return _end(uow, outside, lambda _: on, AssignmentReason.MOVED)


def _end(
    uow: UnitOfWork,
    held: Iterable[Assignment],
    day_of: Callable[[Assignment], date],
    reason: AssignmentReason,
) -> UpsertResult:
    """End each of ``held`` still in force after its day (never before it began)."""
    ended = [
        attrs.evolve(a, valid_to=max(day_of(a), a.valid_from), reason=reason)
        for a in held
        if a.valid_to is None or a.valid_to > day_of(a)
    ]
    return uow.assignments.upsert_many(ended) if ended else UpsertResult()


def load_roster(uow: UnitOfWork) -> Roster:
    """The areas, businesses, cadres and assignment history the unit of work can see."""
    return Roster.build(
        uow.areas.hierarchy(),
        uow.businesses.stream(),
        uow.cadres.stream(),
        uow.assignments.stream(),
    )


def managed_roster(roster: Roster, rules: RuleBook, on: date, scope: Scope) -> Roster:
    """The part of ``roster`` the scope's office assigns: businesses whose (area, tier)
    group lies in its subtree. A township office plans its township and village cadres;
    a business its grade sends to a county cadre is the county office's to assign (its
    cadre lies outside the township's view, and would look as if they had left)."""
    root = scope.area_code
    hierarchy = roster.hierarchy
    if root is None or root not in hierarchy or hierarchy[root].tier.depth <= Tier.CITY.depth:
        return roster  # no cadre tier lies above a city: every group is inside the scope
    businesses = list(roster.businesses.values())
    open_ = [b for b in businesses if b.status in IN_SCOPE_STATUSES]
    outside = set()
    for business, grade in zip(open_, rules.grades_of(open_, on), strict=True):
        group = hierarchy.ancestor(business.area_code, rules.tier_of(grade, on, business.area_code))
        if group is not None and not hierarchy.contains(root, group.code):
            outside.add(business.key)
    if not outside:
        return roster
    return Roster.build(
        hierarchy,
        [b for b in businesses if b.key not in outside],
        roster.cadres.values(),
        [a for a in roster.assignments if a.business_key not in outside],
    )


@attrs.frozen
class AssignReport:
    plan: Plan
    written: UpsertResult | None  # None on a dry run


def assign(
    app: Twores,
    store: Store,
    scope: Scope,
    *,
    on: date | None = None,
    mode: PlanMode | None = None,
    dry_run: bool = False,
) -> AssignReport:
    """Plan (incremental once assignments exist, else fresh) and apply unless ``dry_run``
    (an office's or admin's work: a cadre may only look at the plan)."""
    if not dry_run:
        check_office(scope, ("包保关系分配", "assigning cadres"))
    day = on or today()
    with gc_paused(), store.unit_of_work(scope) as uow:
        if not dry_run:  # before the first read of what it writes
            uow.claim_writes()
        rules = app.plugins.rulebook()
        roster = managed_roster(load_roster(uow), rules, day, scope)
        chosen = mode or (PlanMode.INCREMENTAL if roster.assignments else PlanMode.FRESH)
        plan = plan_assignments(roster, rules, day, chosen)
        if dry_run:
            return AssignReport(plan, None)
        written = uow.assignments.apply(plan)
        uow.commit()
    return AssignReport(plan, written)


@attrs.frozen
class CheckReport:
    violations: tuple[Violation, ...]
    #: Businesses no eligible cadre can take (reported, not counted as violations).
    unplaceable: tuple[Unplaced, ...]


def check(app: Twores, store: Store, scope: Scope, *, on: date | None = None) -> CheckReport:
    """Every broken assignment invariant on ``on`` (coverage, tier, jurisdiction, …).

    Businesses no eligible cadre can take (none of the right tier in their area) are
    listed apart: the plan reports them unplaceable and no assignment could fix them.

    Checked county by county (``county_code``: each business with all its assignments),
    never holding the whole roster: the result is the whole roster's
    (:func:`~twores.core.invariants.roster_violations` on :func:`load_roster`, and the
    unplaced of an incremental plan of it), in the same order. The plan works group by
    group ((area, tier): :func:`~twores.core.assignment.plan_assignments`); a group at
    county tier or below lies inside one county and is planned with it, with that
    county's cadres; a group above (a city's, for a grade the rules give city cadres)
    spans counties and is planned last, with all its businesses and the cadres above
    county level. A cadre's load (and its cap) adds up every county's assignments."""
    day = on or today()
    rules = app.plugins.rulebook()
    with gc_paused(), store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
        cadres = {c.id: c for c in uow.cadres.stream()}
        return _check_by_county(uow, hierarchy, cadres, rules, day, scope)


def _check_by_county(
    uow: UnitOfWork,
    hierarchy: Hierarchy,
    cadres: dict[str, Cadre],
    rules: RuleBook,
    day: date,
    scope: Scope,
) -> CheckReport:
    cadres_in: dict[str | None, dict[str, Cadre]] = {}
    for cadre in cadres.values():
        cadres_in.setdefault(county_filed(hierarchy, cadre.area_code), {})[cadre.id] = cadre
    upper_cadres = cadres_in.get(None, {})
    # Businesses (and their assignments) of the groups above county level: planned last.
    upper: dict[str, FoodBusiness] = {}
    upper_assignments: list[Assignment] = []
    unplaced: list[Unplaced] = []
    parts: list[RosterViolationParts] = []
    known: set[str] = set()
    for county_code in uow.businesses.county_codes():
        businesses = list(uow.businesses.stream(county_code=county_code))
        known.update(b.key for b in businesses)
        assignments = [
            a
            for keys in _chunks([b.key for b in businesses], 5_000)
            for a in uow.assignments.stream(business_keys=keys)
        ]
        part = managed_roster(
            Roster(hierarchy, {b.key: b for b in businesses}, cadres, tuple(assignments)),
            rules,
            day,
            scope,
        )
        held = [
            b
            for b in part.businesses.values()
            if b.status in IN_SCOPE_STATUSES or b.status_on(day) in IN_SCOPE_STATUSES
        ]
        above = {
            b.key
            for b, grade in zip(held, rules.grades_of(held, day), strict=True)
            if b.area_code in hierarchy
            and (tier := rules.tier_of(grade, day, b.area_code)).depth < Tier.COUNTY.depth
            and hierarchy.ancestor(b.area_code, tier) is not None
        }
        upper.update((k, part.businesses[k]) for k in sorted(above))
        upper_assignments += [a for a in part.assignments if a.business_key in above]
        local = Roster(
            hierarchy,
            {k: b for k, b in part.businesses.items() if k not in above},
            cadres_in.get(county_code, {}),
            tuple(a for a in part.assignments if a.business_key not in above),
        )
        unplaced += plan_assignments(local, rules, day, PlanMode.INCREMENTAL).unplaced
        parts.append(roster_violation_parts(part, rules, day))
    if upper:
        remote = Roster(hierarchy, upper, upper_cadres, tuple(upper_assignments))
        unplaced += plan_assignments(remote, rules, day, PlanMode.INCREMENTAL).unplaced
    # Assignments of businesses the scope does not hold (unknown): checked on their own.
    dangling = Roster(hierarchy, {}, cadres, tuple(_dangling(uow, known)))
    parts.append(roster_violation_parts(dangling, rules, day))
    unplaced.sort(key=lambda u: u.business_key)
    ignore = {u.business_key for u in unplaced}
    load: Counter[str] = Counter()
    for part_ in parts:
        load.update(part_.load)

    def merged(section: Callable[[RosterViolationParts], list[Violation]]) -> list[Violation]:
        return sorted(
            (v for p in parts for v in section(p)), key=lambda v: v.ids[0]
        )  # stable: each part's own order stays, and parts hold distinct businesses

    coverage = [
        v
        for v in merged(lambda p: p.coverage)
        if not (v.kind == "coverage.missing" and v.ids[0] in ignore)
    ]
    violations = [
        *coverage,
        *merged(lambda p: p.assignments),
        *merged(lambda p: p.overlaps),
        *load_cap_violations(Roster(hierarchy, {}, cadres), rules, day, load),
    ]
    return CheckReport(tuple(violations), tuple(unplaced))


def _dangling(uow: UnitOfWork, known: set[str]) -> Iterator[Assignment]:
    """The assignments in scope whose business is none of ``known`` (the scope's)."""
    for assignment in uow.assignments.stream():
        if assignment.business_key not in known:
            yield assignment


def _chunks(keys: list[str], size: int) -> Iterator[list[str]]:
    """``keys`` in lists of ``size`` (a query's bound parameters stay few)."""
    pending = iter(keys)
    while chunk := list(itertools.islice(pending, size)):
        yield chunk
