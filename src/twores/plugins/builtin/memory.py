"""The in-memory backend: complete, and the reference model the SQL backend must match."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import date
from types import TracebackType
from typing import Any, Self

import attrs

from twores.core.areas import Area, Hierarchy, records_block_the_move
from twores.core.assignment import Assignment, Plan
from twores.core.audit import (
    GENESIS,
    AuditChain,
    AuditEntry,
    AuditProblem,
    AuditSummary,
    verify_chain,
)
from twores.core.businesses import FoodBusiness
from twores.core.cadres import Cadre
from twores.core.duties import DutyKind, DutyRecord
from twores.core.errors import UnitFailedError
from twores.core.kpis import Ranking, RankingRun, add_counts, as_counts
from twores.core.letters import Letter
from twores.core.ports import (
    WRITES_WAIT,
    ImportRecord,
    TaskSync,
    UnitState,
    UpsertResult,
    WritesBusyError,
    unit_write,
)
from twores.core.problems import Problem, ProblemStatus, Severity
from twores.core.scheduling import sync_tasks
from twores.core.security import Scope
from twores.core.supervision import SupervisionTask, TaskPlan, Visit, counts_toward, credited_on
from twores.plugins import hookimpl
from twores.plugins.builtin.memory_kpis import MemoryKpiCounts
from twores.plugins.records import BackendSpec
from twores.plugins.storage.common import (
    AncestorCodes,
    Change,
    ScopeGuard,
    audit_payloads,
    county_moves_refused,
    letters_follow,
    plain,
)

AssignmentId = tuple[str, str, date]


@attrs.define
class _State:
    areas: dict[str, Area] = attrs.Factory(dict)
    businesses: dict[str, FoodBusiness] = attrs.Factory(dict)
    cadres: dict[str, Cadre] = attrs.Factory(dict)
    assignments: dict[AssignmentId, Assignment] = attrs.Factory(dict)
    audit: list[AuditEntry] = attrs.Factory(list)
    imports: dict[str, ImportRecord] = attrs.Factory(dict)
    tasks: dict[str, SupervisionTask] = attrs.Factory(dict)
    visits: dict[str, Visit] = attrs.Factory(dict)
    letters: dict[str, Letter] = attrs.Factory(dict)
    duties: dict[str, DutyRecord] = attrs.Factory(dict)
    problems: dict[str, Problem] = attrs.Factory(dict)
    rankings: dict[str, RankingRun] = attrs.Factory(dict)
    #: The chain's head (last seq and hash), kept apart from the entries as the SQL store
    #: keeps ``audit_head``: a cut-off or emptied log no longer ends at it.
    audit_head: tuple[int, str] = (0, GENESIS)

    def copy(self) -> _State:
        return _State(
            dict(self.areas),
            dict(self.businesses),
            dict(self.cadres),
            dict(self.assignments),
            list(self.audit),
            dict(self.imports),
            dict(self.tasks),
            dict(self.visits),
            dict(self.letters),
            dict(self.duties),
            dict(self.problems),
            dict(self.rankings),
            self.audit_head,
        )


def assignment_id(assignment: Assignment) -> AssignmentId:
    return (assignment.business_key, assignment.cadre_id, assignment.valid_from)


class MemoryStore:
    """All data in dicts; units of work stage a copy and swap it in on commit. A unit that
    claims writes holds the store's writer lock until it ends, and copies the state again
    once it holds it (so it writes over no commit it did not read)."""

    def __init__(self, url: str = "memory://", *, writes_wait: float = WRITES_WAIT) -> None:
        self.url = url
        self.writes_wait = writes_wait
        self._state = _State()
        self._hierarchy: Hierarchy | None = None
        self._lock = threading.Lock()
        self._writer = threading.Lock()  # held by the unit of work that claimed writes
        self._writer_thread: int | None = None

    def unit_of_work(self, scope: Scope) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self, scope)

    def close(self) -> None:
        """Nothing to release."""

    def _commit(self, state: _State, hierarchy: Hierarchy | None) -> None:
        with self._lock:
            self._state = state
            if hierarchy is not None:
                self._hierarchy = hierarchy

    def _current_hierarchy(self) -> Hierarchy:
        if self._hierarchy is None:
            self._hierarchy = Hierarchy(self._state.areas.values())
        return self._hierarchy


class MemoryUnitOfWork:
    """Stages a copy of the store's state; keeps the :class:`~twores.core.ports.UnitOfWork`
    rules through :attr:`state` (the staged state is refused once the unit ended)."""

    def __init__(self, store: MemoryStore, scope: Scope) -> None:
        self.store, self.scope = store, scope
        self.writes_wait = store.writes_wait
        self.state = UnitState()
        self._claimed = False
        self._committed = False
        self._begin()
        self.areas = _Areas(self)
        self.businesses = _Businesses(self)
        self.cadres = _Cadres(self)
        self.assignments = _Assignments(self)
        self.tasks = _Tasks(self)
        self.visits = _Visits(self)
        self.letters = _Letters(self)
        self.duties = _Duties(self)
        self.problems = _Problems(self)
        self.rankings = _Rankings(self)
        self.audit = _Audit(self)
        self.imports = _Imports(self)
        self.kpi_counts = MemoryKpiCounts(self)
        self.kpi_summary = None

    def _begin(self) -> None:
        """Stage a copy of the store's state as it is now."""
        store = self.store
        with store._lock:
            self._staged = store._state.copy()
            self._hierarchy = store._current_hierarchy()
        self._hierarchy_changed = False
        self._counties: dict[str, str] = {}
        self._chain = AuditChain(*self._state.audit_head)

    @property
    def _state(self) -> _State:
        """The staged state; :class:`~twores.core.errors.UnitEndedError` once the unit ended."""
        self.state.check()
        return self._staged

    @property
    def guard(self) -> ScopeGuard:
        return ScopeGuard(self.scope, self._hierarchy)

    def claim_writes(self) -> None:
        """Hold the store's writer lock until this unit ends (waiting at most
        ``writes_wait`` seconds, else :class:`WritesBusyError`), then stage the state again:
        this unit reads every commit made before it and none is made until it ends. Call
        it before anything is staged (what was would be dropped)."""
        self.state.check()
        if self._claimed:
            return
        store = self.store
        if store._writer_thread == threading.get_ident():
            raise RuntimeError("this thread's other unit of work holds the writer claim")
        if not store._writer.acquire(timeout=max(self.writes_wait, 0.001)):
            raise WritesBusyError()
        store._writer_thread = threading.get_ident()
        self._claimed = True
        self._begin()

    def _release(self) -> None:
        if self._claimed:
            self._claimed = False
            self.store._writer_thread = None
            self.store._writer.release()

    def county_of(self, area_code: str) -> str:
        """The distribution key a record in ``area_code`` is filed under (as the SQL store)."""
        found = self._counties.get(area_code)
        if found is None:
            found = self._counties[area_code] = AncestorCodes.of(
                self._hierarchy, area_code
            ).county_code
        return found

    def record(self, entity: str, changes: list[Change]) -> None:
        """Append audit entries for (key, before, after) changes."""
        for operation, key, before, after in audit_payloads(changes):
            entry = self._chain.next(self.scope.actor, operation, entity, key, before, after)
            self._state.audit.append(entry)
            self._state.audit_head = (entry.seq, entry.hash)

    def commit(self) -> None:
        """Swap the staged state in; a failed unit (a write raised) stores nothing and
        raises :class:`~twores.core.errors.UnitFailedError`. The unit ends either way."""
        with self.state.ending():
            try:
                if self.state.failed:
                    raise UnitFailedError()
                hierarchy = self._hierarchy if self._hierarchy_changed else None
                self.store._commit(self._staged, hierarchy)
                self._committed = True
            finally:
                self._release()

    def rollback(self) -> None:
        """Drop what was staged and end the unit; nothing once it has ended."""
        self.state.ended = True
        self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            self.rollback()
        self._release()


