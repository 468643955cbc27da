"""Schemathesis against /schema: no 5xx and every documented response matches its schema.

Bounded (a few examples per operation, no shrinking) so it stays well under a minute.
Operations are driven one by one (schemathesis' own pytest plugin does not load under
pytest 9)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from litestar.testing import TestClient
from tests.web.conftest import SSO_HEADER

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.content_type_conformance,
]


def test_api_conforms_to_its_schema(web_app: Any) -> None:
    with TestClient(web_app) as client:
        client.get("/login")
        token = client.cookies["csrftoken"]
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", web_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @settings(
            max_examples=10,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        @given(case=operation.as_strategy())
        def conforms(case: Any) -> None:
            # Signed in through the SSO hook as the township office, with a CSRF token.
            response = case.call(
                headers={SSO_HEADER: "town", "x-csrftoken": token}, cookies={"csrftoken": token}
            )
            case.validate_response(response, checks=CHECKS)

        conforms()
