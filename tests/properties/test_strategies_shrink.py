"""Counterexamples drawn by ``hierarchies()`` shrink towards standard areas
(docs/testing.md): a development zone must never be the cheaper choice for the shrinker."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, Phase, find, settings

from twores.core.areas import Hierarchy
from twores.testing import strategies as tst

_SHRINK = settings(
    database=None,
    deadline=None,
    max_examples=200,
    phases=(Phase.generate, Phase.shrink),
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("seed", [1, 3])  # each shrank to a zone before the fix
def test_a_large_tree_shrinks_to_standard_areas(seed: int) -> None:
    """Any tree of eight areas fails; the shrunk one holds no development zone."""
    found: Hierarchy = find(
        tst.hierarchies(), lambda h: len(h) >= 8, settings=_SHRINK, random=random.Random(seed)
    )
    assert len(found) == 8
    assert [a.code for a in found if not a.is_standard] == [], found
