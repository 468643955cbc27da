"""The end-to-end demo on the packaged 桂林市 region, stored in an embedded SQLite file.

It loads the real hierarchy, creates synthetic businesses and cadres at the sizes Guilin
reports (46,907 and 5,708), grades them with the installed rules, plans the assignments,
stores everything (audited) and checks the invariants on what was stored; then it runs
the year of quarterly supervision that follows (tasks, visits, problems through the
ledger, one township's commitment letters), computes the KPIs, ranks the counties and
writes the weekly bulletin.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Tier
from twores.core.assignment import Plan, PlanMode, explain, plan_assignments
from twores.core.businesses import FoodBusiness, Grade
from twores.core.invariants import roster_violations
from twores.core.periods import Period, PeriodKind
from twores.core.roster import Roster
from twores.core.security import Scope
from twores.divisions import DEMO_REGION_CODE, demo_region
from twores.services.demo_cycle import CycleReport, check_begun, run_cycle
from twores.services.rules import RuledBusiness, rule_businesses
from twores.services.stores import database_url, open_store
from twores.services.synth import as_recorded, synthetic_businesses, synthetic_cadres

GUILIN_BUSINESSES = 46_907
GUILIN_CADRES = 5_708
DEMO_ACTOR = "twores demo"


@attrs.frozen
class DemoReport:
    region: str
    on: date
    db_url: str
    areas_by_tier: dict[Tier, int]
    businesses: int
    cadres: int
    grades: dict[Grade, int]
    directors_required: int
    assignments_active: int
    unplaced: int
    violations: int
    max_load: int
    audit_entries: int
    seconds: float
    examples: tuple[RuledBusiness, ...]
    #: (zh, en) of why a few businesses got their cadre
    explanations: tuple[tuple[str, str], ...]
    #: The year of quarterly supervision after the assignment day (when the demo runs it).
    cycle: CycleReport | None = None


#: Quarters of supervision the demo runs after its assignment day.
QUARTERS = 4


def run_demo(
    app: Twores,
    *,
    db: str | None = None,
    businesses: int = GUILIN_BUSINESSES,
    cadres: int = GUILIN_CADRES,
    on: date | None = None,
    seed: int = 2023,
    cycle: bool = True,
    folder: Path | None = None,
) -> DemoReport:
    """Build, plan and store the demo region; check the invariants on the stored data;
    then run the year of quarterly supervision that follows and write the weekly bulletin
    of its last quarter's last week into ``folder``."""
    started = time.perf_counter()
    hierarchy = demo_region()
    app.use_hierarchy(hierarchy)
    day = on or date(2025, 6, 30)
    quarter = Period.containing(PeriodKind.QUARTER, day + timedelta(days=1))
    if cycle:  # before anything is written
        check_begun(quarter, QUARTERS)
    records = list(synthetic_businesses(hierarchy, businesses, seed=seed))
    staff = list(synthetic_cadres(hierarchy, cadres, seed=seed))
    rules = app.plugins.rulebook()
    graded = rules.grades_of(records, day)
    grades = Counter(graded)
    examples = tuple(rule_businesses(app, records[:400], day))

    def needs_director(business: FoodBusiness) -> bool:
        return app.plugins.requires_director(business, day).value

    directors = sum(map(needs_director, records))
    records = list(as_recorded(records, graded, needs_director, seed=seed))
    url = database_url(db)
    store = open_store(app, url)
    scope = Scope.system(DEMO_ACTOR)
    try:
        with store.unit_of_work(scope) as uow:
            uow.claim_writes()  # before the first read of what it writes
            uow.areas.upsert_many(hierarchy)
            uow.businesses.upsert_many(records)
            uow.cadres.upsert_many(staff)
            uow.commit()
        with store.unit_of_work(scope) as uow:
            uow.claim_writes()  # before the first read of what it writes
            roster = Roster.build(
                hierarchy, uow.businesses.stream(), uow.cadres.stream(), uow.assignments.stream()
            )
            mode = PlanMode.INCREMENTAL if roster.assignments else PlanMode.FRESH
            plan = plan_assignments(roster, rules, day, mode)
            uow.assignments.apply(plan)
            uow.commit()
        ran = (
            run_cycle(
                app,
                store,
                scope,
                quarter,
                DEMO_REGION_CODE,
                folder or Path("twores-demo"),
                quarters=QUARTERS,
            )
            if cycle
            else None
        )
        with store.unit_of_work(scope) as uow:
            stored = Roster.build(
                hierarchy, uow.businesses.stream(), uow.cadres.stream(), uow.assignments.stream()
            )
            audit_entries = sum(1 for _ in uow.audit.entries())
    finally:
        store.close()
    unplaced = {u.business_key for u in plan.unplaced}
    violations = roster_violations(stored, rules, day, ignore=unplaced)
    loads = Counter(a.cadre_id for a in stored.active_assignments(day))
    return DemoReport(
        region=hierarchy.display_path(DEMO_REGION_CODE),
        on=day,
        db_url=url,
        areas_by_tier=dict(Counter(area.tier for area in hierarchy)),
        businesses=len(stored.businesses),
        cadres=len(stored.cadres),
        grades=dict(grades),
        directors_required=directors,
        assignments_active=sum(loads.values()),
        unplaced=len(plan.unplaced),
        violations=len(violations),
        max_load=max(loads.values(), default=0),
        audit_entries=audit_entries,
        seconds=time.perf_counter() - started,
        examples=examples,
        explanations=tuple(_explanations(plan, records[:3])),
        cycle=ran,
    )


def _explanations(plan: Plan, records: list[FoodBusiness]) -> list[tuple[str, str]]:
    return [(explain(plan, r.key, "zh"), explain(plan, r.key, "en")) for r in records]
