"""Data-quality signals (数据质量) for a period: flagged, never blocking, each explained."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import date

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy, Tier
from twores.core.periods import Period, PeriodKind
from twores.core.ports import Store, UnitOfWork
from twores.core.quality import (
    QualityJudge,
    QualityOverview,
    QualityRules,
    Signal,
    SignalKind,
)
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
        area = within or scope.area_code
        places: dict[str, tuple[str, str]] = {}  # area code -> (rules part, county)

        def place(visit: Visit) -> tuple[str, str]:
            code = visit.area_code
            if code not in places:
                places[code] = (_part(hierarchy, area, code), _county(hierarchy, code))
            return places[code]

        # A light first look at every visit: which cadres and evidence hashes lie in more
        # than one county, and how many cadres write each text (common wording).
        overviews: dict[str, QualityOverview] = {}
        counties: dict[str, set[str]] = defaultdict(set)  # county -> its rules parts
        cadres: set[str] = set()
        visits = 0
        for v in uow.visits.stream(between=(chosen.start, chosen.end), within=within):
            part, county = place(v)
            if part not in overviews:
                overviews[part] = QualityOverview(rules or _rules(app, part, chosen))
            overviews[part].add(v, county)
            counties[county].add(part)
            cadres.add(v.cadre_id)
            visits += 1
        judges = {part: overview.judge() for part, overview in sorted(overviews.items())}
        del overviews
        # Then a county at a time: its visits, their tasks, assignments and businesses.
        start, end = chosen.start, chosen.end
        for county in sorted(counties):
            narrow = within
            if county in hierarchy and not (within and hierarchy.contains(county, within)):
                narrow = county
            own = [
                v
                for v in uow.visits.stream(between=(chosen.start, chosen.end), within=narrow)
                if place(v)[1] == county
            ]
            keys = {v.business_key for v in own}
            read_tasks(uow, keys, (chosen.start, chosen.end))
            _in_key_order(tasks)
            for v in own:  # the windows' whole periods: their cadres' other visits count
                period_of = window(v)[1]
                start, end = min(start, period_of.start), max(end, period_of.end)
            assignments = list(uow.assignments.stream(business_keys=keys, within=within))
            businesses = uow.businesses.get_many(keys)
            by_part: dict[str, list[Visit]] = defaultdict(list)
            for v in own:
                by_part[place(v)[0]].append(v)
            for part, part_visits in sorted(by_part.items()):
                judges[part].judge(
                    part_visits, assignments, businesses, window_closes=window_closes
                )
            del own, by_part, assignments, businesses
            tasks.clear()
            read.clear()
        if start < chosen.start or end > chosen.end:
            # the same cadres' visits outside the period, a batch at a time with the tasks
            # of their businesses meeting those days
            context = (
                v
                for v in uow.visits.stream(between=(start, end), within=within)
                if v.cadre_id in cadres and not chosen.start <= v.visited_on <= chosen.end
            )
            while batch := list(itertools.islice(context, _CONTEXT_BATCH)):
                read_tasks(uow, {v.business_key for v in batch}, (start, end))
                _in_key_order(tasks)
                by_part = defaultdict(list)
                for v in batch:
                    by_part[place(v)[0]].append(v)
                for part, part_visits in sorted(by_part.items()):
                    if part not in judges:
                        judges[part] = QualityJudge(rules or _rules(app, part, chosen))
                    judges[part].count_context(part_visits, window_closes=window_closes)
                tasks.clear()
                read.clear()
    found = [
        (signal, judge.areas(signal)) for judge in judges.values() for signal in judge.signals()
    ]
    found.sort(key=lambda pair: pair[0].sort_key())
    by_area: dict[str, Counter[SignalKind]] = {}
    for signal, areas in found:  # in each county its visits lie in
        for code in sorted({_county(hierarchy, a) for a in areas or {signal.area_code}}):
            by_area.setdefault(code, Counter())[signal.kind] += 1
    signals = tuple(signal for signal, _ in found)
    return QualityReport(chosen, visits, signals, by_area)


#: Visits outside the period read at a time (with their businesses' tasks).
_CONTEXT_BATCH = 20_000


def _in_key_order(tasks: dict[str, list[SupervisionTask]]) -> None:
    """Each business's tasks in key order (the order of one read, which a tie between due
    days goes by)."""
    for held in tasks.values():
        held.sort(key=lambda t: t.key)


def _county(hierarchy: Hierarchy, area_code: str) -> str:
    """The county ``area_code`` lies in (the area itself above county level)."""
    county = hierarchy.ancestor(area_code, Tier.COUNTY) if area_code in hierarchy else None
    return county.code if county is not None else area_code


def _rules(app: Twores, part: str, period: Period) -> QualityRules:
    return app.plugins.quality_rules(part, period.end).value


def _part(hierarchy: Hierarchy, area: str | None, area_code: str) -> str:
    """Whose rules judge a visit in ``area_code``: the area the report covers, or the root
    (province) it lies in; a report over several roots judges each by its own rules."""
    if area is not None:
        return area
    roots = hierarchy.roots
    if len(roots) == 1:
        return roots[0].code
    path = hierarchy.path(area_code) if area_code in hierarchy else ()
    return path[0].code if path else area_code
