"""The national KPIs' counts, record by record: the reference the SQL backend must match."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING

from twores.core.areas import Tier
from twores.core.businesses import FoodBusiness, OperatingStatus, StaffMember
from twores.core.duties import DutyKind, DutyRecord, due_periods, duty_compliance, owes_period
from twores.core.kpis import BusinessTally, add_counts, as_counts, county_key
from twores.core.problems import ProblemStatus

if TYPE_CHECKING:
    from twores.core.ports import Counts, UnitOfWork


def complete(b: FoodBusiness) -> bool:
    """The fields a business record must have (主体数据归集): name, area, type, licence or
    credit code, scale, assignment grade and status."""
    return bool(b.name and (b.licence_no or b.uscc) and b.scale and b.grade and b.status)


def serving(person: StaffMember | None, on: date) -> bool:
    """Someone holds the role and is not banned on ``on``."""
    return person is not None and not person.is_banned(on)


class MemoryKpiCounts:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def _county(self, area_code: str) -> str:
        return county_key(self.uow.areas.hierarchy(), area_code)

    def _in_scope(self, within: str | None, on: date) -> Iterable[FoodBusiness]:
        """The businesses open, and operating or suspended, at the end of ``on``."""
        return (b for b in self.uow.businesses.stream(within=within) if b.in_scope_on(on))

    def letters_signed(self, on: date, *, within: str | None = None) -> Counts:
        signed = {
            (x.cadre_id, self._county(x.area_code))
            for x in self.uow.letters.stream(within=within)
            if x.counts_on(on)  # signed within the year, whatever year it is for
        }
        area = {b.key: b.area_code for b in self.uow.businesses.stream(within=within)}
        holding = {
            (a.cadre_id, self._county(area[a.business_key]))
            for a in self.uow.assignments.stream(active_on=on, within=within)
            if a.business_key in area
        }
        found: dict[str, list[int]] = {}
        for cadre in self.uow.cadres.stream(within=within):
            mine = (cadre.id, self._county(cadre.area_code))
            # Above county level a cadre's businesses lie in other counties: counted as holding.
            holds = mine in holding or cadre.tier.depth < Tier.COUNTY.depth
            if cadre.is_active(on) and holds:
                add_counts(found, cadre.area_code, mine in signed, 1)
        return as_counts(found)

    def businesses(
        self,
        on: date,
        required: Callable[[FoodBusiness, date], bool],
        *,
        within: str | None,
        by_area: bool = True,
    ) -> dict[str, BusinessTally]:
        assignments = self.uow.assignments.stream(active_on=on, within=within)
        held = {a.business_key for a in assignments}
        found: dict[str, list[int]] = {}
        for b in self._in_scope(within, on):
            must = required(b, on)
            counts = found.setdefault(b.area_code, [0] * 7)
            for i, yes in enumerate(
                (
                    True,
                    b.status_on(on) is OperatingStatus.OPERATING,
                    b.key in held,
                    serving(b.staff.officer, on),
                    complete(b),
                    must,
                    must and serving(b.staff.director, on),
                )
            ):
                counts[i] += yes
        return {area: BusinessTally(*counts) for area, counts in found.items()}

    def rectification(
        self, span: tuple[date, date], on: date, *, within: str | None = None
    ) -> Counts:
        found: dict[str, list[int]] = {}
        for p in self.uow.problems.stream(within=within):
            if span[0] <= p.found_on <= min(span[1], on):
                closed = p.state_on(on)[0] is ProblemStatus.CLOSED
                add_counts(found, p.area_code, closed, 1)
        return as_counts(found)

    def overdue_problems(self, on: date, *, within: str | None = None) -> Counts:
        found: dict[str, list[int]] = {}
        for p in self.uow.problems.stream(within=within):
            if p.found_on <= on and p.state_on(on)[0] is not ProblemStatus.CLOSED:
                add_counts(found, p.area_code, p.overdue_on(on), 1)
        return as_counts(found)

    def routines(
        self, spans: Mapping[DutyKind, tuple[date, date]], *, within: str | None = None
    ) -> dict[DutyKind, Counts]:
        return {kind: self._routine(kind, span, within) for kind, span in spans.items()}

    def _routine(self, kind: DutyKind, span: tuple[date, date], within: str | None) -> Counts:
        start, end = span
        if end < start:
            return {}
        due = due_periods(kind, start, end)
        if not due:
            return {}
        filed: dict[tuple[str, str], list[DutyRecord]] = {}
        between = (due[0].start, due[-1].end)
        for r in self.uow.duties.stream(kind=kind, between=between, within=within):
            filed.setdefault((r.business_key, self._county(r.area_code)), []).append(r)
        found: dict[str, list[int]] = {}
        for b in self._in_scope(within, end):
            mine = filed.get((b.key, self._county(b.area_code)), [])
            owed = functools.partial(owes_period, b)
            c = duty_compliance(mine, kind, start, end, owes=owed)
            add_counts(found, b.area_code, c.kept, c.due)
        return as_counts(found)
