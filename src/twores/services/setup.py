"""Setting a database up: schema and areas (``init``), or a synthetic region (``synth``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy
from twores.core.errors import InvalidValueError
from twores.core.periods import Period, PeriodKind
from twores.core.security import Scope
from twores.divisions import demo_region, division_root, load_divisions
from twores.services.assignments import assign
from twores.services.demo_cycle import CycleReport, check_begun, run_cycle
from twores.services.stores import open_store
from twores.services.synth import synthetic_businesses, synthetic_cadres


def region(area: str | None, divisions: str | Path | None) -> Hierarchy:
    """The statistical divisions under ``area`` (from ``divisions``), or the packaged 桂林市."""
    if divisions is None:
        return demo_region() if area is None else demo_region().subtree(division_root(area))
    return Hierarchy(load_divisions(Path(divisions), within=area))


@attrs.frozen
class InitReport:
    url: str
    areas: int


def init(
    app: Twores, url: str | None, *, area: str | None = None, divisions: str | Path | None = None
) -> InitReport:
    """Create (or migrate) the database and load the areas offices work in."""
    hierarchy = region(area, divisions)
    store = open_store(app, url)
    try:
        with store.unit_of_work(Scope.system("twores init")) as uow:
            uow.claim_writes()  # before the first read of what it writes
            uow.areas.upsert_many(hierarchy)
            uow.commit()
        return InitReport(store.url, len(hierarchy))
    finally:
        store.close()


@attrs.frozen
class SynthReport:
    url: str
    areas: int
    businesses: int
    cadres: int
    assignments: int
    cycle: CycleReport | None


def synthesize(
    app: Twores,
    url: str | None,
    *,
    businesses: int,
    cadres: int,
    area: str | None = None,
    divisions: str | Path | None = None,
    on: date = date(2025, 6, 30),
    seed: int = 0,
    quarter: bool = False,
    folder: Path = Path("twores-synth"),
) -> SynthReport:
    """A real hierarchy with synthetic businesses and cadres at the sizes asked, assigned on
    ``on``; with ``quarter``, the next quarter's supervision as the demo runs it."""
    for field, count in (("businesses", businesses), ("cadres", cadres)):
        if count < 0:
            raise InvalidValueError(field, count, "不能为负数", "must not be negative")
    hierarchy = region(area, divisions)
    app.use_hierarchy(hierarchy)
    scope = Scope.system("twores synth")
    if quarter:  # before anything is written
        check_begun(Period.containing(PeriodKind.QUARTER, on).next())
    store = open_store(app, url)
    try:
        made = list(synthetic_businesses(hierarchy, businesses, seed=seed))
        staff = list(synthetic_cadres(hierarchy, cadres, seed=seed))
        with store.unit_of_work(scope) as uow:
            uow.claim_writes()  # before the first read of what it writes
            uow.areas.upsert_many(hierarchy)
            uow.businesses.upsert_many(made)
            uow.cadres.upsert_many(staff)
            uow.commit()
        planned = assign(app, store, scope, on=on)
        cycle = None
        if quarter:
            period = Period.containing(PeriodKind.QUARTER, on).next()
            parent = area or hierarchy.roots[0].code
            cycle = run_cycle(app, store, scope, period, parent, folder, quarters=1, seed=seed)
        return SynthReport(
            store.url,
            len(hierarchy),
            len(made),
            len(staff),
            len(planned.plan.creates),
            cycle,
        )
    finally:
        store.close()
