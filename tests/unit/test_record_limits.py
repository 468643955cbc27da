"""Records refuse wrong-typed fields, texts longer than the store's columns, numbers larger
than its INTEGER columns and control characters (NUL…), with a bilingual error naming the
field: what SQLite would store and PostgreSQL refuse with a raw traceback."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import twores
from twores.core.areas import Tier
from twores.core.businesses import (
    BUSINESS_NAME_MAX,
    MAX_INT,
    PERSON_NAME_MAX,
    POST_MAX,
    BusinessType,
    FoodBusiness,
    Scale,
    Staff,
    StaffMember,
)
from twores.core.cadres import Cadre
from twores.core.errors import (
    InvalidChoiceError,
    InvalidDateError,
    InvalidGradeError,
    InvalidValueError,
    TworesError,
)
from twores.core.letters import COUNTERPARTY_MAX, Letter
from twores.core.problems import (
    PERSON_MAX,
    SOURCE_REF_MAX,
    Problem,
    ProblemSource,
    Severity,
)
from twores.core.security import ACTOR_MAX, Role, Scope
from twores.divisions import demo_region
from twores.plugins.sqlalchemy import tables
from twores.services.imports import import_file
from twores.services.stores import open_store


def business(**changes: Any) -> FoodBusiness:
    fields: dict[str, Any] = {
        "name": "南洲米粉店",
        "area_code": "450323101200",
        "business_type": BusinessType.SALES,
        "licence_no": "JY14503230000003",
    }
    return FoodBusiness(**{**fields, **changes})


def refused(error: type[InvalidValueError], field: str, build: Any) -> InvalidValueError:
    with pytest.raises(error) as caught:
        build()
    assert caught.value.field == field
    assert field in caught.value.message_zh and field in caught.value.message_en
    return caught.value


# --- A: wrong types -----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["opened_on", "status_since"])
@pytest.mark.parametrize("value", ["昨天", "2020-01-01", datetime(2020, 1, 1), 20200101])
def test_a_business_date_must_be_a_date(field: str, value: object) -> None:
    error = refused(InvalidDateError, field, lambda: business(**{field: value}))
    assert error.value == value


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("scale", "微型", InvalidChoiceError),
        ("scale", "huge", InvalidChoiceError),
        ("status", "closed", InvalidChoiceError),
        ("business_type", "食品销售", InvalidChoiceError),
        ("grade", "A", InvalidGradeError),
        ("risk_grade", "B", InvalidGradeError),
        ("grade", 1, InvalidGradeError),
    ],
)
def test_a_business_enum_must_be_the_member(
    field: str, value: object, error: type[InvalidValueError]
) -> None:
    refused(error, field, lambda: business(**{field: value}))


def test_a_spelling_the_enum_reads_is_named_in_the_error() -> None:
    error = refused(InvalidChoiceError, "scale", lambda: business(scale="微型"))
    assert "Scale.MICRO" in error.message_en
    assert business(scale=Scale.MICRO).scale is Scale.MICRO


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("chain_headquarters", "是"),
        ("chain_headquarters", 1),
        ("diners", True),
        ("diners", "30"),
        ("licence_no", 14503230000003),
        ("uscc", 9145),
        ("staff", None),
        ("staff", "张三"),
    ],
)
def test_a_business_field_of_the_wrong_type_is_refused(field: str, value: object) -> None:
    refused(InvalidValueError, field, lambda: business(**{field: value}))


def test_staff_members_are_checked() -> None:
    refused(InvalidValueError, "head", lambda: Staff(head="张三"))  # type: ignore[arg-type]
    refused(
        InvalidDateError,
        "banned_until",
        lambda: StaffMember("张三", banned_until="2030-01-01"),  # type: ignore[arg-type]
    )
    refused(InvalidValueError, "phone", lambda: StaffMember("张三", phone=13800138000))  # type: ignore[arg-type]
    refused(InvalidValueError, "name", lambda: StaffMember("张\x00三"))


def cadre(**changes: Any) -> Cadre:
    fields: dict[str, Any] = {
        "id": "c1",
        "name": "张三",
        "tier": Tier.COUNTY,
        "area_code": "450323",
    }
    return Cadre(**{**fields, **changes})


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("tier", "county", InvalidChoiceError),
        ("active_from", "2025-01-01", InvalidDateError),
        ("active_to", datetime(2025, 1, 1), InvalidDateError),
        ("id_number", 450323, InvalidValueError),
    ],
)
def test_a_cadre_field_of_the_wrong_type_is_refused(
    field: str, value: object, error: type[InvalidValueError]
) -> None:
    refused(error, field, lambda: cadre(**{field: value}))


# --- B: the store's limits ---------------------------------------------------------------


def width(table: sa.Table, column: str) -> int:
    length = table.c[column].type.length
    assert isinstance(length, int)
    return length


def test_the_limits_are_the_store_columns() -> None:
    assert width(tables.businesses, "name") == BUSINESS_NAME_MAX
    assert width(tables.cadres, "name") == PERSON_NAME_MAX
    assert width(tables.cadres, "post") == POST_MAX
    assert ACTOR_MAX == width(tables.audit_log, "actor") == width(tables.import_batches, "actor")
    assert PERSON_MAX == width(tables.problems, "reporter") == width(tables.problems, "verified_by")
    assert width(tables.problems, "source_ref") == SOURCE_REF_MAX
    assert width(tables.letters, "counterparty") == COUNTERPARTY_MAX
    assert isinstance(tables.businesses.c["diners"].type, sa.Integer)
    assert MAX_INT == 2**31 - 1


def test_a_business_name_at_most_200_characters() -> None:
    assert business(name="店" * BUSINESS_NAME_MAX).name == "店" * BUSINESS_NAME_MAX
    long = "桂林" + "米粉" * 110 + "店"
    error = refused(InvalidValueError, "name", lambda: business(name=long))
    assert "200" in error.message_zh and "223" in error.message_en
    assert len(str(error)) < 400  # the value is shown cut


def test_diners_at_most_an_integer_column() -> None:
    assert business(diners=MAX_INT).diners == MAX_INT
    error = refused(InvalidValueError, "diners", lambda: business(diners=3_000_000_000))
    assert "2,147,483,647" in error.message_en


@pytest.mark.parametrize("text", ["南洲\x00米粉店", "南洲\x01米粉店", "南洲米粉店\x7f"])
def test_control_characters_are_refused_in_names(text: str) -> None:
    error = refused(InvalidValueError, "name", lambda: business(name=text))
    assert "U+00" in error.message_en
    refused(InvalidValueError, "name", lambda: cadre(name=text))


def test_cadre_name_and_post_at_most_100_characters() -> None:
    assert cadre(name="张" * 100, post="科" * 100).post == "科" * 100
    refused(InvalidValueError, "name", lambda: cadre(name="张" * 101))
    refused(InvalidValueError, "post", lambda: cadre(post="科" * 101))
    refused(InvalidValueError, "post", lambda: cadre(post="科\x00长"))


def test_a_scope_actor_at_most_100_characters_and_no_nul() -> None:
    assert Scope("局" * ACTOR_MAX, Role.OFFICE, "450323").actor == "局" * ACTOR_MAX
    actor = "县市场监管局食品安全协调科" * 8  # 104 characters
    error = refused(InvalidValueError, "actor", lambda: Scope(actor, Role.OFFICE, "450323"))
    assert "100" in error.message_zh
    refused(InvalidValueError, "actor", lambda: Scope("县局\x00", Role.OFFICE, "450323"))


def problem(**changes: Any) -> Problem:
    fields: dict[str, Any] = {
        "id": "p1",
        "business_key": "JY14503230000003",
        "area_code": "450323101200",
        "source": ProblemSource.VISIT,
        "description": "进货查验记录不全",
        "severity": Severity.MINOR,
        "found_on": date(2025, 6, 1),
        "reporter": "张三",
    }
    return Problem(**{**fields, **changes})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reporter", "张" * 101),
        ("reporter", ""),
        ("verified_by", "李" * 101),
        ("source_ref", "R" * 201),
        ("description", "记录\x00不全"),
        ("reminders", MAX_INT + 1),
        ("escalation", True),
    ],
)
def test_problem_limits(field: str, value: object) -> None:
    assert problem(reporter="张" * 100, source_ref="R" * 200).reporter == "张" * 100
    refused(InvalidValueError, field, lambda: problem(**{field: value}))


def test_a_letter_counterparty_at_most_100_characters() -> None:
    letter = Letter("c1", "450323", 2025, "h" * 64, 3, date(2025, 1, 2))
    assert letter.counterparty is None
    refused(
        InvalidValueError,
        "counterparty",
        lambda: Letter("c1", "450323", 2025, "h", 3, date(2025, 1, 2), counterparty="某" * 101),
    )


def test_valid_records_still_build() -> None:
    shop = business(
        scale=Scale.MICRO,
        diners=30,
        chain_headquarters=True,
        opened_on=date(2020, 1, 1),
        status_since=date(2021, 1, 1),
        staff=Staff(head=StaffMember("王五", phone="183-7407-4002")),
    )
    assert shop.staff.head is not None and shop.staff.head.phone == "18374074002"
    assert datetime(2020, 1, 1, tzinfo=UTC).date() == shop.opened_on


def test_an_import_reports_an_overlong_name_as_a_row_error(tmp_path: Path) -> None:
    app = twores.build(load_entrypoints=False)
    store = open_store(app, f"sqlite:///{tmp_path / 't.db'}")
    admin = Scope("测试员", Role.ADMIN)
    with store.unit_of_work(admin) as uow:
        uow.areas.upsert_many(demo_region())
        uow.commit()
    ledger = tmp_path / "台账.csv"
    long = "桂林" + "米粉" * 110 + "店"
    with ledger.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(
            [
                ["主体名称", "许可证编号", "所属区划", "业态"],
                [long, "JY14503230000003", "450323101200", "食品销售"],
                ["南洲米粉店", "JY14503230000011", "450323101200", "食品销售"],
            ]
        )
    report = import_file(app, store, admin, "businesses", ledger, on=date(2025, 6, 30))
    assert not report.accepted
    (error,) = report.errors
    assert error.row == 2 and error.column == "主体名称"
    assert "200" in error.reason_zh
    with store.unit_of_work(admin) as uow:
        assert list(uow.businesses.stream()) == []


def test_an_error_is_a_tworeserror() -> None:
    with pytest.raises(TworesError):
        business(opened_on="昨天")
