"""The OpenAPI error answers show real bodies, not generated placeholders; a cadre refused
another cadre's desk is told so in the same words in Chinese and English."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient
from tests.web.conftest import TOWNSHIP, sign_in

import twores
import twores_web  # noqa: F401  (loads every error the app answers with)

_CJK = re.compile(r"[\u4e00-\u9fff]")
#: The codes the app writes itself (twores_web.app._body, the size limit), besides the
#: codes of the errors twores raises.
_APP_CODES = {
    "not_signed_in",
    "forbidden",
    "not_found",
    "invalid_request",
    "http_error",
    "internal_error",
    "too_large",
}


def _error_codes() -> set[str]:
    codes, todo = set(), [twores.TworesError]
    while todo:
        kind = todo.pop()
        codes.add(kind.code)
        todo.extend(kind.__subclasses__())
    return codes | _APP_CODES


def test_error_answers_show_real_examples(client: TestClient[Any]) -> None:
    schema = client.get("/schema/openapi.json").json()
    body = schema["components"]["schemas"]["ErrorBody"]
    assert not any("examples" in field for field in body["properties"].values())
    assert "examples" not in body
    known = _error_codes()
    seen: set[str] = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content", {}).get("application/json", {})
                if not status.startswith(("4", "5")) or "ErrorBody" not in str(content):
                    continue
                examples = content.get("examples")
                assert examples, (path, method, status)
                for example in examples.values():
                    value = example["value"]
                    assert value["code"] in known, (path, method, status, value)
                    assert _CJK.search(value["zh"]), value
                    assert not _CJK.search(value["en"]), value
                    seen.add(status)
    assert {"400", "401", "403", "404", "413", "429", "503"} <= seen


def test_a_cadre_refused_another_desk_says_desk_in_both_languages(
    client: TestClient[Any], web_db: dict[str, Any]
) -> None:
    sign_in(client, "cadre")
    with web_db["store"].unit_of_work(twores.Scope.system()) as uow:
        other = next(c for c in uow.cadres.stream(within=TOWNSHIP) if c.id != web_db["cadre"].id)
    answer = client.get(f"/api/cadres/{other.id}")
    assert answer.status_code == 403
    body = answer.json()
    assert f"干部 {other.id} 的工作台" in body["zh"]
    assert f"cadre {other.id}'s desk" in body["en"]
