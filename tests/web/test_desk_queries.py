"""The cadre desk and ``held_today`` read one county for a cadre at or below county level
(the indexes on ``cadre_id`` lead with ``county_code``), each county under the area one by
one for a cadre above it, and show what the unrestricted reading shows."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

import twores
from twores.core.areas import Hierarchy
from twores.core.assignment import Assignment, AssignmentReason, plan_assignments
from twores.core.periods import today
from twores.core.users import User
from twores.divisions import demo_region
from twores.plugins.sqlalchemy.repos import assignments as assignment_repos
from twores.plugins.sqlalchemy.repos import records as record_repos
from twores.services import web_views
from twores.services.lookups import county_filed
from twores.services.stores import open_store
from twores.services.supervision import schedule
from twores.services.synth import synthetic_roster

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
START = date(2024, 1, 1)


def _region() -> Hierarchy:
    """桂林市 cut small: three counties, two townships each and two villages in each."""
    whole = demo_region()
    kept = [*whole.path("4503")]
    for county in whole.children("4503")[:3]:
        kept.append(county)
        for township in whole.children(county.code)[:2]:
            kept += [township, *whole.children(township.code)[:2]]
    return Hierarchy(kept)


@pytest.fixture(params=["sqlite", "memory"])
def held(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[twores.Twores, twores.Store]:
    """Cadres holding businesses (the city's cadre in two counties), this quarter's tasks."""
    app = twores.build(load_entrypoints=False)
    url = f"sqlite:///{tmp_path / 'twores.db'}" if request.param == "sqlite" else "memory://"
    store = open_store(app, url)
    hierarchy = _region()
    roster = synthetic_roster(hierarchy, businesses=60, cadres=30, seed=5)
    with store.unit_of_work(twores.Scope.system("test set-up")) as uow:
        uow.areas.upsert_many(hierarchy)
        uow.commit()
    with store.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan_assignments(roster, app.plugins.rulebook(), START))
        city_cadre = next(c for c in roster.cadres.values() if c.area_code == "4503")
        first_of: dict[str, str] = {}
        for business in sorted(roster.businesses.values(), key=lambda b: b.key):
            first_of.setdefault(business.area_code[:6], business.key)
        uow.assignments.upsert_many(
            Assignment(city_cadre.id, key, START, None, AssignmentReason.IMPORTED)
            for key in first_of.values()
        )
        uow.commit()
    schedule(app, store, ADMIN, web_views.current_period())
    return app, store


def _expected(store: twores.Store, cadre_id: str) -> tuple[list[str], tuple[Any, ...]]:
    """The unrestricted reading (no county named) the desk used to do."""
    period = web_views.current_period()
    day = min(today(), period.end)
    with store.unit_of_work(ADMIN) as uow:
        keys = sorted(
            {a.business_key for a in uow.assignments.stream(cadre_id=cadre_id, active_on=day)}
        )
        tasks = tuple(uow.tasks.stream(cadre_id=cadre_id, overlapping=(period.start, period.end)))
    return keys, tasks


def test_a_desk_shows_what_the_unrestricted_reading_shows(
    held: tuple[twores.Twores, twores.Store],
) -> None:
    app, store = held
    office = User("office", "市局", twores.Role.OFFICE, "4503")
    with store.unit_of_work(ADMIN) as uow:
        cadres = list(uow.cadres.stream())
    shown = 0
    for cadre in cadres:
        keys, tasks = _expected(store, cadre.id)
        desk = web_views.cadre_desk(app, store, office, cadre.id)
        assert [b.key for b in desk.businesses] == keys, cadre.id
        assert desk.tasks == tasks, cadre.id
        assert web_views.held_today(store, ADMIN, cadre.id) == set(keys)
        shown += len(keys)
        # a cadre user sees their own desk the same
        own = User(
            f"u{cadre.id[1:]}".lower()[:30],
            cadre.name,
            twores.Role.CADRE,
            cadre.area_code,
            cadre_id=cadre.id,
        )
        assert [b.key for b in web_views.cadre_desk(app, store, own).businesses] == keys
    assert shown >= 60
    city = next(c for c in cadres if c.area_code == "4503")
    city_desk = web_views.cadre_desk(app, store, office, city.id)
    assert len({b.area_code[:6] for b in city_desk.businesses}) == 3  # held in three counties


def test_a_county_or_lower_cadre_is_read_from_one_county(
    held: tuple[twores.Twores, twores.Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, store = held
    if "sqlalchemy" not in type(store).__module__:
        pytest.skip("the SQL repositories are spied on")
    named: list[tuple[str, str | None]] = []
    for cls in (assignment_repos.Assignments, record_repos.Tasks):
        original = cls.stream

        def spy(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            if kwargs.get("cadre_id") is not None:
                named.append((kwargs["cadre_id"], kwargs.get("county_code")))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "stream", spy)
    office = User("office", "市局", twores.Role.OFFICE, "4503")
    with store.unit_of_work(ADMIN) as uow:
        cadres = {c.id: c for c in uow.cadres.stream()}
    village = next(c for c in cadres.values() if len(c.area_code) == 12)
    city = next(c for c in cadres.values() if c.area_code == "4503")
    for cadre in (village, city):
        named.clear()
        web_views.cadre_desk(app, store, office, cadre.id)
        web_views.held_today(store, ADMIN, cadre.id)
        if cadre is village:
            assert named == [(cadre.id, village.area_code[:6])] * 3
        else:  # each key under the city, for the desk's two reads and held_today's one
            keys = ["4503", *(c.code for c in _region().children("4503"))]
            assert sorted(named) == sorted([(cadre.id, k) for k in keys] * 3)


def test_the_county_a_record_is_filed_under() -> None:
    hierarchy = demo_region()
    assert county_filed(hierarchy, "450323") == "450323"
    assert county_filed(hierarchy, "450323101") == "450323"
    village = hierarchy.children("450323101")[0].code
    assert county_filed(hierarchy, village) == "450323"
    assert county_filed(hierarchy, "4503") is None
    assert county_filed(hierarchy, "45") is None
    assert county_filed(hierarchy, "999999") is None
