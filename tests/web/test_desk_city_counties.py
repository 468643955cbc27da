"""The desk of a cadre above county level reads county by county (every stream names a
``county_code``) and shows what one unrestricted reading shows, in the same order."""

from __future__ import annotations

from typing import Any

import pytest

import twores
from twores.core.users import User
from twores.plugins.builtin import memory
from twores.plugins.sqlalchemy.repos import assignments as assignment_repos
from twores.plugins.sqlalchemy.repos import records as record_repos
from twores.services import lookups, web_views
from twores.services.lookups import counties_filed

from .test_desk_queries import ADMIN, _expected, _region, held  # noqa: F401  (the fixture)


def _spy(monkeypatch: pytest.MonkeyPatch, store: twores.Store) -> list[tuple[str, str | None]]:
    """(cadre id, county_code) of every assignment and task stream naming a cadre."""
    named: list[tuple[str, str | None]] = []
    if "sqlalchemy" in type(store).__module__:
        classes: tuple[Any, ...] = (assignment_repos.Assignments, record_repos.Tasks)
    else:
        classes = (memory._Assignments, memory._Tasks)
    for cls in classes:
        original = cls.stream

        def spy(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            if kwargs.get("cadre_id") is not None:
                named.append((kwargs["cadre_id"], kwargs.get("county_code")))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "stream", spy)
    return named


def test_a_city_cadres_desk_is_read_county_by_county(
    held: tuple[twores.Twores, twores.Store],  # noqa: F811  (test_desk_queries's fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, store = held
    with store.unit_of_work(ADMIN) as uow:
        city = next(c for c in uow.cadres.stream() if c.area_code == "4503")
    keys, tasks = _expected(store, city.id)  # before the spy: the unrestricted reading
    named = _spy(monkeypatch, store)
    office = User("office", "市局", twores.Role.OFFICE, "4503")
    own = User("u4503", city.name, twores.Role.CADRE, city.area_code, cadre_id=city.id)
    for user in (office, own):
        named.clear()
        desk = web_views.cadre_desk(app, store, user, city.id)
        assert [b.key for b in desk.businesses] == keys
        assert len({b.area_code[:6] for b in desk.businesses}) == 3  # three counties
        assert desk.tasks == tasks  # merged back into key order
        assert web_views.held_today(store, ADMIN, city.id) == set(keys)
        assert named and all(county is not None for _, county in named), named
        under = {"4503", *(c.code for c in _region().children("4503"))}
        assert sorted(named) == sorted((city.id, k) for k in under for _ in range(3))


def test_the_keys_under_an_area(monkeypatch: pytest.MonkeyPatch) -> None:
    region = _region()
    counties = tuple(c.code for c in region.children("4503"))
    assert counties_filed(region, "4503") == tuple(sorted(("4503", *counties)))
    assert counties_filed(region, "45") == tuple(sorted(("45", "4503", *counties)))
    township = region.children(counties[0])[0].code
    assert counties_filed(region, township) == (counties[0],)
    assert counties_filed(region, counties[1]) == (counties[1],)
    assert counties_filed(region, "999999") is None
    monkeypatch.setattr(lookups, "MAX_FILED_KEYS", 3)  # too many keys: read all at once
    assert counties_filed(region, "4503") is None
    assert counties_filed(region, counties[1]) == (counties[1],)
