"""The end-to-end demo on the packaged 桂林市 region.

At this stage it loads the real hierarchy, grades synthetic businesses with the installed
rules and explains the decisions; later stages extend it to the whole yearly cycle.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy, Tier
from twores.core.businesses import Grade
from twores.divisions import DEMO_REGION_CODE, demo_region
from twores.services.rules import RuledBusiness, rule_businesses
from twores.services.synth import synthetic_businesses


@attrs.frozen
class DemoReport:
    region: str
    on: date
    areas_by_tier: dict[Tier, int]
    ruled: tuple[RuledBusiness, ...]
    grades: dict[Grade, int]
    directors_required: int


def run_demo(
    app: Twores, *, businesses: int = 2000, on: date | None = None, seed: int = 2023
) -> DemoReport:
    """Load 桂林市, grade ``businesses`` synthetic businesses and collect the decisions."""
    hierarchy: Hierarchy = demo_region()
    app.use_hierarchy(hierarchy)
    day = on or date(2025, 6, 30)
    ruled = tuple(rule_businesses(app, synthetic_businesses(hierarchy, businesses, seed=seed), day))
    return DemoReport(
        region=hierarchy.display_path(DEMO_REGION_CODE),
        on=day,
        areas_by_tier=dict(Counter(area.tier for area in hierarchy)),
        ruled=ruled,
        grades=dict(Counter(item.grade.value for item in ruled)),
        directors_required=sum(1 for item in ruled if item.director.value),
    )
