"""Scheduling supervision tasks and recording visits, within the caller's scope."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import attrs

from twores.bootstrap import Twores
from twores.core.assignment import Assignment
from twores.core.businesses import FoodBusiness, Grade
from twores.core.convert import given_day
from twores.core.errors import InvalidPeriodError, InvalidValueError
from twores.core.gc import gc_paused
from twores.core.periods import YEARS, Frequency, Period, PeriodKind, china_time, today
from twores.core.ports import Store, UnitOfWork, UpsertResult
from twores.core.problems import (
    Problem,
    ProblemSource,
    Severity,
    means_no_problem,
    real_findings,
)
from twores.core.security import Scope, outside_scope
from twores.core.supervision import (
    NATIONAL_CHECKLIST,
    Answer,
    Checklist,
    FindingsRecordedError,
    NotAssignedError,
    SupervisionTask,
    TaskPlan,
    TaskSlot,
    Visit,
    VisitMode,
    WindowClosedError,
    holder_on,
    task_for_visit,
    task_slots,
    visit_key,
    window_open,
)
from twores.services.lookups import business_in_scope, check_area, check_office
from twores.services.problems import NewProblem, open_many_in


@attrs.frozen
class ScheduleReport:
    period: Period
    tasks: int
    exempt: int
    unassigned: int
    written: UpsertResult
    retired: int
    #: New tasks fulfilled by visits recorded before they were scheduled.
    credited: int = 0


#: What the rules of one hook read of an area (None: nothing; see PluginManager.area_key).
_AreaKey = tuple[str, ...] | None


def _tiling_start(day: date) -> date:
    """The last 1 January on or before ``day`` that is a Monday: no period of any kind runs
    across it, so the task periods are tiled from there (see ``_SlotRules._spans``)."""
    year = day.year
    while date(year, 1, 1).weekday() != 0 and year > YEARS[0]:
        year -= 1
    return date(year, 1, 1)


class _SlotRules:
    """The visits each area's businesses owe in the requested period, from the rules.

    Where every grade maps to the same frequency in an area, the area answers for all its
    businesses (no business is graded); otherwise the grade decides. Rules are asked once
    per what they read of the area: once for all areas when they read none of it, once per
    province when they declare ``reads_area_down_to(Tier.PROVINCE)``.
    """

    HOOKS = ("twores_tier_for_grade", "twores_supervision_frequency", "twores_window_close")

    def __init__(self, app: Twores, requested: Period, as_of: date) -> None:
        self.plugins, self.rules = app.plugins, app.plugins.rulebook()
        self.requested, self.as_of = requested, as_of
        self.on = min(max(as_of, requested.start), requested.end)
        self._by_area: dict[tuple[_AreaKey, ...], dict[Grade, tuple[TaskSlot, ...]]] = {}
        self._of_area: dict[str, dict[Grade, tuple[TaskSlot, ...]]] = {}
        self._frequencies: dict[tuple[Any, ...], tuple[tuple[Period, Frequency], ...]] = {}
        self._dues: dict[tuple[Period, _AreaKey], date] = {}
        self._shared: dict[tuple[Any, ...], tuple[TaskSlot, ...]] = {}
        self._same_for_all: dict[int, tuple[TaskSlot, ...] | None] = {}

    def plan(self) -> TaskPlan:
        return TaskPlan(
            self.requested,
            self.area_slots,
            self.grade_of,
            self.grade_slots,
            self.plugins.grading_reads_area(),
        )

    def area_slots(self, area_code: str) -> tuple[TaskSlot, ...] | None:
        grades = self._grades(area_code)
        key = id(grades)  # shared by the areas the rules cannot tell apart, kept in _by_area
        if key not in self._same_for_all:
            distinct = set(grades.values())
            self._same_for_all[key] = distinct.pop() if len(distinct) == 1 else None
        return self._same_for_all[key]

    def grade_of(self, business: FoodBusiness) -> Grade:
        return self.rules.grade_of(business, self.on)

    def grade_slots(self, grade: Grade, area_code: str) -> tuple[TaskSlot, ...]:
        return self._grades(area_code)[grade]

    def _grades(self, area_code: str) -> dict[Grade, tuple[TaskSlot, ...]]:
        """The slots of each grade in ``area_code`` (shared by areas the rules cannot tell
        apart)."""
        found = self._of_area.get(area_code)
        if found is None:
            found = self._of_area[area_code] = self._shared_grades(area_code)
        return found

    def _shared_grades(self, area_code: str) -> dict[Grade, tuple[TaskSlot, ...]]:
        tier_key, frequency_key, window_key = (
            self.plugins.area_key(hook, area_code) for hook in self.HOOKS
        )
        found = self._by_area.get((tier_key, frequency_key, window_key))
        if found is not None:
            return found
        found = {}
        for grade in Grade:
            spans = self._spans(grade, area_code, (tier_key, frequency_key))
            dues = tuple(self._due(period, area_code, window_key) for period, _ in spans)
            found[grade] = self._slots(spans, dues)
        self._by_area[(tier_key, frequency_key, window_key)] = found
        return found

    def _spans(
        self, grade: Grade, area_code: str, key: tuple[_AreaKey, _AreaKey]
    ) -> tuple[tuple[Period, Frequency], ...]:
        """The task periods that overlap the requested one, each with the frequency the
        rules in force on its first day give (2022 judged by 2022's rules).

        The task periods tile time whatever is requested: from a 1 January that falls on
        a Monday (where every kind of period starts), each next period is the one the rule
        in force on the day after the last gives, if it starts that day; otherwise the last
        one's kind goes on (a new frequency takes over from the first period of its own
        kind that starts where one ends)."""
        cached = self._frequencies.get((grade, *key))
        if cached is not None:
            return cached
        rules, requested = self.rules, self.requested
        spans: list[tuple[Period, Frequency]] = []
        cursor, last = _tiling_start(requested.start), None
        while cursor <= requested.end:
            frequency = rules.frequency(rules.tier_of(grade, cursor, area_code), cursor, area_code)
            period = Period.containing(frequency.kind, cursor)
            if last is not None and period.start < cursor:  # begun under the earlier rule
                frequency, period = last, Period.containing(last.kind, cursor)
            if period.end >= requested.start:
                spans.append((period, frequency))
            cursor, last = period.end + timedelta(days=1), frequency
        found = self._frequencies[(grade, *key)] = tuple(spans)
        return found

    def covered(self) -> tuple[date, date]:
        """The days of the requested period and of the task periods planned for it (a
        half-year task reaches beyond the quarter requested)."""
        periods = [self.requested, *(p for s in self._frequencies.values() for p, _ in s)]
        return min(p.start for p in periods), max(p.end for p in periods)

    def _due(self, period: Period, area_code: str, window_key: _AreaKey) -> date:
        due = self._dues.get((period, window_key))
        if due is None:
            due = self._dues[(period, window_key)] = self.rules.window_close(period, area_code)
        return due

    def _slots(
        self, spans: tuple[tuple[Period, Frequency], ...], dues: tuple[date, ...]
    ) -> tuple[TaskSlot, ...]:
        found = self._shared.get((spans, dues))
        if found is None:
            found = tuple(
                slot
                for (period, frequency), due in zip(spans, dues, strict=True)
                for slot in task_slots(period, frequency, {period: due}.__getitem__, self.as_of)
            )
            self._shared[(spans, dues)] = found
        return found


def schedule(
    app: Twores,
    store: Store,
    scope: Scope,
    period: Period | str,
    *,
    on: date | str | None = None,
    within: str | None = None,
) -> ScheduleReport:
    """Create (or bring up to date) the tasks due in ``period``; running it again changes 0.

    One transaction. A task no longer due is retired (exempt, ``NO_LONGER_DUE``), never
    deleted; a business that moved within its county takes its task along. An office's or
    admin's work. ``period`` may be written ``2026Q4`` and ``on`` ``YYYY-MM-DD``.
    """
    check_office(scope, ("督导任务排期", "scheduling supervision tasks"))
    requested = Period.parse(period) if isinstance(period, str) else period
    if not isinstance(requested, Period):
        raise InvalidPeriodError(
            "period", period, "应为周期，如 2026Q1", "must be a period, like 2026Q1"
        )
    rules = _SlotRules(app, requested, today() if on is None else given_day(on, "on"))
    plan = rules.plan()
    with gc_paused(), store.unit_of_work(scope) as uow:
        uow.claim_writes()  # before the first read of what it writes
        if within is not None:  # an area above the scope is refused, not narrowed
            check_area(uow.areas.hierarchy(), scope, within)
        synced = uow.tasks.sync(plan, within=within)
        credited = 0
        if synced.written.inserted:  # a visit may have been recorded before its task
            # only the businesses whose tasks it wrote can be owed a visit filed before them
            credited = _credit_filed_visits(
                app, uow, rules.covered(), within, synced.businesses_written
            )
        uow.commit()
    return ScheduleReport(
        requested,
        synced.tasks,
        synced.exempt,
        synced.unassigned,
        synced.written,
        synced.retired,
        credited,
    )


def _counts(app: Twores, visit: Visit) -> bool:
    """Whether ``visit``'s mode fulfils a task, by the rules of its day and area."""
    return visit.mode in app.plugins.counting_modes(visit.visited_on, visit.area_code)


