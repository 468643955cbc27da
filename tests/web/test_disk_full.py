"""A full disk on the server while an upload is stored: a 507 saying so, nothing imported."""

from __future__ import annotations

import errno
import shutil
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.web.conftest import TOWNSHIP, sign_in
from tests.web.test_api import csrf

import twores


def test_an_upload_on_a_full_disk_answers_507_and_imports_nothing(
    client: TestClient[Any], web_db: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(client, "town")
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        before = uow.businesses.count()

    def full(*_: Any, **__: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", full)
    ledger = f"主体名称,许可证编号,所属区划,业态\n新店,JY14503231000001,{TOWNSHIP}001,餐饮服务\n"
    answer = client.post(
        "/api/imports/businesses",
        files={"file": ("台账.csv", ledger.encode())},
        headers=csrf(client),
    )
    assert answer.status_code == 507, answer.text
    body = answer.json()
    assert body["code"] == "server_disk_full" and "磁盘空间不足" in body["zh"]
    assert "disk space" in body["en"]
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        assert uow.businesses.count() == before
