"""Scheduling supervision tasks and recording visits, within the caller's scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime

import attrs

from twores.bootstrap import Twores
from twores.core.assignment import Assignment
from twores.core.businesses import FoodBusiness
from twores.core.gc import gc_paused
from twores.core.periods import CHINA_TZ, Frequency, Period, PeriodKind, today
from twores.core.ports import Store, UnitOfWork, UpsertResult
from twores.core.problems import Problem, ProblemSource
from twores.core.security import Scope
from twores.core.supervision import (
    NATIONAL_CHECKLIST,
    Answer,
    Checklist,
    NotAssignedError,
    SupervisionTask,
    Visit,
    VisitMode,
    WindowClosedError,
    holder_on,
    merge_task,
    required_tasks,
    task_for_visit,
    window_open,
)
from twores.services.lookups import business_in_scope
from twores.services.problems import NewProblem, open_in

NO_LONGER_DUE = "不再需要（主体注销或频次调整）"


@attrs.frozen
class ScheduleReport:
    period: Period
    tasks: int
    exempt: int
    unassigned: int
    written: UpsertResult
    retired: int


class _RuleCache:
    """Frequency and window decisions, asked once per (tier or period, area)."""

    def __init__(self, app: Twores, on: date) -> None:
        self.app, self.on = app, on
        self.rules = app.plugins.rulebook()
        self._frequency: dict[tuple[object, str], Frequency] = {}
        self._close: dict[tuple[Period, str], date] = {}
        self._grades: dict[str, object] = {}

    def prepare(self, businesses: Sequence[FoodBusiness]) -> None:
        for business, grade in zip(
            businesses, self.rules.grades_of(businesses, self.on), strict=True
        ):
            self._grades[business.key] = grade

    def frequency(self, business: FoodBusiness) -> Frequency:
        grade = self._grades.get(business.key) or self.rules.grade_of(business, self.on)
        tier = self.rules.tier_of(grade, self.on, business.area_code)  # type: ignore[arg-type]
        cache_key = (tier, business.area_code)
        if cache_key not in self._frequency:
            self._frequency[cache_key] = self.app.plugins.supervision_frequency(
                tier, self.on, business.area_code
            ).value
        return self._frequency[cache_key]

    def closes(self, period: Period, area_code: str) -> date:
        cache_key = (period, area_code)
        if cache_key not in self._close:
            self._close[cache_key] = self.app.plugins.window_close(period, area_code).value
        return self._close[cache_key]


def _assignments_by_business(uow: UnitOfWork, within: str | None) -> dict[str, list[Assignment]]:
    held: dict[str, list[Assignment]] = defaultdict(list)
    for assignment in uow.assignments.stream(within=within):
        held[assignment.business_key].append(assignment)
    return held


def schedule(
    app: Twores,
    store: Store,
    scope: Scope,
    period: Period | str,
    *,
    on: date | None = None,
    within: str | None = None,
) -> ScheduleReport:
    """Create (or bring up to date) the tasks due in ``period``; running it again changes 0."""
    requested = Period.parse(period) if isinstance(period, str) else period
    as_of = on or today()
    with gc_paused(), store.unit_of_work(scope) as uow:
        businesses = list(uow.businesses.stream(within=within))
        rules = _RuleCache(app, min(max(as_of, requested.start), requested.end))
        rules.prepare(businesses)
        required = required_tasks(
            requested,
            businesses,
            _assignments_by_business(uow, within),
            frequency_of=rules.frequency,
            due_on=rules.closes,
            as_of=as_of,
        )
        span = (requested.start, requested.end)
        existing = {t.key: t for t in uow.tasks.stream(overlapping=span, within=within)}
        merged = [merge_task(existing.get(t.key), t) for t in required]
        wanted = {t.key for t in merged}
        retired = [
            attrs.evolve(t, exempt_reason=NO_LONGER_DUE)
            for key, t in existing.items()
            if key not in wanted and not t.done and t.exempt_reason != NO_LONGER_DUE
        ]
        changed = [t for t in (*merged, *retired) if existing.get(t.key) != t]
        same = UpsertResult(unchanged=len(merged) + len(retired) - len(changed))
        written = uow.tasks.upsert_many(changed) + same
        uow.commit()
    return ScheduleReport(
        requested,
        len(merged),
        sum(t.exempt for t in merged),
        sum(t.cadre_id is None and not t.exempt for t in merged),
        written,
        len(retired),
    )


@attrs.frozen
class VisitInput:
    """A visit as a cadre or an import states it."""

    business_key: str
    cadre_id: str
    visited_on: date
    mode: str = "现场"
    answers: tuple[tuple[str, str], ...] = ()
    evidence: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()
    late_reason: str | None = None


@attrs.frozen
class VisitOutcome:
    visit: Visit
    written: UpsertResult
    task: SupervisionTask | None
    late: bool
    #: Problems the visit's findings opened in the ledger (none when recorded before).
    opened: tuple[Problem, ...] = ()

    def notify(self, app: Twores) -> None:
        """Tell the notifiers about the opened problems (after the commit)."""
        for problem in self.opened:
            app.plugins.notify(problem.history[-1], problem.area_code)


def _build_visit(
    data: VisitInput, business: FoodBusiness, recorded_at: datetime, checklist: Checklist
) -> Visit:
    answers = tuple((code, Answer.parse(value, field="answers")) for code, value in data.answers)
    checklist.check(dict(answers))
    return Visit(
        business_key=business.key,
        cadre_id=data.cadre_id,
        area_code=business.area_code,
        visited_on=data.visited_on,
        recorded_at=recorded_at,
        mode=VisitMode.parse(data.mode, field="mode"),
        checklist=checklist.ref,
        answers=answers,
        evidence=tuple(e.lower() for e in data.evidence),
        findings=data.findings,
        late_reason=data.late_reason or None,
    )


def record_visits(
    app: Twores,
    store: Store,
    scope: Scope,
    visits: Iterable[VisitInput],
    *,
    now: datetime | None = None,
    checklist: Checklist = NATIONAL_CHECKLIST,
) -> list[VisitOutcome]:
    """Record visits in one transaction: any rejected visit rejects them all."""
    recorded_at = (now or datetime.now(CHINA_TZ)).astimezone(CHINA_TZ)
    outcomes: list[VisitOutcome] = []
    with store.unit_of_work(scope) as uow:
        for data in visits:
            outcomes.append(record_in(app, uow, data, recorded_at, checklist))
        uow.commit()
    for outcome in outcomes:
        outcome.notify(app)
    return outcomes


def record_visit(
    app: Twores,
    store: Store,
    scope: Scope,
    visit: VisitInput,
    *,
    now: datetime | None = None,
    checklist: Checklist = NATIONAL_CHECKLIST,
) -> VisitOutcome:
    """Record one visit: checked against the assignment on its date and the entry window."""
    return record_visits(app, store, scope, [visit], now=now, checklist=checklist)[0]


def record_in(
    app: Twores, uow: UnitOfWork, data: VisitInput, recorded_at: datetime, checklist: Checklist
) -> VisitOutcome:
    """Record one visit inside an open unit of work (the caller commits)."""
    business = business_in_scope(uow, data.business_key)
    held = list(uow.assignments.stream(business_key=business.key))
    if holder_on(held, data.visited_on) != data.cadre_id:
        raise NotAssignedError(data.cadre_id, business.key, data.visited_on)
    visit = _build_visit(data, business, recorded_at, checklist)
    day = data.visited_on
    tasks = list(uow.tasks.stream(business_key=business.key, overlapping=(day, day)))
    periods = [t.period for t in tasks] or [Period.containing(PeriodKind.QUARTER, day)]
    closes = (
        min(t.due_on for t in tasks)
        if tasks
        else app.plugins.window_close(periods[0], business.area_code).value
    )
    late = not window_open(visit.recorded_day, closes)
    if late and not visit.late_reason:
        raise WindowClosedError(periods[0], closes)
    written = uow.visits.upsert_many([visit])
    counts = visit.mode in app.plugins.counting_visit_modes(day, business.area_code).value
    fulfilled = next((t for t in tasks if t.visit_id == visit.key), None)
    if fulfilled is None:
        fulfilled = task_for_visit(visit, tasks, counts)
        if fulfilled is not None:
            uow.tasks.upsert_many([fulfilled])
    opened = []
    for index, finding in enumerate(visit.findings, 1):
        new = NewProblem(
            business.key,
            finding,
            visit.cadre_id,
            visit.visited_on,
            ProblemSource.VISIT,
            source_ref=f"{visit.key}#{index}",
        )
        problem, events = open_in(app, uow, new, recorded_at)
        if events:
            opened.append(problem)
    return VisitOutcome(visit, written, fulfilled, late, tuple(opened))
