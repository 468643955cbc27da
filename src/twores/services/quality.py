"""Data-quality signals (数据质量) for a period: flagged, never blocking, each explained."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy, Tier
from twores.core.periods import Period, PeriodKind
from twores.core.ports import Store, UnitOfWork
from twores.core.quality import QualityRules, Signal, SignalKind, quality_signals
from twores.core.security import Scope
from twores.core.supervision import SupervisionTask, Visit


@attrs.frozen
class QualityReport:
    period: Period
    visits: int
    signals: tuple[Signal, ...]
    #: county (or the area itself above county level) -> kind -> number of signals; a
    #: signal over visits in several counties counts in each
    by_area: dict[str, Counter[SignalKind]]


def quality_report(
    app: Twores,
    store: Store,
    scope: Scope,
    period: Period | str,
    *,
    within: str | None = None,
    rules: QualityRules | None = None,
) -> QualityReport:
    """Every signal on the visits dated in ``period``, and their count per county.

    The back-filling share is judged over each entry window's whole period (a month's
    report counts the quarter's visits of that window), so it does not depend on the
    period reported."""
    chosen = Period.parse(period) if isinstance(period, str) else period
    closes: dict[tuple[Period, str], date] = {}
    tasks: dict[str, list[SupervisionTask]] = defaultdict(list)

    def window(visit: Visit) -> tuple[date, Period]:
        """When the entry window of the visit's task closed, as recording it judged, and
        its period (the quarter's, by the rules, for a visit no task was due for)."""
        due = [t for t in tasks[visit.business_key] if visit.visited_on in t.period]
        if due:
            first = min(due, key=lambda t: t.due_on)
            return first.due_on, first.period
        quarter = Period.containing(PeriodKind.QUARTER, visit.visited_on)
        key = (quarter, visit.area_code)
        if key not in closes:
            closes[key] = app.plugins.window_close(quarter, visit.area_code).value
        return closes[key], quarter

    def window_closes(visit: Visit) -> date:
        return window(visit)[0]

    read: set[str] = set()

    def read_tasks(uow: UnitOfWork, keys: set[str], span: tuple[date, date]) -> None:
        """Add the tasks of ``keys`` meeting ``span`` not read yet (each business's in key
        order once :func:`_in_key_order` has run, as one read of all spans would give)."""
        if not keys or span[0] > span[1]:
            return
        for task in uow.tasks.stream(business_keys=keys, overlapping=span, within=within):
            if task.key not in read:
                read.add(task.key)
                tasks[task.business_key].append(task)

    with store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
        visits = list(uow.visits.stream(between=(chosen.start, chosen.end), within=within))
        keys = {v.business_key for v in visits}
        read_tasks(uow, keys, (chosen.start, chosen.end))
        # the windows' whole periods: their cadres' other visits count in the share
        periods = [window(v)[1] for v in visits]
        start = min((p.start for p in periods), default=chosen.start)
        end = max((p.end for p in periods), default=chosen.end)
        context: list[Visit] = []
        if start < chosen.start or end > chosen.end:
            cadres, own = {v.cadre_id for v in visits}, {v.key for v in visits}
            context = [
                v
                for v in uow.visits.stream(between=(start, end), within=within)
                if v.cadre_id in cadres and v.key not in own
            ]
            # Read once: of the visited businesses only the tasks meeting the days added on
            # either side (a task within the period reported is held already).
            day = timedelta(days=1)
            read_tasks(uow, keys, (start, chosen.start - day))
            read_tasks(uow, keys, (chosen.end + day, end))
            read_tasks(uow, {v.business_key for v in context} - keys, (start, end))
            _in_key_order(tasks)
        assignments = list(uow.assignments.stream(business_keys=keys, within=within))
        businesses = uow.businesses.get_many(keys)
    signals: list[Signal] = []
    outside = {v.key for v in context}
    parts = _by_rules(app, hierarchy, within or scope.area_code, visits + context, chosen)
    for part, part_rules in parts:
        signals += quality_signals(
            [v for v in part if v.key not in outside],
            assignments,
            businesses,
            window_closes=window_closes,
            rules=rules or part_rules,
            context=[v for v in part if v.key in outside],
        )
    signals.sort(key=Signal.sort_key)
    area_of = {v.key: v.area_code for v in [*context, *visits]}
    by_area: dict[str, Counter[SignalKind]] = {}
    for signal in signals:  # in each county its visits lie in
        areas = {area_of.get(key, signal.area_code) for key in signal.visits} or {signal.area_code}
        for code in sorted({_county(hierarchy, area) for area in areas}):
            by_area.setdefault(code, Counter())[signal.kind] += 1
    return QualityReport(chosen, len(visits), tuple(signals), by_area)


def _in_key_order(tasks: dict[str, list[SupervisionTask]]) -> None:
    """Each business's tasks in key order (the order of one read, which a tie between due
    days goes by)."""
    for held in tasks.values():
        held.sort(key=lambda t: t.key)


def _county(hierarchy: Hierarchy, area_code: str) -> str:
    """The county ``area_code`` lies in (the area itself above county level)."""
    county = hierarchy.ancestor(area_code, Tier.COUNTY) if area_code in hierarchy else None
    return county.code if county is not None else area_code


def _by_rules(
    app: Twores, hierarchy: Hierarchy, area: str | None, visits: list[Visit], period: Period
) -> list[tuple[list[Visit], QualityRules]]:
    """The visits with the thresholds the rules give for the area the report covers; a
    report over several roots (provinces) judges each root's visits by its own rules."""
    on = period.end
    if area is not None:
        return [(visits, app.plugins.quality_rules(area, on).value)]
    roots = hierarchy.roots
    if len(roots) == 1:
        return [(visits, app.plugins.quality_rules(roots[0].code, on).value)]
    by_root: dict[str, list[Visit]] = defaultdict(list)
    for visit in visits:
        path = hierarchy.path(visit.area_code) if visit.area_code in hierarchy else ()
        by_root[path[0].code if path else visit.area_code].append(visit)
    return [
        (part, app.plugins.quality_rules(root, on).value) for root, part in sorted(by_root.items())
    ]
