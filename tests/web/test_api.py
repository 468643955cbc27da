"""The JSON API: sign-in, CSRF, scope, masking, visits, the ledger, imports, bulletin."""

from __future__ import annotations

import csv
from datetime import date
from typing import Any
from urllib.parse import unquote

from litestar.testing import TestClient
from tests.web.conftest import COUNTY, OTHER_TOWNSHIP, SSO_HEADER, TOWNSHIP, sign_in

import twores


def csrf(client: TestClient[Any]) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("csrftoken", "")}


def _held_key(client: TestClient[Any], cadre_id: str, index: int) -> str:
    """The key of a business on the cadre's desk, as the API lists it."""
    business = client.get(f"/api/cadres/{cadre_id}").json()["businesses"][index]
    return str(business["licence_no"] or business["uscc"])


def test_sign_in_needs_the_right_password_and_csrf(client: TestClient[Any]) -> None:
    assert client.get("/api/me").status_code == 401
    client.get("/login")
    refused = client.post("/api/login", json={"username": "town", "password": "x" * 12})
    assert refused.status_code == 403  # no CSRF token
    wrong = sign_in(client, "town", "wrong-password")
    assert wrong.status_code == 401 and wrong.json()["zh"] == "用户名或密码错误"
    assert sign_in(client, "town").status_code == 201
    me = client.get("/api/me").json()
    assert me["role"] == "office" and me["area_code"] == TOWNSHIP and "password_hash" not in me
    assert client.post("/api/logout", headers=csrf(client)).status_code == 204
    assert client.get("/api/me").status_code == 401


def test_signing_in_issues_a_new_session_id(client: TestClient[Any]) -> None:
    planted = "a" * 64  # an id the server never issued, set by someone else
    client.cookies.set("session", planted, domain="testserver.local")
    assert sign_in(client, "town").status_code == 201
    issued = client.cookies.get("session")
    assert issued and issued != planted
    assert client.get("/api/me").status_code == 200
    client.cookies.set("session", planted, domain="testserver.local")  # the planter's view
    assert client.get("/api/me").status_code == 401


