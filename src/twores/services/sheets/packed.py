"""Parsed business rows as plain tuples, to cross from a parsing process to the importing one.

Pickled as they are, validated rows cost about 11 µs a row to pickle and unpickle, 8 of
them unpickling in the importing process (attrs instances go field by field, by name). As
tuples of their field values, read off by ``attrgetter`` and rebuilt without validating
anything twice (:func:`~twores.core.convert.stored_builder`), a row costs the parser about
1 µs to pack and pickle and the importing process about 1.9 µs to unpickle and rebuild
(10,000 rows, best of five; a field-by-field loop took 2.1 and 2.6 µs).
"""

from __future__ import annotations

import operator
from typing import Any

import attrs

from twores.core.businesses import FoodBusiness, Staff, StaffMember
from twores.core.convert import stored_builder
from twores.services.sheets.parsing import BusinessRow, CadreRef, ParseResult

_MEMBER = tuple(a.name for a in attrs.fields(StaffMember))
_STAFF = tuple(a.name for a in attrs.fields(Staff))
_CADRE = tuple(a.name for a in attrs.fields(CadreRef))
#: A business's fields with its staff last (packed apart: most businesses name no one).
_BUSINESS = (*(a.name for a in attrs.fields(FoodBusiness) if a.name != "staff"), "staff")
_ROW = tuple(a.name for a in attrs.fields(BusinessRow))
_NO_STAFF = Staff()

_business_values = operator.attrgetter(*_BUSINESS[:-1])
_staff_values = operator.attrgetter(*_STAFF)
_member_values = operator.attrgetter(*_MEMBER)
_cadre_values = operator.attrgetter(*_CADRE)
_build_business = stored_builder(FoodBusiness, _BUSINESS)
_build_staff = stored_builder(Staff, _STAFF)
_build_member = stored_builder(StaffMember, _MEMBER)
_build_cadre = stored_builder(CadreRef, _CADRE)
_build_row = stored_builder(BusinessRow, _ROW)

Packed = tuple[dict[str, str], list[Any], list[tuple[Any, ...]]]


def pack_business_chunk(chunk: ParseResult[BusinessRow]) -> Packed:
    return (
        chunk.columns,
        chunk.errors,
        [
            (
                r.row,
                r.serial,
                _business_values(r.business),
                _pack_staff(r.business.staff),
                None if r.cadre is None else _cadre_values(r.cadre),
                r.blank,
            )
            for r in chunk.rows
        ],
    )


def unpack_business_chunk(packed: Packed) -> ParseResult[BusinessRow]:
    columns, errors, rows = packed
    return ParseResult(
        [
            _build_row(
                number,
                serial,
                _build_business(*values, _NO_STAFF if staff is None else _unpack_staff(staff)),
                None if cadre is None else _build_cadre(*cadre),
                blank,
            )
            for number, serial, values, staff, cadre, blank in rows
        ],
        errors,
        columns,
    )


def _pack_staff(staff: Staff) -> tuple[Any, ...] | None:
    if staff == _NO_STAFF:
        return None
    return tuple(None if m is None else _member_values(m) for m in _staff_values(staff))


def _unpack_staff(members: tuple[Any, ...]) -> Staff:
    return _build_staff(*(None if m is None else _build_member(*m) for m in members))
