"""The import page of a refused file with more errors than it lists says so: "at least"
so many, and the note of what was left out first."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from tests.web.conftest import sign_in

from twores.services.sheets import report


def test_the_page_says_at_least_when_errors_were_left_out(
    client: TestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "MAX_LISTED_ERRORS", 2)
    sign_in(client, "town")
    rows = "".join(f"张{i},999999\n" for i in range(4))
    page = client.post(
        "/imports",
        data={"kind": "cadres"},
        files={"file": ("干部.csv", f"姓名,所属区划\n{rows}".encode())},
        headers={"x-csrftoken": client.cookies.get("csrftoken", "")},
    ).text

    assert "至少 2 处错误" in page
    assert "只列出前 2 处错误" in page
