"""Sign-in throttling through the API and the sign-in form: 429 with Retry-After, a
Chinese message first, unknown names throttled alike, time moved by a test clock.

Each test has a database of its own: the failures it counts are stored there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.conftest import Clock

import twores
from twores.services.sign_in import SignInThrottle
from twores.services.stores import open_store
from twores.services.users import User, add_user

PASSWORD = "correct-horse-9"


@pytest.fixture
def client(tmp_path: Path, clock: Clock) -> Iterator[TestClient[Any]]:
    from twores_web import create_app

    app = twores.build(load_entrypoints=False)
    store = open_store(app, f"sqlite:///{tmp_path / 'throttle.db'}")
    system = twores.Scope.system("test setup")
    add_user(app, store, system, User("admin", "管理员", twores.Role.ADMIN), password=PASSWORD)
    throttle = SignInThrottle(per_user=3, per_client=5, clock=clock)
    web = create_app(app, store, secret="test", freeze_heap=False, sign_in_throttle=throttle)
    with TestClient(web) as test_client:
        test_client.get("/login")
        yield test_client
    store.close()


def api_sign_in(client: TestClient[Any], username: str, password: str) -> Any:
    token = client.cookies.get("csrftoken") or ""
    return client.post(
        "/api/login",
        json={"username": username, "password": password},
        headers={"x-csrftoken": token},
    )


def form_sign_in(client: TestClient[Any], username: str, password: str) -> Any:
    form = client.get("/login").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form)
    assert token is not None
    data = {"username": username, "password": password, "_csrf_token": token.group(1)}
    return client.post("/login", data=data, follow_redirects=False)


def test_the_api_answers_429_with_retry_after_once_a_name_failed_enough(
    client: TestClient[Any], clock: Clock
) -> None:
    for _ in range(3):
        assert api_sign_in(client, "admin", "wrong-guess-1").status_code == 401
        clock.advance(minutes=1)
    locked = api_sign_in(client, "admin", PASSWORD)  # the right password, refused unchecked
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == str(12 * 60)
    body = locked.json()
    assert body["code"] == "sign_in_throttled" and body["retry_after"] == 12 * 60
    assert body["zh"] == "登录失败次数过多，请 12 分钟后再试"
    assert client.get("/api/me").status_code == 401
    clock.advance(minutes=12)
    assert api_sign_in(client, "admin", PASSWORD).status_code == 201
    assert client.get("/api/me").json()["username"] == "admin"


def test_an_unknown_name_is_refused_exactly_like_a_real_one(
    client: TestClient[Any], clock: Clock
) -> None:
    answers = []
    for name in ("admin", "no-such-user"):
        for _ in range(3):
            wrong = api_sign_in(client, name, "wrong-guess-1")
            assert wrong.status_code == 401 and wrong.json()["zh"] == "用户名或密码错误"
        locked = api_sign_in(client, name, PASSWORD)
        answers.append((locked.status_code, locked.headers["retry-after"], locked.json()))
        clock.advance(minutes=15)  # the next name starts afresh, the client's count too
    assert answers[0] == answers[1]
    assert answers[0][0] == 429


def test_a_success_clears_the_failures(client: TestClient[Any]) -> None:
    for _ in range(2):
        assert api_sign_in(client, "admin", "wrong-guess-1").status_code == 401
    assert api_sign_in(client, "admin", PASSWORD).status_code == 201
    for _ in range(2):
        assert api_sign_in(client, "admin", "wrong-guess-1").status_code == 401
    assert api_sign_in(client, "admin", PASSWORD).status_code == 201


def test_one_client_spraying_names_is_locked_out(client: TestClient[Any]) -> None:
    for name in ("root", "guest", "test", "office", "dwz"):
        assert api_sign_in(client, name, "123456789").status_code == 401
    # a name never tried is refused: the client has used up its failures
    refused = api_sign_in(client, "admin", PASSWORD)
    assert refused.status_code == 429 and "retry-after" in refused.headers


def test_the_sign_in_form_says_so_in_chinese(client: TestClient[Any], clock: Clock) -> None:
    for _ in range(3):
        assert form_sign_in(client, "admin", "wrong-guess-1").status_code == 401
    locked = form_sign_in(client, "admin", PASSWORD)
    assert locked.status_code == 429 and locked.headers["content-type"].startswith("text/html")
    assert locked.headers["retry-after"] == str(15 * 60)
    assert "登录失败次数过多，请 15 分钟后再试" in locked.text and "<form" in locked.text
    assert "用户名或密码错误" not in locked.text
    client.cookies.set("lang", "en", domain="testserver.local")
    english = form_sign_in(client, "admin", PASSWORD)
    assert english.status_code == 429
    assert "too many failed sign-ins: try again in 15 min" in english.text
    clock.advance(minutes=15)
    signed_in = form_sign_in(client, "admin", PASSWORD)
    assert signed_in.status_code in (302, 303) and signed_in.headers["location"] == "/"
