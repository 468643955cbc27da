"""Assignment planning on the real 内蒙古 hierarchy (province 15, down to its 14,592 villages).

225,200 businesses with a D-heavy grade mix and 39,300 cadres (docs/sources.md, Scale). Figures: a
fresh plan; then an incremental plan after 1% of the cadres leave, which must end exactly the
orphaned assignments and move every orphaned business that still has an eligible cadre (the
few whose every eligible cadre left are reported unplaceable, not moved): the lower bound.
Target (the targets in docs/benchmarks.md): ≤ 1 s each.
Baseline: one pass that only groups the same businesses by (area, tier) with plain dicts.
"""

from __future__ import annotations

import functools
import os
import random
from datetime import date
from pathlib import Path

import twores
from benchmarks.harness import Figure, median_time, peak_rss_mb, scaled
from twores.core.assignment import PlanMode, apply_plan, plan_assignments
from twores.core.roster import CadreLeaves
from twores.divisions import load_divisions
from twores.services.synth import synthetic_roster

BUSINESSES = scaled(225_200)
CADRES = scaled(39_300)
ON = date(2025, 6, 30)
DIVISIONS = Path(
    os.environ.get(
        "TWORES_DIVISIONS_DIR",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "china-divisions-2022",
    )
)


@functools.cache
def inner_mongolia() -> twores.Hierarchy:
    """内蒙古's divisions, read once a run (1.8 s) for every benchmark that uses them."""
    return twores.Hierarchy(load_divisions(DIVISIONS, within="15"))


def run() -> list[Figure]:
    if not (DIVISIONS / "villages.csv.xz").exists():
        print(f"skipped benchmarks.assign: no division data at {DIVISIONS}")
        return []
    hierarchy = inner_mongolia()
    roster = synthetic_roster(hierarchy, businesses=BUSINESSES, cadres=CADRES, seed=15)
    rules = twores.build(hierarchy=hierarchy).plugins.rulebook()

    def baseline() -> None:
        groups: dict[tuple[str, int], list[str]] = {}
        for business in roster.businesses.values():
            groups.setdefault((business.area_code, 0), []).append(business.key)

    baseline_s = median_time(baseline)
    before = peak_rss_mb()
    plan_assignments(roster, rules, ON, PlanMode.FRESH)
    plan_mb = peak_rss_mb()
    fresh_s = median_time(lambda: plan_assignments(roster, rules, ON, PlanMode.FRESH))
    plan = plan_assignments(roster, rules, ON, PlanMode.FRESH)
    assigned = roster.with_assignments(apply_plan((), plan))

    leaving = random.Random(1).sample(sorted(roster.cadres), k=len(roster.cadres) // 100)
    after = assigned
    for cadre_id in leaving:
        after = after.apply(CadreLeaves(cadre_id, ON))
    gone = set(leaving)
    orphaned = sum(1 for a in assigned.assignments if a.cadre_id in gone)
    incremental_s = median_time(lambda: plan_assignments(after, rules, ON, PlanMode.INCREMENTAL))
    incremental = plan_assignments(after, rules, ON, PlanMode.INCREMENTAL)
    moves = len(incremental.creates)
    stranded = len(incremental.unplaced) - len(plan.unplaced)
    print(
        f"  groups {len(plan.loads)}, unplaced {len(plan.unplaced)}, "
        f"max load {max(max(v.values(), default=0) for v in plan.loads.values())}; "
        f"1% leave: {len(leaving)} cadres, orphaned {orphaned}, ended {len(incremental.ends)}, "
        f"moved {moves}, left without an eligible cadre {stranded}"
    )
    exact = len(incremental.ends) == orphaned and moves + stranded == orphaned
    print(f"  peak RSS {before:.0f} MB with the roster loaded, {plan_mb:.0f} MB after planning")
    return [
        Figure(
            "peak RSS, roster + fresh plan",
            plan_mb,
            "-",
            None,
            "<= 500 MB",
            plan_mb <= 500,
            unit="MB",
        ),
        Figure(
            f"plan fresh {BUSINESSES:,} / {CADRES:,}",
            fresh_s,
            "group by (area, tier)",
            baseline_s,
            "<= 1 s",
            fresh_s <= 1.0,
        ),
        Figure(
            "plan incremental after 1% leave",
            incremental_s,
            "group by (area, tier)",
            baseline_s,
            "<= 1 s; moves = orphaned",
            incremental_s <= 1.0 and exact,
        ),
    ]