#: Up to this many businesses, a run that wrote their tasks reads their visits one business
#: at a time (through the business index); more, the whole period's at once.
_VISITS_ONE_BY_ONE = 2_000


def _credit_filed_visits(
    app: Twores,
    uow: UnitOfWork,
    span: tuple[date, date],
    within: str | None,
    businesses: Collection[str] | None = None,
) -> int:
    """Credit new tasks with the counting visits filed before they existed (a visit
    recorded before its quarter was scheduled), as recording them would have: not one
    entered after its window closed without a late-entry reason; their number.

    A business's crediting reads only its own visits and tasks, so given ``businesses``
    (those whose tasks the run wrote) only theirs are read: one new business mid-quarter
    costs its own visits, not the quarter's."""
    if businesses is None:
        visits = list(uow.visits.stream(between=span, within=within))
    elif len(businesses) <= _VISITS_ONE_BY_ONE:
        visits = [
            visit
            for key in sorted(businesses)
            for visit in uow.visits.stream(business_key=key, between=span, within=within)
        ]
    else:
        wanted = set(businesses)
        stream = uow.visits.stream(between=span, within=within)
        visits = [visit for visit in stream if visit.business_key in wanted]
    if not visits:
        return 0
    keys = {v.business_key for v in visits}
    tasks: dict[str, list[SupervisionTask]] = defaultdict(list)
    for task in uow.tasks.stream(business_keys=keys, overlapping=span, within=within):
        tasks[task.business_key].append(task)
    crediting = {t.visit_id for held in tasks.values() for t in held if t.visit_id}
    credited: dict[str, SupervisionTask] = {}
    for visit in sorted(visits, key=lambda v: (v.visited_on, v.recorded_at, v.key)):
        if visit.key in crediting or not _entered_in_time(visit, tasks[visit.business_key]):
            continue
        fulfilled = task_for_visit(visit, tasks[visit.business_key], _counts(app, visit))
        if fulfilled is not None:
            held = tasks[visit.business_key]
            held[:] = [fulfilled if t.key == fulfilled.key else t for t in held]
            credited[fulfilled.key] = fulfilled
    uow.tasks.upsert_many(credited.values())
    return len(credited)


