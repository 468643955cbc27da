"""The JSON API refuses a ledger holding an Excel error cell (#N/A) with its row error."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient
from openpyxl import Workbook
from tests.web.conftest import TOWNSHIP, sign_in


def test_an_error_cell_is_a_row_error_in_the_json_answer(
    client: TestClient[Any], tmp_path: Any
) -> None:
    sign_in(client, "town")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["主体名称", "许可证编号", "所属区划", "业态", "经营状态"])
    sheet.append(["错误值店", "JY14503230099001", TOWNSHIP + "001", "食品销售", "#N/A"])
    ledger = tmp_path / "台账.xlsx"
    workbook.save(ledger)
    with ledger.open("rb") as stream:
        answer = client.post(
            "/api/imports/businesses",
            files={"file": ("台账.xlsx", stream)},
            headers={"x-csrftoken": client.cookies.get("csrftoken", "")},
        )
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert [(e["row"], e["column"], e["value"], e["code"]) for e in errors] == [
        (2, "经营状态", "#N/A", "formula_error")
    ]
