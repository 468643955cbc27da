"""Fixes from the fifth review of the web surfaces: a period not begun, export download
names, refused `kind`/`format` values, the upload size limit and the import kinds offered."""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from litestar.testing import TestClient
from tests.web.conftest import COUNTY, PASSWORD, TOWNSHIP, sign_in

import twores
from twores.services import imports, web_views
from twores.services.setup import synthesize
from twores.services.sign_in import SignInThrottle
from twores.services.stores import open_store
from twores.services.users import User, add_user
from twores_web import create_app


def csrf(client: TestClient[Any]) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("csrftoken", "")}


def _form_token(client: TestClient[Any], path: str) -> str:
    token = re.search(r'name="_csrf_token" value="([^"]+)"', client.get(path).text)
    assert token is not None
    return token.group(1)


# --- 1. a period not begun is neither shown nor ranked ---------------------------------------


def test_a_period_not_begun_is_refused_on_the_dashboard_and_the_ranking(
    client: TestClient[Any],
) -> None:
    sign_in(client, "town")
    upcoming = web_views.current_period().next()  # begins after today
    for path in ("/api/ranking", "/api/dashboard"):
        answer = client.get(path, params={"period": str(upcoming)})
        assert answer.status_code == 400, (path, answer.text)
        body = answer.json()
        assert body["field"] == "period" and body["value"] == str(upcoming)
        assert "尚未开始" in body["zh"] and "has not begun" in body["en"]
    page = client.get("/dashboard", params={"period": str(upcoming), "lang": "en"})
    assert page.status_code == 400 and "has not begun" in page.text
    assert 'id="who"' in page.text  # still signed in, on the error page
    assert client.get("/api/ranking").status_code == 200  # the quarter under way is ranked


# --- 2. export download names ------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A small county of its own: these tests rename its townships."""
    folder = tmp_path_factory.mktemp("names")
    url = f"sqlite:///{folder / 'names.db'}"
    app = twores.build(load_entrypoints=False)
    on = web_views.current_period().start - timedelta(days=1)
    synthesize(app, url, businesses=60, cadres=20, area=COUNTY, on=on, folder=folder)
    store = open_store(app, url)
    system = twores.Scope.system("test setup")
    add_user(app, store, system, User("admin", "管理员", twores.Role.ADMIN), password=PASSWORD)
    add_user(
        app,
        store,
        system,
        User("county", "县食安办", twores.Role.OFFICE, COUNTY),
        password=PASSWORD,
    )
    web = create_app(
        app,
        store,
        secret="s",
        sign_in_throttle=SignInThrottle(per_client=10_000),
        freeze_heap=False,
    )
    yield {"app": app, "store": store, "web": web}
    store.close()


def _rename(client: TestClient[Any], code: str, name: str) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["区划代码", "区划名称", "上级区划代码", "层级"])
    sheet.append([code, name, COUNTY, "乡级"])
    buffer = io.BytesIO()
    book.save(buffer)
    answer = client.post(
        "/api/imports/areas",
        files={"file": ("areas.xlsx", buffer.getvalue())},
        headers=csrf(client),
    )
    assert answer.status_code == 201, answer.text


def test_an_area_s_name_never_breaks_its_export(small_county: dict[str, Any]) -> None:
    long_name = "潭下镇" + "（含原甘棠乡及灵川经济开发区托管片区）" * 5  # > 255 bytes, <= 100 chars
    with TestClient(small_county["web"]) as county:
        sign_in(county, "admin")
        _rename(county, TOWNSHIP, "大圩镇/高新区")
        _rename(county, "450323102", long_name)
        sign_in(county, "county")
        for code, fmt in [(TOWNSHIP, "xlsx"), (TOWNSHIP, "csv"), ("450323102", "csv")]:
            answer = county.get(f"/api/export.{fmt}", params={"kind": "businesses", "area": code})
            assert answer.status_code == 200, (code, fmt, answer.text)
            disposition = answer.headers["content-disposition"]
            found = re.fullmatch(
                r"attachment; filename=\"([ -~]+)\"; filename\*=UTF-8''(\S+)", disposition
            )
            assert found is not None, disposition
            fallback, encoded = found.groups()
            assert fallback == f"{code}-businesses.{fmt}"
            name = unquote(encoded)
            assert "/" not in name and name.endswith(f"-包保主体.{fmt}")
            assert len(name.encode()) <= 200
            if code == TOWNSHIP:
                assert name == f"大圩镇-高新区-包保主体.{fmt}"
            else:
                assert name.startswith("潭下镇")


def test_download_names_are_cleaned_and_fit() -> None:
    from twores_web.api import download_name

    assert download_name('a/b\\c:d*e?"f<g>h|i\x00j', ".csv") == "a-b-c-d-e--f-g-h-i-j.csv"
    assert download_name("..", ".xlsx") == "download.xlsx"
    fitted = download_name("县" * 300, ".xlsx")
    assert fitted.endswith(".xlsx") and len(fitted.encode()) <= 200


# --- 3. a value not among a parameter's choices --------------------------------------------