def test_a_township_user_sees_only_the_township(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    root = client.get("/api/areas").json()
    assert root["area"]["code"] == TOWNSHIP
    assert all(c["code"].startswith(TOWNSHIP) for c in root["children"])
    assert client.get(f"/api/areas/{OTHER_TOWNSHIP}").status_code == 403
    assert client.get("/api/areas/450323").status_code == 403
    page = client.get("/api/businesses", params={"limit": 1000}).json()
    assert page["total"] > 0
    assert all(b["area_code"].startswith(TOWNSHIP) for b in page["businesses"])
    board = client.get("/api/dashboard").json()
    assert board["area"] == TOWNSHIP and all(a.startswith(TOWNSHIP) for a in board["areas"])
    assert client.get("/api/dashboard", params={"area": OTHER_TOWNSHIP}).status_code == 403
    for above in (COUNTY, "4503"):  # its parent's other children are not the township's
        assert client.get("/api/dashboard", params={"area": above}).status_code == 403
        assert client.get("/api/ranking", params={"area": above}).status_code == 403
    problems = client.get("/api/problems").json()
    assert all(p["area_code"].startswith(TOWNSHIP) for p in problems)
    for above in (COUNTY, "4503"):  # refused, not narrowed to the township unsaid
        for query in ({"area": above}, {"area": above, "q": "JY"}):
            assert client.get("/api/businesses", params=query).status_code == 403


def test_out_of_range_pages_and_periods_are_bad_requests_not_crashes(
    client: TestClient[Any],
) -> None:
    sign_in(client, "town")
    huge = 10**20
    for path, params in (
        ("/api/businesses", {"offset": huge}),
        ("/api/problems", {"offset": huge}),
        ("/api/dashboard", {"period": "0001-01"}),
        (f"/areas/{TOWNSHIP}", {"offset": huge}),
        (f"/areas/{TOWNSHIP}", {"cadre_offset": 2**63}),
        ("/problems", {"offset": huge}),
    ):
        answer = client.get(path, params=params)
        assert answer.status_code == 400, (path, params, answer.status_code)


def test_a_refused_parameter_is_labelled_for_its_route_with_its_choices(
    client: TestClient[Any],
) -> None:
    sign_in(client, "town")
    status = client.get("/api/problems", params={"status": "限期整改"}).json()
    assert status["zh"].startswith("请求参数无效：问题状态（status）“限期整改”不是可选值")
    assert "rectifying（限期整改）" in status["zh"] and "经营状态" not in status["zh"]
    assert "problem status" in status["en"] and "rectifying" in status["en"]
    offset = client.get("/api/problems", params={"offset": "abc"}).json()
    assert offset["zh"].endswith("“abc”应为整数") and "whole number" in offset["en"]
    day = client.get("/api/problems", params={"overdue_on": "x"}).json()
    assert "应为日期（YYYY-MM-DD）" in day["zh"] and "RFC3339" not in day["en"]
    page = client.get("/problems", params={"overdue": "yes"})
    assert page.status_code == 400 and "仅看逾期（overdue）“yes”应为是/否" in page.text
    assert "bool" not in page.text


def test_the_framework_s_refusals_say_what_is_wrong_in_chinese_too(
    client: TestClient[Any],
) -> None:
    sign_in(client, "town")
    method = client.get("/api/visits")
    assert method.status_code == 405 and method.json()["zh"] == "不支持该请求方法"
    token = client.cookies.get("csrftoken") or ""
    headers = {"x-csrftoken": token, "content-type": "application/json"}
    broken = client.post("/api/visits", content=b"{not json", headers=headers)
    assert broken.status_code == 400 and broken.json()["zh"] != broken.json()["en"]
    invalid = client.get("/api/businesses", params={"limit": 0})
    assert invalid.status_code == 400 and "limit" in invalid.json()["zh"]
    too_many = client.get("/api/problems", params={"limit": 5000}).json()
    assert (too_many["field"], too_many["value"]) == ("limit", "5000")
    assert "不大于 1000" in too_many["zh"] and "<= 1000" in too_many["en"]
    missing = client.post("/api/problems/transition", json={"problem_id": "x"}, headers=headers)
    assert missing.status_code == 400 and missing.json()["field"] == "action"  # not "data"
    assert "缺少必填项" in missing.json()["zh"] and "action" in missing.json()["en"]
    unknown = client.post(
        "/api/problems/transition", json={"problem_id": "x", "action": "remind"}, headers=headers
    )
    assert unknown.status_code == 404 and unknown.json()["field"] == "problem_id"


def test_businesses_outside_the_scope_are_not_found(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    with web_db["store"].unit_of_work(__import__("twores").Scope.system()) as uow:
        other = next(uow.businesses.stream(within=OTHER_TOWNSHIP))
    sign_in(client, "town")
    answer = client.get(f"/api/businesses/{other.key}")
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert (
        client.get(f"/api/businesses/{other.key}", headers={SSO_HEADER: "admin"}).status_code == 200
    )


def test_personal_data_is_masked_for_read_only_users(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    cadre = web_db["cadre"]
    sign_in(client, "viewer")
    shown = client.get(f"/api/cadres/{cadre.id}").json()["cadre"]
    if cadre.phone:
        assert shown["phone"] != cadre.phone and "****" in shown["phone"]
    office = client.get(f"/api/cadres/{cadre.id}", headers={SSO_HEADER: "town"}).json()
    assert office["cadre"]["phone"] == cadre.phone


def test_a_cadre_records_a_visit_in_their_own_name_only(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    cadre = web_db["cadre"]
    sign_in(client, "cadre")
    key = _held_key(client, cadre.id, 0)
    visit = {"business_key": key, "cadre_id": "C-someone-else", "visited_on": "2020-01-01"}
    refused = client.post("/api/visits", json=visit, headers=csrf(client))
    assert refused.status_code == 400 and refused.json()["field"] == "cadre_id"
    read_only = client.post(
        "/api/visits",
        json={**visit, "cadre_id": cadre.id},
        headers={**csrf(client), SSO_HEADER: "viewer"},
    )
    assert read_only.status_code in (400, 403)


def test_a_cadre_never_verifies_a_problem_they_reported(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    cadre = web_db["cadre"]
    sign_in(client, "cadre")
    key = _held_key(client, cadre.id, -1)
    visit = {
        "business_key": key,
        "cadre_id": cadre.id,
        "visited_on": date.today().isoformat(),
        "findings": ["后厨地面积水"],
    }
    answer = client.post("/api/visits", json=visit, headers=csrf(client))
    assert answer.status_code == 201, answer.text
    (opened,) = answer.json()["opened"]
    assert opened["reporter"] == cadre.id

    def step(action: str, **extra: Any) -> Any:
        body = {"problem_id": opened["id"], "action": action, **extra}
        return client.post("/api/problems/transition", json=body, headers=csrf(client))

    if opened["status"] == "rectifying":
        blank = step("submit", evidence=[" "])  # evidence must say something
        assert blank.status_code == 400 and blank.json()["field"] == "evidence"
        assert step("submit", evidence=["a" * 64]).status_code == 201
    refused = step("verify", evidence=["b" * 64])
    assert refused.status_code == 400, refused.text
    assert "reporter" in refused.json()["en"]


def test_blank_findings_are_refused_not_opened_as_problems(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    cadre = web_db["cadre"]
    sign_in(client, "cadre")
    visit = {
        "business_key": _held_key(client, cadre.id, 0),
        "cadre_id": cadre.id,
        "visited_on": twores.today().isoformat(),
    }
    for blank in ("", "   "):
        answer = client.post(
            "/api/visits", json={**visit, "findings": [blank]}, headers=csrf(client)
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] == "findings" and "空白" in answer.json()["zh"]


def test_a_visit_s_findings_carry_the_severity_given(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    from datetime import timedelta

    cadre = web_db["cadre"]
    sign_in(client, "cadre")
    key = _held_key(client, cadre.id, 0)
    today = twores.today()
    visit = {  # yesterday, in a mode that fulfils no task: the desk's open work stays for
        "business_key": key,  # the browser test, which records today's visit
        "cadre_id": cadre.id,
        "visited_on": (today - timedelta(days=1)).isoformat(),
        "mode": "other",
        "findings": ["使用超过保质期的原料"],
        "severity": "severe",
    }
    answer = client.post("/api/visits", json=visit, headers=csrf(client))
    assert answer.status_code == 201, answer.text
    (opened,) = answer.json()["opened"]
    assert opened["severity"] == "severe"
    assert opened["deadline"] == (today + timedelta(days=3)).isoformat()  # national: 3 days
    wrong = client.post(
        "/api/visits", json={**visit, "severity": "catastrophic"}, headers=csrf(client)
    )
    assert wrong.status_code == 400 and wrong.json()["field"] == "severity"


def test_problem_transitions_follow_the_ledger(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    rectifying = client.get("/api/problems", params={"status": "rectifying"}).json()
    assert rectifying
    key = rectifying[0]["id"]
    illegal = client.post(
        "/api/problems/transition",
        json={"problem_id": key, "action": "close"},
        headers=csrf(client),
    )
    assert illegal.status_code == 400
    assert client.get("/api/problems", params={"status": "rectifying"}).json()[0]["id"] == key
    bad = client.post(
        "/api/problems/transition", json={"problem_id": key, "action": "fly"}, headers=csrf(client)
    )
    assert bad.status_code == 400


def test_a_bad_import_is_refused_with_row_errors(client: TestClient[Any], tmp_path: Any) -> None:
    sign_in(client, "town")
    ledger = tmp_path / "台账.csv"
    with ledger.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(
            [
                ["主体名称", "许可证编号", "所属区划", "业态", "包保等级"],
                ["坏店", "JY123", TOWNSHIP + "001", "食品销售", "E"],
                ["合计", "", "", "", ""],
            ]
        )
    with ledger.open("rb") as stream:
        answer = client.post(
            "/api/imports/businesses", files={"file": ("台账.csv", stream)}, headers=csrf(client)
        )
    assert answer.status_code == 422, answer.text
    report = answer.json()
    assert report["accepted"] is False and report["inserted"] == 0
    assert {e["column"] for e in report["errors"]} >= {"许可证编号"}
    assert all(e["reason_zh"] and e["reason_en"] for e in report["errors"])
    assert report["totals_rows"] == [3]  # skipped, and said so


def test_any_upload_name_imports_or_is_refused_never_a_crash(
    client: TestClient[Any], tmp_path: Any
) -> None:
    sign_in(client, "town")
    ledger = "姓名,所属区划\n张三,999999\n".encode()  # refused: records no file as imported
    long_name = "灵川县" * 40 + "包保干部名单.csv"  # over 255 bytes in UTF-8
    for name in ("..", ".", "/", "", long_name, "..\\..\\干部.csv"):
        answer = client.post(
            "/api/imports/cadres", files={"file": (name, ledger)}, headers=csrf(client)
        )
        assert answer.status_code in (201, 400, 422), (name, answer.status_code, answer.text)
    kept = client.post(
        "/api/imports/cadres", files={"file": (long_name, ledger)}, headers=csrf(client)
    ).json()
    assert kept["file_name"].startswith("灵川县") and kept["file_name"].endswith(".csv")


def test_a_read_only_user_cannot_import_even_an_empty_sheet(
    client: TestClient[Any], tmp_path: Any
) -> None:
    sign_in(client, "viewer")
    ledger = tmp_path / "干部.csv"
    ledger.write_text("干部编号,姓名,职务,层级,所属区划\n", encoding="utf-8")
    with ledger.open("rb") as stream:
        answer = client.post(
            "/api/imports/cadres", files={"file": ("干部.csv", stream)}, headers=csrf(client)
        )
    assert answer.status_code == 403, answer.text


def test_bulletin_downloads(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    answer = client.post(
        "/api/bulletin", params={"area": TOWNSHIP, "format": "md"}, headers=csrf(client)
    )
    assert answer.status_code == 201, answer.text
    assert "通报" in answer.text
    assert "attachment" in answer.headers["content-disposition"]
    quarter = twores.Period.containing(twores.PeriodKind.QUARTER, twores.today())
    assert f"-{quarter}-" in unquote(answer.headers["content-disposition"])  # the cycle to date


def test_the_bulletin_form_offers_the_cycle_to_date(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    quarter = twores.Period.containing(twores.PeriodKind.QUARTER, twores.today())
    assert f'name="period" value="{quarter}"' in client.get("/bulletin").text


def test_pages_render_in_chinese_and_english(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    page = client.get("/dashboard")
    assert page.status_code == 200 and "大圩镇" in page.text and "<svg" in page.text
    assert "指标看板" in page.text
    english = client.get("/dashboard", params={"lang": "en"})
    assert "KPI dashboard" in english.text
    assert client.get(f"/dashboard?area={OTHER_TOWNSHIP}").status_code == 403
    for path in ("/problems", "/imports", "/bulletin", f"/areas/{TOWNSHIP}"):
        assert client.get(path).status_code == 200, path


def test_openapi_lists_the_domain_models(client: TestClient[Any]) -> None:
    schema = client.get("/schema/openapi.json").json()
    names = set(schema["components"]["schemas"])
    assert {"FoodBusiness", "Problem", "Visit", "SupervisionTask", "Cadre"} <= names
    assert not any(path.startswith("/dashboard") for path in schema["paths"])
    imports = schema["paths"]["/api/imports/{kind}"]["post"]
    assert "422" in imports["responses"]  # a refused ledger's answer: every bad row
    (kind,) = imports["parameters"]
    assert kind["schema"]["enum"] == ["areas", "businesses", "cadres", "assignments"]
    bulletin = schema["paths"]["/api/bulletin"]["post"]["responses"]["201"]["content"]
    assert "application/json" not in bulletin  # a file, not JSON
    throttled = schema["paths"]["/api/login"]["post"]["responses"]["429"]
    assert throttled["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_lists_download_masked_unless_the_role_may_unmask_and_only_in_scope(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        cadres = list(uow.cadres.stream(within=TOWNSHIP))
    phone = next(c.phone for c in cadres if c.phone)
    sign_in(client, "viewer")
    asked = {"kind": "cadres", "area": TOWNSHIP}
    masked = client.get("/api/export.xlsx", params=asked)
    assert masked.status_code == 200 and "attachment" in masked.headers["content-disposition"]
    rows = list(load_workbook(BytesIO(masked.content)).active.iter_rows(values_only=True))
    assert len(rows) == len(cadres) + 1 and phone not in {c for r in rows for c in r}
    assert client.get("/api/export.xlsx", params={**asked, "unmask": "true"}).status_code == 403
    outside = {**asked, "area": OTHER_TOWNSHIP}
    assert client.get("/api/export.xlsx", params=outside).status_code == 403
    sign_in(client, "town")
    plain = client.get("/api/export.csv", params={**asked, "unmask": "true"})
    assert plain.status_code == 200 and phone in plain.content.decode("utf-8-sig")
