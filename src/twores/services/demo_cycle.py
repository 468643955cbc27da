"""The demo's supervision year: each quarter's tasks, visits with a realistic completion
pattern and problems through the ledger; then KPIs, a county ranking and a weekly bulletin."""

from __future__ import annotations

import random
import zlib
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy, Tier
from twores.core.duties import DutyKind, DutyRecord, StaffRole
from twores.core.errors import InvalidValueError
from twores.core.gc import gc_paused
from twores.core.periods import CHINA_TZ, Period, PeriodKind, today
from twores.core.ports import Store
from twores.core.problems import Action, ProblemStatus
from twores.core.security import Role, Scope
from twores.core.supervision import SupervisionTask, task_periods
from twores.services.commitments import Signing, generate_letters, sign_letters
from twores.services.kpis import KpiTable, compute_kpis, issue_bulletin
from twores.services.problems import Step, escalate_overdue, transition_many
from twores.services.supervision import VisitInput, record_visits, schedule

FINDINGS = (
    "进货查验记录不全",
    "从业人员健康证过期",
    "冷藏设施温度超标",
    "未公示食品经营许可证",
    "餐具消毒记录缺失",
    "超过保质期的食品未及时清理",
)
MODES = ("现场",) * 16 + ("视频",) * 3 + ("集中",)
EVIDENCE = "5f" * 32


@attrs.frozen
class QuarterReport:
    """One quarter of the demo's supervision."""

    period: Period
    tasks: int
    visits: int
    problems_opened: int
    problems_closed: int
    reminders: int
    #: Findings in the quarter's visits: each a problem, opened now or by an earlier run.
    problems_found: int = 0


@attrs.frozen
class CycleReport:
    """The demo's year: its quarters, and the last quarter's KPIs, ranking and bulletin."""

    quarters: tuple[QuarterReport, ...]
    kpis: KpiTable
    files: tuple[Path, ...]

    @property
    def last(self) -> QuarterReport:
        return self.quarters[-1]

    @property
    def visits(self) -> int:
        return sum(q.visits for q in self.quarters)

    @property
    def problems_opened(self) -> int:
        return sum(q.problems_opened for q in self.quarters)


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TZ)


def run_cycle(
    app: Twores,
    store: Store,
    scope: Scope,
    first: Period,
    parent: str,
    folder: Path,
    *,
    quarters: int = 4,
    seed: int = 2023,
) -> CycleReport:
    """A year of quarterly supervision on the stored roster, as offices would record it;
    then the last quarter's KPIs, county ranking and weekly bulletin."""
    check_begun(first, quarters)
    done: list[QuarterReport] = []
    letters: list[Path] = []
    period = first
    with store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
    years: set[int] = set()
    for _ in range(quarters):
        # A generator per quarter: every quarter draws the same on every run.
        rnd = random.Random(f"{seed}/{period}")
        with gc_paused():  # a quarter's bulk work makes no reference cycles
            done.append(_run_quarter(app, store, scope, hierarchy, period, rnd))
        if period.start.year not in years:  # each year's letters, signed in its first weeks
            years.add(period.start.year)
            _record_letters(app, store, scope, period)
        if not letters:
            letters = _sign_letters(app, store, hierarchy, parent, period, folder)
        period = period.next()
    last = done[-1].period
    _keep_routines(store, scope, last, random.Random(f"{seed}/routines"))
    day = min(last.end, today())  # a quarter still running: as of today
    table = compute_kpis(app, store, scope, last, as_of=day)
    week = Period.containing(PeriodKind.WEEK, day)  # the weekly bulletin of its last week
    files = issue_bulletin(app, store, scope, week, parent, folder, as_of=day)
    return CycleReport(tuple(done), table, (*files, *letters))


def check_begun(first: Period, quarters: int = 1) -> None:
    """Refuse to simulate a quarter that has not begun: its KPIs and bulletin would count
    days not yet come."""
    last = first
    for _ in range(quarters - 1):
        last = last.next()
    now = today()
    if last.start > now:
        raise InvalidValueError(
            "quarter",
            str(last),
            f"尚未开始（今天 {now.isoformat()}），不能模拟其督导与通报；请选更早的日期（--on）",
            f"has not begun (today is {now.isoformat()}): its supervision and bulletin "
            "cannot be simulated; choose an earlier day (--on)",
        )


