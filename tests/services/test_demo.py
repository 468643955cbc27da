"""The demo runs a year of quarterly supervision end to end, and running it again changes
nothing."""

from __future__ import annotations

from pathlib import Path

import twores
from twores.services.demo import run_demo


def test_the_demo_runs_a_year_of_quarters_and_is_idempotent(tmp_path: Path) -> None:
    app = twores.build(load_entrypoints=False)
    db, out = str(tmp_path / "demo.db"), tmp_path / "out"
    first = run_demo(app, db=db, businesses=600, cadres=150, folder=out)
    assert first.violations == 0 and first.cycle is not None
    quarters = first.cycle.quarters
    assert [str(q.period) for q in quarters] == ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    for quarter in quarters:
        assert quarter.tasks == first.businesses
        assert 0.7 * quarter.tasks < quarter.visits < quarter.tasks
    assert all(path.exists() for path in first.cycle.files)
    last = first.cycle.last
    done = first.cycle.kpis.value("task_completion", "4503")
    assert done.numerator == last.visits and done.denominator == last.tasks
    again = run_demo(
        twores.build(load_entrypoints=False), db=db, businesses=600, cadres=150, folder=out
    )
    assert again.audit_entries == first.audit_entries  # nothing changed, nothing audited
    assert again.cycle is not None and again.cycle.problems_opened == 0
