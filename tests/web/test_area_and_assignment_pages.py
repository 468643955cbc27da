"""Area and business pages: an ended assignment shows its last day held, as sheets write it
(its stored end is the day after: validity is half-open); an area that does not exist is
not found."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import attrs
from litestar.testing import TestClient
from tests.web.conftest import COUNTY, PASSWORD, sign_in

import twores
from twores.services import web_views
from twores.services.setup import synthesize
from twores.services.sign_in import SignInThrottle
from twores.services.stores import open_store
from twores.services.users import User, add_user
from twores_web import create_app


def test_an_ended_assignment_shows_its_last_day(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ended.db'}"
    app = twores.build(load_entrypoints=False)
    on = web_views.current_period().start - timedelta(days=40)
    synthesize(app, url, businesses=20, cadres=10, area=COUNTY, on=on, folder=tmp_path)
    store = open_store(app, url)
    system = twores.Scope.system("test setup")
    add_user(app, store, system, User("admin", "管理员", twores.Role.ADMIN), password=PASSWORD)
    with store.unit_of_work(system) as uow:
        held = next(uow.assignments.stream(active_on=on))
        ended = attrs.evolve(held, valid_to=on + timedelta(days=10))
        uow.assignments.upsert_many([ended])
        uow.commit()
    web = create_app(app, store, secret="s", sign_in_throttle=SignInThrottle(), freeze_heap=False)
    with TestClient(web) as client:
        sign_in(client, "admin")
        page = client.get(f"/businesses/{held.business_key}").text
    store.close()

    last: date = on + timedelta(days=9)
    assert f"<td>{held.valid_from}</td><td>{last}</td>" in page
    assert f"<td>{ended.valid_to}</td>" not in page


def test_an_area_that_does_not_exist_is_not_found(tmp_path: Path) -> None:
    """GET /api/areas/{code} of no area answers the documented 404 (it was a 400)."""
    url = f"sqlite:///{tmp_path / 'areas.db'}"
    app = twores.build(load_entrypoints=False)
    on = web_views.current_period().start - timedelta(days=40)
    synthesize(app, url, businesses=5, cadres=5, area=COUNTY, on=on, folder=tmp_path)
    store = open_store(app, url)
    add_user(
        app,
        store,
        twores.Scope.system("t"),
        User("admin", "管理员", twores.Role.ADMIN),
        password=PASSWORD,
    )
    web = create_app(app, store, secret="s", sign_in_throttle=SignInThrottle(), freeze_heap=False)
    with TestClient(web) as client:
        sign_in(client, "admin")
        answer = client.get("/api/areas/99")
    store.close()

    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
