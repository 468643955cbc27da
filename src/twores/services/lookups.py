"""Looking up records the caller names, within the caller's scope."""

from __future__ import annotations

from twores.core.businesses import FoodBusiness
from twores.core.errors import InvalidValueError
from twores.core.ports import UnitOfWork


def business_in_scope(uow: UnitOfWork, key: str) -> FoodBusiness:
    """The business ``key``, or an error naming it when it is unknown or out of scope."""
    business = uow.businesses.get(key)
    if business is None:
        raise InvalidValueError(
            "business_key", key, "包保主体不存在或不在辖区内", "no such business in scope"
        )
    return business
