"""Read models for the web pages and JSON API, all within the caller's scope.

Each function opens one unit of work with the caller's scope, so the backends' scope
checks apply; personal data is masked for roles that may not see it.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, TypedDict

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Area, Hierarchy
from twores.core.assignment import Assignment
from twores.core.businesses import FoodBusiness
from twores.core.cadres import Cadre
from twores.core.errors import InvalidValueError, NotFoundError
from twores.core.kpis import Ranking, RunKind, rank_areas
from twores.core.letters import LetterStatus, letter_in_force
from twores.core.periods import Period, PeriodKind, today
from twores.core.ports import Store, UnitOfWork
from twores.core.problems import (
    TRANSITIONS,
    Action,
    Problem,
    ProblemStatus,
    Severity,
    may_take,
    why_barred,
)
from twores.core.security import Role, Scope, outside_scope
from twores.core.supervision import SupervisionTask, Visit
from twores.core.users import User
from twores.services.commitments import letter_state
from twores.services.kpis import Dashboard
from twores.services.lookups import business_in_scope, check_area, counties_filed, in_scope
from twores.services.privacy import business_for, cadre_for
from twores.services.supervision import VisitInput

#: Rows a list page shows at most.
PAGE = 200


def current_period(day: date | None = None) -> Period:
    """The supervision quarter of ``day`` (default: today in China)."""
    return Period.containing(PeriodKind.QUARTER, day or today())


@attrs.frozen
class AreaView:
    """An area with its path from the root and its children (only within the scope)."""

    area: Area | None
    path: tuple[Area, ...]
    children: tuple[Area, ...]


def area_view(store: Store, scope: Scope, code: str | None = None) -> AreaView:
    """``code`` (default: the scope's root) with its children; outside the scope: an error."""
    with store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
    return _area_view(hierarchy, scope, code)


def _area_view(hierarchy: Hierarchy, scope: Scope, code: str | None) -> AreaView:
    code = code or scope.area_code
    if code is None:
        return AreaView(None, (), hierarchy.roots)
    if code not in hierarchy:  # the page (or record) asked for does not exist: 404
        raise NotFoundError("area_code", code, "区划不存在", "no such area")
    check_area(hierarchy, scope, code)
    path = hierarchy.path(code)
    if scope.area_code is not None:  # the path shown starts at the scope's root
        depth = len(hierarchy.path(scope.area_code)) - 1
        path = path[depth:]
    return AreaView(hierarchy[code], path, hierarchy.children(code))


def area_names(store: Store, scope: Scope, codes: Iterable[str] | None = None) -> dict[str, str]:
    """Area code -> name: of ``codes`` (those that exist), or of every area."""
    with store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
        if codes is None:
            return {a.code: a.name for a in hierarchy}
        return {c: hierarchy[c].name for c in set(codes) if c in hierarchy}


def areas_of(store: Store, scope: Scope, codes: Iterable[str]) -> dict[str, Area]:
    """Area code -> area, of ``codes`` that exist (to name their tiers as the region does)."""
    with store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
        return {c: hierarchy[c] for c in set(codes) if c in hierarchy}


@attrs.frozen
class BusinessPage:
    """A page of businesses. ``total``: all of the area's businesses for a list; for a
    search (which is not counted through), those known to match: the ones up to the end of
    this page, and more than that when ``more`` (then ``exact`` is false); ``more``:
    others follow this page, in both."""

    total: int
    businesses: tuple[FoodBusiness, ...]
    more: bool = False
    #: ``total`` is the number of matches, not a lower bound of it.
    exact: bool = True


def businesses(
    store: Store,
    scope: Scope,
    within: str | None = None,
    *,
    offset: int = 0,
    limit: int = PAGE,
    after: str | None = None,
) -> BusinessPage:
    """A page of the businesses under ``within`` (default: the whole scope), in key order,
    personal data masked unless the scope may see it: from the ``offset``-th, or with
    ``after`` (the last key of the page before: a "next page" link), those whose key sorts
    after it, read from the key index however deep the page (``offset`` then only numbers
    the page for display and skips nothing)."""
    if after is None:
        total, found = _page(store, scope, "businesses", within, offset, limit)
        shown = tuple(business_for(scope, b) for b in found)
        return BusinessPage(total, shown, more=offset + len(shown) < total)
    _check_page(offset, limit)
    total, found = _page(store, scope, "businesses", within, offset, limit + 1, after=after)
    shown = tuple(business_for(scope, b) for b in found[:limit])
    return BusinessPage(total, shown, more=len(found) > limit)


def search_businesses(
    store: Store,
    scope: Scope,
    text: str,
    within: str | None = None,
    *,
    offset: int = 0,
    limit: int = PAGE,
) -> BusinessPage:
    """A page of the businesses under ``within`` whose name, licence number or credit code
    holds ``text``, in key order from the ``offset``-th (``total``: how many are known to
    match, exact only when this page is the last; ``more``: others match after them),
    masked as the scope requires. The store does not count a search, and counting it by
    reading every match would scan a province's businesses on every page."""
    wanted = text.strip()
    if not wanted:
        raise InvalidValueError("q", text, "请输入要查找的名称或编号", "type a name or number")
    _check_page(offset, limit)
    with store.unit_of_work(scope) as uow:
        if within is not None:
            check_area(uow.areas.hierarchy(), scope, within)
        found = uow.businesses.search(wanted, within=within, offset=offset, limit=limit + 1)
    shown = tuple(business_for(scope, b) for b in found[:limit])
    more = len(found) > limit
    if not shown and offset:  # past the last match: how many there are is not known
        return BusinessPage(0, shown, more=False, exact=False)
    return BusinessPage(offset + len(shown), shown, more=more, exact=not more)


@attrs.frozen
class CadrePage:
    total: int
    cadres: tuple[Cadre, ...]


def cadres(
    store: Store, scope: Scope, within: str | None = None, *, offset: int = 0, limit: int = PAGE
) -> CadrePage:
    """A page of the cadres under ``within`` (default: the whole scope), in id order,
    personal data masked unless the scope may see it."""
    total, found = _page(store, scope, "cadres", within, offset, limit)
    return CadrePage(total, tuple(cadre_for(scope, c) for c in found))


#: The furthest a page may start (beyond any province's records).
MAX_OFFSET = 10_000_000


def check_offset(offset: int, field: str = "offset") -> None:
    """A page's start, named ``field`` as the request names it."""
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidValueError(
            field, offset, f"应在 0–{MAX_OFFSET} 之间", f"must be 0-{MAX_OFFSET:,}"
        )


def _check_page(offset: int, limit: int) -> None:
    check_offset(offset)
    if not 1 <= limit <= 1000:
        raise InvalidValueError("limit", limit, "应在 1–1000 之间", "must be 1-1000")


def _page(
    store: Store,
    scope: Scope,
    records: str,
    within: str | None,
    offset: int,
    limit: int,
    *,
    after: str | None = None,
) -> tuple[int, list[Any]]:
    """How many ``records`` (the unit of work's repository) lie under ``within``, and the
    page of them from ``offset`` (with ``after``: of those whose key sorts after it, from
    the first; ``limit`` may then be one over a page's, to learn whether more follow)."""
    if after is None:
        _check_page(offset, limit)
    else:  # the page was checked by the caller
        _check_after(after)
    with store.unit_of_work(scope) as uow:
        if within is not None:  # an area above the scope is refused, not narrowed
            check_area(uow.areas.hierarchy(), scope, within)
        repository = getattr(uow, records)
        total = repository.count(within=within)
        if after is None:
            return total, repository.page(within=within, offset=offset, limit=limit)
        return total, repository.page(within=within, after=after, limit=limit)


#: The longest key an ``after`` may name (keys are licence numbers, credit codes, ids).
MAX_AFTER = 200


def _check_after(after: str) -> None:
    if not after or len(after) > MAX_AFTER:
        raise InvalidValueError(
            "after",
            after[:MAX_AFTER],
            f"应为上一页最后一个主体的编号（1–{MAX_AFTER} 个字符）",
            f"must be the last key of the page before (1-{MAX_AFTER} characters)",
        )


@attrs.frozen
class BusinessDetail:
    """A business with its assignment history, tasks, visits and problems."""

    business: FoodBusiness
    key: str
    area_path: str
    assignments: tuple[Assignment, ...]
    cadres: tuple[Cadre, ...]
    tasks: tuple[SupervisionTask, ...]
    visits: tuple[Visit, ...]
    problems: tuple[Problem, ...]


def business_detail(store: Store, scope: Scope, key: str) -> BusinessDetail:
    with store.unit_of_work(scope) as uow:
        business = business_in_scope(uow, key)
        assignments = tuple(uow.assignments.stream(business_key=business.key))
        cadres = [uow.cadres.get(c) for c in dict.fromkeys(a.cadre_id for a in assignments)]
        return BusinessDetail(
            business_for(scope, business),
            business.key,
            uow.areas.hierarchy().display_path(business.area_code, " / "),
            assignments,
            tuple(cadre_for(scope, c) for c in cadres if c is not None),
            tuple(uow.tasks.stream(business_key=business.key)),
            tuple(uow.visits.stream(business_key=business.key)),
            tuple(uow.problems.stream(business_key=business.key)),
        )


@attrs.frozen
class CadreDesk:
    """A cadre's page: the businesses held today, this period's tasks, the letter status."""

    cadre: Cadre
    period: Period
    businesses: tuple[FoodBusiness, ...]
    tasks: tuple[SupervisionTask, ...]
    letter_status: LetterStatus | None
    letter_deadline: date | None
    #: The cadre's area (its tier as the region names it: ``twores_area_label``).
    area: Area | None = None


def cadre_desk(
    app: Twores, store: Store, user: User, cadre_id: str | None = None, period: Period | None = None
) -> CadreDesk:
    """A cadre's desk (``user``'s own by default); a cadre user opens no other."""
    cadre_id = desk_of(user, cadre_id)
    scope = user.scope
    chosen = period or current_period()
    day = min(today(), chosen.end)
    with store.unit_of_work(scope) as uow:
        cadre = uow.cadres.get(cadre_id)
        if cadre is None:
            raise NotFoundError(
                "cadre_id", cadre_id, "干部不存在或不在辖区内", "no such cadre in scope"
            )
        hierarchy = uow.areas.hierarchy()
        area = hierarchy.get(cadre.area_code)
        counties = _counties_of(hierarchy, cadre)
        keys = [a.business_key for a in _held_on(uow, cadre_id, day, counties)]
        held = uow.businesses.get_many(keys)
        span = (chosen.start, chosen.end)
        tasks = tuple(
            heapq.merge(
                *(
                    list(uow.tasks.stream(cadre_id=cadre_id, overlapping=span, county_code=c))
                    for c in counties
                ),
                key=_task_order,
            )
        )
        letter = letter_in_force(uow.letters.stream(year=day.year, cadre_id=cadre_id), day)
    mine = letter_state(app, cadre, letter, keys, day.year, day) if cadre.is_active(day) else None
    return CadreDesk(
        cadre_for(scope, cadre),
        chosen,
        tuple(business_for(scope, held[k]) for k in sorted(held)),
        tasks,
        mine.status if mine else None,
        mine.deadline if mine else None,
        area,
    )


def problem_ledger(
    store: Store,
    scope: Scope,
    *,
    status: ProblemStatus | None = None,
    severity: Severity | None = None,
    within: str | None = None,
    overdue_on: date | None = None,
    limit: int = PAGE,
    offset: int = 0,
) -> list[Problem]:
    """``limit`` problems matching the filters from the ``offset``-th, in id order; an area
    outside the scope, or above it, is refused."""
    _check_page(offset, limit)
    with store.unit_of_work(scope) as uow:
        filters = _filters(uow, scope, status, severity, within, overdue_on)
        return uow.problems.page(**filters, offset=offset, limit=limit)


class _Filters(TypedDict):
    status: ProblemStatus | None
    severity: Severity | None
    within: str | None
    open_on: date | None


def _filters(
    uow: UnitOfWork,
    scope: Scope,
    status: ProblemStatus | None,
    severity: Severity | None,
    within: str | None,
    overdue_on: date | None,
) -> _Filters:
    """A ledger's filters as the problems repository takes them; an area outside the
    scope, or above it, is refused."""
    if within is not None:
        check_area(uow.areas.hierarchy(), scope, within)
    return _Filters(status=status, severity=severity, within=within, open_on=overdue_on)


#: The problems a ledger page counts at most beyond its own rows: past them it says "more
#: than" (the database counts them, but a province's ledger need not be counted whole on
#: every view).
COUNT_BEYOND = 2_000


@attrs.frozen
class ProblemPage:
    """A page of the ledger: ``total`` problems match, or more than that when not
    ``exact``; ``more``: others follow this page."""

    problems: tuple[Problem, ...]
    total: int
    exact: bool
    more: bool


def problem_page(
    store: Store,
    scope: Scope,
    *,
    status: ProblemStatus | None = None,
    severity: Severity | None = None,
    within: str | None = None,
    overdue_on: date | None = None,
    limit: int = PAGE,
    offset: int = 0,
) -> ProblemPage:
    """:func:`problem_ledger`'s page with how many match: counted by the store up to
    :data:`COUNT_BEYOND` past the page (a bounded count, never a province's ledger on every
    view; the rows before the page are skipped by the database, not read)."""
    _check_page(offset, limit)
    with store.unit_of_work(scope) as uow:
        filters = _filters(uow, scope, status, severity, within, overdue_on)
        shown = tuple(uow.problems.page(**filters, offset=offset, limit=limit))
        if len(shown) < limit:  # the last page (or past it): nothing follows
            exact = bool(shown) or offset == 0
            return ProblemPage(shown, offset + len(shown) if exact else 0, exact, False)
        beyond = uow.problems.count(**filters, offset=offset + limit, cap=COUNT_BEYOND + 1)
    exact = beyond <= COUNT_BEYOND
    return ProblemPage(shown, offset + limit + min(beyond, COUNT_BEYOND), exact, beyond > 0)


def area_choices(store: Store, scope: Scope) -> tuple[Area, ...]:
    """The areas a ledger filters by: the scope's root and its children (for a nationwide
    scope, the provinces)."""
    view = area_view(store, scope)
    return (view.area, *view.children) if view.area else view.children


def area_code_of(store: Store, scope: Scope, text: str) -> str:
    """The code of the area ``text`` names: a code as it is, else the one area in the
    scope of that name (a name several areas share is refused, naming their codes); an
    unknown one is returned for :func:`check_area` to refuse."""
    wanted = text.strip()
    with store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
    if wanted in hierarchy:
        return wanted
    named = [a for a in hierarchy if a.name == wanted and in_scope(hierarchy, scope, a.code)]
    if len(named) > 1:
        codes = "、".join(a.code for a in named[:10])
        raise InvalidValueError(
            "area_code",
            wanted,
            f"有多个同名区划（{codes}），请输入区划代码",
            f"several areas have this name ({codes}): give the area code",
        )
    return named[0].code if named else wanted


def business_names(store: Store, scope: Scope, keys: Iterable[str]) -> dict[str, str]:
    """The names of the businesses ``keys`` names, those in scope (for lists of records)."""
    with store.unit_of_work(scope) as uow:
        return {k: b.name for k, b in uow.businesses.get_many(set(keys)).items()}


def ranking_view(
    app: Twores, store: Store, scope: Scope, dashboard: Dashboard
) -> tuple[Ranking, Ranking | None] | None:
    """The dashboard's children ranked, with movements against the last stored run (read
    only: nothing is stored; ``twores rank`` or the bulletin stores runs)."""
    parent = dashboard.area
    if parent is None or len(dashboard.children) < 2:  # one child: nothing to rank
        return None
    with store.unit_of_work(scope) as uow:
        run = uow.rankings.previous(_ranked(app, dashboard, None))
    previous = run.ranking if run else None
    return _ranked(app, dashboard, previous), previous


@attrs.frozen
class DashboardView:
    """What the dashboard page shows beside the KPI values: the area with its path and
    children, and the children ranked (None: nothing to rank) with the previous run."""

    view: AreaView
    ranking: Ranking | None
    previous: Ranking | None


def dashboard_view(app: Twores, store: Store, scope: Scope, dashboard: Dashboard) -> DashboardView:
    """:func:`area_view` and :func:`ranking_view` of ``dashboard``'s area in one unit of work."""
    parent = dashboard.area
    ranked = parent is not None and len(dashboard.children) > 1  # one child: nothing to rank
    with store.unit_of_work(scope) as uow:
        view = _area_view(uow.areas.hierarchy(), scope, parent)
        run = uow.rankings.previous(_ranked(app, dashboard, None)) if ranked else None
    if not ranked:
        return DashboardView(view, None, None)
    previous = run.ranking if run else None
    return DashboardView(view, _ranked(app, dashboard, previous), previous)


#: Rankings computed lately, by everything they are computed from: the parent, the period,
#: every KPI count, the KPI specs, the rule versions and the previous run's ranks. A pure
#: function of its key, so never stale and shared safely between users (the counts come
#: from each caller's own scoped dashboard).
_RANKINGS: dict[tuple[object, ...], Ranking] = {}
_RANKINGS_MAX = 512
_rankings_lock = threading.Lock()


def _ranked(app: Twores, dashboard: Dashboard, previous: Ranking | None) -> Ranking:
    parent = dashboard.area
    assert parent is not None
    specs = {s.name: s for s in dashboard.specs}
    values = [dashboard.values[k][c] for k in specs for c in dashboard.children]
    versions = tuple(f"{r.name} {r.version}" for r in app.plugins.rule_sets())
    key = (
        parent,
        str(dashboard.period),
        dashboard.as_of,
        tuple((v.kpi, v.area_code, v.period, v.numerator, v.denominator) for v in values),
        dashboard.specs,
        versions,
        _ranks(previous),
    )
    with _rankings_lock:
        found = _RANKINGS.get(key)
    if found is not None:
        return found
    ranking = rank_areas(
        parent,
        str(dashboard.period),
        values,
        specs,
        rule_versions=versions,
        previous=previous,
        as_of=dashboard.as_of,
        kind=RunKind.WEEKLY,  # compared with the last weekly bulletin (周通报) issued
    )
    with _rankings_lock:
        if len(_RANKINGS) >= _RANKINGS_MAX:
            _RANKINGS.pop(next(iter(_RANKINGS)))
        _RANKINGS[key] = ranking
    return ranking


def _ranks(previous: Ranking | None) -> Sequence[tuple[str, int]] | None:
    return None if previous is None else tuple((a.area_code, a.rank) for a in previous.areas)


def held_today(store: Store, scope: Scope, cadre_id: str) -> set[str]:
    """The keys of the businesses ``cadre_id`` holds today (the ledger steps a cadre may
    take are theirs only)."""
    with store.unit_of_work(scope) as uow:
        cadre = uow.cadres.get(cadre_id)
        counties = (None,) if cadre is None else _counties_of(uow.areas.hierarchy(), cadre)
        return {a.business_key for a in _held_on(uow, cadre_id, today(), counties)}


def _counties_of(hierarchy: Hierarchy, cadre: Cadre) -> tuple[str | None, ...]:
    """The distribution keys to read a cadre's assignments and tasks under, one by one:
    a county-or-lower cadre's one county, each key under an above-county cadre's area (a
    cadre's businesses lie in the cadre's area); ``(None,)``: all at once (an unknown
    area, or too many keys)."""
    return counties_filed(hierarchy, cadre.area_code) or (None,)


def _assignment_order(a: Assignment) -> tuple[str, str, date]:
    return a.business_key, a.cadre_id, a.valid_from


def _task_order(t: SupervisionTask) -> str:
    return t.key


def _held_on(
    uow: UnitOfWork, cadre_id: str, day: date, counties: Sequence[str | None]
) -> Iterable[Assignment]:
    """``cadre_id``'s assignments in force on ``day``, read per key of ``counties`` and
    merged in the order one unrestricted :meth:`stream` gives (business key, cadre id,
    valid_from)."""
    return heapq.merge(
        *(
            list(uow.assignments.stream(cadre_id=cadre_id, active_on=day, county_code=c))
            for c in counties
        ),
        key=_assignment_order,
    )


def next_actions(
    problem: Problem, role: Role, actor: str | None = None, held: set[str] | None = None
) -> list[Action]:
    """The ledger steps ``role`` (acting as ``actor``) may take from ``problem``'s status
    (the state machine's; a cadre never takes an office's steps, nor the reporter or the
    fix's submitter a verifier's); with ``held``, none for a business not among them."""
    if held is not None and problem.business_key not in held:
        return []
    return [
        a
        for a in TRANSITIONS.get(problem.status, {})
        if may_take(role, a) and (actor is None or why_barred(problem, a, actor) is None)
    ]


def desk_of(user: User, cadre_id: str | None) -> str:
    """The cadre whose desk ``user`` opens: their own by default; a cadre user no other."""
    chosen = cadre_id or user.cadre_id
    if not chosen:
        raise InvalidValueError(
            "cadre_id", "", "请指定干部编号（?cadre=…）", "name a cadre (?cadre=...)"
        )
    if user.role is Role.CADRE and chosen != user.cadre_id:
        raise outside_scope(user.scope, f"干部 {chosen} 的工作台", f"cadre {chosen}'s desk")
    return chosen


def visit_as(user: User, visit: VisitInput) -> VisitInput:
    """The visit a user may record: a cadre records visits in their own name only."""
    if user.role is not Role.CADRE:
        return visit
    if visit.cadre_id:
        user.scope.check_acts_as(visit.cadre_id)
    return attrs.evolve(visit, cadre_id=user.acts_as)
