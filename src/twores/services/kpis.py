"""KPIs per area and period, the dashboard, and stored rankings, within the caller's scope."""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy, Tier
from twores.core.audit import now_iso
from twores.core.errors import InvalidValueError
from twores.core.gc import gc_paused
from twores.core.kpis import (
    Kpi,
    KpiInput,
    KpiSpec,
    KpiValue,
    Ranking,
    RankingRun,
    RunKind,
    add_counts,
    as_counts,
    counted,
    rank_areas,
    roll_ups,
    unknown_kpi,
)
from twores.core.periods import Period, today
from twores.core.ports import Store, SummaryState, UnitOfWork
from twores.core.security import Scope, ScopeError
from twores.services.bulletin import BulletinInput, OverdueItem, staged_bulletin
from twores.services.exports import check_makeable
from twores.services.kpi_summary import Refreshed, keep, refresh
from twores.services.lookups import ISSUING, check_area, check_office


@attrs.frozen
class KpiTable:
    """Every KPI's value for every area in scope, for one period as of one day."""

    period: Period
    as_of: date
    specs: tuple[KpiSpec, ...]
    #: KPI -> area code -> value (values are made as they are read).
    values: Mapping[str, Mapping[str, KpiValue]]
    hierarchy: Hierarchy
    #: The area whose subtree was counted (None: everywhere).
    top: str | None = None

    def value(self, kpi: str, area_code: str) -> KpiValue:
        """``kpi``'s value in ``area_code`` (0 of 0 where nothing was counted); an area
        outside the counted subtree is an error, not a partial sum, and so is a KPI not in
        the table (a misspelt name is no 0 of 0)."""
        if self.top is not None and not self.hierarchy.holds(self.top, area_code):
            raise ScopeError(
                f"{area_code} 不在本次统计的区域 {self.top} 之内",
                f"{area_code} lies outside the area counted, {self.top}",
            )
        by_area = self.values.get(kpi)
        if by_area is None:
            if not any(s.name == kpi for s in self.specs):
                raise unknown_kpi("kpi", kpi, self.specs)
            by_area = {}
        found = by_area.get(area_code)
        return found if found is not None else KpiValue(kpi, area_code, str(self.period))

    def children(self, area_code: str | None) -> list[str]:
        kids = self.hierarchy.children(area_code) if area_code else self.hierarchy.roots
        return [a.code for a in kids]


def _as_of(period: Period, as_of: date | None) -> date:
    """``as_of`` (default: today or the period's end); a day after today is refused: the
    days not yet come would count as routines owed and not kept."""
    now = today()
    if as_of is not None and as_of > now:
        raise InvalidValueError(
            "as_of",
            as_of.isoformat(),
            f"晚于今天（{now.isoformat()}），尚未到来的日子不能统计",
            f"is after today ({now.isoformat()}): days not yet come cannot be counted",
        )
    return as_of or min(now, period.end)


def _counted(table: KpiTable) -> str:
    """What a bulletin counts: its period, and the day counted to when the period runs
    past it (a weekly bulletin of the quarter so far: 2026年第2季度，截至2026年5月8日)."""
    label = table.period.label("zh")
    if table.as_of >= table.period.end:
        return label
    day = table.as_of
    return f"{label}，截至{day.year}年{day.month}月{day.day}日"


def shown_areas(table: KpiTable, scope: Scope, area: str | None = None) -> list[str]:
    """The rows a KPI table shows: ``area`` (default: the scope's root) then its children;
    nationwide, the one root and its children, or else every province. An area outside
    the scope is refused, one above it too (its other children are not the caller's)."""
    top = area or scope.area_code
    if top is not None:
        check_area(table.hierarchy, scope, top)
        return [top, *table.children(top)]
    roots = list(table.children(None))
    return [roots[0], *table.children(roots[0])] if len(roots) == 1 else roots


