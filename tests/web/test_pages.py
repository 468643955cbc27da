"""The HTML pages: sign-in and its way back, error pages, and what a cadre may open."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from litestar.testing import TestClient
from tests.web.conftest import COUNTY, OTHER_TOWNSHIP, PASSWORD, TOWNSHIP, sign_in

import twores
from twores.services import problems, web_views


def _form_sign_in(
    client: TestClient[Any], username: str, password: str, next: str = "", under: str = ""
) -> Any:
    """Sign in through the page's form (``under``: the path the app is mounted at)."""
    form = client.get(f"{under}/login", params={"next": next} if next else None).text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form)
    assert token is not None
    data = {"username": username, "password": password, "_csrf_token": token.group(1)}
    if next:
        data["next"] = next
    return client.post(f"{under}/login", data=data, follow_redirects=False)


def test_a_wrong_password_shows_the_sign_in_page_again(client: TestClient[Any]) -> None:
    wrong = _form_sign_in(client, "town", "not-the-password")
    assert wrong.status_code == 401 and wrong.headers["content-type"].startswith("text/html")
    assert "用户名或密码错误" in wrong.text and "<form" in wrong.text


def test_signing_in_returns_to_the_page_asked_for(client: TestClient[Any]) -> None:
    asked = client.get("/problems", params={"status": "closed"}, follow_redirects=False)
    assert asked.status_code in (302, 303)
    assert asked.headers["location"] == "/login?next=/problems%3Fstatus%3Dclosed"
    back = _form_sign_in(client, "town", PASSWORD, next="/problems?status=closed")
    assert back.headers["location"] == "/problems?status=closed"
    home = _form_sign_in(client, "cadre", PASSWORD)
    assert home.headers["location"] == "/"  # a cadre's home is their desk


def test_no_page_or_answer_is_kept_by_the_browser(client: TestClient[Any]) -> None:
    """Pages show personal data: Back after signing out on a shared computer shows nothing."""
    sign_in(client, "town")
    for path, status in (
        ("/dashboard", 200),
        (f"/areas/{TOWNSHIP}", 200),
        ("/problems", 200),
        ("/api/me", 200),
        ("/areas/450323", 403),  # error pages show the user's name too
        ("/api/areas/450323", 403),
        ("/api/businesses?limit=0", 400),
    ):
        answer = client.get(path)
        assert answer.status_code == status, path
        assert answer.headers["cache-control"] == "no-store", path
        assert answer.headers["x-frame-options"] == "DENY", path  # no site frames the forms
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], path
        assert answer.headers["x-content-type-options"] == "nosniff", path


def test_cookies_are_https_only_when_asked(web_db: dict[str, Any]) -> None:
    from litestar.testing import TestClient

    from twores_web import create_app

    asgi = create_app(web_db["app"], web_db["store"], secure_cookies=True, freeze_heap=False)
    with TestClient(asgi, base_url="https://testserver.local") as secure:
        login = secure.get("/login")
        assert all("secure" in c.lower() for c in login.headers.get_list("set-cookie"))
        assert login.headers.get_list("set-cookie")  # the CSRF cookie at least


