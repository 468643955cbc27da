"""Fixes from the walkthrough as county, township, cadre and province users (rev2): the
field a bad deadline names, the refused import's error report, the search count, a
damaged upload, the bulletin's status, refusals of ledger steps, the CSRF refusal page,
the idle timeout, the unmasked export, the KPIs' direction and the ledger's total."""

from __future__ import annotations

import base64
import csv
import io
import re
import time
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from litestar.testing import TestClient
from tests.web.conftest import COUNTY, PASSWORD, TOWNSHIP, sign_in

import twores
from twores.services import problems
from twores.services.sheets.report import HEADERS
from twores.services.sign_in import SignInThrottle
from twores_web import create_app


def _token(client: TestClient[Any], path: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def _headers(client: TestClient[Any]) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("csrftoken", "")}


def _flash(client: TestClient[Any], path: str) -> str:
    page = client.get(path).text
    assert 'id="flash"' in page, page[:500]
    return page.split('id="flash"', 1)[1].split("</p>", 1)[0]


def _open_problem(web_db: dict[str, Any], text: str = "冷藏柜温度超标") -> twores.Problem:
    store, system = web_db["store"], twores.Scope.system()
    with store.unit_of_work(system) as uow:
        business = next(iter(uow.businesses.stream(within=TOWNSHIP)))
    new = problems.NewProblem(business.key, text, "town", twores.today())
    (opened,) = problems.open_problems(web_db["app"], store, system, [new])
    return opened


# --- 1. a bad deadline names the deadline ------------------------------------------------------


