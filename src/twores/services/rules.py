"""Rule questions over businesses: grade, tier, frequency and director requirement."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Tier
from twores.core.businesses import FoodBusiness, Grade
from twores.core.periods import Frequency
from twores.core.rules import Decision


@attrs.frozen
class RuledBusiness:
    """A business with every rule decision that applies to it, each explainable."""

    business: FoodBusiness
    grade: Decision[Grade]
    tier: Decision[Tier]
    frequency: Decision[Frequency]
    director: Decision[bool]

    def decisions(self) -> tuple[Decision[object], ...]:
        return (self.grade, self.tier, self.frequency, self.director)  # type: ignore[return-value]


def rule_business(app: Twores, business: FoodBusiness, on: date) -> RuledBusiness:
    """Grade a business and derive its cadre tier, visit frequency and director duty."""
    rules = app.plugins
    grade = rules.grade(business, on)
    tier = rules.tier_for_grade(grade.value, on, business.area_code)
    return RuledBusiness(
        business=business,
        grade=grade,
        tier=tier,
        frequency=rules.supervision_frequency(tier.value, on, business.area_code),
        director=rules.requires_director(business, on),
    )


def rule_businesses(
    app: Twores, businesses: Iterable[FoodBusiness], on: date
) -> Iterator[RuledBusiness]:
    for business in businesses:
        yield rule_business(app, business, on)
