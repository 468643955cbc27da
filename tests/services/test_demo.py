"""The demo runs a supervision quarter end to end, and running it again changes nothing."""

from __future__ import annotations

from pathlib import Path

import twores
from twores.services.demo import run_demo


def test_the_demo_runs_a_quarter_and_is_idempotent(tmp_path: Path) -> None:
    app = twores.build(load_entrypoints=False)
    db, out = str(tmp_path / "demo.db"), tmp_path / "out"
    first = run_demo(app, db=db, businesses=600, cadres=150, folder=out)
    assert first.violations == 0 and first.cycle is not None
    cycle = first.cycle
    assert cycle.tasks == first.businesses and 0.7 * cycle.tasks < cycle.visits < cycle.tasks
    assert all(path.exists() for path in cycle.files)
    done = cycle.kpis.value("task_completion", "4503")
    assert done.numerator == cycle.visits and done.denominator == cycle.tasks
    again = run_demo(
        twores.build(load_entrypoints=False), db=db, businesses=600, cadres=150, folder=out
    )
    assert again.audit_entries == first.audit_entries  # nothing changed, nothing audited
    assert again.cycle is not None and again.cycle.problems_opened == 0
