"""Testing kit shipped to users (extra ``testing``): strategies and invariant checks.

Requires Hypothesis: ``pip install 'twores[testing]'``.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("twores.testing needs Hypothesis: pip install 'twores[testing]'") from exc

from twores.testing import strategies
from twores.testing.assertions import (
    InvariantViolated,
    assert_invariants,
    assert_unplaced_exactly,
    national_rules,
)
from twores.testing.plugin_managers import installed_plugins, plugin_manager_for
from twores.testing.stateful import RosterChurn

__all__ = [
    "InvariantViolated",
    "RosterChurn",
    "assert_invariants",
    "assert_unplaced_exactly",
    "installed_plugins",
    "national_rules",
    "plugin_manager_for",
    "strategies",
]
