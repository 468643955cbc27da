"""One small synthetic county (灵川县, 800 businesses, the current quarter run) and a few
users, built once per session and shared by every web test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

import twores
from twores.services.setup import synthesize
from twores.services.stores import open_store
from twores.services.users import User, add_user
from twores.services.web_views import current_period

COUNTY = "450323"
TOWNSHIP = "450323101"  # 大圩镇
OTHER_TOWNSHIP = "450323102"
PASSWORD = "correct-horse-9"
SSO_HEADER = "x-test-sso-user"


def sso_header(request: Any) -> str | None:
    """Test SSO hook: the gateway vouches for the user named in a header."""
    return request.headers.get(SSO_HEADER)


@pytest.fixture(scope="session")
def web_db(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{folder / 'web.db'}"
    app = twores.build(load_entrypoints=False)
    on = current_period().start - timedelta(days=1)
    synthesize(
        app, url, businesses=800, cadres=200, area=COUNTY, on=on, quarter=True, folder=folder
    )
    store = open_store(app, url)
    system = twores.Scope.system("test setup")
    period = current_period()
    with store.unit_of_work(system) as uow:  # a township cadre with a task still open
        cadre = next(
            c
            for c in uow.cadres.stream(within=TOWNSHIP)
            if any(
                t.visit_id is None and not t.exempt_reason
                for t in uow.tasks.stream(cadre_id=c.id, overlapping=(period.start, period.end))
            )
        )
    add_user(app, store, system, User("admin", "管理员", twores.Role.ADMIN), password=PASSWORD)
    add_user(
        app,
        store,
        system,
        User("town", "大圩镇食安办", twores.Role.OFFICE, TOWNSHIP),
        password=PASSWORD,
    )
    add_user(
        app,
        store,
        system,
        User("cadre", "包保干部", twores.Role.CADRE, TOWNSHIP, cadre_id=cadre.id),
        password=PASSWORD,
    )
    add_user(
        app,
        store,
        system,
        User("viewer", "只读", twores.Role.READ_ONLY, TOWNSHIP),
        password=PASSWORD,
    )
    return {"app": app, "store": store, "url": url, "cadre": cadre, "folder": Path(folder)}


@pytest.fixture(scope="session")
def web_app(web_db: dict[str, Any]) -> Any:
    from twores.services.sign_in import SignInThrottle
    from twores_web import create_app

    # Every test signs in from the one test client address: the per-client limit is tested
    # on apps of its own (test_sign_in_throttle.py), not spent by schemathesis here.
    return create_app(
        web_db["app"],
        web_db["store"],
        secret="test-secret",
        authenticators=[sso_header],
        sign_in_throttle=SignInThrottle(per_client=10_000),
    )


def sign_in(client: TestClient[Any], username: str, password: str = PASSWORD) -> Any:
    client.get("/login")
    return client.post(
        "/api/login",
        json={"username": username, "password": password},
        headers={"x-csrftoken": client.cookies.get("csrftoken", "")},
    )


@pytest.fixture
def client(web_app: Any) -> Iterator[TestClient[Any]]:
    with TestClient(web_app) as test_client:
        yield test_client
