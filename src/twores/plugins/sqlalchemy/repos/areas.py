"""Areas: a small reference table, read whole into a hierarchy."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from twores.core.areas import Area, Hierarchy, records_block_the_move
from twores.core.ports import UpsertResult, unit_write
from twores.plugins.sqlalchemy import rows, tables
from twores.plugins.sqlalchemy.tables import TIER_COLUMN

if TYPE_CHECKING:
    from twores.plugins.sqlalchemy.backend import SqlUnitOfWork


def areas_version(connection: sa.Connection) -> int:
    """How many times the areas changed (bumped by every write to them)."""
    meta = tables.store_meta
    value = connection.execute(
        sa.select(meta.c.value).where(meta.c.key == "areas_version")
    ).scalar_one()
    return int(value)


class Areas:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    @unit_write
    def upsert_many(self, areas: Iterable[Area]) -> UpsertResult:
        self.uow.writing()
        uow = self.uow
        uow.guard.check_admin("区划", "areas")
        existing = {
            a.code: a
            for a in (rows.area(r) for r in uow.connection.execute(sa.select(tables.areas)))
        }
        staged = dict(existing)
        changes: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = []
        inserts: list[Area] = []
        updates: list[Area] = []
        unchanged = 0
        for area in areas:
            before = staged.get(area.code)
            if before == area:
                unchanged += 1
                continue
            if before is not None and before.parent_code != area.parent_code:
                self._check_empty(existing.get(area.code), area.parent_code)
            staged[area.code] = area
            (inserts if before is None else updates).append(area)
            changes.append(
                (area.code, rows.area_plain(before) if before else None, rows.area_plain(area))
            )
        if not changes:
            return UpsertResult(0, 0, unchanged)
        hierarchy = Hierarchy(staged.values())
        columns = ("code", "name", "tier", "parent_code", "valid_from", "valid_to")
        uow.executemany(
            f"INSERT INTO areas ({', '.join(columns)}) VALUES ({uow.placeholders(len(columns))})",
            [rows.area_values(a) for a in {a.code: a for a in inserts}.values()],
        )
        mark = uow.mark
        uow.executemany(
            f"UPDATE areas SET name={mark}, tier={mark}, parent_code={mark}, valid_from={mark}, "
            f"valid_to={mark} WHERE code={mark}",
            [(*rows.area_values(a)[1:], a.code) for a in updates],
        )
        uow._hierarchy, uow._hierarchy_changed = hierarchy, True
        meta = tables.store_meta
        uow.connection.execute(
            sa.update(meta).where(meta.c.key == "areas_version").values(value=meta.c.value + 1)
        )
        uow.record("area", changes)
        inserted = len({a.code for a in inserts})
        return UpsertResult(inserted, len(changes) - inserted, unchanged)

    def _check_empty(self, stored: Area | None, parent_code: str | None) -> None:
        """Refuse to move a stored area that has records filed in it: each row keeps its
        ancestor codes, which scope every query."""
        if stored is None:
            return
        for table in tables.FILED:
            column = table.c[TIER_COLUMN[stored.tier]]
            query = sa.select(sa.literal(1)).select_from(table).where(column == stored.code)
            if self.uow.connection.execute(query.limit(1)).first() is not None:
                raise records_block_the_move(stored, parent_code)

    def get(self, code: str) -> Area | None:
        return self.uow._hierarchy.get(code)

    def stream(self) -> Iterator[Area]:
        return iter(sorted(self.uow._hierarchy, key=lambda a: (a.tier.depth, a.code)))

    def hierarchy(self) -> Hierarchy:
        return self.uow._hierarchy
