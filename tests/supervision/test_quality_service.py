"""Data-quality signals from the store: flagged per county, nothing blocked."""

from __future__ import annotations

from datetime import date, datetime

import twores
from twores.core.periods import CHINA_TZ
from twores.core.quality import QualityRules, SignalKind
from twores.core.rules import Rule, RuleSet, Ruling
from twores.plugins import hookimpl
from twores.services.quality import quality_report
from twores.services.supervision import VisitInput, record_visits, schedule

from .helpers import ADMIN, COUNTY, START, load

PHOTO = "cd" * 32


def test_reused_evidence_and_night_entries_are_flagged_not_blocked(
    app: twores.Twores, store: twores.Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        held = list(uow.assignments.stream(active_on=START))[:3]
    visits = [
        VisitInput(a.business_key, a.cadre_id, date(2026, 3, 2), evidence=(PHOTO,)) for a in held
    ]
    night = datetime(2026, 3, 3, 2, 30, tzinfo=CHINA_TZ)
    outcomes = record_visits(app, store, ADMIN, visits, now=night)
    assert all(o.written.inserted == 1 for o in outcomes)  # recorded: flags never block
    report = quality_report(app, store, ADMIN, "2026Q1")
    kinds = {s.kind for s in report.signals}
    assert kinds == {SignalKind.SAME_EVIDENCE, SignalKind.ODD_HOURS}
    (reused,) = [s for s in report.signals if s.kind is SignalKind.SAME_EVIDENCE]
    assert len(reused.visits) == 3 and reused.zh and reused.en
    assert report.by_area[COUNTY][SignalKind.ODD_HOURS] == 3


AWAKE = Rule("test.quality.awake", "全天录入", "entries at any hour", "test")


class AwakeAllNight:
    """A region whose offices enter visits around the clock: no hour is odd there."""

    @hookimpl
    def twores_rule_sets(self) -> list[RuleSet]:
        return [RuleSet("awake", "1", "全天录入", "around the clock", (AWAKE,))]

    @hookimpl
    def twores_quality_rules(self) -> Ruling[QualityRules]:
        return Ruling(QualityRules(night_start=0, night_end=0), AWAKE)


def _a_visit_entered_at_night(
    app: twores.Twores, store: twores.Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        held = next(iter(uow.assignments.stream(active_on=START)))
    visit = VisitInput(held.business_key, held.cadre_id, date(2026, 3, 2))
    record_visits(app, store, ADMIN, [visit], now=datetime(2026, 3, 3, 2, 30, tzinfo=CHINA_TZ))


def test_a_region_sets_its_own_thresholds(
    app: twores.Twores, store: twores.Store, roster: twores.Roster
) -> None:
    _a_visit_entered_at_night(app, store, roster)
    national = quality_report(app, store, ADMIN, "2026Q1", within=COUNTY)
    assert [s.kind for s in national.signals] == [SignalKind.ODD_HOURS]
    regional = twores.build(load_entrypoints=False, plugins=[AwakeAllNight()])
    assert quality_report(regional, store, ADMIN, "2026Q1", within=COUNTY).signals == ()


class AwakeInGuangxi(AwakeAllNight):
    """Around the clock in 广西 (45) only."""

    @hookimpl
    def twores_quality_rules(self, area_path: tuple[str, ...]) -> Ruling[QualityRules] | None:
        return (
            Ruling(QualityRules(night_start=0, night_end=0), AWAKE) if "45" in area_path else None
        )


def test_a_report_over_several_provinces_judges_each_by_its_own_rules(
    app: twores.Twores, store: twores.Store, roster: twores.Roster
) -> None:
    _a_visit_entered_at_night(app, store, roster)
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(
            [twores.Area(code="15", name="内蒙古自治区", tier=twores.Tier.PROVINCE)]
        )
        uow.commit()
    regional = twores.build(load_entrypoints=False, plugins=[AwakeInGuangxi()])
    assert quality_report(regional, store, ADMIN, "2026Q1").signals == ()  # 广西's rules
    assert [s.kind for s in quality_report(app, store, ADMIN, "2026Q1").signals] == [
        SignalKind.ODD_HOURS
    ]


def test_a_signal_over_visits_in_several_counties_counts_in_each(
    app: twores.Twores, store: twores.Store, roster: twores.Roster
) -> None:
    from twores.core.assignment import Assignment
    from twores.core.businesses import BusinessType, FoodBusiness
    from twores.divisions import demo_region

    load(store, roster, START)
    township = "450324100"  # in another county
    elsewhere = FoodBusiness(
        "邻县饭店", township, BusinessType.CATERING, licence_no="JY24503240000001"
    )
    cadre = twores.Cadre("c-450324", "李四", twores.Tier.TOWNSHIP, township)
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(demo_region().subtree("450324"))
        uow.businesses.upsert_many([elsewhere])
        uow.cadres.upsert_many([cadre])
        uow.assignments.upsert_many([Assignment(cadre.id, elsewhere.key, START)])
        held = list(uow.assignments.stream(active_on=START, within=COUNTY))[:2]
        uow.commit()
    visits = [
        VisitInput(a.business_key, a.cadre_id, date(2026, 3, 2), evidence=(PHOTO,))
        for a in [*held, Assignment(cadre.id, elsewhere.key, START)]
    ]
    record_visits(app, store, ADMIN, visits, now=datetime(2026, 3, 3, 10, tzinfo=CHINA_TZ))
    report = quality_report(app, store, ADMIN, "2026Q1")
    (reused,) = [s for s in report.signals if s.kind is SignalKind.SAME_EVIDENCE]
    assert len(reused.visits) == 3  # two in 灵川县, one in its neighbour: counted in both
    assert report.by_area[COUNTY][SignalKind.SAME_EVIDENCE] == 1
    assert report.by_area["450324"][SignalKind.SAME_EVIDENCE] == 1
