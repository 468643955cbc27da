"""KPI roll-ups add up, empty denominators give None, rankings ignore input order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from twores.core.areas import Hierarchy
from twores.core.kpis import Direction, KpiSpec, KpiValue, composite, rank_areas, roll_up
from twores.testing.strategies import hierarchies

SPECS = {
    "a": KpiSpec("a", "甲", "a", "分子", "分母", Direction.HIGHER_IS_BETTER, "定义", "def", 2.0),
    "b": KpiSpec("b", "乙", "b", "分子", "分母", Direction.LOWER_IS_BETTER, "定义", "def", 1.0),
}


@st.composite
def leaf_counts(draw: st.DrawFn) -> tuple[Hierarchy, dict[str, tuple[int, int]]]:
    hierarchy = draw(hierarchies(max_children=3))
    codes = [a.code for a in hierarchy]
    counts = {}
    for code in draw(st.lists(st.sampled_from(codes), unique=True)):
        denominator = draw(st.integers(0, 50))
        counts[code] = (draw(st.integers(0, denominator)), denominator)
    return hierarchy, counts


@given(leaf_counts())
def test_a_parent_is_the_sum_of_its_children_and_its_own_records(
    found: tuple[Hierarchy, dict[str, tuple[int, int]]],
) -> None:
    hierarchy, counts = found
    values = roll_up("a", "2026Q1", counts, hierarchy)
    for area in hierarchy:
        value = values.get(area.code, KpiValue("a", area.code, "2026Q1"))
        own = counts.get(area.code, (0, 0))
        kids = [
            values.get(c.code, KpiValue("a", c.code, "2026Q1"))
            for c in hierarchy.children(area.code)
        ]
        assert value.numerator == own[0] + sum(k.numerator for k in kids)
        assert value.denominator == own[1] + sum(k.denominator for k in kids)
        assert (value.rate is None) == (value.denominator == 0)


values_strategy = st.lists(
    st.builds(
        lambda kpi, area, d, share: KpiValue(kpi, area, "2026Q1", round(d * share), d),
        st.sampled_from(["a", "b"]),
        st.sampled_from(["450302", "450303", "450304", "450305"]),
        st.integers(0, 40),
        st.floats(0, 1),
    ),
    unique_by=lambda v: (v.kpi, v.area_code),
)


@given(values_strategy, st.randoms())
def test_rankings_are_deterministic_and_independent_of_input_order(
    values: list[KpiValue], rnd: object
) -> None:
    shuffled = list(values)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    first = rank_areas("4503", "2026Q1", values, SPECS, rule_versions=["national 2025.3"])
    second = rank_areas("4503", "2026Q1", shuffled, SPECS, rule_versions=["national 2025.3"])
    assert first == second
    scores = [a.score for a in first.areas if a.score is not None]
    assert scores == sorted(scores, reverse=True)
    ranks = [a.rank for a in first.areas]
    assert ranks == sorted(ranks) and (not ranks or ranks[0] == 1)
    other = rank_areas("4503", "2026Q1", values, SPECS, rule_versions=["national 2026.1"])
    assert other.inputs_hash != first.inputs_hash or not values


def test_composite_weights_and_direction() -> None:
    assert composite({"a": 1.0, "b": 0.0}, SPECS) == 1.0
    assert composite({"a": 0.5, "b": None}, SPECS) == 0.5
    assert composite({"a": None, "b": None}, SPECS) is None
    assert composite({"a": 0.0, "b": 1.0}, SPECS) == 0.0
