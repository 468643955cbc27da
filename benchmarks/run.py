"""Run every benchmark and print one summary line per figure (``make bench``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODULES = (
    "benchmarks.rules",
    "benchmarks.assign",
    "benchmarks.import",
    "benchmarks.schedule",
    "benchmarks.kpi",
    "benchmarks.web",
)


def main(argv: list[str]) -> int:
    selected = [m for m in MODULES if not argv or any(a in m for a in argv)]
    failed = 0
    for name in selected:
        module = importlib.import_module(name)
        for figure in module.run():
            print(figure.line(), flush=True)
            failed += not figure.passed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
