"""Following "next page" reads on from the last key shown: every business once, in order."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.web.conftest import COUNTY, sign_in

import twores
from twores_web import pages


def _keys_listed(page: str) -> list[str]:
    table = page.split('id="businesses"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'href="/businesses/([^"]+)"', table)


def test_next_page_links_walk_every_business_once_in_key_order(
    client: TestClient[Any], web_db: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(client, "admin")
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        every = [b.key for b in uow.businesses.stream(within=COUNTY)]
    monkeypatch.setattr(pages, "AREA_PAGE", 7)
    seen: list[str] = []
    url = f"/areas/{COUNTY}"
    for _ in range(len(every)):
        page = client.get(url).text
        keys = _keys_listed(page)
        seen += keys
        following = re.search(r'href="(/areas/[^"]+)" id="next-page"', page)
        if following is None:
            break
        url = unescape(following.group(1))
        assert f"after={keys[-1]}" in url  # read on from the last key shown
    assert seen == every and len(every) > 7


def test_the_api_pages_on_after_a_key(client: TestClient[Any], web_db: dict[str, Any]) -> None:
    sign_in(client, "admin")
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        every = [b.key for b in uow.businesses.stream(within=COUNTY)]
    params: dict[str, Any] = {"area": COUNTY, "limit": 3, "after": every[4]}
    listed = client.get("/api/businesses", params=params).json()
    shown = [b["licence_no"] or b["uscc"] for b in listed["businesses"]]
    assert shown == every[5:8] and listed["more"]
    last = client.get("/api/businesses", params={**params, "after": every[-2]}).json()
    assert [b["licence_no"] or b["uscc"] for b in last["businesses"]] == every[-1:]
    assert not last["more"]
