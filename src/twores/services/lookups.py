"""Looking up records the caller names, within the caller's scope."""

from __future__ import annotations

from datetime import date

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy, Tier
from twores.core.businesses import FoodBusiness
from twores.core.errors import InvalidValueError, NotFoundError
from twores.core.ports import UnitOfWork
from twores.core.security import Scope, outside_scope
from twores.plugins.records import TierLabel
from twores.services.credit_codes import AmbiguousBusinessError, licensed_keys


def in_scope(hierarchy: Hierarchy, scope: Scope, area_code: str) -> bool:
    """Whether ``area_code`` lies in ``scope``'s subtree (the rule every view applies)."""
    return hierarchy.holds(scope.area_code, area_code)


def check_area(hierarchy: Hierarchy, scope: Scope, area_code: str) -> None:
    """An error naming ``area_code`` when it is unknown or outside ``scope``'s subtree (an
    area above the scope's root included: its other children are not the caller's)."""
    if area_code not in hierarchy:
        raise InvalidValueError("area_code", area_code, "区划不存在", "no such area")
    if not in_scope(hierarchy, scope, area_code):
        raise outside_scope(scope, f"区划 {area_code}", f"area {area_code}")


def county_filed(hierarchy: Hierarchy, area_code: str) -> str | None:
    """The distribution key (``county_code``) every record in ``area_code``'s subtree is
    filed under: the county the area lies in, or is. None above county level (a city's
    records lie under several keys), under a city without counties, and for an unknown
    area: a query then names no key.

    A cadre's businesses lie in the cadre's area, so a query of a county-or-lower cadre's
    assignments or tasks passes this key and reads one county (indexes on ``cadre_id``
    lead with ``county_code``)."""
    if area_code not in hierarchy:
        return None
    county = hierarchy.ancestor(area_code, Tier.COUNTY)
    return None if county is None else county.code


#: The most distribution keys a desk reads one by one (a province has about a hundred
#: counties; a city without counties files every township and village under its own).
MAX_FILED_KEYS = 256


def counties_filed(hierarchy: Hierarchy, area_code: str) -> tuple[str, ...] | None:
    """The distribution keys (``county_code``) the records in ``area_code``'s subtree are
    filed under, sorted: the one county of a county-or-lower area (:func:`county_filed`);
    above county level, each county below it and each area above or outside any county
    (filed under its own code: the city itself for a city-level business). None for an
    unknown area, or when there are more than :data:`MAX_FILED_KEYS` (then a query names
    none and reads them all at once).

    A query of an above-county cadre's assignments or tasks reads one key after another
    (each an index seek: the indexes on ``cadre_id`` lead with ``county_code``) instead of
    scanning every county's rows."""
    county = county_filed(hierarchy, area_code)
    if county is not None:
        return (county,)
    if area_code not in hierarchy:
        return None
    found: list[str] = []
    stack = [area_code]
    while stack:
        code = stack.pop()
        found.append(code)  # a county, or an area no county lies above
        if len(found) > MAX_FILED_KEYS:
            return None
        if hierarchy[code].tier is not Tier.COUNTY:
            stack.extend(a.code for a in hierarchy.children(code))
    return tuple(sorted(found))


#: What only an office or admin does (:attr:`Scope.keeps_ledgers`), as refusals name it.
ISSUING = ("发布排名与通报", "issuing rankings and bulletins")
IMPORTING = ("台账导入", "ledger imports")


def check_office(scope: Scope, what: tuple[str, str]) -> None:
    """Refuse ``what`` (zh, en) to a scope that is no office's or admin's."""
    if not scope.keeps_ledgers:
        raise outside_scope(scope, *what)


def business_in_scope(uow: UnitOfWork, key: str) -> FoodBusiness:
    """The business ``key`` (or the one licensed business stored with the credit code
    ``key``), or an error naming it when it is unknown, out of scope or ambiguous."""
    business = uow.businesses.get(key)
    if business is None:
        found, shared = licensed_keys(uow, [key])
        if key in shared:
            raise AmbiguousBusinessError("business_key", key, shared[key])
        business = uow.businesses.get(found[key]) if key in found else None
    if business is None:
        raise NotFoundError(
            "business_key", key, "包保主体不存在或不在辖区内", "no such business in scope"
        )
    return business


def tier_label(
    app: Twores, hierarchy: Hierarchy, area_code: str, on: date | None = None
) -> TierLabel | None:
    """What the tier of ``area_code`` is called, as the region names it (the
    ``twores_area_label`` hook): 旗 / banner for a banner; None for an unknown area."""
    if area_code not in hierarchy:
        return None
    return app.plugins.area_label(hierarchy[area_code], on).value


def tier_name(
    app: Twores, hierarchy: Hierarchy, area_code: str, on: date | None = None, lang: str = "zh"
) -> str:
    """What a cadre of ``area_code`` is called by tier, as the region names it: 旗级 for a
    banner's, 县级 elsewhere; in English the label itself (banner, county); "" for an
    unknown area."""
    label = tier_label(app, hierarchy, area_code, on)
    return "" if label is None else tier_name_of(label, lang)


def tier_name_of(label: TierLabel, lang: str = "zh") -> str:
    """A cadre's tier called by ``label``: 旗级 in Chinese, banner in English."""
    return f"{label.zh}级" if lang == "zh" else label.en
