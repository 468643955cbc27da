"""Minimal benchmark harness: medians over repeats, ratio to a baseline of the same run."""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable

import attrs

#: ``TWORES_BENCH_SCALE`` multiplies every benchmark's data size (default 1, the sizes of
#: docs/benchmarks.md); the test suite runs them all at 0.01 so none can silently break.
SCALE = float(os.environ.get("TWORES_BENCH_SCALE", "1"))


def scaled(size: int) -> int:
    """``size`` at the run's scale (at least 1)."""
    return max(1, round(size * SCALE))


@attrs.frozen
class Figure:
    """One measured figure: seconds (shown in ms) unless ``unit`` says otherwise."""

    name: str
    median_s: float
    baseline_name: str
    baseline_s: float | None
    target: str
    passed: bool
    unit: str = "s"

    @property
    def ratio(self) -> float | None:
        return self.median_s / self.baseline_s if self.baseline_s else None

    def _show(self, value: float) -> str:
        return f"{value * 1000:9.1f} ms" if self.unit == "s" else f"{value:9.1f} {self.unit}"

    def line(self) -> str:
        ratio = f"{self.ratio:.2f}x" if self.ratio is not None else "-"
        baseline = "-"
        if self.baseline_s:
            baseline = f"{self._show(self.baseline_s).strip()} ({self.baseline_name})"
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{self.name:<40} median {self._show(self.median_s)}  baseline {baseline:<38} "
            f"ratio {ratio:>7}  target {self.target:<24} {verdict}"
        )


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB.

    Linux's ``VmHWM``, the high-water mark of this program's own memory: ``ru_maxrss``
    survives ``exec``, so a process started by a large one (the benchmark holding a million
    rows) would report its parent's size from the moment between fork and exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_time(fn: Callable[[], object], *, repeats: int = 5) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)
