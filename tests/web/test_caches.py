"""What the web app remembers between requests never outlives a change or crosses a scope:
the signed-in user (per process, a few seconds), rankings and rendered dashboard contents
(keyed by everything they are computed from)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from litestar.testing import TestClient
from tests.web.conftest import COUNTY, OTHER_TOWNSHIP, PASSWORD, TOWNSHIP, sign_in

import twores
from twores.core.kpis import RunKind, rank_areas
from twores.services import users, web_views
from twores.services.kpis import kpi_dashboard
from twores.services.stores import open_store

SYSTEM = twores.Scope.system("test")


@pytest.fixture(scope="module")
def plain_app(web_db: dict[str, Any]) -> Any:
    """The app as ``twores serve`` makes it: no SSO hook, so sessions take the fast path."""
    from twores_web import create_app

    return create_app(web_db["app"], web_db["store"], secret="test-secret")


@pytest.fixture
def plain(plain_app: Any) -> Iterator[TestClient[Any]]:
    with TestClient(plain_app) as test_client:
        yield test_client


def _user(
    web_db: dict[str, Any], name: str, password: str | None = PASSWORD, **changes: Any
) -> users.User:
    """Add the user, or change them (their password too unless ``password`` is None)."""
    user = attrs.evolve(users.User(name, name, twores.Role.OFFICE, TOWNSHIP), **changes)
    users.add_user(web_db["app"], web_db["store"], SYSTEM, user, password=password)
    return user


def test_a_deactivated_user_is_refused_on_the_next_request(
    plain: TestClient[Any], web_db: dict[str, Any]
) -> None:
    user = _user(web_db, "cache-office")
    assert sign_in(plain, user.username).status_code == 201
    assert plain.get("/api/me").status_code == 200
    assert plain.get("/api/me").json()["area_code"] == TOWNSHIP  # remembered by now
    _user(web_db, user.username, None, area_code=OTHER_TOWNSHIP)
    assert plain.get("/api/me").json()["area_code"] == OTHER_TOWNSHIP
    _user(web_db, user.username, None, active=False)
    assert plain.get("/api/me").status_code == 401
    assert plain.get("/dashboard", follow_redirects=False).status_code in (302, 303, 307)


def test_a_new_password_ends_the_sessions_opened_before_it(
    plain: TestClient[Any], web_db: dict[str, Any]
) -> None:
    """A password reset after a compromise: a stolen session stops working."""
    user = _user(web_db, "cache-reset")
    assert sign_in(plain, user.username).status_code == 201
    assert plain.get("/api/me").status_code == 200
    _user(web_db, user.username, "another-pass-123456")
    assert plain.get("/api/me").status_code == 401
    assert plain.get("/dashboard", follow_redirects=False).status_code in (302, 303, 307)


def test_a_change_by_another_process_shows_within_the_ttl(
    web_db: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, store = web_db["app"], web_db["store"]
    user = _user(web_db, "cache-elsewhere")
    assert users.known_user(app, store, user.username) is not None
    other = open_store(app, web_db["url"])  # another process's store: no shared memory
    try:
        users.add_user(app, other, SYSTEM, attrs.evolve(user, active=False))
    finally:
        other.close()
    assert users.known_user(app, store, user.username, lookup=False) is not None
    later = users.time.monotonic() + users.USER_TTL
    monkeypatch.setattr(users.time, "monotonic", lambda: later)
    assert users.known_user(app, store, user.username, lookup=False) is None
    assert users.known_user(app, store, user.username) is None


def test_the_remembered_ranking_is_the_computed_one(web_db: dict[str, Any]) -> None:
    app, store = web_db["app"], web_db["store"]
    board = kpi_dashboard(app, store, SYSTEM, web_views.current_period(), COUNTY)
    first = web_views.dashboard_view(app, store, SYSTEM, board)
    again = web_views.dashboard_view(app, store, SYSTEM, board)
    assert first.ranking is not None and again.ranking is first.ranking
    kids = board.areas[1:]
    specs = {s.name: s for s in board.specs}
    versions = [f"{r.name} {r.version}" for r in app.plugins.rule_sets()]
    values = [board.values[k][c] for k in specs for c in kids]
    fresh = rank_areas(
        COUNTY,
        str(board.period),
        values,
        specs,
        rule_versions=versions,
        previous=first.previous,
        as_of=board.as_of,
        kind=RunKind.WEEKLY,  # the dashboard compares with the last weekly bulletin
    )
    assert first.ranking == fresh
    moved = attrs.evolve(board, values={**board.values})
    name = board.specs[0].name
    value = moved.values[name][kids[0]]
    moved.values[name] = {
        **moved.values[name],
        kids[0]: attrs.evolve(
            value, numerator=value.numerator + 1, denominator=value.denominator + 1
        ),
    }
    assert web_views.dashboard_view(app, store, SYSTEM, moved).ranking != first.ranking


def test_a_dashboard_seen_by_a_wider_scope_is_not_shown_to_a_narrower_one(
    plain: TestClient[Any], client: TestClient[Any]
) -> None:
    sign_in(client, "admin")
    county = client.get("/dashboard", params={"area": COUNTY})
    assert county.status_code == 200 and OTHER_TOWNSHIP in county.text
    sign_in(plain, "town")
    own = plain.get("/dashboard")
    assert own.status_code == 200 and TOWNSHIP in own.text and OTHER_TOWNSHIP not in own.text
    assert "大圩镇食安办" in own.text and "管理员" not in own.text
    assert plain.get("/dashboard", params={"area": COUNTY}).status_code == 403
    english = plain.get("/dashboard", params={"lang": "en"})
    assert "Ranking" in english.text or "Child areas" in english.text
