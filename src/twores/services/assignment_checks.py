"""The assignment invariants (``twores.core.invariants``) applied to the rows of an import:
each broken one is a row error, so a sheet that would break them changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from twores.core.assignment import Assignment
from twores.core.invariants import Violation, assignment_violations, overlapping
from twores.core.periods import last_day
from twores.core.ports import UnitOfWork
from twores.core.roster import Roster, RuleBook
from twores.services.sheets.parsing import AssignmentRow, RowError

#: Which sheet field a violation points at.
_FIELD = {
    "assignment.closed_business": "business_key",
    "assignment.dangling": "business_key",
    "assignment.overlap": "valid_from",
}


def _identity(a: Assignment) -> tuple[str, str, date]:
    return (a.business_key, a.cadre_id, a.valid_from)


def imported_assignment_errors(
    uow: UnitOfWork,
    rules: RuleBook,
    on: date,
    imported: Sequence[tuple[AssignmentRow, Assignment]],
    columns: dict[str, str],
) -> list[RowError]:
    """Row errors for the imported assignments that, once stored beside the businesses'
    other assignments, would break an invariant: any overlapping another of its business
    (two holders at once), and any active on ``on`` with a closed business, an inactive
    cadre, the wrong tier or a business outside the cadre's area."""
    keys = {a.business_key for _, a in imported}
    history: dict[str, dict[tuple[str, str, date], Assignment]] = {key: {} for key in keys}
    for stored in uow.assignments.stream(business_keys=keys):
        history[stored.business_key][_identity(stored)] = stored
    for _, a in imported:
        history[a.business_key][_identity(a)] = a
    roster = Roster(
        uow.areas.hierarchy(),
        uow.businesses.get_many(keys),
        uow.cadres.get_many({a.cadre_id for _, a in imported}),
    )
    errors: list[RowError] = []
    for row, a in imported:
        found = [
            _overlap(a, other)
            for other in history[a.business_key].values()
            if _identity(other) != _identity(a) and overlapping(a, other)
        ]
        if a.is_active(on):
            found += assignment_violations(roster, rules, on, a)
        errors += [_row_error(row, a, v, columns) for v in found]
    return errors


def _overlap(a: Assignment, other: Assignment) -> Violation:
    """The overlap, the other assignment's span as sheets write it (its last day held)."""
    last = last_day(other.valid_to)
    until = last.isoformat() if last else "至今"
    until_en = last.isoformat() if last else "now"
    return Violation(
        "assignment.overlap",
        (a.business_key, a.cadre_id, other.cadre_id),
        f"与干部 {other.cadre_id} 的包保（{other.valid_from.isoformat()} 至 {until}）时间重叠",
        f"overlaps the assignment to {other.cadre_id} "
        f"({other.valid_from.isoformat()} to {until_en})",
    )


def _row_error(
    row: AssignmentRow, a: Assignment, violation: Violation, columns: dict[str, str]
) -> RowError:
    field = _FIELD.get(violation.kind, "cadre_id")
    value = {"business_key": a.business_key, "valid_from": a.valid_from.isoformat()}
    column = columns.get(field) or columns.get("cadre_name") or field
    return RowError(
        row.row,
        row.serial,
        column,
        value.get(field, a.cadre_id),
        violation.message_zh,
        violation.message_en,
        violation.kind.replace(".", "_"),
    )
