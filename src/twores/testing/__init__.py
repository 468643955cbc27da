"""Testing kit shipped to users (extra ``testing``): strategies and invariant checks.

Requires Hypothesis: ``pip install 'twores[testing]'``.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("twores.testing needs Hypothesis: pip install 'twores[testing]'") from exc

from twores.testing import strategies
from twores.testing.assertions import assert_invariants

__all__ = ["assert_invariants", "strategies"]
