"""Assignments: identified by (business, cadre, valid_from), filed by the business's area."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from twores.core.assignment import Assignment, Plan
from twores.core.ports import UpsertResult, unit_write
from twores.core.roster import UnknownRecordError
from twores.plugins.sqlalchemy import rows, tables
from twores.plugins.sqlalchemy.repos import batches
from twores.plugins.storage.common import AncestorCodes

if TYPE_CHECKING:
    from twores.plugins.sqlalchemy.backend import SqlUnitOfWork


A, B = tables.assignments.c, tables.businesses.c


def in_force_on(day: Any) -> list[sa.ColumnElement[bool]]:
    """An assignment row in force on ``day`` (a date or a date column)."""
    return [A.valid_from <= day, sa.or_(A.valid_to.is_(None), A.valid_to > day)]


def held_on(day: Any) -> sa.ColumnElement[bool]:
    """The business row is held by an assignment on ``day`` (answered from
    ``ix_assignments_held``)."""
    return (
        sa.select(sa.literal(1))
        .where(A.county_code == B.county_code, A.business_key == B.key, *in_force_on(day))
        .exists()
    )


class Assignments:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    @unit_write
    def upsert_many(self, assignments: Iterable[Assignment]) -> UpsertResult:
        self.uow.writing()
        result = UpsertResult()
        for batch in batches(assignments):
            result += self._upsert_batch(batch)
        return result

    def _upsert_batch(self, batch: list[Assignment]) -> UpsertResult:
        uow = self.uow
        guard = uow.guard
        t = tables.assignments
        keys = sorted({a.business_key for a in batch})
        areas = dict(
            uow.connection.execute(
                sa.select(tables.businesses.c.key, tables.businesses.c.area_code).where(
                    uow.one_of(tables.businesses.c.key, keys)
                )
            ).all()
        )
        cadre_ids = sorted({a.cadre_id for a in batch})
        known_cadres = set(
            uow.connection.execute(
                sa.select(tables.cadres.c.id).where(uow.one_of(tables.cadres.c.id, cadre_ids))
            ).scalars()
        )
        existing = {
            (r["business_key"], r["cadre_id"], r["valid_from"]): r
            for r in uow.connection.execute(sa.select(t).where(uow.one_of(t.c.business_key, keys)))
            .mappings()
            .all()
        }
        mark = uow.mark
        inserts, updates = [], []
        changes: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = []
        unchanged = 0
        for assignment in {rows.assignment_id(a): a for a in batch}.values():
            area = areas.get(assignment.business_key)
            if area is None:
                raise UnknownRecordError("包保主体", "business", assignment.business_key)
            if assignment.cadre_id not in known_cadres:
                raise UnknownRecordError("包保干部", "cadre", assignment.cadre_id)
            key = rows.assignment_key(assignment)
            guard.check_write(area, f"包保关系 {key}", f"assignment {key}")
            before = existing.get(rows.assignment_id(assignment))
            after = rows.assignment_plain(assignment)
            if before is not None:
                if (
                    before["valid_to"] == assignment.valid_to
                    and before["reason"] == assignment.reason.value
                ):
                    unchanged += 1
                    continue
                updates.append(
                    (
                        assignment.valid_to,
                        assignment.reason.value,
                        before["county_code"],
                        assignment.business_key,
                        assignment.cadre_id,
                        assignment.valid_from,
                    )
                )
                changes.append((key, rows.assignment_row_plain(before), after))
                continue
            codes = AncestorCodes.of(guard.hierarchy, area)
            inserts.append(rows.assignment_values(assignment, codes))
            changes.append((key, None, after))
        columns = rows.ASSIGNMENT_COLUMNS
        uow.executemany(
            f"INSERT INTO assignments ({', '.join(columns)}) "
            f"VALUES ({uow.placeholders(len(columns))})",
            inserts,
        )
        uow.executemany(
            f"UPDATE assignments SET valid_to={mark}, reason={mark} WHERE county_code={mark} "
            f"AND business_key={mark} AND cadre_id={mark} AND valid_from={mark}",
            updates,
        )
        uow.kpi_summary.touched("assignment", [v[2] for v in inserts] + [u[2] for u in updates])
        uow.record("assignment", changes)
        return UpsertResult(len(inserts), len(updates), unchanged)

    @unit_write
    def apply(self, plan: Plan) -> UpsertResult:
        ended = []
        for change in plan.ends:
            for held in self.stream(business_key=change.business_key, cadre_id=change.cadre_id):
                if held.valid_from == change.valid_from and held.is_active(plan.on):
                    ended.append(held.ended(plan.on))
        return self.upsert_many([*ended, *(c.assignment for c in plan.creates)])

    def _query(
        self,
        business_key: str | None,
        cadre_id: str | None,
        active_on: date | None,
        within: str | None,
    ) -> list[sa.ColumnElement[bool]]:
        t = tables.assignments
        conditions: list[sa.ColumnElement[bool]] = []
        clause = self.uow.within_clause(t, within)
        if clause is not None:
            conditions.append(clause)
        if business_key is not None:
            conditions.append(t.c.business_key == business_key)
        if cadre_id is not None:
            conditions.append(t.c.cadre_id == cadre_id)
        if active_on is not None:
            conditions += in_force_on(active_on)
        return conditions

    def stream(
        self,
        *,
        business_key: str | None = None,
        business_keys: Collection[str] | None = None,
        cadre_id: str | None = None,
        active_on: date | None = None,
        within: str | None = None,
        county_code: str | None = None,
    ) -> Iterator[Assignment]:
        t = tables.assignments
        conditions = self._query(business_key, cadre_id, active_on, within)
        if county_code is not None:
            conditions.append(t.c.county_code == county_code)
        query = (
            sa.select(t).where(*conditions).order_by(t.c.business_key, t.c.cadre_id, t.c.valid_from)
        )
        if business_keys is None:
            for row in self.uow.fetch(query):
                yield rows.assignment(row)
            return
        # One statement per batch of keys (a database takes a bounded number of parameters:
        # 65,535 on PostgreSQL); sorted keys batched in order keep the business key order.
        for batch in batches(sorted(set(business_keys))):
            for row in self.uow.fetch(query.where(self.uow.one_of(t.c.business_key, batch))):
                yield rows.assignment(row)

    def count(self, *, active_on: date | None = None, within: str | None = None) -> int:
        t = tables.assignments
        query = (
            sa.select(sa.func.count())
            .select_from(t)
            .where(*self._query(None, None, active_on, within))
        )
        return int(self.uow.connection.execute(query).scalar_one())
