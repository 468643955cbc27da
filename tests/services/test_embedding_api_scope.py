"""A Scope built by an embedding program: a role spelled as the CLI and the docs spell it
is the role; an unknown role, a malformed area code or a blank actor is refused when the
scope is built, in Chinese and English, before any unit of work opens."""

from __future__ import annotations

import pytest

import twores
from twores import BusinessType, FoodBusiness, Role, Scope
from twores.services.supervision import schedule
from twores.services.users import User, add_user, authenticate

SHOP = FoodBusiness(
    name="探针店",
    area_code="450323101200",
    business_type=BusinessType.SALES,
    licence_no="JY14503230000001",
)


@pytest.mark.parametrize("spelled", ["office", "OFFICE", "食安办", " office "])
def test_a_role_spelled_as_text_is_the_role_and_its_writes_work(
    app: twores.Twores, store: twores.Store, spelled: str
) -> None:
    scope = Scope("县局", spelled, "450323")  # type: ignore[arg-type]
    assert scope.role is Role.OFFICE and scope == Scope("县局", Role.OFFICE, "450323")
    with store.unit_of_work(scope) as uow:
        assert uow.businesses.upsert_many([SHOP]).inserted == 1
        uow.commit()
    assert schedule(app, store, scope, "2026Q4", on="2026-10-01").tasks >= 0
    with store.unit_of_work(Scope.system()) as uow:
        assert [e.actor for e in uow.audit.entries()][-1] == "县局"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("县局", "boss", "450323"), "role"),
        (("县局", None, "450323"), "role"),
        (("县局", Role.OFFICE, "45 03"), "area_code"),
        (("县局", Role.OFFICE, "4503231"), "area_code"),
        (("县局", Role.OFFICE, ""), "area_code"),
        (("", Role.OFFICE, "450323"), "actor"),
        (("  ", Role.ADMIN, None), "actor"),
        ((None, Role.ADMIN, None), "actor"),
    ],
)
def test_a_bad_scope_is_refused_when_built(args: tuple[object, ...], field: str) -> None:
    with pytest.raises(twores.InvalidValueError) as refused:
        Scope(*args)  # type: ignore[arg-type]
    error = refused.value
    assert error.field == field
    assert field in error.message_zh and field in error.message_en
    assert error.message_zh != error.message_en  # Chinese, and English


def test_an_area_code_is_read_as_a_ledger_types_it() -> None:
    assert Scope("x", Role.OFFICE, "４５０３２３").area_code == "450323"
    assert Scope("x", Role.OFFICE, "450323000000").area_code == "450323"
    assert Scope("x", Role.OFFICE, "DZ-01").area_code == "DZ-01"  # a development zone
    assert Scope("x", Role.ADMIN).area_code is None
    assert Scope.system().role is Role.ADMIN


def test_scopes_of_stored_users_still_work(app: twores.Twores, store: twores.Store) -> None:
    system = Scope.system("test")
    add_user(
        app, store, system, User("town", "大圩镇", Role.OFFICE, "450323101"), password="pw-12345678"
    )
    user = authenticate(app, store, "town", "pw-12345678")
    assert user.scope == Scope("town", Role.OFFICE, "450323101")
    with store.unit_of_work(user.scope) as uow:
        assert uow.areas.hierarchy()
