"""Rule decisions: grading the Guilin-sized demo population through the plugin manager.

Baseline: calling the national grading function directly (no plugin dispatch). Target: the
plugin manager's explained decision costs at most 4x the bare function, and grading the
~47k businesses of 桂林市 takes under 1 s.
"""

from __future__ import annotations

from datetime import date

import twores
from benchmarks.harness import Figure, median_time, scaled
from twores.divisions import demo_region
from twores.plugins.builtin.national import grade_by_table
from twores.services.synth import synthetic_businesses

GUILIN_BUSINESSES = scaled(46_907)


def run() -> list[Figure]:
    hierarchy = demo_region()
    businesses = list(synthetic_businesses(hierarchy, GUILIN_BUSINESSES, seed=1))
    app = twores.build(hierarchy=hierarchy)
    on = date(2025, 6, 30)

    def through_plugins() -> None:
        for business in businesses:
            app.plugins.grade(business, on)

    def direct() -> None:
        for business in businesses:
            grade_by_table(business)

    baseline = median_time(direct)
    measured = median_time(through_plugins)
    ratio = measured / baseline
    figures = [
        Figure(
            f"grade {GUILIN_BUSINESSES:,} businesses (plugin manager)",
            measured,
            "direct table function",
            baseline,
            "<= 1 s and <= 4x baseline",
            measured <= 1.0 and ratio <= 4.0,
        )
    ]
    build_time = median_time(lambda: twores.Hierarchy(list(hierarchy)))
    figures.append(
        Figure(
            "build Guilin hierarchy (2,113 areas)",
            build_time,
            "-",
            None,
            "<= 50 ms",
            build_time <= 0.05,
        )
    )
    return figures
