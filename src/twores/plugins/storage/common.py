"""Helpers shared by the storage backends (memory and SQL)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from itertools import chain
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import msgspec

from twores.core.areas import Hierarchy, Tier
from twores.core.audit import AuditEntry, canonical
from twores.core.convert import make_converter, trusted
from twores.core.errors import InvalidAreaCodeError, StructureError, UnknownAreaError
from twores.core.security import Role, Scope, ScopeError, outside_scope, records_outside

if TYPE_CHECKING:
    from twores.core.cadres import Cadre
    from twores.core.ports import UnitOfWork

CONVERTER = make_converter()
T = TypeVar("T")
__all__ = ["CONVERTER", "AncestorCodes", "plain", "trusted"]


def plain(record: object) -> dict[str, Any]:
    """A record as plain JSON-ready data (for the audit log and row hashes)."""
    data: dict[str, Any] = CONVERTER.unstructure(record)
    return data


@attrs.frozen
class AncestorCodes:
    """The denormalized ancestor codes stored on every hot row.

    ``county_code`` is the distribution key: the county above the area, or the area itself
    when it lies above county level (a city-level business or cadre).
    """

    province_code: str | None
    city_code: str | None
    county_code: str
    township_code: str | None
    village_code: str | None

    @classmethod
    def of(cls, hierarchy: Hierarchy, area_code: str) -> AncestorCodes:
        if area_code not in hierarchy:
            raise InvalidAreaCodeError(
                "area_code",
                area_code,
                "区划代码不存在（请先导入区划）",
                "no such area (import areas first)",
            )
        codes = hierarchy.ancestor_codes(area_code)
        return cls(
            codes.get(Tier.PROVINCE),
            codes.get(Tier.CITY),
            codes.get(Tier.COUNTY, area_code),
            codes.get(Tier.TOWNSHIP),
            codes.get(Tier.VILLAGE),
        )

    def code_at(self, tier: Tier) -> str | None:
        return {
            Tier.PROVINCE: self.province_code,
            Tier.CITY: self.city_code,
            Tier.COUNTY: self.county_code,
            Tier.TOWNSHIP: self.township_code,
            Tier.VILLAGE: self.village_code,
        }[tier]


class CountyMoveError(InvalidAreaCodeError):
    """A business given an area of another county than the one it is filed in. Licences
    are issued by the county's regulator, so a move to another county is a new
    registration: the old county closes the business and the new one registers it. Its
    problems, visits, tasks and letters stay with the county that keeps them."""

    code = "cross_county_move"

    def __init__(self, key: str, stored: str, area_code: str, county: str, names: Hierarchy):
        self.key, self.stored_county, self.new_county = key, stored, county
        old, new = _county_label(names, stored), _county_label(names, county)
        super().__init__(
            f"{key}.area_code",
            area_code,
            f"主体已登记在 {old[0]}，跨县迁移须在原县注销后在新县重新登记（新县：{new[0]}）",
            f"the business is filed in {old[1]}: a move to another county ({new[1]}) is a "
            "new registration — close it in the old county, then register it in the new one",
        )


def _county_label(hierarchy: Hierarchy, code: str) -> tuple[str, str]:
    """灵川县（450323）, and 灵川县 (450323) in English."""
    if code not in hierarchy:
        return code, code
    name = hierarchy[code].name
    return f"{name}（{code}）", f"{name} ({code})"


def county_moves_refused(
    moves: Iterable[tuple[str, str, str, str]], hierarchy: Hierarchy
) -> StructureError:
    """Businesses refused a move to another county: (key, stored county, new area, its
    county) each; one error naming them all (``errors``: a :class:`CountyMoveError` each)."""
    return StructureError("包保主体", [CountyMoveError(*move, hierarchy) for move in sorted(moves)])


def letters_follow(uow: UnitOfWork, cadres: Iterable[Cadre]) -> None:
    """The letters of cadres whose area changed, filed again where the cadre now is (a
    letter is the cadre's, counted with the cadre in its county): a cadre who moves county
    keeps their signing, and the new county generates their next letter under the same key
    without meeting the old county's row. Audited as any move of a record."""
    for cadre in cadres:
        letters = [
            attrs.evolve(letter, area_code=cadre.area_code)
            for letter in uow.letters.stream(cadre_id=cadre.id)
            if letter.area_code != cadre.area_code
        ]
        uow.letters.upsert_many(letters)


class ScopeGuard:
    """Decides what a scope may see and change, by the hierarchy."""

    def __init__(self, scope: Scope, hierarchy: Hierarchy) -> None:
        self.scope = scope
        self.hierarchy = hierarchy

    def allows(self, area_code: str) -> bool:
        root = self.scope.area_code
        return root is None or self.hierarchy.holds(root, area_code)

    def check_write(self, area_code: str, what_zh: str, what_en: str) -> None:
        if not self.scope.can_write or not self.allows(area_code):
            raise outside_scope(self.scope, what_zh, what_en)

    def check_stored_writes(
        self, filed: Iterable[tuple[str, str]], what_zh: str, what_en: str
    ) -> None:
        """Each stored record (key, area) may be rewritten; else one error naming every
        key refused."""
        if not self.scope.can_write:
            raise outside_scope(self.scope, what_zh, what_en)
        refused = [key for key, area in filed if not self.allows(area)]
        if refused:
            raise records_outside(self.scope, what_zh, what_en, refused)

    def check_writer(self, what_zh: str, what_en: str) -> None:
        """The scope may write somewhere (for records filed under no area)."""
        if not self.scope.can_write:
            raise outside_scope(self.scope, what_zh, what_en)

    def check_admin(self, what_zh: str, what_en: str) -> None:
        if self.scope.area_code is not None or not self.scope.can_write:
            raise outside_scope(self.scope, what_zh, what_en)

    def check_audit_reader(self) -> None:
        """The audit log holds every area's records unmasked: only a nationwide
        administrator reads it."""
        if self.scope.area_code is not None or self.scope.role is not Role.ADMIN:
            raise outside_scope(self.scope, "审计日志", "the audit log")

    def within(self, area_code: str | None) -> str | None:
        """The narrower of the scope root and ``area_code`` (they must nest; an unknown
        code is an error, not an empty subtree)."""
        root = self.scope.area_code
        for code in (root, area_code):
            if code is not None and code not in self.hierarchy:
                raise UnknownAreaError(code)
        if area_code is None:
            return root
        if root is None or self.hierarchy.contains(root, area_code):
            return area_code
        if area_code in self.hierarchy and self.hierarchy.contains(area_code, root):
            return root
        raise ScopeError(
            f"查询范围 {area_code} 超出辖区 {root}",
            f"query area {area_code} lies outside scope {root}",
        )


#: Changed records per audit entry when a write changes many at once (an import).
AUDIT_CHUNK = 1_000

Change = tuple[str, Any, Any]
#: The key of an entry for many records: ``first..last (n)``.
_BULK_KEY = re.compile(r".+\.\..+ \((\d+)\)")


def _as_dict(value: Any, fields: tuple[str, ...] | None) -> Any:
    if fields is None or value is None or isinstance(value, dict):
        return value
    return {
        name: (v.isoformat() if hasattr(v, "isoformat") else v)
        for name, v in zip(fields, value, strict=True)
    }


def audit_payloads(
    changes: list[Change], fields: tuple[str, ...] | None = None
) -> list[tuple[str, str, Any, Any]]:
    """(operation, key, before, after) per audit entry.

    One change gives one entry with the record's own before and after (as field -> value).
    A bulk write gives one entry per chunk of :data:`AUDIT_CHUNK` inserts or updates, keyed
    ``first..last (n)``; with ``fields`` the records are stored compactly as
    ``{"fields": [...], "records": {key: [values...]}}``, so a million-row import stays one
    cheap pass over the data.
    """
    entries: list[tuple[str, str, Any, Any]] = []
    for operation, group in (
        ("insert", [c for c in changes if c[1] is None]),
        ("update", [c for c in changes if c[1] is not None]),
    ):
        if len(group) == 1:
            key, before, after = group[0]
            entries.append((operation, key, _as_dict(before, fields), _as_dict(after, fields)))
            continue
        for start in range(0, len(group), AUDIT_CHUNK):
            chunk = group[start : start + AUDIT_CHUNK]
            key = f"{chunk[0][0]}..{chunk[-1][0]} ({len(chunk)})"
            if fields is None:
                before = {k: b for k, b, _ in chunk} if operation == "update" else None
                after = {k: a for k, _, a in chunk}
            else:
                before = (
                    {
                        "fields": list(fields),
                        "records": {k: _plain_list(b, fields) for k, b, _ in chunk},
                    }
                    if operation == "update"
                    else None
                )
                after = {"fields": list(fields), "records": {k: list(a) for k, _, a in chunk}}
            entries.append((operation, key, before, after))
    return entries


def audited_records(entry: AuditEntry) -> dict[str, Any]:
    """key -> the record as ``entry`` stored it after the change (as field -> value where
    the write gave fields): the inverse of :func:`audit_payloads` for one entry."""
    after = entry.after
    if after is None:
        return {}
    bulk = _BULK_KEY.fullmatch(entry.key) if entry.operation in ("insert", "update") else None
    if bulk is not None:
        count = int(bulk.group(1))
        records = after.get("records")
        # at most ``count``: a write that names one record twice keeps its last values
        if isinstance(records, dict) and 0 < len(records) <= count and "fields" in after:
            fields = after["fields"]
            return {k: dict(zip(fields, v, strict=True)) for k, v in records.items()}
        if 0 < len(after) <= count and all(isinstance(v, dict) for v in after.values()):
            return dict(after)
    return {entry.key: after}


#: Compact, sorted keys, UTF-8 as is: :func:`canonical`'s form.
_ROWS_JSON = msgspec.json.Encoder(order="sorted")
#: Values msgspec spells as ``json`` does (floats differ: ``1e-05`` and ``0.00001``).
_SAME_TEXT = frozenset({str, int, bool, type(None), date})


def canonical_rows(payload: Any) -> str:
    """:func:`canonical` of an audit payload, encoded by msgspec where it is a bulk write's
    records of stored row values (``{"fields": [...], "records": {key: [values]}}`` of
    text, integers, booleans, dates and None): 4–7× faster, and the same text. Any other
    payload, or one holding any other value, :func:`canonical` encodes."""
    if not _rows_only(payload):
        return canonical(payload)
    try:
        return _ROWS_JSON.encode(payload).decode()
    except (TypeError, ValueError, UnicodeEncodeError):  # keys not text; lone surrogates
        return canonical(payload)


def _rows_only(payload: Any) -> bool:
    if not isinstance(payload, dict) or payload.keys() != {"fields", "records"}:
        return False
    fields, records = payload["fields"], payload["records"]
    return (
        isinstance(fields, list)
        and set(map(type, fields)) <= {str}
        and isinstance(records, dict)
        and set(map(type, records.values())) <= {list, tuple}
        and set(map(type, chain.from_iterable(records.values()))) <= _SAME_TEXT
    )


def _plain_list(value: Any, fields: tuple[str, ...]) -> list[Any]:
    if isinstance(value, dict):
        return [value.get(name) for name in fields]
    return list(value)