def compute_kpis(
    app: Twores,
    store: Store,
    scope: Scope,
    period: Period | str,
    *,
    as_of: date | None = None,
    within: str | None = None,
    names: Sequence[str] | None = None,
    fresh: bool = False,
) -> KpiTable:
    """Count each KPI where its records sit, then sum up the area tree.

    Through the backend's summary when it keeps one (only counties written since are
    recounted); ``fresh`` counts everything from raw rows instead."""
    chosen = Period.parse(period) if isinstance(period, str) else period
    day = _as_of(chosen, as_of)
    _check_begun_on(chosen, day)
    kpis = _chosen(app, names)
    with gc_paused(), store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
        if within is not None:  # an area above the scope is refused, not narrowed
            check_area(hierarchy, scope, within)
        facts = _facts(app, uow, chosen, day)
        stored, save = (
            ({}, None) if fresh else _summarised(app, uow, kpis, chosen, day, within, facts)
        )
        direct = facts(within)
        counts = {
            n: stored[n] if n in stored else counted(k, direct, hierarchy) for n, k in kpis.items()
        }
        top = within if within is not None else scope.area_code
        values = roll_ups(str(chosen), counts, hierarchy, top)
        if save is not None:  # last: everything above was read in the unit's one snapshot
            save()
            uow.commit()
    specs = tuple(k.spec for k in kpis.values())
    return KpiTable(chosen, day, specs, values, hierarchy, top)


def _chosen(app: Twores, names: Sequence[str] | None) -> dict[str, Kpi]:
    """The registered KPIs named (None: all of them, in order); a name not registered is
    refused, before anything is counted (a bare string is one name)."""
    kpis: dict[str, Kpi] = app.plugins.kpis()
    if names is None:
        return kpis
    wanted = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in wanted if not isinstance(n, str) or n not in kpis]
    if unknown:
        shown = unknown[0] if len(unknown) == 1 else tuple(unknown)
        raise unknown_kpi("names", shown, (k.spec for k in kpis.values()))
    return {n: kpis[n] for n in wanted}


def _facts(
    app: Twores, uow: UnitOfWork, period: Period, day: date
) -> Callable[[str | None], KpiInput]:
    """One input per area, shared by every counter (counts several KPIs read are read once)."""

    director_required = app.plugins.rulebook().director_required
    by_area = app.plugins.director_reads_area()

    day_over = day < today()

    @functools.cache
    def facts(within: str | None) -> KpiInput:
        return KpiInput(uow, period, day, within, director_required, by_area, day_over)

    return facts


@attrs.frozen
class _Found:
    """What :func:`_refreshed` found: the counties, the KPIs kept in the summary, their
    states as of the unit's snapshot (stale ones recounted) and ``save``, which stores the
    recounts if the summary's claim is free at once (the unit's last step: True when all
    were stored)."""

    counties: list[str]
    kept: dict[str, Kpi]
    refreshed: Refreshed
    save: Callable[[], bool]


def _refreshed(
    app: Twores,
    uow: UnitOfWork,
    kpis: dict[str, Kpi],
    period: Period,
    day: date,
    within: str | None,
    *,
    recount: bool = True,
    facts: Callable[[str | None], KpiInput] | None = None,
) -> _Found | None:
    """The counties, the KPIs kept in the summary and their fresh states (None: no summary
    for this query). Raises :class:`_Stale` when ``recount`` is off and a count is stale.
    Stale counts are recounted in the unit's snapshot, never waiting for a writer."""
    summary = uow.kpi_summary
    counties = summary.counties(within) if summary is not None else None
    kept = {n: k for n, k in kpis.items() if k.per_county}
    if summary is None or counties is None or not kept:
        return None
    rules = ",".join(sorted(f"{r.name} {r.version}" for r in app.plugins.rule_sets()))
    if day >= today():  # counts of a day not yet over: recounted once it is
        rules += "|day not over"
    hierarchy = uow.areas.hierarchy()
    found = refresh(
        summary,
        kept,
        counties,
        str(period),
        day,
        within=within,
        facts=facts or _facts(app, uow, period, day),
        hierarchy=hierarchy,
        rules=rules,
        recount=recount,
    )
    if found is None:
        raise _Stale()

    def same_areas() -> bool:  # after the claim (SQLite: a new snapshot), areas as counted
        return uow.areas.hierarchy() is hierarchy

    def save() -> bool:
        assert summary is not None and found is not None
        return keep(summary, found, str(period), day, unchanged=same_areas)

    return _Found(counties, kept, found, save)


