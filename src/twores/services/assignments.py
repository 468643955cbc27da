"""Planning assignments for the stored roster, and checking the invariants on it."""

from __future__ import annotations

from datetime import date

import attrs

from twores.bootstrap import Twores
from twores.core.assignment import Plan, PlanMode, Unplaced, plan_assignments
from twores.core.gc import gc_paused
from twores.core.invariants import Violation, roster_violations
from twores.core.periods import today
from twores.core.ports import Store, UnitOfWork, UpsertResult
from twores.core.roster import Roster
from twores.core.security import Scope


def load_roster(uow: UnitOfWork) -> Roster:
    """The areas, businesses, cadres and assignment history the unit of work can see."""
    return Roster.build(
        uow.areas.hierarchy(),
        uow.businesses.stream(),
        uow.cadres.stream(),
        uow.assignments.stream(),
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
    """Plan (incremental once assignments exist, else fresh) and apply unless ``dry_run``."""
    day = on or today()
    with gc_paused(), store.unit_of_work(scope) as uow:
        roster = load_roster(uow)
        chosen = mode or (PlanMode.INCREMENTAL if roster.assignments else PlanMode.FRESH)
        plan = plan_assignments(roster, app.plugins.rulebook(), day, chosen)
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
    listed apart: the plan reports them unplaceable and no assignment could fix them."""
    day = on or today()
    with gc_paused(), store.unit_of_work(scope) as uow:
        roster = load_roster(uow)
    rules = app.plugins.rulebook()
    unplaceable = plan_assignments(roster, rules, day, PlanMode.INCREMENTAL).unplaced
    ignore = {u.business_key for u in unplaceable}
    return CheckReport(tuple(roster_violations(roster, rules, day, ignore=ignore)), unplaceable)
