"""KPIs per area and period, the dashboard, and stored rankings, within the caller's scope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy
from twores.core.audit import now_iso
from twores.core.businesses import FoodBusiness
from twores.core.gc import gc_paused
from twores.core.kpis import (
    Kpi,
    KpiInput,
    KpiSpec,
    KpiValue,
    Ranking,
    RankingRun,
    rank_areas,
    roll_up,
)
from twores.core.periods import Period, today
from twores.core.ports import Store
from twores.core.security import Scope
from twores.services.bulletin import BulletinInput, OverdueItem, write_bulletin


@attrs.frozen
class KpiTable:
    """Every KPI's value for every area in scope, for one period as of one day."""

    period: Period
    as_of: date
    specs: tuple[KpiSpec, ...]
    values: dict[str, dict[str, KpiValue]]
    hierarchy: Hierarchy

    def value(self, kpi: str, area_code: str) -> KpiValue:
        found = self.values.get(kpi, {}).get(area_code)
        return found if found is not None else KpiValue(kpi, area_code, str(self.period))

    def children(self, area_code: str | None) -> list[str]:
        kids = self.hierarchy.children(area_code) if area_code else self.hierarchy.roots
        return [a.code for a in kids]


def _as_of(period: Period, as_of: date | None) -> date:
    return as_of or min(today(), period.end)


def compute_kpis(
    app: Twores,
    store: Store,
    scope: Scope,
    period: Period | str,
    *,
    as_of: date | None = None,
    within: str | None = None,
    names: Sequence[str] | None = None,
) -> KpiTable:
    """Count each KPI where its records sit, then sum up the area tree."""
    chosen = Period.parse(period) if isinstance(period, str) else period
    day = _as_of(chosen, as_of)
    kpis: dict[str, Kpi] = app.plugins.kpis()
    if names is not None:
        kpis = {n: kpis[n] for n in names}

    def director_required(business: FoodBusiness, on: date) -> bool:
        return app.plugins.requires_director(business, on).value

    values: dict[str, dict[str, KpiValue]] = {}
    with gc_paused(), store.unit_of_work(scope) as uow:
        hierarchy = uow.areas.hierarchy()
        facts = KpiInput(uow, chosen, day, within, director_required)
        for name, kpi in kpis.items():
            values[name] = roll_up(name, str(chosen), kpi.count(facts), hierarchy)
    return KpiTable(chosen, day, tuple(k.spec for k in kpis.values()), values, hierarchy)


def rank_children(
    app: Twores,
    store: Store,
    scope: Scope,
    period: Period | str,
    parent: str,
    *,
    as_of: date | None = None,
    table: KpiTable | None = None,
) -> tuple[Ranking, Ranking | None]:
    """Rank ``parent``'s child areas and store the run; returns it with the previous run.

    The same inputs and rule versions give the same hash, so a repeated run is the stored
    one (and is compared with the run before it)."""
    table = table or compute_kpis(app, store, scope, period, as_of=as_of, within=parent)
    specs = {s.name: s for s in table.specs}
    values = [table.value(k, c) for k in specs for c in table.children(parent)]
    versions = [f"{r.name} {r.version}" for r in app.plugins.rule_sets()]
    with store.unit_of_work(scope) as uow:
        draft = rank_areas(parent, str(table.period), values, specs, rule_versions=versions)
        stored = uow.rankings.get(draft.inputs_hash)
        before = stored.created_at if stored else None
        previous_run = (
            uow.rankings.latest(parent, before=before) if before else uow.rankings.latest(parent)
        )
        previous = previous_run.ranking if previous_run else None
        ranking = rank_areas(
            parent, str(table.period), values, specs, rule_versions=versions, previous=previous
        )
        if stored is None:
            uow.rankings.record(RankingRun(ranking, now_iso(), scope.actor))
            uow.commit()
    return ranking, previous


def issue_bulletin(
    app: Twores,
    store: Store,
    scope: Scope,
    period: Period | str,
    parent: str,
    folder: str | Path,
    *,
    as_of: date | None = None,
    kind: str = "weekly",
) -> tuple[Path, Path, Path]:
    """Rank ``parent``'s children and write the bulletin (.docx, .xlsx, .md) into ``folder``.

    It names the laggards, shows the changes since the previous ranking run and lists the
    problems overdue on the as-of day."""
    table = compute_kpis(app, store, scope, period, as_of=as_of, within=parent)
    ranking, previous = rank_children(app, store, scope, period, parent, table=table)
    hierarchy = table.hierarchy
    names = {a.code: a.name for a in hierarchy}
    overdue = []
    with store.unit_of_work(scope) as uow:
        for problem in uow.problems.stream(open_on=table.as_of, within=parent):
            business = uow.businesses.get(problem.business_key)
            assert problem.deadline is not None
            overdue.append(
                OverdueItem(
                    problem.id,
                    business.name if business else problem.business_key,
                    hierarchy.display_path(problem.area_code, "/"),
                    problem.description,
                    problem.deadline,
                    (table.as_of - problem.deadline).days,
                )
            )
    bulletin = BulletinInput(
        title_area=names.get(parent, parent),
        period_label=table.period.label("zh"),
        issued_on=table.as_of,
        specs=table.specs,
        ranking=ranking,
        area_names=names,
        previous=previous,
        overdue=tuple(sorted(overdue, key=lambda o: -o.days_overdue)),
        kind=kind,
    )
    stem = f"{parent}-{table.period}-{'日调度' if kind == 'daily' else '周通报'}"
    return write_bulletin(bulletin, Path(folder), stem)