class _Stale(Exception):
    """A read-only pass met stale counts."""


#: One summary refresh at a time per process, as far as it goes: concurrent dashboards (a
#: web server's threads) would otherwise all recount the same counties. A refresh waits at
#: most this many seconds for another's, then recounts on its own (never waiting for a
#: writer: see :func:`twores.services.kpi_summary.keep`).
_REFRESHING = threading.Lock()
_REFRESH_WAIT = 0.5


def _summarised(
    app: Twores,
    uow: UnitOfWork,
    kpis: dict[str, Kpi],
    period: Period,
    day: date,
    within: str | None,
    facts: Callable[[str | None], KpiInput],
) -> tuple[dict[str, dict[str, tuple[int, int]]], Callable[[], bool] | None]:
    """Per KPI kept in the summary: its counts per area (stored, or recounted where stale),
    and the call that stores the recounts (None: no summary)."""
    found = _refreshed(app, uow, kpis, period, day, within, facts=facts)
    summary = uow.kpi_summary
    if found is None or summary is None:
        return {}, None
    counties, refreshed, name = found.counties, found.refreshed, str(period)
    plain = [n for n in found.kept if not refreshed.stale(n)]
    leaves = summary.leaves(name, day, plain, counties) if plain else {}
    for kpi, recount in refreshed.recounts.items():  # the stale counties' stored counts are old
        rest = [c for c in counties if c not in recount.counts]
        counts = dict(summary.leaves(name, day, [kpi], rest)[kpi]) if rest else {}
        for _, recounted in recount.counts.values():
            counts.update(recounted)
        leaves[kpi] = counts
    return leaves, found.save


@attrs.frozen
class Dashboard:
    """An area and its child areas with every KPI's value (province → city → county)."""

    area: str | None
    period: Period
    as_of: date
    specs: tuple[KpiSpec, ...]
    #: The area itself first (when given), then its children in code order.
    areas: tuple[str, ...]
    values: dict[str, dict[str, KpiValue]]

    @property
    def children(self) -> tuple[str, ...]:
        """The child areas shown (without the area itself)."""
        return self.areas[1:] if self.area is not None else self.areas


def kpi_dashboard(
    app: Twores,
    store: Store,
    scope: Scope,
    period: Period | str,
    area: str | None = None,
    *,
    as_of: date | None = None,
    names: Sequence[str] | None = None,
) -> Dashboard:
    """``area`` (default: the scope's) and its children, read from the summary's per-county
    totals above county level; a county or below is summed from its stored areas. A
    period not begun by the as-of day is refused, as :func:`rank_children` refuses it."""
    chosen = Period.parse(period) if isinstance(period, str) else period
    day = _as_of(chosen, as_of)
    _check_begun_on(chosen, day)  # the dashboard ranks its children
    kpis = _chosen(app, names)
    area = area or scope.area_code
    try:  # warm: read only, in parallel with other readers
        return _dashboard(app, store, scope, chosen, day, kpis, area, recount=False)
    except _Stale:
        pass
    # the refresh before this one may have stored what was stale; if it takes long, count too
    locked = _REFRESHING.acquire(timeout=_REFRESH_WAIT)
    try:
        return _dashboard(app, store, scope, chosen, day, kpis, area, recount=True)
    finally:
        if locked:
            _REFRESHING.release()


