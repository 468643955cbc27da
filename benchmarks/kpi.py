"""KPI recompute on 内蒙古-sized data: 225,200 businesses and one quarter's 225,200 tasks.

Figures: the supervision-completion KPI for the whole province and every area in it, and
the full national set; beside a hand-written ``GROUP BY`` of the same tasks per area in
the same run (the baseline of performance.md). performance.md's targets are for 1M × 1M:
full recompute ≤ 2 s on SQLite and ≤ 2× the hand-written GROUP BY; the KPI dashboard
(province → city → county) ≤ 50 ms.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import date

from benchmarks.harness import Figure
from benchmarks.schedule import ON, SCOPE, loaded_store
from twores.services.kpis import compute_kpis
from twores.services.supervision import schedule

AS_OF = date(2026, 3, 31)


def _group_by(path: str) -> float:
    start = time.perf_counter()
    with sqlite3.connect(path) as connection:
        connection.execute(
            "SELECT area_code, SUM(visit_id IS NOT NULL), COUNT(*) FROM supervision_tasks "
            "WHERE exempt_reason IS NULL AND period_start <= ? AND period_end >= ? "
            "GROUP BY area_code",
            ("2026-03-31", "2026-01-01"),
        ).fetchall()
    return time.perf_counter() - start


def run() -> list[Figure]:
    found = loaded_store()
    if found is None:
        return []
    app, store, path = found
    schedule(app, store, SCOPE, "2026Q1", on=ON)
    baseline = _group_by(path)
    start = time.perf_counter()
    table = compute_kpis(app, store, SCOPE, "2026Q1", as_of=AS_OF, names=["task_completion"])
    tasks_s = time.perf_counter() - start
    start = time.perf_counter()
    compute_kpis(app, store, SCOPE, "2026Q1", as_of=AS_OF)
    full_s = time.perf_counter() - start
    start = time.perf_counter()
    compute_kpis(app, store, SCOPE, "2026Q1", as_of=AS_OF, within="1501", names=["coverage"])
    city_s = time.perf_counter() - start
    store.close()
    value = table.value("task_completion", "15")
    print(f"  province: {value.numerator:,} of {value.denominator:,} tasks done")
    return [
        Figure(
            "KPI task completion, all areas",
            tasks_s,
            "hand-written GROUP BY",
            baseline,
            "<= 2x GROUP BY",
            tasks_s <= 2 * baseline,
        ),
        Figure(
            "KPI full national set, all areas",
            full_s,
            "hand-written GROUP BY",
            baseline,
            "<= 2 s (1M x 1M)",
            full_s <= 2,
        ),
        Figure("KPI coverage, one city", city_s, "-", None, "<= 50 ms dashboard", city_s <= 0.05),
    ]