def _entered_in_time(visit: Visit, tasks: Sequence[SupervisionTask]) -> bool:
    """Whether ``visit`` was entered by the window of its day's tasks, or late with a reason."""
    dues = [t.due_on for t in tasks if visit.visited_on in t.period]
    return bool(visit.late_reason) or not dues or window_open(visit.recorded_day, min(dues))


def _not_one_string(value: object, field: str, example: str) -> None:
    """A sequence is expected: one string (or anything not iterable) is refused, never
    read as its characters."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidValueError(
            field,
            value,
            f"应为列表或元组，如 {example}，不能是单个字符串",
            f"must be a list or tuple, like {example}, not one string",
        )


def _texts(value: Iterable[str], field: str, example: str) -> tuple[str, ...]:
    _not_one_string(value, field, example)
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise InvalidValueError(field, item, "每项应为文本", "each item must be text")
    return items


def _finding_texts(value: Iterable[str]) -> tuple[str, ...]:
    return _texts(value, "findings", '("未公示许可证",)')


def _evidence_texts(value: Iterable[str]) -> tuple[str, ...]:
    return _texts(value, "evidence", '("<SHA-256>",)')


def _answer_pairs(value: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Checklist answers as (item code, answer) pairs: ``(("M1", "符合"), ("P1", "不符合"))``."""
    _not_one_string(value, "answers", '(("M1", "符合"),)')
    pairs: list[tuple[str, str]] = []
    for pair in value:
        if not (
            isinstance(pair, tuple | list)
            and len(pair) == 2
            and isinstance(pair[0], str)
            and isinstance(pair[1], str | Answer)
        ):
            raise InvalidValueError(
                "answers",
                pair,
                '每项应为（检查项代码, 结果）两项，如 ("M1", "符合")',
                'each item must be a pair (item code, answer), like ("M1", "符合")',
            )
        Answer.parse(pair[1], field="answers")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _visited_on(value: date | str) -> date:
    return given_day(value, "visited_on")