def _dashboard(
    app: Twores,
    store: Store,
    scope: Scope,
    chosen: Period,
    day: date,
    kpis: dict[str, Kpi],
    area: str | None,
    *,
    recount: bool,
) -> Dashboard:
    with gc_paused(), store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
        if area is not None:
            check_area(hierarchy, scope, area)
        kids = [a.code for a in (hierarchy.children(area) if area else hierarchy.roots)]
        shown = ([area] if area else []) + kids
        county = area is not None and hierarchy[area].tier.depth >= Tier.COUNTY.depth
        versions = None if county else _versions(uow, area)
        memos = _MEMOS.setdefault(store, {})
        key = _memo_key(app, scope, chosen, day, kpis, area)
        memo = memos.get(key)
        fresh = memo is not None and memo.hierarchy is hierarchy and memo.versions == versions
        totals: dict[str, dict[str, tuple[int, int]]] = memo.totals if memo and fresh else {}
        # a county is summed by compute_kpis below (which refreshes): here only whether stale
        skip = fresh or (county and recount)
        found = None if skip else _refreshed(app, uow, kpis, chosen, day, area, recount=recount)
        if found is not None and not county:
            states = found.refreshed.states
            totals = _totals(hierarchy, area, kids, found.counties, found.kept, states)
            stored = found.save()  # last: the totals were read in the unit's one snapshot
            uow.commit()
            if versions is not None and stored:  # unstored: the next dashboard stores them
                if len(memos) >= _MEMO_SIZE:
                    memos.pop(next(iter(memos)))
                memos[key] = _Memo(versions, hierarchy, totals)
    rest = [n for n in kpis if n not in totals]
    values = {n: {a: _value(n, a, chosen, totals[n].get(a)) for a in shown} for n in totals}
    if rest:
        table = compute_kpis(app, store, scope, chosen, as_of=day, within=area, names=rest)
        values.update({n: {a: table.value(n, a) for a in shown} for n in rest})
    specs = tuple(k.spec for k in kpis.values())
    return Dashboard(area, chosen, day, specs, tuple(shown), {n: values[n] for n in kpis})


@attrs.frozen
class _Memo:
    """The dashboard totals last summed in this process, with the fingerprint of the county
    change versions (read before the counts) and the hierarchy they came from. Versions only
    grow and every committed write has bumped them, so an equal fingerprint means equal
    totals."""

    versions: tuple[int, int]
    hierarchy: Hierarchy
    totals: dict[str, dict[str, tuple[int, int]]]


def _memo_key(
    app: Twores, scope: Scope, period: Period, day: date, kpis: dict[str, Kpi], area: str | None
) -> tuple[object, ...]:
    """Totals are the scope's counts: two scopes never share them, even when their
    counties' fingerprints happen to be equal."""
    rules = tuple(sorted(f"{r.name} {r.version}" for r in app.plugins.rule_sets()))
    counters = tuple((n, k.counter_id) for n, k in kpis.items() if k.per_county)
    # A day not over owes less than once it is (its own routines): summed again then.
    return (scope.area_code, str(period), day, day < today(), area, counters, rules)


def _versions(uow: UnitOfWork, area: str | None) -> tuple[int, int] | None:
    summary = uow.kpi_summary
    counties = summary.counties(area) if summary is not None else None
    return None if summary is None or counties is None else summary.fingerprint(counties)


#: Per store, the last dashboards summed (a few hundred areas at most are looked at).
_MEMOS: weakref.WeakKeyDictionary[Store, dict[tuple[object, ...], _Memo]] = (
    weakref.WeakKeyDictionary()
)
_MEMO_SIZE = 512


def _value(kpi: str, area: str, period: Period, counts: tuple[int, int] | None) -> KpiValue:
    n, d = counts or (0, 0)
    return KpiValue(kpi, area, str(period), n, d)