class _Areas:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    @unit_write
    def upsert_many(self, areas: Iterable[Area]) -> UpsertResult:
        self.uow.guard.check_admin("区划", "areas")
        table = self.uow._state.areas
        staged = dict(table)
        inserted = updated = unchanged = 0
        changes: list[tuple[str, Area | None, Area]] = []
        for area in areas:
            before = staged.get(area.code)
            if before == area:
                unchanged += 1
                continue
            if before is not None and before.parent_code != area.parent_code:
                self._check_empty(table.get(area.code), area.parent_code)
            staged[area.code] = area
            changes.append((area.code, before, area))
            inserted += before is None
            updated += before is not None
        if changes:
            hierarchy = Hierarchy(staged.values())
            self.uow._state.areas = staged
            self.uow._hierarchy, self.uow._hierarchy_changed = hierarchy, True
            self.uow._counties.clear()
            self.uow.record(
                "area",
                [(code, plain(b) if b else None, plain(a)) for code, b, a in changes],
            )
        return UpsertResult(inserted, updated, unchanged)

    def _check_empty(self, stored: Area | None, parent_code: str | None) -> None:
        """As the SQL store does: a stored area with records filed in it keeps its parent."""
        if stored is None:
            return
        state, hierarchy = self.uow._state, self.uow._hierarchy
        filed = (
            state.businesses,
            state.cadres,
            state.tasks,
            state.visits,
            state.letters,
            state.duties,
            state.problems,
        )
        for records in filed:
            if any(hierarchy.contains(stored.code, r.area_code) for r in records.values()):
                raise records_block_the_move(stored, parent_code)

    def get(self, code: str) -> Area | None:
        return self.uow._state.areas.get(code)

    def stream(self) -> Iterator[Area]:
        return iter(sorted(self.uow._state.areas.values(), key=lambda a: (a.tier.depth, a.code)))

    def hierarchy(self) -> Hierarchy:
        return self.uow._hierarchy


