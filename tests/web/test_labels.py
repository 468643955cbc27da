"""Pages name an area's tier as the installed region plugin does (``twores_area_label``)."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient
from tests.web.conftest import TOWNSHIP, sign_in

import twores
from twores.core.rules import Rule, RuleSet, Ruling
from twores.plugins import hookimpl
from twores.plugins.records import TierLabel

SUMU = Rule("test.label.sumu", "乡级称苏木", "townships are sumus")


class Sumus:
    @hookimpl
    def twores_rule_sets(self) -> list[RuleSet]:
        return [RuleSet("sumus", "1", "苏木称谓", "sumu labels", (SUMU,))]

    @hookimpl(tryfirst=True)
    def twores_area_label(self, area: twores.Area) -> Ruling[TierLabel] | None:
        if area.tier is twores.Tier.TOWNSHIP:
            return Ruling(TierLabel("苏木", "sumu"), SUMU)
        return None


def test_area_and_cadre_pages_use_the_regions_tier_names(web_db: dict[str, Any]) -> None:
    from twores_web import create_app

    app = twores.build(load_entrypoints=False, plugins=[Sumus()], hierarchy=web_db["app"].hierarchy)
    asgi = create_app(app, web_db["store"], secret="test-secret", freeze_heap=False)
    with TestClient(asgi) as client:
        sign_in(client, "town")
        assert "苏木 · " + TOWNSHIP in client.get(f"/areas/{TOWNSHIP}").text
        sign_in(client, "cadre")
        assert "苏木级" in client.get("/cadre").text


class BrokenLabels(Sumus):
    @hookimpl(tryfirst=True)
    def twores_area_label(  # type: ignore[override]
        self, area: twores.Area
    ) -> Ruling[TierLabel] | None:
        return Ruling("苏木", SUMU)  # type: ignore[arg-type]  # not a TierLabel


def test_a_page_a_broken_plugin_fails_is_a_server_error_naming_the_plugin(
    web_db: dict[str, Any],
) -> None:
    from twores_web import create_app

    app = twores.build(
        load_entrypoints=False, plugins=[BrokenLabels()], hierarchy=web_db["app"].hierarchy
    )
    asgi = create_app(app, web_db["store"], secret="test-secret", freeze_heap=False)
    with TestClient(asgi) as client:
        sign_in(client, "town")
        page = client.get(f"/areas/{TOWNSHIP}")
        assert page.status_code == 500  # not the request's fault
        assert "BrokenLabels" in page.text or "twores_area_label" in page.text