def _totals(
    hierarchy: Hierarchy,
    area: str | None,
    kids: list[str],
    counties: list[str],
    kpis: dict[str, Kpi],
    states: dict[tuple[str, str], SummaryState],
) -> dict[str, dict[str, tuple[int, int]]]:
    """Per KPI: the area's and each child's sum of its counties' stored totals."""
    wanted = set(kids)
    under: dict[str, list[str]] = {}
    for c in counties:
        places = [a.code for a in hierarchy.path(c) if a.code in wanted]
        under[c] = places + ([area] if area else [])
    found: dict[str, dict[str, tuple[int, int]]] = {}
    for name in kpis:
        sums: dict[str, list[int]] = {}
        for c in counties:
            state = states.get((name, c))
            if state is None:
                continue
            for place in under[c]:
                add_counts(sums, place, state.numerator, state.denominator)
        found[name] = as_counts(sums)
    return found


def kpi_specs(app: Twores) -> tuple[KpiSpec, ...]:
    """The registered KPIs' specs in order: the national set as the installed plugins
    added to, reweighted or replaced it."""
    return tuple(k.spec for k in app.plugins.kpis().values())


def rank_children(
    app: Twores,
    store: Store,
    scope: Scope,
    period: Period | str,
    parent: str,
    *,
    as_of: date | None = None,
    table: KpiTable | None = None,
    kind: RunKind = RunKind.RANKING,
) -> tuple[Ranking, Ranking | None]:
    """Rank ``parent``'s child areas and store the run; returns it with the run it follows
    (the latest earlier one of its kind: :meth:`Ranking.follows`).

    The same inputs, day, kind and rule versions give the same hash, so a repeated run is
    the stored one (and is compared with the same earlier run). Only an office or admin
    stores a new run (:attr:`Scope.keeps_ledgers`); anyone in scope reads a stored one."""
    table = table or compute_kpis(app, store, scope, period, as_of=as_of, within=parent)
    with store.unit_of_work(scope) as uow:
        ranking, previous, new = _ranked(app, uow, scope, table, parent, kind)
        if new:
            uow.rankings.record(RankingRun(ranking, now_iso(), scope.actor))
            uow.commit()
    return ranking, previous


def _ranked(
    app: Twores, uow: UnitOfWork, scope: Scope, table: KpiTable, parent: str, kind: RunKind
) -> tuple[Ranking, Ranking | None, bool]:
    """The run of ``parent``'s children, the run it follows, and whether it is new (to be
    stored by the caller; a repeat is the stored run). Nothing is stored here."""
    _check_begun(table)
    children = table.children(parent)
    if not children:
        raise InvalidValueError(
            "area_code", parent, "没有下级区划，无从排名", "has no child areas to rank"
        )
    specs = {s.name: s for s in table.specs}
    values = [table.value(k, c) for k in specs for c in children]
    versions = [f"{r.name} {r.version}" for r in app.plugins.rule_sets()]
    day, name = table.as_of, str(table.period)
    if scope.keeps_ledgers:  # it may store the run: claim before the repeat check
        uow.claim_writes()
    draft = rank_areas(parent, name, values, specs, rule_versions=versions, as_of=day, kind=kind)
    stored = uow.rankings.get(draft.inputs_hash)
    if stored is not None:  # a repeat: the stored run, with the run it was compared with
        key = stored.ranking.compared_with
        earlier = uow.rankings.get(key) if key else None
        return stored.ranking, earlier.ranking if earlier else None, False
    check_office(scope, ISSUING)  # a run stored is what later bulletins compare with
    previous_run = uow.rankings.previous(draft)
    previous = previous_run.ranking if previous_run else None
    ranking = rank_areas(
        parent,
        name,
        values,
        specs,
        rule_versions=versions,
        previous=previous,
        as_of=day,
        kind=kind,
    )
    return ranking, previous, True


def _check_begun(table: KpiTable) -> None:
    """A period not begun by its as-of day has nothing to rank yet: a run stored for it
    would be what the period's real first run is compared with."""
    _check_begun_on(table.period, table.as_of)


