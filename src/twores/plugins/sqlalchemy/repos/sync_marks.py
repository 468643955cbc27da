"""Which counties a scheduling run may skip: nothing it reads there changed since the last
run of the same period.

After a run, each county it scheduled whole gets a mark: a fingerprint of what the run read
there, with the counts it found. The fingerprint covers the plan's answers for the county's
areas (slot sets per area and grade), the grade of every business profile, the areas'
version, the county's change versions of businesses and assignments as they were before the
run read anything (writes bump them; on PostgreSQL a change another transaction commits
during the run then shows as a newer version next time, never as one already read), and its
tasks' version after the run's own writes. A later run whose fingerprint for a county is the
same would compute exactly the tasks already filed, so it takes the counts and moves on: an
identical re-run costs little more than asking the plan. Marks made by another release of
twores never hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from importlib import metadata
from typing import TYPE_CHECKING

import sqlalchemy as sa

from twores.plugins.sqlalchemy import tables
from twores.plugins.sqlalchemy.repos.areas import areas_version

if TYPE_CHECKING:
    from twores.plugins.sqlalchemy.backend import SqlUnitOfWork

M = tables.task_sync_marks.c
#: The change versions (kpi_versions sources) a county's tasks follow from, and the run's own.
INPUTS = ("business", "assignment")
OUTPUT = "task"
Counts = tuple[int, int, int]  # tasks, exempt, unassigned


def _scheduler_version() -> str:
    """Marks made by another release do not hold: what scheduling writes may have changed."""
    try:
        return metadata.version("twores")
    except metadata.PackageNotFoundError:
        return ""


SCHEDULER = _scheduler_version()


class SyncMarks:
    """The marks of ``period``; made before the run reads anything of ``counties``, then
    given the plan's digest per county once it is asked."""

    def __init__(self, uow: SqlUnitOfWork, period: str, counties: Collection[str]) -> None:
        self.uow, self.period = uow, period
        self.plan: Mapping[str, str] = {}
        self._areas = areas_version(uow.connection)
        self._before = uow.kpi_summary.versions(counties)

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
        now = self._fingerprints(counties, self._before)
        return {
            county: (tasks, exempt, unassigned)
            for county, fingerprint, tasks, exempt, unassigned in marks
            if now.get(county) == fingerprint
        }

    def save(self, found: Mapping[str, Counts]) -> None:
        """Mark ``found`` counties (just scheduled) with what the run read there now."""
        if not found:
            return
        now = self._fingerprints(found, self.uow.kpi_summary.versions(found))
        counties = sorted(found)
        self.uow.connection.execute(
            sa.delete(tables.task_sync_marks).where(
                M.period == self.period, M.county_code.in_(counties)
            )
        )
        self.uow.insert_rows(
            "task_sync_marks",
            tuple(c.name for c in tables.task_sync_marks.columns),
            [(c, self.period, now[c], *found[c]) for c in counties],
        )

    def _fingerprints(
        self, counties: Collection[str], versions: Mapping[str, Mapping[str, int]]
    ) -> dict[str, str]:
        """Fingerprints with the task version from ``versions`` (the rest as read before)."""
        found = {}
        for county in counties:
            before, after = self._before.get(county, {}), versions.get(county, {})
            read = [SCHEDULER, self.plan.get(county, ""), str(self._areas)]
            read += [f"{source}={before.get(source, 0)}" for source in INPUTS]
            read.append(f"{OUTPUT}={after.get(OUTPUT, 0)}")
            found[county] = hashlib.sha256("|".join(read).encode()).hexdigest()
        return found
