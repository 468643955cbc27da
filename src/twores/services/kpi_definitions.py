"""KPI definitions worded as a region names its tiers (旗县级, 各旗县 across Inner Mongolia)."""

from __future__ import annotations

import re
from datetime import date

from twores.bootstrap import Twores
from twores.core.areas import Area, Hierarchy, Tier
from twores.core.errors import InvalidValueError
from twores.core.kpis import KpiSpec

#: The tiers a region may rename (a province keeps its own name).
_RENAMED_TIERS = (Tier.CITY, Tier.COUNTY, Tier.TOWNSHIP, Tier.VILLAGE)


def region_tier_names(
    app: Twores, hierarchy: Hierarchy, area: str | None = None, on: date | None = None
) -> dict[Tier, tuple[str, str]]:
    """Per tier a region plugin renames (``twores_area_label``) on the path to ``area`` or
    below it (None: anywhere in ``hierarchy``): its name there, (zh, en). The region's own
    labels come first, then the national one where some area of the tier keeps it: 旗县
    (banner/county) across Inner Mongolia, 旗 (banner) for a banner. A tier no plugin but
    the built-in ones names is left out."""
    if area is None:
        areas: list[Area] = list(hierarchy)
    else:
        if area not in hierarchy:
            raise InvalidValueError("area_code", area, "区划不存在", "no such area")
        areas = [*hierarchy.path(area), *hierarchy.descendants(area)]
    region: dict[Tier, dict[tuple[str, str], None]] = {}
    national: set[Tier] = set()
    for place in areas:
        if place.tier not in _RENAMED_TIERS:
            continue
        decision = app.plugins.area_label(place, on)
        if app.plugins.is_builtin(decision.plugin):
            national.add(place.tier)
        else:
            region.setdefault(place.tier, {})[decision.value.zh, decision.value.en] = None
    names: dict[Tier, tuple[str, str]] = {}
    for tier, labels in region.items():
        zh, en = [z for z, _ in labels], [e for _, e in labels]
        if tier in national:
            zh.append(tier.zh.removesuffix("级"))
            en.append(tier.en)
        names[tier] = ("".join(dict.fromkeys(zh)), "/".join(dict.fromkeys(en)))
    return names


def _plural(word: str) -> str:
    return f"{word[:-1]}ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else f"{word}s"


def kpi_definition(
    app: Twores,
    spec: KpiSpec,
    lang: str = "zh",
    *,
    hierarchy: Hierarchy | None = None,
    area: str | None = None,
    on: date | None = None,
) -> str:
    """``spec``'s definition with the national tier names it uses (县级, 各县; county,
    counties) called as the region names them at ``area`` (:func:`region_tier_names`):
    旗县级 and 各旗县 across Inner Mongolia. Without ``hierarchy`` the definition as given."""
    text = spec.definition(lang)
    if hierarchy is None:
        return text
    for tier, (zh, en) in region_tier_names(app, hierarchy, area, on).items():
        if lang == "zh":
            national = tier.zh.removesuffix("级")
            text = re.sub(f"(?<=各){national}|{national}(?=级)", zh, text)
        else:
            plural = "/".join(_plural(e) for e in en.split("/"))
            text = re.sub(rf"\b{_plural(tier.en)}\b", plural, text)
            text = re.sub(rf"\b{tier.en}\b", en, text)
    return text
