"""Hierarchy consistency: parent exactly one tier up, acyclic, ancestry agreeing with codes."""

from __future__ import annotations

import pytest
from hypothesis import given

from twores.core.areas import Hierarchy, Tier
from twores.core.invariants import hierarchy_violations
from twores.divisions import demo_region
from twores.testing import assert_invariants
from twores.testing.strategies import hierarchies


@given(hierarchies())
def test_generated_hierarchies_are_consistent(hierarchy: Hierarchy) -> None:
    assert_invariants(hierarchy=hierarchy)


@given(hierarchies(max_tier=Tier.TOWNSHIP, nonstandard=False))
def test_contains_agrees_with_code_prefixes(hierarchy: Hierarchy) -> None:
    codes = [area.code for area in hierarchy]
    for outer in codes:
        for inner in codes:
            assert hierarchy.contains(outer, inner) == inner.startswith(outer)


@given(hierarchies())
def test_subtree_keeps_paths(hierarchy: Hierarchy) -> None:
    for area in list(hierarchy)[:5]:
        sub = hierarchy.subtree(area.code)
        assert sub.path(area.code) == hierarchy.path(area.code)
        assert {a.code for a in sub.descendants(area.code)} == {
            a.code for a in hierarchy.descendants(area.code)
        }


def test_real_guilin_hierarchy_is_consistent() -> None:
    assert hierarchy_violations(demo_region()) == []


@given(hierarchies(under="150121"))
def test_a_tree_under_an_area_holds_it_and_its_path(hierarchy: Hierarchy) -> None:
    assert_invariants(hierarchy=hierarchy)
    assert [a.code for a in hierarchy.path("150121")] == ["15", "1501", "150121"]


@pytest.mark.parametrize(
    ("under", "max_tier", "said"),
    [
        ("150", Tier.VILLAGE, "statistical area code"),
        ("45032", Tier.VILLAGE, "statistical area code"),
        ("71", Tier.VILLAGE, "drawn in"),
        ("4500", Tier.VILLAGE, "segment of 0s"),
        ("450323101202", Tier.COUNTY, "below max_tier"),
    ],
)
def test_an_area_no_tree_can_hold_is_refused_not_ignored(
    under: str, max_tier: Tier, said: str
) -> None:
    @given(hierarchies(under=under, max_tier=max_tier))
    def draw(hierarchy: Hierarchy) -> None:
        raise AssertionError(f"drew {hierarchy} under {under}")

    with pytest.raises(ValueError, match=said):
        draw()