def _check_mode(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    VisitMode.parse(value, field="mode")


def _check_severity(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    Severity.parse(value, field="severity")


@attrs.frozen
class VisitInput:
    """A visit as a cadre or an import states it.

    ``visited_on`` may be written ``YYYY-MM-DD``; ``findings`` and ``evidence`` are
    sequences of texts (one string is refused, not read as its characters) and
    ``answers`` (item code, answer) pairs: a malformed value is refused here, naming its
    field, before anything is read or written."""

    business_key: str
    cadre_id: str
    visited_on: date = attrs.field(converter=_visited_on)
    mode: str = attrs.field(default="现场", validator=_check_mode)
    answers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_answer_pairs)
    evidence: tuple[str, ...] = attrs.field(default=(), converter=_evidence_texts)
    findings: tuple[str, ...] = attrs.field(default=(), converter=_finding_texts)
    late_reason: str | None = None
    #: How serious the findings are (一般/较重/严重, or minor/major/severe): their deadline.
    severity: str = attrs.field(default="一般", validator=_check_severity)


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


def _keeps_findings(visit: Visit, before: Visit) -> bool:
    """Whether ``visit`` keeps the findings ``before`` recorded, in order (it may add more).
    A stored "无" (kept as a finding before such texts were read as none) is no finding."""
    kept = tuple(f for f in before.findings if not means_no_problem(f))
    return visit.findings[: len(kept)] == kept


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
        findings=real_findings(data.findings),  # "无", "未发现问题": no finding
        late_reason=(data.late_reason or "").strip() or None,
    )


VISIT_BATCH = 5_000


def record_visits(
    app: Twores,
    store: Store,
    scope: Scope,
    visits: Iterable[VisitInput],
    *,
    now: datetime | None = None,
    checklist: Checklist = NATIONAL_CHECKLIST,
) -> list[VisitOutcome]:
    """Record visits in one transaction, a batch at a time: any rejected visit rejects
    them all. A visit recorded again unchanged changes nothing; changed, it is updated
    (audited), its added findings opening problems, but the findings it was recorded with
    stay as they were (:class:`FindingsRecordedError`)."""
    if not scope.can_write:  # even a visit recorded before, which writes nothing
        raise outside_scope(scope, "督导记录", "visit records")
    recorded_at = china_time(now)
    outcomes: list[VisitOutcome] = []
    pending = iter(visits)
    with gc_paused(), store.unit_of_work(scope) as uow:
        uow.claim_writes()  # before the first read of what it writes
        recorder = VisitRecorder(app, uow, recorded_at, checklist)
        while batch := list(itertools.islice(pending, VISIT_BATCH)):
            recorder.prefetch(batch)
            for data in batch:
                recorder.record(data)
            outcomes += recorder.flush()
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