def test_an_error_page_keeps_the_navigation(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    missing = client.get("/areas/999999")
    assert missing.status_code in (400, 404) and 'id="logout"' in missing.text


def test_a_cadre_opens_only_their_own_desk_and_keeps_no_ledger(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "cadre")
    assert client.get("/cadre").status_code == 200
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        other = next(c for c in uow.cadres.stream(within=TOWNSHIP) if c.id != web_db["cadre"].id)
    assert client.get("/cadre", params={"cadre": other.id}).status_code == 403
    assert client.get(f"/api/cadres/{other.id}").status_code == 403
    page = client.get("/dashboard").text
    assert 'href="/imports"' not in page and 'href="/bulletin"' not in page
    assert client.get("/imports").status_code == 403  # the forms too, not only the links
    assert client.get("/bulletin").status_code == 403
    headers = {"x-csrftoken": client.cookies.get("csrftoken", "")}
    upload = client.post(
        "/api/imports/cadres", files={"file": ("干部.csv", b"a,b\n")}, headers=headers
    )
    assert upload.status_code == 403
    issued = client.post(
        "/bulletin", data={"area": TOWNSHIP, "period": "2026Q1", "format": "md"}, headers=headers
    )
    assert issued.status_code == 403  # a bulletin is an office's: a run later ones compare with


def test_a_cadre_never_takes_an_offices_ledger_step(web_db: dict[str, Any]) -> None:
    cadre = twores.Scope("包保干部", twores.Role.CADRE, TOWNSHIP)
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        found = next(iter(uow.problems.stream(within=TOWNSHIP)))
    with pytest.raises(twores.ScopeError) as error:
        problems.transition_problem(
            web_db["app"], web_db["store"], cadre, found.id, twores.Action.REFER, actor="x"
        )
    assert "移交立案" in error.value.message_zh
    with pytest.raises(twores.ScopeError):  # nor through the overdue escalation
        problems.escalate_overdue(web_db["app"], web_db["store"], cadre)


def test_a_read_only_user_is_refused_every_ledger_step_before_its_state_is_asked(
    web_db: dict[str, Any],
) -> None:
    viewer = twores.Scope("只读", twores.Role.READ_ONLY, TOWNSHIP)
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        found = next(iter(uow.problems.stream(within=TOWNSHIP)))
    for action in twores.Action:  # legal in the problem's state or not: the role decides first
        with pytest.raises(twores.ScopeError, match="只读"):
            problems.transition_problem(
                web_db["app"], web_db["store"], viewer, found.id, action, actor="只读"
            )


def test_the_nationwide_dashboard_sums_its_provinces(client: TestClient[Any]) -> None:
    sign_in(client, "admin")
    page = client.get("/dashboard").text
    tile = page.split('id="tile-coverage"', 1)[1].split("</div>\n  </div>", 1)[0]
    numbers = re.findall(r'<span class="(?:num|den)">(\d+)</span>', tile)
    assert len(numbers) == 2 and int(numbers[1]) > 0 and "%" in tile


def test_the_language_switch_keeps_the_query(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    page = client.get("/problems", params={"status": "closed"}).text
    assert 'href="/lang/en?next=/problems%3Fstatus%3Dclosed"' in page


def test_the_problem_ledger_pages_by_offset(client: TestClient[Any]) -> None:
    sign_in(client, "town")
    every = client.get("/api/problems", params={"limit": 1000}).json()
    assert len(every) >= 2
    page = client.get("/api/problems", params={"limit": 1, "offset": 1}).json()
    assert [p["id"] for p in page] == [every[1]["id"]]


def test_the_ledger_page_pages_filters_overdue_and_keeps_its_filters_after_a_step(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "town")
    every = client.get("/api/problems", params={"limit": 1000}).json()
    second = client.get("/problems", params={"offset": 1}).text
    assert "第2–" in second and 'offset=0">上一页' in second
    beyond = client.get("/problems", params={"offset": 100_000}).text
    assert "没有这一页" in beyond and "上一页" not in beyond  # no way back to another empty page
    assert every[0]["id"] not in second and every[1]["id"] in second
    overdue = client.get("/problems", params={"overdue": "1"}).text
    rows = re.findall(r"<tr( class=\"overdue\")?><td>\d{4}-", overdue)
    assert rows and all(rows)  # every row shown is overdue, and marked so
    store, system = web_db["store"], twores.Scope.system()
    with store.unit_of_work(system) as uow:
        business = next(iter(uow.businesses.stream(within=TOWNSHIP)))
    new = problems.NewProblem(business.key, "冷藏柜温度超标", "town", twores.today())
    (open_,) = problems.open_problems(web_db["app"], store, system, [new])
    back = "/problems?severity=" + open_.severity.value
    step = client.post(
        "/problems/transition",
        data={
            "problem_id": open_.id,
            "action": "remind",
            "deadline": (twores.today() + timedelta(days=30)).isoformat(),
            "back": back,
        },
        headers={"x-csrftoken": client.cookies.get("csrftoken", "")},
        follow_redirects=False,
    )
    assert step.status_code in (302, 303), step.text
    assert step.headers["location"] == back
    after = client.get(back).text
    assert 'id="flash"' in after and "发提醒函" in after.split('id="flash"', 1)[1][:200]
    assert 'id="flash"' not in client.get(back).text  # shown once
    refused = client.post(
        "/problems/transition",
        data={"problem_id": open_.id, "action": "verify", "back": back},  # nothing to verify
        headers={"x-csrftoken": client.cookies.get("csrftoken", "")},
        follow_redirects=False,
    )
    assert refused.headers["location"] == back  # the same list, filters kept
    said = client.get(back).text
    flashed = said.split('<p class="error" id="flash" role="status">', 1)[1].split("</p>")[0]
    assert flashed.count(open_.id) == 1 and "不能" in flashed  # which problem, once, and why
    assert client.get("/problems", params={"area": "4503"}).status_code == 403  # above


def test_a_refused_visit_shows_why_on_the_desk_with_the_form_as_filled_in(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "cadre")
    desk = client.get("/cadre").text
    key = re.search(r'<option value="([^"]+)"', desk.split('id="business_key"', 1)[1])
    assert key is not None
    future = (twores.today() + timedelta(days=3)).isoformat()
    refused = client.post(
        "/cadre/visits",
        data={"business_key": key[1], "visited_on": future, "findings": "后厨地面油污"},
        headers={"x-csrftoken": client.cookies.get("csrftoken", "")},
    )
    assert refused.status_code == 400 and refused.headers["content-type"].startswith("text/html")
    assert 'id="error"' in refused.text and 'id="visit-form"' in refused.text
    assert ">后厨地面油污</textarea>" in refused.text and f'value="{future}"' in refused.text


def test_a_desk_shows_the_period_asked_for_and_a_viewer_gets_no_visit_form(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "viewer")
    cadre = web_db["cadre"].id
    earlier = client.get("/cadre", params={"cadre": cadre, "period": "2026Q1"}).text
    assert "2026年第1季度" in earlier and 'id="visit-form"' not in earlier
    assert "我包保的主体" not in earlier and "包保的主体" in earlier


def test_an_area_page_pages_both_ways_and_names_the_areas(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "town")
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        every = list(uow.businesses.stream(within=TOWNSHIP))
        village = uow.areas.hierarchy()[every[1].area_code]
    later = client.get(f"/areas/{TOWNSHIP}", params={"offset": 1}).text
    table = later.split('id="businesses"', 1)[1].split("</table>", 1)[0]
    assert every[0].name not in table and every[1].name in table
    assert f">{village.name}</td>" in table  # the village by name, its code on hover
    shown = table.count("<tr>") - 1
    assert "上一页" in later and f"第 2–{shown + 1} 个，共 {len(every)} 个" in later
    beyond = client.get(f"/areas/{TOWNSHIP}", params={"offset": 100_000}).text
    assert "没有这一页" in beyond and f"共 {len(every)} 个" not in beyond
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        cadres = sum(1 for _ in uow.cadres.stream(within=TOWNSHIP))
    found = client.get(f"/areas/{TOWNSHIP}", params={"q": every[0].name[:2], "cadre_offset": 1})
    pager = found.text.split('id="cadre-pager"', 1)[1].split("</nav>", 1)[0]
    assert f"q={quote(every[0].name[:2])}" in pager  # paging the cadres keeps the search
    empty = client.get(f"/areas/{TOWNSHIP}", params={"cadre_offset": cadres}).text
    assert "没有这一页" in empty.split('id="cadre-pager"', 1)[1].split("</nav>", 1)[0]


def test_an_area_with_one_child_ranks_nothing_and_error_pages_say_what_went_wrong(
    client: TestClient[Any],
) -> None:
    sign_in(client, "admin")
    county = client.get("/dashboard", params={"area": "450323"}).text  # its townships
    assert 'id="ranking"' in county
    alone = client.get("/dashboard", params={"area": "4503"}).text  # 灵川县 alone has data
    assert 'id="ranking"' not in alone
    missing = client.get("/areas/999999999")  # a page of no area: 404, saying why
    assert missing.status_code == 404
    assert "区划不存在" in missing.text


def test_an_area_page_lists_its_cadres_with_their_desks_and_masked_phones(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "viewer")
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        first = next(uow.cadres.stream(within=TOWNSHIP))
        total = uow.cadres.count(within=TOWNSHIP)
    page = client.get(f"/areas/{TOWNSHIP}").text
    listed = page.split('id="cadres"', 1)[1].split("</table>", 1)[0]
    assert f"（{total}）" in page.split('id="cadres"', 1)[0].rsplit("<h2>", 1)[1]
    assert f'href="/cadre?cadre={first.id}">{first.name}</a>' in listed
    assert first.phone and first.phone not in listed and first.phone[-4:] in listed  # masked
    row = listed.split(f"{first.name}</a>", 1)[1].split("</tr>", 1)[0]
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        named = web_db["app"].plugins.area_label(uow.areas.get(first.area_code)).value.zh
    assert f"<td>{named}级</td>" in row  # as the desk and the letter name it (镇级, not 乡级)


def test_a_business_held_by_a_cadre_above_the_township_says_so(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "town")
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        cadres = {c.id: c for c in uow.cadres.stream()}
        held = next(
            a
            for a in uow.assignments.stream(within=TOWNSHIP)
            if not cadres[a.cadre_id].area_code.startswith(TOWNSHIP)
        )
    page = client.get(f"/businesses/{held.business_key}").text
    assert f"上级干部 {held.cadre_id}" in page  # not a bare code, nor the cadre's record


def test_the_reporter_is_not_offered_the_verifiers_step() -> None:
    problem = twores.Problem(
        id="P1",
        business_key="JY1",
        area_code=TOWNSHIP,
        source=twores.ProblemSource.VISIT,
        description="过期食品",
        severity=twores.Severity.MINOR,
        found_on=twores.today(),
        reporter="C1",
        status=twores.ProblemStatus.SUBMITTED,
    )
    offered = web_views.next_actions(problem, twores.Role.OFFICE, actor="C1")
    assert twores.Action.VERIFY not in offered
    assert twores.Action.VERIFY in web_views.next_actions(problem, twores.Role.OFFICE, "O1")


def test_a_business_page_names_cadres_and_says_when_a_list_is_empty(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "town")
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        quiet = next(
            b
            for b in uow.businesses.stream(within=TOWNSHIP)
            if not list(uow.problems.stream(business_key=b.key))
        )
    page = client.get(f"/businesses/{quiet.key}").text
    problems_table = page.split('id="problems"', 1)[1]
    assert "暂无" in problems_table
    visits = page.split('id="visits"', 1)[1].split("</table>", 1)[0]
    assert "C450323" not in visits  # cadres by name, not by id


def test_the_problem_ledger_names_businesses(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "town")
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        problem = next(iter(uow.problems.stream(within=TOWNSHIP)))
        name = uow.businesses.get(problem.business_key).name  # type: ignore[union-attr]
    assert name in client.get("/problems").text


def test_the_pages_work_mounted_under_a_path_in_a_host_app(web_db: dict[str, Any]) -> None:
    from litestar import Litestar, asgi
    from litestar.types import Receive, Scope, Send

    from twores_web import create_app

    inner = create_app(web_db["app"], web_db["store"], secret="s", base_path="/twores")

    @asgi("/twores", is_mount=True, copy_scope=True)
    async def mounted(scope: Scope, receive: Receive, send: Send) -> None:
        await inner(scope, receive, send)

    with TestClient(Litestar([mounted])) as client:
        away = client.get("/twores/dashboard", follow_redirects=False)
        assert away.headers["location"] == "/twores/login?next=/dashboard"
        form = client.get("/twores/login").text
        assert 'action="/twores/login"' in form and 'action="/login"' not in form
        signed = _form_sign_in(client, "town", PASSWORD, "/problems", under="/twores")
        assert signed.headers["location"] == "/twores/problems"
        page = client.get("/twores/problems").text
        assert 'href="/twores/dashboard"' in page and 'href="/dashboard"' not in page
        board = client.get("/twores/dashboard", params={"area": "450323"}).text
        assert 'href="/twores/areas/' in board and 'href="/areas/' not in board
        assert 'action="/dashboard"' not in board


def test_an_area_page_finds_businesses_by_part_of_a_name_or_licence(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "town")
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        some = list(uow.businesses.stream(within=TOWNSHIP))[3]
        common = sum(1 for b in uow.businesses.stream(within=COUNTY) if "JY" in b.key)
    found = client.get(f"/areas/{TOWNSHIP}", params={"q": some.key[-7:].lower()}).text
    table = found.split('id="businesses"', 1)[1].split("</table>", 1)[0]
    assert some.name in table and not re.search(r"\?q=[^\"]*&offset=", found)  # one page
    none = client.get(f"/areas/{TOWNSHIP}", params={"q": "没有这样的主体"}).text
    assert 'id="none-found"' in none
    api = client.get("/api/businesses", params={"area": TOWNSHIP, "q": some.name}).json()
    assert some.name in [b["name"] for b in api["businesses"]]
    outside = client.get("/api/businesses", params={"area": OTHER_TOWNSHIP, "q": some.name})
    assert outside.status_code == 403
    assert common > 100  # more match than a page shows: the next page follows on


def _keys_listed(page: str) -> list[str]:
    table = page.split('id="businesses"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/businesses/([^"]+)">', table)


def test_search_results_page_on_in_the_page_and_the_api(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "admin")
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        matching = [b.key for b in uow.businesses.stream(within=COUNTY) if "JY" in b.key]
    first = client.get(f"/areas/{COUNTY}", params={"q": "jy"}).text
    following = re.search(r'href="/areas/\d+\?q=jy&offset=(\d+)&cadre_offset=0"', first)
    assert following is not None and following.group(1) == "100"
    second = client.get(f"/areas/{COUNTY}", params={"q": "jy", "offset": 100}).text
    assert _keys_listed(first) + _keys_listed(second) == matching[:200]
    assert "上一页" in second
    pages = [
        client.get("/api/businesses", params={"area": COUNTY, "q": "jy", "offset": o, "limit": 50})
        for o in (0, 50)
    ]
    keys = [b["licence_no"] or b["uscc"] for page in pages for b in page.json()["businesses"]]
    assert keys == matching[:100] and pages[0].json()["more"]
    listed = client.get("/api/businesses", params={"area": COUNTY, "limit": 2}).json()
    last = client.get(
        "/api/businesses", params={"area": COUNTY, "limit": 2, "offset": listed["total"] - 2}
    ).json()
    assert listed["more"] and not last["more"]  # the list says so too


def test_the_pages_work_under_an_asgi_root_path(web_db: dict[str, Any]) -> None:
    """A router's Mount or ``uvicorn --root-path`` sets root_path: links, redirects and
    the API's JSON errors follow it without a base_path of their own."""
    from twores_web import create_app

    app = create_app(web_db["app"], web_db["store"], secret="s")
    with TestClient(app, root_path="/tw") as client:
        away = client.get("/tw/problems", params={"x": "1"}, follow_redirects=False)
        assert away.headers["location"] == "/tw/login?next=/problems%3Fx%3D1"
        assert client.get("/tw/api/me").status_code == 401  # JSON, not the sign-in page
        for missing in (client.get("/tw/api/nope"), client.get("/tw/api/visits")):
            assert missing.status_code in (404, 405)
            assert missing.headers["content-type"].startswith("application/json")
        signed = _form_sign_in(client, "town", PASSWORD, "/problems?x=1", under="/tw")
        assert signed.headers["location"] == "/tw/problems?x=1"
        page = client.get("/tw/problems", params={"severity": "minor"}).text
        assert 'name="back" value="/problems?severity=minor"' in page or "暂无" in page
        assert 'href="/tw/lang/en?next=/problems%3Fseverity%3Dminor"' in page


def test_a_cadre_is_offered_steps_only_for_the_businesses_they_hold(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    import re

    cadre = web_db["cadre"]
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        held = {
            a.business_key
            for a in uow.assignments.stream(cadre_id=cadre.id, active_on=twores.today())
        }
        problems = {p.id: p for p in uow.problems.stream(within=TOWNSHIP)}
    assert any(p.business_key not in held for p in problems.values())  # a colleague's
    sign_in(client, "cadre")
    ledger = client.get("/problems").text
    offered = set(re.findall(r'name="problem_id" value="([^"]+)"', ledger))
    assert all(problems[i].business_key in held for i in offered)


def test_the_import_page_keeps_the_kind_chosen_and_says_a_file_came_before(
    client: TestClient[Any],
) -> None:
    sign_in(client, "town")
    token = {"x-csrftoken": client.cookies.get("csrftoken", "")}

    def upload(name: str, text: str) -> str:
        answer = client.post(
            "/imports",
            data={"kind": "cadres"},
            files={"file": (name, text.encode("utf-8"))},
            headers=token,
        )
        return answer.text

    refused = upload("干部.csv", "姓名,所属区划\n张三,999999\n")
    assert 'id="row-errors"' in refused
    assert '<option value="cadres" selected>' in refused  # the kind chosen, kept
    empty = "干部编号,姓名,职务,层级,所属区划\n"
    assert "此文件此前已导入过" not in upload("空.csv", empty)
    assert "此文件此前已导入过" in upload("空.csv", empty)
