"""Every benchmark runs end to end, at 1% of its size: a figure that can no longer be
measured is a broken benchmark, whatever its target (``make bench`` measures full size)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIVISIONS = Path(
    os.environ.get("TWORES_DIVISIONS_DIR", ROOT.parent / "shared" / "data" / "china-divisions-2022")
)
#: The leading words of each benchmark's figures, by module.
FIGURES = {
    "rules": ("grade ", "build Guilin hierarchy"),
    "assign": ("plan fresh", "plan incremental", "peak RSS, roster"),
    "import": ("import ", "import peak RSS", "re-import"),
    "schedule": ("schedule 2026Q1", "schedule again (idempotent)", "schedule again, every"),
    "kpi": ("KPI task completion", "KPI full set", "KPI one county", "KPI dashboard"),
    "web": ("web dashboard 15", "web dashboard 1501"),
}


@pytest.mark.skipif(
    not (DIVISIONS / "villages.csv.xz").exists(), reason="no national division data"
)
def test_every_benchmark_measures_its_figures() -> None:
    env = {**os.environ, "TWORES_BENCH_SCALE": "0.01", "TWORES_BENCH_IMPORT_RUNS": "1"}
    env.pop("TWORES_BENCH_ROWS", None)
    env.pop("TWORES_BENCH_KPI_BUSINESSES", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: some figure missed its target
    assert "Traceback" not in done.stderr, done.stderr
    figures = [line for line in done.stdout.splitlines() if " median " in line]
    for module, names in FIGURES.items():
        for name in names:
            assert any(line.startswith(name) for line in figures), (module, name, done.stdout)
