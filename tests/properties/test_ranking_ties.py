"""Exact ties share a rank: areas whose composites are equal as fractions rank together,
whatever the order the KPIs are summed in."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from twores.core.kpis import Direction, KpiSpec, KpiValue, RankedArea, rank_areas

NAMES = [f"k{i}" for i in range(10)]
SPECS = {
    n: KpiSpec(n, n, n, "分子", "分母", Direction.HIGHER_IS_BETTER, "定义", "def", 1.0)
    for n in NAMES
}


def _ranked(
    a: list[tuple[int, int]], b: list[tuple[int, int]], specs: dict[str, KpiSpec]
) -> dict[str, RankedArea]:
    values = [KpiValue(k, "A", "2026Q1", n, d) for k, (n, d) in zip(NAMES, a, strict=True)]
    values += [KpiValue(k, "B", "2026Q1", n, d) for k, (n, d) in zip(NAMES, b, strict=True)]
    return {x.area_code: x for x in rank_areas("P", "2026Q1", values, specs).areas}


def test_counts_swapped_between_equal_weights_tie() -> None:
    """Summed in floats, these two equal composites fell either side of a rounding step."""
    a = [(19, 36), (16, 53), (21, 38), (17, 37), (26, 58), (19, 31), (21, 45), (3, 38)]
    a += [(25, 58), (14, 31)]
    b = [(14, 31), (21, 38), (25, 58), (26, 58), (19, 31), (3, 38), (19, 36), (21, 45)]
    b += [(17, 37), (16, 53)]
    assert sum(Fraction(n, d) for n, d in a) == sum(Fraction(n, d) for n, d in b)
    ranked = _ranked(a, b, SPECS)
    assert ranked["A"].rank == ranked["B"].rank == 1
    assert ranked["A"].score == ranked["B"].score
    assert f"{ranked['A'].score:.1%}" == "43.3%"


pairs = st.lists(
    st.integers(1, 200).flatmap(lambda d: st.tuples(st.integers(0, d), st.just(d))),
    min_size=len(NAMES),
    max_size=len(NAMES),
)


@given(pairs, st.randoms())
def test_permuted_counts_always_tie(counts: list[tuple[int, int]], rnd: object) -> None:
    swapped = list(counts)
    rnd.shuffle(swapped)  # type: ignore[attr-defined]
    order = list(NAMES)
    rnd.shuffle(order)  # type: ignore[attr-defined]
    for specs in (SPECS, {n: SPECS[n] for n in order}):  # any order of the KPIs
        ranked = _ranked(counts, swapped, specs)
        assert ranked["A"].rank == ranked["B"].rank == 1
        assert ranked["A"].score == ranked["B"].score
