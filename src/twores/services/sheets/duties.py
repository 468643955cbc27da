"""Enterprise routine sheets (日管控、周排查、月调度 records), every bad field reported."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import attrs

from twores.core.businesses import canonical_licence
from twores.core.duties import DutyKind, StaffRole
from twores.core.errors import MissingValueError
from twores.services.sheets import values as v
from twores.services.sheets.columns import map_columns
from twores.services.sheets.parsing import ParseResult, _header_errors, _positions, _RowReader
from twores.services.sheets.reading import Table
from twores.services.sheets.visits import read_findings


@attrs.frozen
class DutyRow:
    row: int
    serial: str | None
    business_key: str
    kind: DutyKind
    on: date
    by_role: StaffRole
    by_name: str
    zero_risk: bool
    findings: tuple[str, ...]


def _required(x: object, f: str) -> str | None:
    return v.text(x, f, required=True)


def _checked(known: Callable[[str], object]) -> Callable[[object, str], str | None]:
    def read(x: object, f: str) -> str | None:
        key = _required(x, f)
        if key is not None:
            known(canonical_licence(key))
        return key

    return read


def _day(x: object, f: str) -> date:
    found = v.day(x, f)
    if found is None:
        raise MissingValueError(f)
    return found


def _kind(x: object, f: str) -> DutyKind:
    return DutyKind.parse(_required(x, f) or "", field=f)


def _role(x: object, f: str) -> StaffRole:
    return StaffRole.parse(_required(x, f) or "", field=f)


def parse_duties(
    table: Table, known: Callable[[str], object] | None = None
) -> ParseResult[DutyRow]:
    """The sheet's rows, every bad field of a row reported; ``known`` raises for a business
    key that names no business the caller sees (so a row's unknown licence is said beside
    its other faults)."""
    columns = map_columns("duties", table.header)
    errors = _header_errors("duties", table, columns)
    if errors:
        return ParseResult([], errors, columns)
    positions = _positions(table, columns)
    rows: list[DutyRow] = []
    for row in table.rows:
        r = _RowReader(row, positions, columns, table.formulas.get(row.number))
        key = r.get("business_key", _required if known is None else _checked(known))
        kind = r.get("kind", _kind)
        day = r.get("on", _day)
        role = r.get("by_role", _role)
        name = r.get("by_name", _required)
        zero_risk = r.get("zero_risk", v.boolean) or False
        findings = r.get("findings", read_findings) or ()
        if r.errors or key is None or kind is None or day is None or role is None or not name:
            errors.extend(r.errors)
            continue
        rows.append(
            DutyRow(
                row.number,
                row.serial,
                canonical_licence(key),
                kind,
                day,
                role,
                name,
                zero_risk,
                findings,
            )
        )
    return ParseResult(rows, errors, columns)
