"""Area and business pages: an ended assignment shows its last day held, as sheets write it
(its stored end is the day after: validity is half-open); an area that does not exist is
not found."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from litestar.testing import TestClient
from tests.web.conftest import COUNTY, PASSWORD, sign_in

import twores
from twores.services import web_views
from twores.services.setup import synthesize
from twores.services.sign_in import SignInThrottle
from twores.services.stores import open_store
from twores.services.users import User, add_user
from twores_web import create_app

ON = web_views.current_period().start - timedelta(days=40)


@pytest.fixture
def county(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A small county of its own, an admin, and the app over it."""
    url = f"sqlite:///{tmp_path / 'pages.db'}"
    app = twores.build(load_entrypoints=False)
    synthesize(app, url, businesses=20, cadres=10, area=COUNTY, on=ON, folder=tmp_path)
    store = open_store(app, url)
    admin = User("admin", "管理员", twores.Role.ADMIN)
    add_user(app, store, twores.Scope.system("test setup"), admin, password=PASSWORD)
    web = create_app(app, store, secret="s", sign_in_throttle=SignInThrottle(), freeze_heap=False)
    yield {"store": store, "web": web}
    store.close()


def test_an_ended_assignment_shows_its_last_day(county: dict[str, Any]) -> None:
    with county["store"].unit_of_work(twores.Scope.system("test")) as uow:
        held = next(uow.assignments.stream(active_on=ON))
        ended = attrs.evolve(held, valid_to=ON + timedelta(days=10))
        uow.assignments.upsert_many([ended])
        uow.commit()
    with TestClient(county["web"]) as client:
        sign_in(client, "admin")
        page = client.get(f"/businesses/{held.business_key}").text

    last: date = ON + timedelta(days=9)
    assert f"<td>{held.valid_from}</td><td>{last}</td>" in page
    assert f"<td>{ended.valid_to}</td>" not in page


def test_an_area_that_does_not_exist_is_not_found(county: dict[str, Any]) -> None:
    """GET /api/areas/{code} of no area answers the documented 404 (it was a 400)."""
    with TestClient(county["web"]) as client:
        sign_in(client, "admin")
        answer = client.get("/api/areas/99")

    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