class _Keyed:
    """Shared upsert/get/stream/count for records keyed by a string and placed in an area."""

    entity = ""
    what_zh = ""
    #: A record stays in the county it is filed in (businesses), as on SQL.
    stays_in_county = False

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def _table(self) -> dict[str, Any]:
        raise NotImplementedError

    def _key(self, record: Any) -> str:
        raise NotImplementedError

    def bulk_load(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()

    @unit_write
    def upsert_many(self, records: Iterable[Any]) -> UpsertResult:
        table = self._table()
        guard = self.uow.guard
        inserted = updated = unchanged = 0
        changes: list[Change] = []
        moved: list[str] = []
        records = list(records)
        for record in records:  # as the SQL backend: where they go first, then where they are
            AncestorCodes.of(guard.hierarchy, record.area_code)
            key = self._key(record)
            guard.check_write(record.area_code, f"{self.what_zh} {key}", f"{self.entity} {key}")
        filed = [(k, table[k].area_code) for k in map(self._key, records) if k in table]
        guard.check_stored_writes(filed, self.what_zh, self.entity)
        if self.stays_in_county:
            self._check_counties(records, table)
        for record in records:
            key = self._key(record)
            before = table.get(key)
            if before == record:
                unchanged += 1
                continue
            table[key] = record
            changes.append(
                (key, self._audit(before) if before is not None else None, self._audit(record))
            )
            inserted += before is None
            updated += before is not None
            if before is not None and before.area_code != record.area_code:
                moved.append(key)
        self.uow.record(self.entity, changes)
        return UpsertResult(inserted, updated, unchanged, tuple(moved))

    def _check_counties(self, records: list[Any], table: dict[str, Any]) -> None:
        """No stored record moves to another county (as the SQL store refuses)."""
        county_of = self.uow.county_of
        crossing = []
        for record in records:
            before = table.get(self._key(record))
            if before is None or before.area_code == record.area_code:
                continue
            stored, county = county_of(before.area_code), county_of(record.area_code)
            if stored != county:
                crossing.append((self._key(record), stored, record.area_code, county))
        if crossing:
            raise county_moves_refused(crossing, self.uow.guard.hierarchy)

    def _audit(self, record: Any) -> dict[str, Any]:
        data = plain(record)
        if "staff" in data:
            staff = data["staff"]
            data["staff"] = (
                json.dumps(staff, ensure_ascii=False, sort_keys=True)
                if any(staff.values())
                else None
            )
        return {"key" if self.entity == "business" else "id": self._key(record), **data}

    def get(self, key: str) -> Any:
        record = self._table().get(key)
        if record is None or not self.uow.guard.allows(record.area_code):
            return None
        return record

    def get_many(self, keys: Collection[str]) -> dict[str, Any]:
        """The records of ``keys`` that exist and lie in scope, by key."""
        return {k: r for k in keys if (r := self.get(k)) is not None}

    def stream(self, *, within: str | None = None, county_code: str | None = None) -> Iterator[Any]:
        return self._matching(lambda _: True, within, county_code)

    def page(
        self,
        *,
        within: str | None = None,
        offset: int = 0,
        limit: int,
        after: str | None = None,
    ) -> list[Any]:
        found = self.stream(within=within)
        if after is not None:
            found = (r for r in found if self._key(r) > after)
        return list(itertools.islice(found, offset, offset + limit))

    def county_codes(self, *, within: str | None = None) -> list[str]:
        county_of = self.uow.county_of
        return sorted({county_of(r.area_code) for r in self._matching(lambda _: True, within)})

    def _matching(
        self, wanted: Callable[[Any], bool], within: str | None, county_code: str | None = None
    ) -> Iterator[Any]:
        guard = self.uow.guard
        root = guard.within(within)
        table = self._table()
        county_of = self.uow.county_of
        for key in sorted(table):
            record = table[key]
            if county_code is not None and county_of(record.area_code) != county_code:
                continue
            if (root is None or guard.hierarchy.contains(root, record.area_code)) and wanted(
                record
            ):
                yield record

    def count(self, *, within: str | None = None) -> int:
        return sum(1 for _ in self.stream(within=within))


class _Businesses(_Keyed):
    entity, what_zh = "business", "包保主体"
    stays_in_county = True

    def search(
        self, text: str, *, within: str | None = None, offset: int = 0, limit: int
    ) -> list[FoodBusiness]:
        wanted = text.lower()

        def holds(b: FoodBusiness) -> bool:
            return any(wanted in (v or "").lower() for v in (b.name, b.licence_no, b.uscc))

        return list(itertools.islice(self._matching(holds, within), offset, offset + limit))

    def keys_by_uscc(self, codes: Collection[str]) -> dict[str, list[str]]:
        wanted, found = set(codes), defaultdict[str, list[str]](list)
        for b in self.stream():
            if b.uscc in wanted:
                found[b.uscc].append(b.key)
        return dict(found)

    def uscc_filed_outside(self, codes: Collection[str]) -> set[str]:
        unseen = set(codes) - set(self.keys_by_uscc(codes))
        return {b.uscc for b in self._table().values() if b.uscc and b.uscc in unseen}

    def coverage_by_area(
        self, on: date, *, within: str | None = None
    ) -> dict[str, tuple[int, int]]:
        held = {a.business_key for a in self.uow._state.assignments.values() if a.is_active(on)}
        found: dict[str, list[int]] = {}
        for b in self.stream(within=within):
            if b.in_scope:
                add_counts(found, b.area_code, b.key in held, 1)
        return as_counts(found)

    @unit_write
    def upsert_many(self, records: Iterable[FoodBusiness]) -> UpsertResult:
        """A business moved within its county takes its ledger along, routine records and
        problems (open or closed), as on SQL (its assignments are found through it)."""
        records = list(records)
        stored = self._table()
        moved = {
            b.key: b for b in records if (s := stored.get(b.key)) and s.area_code != b.area_code
        }
        result = super().upsert_many(records)
        if not moved:
            return result
        guard = self.uow.guard
        state = self.uow._state
        ledgers: tuple[tuple[dict[str, Any], _Keyed], ...] = (
            (state.duties, self.uow.duties),
            (state.problems, self.uow.problems),
        )
        for table, repo in ledgers:
            refiled = sorted(
                (
                    (key, attrs.evolve(r, area_code=moved[r.business_key].area_code))
                    for key, r in table.items()
                    if r.business_key in moved
                    and r.area_code != moved[r.business_key].area_code
                    and guard.allows(r.area_code)
                ),
                key=lambda pair: pair[0],
            )
            if refiled:
                repo.upsert_many([r for _, r in refiled])
        return result

    def _table(self) -> dict[str, FoodBusiness]:
        return self.uow._state.businesses

    def _key(self, record: FoodBusiness) -> str:
        return record.key


class _Cadres(_Keyed):
    entity, what_zh = "cadre", "包保干部"

    def _table(self) -> dict[str, Cadre]:
        return self.uow._state.cadres

    def _key(self, record: Cadre) -> str:
        return record.id

    @unit_write
    def upsert_many(self, records: Iterable[Cadre]) -> UpsertResult:
        """A cadre who moved takes their letters along (``letters_follow``), as on SQL."""
        records = list(records)
        stored = self._table()
        moved = [c for c in records if (b := stored.get(c.id)) and b.area_code != c.area_code]
        result = super().upsert_many(records)
        letters_follow(self.uow, moved)
        return result


class _Tasks(_Keyed):
    entity, what_zh = "task", "督导任务"

    def completion_by_area(
        self,
        overlapping: tuple[date, date],
        *,
        within: str | None = None,
        done_by: date | None = None,
        containing: date | None = None,
    ) -> dict[str, tuple[int, int]]:
        found: dict[str, list[int]] = {}
        for t in self.stream(overlapping=overlapping, within=within):
            if not t.exempt and counts_toward(
                t.period.start, t.period.end, overlapping, containing
            ):
                day = credited_on(t)
                done = day is not None and (done_by is None or day <= done_by)
                add_counts(found, t.area_code, done, 1)
        return as_counts(found)

    @unit_write
    def sync(self, plan: TaskPlan, *, within: str | None = None) -> TaskSync:
        return sync_tasks(self.uow, plan, within=within)

    def _table(self) -> dict[str, SupervisionTask]:
        return self.uow._state.tasks

    def _key(self, record: SupervisionTask) -> str:
        return record.key

    def stream(
        self,
        *,
        business_key: str | None = None,
        cadre_id: str | None = None,
        overlapping: tuple[date, date] | None = None,
        within: str | None = None,
        business_keys: Collection[str] | None = None,
        county_code: str | None = None,
    ) -> Iterator[SupervisionTask]:
        def wanted(t: SupervisionTask) -> bool:
            return (
                (business_key is None or t.business_key == business_key)
                and (business_keys is None or t.business_key in business_keys)
                and (cadre_id is None or t.cadre_id == cadre_id)
                and (
                    overlapping is None
                    or (t.period.start <= overlapping[1] and t.period.end >= overlapping[0])
                )
            )

        return self._matching(wanted, within, county_code)


class _Visits(_Keyed):
    entity, what_zh = "visit", "督导记录"

    def _table(self) -> dict[str, Visit]:
        return self.uow._state.visits

    def _key(self, record: Visit) -> str:
        return record.key

    def stream(  # type: ignore[override]
        self,
        *,
        business_key: str | None = None,
        cadre_id: str | None = None,
        between: tuple[date, date] | None = None,
        within: str | None = None,
    ) -> Iterator[Visit]:
        def wanted(v: Visit) -> bool:
            return (
                (business_key is None or v.business_key == business_key)
                and (cadre_id is None or v.cadre_id == cadre_id)
                and (between is None or between[0] <= v.visited_on <= between[1])
            )

        return self._matching(wanted, within)


class _Letters(_Keyed):
    entity, what_zh = "letter", "承诺书"

    def _table(self) -> dict[str, Letter]:
        return self.uow._state.letters

    def _key(self, record: Letter) -> str:
        return record.key

    def stream(  # type: ignore[override]
        self, *, year: int | None = None, cadre_id: str | None = None, within: str | None = None
    ) -> Iterator[Letter]:
        def wanted(letter: Letter) -> bool:
            return (year is None or letter.year == year) and (
                cadre_id is None or letter.cadre_id == cadre_id
            )

        return self._matching(wanted, within)


class _Duties(_Keyed):
    entity, what_zh = "duty_record", "主体责任记录"

    def _table(self) -> dict[str, DutyRecord]:
        return self.uow._state.duties

    def _key(self, record: DutyRecord) -> str:
        return record.key

    def stream(  # type: ignore[override]
        self,
        *,
        business_key: str | None = None,
        kind: DutyKind | None = None,
        between: tuple[date, date] | None = None,
        within: str | None = None,
    ) -> Iterator[DutyRecord]:
        def wanted(d: DutyRecord) -> bool:
            return (
                (business_key is None or d.business_key == business_key)
                and (kind is None or d.kind is kind)
                and (between is None or between[0] <= d.on <= between[1])
            )

        return self._matching(wanted, within)


class _Problems(_Keyed):
    entity, what_zh = "problem", "问题"

    def _table(self) -> dict[str, Problem]:
        return self.uow._state.problems

    def _key(self, record: Problem) -> str:
        return record.id

    def stream(  # type: ignore[override]
        self,
        *,
        business_key: str | None = None,
        status: ProblemStatus | None = None,
        severity: Severity | None = None,
        open_on: date | None = None,
        within: str | None = None,
    ) -> Iterator[Problem]:
        def wanted(p: Problem) -> bool:
            return (
                (business_key is None or p.business_key == business_key)
                and (status is None or p.status is status)
                and (severity is None or p.severity is severity)
                and (open_on is None or p.overdue_on(open_on))
            )

        return self._matching(wanted, within)

    def page(
        self,
        *,
        status: ProblemStatus | None = None,
        severity: Severity | None = None,
        open_on: date | None = None,
        within: str | None = None,
        offset: int = 0,
        limit: int,
        after: str | None = None,
    ) -> list[Problem]:
        found = self.stream(status=status, severity=severity, open_on=open_on, within=within)
        if after is not None:
            found = (p for p in found if p.id > after)
        return list(itertools.islice(found, offset, offset + limit))

    def count(
        self,
        *,
        status: ProblemStatus | None = None,
        severity: Severity | None = None,
        open_on: date | None = None,
        within: str | None = None,
        offset: int = 0,
        cap: int | None = None,
    ) -> int:
        found = self.stream(status=status, severity=severity, open_on=open_on, within=within)
        return sum(
            1 for _ in itertools.islice(found, offset, None if cap is None else offset + cap)
        )


class _Assignments:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def _area_of(self, assignment: Assignment) -> str:
        business = self.uow._state.businesses.get(assignment.business_key)
        if business is None:
            from twores.core.roster import UnknownRecordError

            raise UnknownRecordError("包保主体", "business", assignment.business_key)
        if assignment.cadre_id not in self.uow._state.cadres:
            from twores.core.roster import UnknownRecordError

            raise UnknownRecordError("包保干部", "cadre", assignment.cadre_id)
        return business.area_code

    @unit_write
    def upsert_many(self, assignments: Iterable[Assignment]) -> UpsertResult:
        table = self.uow._state.assignments
        guard = self.uow.guard
        inserted = updated = unchanged = 0
        changes: list[Change] = []
        for assignment in assignments:
            area = self._area_of(assignment)
            ident = assignment_id(assignment)
            key = "|".join((ident[0], ident[1], ident[2].isoformat()))
            guard.check_write(area, f"包保关系 {key}", f"assignment {key}")
            before = table.get(ident)
            if before == assignment:
                unchanged += 1
                continue
            table[ident] = assignment
            changes.append((key, plain(before) if before is not None else None, plain(assignment)))
            inserted += before is None
            updated += before is not None
        self.uow.record("assignment", changes)
        return UpsertResult(inserted, updated, unchanged)

    @unit_write
    def apply(self, plan: Plan) -> UpsertResult:
        table = self.uow._state.assignments
        ended = []
        for change in plan.ends:
            held = table.get((change.business_key, change.cadre_id, change.valid_from))
            if held is not None and held.is_active(plan.on):
                ended.append(attrs.evolve(held, valid_to=plan.on))
        return self.upsert_many([*ended, *(c.assignment for c in plan.creates)])

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
        guard = self.uow.guard
        wanted = set(business_keys) if business_keys is not None else None
        root = guard.within(within)
        businesses = self.uow._state.businesses
        for ident in sorted(self.uow._state.assignments):
            assignment = self.uow._state.assignments[ident]
            if business_key is not None and assignment.business_key != business_key:
                continue
            if wanted is not None and assignment.business_key not in wanted:
                continue
            if cadre_id is not None and assignment.cadre_id != cadre_id:
                continue
            if active_on is not None and not assignment.is_active(active_on):
                continue
            business = businesses.get(assignment.business_key)
            if root is not None and (
                business is None or not guard.hierarchy.contains(root, business.area_code)
            ):
                continue
            if county_code is not None and (
                business is None or self.uow.county_of(business.area_code) != county_code
            ):
                continue
            yield assignment

    def count(self, *, active_on: date | None = None, within: str | None = None) -> int:
        return sum(1 for _ in self.stream(active_on=active_on, within=within))


class _Audit:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def entries(self, *, after_seq: int = 0) -> Iterator[AuditEntry]:
        self.uow.guard.check_audit_reader()
        return (e for e in self.uow._state.audit if e.seq > after_seq)

    def summary(self) -> AuditSummary:
        self.uow.guard.check_audit_reader()
        log = self.uow._state.audit
        return AuditSummary(len(log), *((log[-1].seq, log[-1].hash) if log else (None, None)))

    def verify(self) -> list[AuditProblem]:
        """The chain's breaks, and an end that is not the stored head (the last entries
        deleted, the log emptied), as the SQL store reports them."""
        self.uow.guard.check_audit_reader()
        log = self.uow._state.audit
        problems = verify_chain(log)
        head_seq, head_hash = self.uow._state.audit_head
        last_seq, last_hash = (log[-1].seq, log[-1].hash) if log else (0, GENESIS)
        if (last_seq, last_hash) != (head_seq, head_hash):
            problems.append(
                AuditProblem(
                    head_seq,
                    "truncated",
                    f"审计日志末尾被删除或修改（应至第 {head_seq} 条，实至第 {last_seq} 条）",
                    "the end of the audit log was deleted or edited "
                    f"(head {head_seq}, last {last_seq})",
                )
            )
        return problems


class _Rankings:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def get(self, key: str) -> RankingRun | None:
        run = self.uow._state.rankings.get(key)
        return run if run is not None and self._visible(run.ranking.parent) else None

    def _visible(self, parent: str) -> bool:
        """A run ranks the parent's children: only a scope holding the parent sees it."""
        return self.uow.guard.allows(parent)

    def previous(self, ranking: Ranking) -> RankingRun | None:
        if not self._visible(ranking.parent):
            return None
        runs = [r for r in self.uow._state.rankings.values() if ranking.follows(r.ranking)]
        return max(runs, key=lambda r: (r.ranking.order, r.created_at, r.key), default=None)

    @unit_write
    def record(self, run: RankingRun) -> bool:
        self.uow.guard.check_write(run.ranking.parent, "排名", "ranking")
        if run.key in self.uow._state.rankings:
            return False
        self.uow._state.rankings[run.key] = run
        payload = plain(run.ranking)
        self.uow.record("ranking", [(run.key, None, {"created_at": run.created_at, **payload})])
        return True


class _Imports:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def find(self, sha256: str) -> ImportRecord | None:
        return self.uow._state.imports.get(sha256)

    @unit_write
    def record(self, record: ImportRecord) -> None:
        self.uow.guard.check_writer("导入批次", "import batches")
        self.uow._state.imports[record.sha256] = record


def open_memory(url: str = "memory://") -> MemoryStore:
    return MemoryStore(url)


@hookimpl
def twores_storage_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            "memory",
            "内存（参考模型）",
            "in memory (the reference model)",
            open_memory,
            schemes=("memory",),
        )
    ]
