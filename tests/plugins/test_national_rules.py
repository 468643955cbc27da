"""The national baseline: grading table, tier mapping, frequency, dated director rules."""

from __future__ import annotations

from datetime import date

import pytest

from twores.core.areas import Area, Tier
from twores.core.businesses import BusinessType, CanteenKind, FoodBusiness, Grade, Scale
from twores.core.periods import Frequency, Period, PeriodKind
from twores.plugins.manager import TworesPluginManager

ON = date(2025, 6, 30)


def business(**changes: object) -> FoodBusiness:
    fields: dict[str, object] = {
        "name": "灵川同化饭店",
        "area_code": "450323100200",
        "business_type": BusinessType.CATERING,
        "licence_no": "JY14503238525270",
        "scale": Scale.MICRO,
    }
    fields.update(changes)
    return FoodBusiness(**fields)  # type: ignore[arg-type]


def test_recorded_grade_wins_over_the_table(pm: TworesPluginManager) -> None:
    decision = pm.grade(business(grade=Grade.B), ON)
    assert decision.value is Grade.B and decision.rule.id == "national.grade.recorded"


@pytest.mark.parametrize(
    ("changes", "grade"),
    [
        ({"scale": Scale.LARGE}, Grade.A),
        ({"scale": Scale.MEDIUM}, Grade.B),
        ({"scale": Scale.SMALL}, Grade.C),
        ({"scale": Scale.MICRO}, Grade.D),
        ({"scale": None}, Grade.D),
        ({"business_type": BusinessType.SPECIAL_FOOD, "licence_no": "SC10145032311106"}, Grade.B),
        ({"business_type": BusinessType.VENDOR, "scale": Scale.LARGE}, Grade.D),
        ({"business_type": BusinessType.SALES, "chain_headquarters": True}, Grade.B),
        ({"business_type": BusinessType.CANTEEN, "canteen_kind": CanteenKind.SCHOOL}, Grade.C),
        ({"business_type": BusinessType.CANTEEN, "diners": 1200}, Grade.B),
    ],
)
def test_grading_table(pm: TworesPluginManager, changes: dict[str, object], grade: Grade) -> None:
    decision = pm.grade(business(**changes), ON)
    assert decision.value is grade
    assert decision.rule.id == "national.grade.table"
    assert decision.plugin == "national"


@pytest.mark.parametrize(
    ("grade", "tier"),
    [
        (Grade.A, Tier.CITY),
        (Grade.B, Tier.COUNTY),
        (Grade.C, Tier.TOWNSHIP),
        (Grade.D, Tier.VILLAGE),
    ],
)
def test_tier_for_grade(pm: TworesPluginManager, grade: Grade, tier: Tier) -> None:
    assert pm.tier_for_grade(grade, ON).value is tier


def test_quarterly_for_every_tier(pm: TworesPluginManager) -> None:
    for tier in (Tier.CITY, Tier.COUNTY, Tier.TOWNSHIP, Tier.VILLAGE):
        assert pm.supervision_frequency(tier, ON, "450323").value == Frequency(
            PeriodKind.QUARTER, 1
        )


def test_director_rules_follow_their_dates(pm: TworesPluginManager) -> None:
    elderly = business(
        business_type=BusinessType.CANTEEN, canteen_kind=CanteenKind.ELDERLY_CARE, diners=400
    )
    before = pm.requires_director(elderly, date(2022, 10, 31))
    order60 = pm.requires_director(elderly, date(2025, 4, 14))
    rules2025 = pm.requires_director(elderly, date(2025, 4, 15))
    assert (before.rule.id, before.value) == ("national.director.none", False)
    assert (order60.rule.id, order60.value) == ("national.director.order60", False)
    assert (rules2025.rule.id, rules2025.value) == ("national.director.2025", True)


@pytest.mark.parametrize(
    ("changes", "required"),
    [
        ({"business_type": BusinessType.SPECIAL_FOOD, "licence_no": "SC10145032311106"}, True),
        ({"scale": Scale.MEDIUM}, True),
        ({"scale": Scale.SMALL}, False),
        ({"business_type": BusinessType.SALES, "chain_headquarters": True}, True),
        (
            {
                "business_type": BusinessType.CANTEEN,
                "canteen_kind": CanteenKind.SCHOOL,
                "diners": 499,
            },
            False,
        ),
        (
            {
                "business_type": BusinessType.CANTEEN,
                "canteen_kind": CanteenKind.SCHOOL,
                "diners": 500,
            },
            True,
        ),
        (
            {
                "business_type": BusinessType.CANTEEN,
                "canteen_kind": CanteenKind.KINDERGARTEN,
                "diners": 300,
            },
            True,
        ),
        ({"business_type": BusinessType.CANTEEN, "diners": 1000}, True),
        ({"diners": 1001}, True),
    ],
)
def test_director_under_2025_rules(
    pm: TworesPluginManager, changes: dict[str, object], required: bool
) -> None:
    assert pm.requires_director(business(**changes), ON).value is required


def test_window_closes_on_the_last_day(pm: TworesPluginManager) -> None:
    decision = pm.window_close(Period.parse("2026Q1"))
    assert decision.value == date(2026, 3, 31)


def test_generic_labels(pm: TworesPluginManager) -> None:
    label = pm.area_label(Area(code="450323", name="灵川县", tier=Tier.COUNTY)).value
    assert (label.zh, label.en) == ("县", "county")
    named = {
        ("450302", "秀峰区", Tier.COUNTY): "区",
        ("450323101", "大圩镇", Tier.TOWNSHIP): "镇",
        ("450323102", "潮田乡", Tier.TOWNSHIP): "乡",
        ("450302001", "秀峰街道", Tier.TOWNSHIP): "街道",
        ("450302001001", "鲁家社区居委会", Tier.VILLAGE): "社区",
        ("450323101202", "上桥村委会", Tier.VILLAGE): "村",
    }
    for (code, name, tier), zh in named.items():
        assert pm.area_label(Area(code=code, name=name, tier=tier)).value.zh == zh


def test_explain_names_plugin_and_rule(pm: TworesPluginManager) -> None:
    decision = pm.requires_director(business(scale=Scale.MEDIUM), ON)
    zh, en = decision.explain("zh"), decision.explain("en")
    assert "national" in zh and "national.director.2025" in zh and "是" in zh
    assert "plugin national" in en and "national.director.2025" in en and "yes" in en
