"""The national KPIs' counts as SQL GROUP BYs (the memory backend's ``MemoryKpiCounts`` is
the reference). Every query runs within the caller's scope; joined rows are matched in
the same county (``county_code``), so each query stays on one Citus shard per county."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from twores.core.businesses import IN_SCOPE_STATUSES, FoodBusiness, OperatingStatus
from twores.core.duties import DutyKind, duty_compliance
from twores.core.kpis import add_counts, as_counts
from twores.core.letters import earliest_valid_signing
from twores.core.periods import Period
from twores.core.problems import OPEN_WITH_DEADLINE, ProblemStatus
from twores.plugins.sqlalchemy import tables

if TYPE_CHECKING:
    from twores.core.ports import Counts
    from twores.plugins.sqlalchemy.backend import SqlUnitOfWork

B, C, L = tables.businesses.c, tables.cadres.c, tables.letters.c
D, P = tables.duty_records.c, tables.problems.c
_IN_SCOPE = [s.value for s in IN_SCOPE_STATUSES]
#: The director rule is asked once per profile: these columns and the area.
PROFILE = (
    B.area_code,
    B.business_type,
    B.scale,
    B.canteen_kind,
    B.diners,
    B.chain_headquarters,
    B.status,
    B.grade,
    B.risk_grade,
)


def _ones(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


class SqlKpiCounts:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def _where(self, table: sa.Table, within: str | None) -> list[sa.ColumnElement[bool]]:
        clause = self.uow.within_clause(table, within)
        return [] if clause is None else [clause]

    def _grouped(self, query: sa.Select[Any], table: sa.Table, within: str | None) -> Counts:
        query = query.where(*self._where(table, within)).group_by(table.c.area_code)
        return {a: (int(n or 0), int(d)) for a, n, d in self.uow.connection.execute(query)}

    def _has(self, role: str) -> sa.ColumnElement[bool]:
        if self.uow.store.is_postgres:
            value = sa.func.json_extract_path_text(sa.cast(B.staff, postgresql.JSON), role)
        else:
            value = sa.func.json_extract(B.staff, f"$.{role}")
        return value.is_not(None)

    def _businesses(self, condition: sa.ColumnElement[bool], within: str | None) -> Counts:
        query = sa.select(B.area_code, _ones(condition), sa.func.count()).where(
            B.status.in_(_IN_SCOPE)
        )
        return self._grouped(query, tables.businesses, within)

    def letters_signed(self, on: date, *, within: str | None = None) -> Counts:
        valid = (
            sa.select(sa.literal(1))
            .where(
                L.county_code == C.county_code,
                L.cadre_id == C.id,
                L.year == on.year,
                L.signed_on <= on,
                L.signed_on >= earliest_valid_signing(on),
                *self._where(tables.letters, within),
            )
            .exists()
        )
        query = sa.select(C.area_code, _ones(valid), sa.func.count()).where(
            sa.or_(C.active_from.is_(None), C.active_from <= on),
            sa.or_(C.active_to.is_(None), C.active_to > on),
        )
        return self._grouped(query, tables.cadres, within)

    def director_staffed(
        self, on: date, required: Callable[[FoodBusiness, date], bool], *, within: str | None
    ) -> Counts:
        query = (
            sa.select(*PROFILE, _ones(self._has("director")), sa.func.count(), sa.func.min(B.key))
            .where(B.status.in_(_IN_SCOPE), *self._where(tables.businesses, within))
            .group_by(*PROFILE)
        )
        groups = self.uow.connection.execute(query).all()
        examples = self.uow.businesses.get_many([g[-1] for g in groups])
        found: dict[str, list[int]] = {}
        for g in groups:
            if required(examples[g[-1]], on):
                add_counts(found, g.area_code, int(g[-3]), int(g[-2]))
        return as_counts(found)

    def officer_staffed(self, *, within: str | None = None) -> Counts:
        return self._businesses(self._has("officer"), within)

    def data_complete(self, *, within: str | None = None) -> Counts:
        filled = sa.and_(
            B.name != "",
            sa.or_(sa.func.coalesce(B.licence_no, "") != "", sa.func.coalesce(B.uscc, "") != ""),
            B.scale.is_not(None),
            B.grade.is_not(None),
        )
        return self._businesses(filled, within)

    def rectification(
        self, span: tuple[date, date], on: date, *, within: str | None = None
    ) -> Counts:
        query = sa.select(
            P.area_code, _ones(P.status == ProblemStatus.CLOSED.value), sa.func.count()
        ).where(P.found_on >= span[0], P.found_on <= min(span[1], on))
        return self._grouped(query, tables.problems, within)

    def overdue_problems(self, on: date, *, within: str | None = None) -> Counts:
        late = sa.and_(P.status.in_([s.value for s in OPEN_WITH_DEADLINE]), P.deadline < on)
        query = sa.select(P.area_code, _ones(late), sa.func.count()).where(
            P.status != ProblemStatus.CLOSED.value
        )
        return self._grouped(query, tables.problems, within)

    def _filed(self, kind: DutyKind, span: tuple[date, date], within: str | None) -> Any:
        return sa.select(sa.func.count()).where(
            D.county_code == B.county_code,
            D.business_key == B.key,
            D.kind == kind.value,
            D.on_day >= span[0],
            D.on_day <= span[1],
            *self._where(tables.duty_records, within),
        )

    def routine(
        self, kind: DutyKind, span: tuple[date, date], *, within: str | None = None
    ) -> Counts:
        start, end = span
        if end < start:
            return {}
        first = Period.containing(kind.period_kind, start).start
        every = duty_compliance((), kind, start, end).due
        daily = kind is DutyKind.DAILY
        filed = self._filed(kind, (first, end), within).scalar_subquery()
        query = sa.select(B.area_code, sa.func.sum(filed), sa.func.count() * every).where(
            B.status.in_([OperatingStatus.OPERATING.value] if daily else _IN_SCOPE)
        )
        found = {a: list(c) for a, c in self._grouped(query, tables.businesses, within).items()}
        if daily:  # a suspended business owes records only before the day it stopped
            kept = self._filed(kind, span, within).where(D.on_day < B.status_since)
            owed = sa.select(B.area_code, B.status_since, kept.scalar_subquery()).where(
                B.status == OperatingStatus.SUSPENDED.value, *self._where(tables.businesses, within)
            )
            for area, since, n in self.uow.connection.execute(owed):
                last = min(end, since - timedelta(days=1)) if since else start - timedelta(days=1)
                add_counts(found, area, int(n), max(0, (last - start).days + 1))
        return as_counts(found)