def test_a_bad_deadline_is_reported_as_the_deadline_not_the_visit_date(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    opened = _open_problem(web_db, "灭蝇灯损坏")
    sign_in(client, "town")
    for lang, said, not_said in (
        ("zh", "整改期限", "督导日期"),
        ("en", "deadline", "visit date"),
    ):
        client.cookies.set("lang", lang)
        step = client.post(
            "/problems/transition",
            data={
                "problem_id": opened.id,
                "action": "remind",
                "deadline": "12/30/2026",
                "back": "/problems",
            },
            headers=_headers(client),
            follow_redirects=False,
        )
        assert step.status_code in (302, 303)
        flashed = _flash(client, "/problems")
        assert said in flashed and "12/30/2026" in flashed, flashed
        assert not_said not in flashed and "visited_on" not in flashed


# --- 3. a refused import offers its error report -----------------------------------------------


def test_a_refused_import_offers_its_error_report_as_a_csv_download(
    client: TestClient[Any],
) -> None:
    sign_in(client, "town")
    bad = "许可证编号,主体名称,业态,区划代码\nJY1,,餐饮,999\nJY2,店,不存在的业态,450323101\n"
    answer = client.post(
        "/imports",
        data={"kind": "businesses", "_csrf_token": _token(client, "/imports")},
        files={"file": ("台账 1.csv", bad.encode(), "text/csv")},
    )
    assert answer.status_code == 422, answer.text[:500]
    link = re.search(r'<a id="error-report" href="([^"]+)" download="([^"]+)"', answer.text)
    assert link is not None, answer.text[-2000:]
    href, name = link.groups()
    assert name == "台账 1.errors.csv"
    prefix = "data:text/csv;charset=utf-8;base64,"
    assert href.startswith(prefix)
    content = base64.b64decode(href[len(prefix) :])
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == HEADERS
    table = answer.text.split('id="row-errors"', 1)[1].split("</table>", 1)[0]
    assert len(rows) - 1 == table.count("<tr>") - 1 > 0  # every error listed on the page
    assert {r[0] for r in rows[1:]} <= {"0", "1", "2", "3"}


# --- 4. the search count -----------------------------------------------------------------------


def test_a_search_says_how_many_match_not_the_page_size(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        every = list(uow.businesses.stream(within=COUNTY))
    assert len(every) > 100
    wanted = "JY" if all("JY" in b.key.upper() for b in every) else None
    if wanted is None:  # a fragment most names share
        wanted = max({b.name[-1] for b in every}, key=lambda c: sum(c in b.name for b in every))
    sign_in(client, "admin")
    first = client.get(f"/areas/{COUNTY}", params={"q": wanted}).text
    found = first.split('id="found-count">', 1)[1].split("</span>", 1)[0]
    assert found == "超过 100", found  # not "100": more match than the page shows
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        matching = len(uow.businesses.search(wanted, within=COUNTY, limit=1000))
    assert matching > 100
    last_start = (matching - 1) // 100 * 100
    last = client.get(f"/areas/{COUNTY}", params={"q": wanted, "offset": last_start}).text
    assert last.split('id="found-count">', 1)[1].split("</span>", 1)[0] == str(matching)
    assert f"共 {matching} 个" in last.split('id="pager"', 1)[1].split("</nav>", 1)[0]
    english = client.get(f"/areas/{COUNTY}", params={"q": wanted, "lang": "en"}).text
    assert english.split('id="found-count">', 1)[1].split("</span>", 1)[0] == "100+"


# --- 5. a damaged workbook keeps the form ------------------------------------------------------


def test_a_damaged_workbook_returns_the_import_form_with_the_kind_kept(
    client: TestClient[Any],
) -> None:
    sign_in(client, "town")
    answer = client.post(
        "/imports",
        data={"kind": "cadres", "_csrf_token": _token(client, "/imports")},
        files={"file": ("a.xlsx", b"not a zip", "application/octet-stream")},
    )
    assert answer.status_code == 400
    assert 'id="import-form"' in answer.text
    error = answer.text.split('id="error"', 1)[1].split("</p>", 1)[0]
    assert "a.xlsx" in error and "Excel" in error
    assert re.search(r'<option value="cadres"\s+selected>', answer.text)


# --- 9. a bulletin download answers 200 --------------------------------------------------------


def test_a_bulletin_download_answers_200_not_201(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    issued = client.post(
        "/bulletin",
        data={"area": TOWNSHIP, "format": "md", "_csrf_token": _token(client, "/bulletin")},
    )
    assert issued.status_code == 200, issued.text[:300]
    assert "attachment" in issued.headers["content-disposition"]


# --- 11. an office-only step tried by a cadre ---------------------------------------------------


def test_an_office_step_tried_by_a_cadre_returns_to_the_ledger_saying_why(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    opened = _open_problem(web_db, "消毒记录缺失")
    sign_in(client, "cadre")
    back = "/problems?status=" + opened.status.value
    step = client.post(
        "/problems/transition",
        data={
            "problem_id": opened.id,
            "action": "remind",
            "deadline": (twores.today() + timedelta(days=30)).isoformat(),
            "back": back,
        },
        headers=_headers(client),
        follow_redirects=False,
    )
    assert step.status_code in (302, 303), step.text[:300]
    assert step.headers["location"] == back  # the filters kept
    flashed = _flash(client, back)
    assert "发提醒函" in flashed and opened.id in flashed


# --- 12. the CSRF refusal page --------------------------------------------------------------


def test_a_form_without_a_valid_token_says_it_expired_and_keeps_the_navigation(
    client: TestClient[Any],
) -> None:
    sign_in(client, "town")
    client.get("/dashboard")  # the user remembered, then forgotten: looked up again
    time.sleep(2.1)  # past the user cache's few seconds
    refused = client.post("/problems/transition", data={"problem_id": "x", "action": "remind"})
    assert refused.status_code == 403
    assert "表单已过期或无效，请刷新页面后重试" in refused.text
    assert "无权操作" not in refused.text
    assert 'id="who"' in refused.text and "大圩镇食安办" in refused.text  # the navigation
    english = client.post("/problems/transition?lang=en", data={"problem_id": "x"})
    assert "The form has expired or is invalid" in english.text


def test_a_stale_sign_in_form_returns_to_sign_in_saying_it_expired(
    client: TestClient[Any],
) -> None:
    client.get("/login")
    stale = client.post(
        "/login",
        data={"username": "town", "password": PASSWORD, "_csrf_token": "stale"},
        follow_redirects=False,
    )
    assert stale.status_code in (302, 303)
    assert stale.headers["location"].startswith("/login")
    again = client.get(stale.headers["location"])
    assert again.status_code == 200 and 'id="sign-in"' in again.text
    assert "表单已过期或无效，请刷新页面后重试" in again.text and "无权操作" not in again.text


# --- 13. the idle timeout ------------------------------------------------------------------


def test_a_session_lasts_eight_hours_unused_by_default(client: TestClient[Any]) -> None:
    signed = sign_in(client, "town")
    cookies = [c for c in signed.headers.get_list("set-cookie") if c.startswith("session=")]
    assert cookies and "Max-Age=28800" in cookies[-1], cookies


def test_an_idle_session_ends_and_a_form_posted_after_returns_to_its_page(
    web_db: dict[str, Any],
) -> None:
    web = create_app(
        web_db["app"],
        web_db["store"],
        secret="test-secret",
        sign_in_throttle=SignInThrottle(per_client=10_000),
        freeze_heap=False,
        # 2, not 1: the test client's cookie jar counts Max-Age from the whole second, so
        # a 1 s cookie set just before a second turns can be gone a millisecond later
        session_idle_timeout=2,
    )
    with TestClient(web) as client:
        sign_in(client, "town")
        assert client.get("/dashboard", follow_redirects=False).status_code == 200
        token = _token(client, "/problems")
        time.sleep(3.2)  # unused longer than the timeout
        after = client.post(
            "/problems/transition",
            data={"problem_id": "x", "action": "remind", "_csrf_token": token},
            headers={"referer": "http://testserver.local/problems?status=open"},
            follow_redirects=False,
        )
        assert after.status_code in (302, 303)
        assert unquote(after.headers["location"]) == "/login?next=/problems?status=open"
        page = client.get("/dashboard", follow_redirects=False)
        assert page.status_code in (302, 303) and page.headers["location"].startswith("/login")
    with pytest.raises(twores.InvalidValueError, match="session_idle_timeout"):
        create_app(web_db["app"], web_db["store"], session_idle_timeout=0, freeze_heap=False)


# --- 14. the unmasked export -------------------------------------------------------------------


def test_the_unmasked_export_is_a_form_post_with_a_name_of_its_own(
    client: TestClient[Any],
) -> None:
    sign_in(client, "town")
    page = client.get(f"/areas/{TOWNSHIP}").text
    exports = page.split('id="exports"', 1)[1].split("</p>", 1)[0]
    assert "unmask=true" not in exports  # no link a crawler follows
    assert 'method="post" action="/exports"' in exports and "_csrf_token" in exports
    masked = client.get("/api/export.xlsx", params={"kind": "businesses", "area": TOWNSHIP})
    token = _token(client, f"/areas/{TOWNSHIP}")
    unmasked = client.post(
        "/exports", data={"kind": "businesses", "area": TOWNSHIP, "_csrf_token": token}
    )
    assert unmasked.status_code == 200, unmasked.text[:300]
    masked_name = masked.headers["content-disposition"]
    name = unmasked.headers["content-disposition"]
    assert "unmasked" in name and "unmasked" not in masked_name
    assert unquote(name.split("filename*=UTF-8''", 1)[1]).endswith("-包保主体-未脱敏.xlsx")
    assert client.post("/exports", data={"kind": "businesses"}).status_code == 403  # no token
    api = client.get(
        "/api/export.xlsx", params={"kind": "businesses", "area": TOWNSHIP, "unmask": "true"}
    )
    assert api.status_code == 200  # the documented API call still works
    client.post("/logout", headers=_headers(client))
    sign_in(client, "viewer")
    refused = client.post(
        "/exports",
        data={
            "kind": "businesses",
            "area": TOWNSHIP,
            "_csrf_token": _token(client, f"/areas/{TOWNSHIP}"),
        },
    )
    assert refused.status_code == 403


# --- 15. a KPI where lower is better says so ---------------------------------------------------


def test_a_kpi_where_lower_is_better_says_so_on_its_tile_and_chart(
    client: TestClient[Any],
) -> None:
    sign_in(client, "town")
    specs = client.get("/api/dashboard").json()["specs"]
    lower = [s["name"] for s in specs if s["direction"] == "lower"]
    higher = [s["name"] for s in specs if s["direction"] == "higher"]
    assert lower and higher
    page = client.get("/dashboard").text
    for name in lower:
        tile = page.split(f'id="tile-{name}"', 1)[1].split('class="counts"', 1)[0]
        assert "越低越好" in tile
    for name in higher:
        tile = page.split(f'id="tile-{name}"', 1)[1].split('class="counts"', 1)[0]
        assert "越低越好" not in tile
    charts = page.split('id="charts"', 1)[1]
    assert "越低越好" in charts
    english = client.get("/dashboard", params={"lang": "en"}).text
    assert "lower is better" in english.split('id="tiles"', 1)[1]


# --- 16. the ledger's total and its area filter ------------------------------------------------


def test_the_ledger_says_how_many_and_filters_by_an_area_chosen_by_name(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "town")
    every = client.get("/api/problems", params={"limit": 1000}).json()
    assert 0 < len(every) < 1000
    page = client.get("/problems").text
    assert f"共 {len(every)} 条" in page.split('id="pager-top"', 1)[1].split("</nav>", 1)[0]
    select = page.split('<select name="area"', 1)[1].split("</select>", 1)[0]
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        hierarchy = uow.areas.hierarchy()
    village = hierarchy.children(TOWNSHIP)[0]
    assert f'<option value="{TOWNSHIP}"' in select and hierarchy[TOWNSHIP].name in select
    assert f'<option value="{village.code}"' in select and village.name in select
    by_code = client.get("/api/problems", params={"area": village.code, "limit": 1000}).json()
    named = client.get("/problems", params={"area": village.name})
    assert named.status_code == 200
    assert f"共 {len(by_code)} 条" in named.text or (not by_code and "暂无" in named.text)
    chosen = named.text.split('<select name="area"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{village.code}" selected>' in chosen
    assert client.get("/problems", params={"area": "4503"}).status_code == 403  # above
