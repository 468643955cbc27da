"""Assignments (包保关系): which cadre answers for which business, and when."""

from __future__ import annotations

from datetime import date

import attrs

from twores.core.areas import check_date_range
from twores.core.cadres import _check_id
from twores.core.labels import LabelledEnum


class AssignmentReason(LabelledEnum):
    """Why an assignment began or ended."""

    INITIAL = ("initial", "首次包保", "initial assignment")
    IMPORTED = ("imported", "台账导入", "imported from a ledger")
    NEW_BUSINESS = ("new_business", "新增主体", "new business")
    CADRE_LEFT = ("cadre_left", "干部调整", "cadre left or moved")
    REGRADED = ("regraded", "等级调整", "business regraded")
    MOVED = ("moved", "主体迁移", "business moved")
    BUSINESS_CLOSED = ("business_closed", "主体注销", "business closed")
    REBALANCE = ("rebalance", "均衡调整", "load rebalancing")
    MANUAL = ("manual", "人工调整", "manual change")


@attrs.frozen
class Assignment:
    """Cadre ``cadre_id`` answers for business ``business_key`` on ``valid_from <= day < valid_to``.

    History is never deleted: ending an assignment sets ``valid_to``.
    """

    cadre_id: str = attrs.field(validator=_check_id)
    business_key: str = attrs.field(validator=attrs.validators.min_len(1))
    valid_from: date = attrs.field(validator=attrs.validators.instance_of(date))
    valid_to: date | None = None
    reason: AssignmentReason = AssignmentReason.INITIAL

    def __attrs_post_init__(self) -> None:
        check_date_range(self.valid_from, self.valid_to, "valid_from", "valid_to")

    def is_active(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)

    def ended(self, on: date) -> Assignment:
        """This assignment, closed at ``on`` (exclusive)."""
        return attrs.evolve(self, valid_to=on)
