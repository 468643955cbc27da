"""Minimal benchmark harness: medians over repeats, ratio to a baseline of the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import attrs


@attrs.frozen
class Figure:
    name: str
    median_s: float
    baseline_name: str
    baseline_s: float | None
    target: str
    passed: bool

    @property
    def ratio(self) -> float | None:
        return self.median_s / self.baseline_s if self.baseline_s else None

    def line(self) -> str:
        ratio = f"{self.ratio:.2f}x" if self.ratio is not None else "-"
        baseline = (
            f"{self.baseline_s * 1000:.1f} ms ({self.baseline_name})" if self.baseline_s else "-"
        )
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{self.name:<40} median {self.median_s * 1000:9.1f} ms  baseline {baseline:<38} "
            f"ratio {ratio:>7}  target {self.target:<24} {verdict}"
        )


def median_time(fn: Callable[[], object], *, repeats: int = 5) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)
