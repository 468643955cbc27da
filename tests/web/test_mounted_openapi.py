"""The OpenAPI description of an app mounted under a path (docs/web.md, "Embedding the
app") gives paths that work on the host: its server is the path the app is mounted at."""

from __future__ import annotations

from typing import Any, cast

import pytest
from litestar.testing import TestClient
from litestar.types import Receive, Scope, Send
from tests.web.conftest import PASSWORD, TOWNSHIP

from twores_web import create_app

PREFIX = "/twores"


def _host(inner: Any, *, strip: bool, root_path: bool) -> Any:
    """A plain ASGI router of a provincial system: ``/twores/...`` goes to twores, the
    prefix stripped from the path (as a proxy does) or kept (as a Mount does), with or
    without the ASGI ``root_path`` set; anything else is the host's own 404."""

    async def host(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await inner(scope, receive, send)  # the mounted app's startup
            return
        path = scope["path"]
        if path == PREFIX or path.startswith(PREFIX + "/"):
            sub = dict(scope)
            if root_path:
                sub["root_path"] = scope.get("root_path", "") + PREFIX
            if strip:
                sub["path"] = path[len(PREFIX) :] or "/"
                sub["raw_path"] = sub["path"].encode()
            await inner(sub, receive, send)
            return
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"host 404"})

    return host


def _described(client: TestClient[Any], at: str) -> tuple[str, dict[str, Any]]:
    """The server the description names and its paths."""
    answer = client.get(f"{at}/schema/openapi.json")
    assert answer.status_code == 200, answer.text
    description = answer.json()
    servers = description["servers"]
    assert len(servers) == 1
    return str(servers[0]["url"]).rstrip("/"), description["paths"]


@pytest.mark.parametrize(
    ("strip", "root_path"),
    [(True, True), (False, True), (True, False)],
    ids=["strip-prefix", "keep-prefix", "proxy-no-root-path"],
)
def test_the_described_paths_work_on_the_host(
    web_db: dict[str, Any], strip: bool, root_path: bool
) -> None:
    inner = create_app(web_db["app"], web_db["store"], secret="s", base_path=PREFIX)
    host = _host(inner, strip=strip, root_path=root_path)
    with TestClient(cast(Any, host)) as client:
        server, paths = _described(client, PREFIX)
        assert server == PREFIX
        assert {"/api/me", "/api/login", "/api/areas/{code}"} <= set(paths)
        me = client.get(server + "/api/me")
        assert me.status_code == 401 and me.headers["content-type"].startswith("application/json")
        assert client.get("/api/me").status_code == 404  # the host's: the path needs the server
        client.get(f"{PREFIX}/login")  # the CSRF cookie, set for the mount path
        signed = client.post(
            server + "/api/login",
            json={"username": "town", "password": PASSWORD},
            headers={"x-csrftoken": client.cookies.get("csrftoken", "")},
        )
        assert signed.status_code in (200, 201), signed.text
        assert client.get(server + "/api/me").json()["username"] == "town"
        area = client.get(server + "/api/areas/{code}".replace("{code}", TOWNSHIP))
        assert area.status_code == 200 and TOWNSHIP in area.text


def test_under_a_root_path_the_description_names_it(web_db: dict[str, Any]) -> None:
    """Without base_path, the ASGI root_path (a router's Mount, ``uvicorn --root-path``)
    is the server, as it is the pages' links."""
    app = create_app(web_db["app"], web_db["store"], secret="s")
    with TestClient(app, root_path="/tw") as client:
        server, paths = _described(client, "/tw")
        assert server == "/tw" and "/api/me" in paths
        assert client.get(server + "/api/me").status_code == 401


def test_at_the_root_the_server_is_the_root(web_db: dict[str, Any]) -> None:
    app = create_app(web_db["app"], web_db["store"], secret="s")
    with TestClient(app) as client:
        server, _ = _described(client, "")
        assert server == ""  # "/"
    assert app.openapi_schema.servers is not None
    assert [s.url for s in app.openapi_schema.servers] == ["/"]
    mounted = create_app(web_db["app"], web_db["store"], secret="s", base_path=PREFIX)
    assert [s.url for s in mounted.openapi_schema.servers or ()] == [PREFIX]
