"""Personal data (phones, ID numbers) masked for roles that may not see it, as exports do.

A masked record is a display copy: its phone reads ``138****1234``, which the field's
validator would refuse, so it is copied rather than rebuilt. Never store one.
"""

from __future__ import annotations

import copy
from typing import TypeVar

from twores.core.businesses import FoodBusiness, StaffMember
from twores.core.cadres import Cadre
from twores.core.security import Scope, mask_id_number, mask_phone

T = TypeVar("T")


def _display_copy(record: T, **values: object) -> T:
    clone = copy.copy(record)
    for name, value in values.items():
        object.__setattr__(clone, name, value)
    return clone


def _member(member: StaffMember | None) -> StaffMember | None:
    if member is None:
        return None
    return _display_copy(
        member, phone=mask_phone(member.phone), id_number=mask_id_number(member.id_number)
    )


def business_for(scope: Scope, business: FoodBusiness) -> FoodBusiness:
    """``business`` as ``scope`` may see it."""
    if scope.can_unmask:
        return business
    staff = business.staff
    masked = _display_copy(
        staff,
        head=_member(staff.head),
        director=_member(staff.director),
        officer=_member(staff.officer),
    )
    return _display_copy(business, staff=masked)


def cadre_for(scope: Scope, cadre: Cadre) -> Cadre:
    """``cadre`` as ``scope`` may see it."""
    if scope.can_unmask:
        return cadre
    return _display_copy(
        cadre, phone=mask_phone(cadre.phone), id_number=mask_id_number(cadre.id_number)
    )
