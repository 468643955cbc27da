"""The director rule in SQL: asked once per distinct business profile, its answers become
one predicate (a small decision tree over the profile columns) that a single scan counts.

The predicate only has to be right on the profiles that exist, so each branch stops as
soon as every profile under it has the same answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from twores.core.businesses import (
    BusinessType,
    CanteenKind,
    FoodBusiness,
    Grade,
    OperatingStatus,
    RiskLevel,
    Scale,
)
from twores.plugins.records import InvalidRecordError
from twores.plugins.sqlalchemy.rows import StoredRow, maybe

Answer = tuple[Sequence[Any], bool]


#: The fields a profile holds no value of: a rule reading one is refused, not misled.
UNPROFILED = ("name", "licence_no", "uscc", "status_since", "opened_on", "staff")


class ProfileFieldError(InvalidRecordError):
    """A grading or director rule read a field a business profile does not hold; the plugin
    manager reports it as a :class:`~twores.core.errors.PluginError` naming the plugin and
    the hook."""

    def __init__(self, field: str) -> None:
        super().__init__(
            f"规则读取了 {field}，而按主体画像判定时只能读取类型、规模、食堂类别、就餐人数、"
            "连锁总部、经营状态、分级、风险等级和区划（area_path）",
            f"the rule read {field}, but a rule decided per business profile may read only "
            "the type, scale, canteen kind, diners, chain flag, status, grades and area "
            "(area_path)",
        )
        self.field = field


class _Profile(FoodBusiness):
    """A business of a profile: reading a field it does not hold raises."""

    __slots__ = ()

    @property
    def key(self) -> str:  # for the manager's own messages (no decision), never a rule's
        return "profile"

    def __repr__(self) -> str:
        return f"<business profile {self.business_type.value}>"


def _refusing(field: str) -> property:
    def read(self: _Profile) -> object:
        raise ProfileFieldError(field)

    return property(read)


for _field in UNPROFILED:
    setattr(_Profile, _field, _refusing(_field))

#: The business columns a profile groups by (the fields a rule asked per profile may read,
#: with the area).
PROFILE = (
    "business_type",
    "scale",
    "canteen_kind",
    "diners",
    "chain_headquarters",
    "status",
    "grade",
    "risk_grade",
)
_PUT = {name: FoodBusiness.__dict__[name].__set__ for name in ("area_code", *PROFILE)}


def profile_business(values: StoredRow, within: str | None) -> FoodBusiness:
    """A business of a profile (built from the grouped columns, not read): the rule sees
    its type, scale, canteen kind, diners, chain flag, status, grades and area. Reading any
    other field (:data:`UNPROFILED`: its opening day, status date, codes, name or staff)
    raises :class:`ProfileFieldError`, which the plugin manager reports as a
    :class:`~twores.core.errors.PluginError` naming the plugin: such a rule would get
    another answer per business than per profile, and the SQL KPIs would part from the
    memory backend's and the duties report's."""
    business = object.__new__(_Profile)
    put = _PUT
    put["area_code"](business, values.get("area_code", within or ""))
    put["business_type"](business, BusinessType.of(values["business_type"]))
    put["scale"](business, maybe(Scale.of, values["scale"]))
    put["canteen_kind"](business, maybe(CanteenKind.of, values["canteen_kind"]))
    put["diners"](business, values["diners"])
    put["chain_headquarters"](business, bool(values["chain_headquarters"]))
    put["status"](business, maybe(OperatingStatus.of, values["status"]))
    put["grade"](business, maybe(Grade.of, values["grade"]))
    put["risk_grade"](business, maybe(RiskLevel.of, values["risk_grade"]))
    return business


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
