"""The director rule in SQL: asked once per distinct business profile, its answers become
one predicate (a small decision tree over the profile columns) that a single scan counts.

The predicate only has to be right on the profiles that exist, so each branch stops as
soon as every profile under it has the same answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from twores.core.businesses import (
    LICENSED_PREFIX,
    BusinessType,
    CanteenKind,
    FoodBusiness,
    Grade,
    OperatingStatus,
    RiskLevel,
    Scale,
    Staff,
)
from twores.plugins.sqlalchemy.rows import StoredRow, maybe
from twores.plugins.storage.common import trusted

Answer = tuple[Sequence[Any], bool]


def profile_business(values: StoredRow, within: str | None) -> FoodBusiness:
    """A business of a profile (built from the grouped columns, not read): the rule sees
    its type, scale, canteen kind, diners, chain flag, status, grades and area."""
    kind = BusinessType.of(values["business_type"])
    return trusted(
        FoodBusiness,
        name="profile",
        area_code=values.get("area_code", within or ""),
        business_type=kind,
        licence_no=f"{LICENSED_PREFIX.get(kind, '')}0",
        uscc=None,
        scale=maybe(Scale.of, values["scale"]),
        canteen_kind=maybe(CanteenKind.of, values["canteen_kind"]),
        diners=values["diners"],
        chain_headquarters=bool(values["chain_headquarters"]),
        status=maybe(OperatingStatus.of, values["status"]),
        status_since=None,
        opened_on=None,
        grade=maybe(Grade.of, values["grade"]),
        risk_grade=maybe(RiskLevel.of, values["risk_grade"]),
        staff=Staff(),
    )


def director_rule(
    answers: Sequence[Answer], columns: Sequence[sa.ColumnElement[Any]]
) -> sa.ColumnElement[bool]:
    """True on exactly the rows whose profile (values of ``columns``) was answered True."""
    return _branch(answers, columns, 0)


def _branch(
    answers: Sequence[Answer], columns: Sequence[sa.ColumnElement[Any]], depth: int
) -> sa.ColumnElement[bool]:
    said = {yes for _, yes in answers}
    if said != {True, False}:
        return sa.true() if said == {True} else sa.false()
    column = columns[depth]
    by_value: dict[Any, list[Answer]] = {}
    for answer in answers:
        by_value.setdefault(answer[0][depth], []).append(answer)
    true_values, parts = [], []
    for value, below in by_value.items():
        below_said = {yes for _, yes in below}
        if below_said == {True}:
            true_values.append(value)
        elif below_said == {True, False}:
            parts.append(sa.and_(_is(column, value), _branch(below, columns, depth + 1)))
    if None in true_values:
        true_values.remove(None)
        parts.append(column.is_(None))
    if true_values and all(type(v) is int for v in by_value if v is not None):
        parts.extend(_runs(column, true_values, [v for v in by_value if v is not None]))
    elif true_values:
        listed: sa.BindParameter[Any] = sa.bindparam(
            None, sorted(true_values), expanding=True, literal_execute=True
        )
        parts.append(column.in_(listed))
    return sa.or_(*parts) if parts else sa.false()


def _runs(
    column: sa.ColumnElement[Any], true_values: list[Any], values: list[Any]
) -> list[sa.ColumnElement[bool]]:
    """Integer values as ranges: each run of true values with no other value between them
    (open-ended at either end), so a threshold rule is one comparison, not a long IN list."""
    yes, ordered = set(true_values), sorted(values)
    found, start = [], None
    for i, value in enumerate(ordered):
        if value in yes and start is None:
            start = i
        if start is not None and (i + 1 == len(ordered) or ordered[i + 1] not in yes):
            low, high = ordered[start], ordered[i]
            bounds = [column >= _literal(column, low)] if start else []
            if i + 1 < len(ordered):
                bounds.append(column <= _literal(column, high))
            found.append(sa.and_(*bounds) if bounds else column.is_not(None))
            start = None
    return found


def _literal(column: sa.ColumnElement[Any], value: Any) -> sa.ColumnElement[Any]:
    return sa.literal(value, column.type, literal_execute=True)


def _is(column: sa.ColumnElement[Any], value: Any) -> sa.ColumnElement[bool]:
    if value is None:
        return column.is_(None)
    return column == _literal(column, value)