class VisitRecorder:
    """Records visits inside an open unit of work (the caller commits).

    ``prefetch`` reads a batch's businesses, assignments, tasks and earlier visits at once;
    ``record`` checks one visit against them (assignment on the visit date, entry window,
    checklist) and credits its task; ``flush`` opens the problems the batch's findings
    name and writes what the batch changed, and returns the batch's outcomes complete.
    """

    def __init__(
        self, app: Twores, uow: UnitOfWork, recorded_at: datetime, checklist: Checklist
    ) -> None:
        self.app, self.uow, self.recorded_at, self.checklist = app, uow, recorded_at, checklist
        self.businesses: dict[str, FoodBusiness] = {}
        self.held: dict[str, list[Assignment]] = defaultdict(list)
        self.tasks: dict[str, list[SupervisionTask]] = defaultdict(list)
        self.stored: dict[str, Visit] = {}
        self._visits: dict[str, Visit] = {}
        self._tasks: dict[str, SupervisionTask] = {}
        self._pending: list[tuple[VisitOutcome, list[NewProblem]]] = []
        self._read_span: dict[str, tuple[date, date]] = {}
        self._asked: set[str] = set()  # visit keys looked up among the stored visits
        self._cadres_seen: dict[str, bool] = {}  # cadre id -> within the caller's scope
        self._plans: dict[date, TaskPlan] = {}  # day -> the plan of a day not scheduled

    def prefetch(self, batch: Sequence[VisitInput]) -> None:
        """Read what ``batch`` needs and is not held yet: new businesses with their
        assignments, the tasks of days beyond those read for a business, earlier visits."""
        new = {d.business_key for d in batch if d.business_key not in self.businesses}
        if new:
            self.businesses.update(self.uow.businesses.get_many(new))
            for assignment in self.uow.assignments.stream(business_keys=new):
                self.held[assignment.business_key].append(assignment)
        self._read_tasks(batch)
        keys = (visit_key(d.business_key, d.visited_on, d.cadre_id) for d in batch)
        wanted = {key for key in keys if key not in self._asked}
        if wanted:
            self._asked.update(wanted)
            self.stored.update(self.uow.visits.get_many(wanted))

    def _held_for(self, data: VisitInput) -> bool:
        """Whether what ``data`` is checked against has been read."""
        read = self._read_span.get(data.business_key)
        return (
            data.business_key in self.businesses
            and read is not None
            and read[0] <= data.visited_on <= read[1]
            and visit_key(data.business_key, data.visited_on, data.cadre_id) in self._asked
        )

    def _read_tasks(self, batch: Sequence[VisitInput]) -> None:
        """Each business's tasks over every day read so far (a later batch's days of a
        business met before are read too; tasks changed in this batch are kept)."""
        spans: dict[str, tuple[date, date]] = {}
        for d in batch:
            low, high = spans.get(d.business_key, (d.visited_on, d.visited_on))
            spans[d.business_key] = (min(low, d.visited_on), max(high, d.visited_on))
        wider: dict[str, tuple[date, date]] = {}
        for key, (low, high) in spans.items():
            read = self._read_span.get(key)
            if read is None:
                wider[key] = (low, high)
            elif low < read[0] or high > read[1]:
                wider[key] = (min(low, read[0]), max(high, read[1]))
        if not wider:
            return
        span = (min(low for low, _ in wider.values()), max(high for _, high in wider.values()))
        found: dict[str, list[SupervisionTask]] = {key: [] for key in wider}
        for task in self.uow.tasks.stream(business_keys=wider, overlapping=span):
            found[task.business_key].append(self._tasks.get(task.key, task))
        for key, tasks in found.items():
            self.tasks[key] = tasks
            self._read_span[key] = span

    def record(self, data: VisitInput) -> VisitOutcome:
        self.uow.scope.check_acts_as(data.cadre_id)
        business = self.businesses.get(data.business_key)
        if business is None:
            business = business_in_scope(self.uow, data.business_key)
            if business.key != data.business_key:  # named by its credit code
                data = attrs.evolve(data, business_key=business.key)
        if not self._held_for(data):  # a visit no batch read for
            self.prefetch([data])
        if holder_on(self.held.get(business.key, ()), data.visited_on) != data.cadre_id:
            raise NotAssignedError(data.cadre_id, business.key, data.visited_on)
        self._check_cadre_seen(data.cadre_id)
        visit = _build_visit(data, business, self.recorded_at, self.checklist)
        severity = Severity.parse(data.severity, field="severity")
        day = data.visited_on
        tasks = [t for t in self.tasks.get(business.key, ()) if day in t.period]
        before = self._visits.get(visit.key) or self.stored.get(visit.key)
        if before is not None and attrs.evolve(visit, recorded_at=before.recorded_at) == before:
            visit, written = before, UpsertResult(unchanged=1)  # entered when it first was
            late = not window_open(visit.recorded_day, self._closes(business, tasks, day)[1])
        else:
            if before is not None and not _keeps_findings(visit, before):
                raise FindingsRecordedError(visit.key, before.findings)
            period, closes = self._closes(business, tasks, day)
            late = not window_open(visit.recorded_day, closes)
            if late and not visit.late_reason:
                raise WindowClosedError(period, closes)
            written = UpsertResult(inserted=1) if before is None else UpsertResult(updated=1)
            self._visits[visit.key] = visit
        counts = _counts(self.app, visit)
        fulfilled = next((t for t in tasks if t.visit_id == visit.key), None)
        if fulfilled is not None and not counts:  # now in a mode that does not count
            self._replace(attrs.evolve(fulfilled, visit_id=None, credited_to=None))
            fulfilled = None
        if fulfilled is None:
            fulfilled = task_for_visit(visit, tasks, counts)
            if fulfilled is not None:
                self._replace(fulfilled)
        outcome = VisitOutcome(visit, written, fulfilled, late)
        self._pending.append((outcome, _findings(visit, severity)))
        return outcome

    def _check_cadre_seen(self, cadre_id: str) -> None:
        """An office records visits for the cadres of its area: one above it (a county
        cadre holding a township's business) is the level above's to record."""
        scope = self.uow.scope
        if scope.area_code is None:
            return
        seen = self._cadres_seen.get(cadre_id)
        if seen is None:
            seen = self._cadres_seen[cadre_id] = self.uow.cadres.get(cadre_id) is not None
        if not seen:
            raise outside_scope(
                scope,
                f"辖区外干部 {cadre_id} 的督导记录（由上级录入）",
                f"visits of cadre {cadre_id}, outside it (the level above records them)",
            )

    def _closes(
        self, business: FoodBusiness, tasks: list[SupervisionTask], day: date
    ) -> tuple[Period, date]:
        """The period of a visit on ``day`` and the day its entry window closes: its
        tasks', or before they are scheduled, those of the tasks the rules would schedule."""
        if tasks:
            return tasks[0].period, min(t.due_on for t in tasks)
        plan = self._plans.get(day)
        if plan is None:
            plan = _SlotRules(self.app, Period.containing(PeriodKind.DAY, day), day).plan()
            self._plans[day] = plan
        slots = plan.slots(business)
        return slots[0].period, min(s.due_on for s in slots)

    def _replace(self, task: SupervisionTask) -> None:
        held = self.tasks[task.business_key]
        held[:] = [task if t.key == task.key else t for t in held]
        self._tasks[task.key] = task

    def flush(self) -> list[VisitOutcome]:
        news = [new for _, found in self._pending for new in found]
        results = iter(open_many_in(self.app, self.uow, news, self.recorded_at))
        outcomes = []
        for outcome, found in self._pending:
            opened = tuple(p for p, events in itertools.islice(results, len(found)) if events)
            outcomes.append(attrs.evolve(outcome, opened=opened) if opened else outcome)
        self.uow.visits.upsert_many(self._visits.values())
        self.uow.tasks.upsert_many(self._tasks.values())
        self.stored.update(self._visits)
        self._visits, self._tasks, self._pending = {}, {}, []
        return outcomes


def _findings(visit: Visit, severity: Severity) -> list[NewProblem]:
    """The problems a visit's findings open, one per finding."""
    return [
        NewProblem(
            visit.business_key,
            finding,
            visit.cadre_id,
            visit.visited_on,
            ProblemSource.VISIT,
            severity,
            source_ref=f"{visit.key}#{index}",
        )
        for index, finding in enumerate(visit.findings, 1)
    ]
