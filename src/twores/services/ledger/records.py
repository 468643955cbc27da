"""What parsing a ledger yields: the records of its good rows and the errors of its bad ones."""

from __future__ import annotations

from datetime import date
from typing import Generic, TypeVar

import attrs

from twores.core.areas import Tier
from twores.core.businesses import FoodBusiness

T = TypeVar("T")


@attrs.frozen
class RowError:
    """One bad value: where (line, 序号, the file's column header), what, and why."""

    row: int
    serial: str | None
    column: str
    value: str
    reason_zh: str
    reason_en: str
    code: str


@attrs.frozen
class CadreRef:
    """A cadre as a ledger row names one; resolved against the stored cadres later."""

    name: str
    phone: str | None = None
    post: str | None = None
    tier: Tier | None = None
    id_number: str | None = None


@attrs.frozen
class BusinessRow:
    """A business ledger row: the business and, when the row names one, its cadre."""

    row: int
    serial: str | None
    business: FoodBusiness
    cadre: CadreRef | None


@attrs.frozen
class AssignmentRow:
    """An assignment ledger row: the business key and a cadre id or reference."""

    row: int
    serial: str | None
    business_key: str
    cadre_id: str | None
    cadre: CadreRef | None
    valid_from: date
    valid_to: date | None


@attrs.frozen
class ParseResult(Generic[T]):
    """Records of the good rows, errors of the bad ones, and field -> header of this file."""

    rows: list[T]
    errors: list[RowError]
    columns: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.errors