def _check_begun_on(period: Period, day: date) -> None:
    if day < period.start:
        raise InvalidValueError(
            "period",
            str(period),
            f"截至 {day.isoformat()} 尚未开始，尚无可统计、排名或通报的数据",
            f"has not begun by {day.isoformat()}: nothing to count, rank or report yet",
        )


def issue_bulletin(
    app: Twores,
    store: Store,
    scope: Scope,
    period: Period | str,
    parent: str,
    folder: str | Path,
    *,
    as_of: date | None = None,
    kind: str | RunKind = "weekly",
) -> tuple[Path, Path, Path]:
    """Rank ``parent``'s children and write the bulletin (.docx, .xlsx, .md) into ``folder``.

    It names the laggards, shows the changes since the previous bulletin of its ``kind``
    (``weekly`` or ``daily``; stored as a ranking run of that kind) and lists the problems
    overdue on the as-of day. All or nothing: the files are rendered in a scratch folder, the
    run is recorded, the files moved into place (earlier ones of the same name set aside),
    then the run committed (a stored run is what the next bulletin compares with). A
    bulletin that fails at any step stores no run, puts back the earlier files and leaves
    no file of its own behind."""
    check_office(scope, ISSUING)  # an office's or admin's, even as a repeat of a stored run
    run_kind = _bulletin_kind(kind)
    target = check_makeable(Path(folder))
    table = compute_kpis(app, store, scope, period, as_of=as_of, within=parent)
    hierarchy = table.hierarchy
    names = {a.code: a.name for a in hierarchy}
    with store.unit_of_work(scope) as uow:
        ranking, previous, new = _ranked(app, uow, scope, table, parent, run_kind)
        bulletin = BulletinInput(
            title_area=names.get(parent, parent),
            period_label=_counted(table),
            issued_on=table.as_of,
            specs=table.specs,
            ranking=ranking,
            area_names=names,
            previous=previous,
            overdue=_overdue(uow, table, parent),
            kind=run_kind.value,
        )
        stem = f"{parent}-{table.period}-{run_kind.zh}"
        with staged_bulletin(bulletin, target, stem) as staged:
            if new:  # stored with the files or not at all: what the next one follows
                uow.rankings.record(RankingRun(ranking, now_iso(), scope.actor))
            staged.publish()  # a move that fails puts back the earlier files
            if new:
                uow.commit()  # a commit that fails un-publishes (leaving the block)
            staged.keep()
    return staged.paths


def _bulletin_kind(kind: str | RunKind) -> RunKind:
    """A bulletin's kind, checked before anything is counted: weekly or daily."""
    try:
        found = RunKind.parse(kind, field="kind")
    except InvalidValueError:
        found = RunKind.RANKING
    if found is RunKind.RANKING:
        raise InvalidValueError(
            "kind",
            getattr(kind, "value", kind),
            "通报类型应为 weekly（周通报）或 daily（日调度）",
            "a bulletin is weekly (周通报) or daily (日调度)",
        )
    return found


def _overdue(uow: UnitOfWork, table: KpiTable, parent: str) -> tuple[OverdueItem, ...]:
    """The problems under ``parent`` overdue on the as-of day, the longest overdue first."""
    found = []
    overdue = list(uow.problems.stream(open_on=table.as_of, within=parent))
    names = {  # one read for all (a province's list was a query per problem)
        key: business.name
        for key, business in uow.businesses.get_many({p.business_key for p in overdue}).items()
    }
    for problem in overdue:
        deadline = problem.state_on(table.as_of)[1]  # as it stood on the day
        assert deadline is not None
        found.append(
            OverdueItem(
                problem.id,
                names.get(problem.business_key, problem.business_key),
                table.hierarchy.display_path(problem.area_code, "/"),
                problem.description,
                deadline,
                (table.as_of - deadline).days,
            )
        )
    return tuple(sorted(found, key=lambda o: -o.days_overdue))
