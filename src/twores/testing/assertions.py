"""Assertions over the invariants of ``twores.core.invariants``."""

from __future__ import annotations

from collections.abc import Sequence

from twores.core.areas import Hierarchy
from twores.core.invariants import Violation, hierarchy_violations


class InvariantViolated(AssertionError):
    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        lines = "\n".join(f"  [{v.kind}] {v.message_en} / {v.message_zh}" for v in violations[:50])
        super().__init__(f"{len(violations)} invariant violation(s):\n{lines}")


def assert_invariants(*, hierarchy: Hierarchy) -> None:
    """Fail with every violation listed when any invariant does not hold."""
    violations = hierarchy_violations(hierarchy)
    if violations:
        raise InvariantViolated(violations)
