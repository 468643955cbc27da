"""Which counties a scheduling run may skip: nothing it reads there changed since the last
run of the same period.

After a run, each county it scheduled whole gets a mark: a fingerprint of what the run read
there, with the counts it found. The fingerprint covers the plan's answers for the county's
areas (slot sets per area and grade), the grade of every business profile, the areas'
version, and the county's change versions of businesses, assignments and tasks (every write
to them bumps these, as the KPI summary relies on too). A later run whose fingerprint for a
county is the same would compute exactly the tasks already filed, so it takes the counts and
moves on: an identical re-run costs little more than asking the plan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

import sqlalchemy as sa

from twores.plugins.sqlalchemy import tables

if TYPE_CHECKING:
    from twores.plugins.sqlalchemy.backend import SqlUnitOfWork

M = tables.task_sync_marks.c
#: The change versions (kpi_versions sources) a county's tasks follow from.
SOURCES = ("business", "assignment", "task")
Counts = tuple[int, int, int]  # tasks, exempt, unassigned


class SyncMarks:
    """The marks of ``period``, for a run whose plan digests per county are ``plan``."""

    def __init__(self, uow: SqlUnitOfWork, period: str, plan: Mapping[str, str]) -> None:
        self.uow, self.period, self.plan = uow, period, plan
        meta = tables.store_meta.c
        self._areas = uow.connection.execute(
            sa.select(meta.value).where(meta.key == "areas_version")
        ).scalar_one()

    def unchanged(self, counties: Collection[str]) -> dict[str, Counts]:
        """The counties whose mark still holds, with the counts found then."""
        if not counties:
            return {}
        query = sa.select(M.county_code, M.fingerprint, M.tasks, M.exempt, M.unassigned).where(
            M.period == self.period, M.county_code.in_(sorted(counties))
        )
        marks = self.uow.connection.execute(query).all()
        if not marks:
            return {}
        now = self._fingerprints(counties)
        return {
            county: (tasks, exempt, unassigned)
            for county, fingerprint, tasks, exempt, unassigned in marks
            if now.get(county) == fingerprint
        }

    def save(self, found: Mapping[str, Counts]) -> None:
        """Mark ``found`` counties (just scheduled) with what the run read there now."""
        if not found:
            return
        now = self._fingerprints(found)
        counties = sorted(found)
        self.uow.connection.execute(
            sa.delete(tables.task_sync_marks).where(
                M.period == self.period, M.county_code.in_(counties)
            )
        )
        self.uow.executemany(
            "INSERT INTO task_sync_marks "
            "(county_code, period, fingerprint, tasks, exempt, unassigned) "
            f"VALUES ({self.uow.placeholders(6)})",
            [(c, self.period, now[c], *found[c]) for c in counties],
        )

    def _fingerprints(self, counties: Collection[str]) -> dict[str, str]:
        versions = self.uow.kpi_summary.versions(counties)
        found = {}
        for county in counties:
            seen = versions.get(county, {})
            read = [self.plan.get(county, ""), str(self._areas)]
            read += [f"{source}={seen.get(source, 0)}" for source in SOURCES]
            found[county] = hashlib.sha256("|".join(read).encode()).hexdigest()
        return found
