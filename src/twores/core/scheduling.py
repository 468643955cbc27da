"""Scheduling: bringing a period's supervision tasks up to date with a :class:`TaskPlan`.

:func:`sync_tasks` is the reference, written over any unit of work's repositories: one
county at a time (memory holds a county, not a province). A backend may do the same
set-wise (``TaskRepository.sync``); the results must be identical.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import attrs

from twores.core.assignment import Assignment
from twores.core.ports import TaskSync, UnitOfWork, UpsertResult
from twores.core.supervision import (
    NO_LONGER_DUE,
    SupervisionTask,
    TaskPlan,
    merge_task,
    required_tasks,
)


def sync_tasks(uow: UnitOfWork, plan: TaskPlan, *, within: str | None = None) -> TaskSync:
    """Insert the tasks ``plan`` requires, update changed ones (a fulfilled task keeps its
    visit; a moved business takes its task along) and retire filed tasks no longer due."""
    span = (plan.requested.start, plan.requested.end)
    tally = TaskTally()
    wanted: set[str] = set()
    leftover: list[SupervisionTask] = []
    counties = sorted(
        {*uow.businesses.county_codes(within=within), *uow.tasks.county_codes(within=within)}
    )
    for county in counties:
        held: dict[str, list[Assignment]] = defaultdict(list)
        for assignment in uow.assignments.stream(within=within, county_code=county):
            held[assignment.business_key].append(assignment)
        businesses = uow.businesses.stream(within=within, county_code=county)
        required = required_tasks(businesses, held, plan.slots)
        filed = {
            t.key: t for t in uow.tasks.stream(overlapping=span, within=within, county_code=county)
        }
        moved_in = [t.key for t in required if t.key not in filed]
        existing = {**filed, **uow.tasks.get_many(moved_in)} if moved_in else filed
        merged = [merge_task(existing.get(t.key), t) for t in required]
        wanted.update(t.key for t in merged)
        leftover += [t for key, t in filed.items() if key not in wanted]
        changed = [t for t in merged if existing.get(t.key) != t]
        tally.wrote(changed)
        tally.add(merged, uow.tasks.upsert_many(changed))
    retired = retirements(t for t in leftover if t.key not in wanted)
    tally.wrote(retired)
    return tally.result(uow.tasks.upsert_many(retired), len(retired))


def retirements(unwanted: Iterable[SupervisionTask]) -> list[SupervisionTask]:
    """The filed tasks no longer required, marked so (fulfilled ones stay as they are)."""
    return [
        attrs.evolve(t, exempt_reason=NO_LONGER_DUE)
        for t in unwanted
        if not t.done and t.exempt_reason != NO_LONGER_DUE
    ]


@attrs.define
class TaskTally:
    """Counts of the required tasks and of what writing them changed."""

    tasks: int = 0
    exempt: int = 0
    unassigned: int = 0
    written: UpsertResult = attrs.Factory(UpsertResult)
    #: The businesses whose tasks were written; None once some were written unnamed.
    businesses: set[str] | None = attrs.Factory(set)

    def wrote(self, tasks: Iterable[SupervisionTask]) -> None:
        """``tasks`` are written (their businesses are named in the result)."""
        if self.businesses is not None:
            self.businesses.update(t.business_key for t in tasks)

    def add(self, merged: list[SupervisionTask], written: UpsertResult) -> None:
        exempt = sum(t.exempt for t in merged)
        unassigned = sum(t.cadre_id is None and not t.exempt for t in merged)
        self.add_counts(len(merged), exempt, unassigned, written)

    def add_counts(self, tasks: int, exempt: int, unassigned: int, written: UpsertResult) -> None:
        """``tasks`` required (``exempt`` of them exempt, ``unassigned`` open without a
        holder), of which ``written`` were written."""
        self.tasks += tasks
        self.exempt += exempt
        self.unassigned += unassigned
        unchanged = tasks - written.inserted - written.updated
        self.written += written + UpsertResult(unchanged=unchanged)

    def result(self, retire_written: UpsertResult, retired: int) -> TaskSync:
        written_to = None if self.businesses is None else frozenset(self.businesses)
        return TaskSync(
            self.tasks,
            self.exempt,
            self.unassigned,
            self.written + retire_written,
            retired,
            written_to,
        )