def _run_quarter(
    app: Twores,
    store: Store,
    scope: Scope,
    hierarchy: Hierarchy,
    period: Period,
    rnd: random.Random,
) -> QuarterReport:
    """Tasks, visits with a realistic completion pattern, problems through the ledger."""
    scheduled = schedule(app, store, scope, period, on=period.start)
    last_day = period.end - timedelta(days=3)
    with store.unit_of_work(scope) as uow:
        tasks = list(uow.tasks.stream(overlapping=(period.start, period.end)))
        held = {a.business_key: a.cadre_id for a in uow.assignments.stream(active_on=last_day)}
    # Some counties finish nearly every visit, some lag (the ranking has something to show).
    counties = sorted({c.code for c in hierarchy if c.tier is Tier.COUNTY})
    completion = {code: rnd.uniform(0.78, 0.99) for code in counties}
    visits = []
    visited: set[tuple[str, date]] = set()
    for task in tasks:
        county = hierarchy.ancestor(task.area_code, Tier.COUNTY)
        cadre = held.get(task.business_key)
        rate = completion.get(county.code if county else "", 0.9)
        if task.exempt or cadre is None or rnd.random() > rate:
            continue
        day = _visit_day(task, period.start, last_day, visited, rnd)
        if day is None:
            continue
        found = (rnd.choice(FINDINGS),) if rnd.random() < 0.04 else ()
        visits.append(VisitInput(task.business_key, cadre, day, rnd.choice(MODES), findings=found))
    # Cadres enter each month's visits at the month's end (the quarter's last days early).
    by_month: dict[date, list[VisitInput]] = {}
    for visit in visits:
        month = Period.containing(PeriodKind.MONTH, visit.visited_on)
        by_month.setdefault(min(month.end, last_day), []).append(visit)
    opened = []
    for entered, batch in sorted(by_month.items()):
        outcomes = record_visits(app, store, scope, batch, now=_at(entered, 18))
        opened += [p for o in outcomes for p in o.opened]
    # Most businesses fix what was found; the office verifies the fix and closes it.
    steps = []
    fix_day = _at(last_day + timedelta(days=1), 10)
    for problem in opened:
        if rnd.random() < 0.7:
            steps += [
                Step(problem.id, Action.SUBMIT, "主体负责人", fix_day, evidence=(EVIDENCE,)),
                Step(problem.id, Action.VERIFY, "乡镇食安办", fix_day, evidence=(EVIDENCE,)),
                Step(problem.id, Action.CLOSE, "乡镇食安办", fix_day),
            ]
    moved = transition_many(app, store, scope, steps, simulated=True)
    escalated = escalate_overdue(app, store, scope, period.end, actor="市食安办", simulated=True)
    return QuarterReport(
        period,
        scheduled.tasks,
        len(visits),
        len(opened),
        sum(p.status is ProblemStatus.CLOSED for p in moved),
        Counter(e.event.action for e in escalated)[Action.REMIND],
        sum(len(v.findings) for v in visits),
    )


def _visit_day(
    task: SupervisionTask,
    first: date,
    last: date,
    visited: set[tuple[str, date]],
    rnd: random.Random,
) -> date | None:
    """A day inside the task's own period (a monthly task's month, say) and ``first..last``
    on which its business has no visit yet (a second visit the same day is the same
    visit); None when a few tries find none."""
    start, end = max(task.period.start, first), min(task.period.end, last)
    if end < start:
        return None
    for _ in range(5):
        day = start + timedelta(days=rnd.randrange(max((end - start).days, 1)))
        if (task.business_key, day) not in visited:
            visited.add((task.business_key, day))
            return day
    return None


#: Share of businesses whose head holds the monthly meeting. The demo simulates no other
#: routine: daily records (about four million a quarter for 桂林市) and weekly reports
#: (600,000) would double its time, so those KPIs show none kept.
MONTHLY_SHARE = 0.9


def _keep_routines(store: Store, scope: Scope, period: Period, rnd: random.Random) -> None:
    """The quarter's monthly meetings (月调度, by the head) of the businesses that hold them."""
    monthly = DutyKind.MONTHLY
    with store.unit_of_work(scope) as uow:
        uow.claim_writes()  # before the first read of what it writes
        records = []
        for business in [b for b in uow.businesses.stream() if b.in_scope]:
            head = business.staff.head
            if head is None or rnd.random() > MONTHLY_SHARE:
                continue
            records += [
                DutyRecord(
                    business.key, business.area_code, monthly, month.end, StaffRole.HEAD, head.name
                )
                for month in task_periods(period, monthly.period_kind)
            ]
        uow.duties.upsert_many(records)
        uow.commit()


def _record_letters(app: Twores, store: Store, scope: Scope, period: Period) -> None:
    """The region's letters for the period's year, recorded (their documents are printed
    where they are signed) and four in five signed, the same ones on every run."""
    year, day = period.start.year, period.start
    made = generate_letters(app, store, scope, year, Path("."), on=day, documents=False)
    signed_on = day + timedelta(days=10)
    sign_letters(
        store,
        scope,
        (
            Signing(g.letter.cadre_id, year, signed_on, "本级党委、政府主要负责人")
            for g in made
            if zlib.crc32(g.letter.cadre_id.encode()) % 5 and g.letter.signed_on is None
        ),
    )


def _sign_letters(
    app: Twores, store: Store, hierarchy: Hierarchy, parent: str, period: Period, folder: Path
) -> list[Path]:
    """One township's letters and lists, most of them signed (the rest still owe theirs)."""
    township = next((a for a in hierarchy.descendants(parent) if a.tier is Tier.TOWNSHIP), None)
    if township is None:
        return []
    office = Scope(f"{township.name}党委", Role.OFFICE, township.code)
    made = generate_letters(
        app, store, office, period.start.year, folder / "承诺书", on=period.start
    )
    signed_on = period.start + timedelta(days=10)
    sign_letters(  # four in five sign, the same ones on every run
        store,
        office,
        (
            Signing(g.letter.cadre_id, g.letter.year, signed_on, f"{township.name}党委书记")
            for g in made
            if zlib.crc32(g.letter.cadre_id.encode()) % 5 and g.letter.signed_on is None
        ),
    )
    return [folder / "承诺书"] if made else []
