"""For random users (area + role) and random businesses and areas, the API answers exactly
when the object lies inside the user's subtree."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from tests.web.conftest import SSO_HEADER

import twores
from twores.services.users import User, add_user

ROLES = [twores.Role.OFFICE, twores.Role.READ_ONLY, twores.Role.ADMIN]


@pytest.fixture(scope="module")
def world(web_db: dict[str, Any], web_app: Any) -> dict[str, Any]:
    """Every area below the county, a sample of businesses, and an SSO-only user per
    (area, role) sample."""
    store = web_db["store"]
    with store.unit_of_work(twores.Scope.system()) as uow:
        hierarchy = uow.areas.hierarchy()
        businesses = [(b.key, b.area_code, b.name) for b in uow.businesses.stream()][::20]
    areas = sorted(a.code for a in hierarchy if a.code.startswith("450323"))[::3]
    names = {}
    for code in areas:
        for role in ROLES:
            name = f"p-{role.value}-{code}"
            add_user(web_db["app"], store, twores.Scope.system(), User(name, name, role, code))
            names[(code, role)] = name
    return {"hierarchy": hierarchy, "areas": areas, "businesses": businesses, "users": names}


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_access_exactly_inside_the_scope(world: dict[str, Any], web_app: Any, data: Any) -> None:
    hierarchy = world["hierarchy"]
    area = data.draw(st.sampled_from(world["areas"]), label="user area")
    role = data.draw(st.sampled_from(ROLES), label="role")
    headers = {SSO_HEADER: world["users"][(area, role)]}
    key, home, name = data.draw(st.sampled_from(world["businesses"]), label="business")
    target = data.draw(st.sampled_from(world["areas"]), label="area asked")
    with TestClient(web_app) as client:
        inside = hierarchy.contains(area, home)
        answer = client.get(f"/api/businesses/{key}", headers=headers)
        assert (answer.status_code == 200) == inside, (area, home, answer.text)
        if not inside:  # the refusal echoes the key asked for, nothing of the business
            assert name not in answer.text and home not in answer.text
        inside_area = hierarchy.contains(area, target)
        shown = client.get(f"/api/areas/{target}", headers=headers)
        assert (shown.status_code == 200) == inside_area, (area, target, shown.text)
        listed = client.get("/api/businesses", params={"area": target}, headers=headers)
        # an area outside the scope, or above it, is refused (never narrowed unsaid)
        assert (listed.status_code == 200) == inside_area, (area, target, listed.text)
        if inside_area:
            assert all(
                hierarchy.contains(target, b["area_code"]) for b in listed.json()["businesses"]
            )
