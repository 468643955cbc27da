"""Parsed business rows as plain tuples, to cross from a parsing process to the importing one.

Pickled as they are, validated rows cost about 11 µs a row to pickle and unpickle, 8 of
them unpickling in the importing process (attrs instances go field by field, by name); as
tuples of their field values, rebuilt without validating anything twice
(:func:`~twores.core.convert.as_stored`), the importing process spends about 4.5 µs a row
on them (measured on 50,000 rows, best of five, the cycle collector paused as in an import).
"""

from __future__ import annotations

from typing import Any

import attrs

from twores.core.businesses import FoodBusiness, Staff, StaffMember
from twores.core.convert import as_stored
from twores.services.sheets.parsing import BusinessRow, CadreRef, ParseResult

_BUSINESS = tuple(a.name for a in attrs.fields(FoodBusiness))
_STAFF = tuple(a.name for a in attrs.fields(Staff))
_MEMBER = tuple(a.name for a in attrs.fields(StaffMember))
_CADRE = tuple(a.name for a in attrs.fields(CadreRef))
_STAFF_AT = _BUSINESS.index("staff")
_NO_STAFF = Staff()

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
                None if r.cadre is None else _values(r.cadre, _CADRE),
                r.blank,
            )
            for r in chunk.rows
        ],
    )


def unpack_business_chunk(packed: Packed) -> ParseResult[BusinessRow]:
    columns, errors, rows = packed
    return ParseResult(
        [
            BusinessRow(
                number,
                serial,
                _business(values),
                None if cadre is None else as_stored(CadreRef, _CADRE, cadre),
                blank,
            )
            for number, serial, values, cadre, blank in rows
        ],
        errors,
        columns,
    )


def _values(record: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(record, name) for name in names)


def _business_values(business: FoodBusiness) -> tuple[Any, ...]:
    values = _values(business, _BUSINESS)
    staff = business.staff
    if staff == _NO_STAFF:
        return (*values[:_STAFF_AT], None, *values[_STAFF_AT + 1 :])
    members = tuple(None if m is None else _values(m, _MEMBER) for m in _values(staff, _STAFF))
    return (*values[:_STAFF_AT], members, *values[_STAFF_AT + 1 :])


def _business(values: tuple[Any, ...]) -> FoodBusiness:
    members = values[_STAFF_AT]
    staff = _NO_STAFF
    if members is not None:
        people = [None if m is None else as_stored(StaffMember, _MEMBER, m) for m in members]
        staff = as_stored(Staff, _STAFF, people)
    own = (*values[:_STAFF_AT], staff, *values[_STAFF_AT + 1 :])
    return as_stored(FoodBusiness, _BUSINESS, own)
