from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given

from twores import make_converter
from twores.core.areas import Area, Tier
from twores.core.businesses import FoodBusiness
from twores.core.convert import stored_builder
from twores.core.errors import StructureError
from twores.core.rules import RuleSet
from twores.testing.strategies import businesses


def test_every_bad_field_is_listed_with_its_path() -> None:
    data = {
        "name": "大圩豆腐坊",
        "area_code": "450323101202",
        "business_type": "bakery",
        "licence_no": "JY12",
        "uscc": "91110000600037341X",
        "grade": "E",
        "diners": -5,
        "opened_on": "2020-13-01",
        "staff": {"director": {"name": "", "banned_until": "soon"}},
        "colour": "red",
    }
    with pytest.raises(StructureError) as info:
        make_converter().structure(data, FoodBusiness)
    assert set(info.value.fields) == {
        "business_type",
        "licence_no",
        "uscc",
        "grade",
        "diners",
        "opened_on",
        "staff.director.name",
        "staff.director.banned_until",
        "colour",
    }
    payload = info.value.to_dict()
    assert payload["code"] == "invalid_data" and len(payload["errors"]) == 9  # type: ignore[arg-type]


def test_missing_required_fields_are_listed() -> None:
    with pytest.raises(StructureError) as info:
        make_converter().structure({}, FoodBusiness)
    assert set(info.value.fields) == {"name", "area_code", "business_type"}


def test_errors_inside_sequences_carry_the_index() -> None:
    data = {
        "name": "x",
        "version": "1",
        "title_zh": "x",
        "title_en": "x",
        "rules": [
            {"id": "a", "title_zh": "", "title_en": ""},
            {"id": "b", "title_zh": "", "title_en": "", "effective_from": "nope"},
        ],
    }
    with pytest.raises(StructureError) as info:
        make_converter().structure(data, RuleSet)
    assert info.value.fields == ("rules[1].effective_from",)


def test_json_round_trip_of_a_ledger_like_business() -> None:
    converter = make_converter()
    data = {
        "name": "九屋青狮便利店",
        "area_code": "450323106200",
        "business_type": "餐饮服务",
        "licence_no": "JY14503230034495",
        "grade": "Ｄ",
        "scale": "微型",
        "chain_headquarters": "否",
        "opened_on": "2016-05-11",
    }
    business = converter.structure(data, FoodBusiness)
    again = converter.structure(
        json.loads(json.dumps(converter.unstructure(business))), FoodBusiness
    )
    assert again == business
    assert converter.unstructure(business)["grade"] == "D"


@given(businesses())
def test_a_record_built_as_stored_equals_the_record(business: FoodBusiness) -> None:
    names = tuple(a.name for a in attrs.fields(FoodBusiness))
    values = [getattr(business, name) for name in names]
    rebuilt = stored_builder(FoodBusiness, names)(*values)
    assert rebuilt == business and rebuilt.key == business.key
    reordered = tuple(reversed(names))
    assert stored_builder(FoodBusiness, reordered)(*reversed(values)) == business


def test_a_record_built_as_stored_takes_every_field() -> None:
    build = stored_builder(Area, ("code", "name", "tier", "parent_code", "valid_from", "valid_to"))
    assert build("45", "广西壮族自治区", Tier.PROVINCE, None, None, None) == Area(
        "45", "广西壮族自治区", Tier.PROVINCE
    )
    with pytest.raises(TypeError):
        build("45", "广西壮族自治区", Tier.PROVINCE)
