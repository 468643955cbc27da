from __future__ import annotations

import pytest

from twores.core.areas import Area, Hierarchy, Tier, canonical_area_code, parent_code_of
from twores.core.errors import (
    HierarchyError,
    InvalidAreaCodeError,
    MissingValueError,
    UnknownAreaError,
)
from twores.divisions import demo_region


def test_tiers_order_and_code_lengths() -> None:
    assert [t.code_length for t in Tier] == [2, 4, 6, 9, 12]
    assert Tier.CITY < Tier.VILLAGE
    assert Tier.VILLAGE.parent is Tier.TOWNSHIP and Tier.PROVINCE.parent is None
    assert Tier.for_code("450323101") is Tier.TOWNSHIP
    assert Tier.for_code("4503-KFQ") is None
    for spelling, tier in [
        ("村级", Tier.VILLAGE),
        ("乡级", Tier.TOWNSHIP),
        ("旗", Tier.COUNTY),
        ("嘎查", Tier.VILLAGE),
        (" county ", Tier.COUNTY),
        ("镇级", Tier.TOWNSHIP),  # the wordings ledgers use for the 层级 column
        ("街道级", Tier.TOWNSHIP),
        ("乡（镇）级", Tier.TOWNSHIP),
        ("村（社区）级", Tier.VILLAGE),
        ("社区级", Tier.VILLAGE),
        ("县（市、区）级", Tier.COUNTY),
        ("旗县级", Tier.COUNTY),
    ]:
        assert Tier.parse(spelling) is tier


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        (450323101202.0, "450323101202"),
        ("４５０３２３", "450323"),
        (450323, "450323"),
        ("450300000000", "4503"),
        ("450323100000", "450323100"),
        (" 450323101202 ", "450323101202"),
    ],
)
def test_canonical_area_code(typed: object, canonical: str) -> None:
    assert canonical_area_code(typed) == canonical


def test_standard_code_implies_parent() -> None:
    assert Area(code="450323101", name="大圩镇", tier=Tier.TOWNSHIP).parent_code == "450323"
    assert parent_code_of("45") is None


def test_standard_code_disagreeing_with_explicit_parent_is_rejected() -> None:
    with pytest.raises(InvalidAreaCodeError) as info:
        Area(code="450323101", name="大圩镇", tier=Tier.TOWNSHIP, parent_code="450324")
    assert info.value.field == "parent_code"


def test_development_zone_needs_an_explicit_parent() -> None:
    with pytest.raises(MissingValueError):
        Area(code="4503-GXQ", name="桂林高新区", tier=Tier.COUNTY)
    zone = Area(code="4503-GXQ", name="桂林高新区", tier=Tier.COUNTY, parent_code="4503")
    street = Area(code="4503-GXQ-01", name="高新街道", tier=Tier.TOWNSHIP, parent_code="4503-GXQ")
    hierarchy = Hierarchy([*demo_region().path("4503"), zone, street])
    assert hierarchy.contains("4503", "4503-GXQ-01")
    assert hierarchy.ancestor("4503-GXQ-01", Tier.CITY).code == "4503"
    assert [a.code for a in hierarchy.path("4503-GXQ-01")] == [
        "45",
        "4503",
        "4503-GXQ",
        "4503-GXQ-01",
    ]


def test_real_guilin_queries() -> None:
    guilin = demo_region()
    assert len(guilin.children("4503")) == 17
    assert len(guilin.at_tier(Tier.TOWNSHIP)) == 148
    assert len(guilin.at_tier(Tier.VILLAGE)) == 1946
    village = "450321100001"
    assert [a.code for a in guilin.path(village)] == ["45", "4503", "450321", "450321100", village]
    assert guilin.ancestor(village, Tier.COUNTY).name == "阳朔县"
    assert guilin.ancestor("450321", Tier.VILLAGE) is None
    assert guilin.contains("450321", village) and not guilin.contains("450323", village)
    assert guilin.contains(village, village)
    assert sum(1 for _ in guilin.descendants("450323")) == len(
        [a for a in guilin if a.code.startswith("450323") and a.code != "450323"]
    )
    assert guilin.ancestor_codes(village)[Tier.TOWNSHIP] == "450321100"
    assert guilin.display_path("450323") == "广西壮族自治区 / 桂林市 / 灵川县"


def test_hierarchy_reports_every_problem_at_once() -> None:
    areas = [
        Area(code="45", name="广西", tier=Tier.PROVINCE),
        Area(code="450323", name="灵川县", tier=Tier.COUNTY),  # parent 4503 missing
        Area(code="4503-X", name="某区", tier=Tier.TOWNSHIP, parent_code="45"),  # two tiers up
        Area(code="45", name="重复", tier=Tier.PROVINCE),
    ]
    with pytest.raises(HierarchyError) as info:
        Hierarchy(areas)
    assert len(info.value.problems) == 3
    assert "4503" in info.value.message_zh and "4503-X" in info.value.message_en


def test_unknown_area() -> None:
    with pytest.raises(UnknownAreaError):
        demo_region()["999999"]
