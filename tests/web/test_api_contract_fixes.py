"""The API's contract as a client sees it (rev6 D2–D9, D11, D15): the OpenAPI description
names every content type, header, answer and security requirement, and every refusal says
what was wrong in Chinese and plain English."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from tests.web.conftest import sign_in

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def openapi(web_app: Any) -> dict[str, Any]:
    with TestClient(web_app) as client:
        return client.get("/schema/openapi.json").json()  # type: ignore[no-any-return]


def _csrf(client: TestClient[Any]) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("csrftoken", "")}


def test_bulletin_documents_each_format_it_answers_with(openapi: dict[str, Any]) -> None:
    created = openapi["paths"]["/api/bulletin"]["post"]["responses"]["201"]["content"]
    assert set(created) == {DOCX, XLSX, "text/markdown"}


def test_session_cookie_and_csrf_header_are_security_schemes(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["session"] == {**schemes["session"], "type": "apiKey", "in": "cookie"}
    assert schemes["session"]["name"] == "session"
    assert schemes["csrf"]["type"] == "apiKey" and schemes["csrf"]["in"] == "header"
    assert schemes["csrf"]["name"] == "X-CSRFToken"
    assert openapi["security"] == [{"session": []}]
    posts = {p: ops["post"] for p, ops in openapi["paths"].items() if "post" in ops}
    assert len(posts) >= 5
    for path, operation in posts.items():
        assert any("csrf" in need for need in operation["security"]), path
    assert openapi["paths"]["/api/login"]["post"]["security"] == [{"csrf": []}]
    assert openapi["paths"]["/api/visits"]["post"]["security"] == [{"session": [], "csrf": []}]


def test_writes_document_413(openapi: dict[str, Any]) -> None:
    for path in ("/api/imports/{kind}", "/api/visits", "/api/problems/transition"):
        assert "413" in openapi["paths"][path]["post"]["responses"], path


def test_reads_and_writes_document_the_database_unavailable_503(openapi: dict[str, Any]) -> None:
    for path, method in (("/api/dashboard", "get"), ("/api/visits", "post")):
        answer = openapi["paths"][path][method]["responses"]["503"]
        assert "store_unavailable" in answer["description"], path


def test_413_for_a_json_body_does_not_speak_of_ledger_files(web_db: dict[str, Any]) -> None:
    from twores.services.sign_in import SignInThrottle
    from twores_web import create_app

    small = create_app(
        web_db["app"],
        web_db["store"],
        secret="test-secret",
        sign_in_throttle=SignInThrottle(per_client=10_000),
        request_max_body_size=1000,
        freeze_heap=False,
    )
    with TestClient(small) as client:
        sign_in(client, "cadre")
        visit = {"business_key": "x" * 2000, "cadre_id": "c", "visited_on": "2026-01-01"}
        refused = client.post("/api/visits", json=visit, headers=_csrf(client))
        assert refused.status_code == 413 and refused.json()["code"] == "too_large"
        assert ".csv" not in refused.json()["zh"] and "请求内容超过 1000 B" in refused.json()["zh"]
        assert "request body" in refused.json()["en"]
        upload = {"file": ("台账.csv", b"a" * 5000, "text/csv")}
        sign_in(client, "town")
        file = client.post("/api/imports/businesses", files=upload, headers=_csrf(client))
        assert file.status_code == 413 and ".csv.gz" in file.json()["zh"]


def test_downloads_document_content_disposition(openapi: dict[str, Any]) -> None:
    for path, method, status in (
        ("/api/export.csv", "get", "200"),
        ("/api/export.xlsx", "get", "200"),
        ("/api/bulletin", "post", "201"),
    ):
        headers = openapi["paths"][path][method]["responses"][status]["headers"]
        assert "Content-Disposition" in headers, path


def test_ranking_result_has_a_typed_schema(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    result = schemas["RankingResult"]["properties"]
    assert result["ranking"] and result["previous"]
    text = str(schemas)
    assert "area_code" in text and "rates" in text and "movement" in text


def test_a_body_enum_refusal_lists_the_choices_and_echoes_the_value(
    client: TestClient[Any],
) -> None:
    sign_in(client, "town")
    refused = client.post(
        "/api/problems/transition",
        json={"problem_id": "JY1/2026-12-01/x", "action": "zzz"},
        headers=_csrf(client),
    ).json()
    assert refused["field"] == "action" and refused["value"] == "zzz"
    assert "可选：" in refused["zh"] and "“zzz”" in refused["zh"]
    assert "one of:" in refused["en"] and "'zzz'" in refused["en"]


@pytest.mark.parametrize(
    ("path", "body", "zh", "en"),
    [
        (
            "/api/problems/transition",
            {"problem_id": "p", "action": "remind", "evidence": "abc"},
            "应为列表",
            "must be a list",
        ),
        (
            "/api/visits",
            {"business_key": "b", "cadre_id": "c", "visited_on": "2026-01-01", "answers": [["a"]]},
            "应为含 2 项的列表",
            "must be a list of 2 items",
        ),
        (
            "/api/visits",
            [1, 2],
            "请求体（JSON）应为对象",
            "the request body (JSON) must be an object",
        ),
        (
            "/api/visits",
            {"business_key": "b", "cadre_id": "c", "visited_on": "2026-01-01", "late_reason": 5},
            "应为文本或空值",
            "must be text or null",
        ),
    ],
)
def test_type_refusals_are_translated(
    client: TestClient[Any], path: str, body: Any, zh: str, en: str
) -> None:
    sign_in(client, "cadre")
    refused = client.post(path, json=body, headers=_csrf(client))
    assert refused.status_code == 400
    said = refused.json()
    assert zh in said["zh"] and en in said["en"], said
    for english in ("array", "object", "data", "Expected", "`"):
        assert english not in said["zh"]
    assert "Expected" not in said["en"] and "`" not in said["en"]


def test_a_file_part_without_a_file_name_asks_for_a_file(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    nameless = client.post(
        "/api/imports/businesses", files={"file": ("", b"a,b\n")}, headers=_csrf(client)
    )
    assert nameless.status_code == 400
    assert "请选择文件" in nameless.json()["zh"] and "choose a file" in nameless.json()["en"]
    two = [("file", ("a.csv", b"a,b\n")), ("file", ("b.csv", b"a,b\n"))]
    several = client.post("/api/imports/businesses", files=two, headers=_csrf(client)).json()
    assert "一个文件" in several["zh"] and "one file" in several["en"]
    for said in (nameless.json(), several):
        assert "class" not in said["en"] and "Unsupported" not in said["en"]


def test_a_malformed_body_from_nobody_is_401(client: TestClient[Any]) -> None:
    client.get("/login")
    refused = client.post("/api/imports/businesses", json={}, headers=_csrf(client))
    assert refused.status_code == 401 and refused.json()["code"] == "not_signed_in"
    visit = client.post("/api/visits", content=b"{not json", headers=_csrf(client))
    assert visit.status_code == 401


def test_signing_out_deletes_the_session_cookie(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    out = client.post("/api/logout", headers=_csrf(client))
    assert out.status_code == 204
    (cookie,) = [c for c in out.headers.get_list("set-cookie") if c.startswith("session=")]
    assert "Max-Age=0" in cookie and "Max-Age=28800" not in cookie
    assert client.get("/api/me").status_code == 401
