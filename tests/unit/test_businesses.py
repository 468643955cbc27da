from __future__ import annotations

from datetime import date

import pytest

from twores.core.businesses import (
    BusinessType,
    CanteenKind,
    FoodBusiness,
    Grade,
    OperatingStatus,
    RiskLevel,
    Scale,
    StaffMember,
    canonical_uscc,
    checked_id_number,
)
from twores.core.errors import InvalidLicenceError, InvalidValueError, MissingValueError

USCC = "91110000600037341L"


def make(**changes: object) -> FoodBusiness:
    fields: dict[str, object] = {
        "name": "九屋青狮便利店",
        "area_code": "450323106200",
        "business_type": BusinessType.SALES,
        "licence_no": "JY14503230034495",
    }
    fields.update(changes)
    return FoodBusiness(**fields)  # type: ignore[arg-type]


def test_key_is_licence_else_credit_code() -> None:
    assert make().key == "JY14503230034495"
    assert make(licence_no=None, uscc=USCC, business_type=BusinessType.WORKSHOP).key == USCC


def test_a_business_needs_a_licence_or_a_credit_code() -> None:
    with pytest.raises(MissingValueError):
        make(licence_no=None)


def test_licence_prefix_must_match_business_type() -> None:
    with pytest.raises(InvalidLicenceError) as info:
        make(business_type=BusinessType.PRODUCTION)
    assert "SC" in info.value.message_en


def test_licence_province_segment_must_exist() -> None:
    with pytest.raises(InvalidLicenceError):
        make(licence_no="JY19903230034495")


def test_workshops_may_carry_a_registration_number() -> None:
    workshop = make(business_type=BusinessType.WORKSHOP, licence_no="桂食小作坊登字第0001号")
    assert workshop.licence_no == "桂食小作坊登字第0001号"


def test_grade_and_risk_grade_are_independent() -> None:
    business = make(grade=Grade.D, risk_grade=RiskLevel.A)
    assert business.grade is Grade.D and business.risk_grade is RiskLevel.A


@pytest.mark.parametrize(
    ("text", "grade"), [("A级", Grade.A), ("ｄ", Grade.D), ("c", Grade.C), (" B ", Grade.B)]
)
def test_grade_spellings_from_ledgers(text: str, grade: Grade) -> None:
    assert Grade.parse(text) is grade


def test_canteen_kind_only_for_canteens() -> None:
    with pytest.raises(InvalidValueError):
        make(canteen_kind=CanteenKind.SCHOOL)
    canteen = make(business_type=BusinessType.CANTEEN, canteen_kind=CanteenKind.SCHOOL, diners=800)
    assert canteen.diners == 800


def test_status_dates_and_scope() -> None:
    assert make(status=OperatingStatus.SUSPENDED).in_scope
    assert not make(status=OperatingStatus.CLOSED).in_scope
    with pytest.raises(InvalidValueError):
        make(opened_on=date(2020, 1, 1), status_since=date(2019, 1, 1))


def test_names_must_be_clean() -> None:
    with pytest.raises(InvalidValueError):
        make(name=" 三街溶江饭店  ")
    assert Scale.parse("微型") is Scale.MICRO


def test_canonical_uscc_from_full_width() -> None:
    assert canonical_uscc("９１１１００００６０００３７３４１ｌ") == USCC


def test_staff_ban() -> None:
    member = StaffMember(name="王伟", banned_until=date(2027, 5, 1))
    assert member.is_banned(date(2027, 5, 1)) and not member.is_banned(date(2027, 5, 2))
    with pytest.raises(InvalidValueError):
        StaffMember(name="王伟", id_number="110101199003071234")


@pytest.mark.parametrize(
    "number",
    [
        "450323199003151230",  # 灵川县's code dates from 1998; born 1990, issued there later
        "45031219980702123X",  # 临桂区's from 2013
        "11010519491231002X",
    ],
)
def test_an_id_number_keeps_the_region_code_it_was_issued_under(number: str) -> None:
    assert checked_id_number(number) == number


@pytest.mark.parametrize(
    "number",
    [
        "999999199003151234",  # no such region, though the check character fits
        "450323199013151234",  # month 13
        "450323199003151231",  # the wrong check character
    ],
)
def test_an_id_number_with_an_unknown_region_or_no_birth_date_is_refused(number: str) -> None:
    with pytest.raises(InvalidValueError, match="居民身份证号"):
        checked_id_number(number)
