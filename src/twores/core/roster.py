"""A roster snapshot (areas, businesses, cadres, assignments) and the changes it undergoes.

The planner and the invariants are pure functions of a :class:`Roster`; the
:class:`RuleBook` protocol is how they ask the rules in force (the plugin manager
implements it), so the core never imports the plugin system.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Protocol

import attrs

from twores.core.areas import Hierarchy, Tier
from twores.core.assignment import Assignment
from twores.core.businesses import FoodBusiness, Grade, OperatingStatus
from twores.core.cadres import Cadre
from twores.core.errors import InvalidValueError, TworesError, UnknownAreaError


class RuleBook(Protocol):
    """The rule questions the planner and the invariants ask."""

    def grade_of(self, business: FoodBusiness, on: date) -> Grade:
        """The assignment grade of ``business`` on ``on``."""
        ...

    def grades_of(self, businesses: Sequence[FoodBusiness], on: date) -> Sequence[Grade]:
        """The grades of many businesses at once (same order)."""
        ...

    def tier_of(self, grade: Grade, on: date, area_code: str) -> Tier:
        """The cadre tier for ``grade`` in the area ``area_code``."""
        ...

    def load_cap(self, tier: Tier, on: date, area_code: str) -> int | None:
        """The most businesses one cadre of ``tier`` in ``area_code`` may hold, or None."""
        ...


class UnknownRecordError(TworesError):
    code = "unknown_record"

    def __init__(self, kind_zh: str, kind_en: str, key: str) -> None:
        self.key = key
        super().__init__(f"{kind_zh}“{key}”不存在", f"no {kind_en} '{key}'")


@attrs.frozen
class Roster:
    """Everything assignment depends on, as one immutable snapshot."""

    hierarchy: Hierarchy = attrs.field(eq=False)
    businesses: Mapping[str, FoodBusiness] = attrs.field(factory=dict)
    cadres: Mapping[str, Cadre] = attrs.field(factory=dict)
    assignments: tuple[Assignment, ...] = ()

    @classmethod
    def build(
        cls,
        hierarchy: Hierarchy,
        businesses: Iterable[FoodBusiness] = (),
        cadres: Iterable[Cadre] = (),
        assignments: Iterable[Assignment] = (),
    ) -> Roster:
        """A roster keyed by business key and cadre id; duplicate keys are an error."""
        by_key: dict[str, FoodBusiness] = {}
        for business in businesses:
            if business.key in by_key:
                raise InvalidValueError(
                    "business_key", business.key, "主体标识重复", "duplicate business key"
                )
            by_key[business.key] = business
        by_id: dict[str, Cadre] = {}
        for cadre in cadres:
            if cadre.id in by_id:
                raise InvalidValueError("id", cadre.id, "干部编号重复", "duplicate cadre id")
            by_id[cadre.id] = cadre
        return cls(hierarchy, by_key, by_id, tuple(assignments))

    def active_assignments(self, on: date) -> list[Assignment]:
        return [a for a in self.assignments if a.is_active(on)]

    def with_assignments(self, assignments: Iterable[Assignment]) -> Roster:
        return attrs.evolve(self, assignments=tuple(assignments))

    def apply(self, change: RosterChange) -> Roster:
        """The roster after one change (validated against this roster)."""
        return change.apply_to(self)


# --- changes --------------------------------------------------------------------------


def _business(roster: Roster, key: str) -> FoodBusiness:
    try:
        return roster.businesses[key]
    except KeyError:
        raise UnknownRecordError("包保主体", "business", key) from None


def _cadre(roster: Roster, cadre_id: str) -> Cadre:
    try:
        return roster.cadres[cadre_id]
    except KeyError:
        raise UnknownRecordError("包保干部", "cadre", cadre_id) from None


def _replace_business(roster: Roster, business: FoodBusiness) -> Roster:
    return attrs.evolve(roster, businesses={**roster.businesses, business.key: business})


def _replace_cadre(roster: Roster, cadre: Cadre) -> Roster:
    return attrs.evolve(roster, cadres={**roster.cadres, cadre.id: cadre})


def _check_area(roster: Roster, area_code: str) -> None:
    if area_code not in roster.hierarchy:
        raise UnknownAreaError(area_code)


@attrs.frozen
class CadreLeaves:
    """A cadre leaves the post (调离/退休) from ``on``."""

    cadre_id: str
    on: date

    def apply_to(self, roster: Roster) -> Roster:
        cadre = _cadre(roster, self.cadre_id)
        start = cadre.active_from
        end = (
            self.on if start is None or self.on > start else date.fromordinal(start.toordinal() + 1)
        )
        return _replace_cadre(roster, attrs.evolve(cadre, active_to=end))


@attrs.frozen
class CadreMoves:
    """A cadre takes a post in another area of the same tier."""

    cadre_id: str
    area_code: str

    def apply_to(self, roster: Roster) -> Roster:
        cadre = _cadre(roster, self.cadre_id)
        _check_area(roster, self.area_code)
        return _replace_cadre(roster, attrs.evolve(cadre, area_code=self.area_code))


@attrs.frozen
class CadreJoins:
    cadre: Cadre

    def apply_to(self, roster: Roster) -> Roster:
        if self.cadre.id in roster.cadres:
            raise InvalidValueError("id", self.cadre.id, "干部编号重复", "duplicate cadre id")
        _check_area(roster, self.cadre.area_code)
        return _replace_cadre(roster, self.cadre)


@attrs.frozen
class BusinessOpens:
    business: FoodBusiness

    def apply_to(self, roster: Roster) -> Roster:
        if self.business.key in roster.businesses:
            raise InvalidValueError(
                "business_key", self.business.key, "主体标识重复", "duplicate business key"
            )
        _check_area(roster, self.business.area_code)
        return _replace_business(roster, self.business)


@attrs.frozen
class BusinessCloses:
    """A business is deregistered (注销) from ``on``."""

    business_key: str
    on: date

    def apply_to(self, roster: Roster) -> Roster:
        business = _business(roster, self.business_key)
        since = self.on if business.opened_on is None or self.on >= business.opened_on else None
        return _replace_business(
            roster, attrs.evolve(business, status=OperatingStatus.CLOSED, status_since=since)
        )


@attrs.frozen
class BusinessRegraded:
    business_key: str
    grade: Grade

    def apply_to(self, roster: Roster) -> Roster:
        business = _business(roster, self.business_key)
        return _replace_business(roster, attrs.evolve(business, grade=self.grade))


@attrs.frozen
class BusinessMoves:
    business_key: str
    area_code: str

    def apply_to(self, roster: Roster) -> Roster:
        business = _business(roster, self.business_key)
        _check_area(roster, self.area_code)
        return _replace_business(roster, attrs.evolve(business, area_code=self.area_code))


RosterChange = (
    CadreLeaves
    | CadreMoves
    | CadreJoins
    | BusinessOpens
    | BusinessCloses
    | BusinessRegraded
    | BusinessMoves
)

__all__ = [
    "BusinessCloses",
    "BusinessMoves",
    "BusinessOpens",
    "BusinessRegraded",
    "CadreJoins",
    "CadreLeaves",
    "CadreMoves",
    "Roster",
    "RosterChange",
    "RuleBook",
    "UnknownRecordError",
]
