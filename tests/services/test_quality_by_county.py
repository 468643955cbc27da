"""The quality report judged county by county equals the whole-period judgement: cadres
above county level, identical text and evidence across counties, common wording."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import attrs
import pytest

import twores
from twores.core.areas import Hierarchy, Tier
from twores.core.assignment import plan_assignments
from twores.core.businesses import OperatingStatus
from twores.core.periods import CHINA_TZ, Period, PeriodKind
from twores.core.ports import Store
from twores.core.quality import Signal, SignalKind, quality_signals
from twores.core.supervision import SupervisionTask, Visit, VisitMode
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.assignments import upsert_cadres
from twores.services.quality import QualityReport, quality_report
from twores.services.supervision import schedule
from twores.services.synth import synthetic_roster

CITY = "4503"
ADMIN = twores.Scope("office", twores.Role.ADMIN)
START = date(2026, 1, 1)
K = SignalKind
CITY_CADRE = "CITY-CADRE-1"  # above county level: visits in two counties
PASTED = "后厨地面油污严重未及时清理"
COMMON = "冷藏柜温度记录缺失需整改"
PHOTO = "cd" * 32


def _at(day: date, hour: int = 15) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TZ)


def _old_report(app: twores.Twores, store: Store, period: str) -> QualityReport:
    """The whole-period computation before it went county by county (the oracle)."""
    chosen = Period.parse(period)
    closes: dict[tuple[Period, str], date] = {}
    tasks: dict[str, list[SupervisionTask]] = defaultdict(list)

    def window(visit: Visit) -> tuple[date, Period]:
        due = [t for t in tasks[visit.business_key] if visit.visited_on in t.period]
        if due:
            first = min(due, key=lambda t: t.due_on)
            return first.due_on, first.period
        quarter = Period.containing(PeriodKind.QUARTER, visit.visited_on)
        if (quarter, visit.area_code) not in closes:
            closes[quarter, visit.area_code] = app.plugins.window_close(
                quarter, visit.area_code
            ).value
        return closes[quarter, visit.area_code], quarter

    with store.unit_of_work(ADMIN) as uow:
        hierarchy = uow.areas.hierarchy()
        visits = list(uow.visits.stream(between=(chosen.start, chosen.end)))
        keys = {v.business_key for v in visits}
        for t in uow.tasks.stream(business_keys=keys, overlapping=(chosen.start, chosen.end)):
            tasks[t.business_key].append(t)
        periods = [window(v)[1] for v in visits]
        start = min((p.start for p in periods), default=chosen.start)
        end = max((p.end for p in periods), default=chosen.end)
        context: list[Visit] = []
        if start < chosen.start or end > chosen.end:
            cadres, own = {v.cadre_id for v in visits}, {v.key for v in visits}
            context = [
                v
                for v in uow.visits.stream(between=(start, end))
                if v.cadre_id in cadres and v.key not in own
            ]
            tasks.clear()
            wanted = keys | {v.business_key for v in context}
            for t in uow.tasks.stream(business_keys=wanted, overlapping=(start, end)):
                tasks[t.business_key].append(t)
        assignments = list(uow.assignments.stream(business_keys=keys))
        businesses = uow.businesses.get_many(keys)
    rules = app.plugins.quality_rules(hierarchy.roots[0].code, chosen.end).value
    signals = quality_signals(
        visits,
        assignments,
        businesses,
        window_closes=lambda v: window(v)[0],
        rules=rules,
        context=context,
    )
    area_of = {v.key: v.area_code for v in [*context, *visits]}
    by_area: dict[str, Counter[SignalKind]] = {}
    for signal in signals:
        areas = {area_of.get(key, signal.area_code) for key in signal.visits}
        for code in sorted({_county(hierarchy, a) for a in areas}):
            by_area.setdefault(code, Counter())[signal.kind] += 1
    return QualityReport(chosen, len(visits), tuple(signals), by_area)


def _county(hierarchy: Hierarchy, code: str) -> str:
    county = hierarchy.ancestor(code, Tier.COUNTY)
    return county.code if county is not None else code


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[twores.Twores, Store]:
    """桂林市 with 160 businesses, 2026Q1 scheduled, and visits seeding every signal, some
    only when the counties are judged together."""
    app = twores.build(load_entrypoints=False)
    store: Store = (
        MemoryStore() if request.param == "memory" else SqlStore(f"sqlite:///{tmp_path / 'q.db'}")
    )
    hierarchy = demo_region().subtree(CITY)
    roster = synthetic_roster(hierarchy, businesses=160, cadres=24, seed=7, within=CITY)
    plan = plan_assignments(roster, app.plugins.rulebook(), START)
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(roster.hierarchy)
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan)
        uow.commit()
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        held = sorted(uow.assignments.stream(active_on=START), key=lambda a: a.business_key)
        businesses = {b.key: b for b in uow.businesses.stream()}
    by_county: dict[str, list[str]] = defaultdict(list)
    for key in sorted(businesses):
        by_county[_county(hierarchy, businesses[key].area_code)].append(key)
    a, b, c = sorted(by_county, key=lambda code: (-len(by_county[code]), code))[:3]
    assert min(len(by_county[x]) for x in (a, b, c)) >= 6

    visits: list[Visit] = []

    def visit(
        biz: str, cadre: str, day: date, recorded: datetime | None = None, **kw: object
    ) -> None:
        area = businesses[biz].area_code
        visits.append(Visit(biz, cadre, area, day, recorded or _at(day), **kw))  # type: ignore[arg-type]

    for i, asg in enumerate(held):  # the ordinary visits, entered on the spot
        visit(asg.business_key, asg.cadre_id, date(2026, 1, 5 + i % 20))
    # a city-level cadre: 5 + 5 visits one day in two counties (> 8 only together), the
    # same text at 2 + 1 businesses (3 only together), back-filled on the close day
    day = date(2026, 2, 3)
    for biz in by_county[a][:5] + by_county[b][:5]:
        visit(biz, CITY_CADRE, day, _at(date(2026, 3, 31)))
    for biz in by_county[a][:2] + by_county[b][:1]:
        visit(biz, CITY_CADRE, date(2026, 2, 9), findings=(PASTED,))
    # the same text by one cadre in each of three counties, at three businesses each:
    # common wording, flagged in no county
    for n, county in enumerate((a, b, c)):
        for biz in by_county[county][:3]:
            visit(biz, f"TEXT-{n}", date(2026, 2, 12), findings=(COMMON,))
    # one photo in two counties
    visit(by_county[a][5], "PHOTO-1", date(2026, 2, 16), evidence=(PHOTO,))
    visit(by_county[b][5], "PHOTO-2", date(2026, 2, 16), evidence=(PHOTO,))
    # a local cadre: 9 visits one day, 3 of them at night
    for i, biz in enumerate(by_county[c][:9]):
        visit(biz, "LOCAL-1", date(2026, 2, 20), _at(date(2026, 2, 20), 23 if i < 3 else 10))
    # a closed business still visited
    closed_key = by_county[c][10] if len(by_county[c]) > 10 else by_county[a][-1]
    closed = attrs.evolve(
        businesses[closed_key], status=OperatingStatus.CLOSED, status_since=date(2026, 1, 20)
    )
    visit(closed_key, "LOCAL-2", date(2026, 2, 25))
    # a grouped session in two counties on one day: a single use of its photo
    for biz in (by_county[a][6], by_county[b][6]):
        visit(biz, CITY_CADRE, date(2026, 3, 4), mode=VisitMode.GROUPED, evidence=("ef" * 32,))
    leaver = held[0].cadre_id
    for i, asg in enumerate(x for x in held if x.cadre_id == leaver):
        visit(asg.business_key, leaver, date(2026, 2, 10) + timedelta(days=i))
    with store.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many([closed])
        uow.visits.upsert_many(list({v.key: v for v in visits}.values()))
        cadre = uow.cadres.get(leaver)
        assert cadre is not None
        left = attrs.evolve(cadre, active_to=date(2026, 2, 1))
        upsert_cadres(uow, [left])
        uow.commit()
    return app, store


def _same(new: QualityReport, old: QualityReport) -> None:
    assert new.visits == old.visits
    assert new.signals == old.signals
    assert list(new.by_area.items()) == list(old.by_area.items())


@pytest.mark.parametrize("period", ["2026Q1", "2026-02", "2026-W07"])
def test_county_by_county_equals_the_whole_period(
    world: tuple[twores.Twores, Store], period: str
) -> None:
    app, store = world
    new = quality_report(app, store, ADMIN, period)
    old = _old_report(app, store, period)
    _same(new, old)
    if period == "2026Q1":
        assert {s.kind for s in new.signals} == set(SignalKind)
        subjects = {(s.kind, s.subject) for s in new.signals}
        assert (K.TOO_MANY_PER_DAY, CITY_CADRE) in subjects
        assert (K.SAME_TEXT, PASTED) in subjects
        assert (K.SAME_EVIDENCE, PHOTO) in subjects
        assert (K.LAST_MINUTE, CITY_CADRE) in subjects
        assert not any(s.subject == COMMON for s in new.signals)
        assert not any(s.subject == "ef" * 32 for s in new.signals)


def test_judging_each_county_alone_would_differ(world: tuple[twores.Twores, Store]) -> None:
    """The dataset does test the split: each county judged alone gives other signals."""
    app, store = world
    whole = quality_report(app, store, ADMIN, "2026Q1")
    with store.unit_of_work(ADMIN) as uow:
        counties = sorted({_county(uow.areas.hierarchy(), s.area_code) for s in whole.signals})
    alone: list[Signal] = []
    for county in counties:
        if len(county) == 6:
            alone += quality_report(app, store, ADMIN, "2026Q1", within=county).signals
    assert sorted(alone, key=Signal.sort_key) != list(whole.signals)
    assert any(s.subject == COMMON for s in alone)  # common only over all counties
