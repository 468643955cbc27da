from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest

from twores.core.areas import Tier
from twores.core.errors import StructureError, UnknownAreaError
from twores.divisions import demo_region, demo_region_areas, load_divisions, read_areas


def test_packaged_region_is_complete_guilin() -> None:
    counts = Counter(area.tier for area in demo_region())
    assert counts == {
        Tier.PROVINCE: 1,
        Tier.CITY: 1,
        Tier.COUNTY: 17,
        Tier.TOWNSHIP: 148,
        Tier.VILLAGE: 1946,
    }
    assert demo_region()["4503"].name == "桂林市"


def test_packaged_region_matches_source(divisions_dir: Path) -> None:
    assert sorted(load_divisions(divisions_dir, within="4503"), key=lambda a: a.code) == sorted(
        demo_region_areas(), key=lambda a: a.code
    )


def test_single_file_and_compressed_input(divisions_dir: Path) -> None:
    counties = load_divisions(divisions_dir / "areas.csv.xz", within="15")
    assert len(counties) == 108
    assert all(a.tier is Tier.COUNTY and a.code.startswith("15") for a in counties)


def test_an_unknown_subtree_is_an_error(divisions_dir: Path) -> None:
    with pytest.raises(UnknownAreaError):
        load_divisions(divisions_dir / "provinces.csv.xz", within="99")


def test_area_sheet_with_office_headers() -> None:
    sheet = io.StringIO(
        "区划代码,区划名称,上级区划代码,层级\n"
        "45,广西壮族自治区,,省级\n"
        "450300000000,桂林市,45,市级\n"
        "4503-GXQ,桂林高新区,4503,县级\n"
    )
    areas = read_areas(sheet)
    assert [a.code for a in areas] == ["45", "4503", "4503-GXQ"]
    assert areas[2].parent_code == "4503"


def test_bad_rows_are_all_reported_with_row_numbers() -> None:
    sheet = io.StringIO(
        "区划代码,区划名称,上级区划代码,层级\n"
        "45,广西壮族自治区,,省级\n"
        "4503,,45,市级\n"
        "45032,某县,4503,县级\n"
        "450323,灵川县,4503,镇级\n"
    )
    with pytest.raises(StructureError) as info:
        read_areas(sheet, source="areas.csv")
    assert [e.row for e in info.value.errors] == [3, 4, 5]
    assert "第4行" in info.value.message_zh and "45032" in info.value.message_en
