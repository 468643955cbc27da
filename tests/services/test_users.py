"""Sign-in accounts: who may change which account, and what sign-in reveals."""

from __future__ import annotations

from pathlib import Path

import pytest

import twores
from twores.divisions import demo_region
from twores.services import users
from twores.services.stores import open_store
from twores.services.users import User, add_user, authenticate

PASSWORD = "correct-horse-9"
SYSTEM = twores.Scope.system("test")


@pytest.fixture
def store(tmp_path: Path) -> twores.Store:
    app = twores.build(load_entrypoints=False)
    store = open_store(app, f"sqlite:///{tmp_path / 'users.db'}")
    with store.unit_of_work(SYSTEM) as uow:
        uow.areas.upsert_many(demo_region())
        uow.commit()
    return store


def test_an_office_cannot_rewrite_an_admin_account_in_its_area(store: twores.Store) -> None:
    app = twores.build(load_entrypoints=False)
    admin = User("county-admin", "县管理员", twores.Role.ADMIN, "450323")
    add_user(app, store, SYSTEM, admin, password=PASSWORD)
    office = twores.Scope("市食安办", twores.Role.OFFICE, "4503")
    demoted = User("county-admin", "县管理员", twores.Role.OFFICE, "450323")
    with pytest.raises(twores.ScopeError):
        add_user(app, store, office, demoted, password="taken-over-1")
    assert authenticate(app, store, "county-admin", PASSWORD).role is twores.Role.ADMIN
    county_office = User("county-office", "县食安办", twores.Role.OFFICE, "450323")
    assert add_user(app, store, office, county_office, password=PASSWORD).inserted == 1


def test_an_unknown_name_costs_a_password_check(
    store: twores.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = twores.build(load_entrypoints=False)
    checked: list[str] = []
    real = users.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        checked.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(users, "verify_password", counting)
    with pytest.raises(users.AuthenticationError):
        authenticate(app, store, "nobody", PASSWORD)
    assert checked == [PASSWORD]
