"""Each kind of bad input names its field and value, in Chinese and in English."""

from __future__ import annotations

from datetime import date

import pytest

from twores import make_converter
from twores.core.areas import Area, Tier
from twores.core.businesses import BusinessType, FoodBusiness, Grade
from twores.core.errors import (
    InvalidAreaCodeError,
    InvalidDateError,
    InvalidGradeError,
    InvalidLicenceError,
    InvalidUSCCError,
    InvalidValueError,
    StructureError,
    TworesError,
)

GOOD = {
    "name": "大圩豆腐坊",
    "area_code": "450323101202",
    "business_type": "production",
    "licence_no": "SC14503231110603",
    "uscc": "91110000600037341L",
}


def structure_error(**changes: object) -> InvalidValueError:
    with pytest.raises(StructureError) as info:
        make_converter().structure({**GOOD, **changes}, FoodBusiness)
    assert len(info.value.errors) == 1
    return info.value.errors[0]


@pytest.mark.parametrize(
    ("field", "value", "error_type", "label_zh", "label_en"),
    [
        (
            "uscc",
            "91110000600037341X",
            InvalidUSCCError,
            "统一社会信用代码",
            "unified social credit code",
        ),
        ("area_code", "4503 23", InvalidAreaCodeError, "所属区划", "area code"),
        ("licence_no", "JY123", InvalidLicenceError, "许可证编号", "licence number"),
        ("grade", "E", InvalidGradeError, "包保等级", "assignment grade"),
        ("opened_on", "2023-02-30", InvalidDateError, "成立日期", "opened on"),
    ],
)
def test_bad_value_names_field_and_value_in_both_languages(
    field: str, value: str, error_type: type[TworesError], label_zh: str, label_en: str
) -> None:
    error = structure_error(**{field: value})
    assert isinstance(error, error_type)
    assert isinstance(error, TworesError)
    assert error.field == field
    assert label_zh in error.message_zh and value in error.message_zh
    assert label_en in error.message_en and value in error.message_en
    assert error.code == error_type.code


def test_error_codes_are_stable_and_distinct() -> None:
    codes = [
        cls.code
        for cls in (
            InvalidUSCCError,
            InvalidAreaCodeError,
            InvalidLicenceError,
            InvalidGradeError,
            InvalidDateError,
        )
    ]
    assert codes == [
        "invalid_uscc",
        "invalid_area_code",
        "invalid_licence_no",
        "invalid_grade",
        "invalid_date",
    ]


def test_direct_construction_raises_the_same_errors() -> None:
    with pytest.raises(InvalidUSCCError) as info:
        FoodBusiness(
            name="x",
            area_code="450323",
            business_type=BusinessType.SALES,
            uscc="91110000600037341X",
        )
    assert "91110000600037341X" in info.value.message_en
    with pytest.raises(InvalidGradeError):
        Grade.parse("E", field="grade")
    with pytest.raises(InvalidAreaCodeError) as area_info:
        Area(code="45032", name="某县", tier=Tier.COUNTY)
    assert "45032" in area_info.value.message_zh
    with pytest.raises(InvalidDateError):
        Area(
            code="450323",
            name="灵川县",
            tier=Tier.COUNTY,
            valid_from=date(2023, 1, 1),
            valid_to=date(2022, 1, 1),
        )


def test_error_at_a_ledger_row_says_so() -> None:
    error = InvalidUSCCError("uscc", "X", "校验码错误", "checksum mismatch").at(row=38)
    assert error.message_zh.startswith("第38行")
    assert error.message_en.startswith("row 38:")
    assert error.to_dict()["row"] == 38
    assert isinstance(error, InvalidUSCCError)


def test_values_read_as_typed_and_labels_are_not_repeated() -> None:
    missing = InvalidValueError("cadre_id", None, "须指定", "required")
    assert "“”" in missing.message_zh and "'None'" not in missing.message_en
    hashes = InvalidValueError("evidence", ("abc",), "不是哈希", "not a hash")
    assert "“abc”" in hashes.message_zh and "('abc',)" not in hashes.message_en
    period = InvalidValueError("period", "2026Q5", "无此季度", "no such quarter")
    assert period.message_zh.startswith("周期（period）的值“2026Q5”")
    assert period.message_en.startswith("invalid period value '2026Q5'")
    odd = InvalidValueError("shelf_life", 3, "过短", "too short")
    assert odd.message_zh.startswith("shelf_life的值“3”") and "(shelf_life)" not in odd.message_en