def test_a_kind_or_format_not_offered_is_refused_with_the_choices(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    wrong = client.get("/api/export.xlsx", params={"kind": "business"}).json()
    assert wrong["field"] == "kind" and wrong["value"] == "business"
    assert wrong["zh"] == (
        "请求参数无效：类型（kind）“business”不是可选值"
        "（可选：businesses、cadres、assignments、cadre-lists）"
    )
    assert wrong["en"] == (
        "invalid request: kind 'business' is not an allowed value "
        "(one of: businesses, cadres, assignments, cadre-lists)"
    )
    missing = client.get("/api/export.csv").json()
    assert missing["field"] == "kind"
    assert missing["zh"] == "请求参数无效：类型（kind）缺少必填项"
    assert missing["en"] == "invalid request: kind is required"
    pdf = client.post(
        "/api/bulletin", params={"area": TOWNSHIP, "format": "pdf"}, headers=csrf(client)
    ).json()
    assert "格式（format）“pdf”不是可选值（可选：docx、xlsx、md）" in pdf["zh"]
    assert "format 'pdf' is not an allowed value (one of: docx, xlsx, md)" in pdf["en"]


# --- 4. the upload size limit --------------------------------------------------------------


@pytest.fixture(scope="module")
def capped(web_db: dict[str, Any]) -> Any:
    """The shared county's app, taking request bodies of 64 KB at most."""
    return create_app(
        web_db["app"],
        web_db["store"],
        secret="test-secret",
        sign_in_throttle=SignInThrottle(per_client=10_000),
        freeze_heap=False,
        request_max_body_size=64 * 1024,
    )


def _big_ledger() -> bytes:
    return ("主体名称,许可证编号\n" + "某某餐饮店,JY1\n" * 5000).encode()  # about 100 KB


def test_an_upload_over_the_limit_says_the_limit(capped: Any) -> None:
    with TestClient(capped) as client:
        sign_in(client, "town")
        answer = client.post(
            "/api/imports/businesses",
            files={"file": ("ledger.csv", _big_ledger())},
            headers=csrf(client),
        )
        assert answer.status_code == 413
        body = answer.json()
        assert body["code"] == "too_large" and body["max_bytes"] == 64 * 1024
        assert "64 KB 上限" in body["zh"] and ".csv.gz" in body["zh"]
        assert "over the 64 KB limit" in body["en"]
        form = client.get("/imports")
        assert "64 KB" in form.text  # the form says the limit up front
        page = client.post(
            "/imports",
            files={"file": ("ledger.csv", _big_ledger())},
            data={"kind": "businesses", "_csrf_token": _form_token(client, "/imports")},
        )
        assert page.status_code == 413
        assert re.search(r'id="error"[^>]*>文件超过 64 KB 上限', page.text)
        assert 'id="import-form"' in page.text  # the import page, not an error page
        assert 'id="who"' in page.text  # still signed in
        squeezed = client.post(  # compressed as the message advises: read (its rows refused)
            "/api/imports/businesses",
            files={"file": ("ledger.csv.gz", gzip.compress(_big_ledger()))},
            headers=csrf(client),
        )
        assert squeezed.status_code == 422, squeezed.text
        assert {e["code"] for e in squeezed.json()["errors"]} == {"missing_column"}


def test_the_default_limit_takes_a_ledger_over_ten_megabytes(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    assert "128 MB" in client.get("/imports").text
    eleven_megabytes = b"x" * (11 * 1024 * 1024)
    answer = client.post(
        "/api/imports/areas",  # refused for its kind once read, never for its size
        files={"file": ("areas.csv", eleven_megabytes)},
        headers=csrf(client),
    )
    assert answer.status_code == 403, answer.text


def test_the_limit_must_be_a_positive_number_of_bytes(web_db: dict[str, Any]) -> None:
    for wrong in (0, -1, True):
        with pytest.raises(twores.InvalidValueError) as refused:
            create_app(web_db["app"], web_db["store"], request_max_body_size=wrong)
        assert refused.value.field == "request_max_body_size"


# --- 5. the import kinds offered ---------------------------------------------------------------


def test_an_office_is_offered_and_may_import_only_its_kinds(
    client: TestClient[Any], tmp_path: Path
) -> None:
    sign_in(client, "town")
    form = client.get("/imports").text
    offered = re.findall(r'<option value="([\w-]+)"', form)
    assert offered == ["businesses", "cadres", "assignments"]
    ledger = f"区划代码,区划名称,层级,上级代码\n{TOWNSHIP},大圩镇,乡级,{COUNTY}\n".encode()
    answer = client.post(
        "/api/imports/areas", files={"file": ("areas.csv", ledger)}, headers=csrf(client)
    )
    assert answer.status_code == 403, answer.text
    body = answer.json()
    assert body["code"] == "out_of_scope"
    assert "不能导入区划" in body["zh"] and "may not import areas" in body["en"]
    page = client.post(
        "/imports",
        files={"file": ("areas.csv", ledger)},
        data={"kind": "areas", "_csrf_token": _form_token(client, "/imports")},
    )
    assert page.status_code == 403 and "不能导入区划" in page.text


def test_an_administrator_is_offered_every_kind(client: TestClient[Any]) -> None:
    sign_in(client, "admin")
    offered = re.findall(r'<option value="([\w-]+)"', client.get("/imports").text)
    assert set(offered) == set(imports.KINDS) and "areas" in offered


def test_an_unknown_import_kind_names_the_choices(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    answer = client.post(
        "/api/imports/shops", files={"file": ("x.csv", b"a\n")}, headers=csrf(client)
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["field"] == "kind" and body["value"] == "shops"
    assert "可选：businesses、cadres、assignments、areas" in body["zh"]
