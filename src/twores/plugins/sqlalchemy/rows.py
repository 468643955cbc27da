"""Domain records <-> table rows (tuples in column order, mappings back)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import attrs

from twores.core.areas import Area, Tier
from twores.core.assignment import Assignment, AssignmentReason
from twores.core.businesses import FoodBusiness, Staff
from twores.core.cadres import Cadre
from twores.plugins.storage.common import CONVERTER, AncestorCodes, plain

ANCESTORS = ("province_code", "city_code", "county_code", "township_code", "village_code")


def row_hash(values: tuple[Any, ...]) -> str:
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def ancestor_values(codes: AncestorCodes) -> tuple[str | None, ...]:
    return (
        codes.province_code,
        codes.city_code,
        codes.county_code,
        codes.township_code,
        codes.village_code,
    )


@attrs.frozen
class Codec:
    """How one entity maps to its table."""

    columns: tuple[str, ...]
    fields: tuple[str, ...]
    key: Callable[[Any], str]
    values_of: Callable[[Any], tuple[Any, ...]]
    record_of: Callable[[Mapping[str, Any]], Any]

    def values(self, record: Any, codes: AncestorCodes) -> tuple[Any, ...]:
        own = self.values_of(record)
        return (*ancestor_values(codes), *own, row_hash(own))

    def audit_values(self, values: tuple[Any, ...]) -> dict[str, Any]:
        own = values[len(ANCESTORS) : -1]
        return {name: _iso(value) for name, value in zip(self.fields, own, strict=True)}

    def audit(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {name: _iso(row[name]) for name in self.fields}

    def record(self, row: Mapping[str, Any]) -> Any:
        return self.record_of(row)


def _enum(value: Any) -> Any:
    return None if value is None else value.value


_NO_STAFF = Staff()


def _staff_json(staff: Staff) -> str | None:
    if staff == _NO_STAFF:
        return None
    return json.dumps(plain(staff), ensure_ascii=False, sort_keys=True)


def _business_values(b: FoodBusiness) -> tuple[Any, ...]:
    return (
        b.key,
        b.area_code,
        b.name,
        b.business_type.value,
        b.licence_no,
        b.uscc,
        _enum(b.scale),
        _enum(b.canteen_kind),
        b.diners,
        b.chain_headquarters,
        b.status.value,
        b.status_since,
        b.opened_on,
        _enum(b.grade),
        _enum(b.risk_grade),
        _staff_json(b.staff),
    )


def _business_record(row: Mapping[str, Any]) -> FoodBusiness:
    # ``key`` is derived from the licence number or credit code, not a field of its own.
    data = {name: row[name] for name in BUSINESS_FIELDS if name != "key"}
    data["staff"] = json.loads(data["staff"]) if data["staff"] else {}
    result: FoodBusiness = CONVERTER.structure(
        {k: v for k, v in data.items() if v is not None}, FoodBusiness
    )
    return result


BUSINESS_FIELDS = (
    "key",
    "area_code",
    "name",
    "business_type",
    "licence_no",
    "uscc",
    "scale",
    "canteen_kind",
    "diners",
    "chain_headquarters",
    "status",
    "status_since",
    "opened_on",
    "grade",
    "risk_grade",
    "staff",
)
BUSINESS = Codec(
    columns=(*ANCESTORS, *BUSINESS_FIELDS, "row_hash"),
    fields=BUSINESS_FIELDS,
    key=lambda b: b.key,
    values_of=_business_values,
    record_of=_business_record,
)


def _cadre_values(c: Cadre) -> tuple[Any, ...]:
    return (
        c.id,
        c.area_code,
        c.name,
        c.tier.value,
        c.post,
        c.phone,
        c.id_number,
        c.active_from,
        c.active_to,
    )


def _cadre_record(row: Mapping[str, Any]) -> Cadre:
    data = {name: row[name] for name in CADRE_FIELDS if row[name] is not None}
    result: Cadre = CONVERTER.structure(data, Cadre)
    return result


CADRE_FIELDS = (
    "id",
    "area_code",
    "name",
    "tier",
    "post",
    "phone",
    "id_number",
    "active_from",
    "active_to",
)
CADRE = Codec(
    columns=(*ANCESTORS, *CADRE_FIELDS, "row_hash"),
    fields=CADRE_FIELDS,
    key=lambda c: c.id,
    values_of=_cadre_values,
    record_of=_cadre_record,
)


def area(row: Any) -> Area:
    return Area(
        code=row.code,
        name=row.name,
        tier=Tier(row.tier),
        parent_code=row.parent_code,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


def area_values(a: Area) -> tuple[Any, ...]:
    return (a.code, a.name, a.tier.value, a.parent_code, a.valid_from, a.valid_to)


def area_plain(a: Area) -> dict[str, Any]:
    return plain(a)


ASSIGNMENT_COLUMNS = (*ANCESTORS, "business_key", "cadre_id", "valid_from", "valid_to", "reason")


def assignment_id(a: Assignment) -> tuple[str, str, date]:
    return (a.business_key, a.cadre_id, a.valid_from)


def assignment_key(a: Assignment) -> str:
    return f"{a.business_key}|{a.cadre_id}|{a.valid_from.isoformat()}"


def assignment_values(a: Assignment, codes: AncestorCodes) -> tuple[Any, ...]:
    return (
        *ancestor_values(codes),
        a.business_key,
        a.cadre_id,
        a.valid_from,
        a.valid_to,
        a.reason.value,
    )


def assignment_plain(a: Assignment) -> dict[str, Any]:
    return plain(a)


def assignment(row: Any) -> Assignment:
    return Assignment(
        row.cadre_id, row.business_key, row.valid_from, row.valid_to, AssignmentReason(row.reason)
    )


def assignment_row_plain(row: Any) -> dict[str, Any]:
    return plain(assignment(row))
