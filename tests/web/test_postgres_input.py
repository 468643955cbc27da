"""Request text PostgreSQL cannot hold (a NUL character) is bad input, not a server error."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

import twores
from twores.divisions import demo_region
from twores.testing.postgres import POSTGRES_URL, scratch_store


@pytest.mark.skipif(not POSTGRES_URL, reason="TWORES_TEST_POSTGRES_URL is not set")
def test_a_nul_character_is_a_bad_request_on_postgresql() -> None:
    from twores_web import create_app

    assert POSTGRES_URL is not None
    app = twores.build(load_entrypoints=False)
    with scratch_store(POSTGRES_URL, prefix="web") as store:
        with store.unit_of_work(twores.Scope.system("test")) as uow:
            uow.areas.upsert_many(demo_region().path("450323"))
            uow.commit()
        web = create_app(app, store, secret="test-secret")
        client: TestClient[Any]
        with TestClient(web) as client:
            client.get("/login")
            answer = client.post(
                "/api/login",
                json={"username": "town\u0000", "password": "whatever-long-1"},
                headers={"x-csrftoken": client.cookies.get("csrftoken", "")},
            )
        assert answer.status_code == 400, answer.text
        assert "NUL" in answer.json()["en"] and "空字符" in answer.json()["zh"]
