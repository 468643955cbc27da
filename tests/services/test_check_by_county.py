"""`check` goes county by county; its report is the whole roster's, in the same order."""

from __future__ import annotations

import types
from collections import Counter
from datetime import date

import attrs

import twores
from twores.core.areas import Tier
from twores.core.assignment import Assignment, PlanMode, plan_assignments
from twores.core.invariants import roster_violations
from twores.core.rules import Rule, RuleSet, Ruling
from twores.divisions import demo_region
from twores.plugins import hookimpl
from twores.services.assignments import (
    CheckReport,
    assign,
    check,
    load_roster,
    managed_roster,
)
from twores.services.synth import synthetic_roster

ON = date(2026, 12, 1)
CITY = "4503"
CAP = Rule("test.city_cap", "市级干部包保上限", "a cap on city cadres")


def _whole_roster_check(
    app: twores.Twores, store: twores.Store, scope: twores.Scope
) -> CheckReport:
    """What `check` did before it went county by county: the whole roster at once."""
    rules = app.plugins.rulebook()
    with store.unit_of_work(scope) as uow:
        roster = managed_roster(load_roster(uow), rules, ON, scope)
    unplaceable = plan_assignments(roster, rules, ON, PlanMode.INCREMENTAL).unplaced
    ignore = {u.business_key for u in unplaceable}
    return CheckReport(tuple(roster_violations(roster, rules, ON, ignore=ignore)), unplaceable)


def _county(code: str) -> str:
    hierarchy = demo_region()
    county = hierarchy.ancestor(code, Tier.COUNTY)
    assert county is not None
    return county.code


def test_the_county_by_county_check_is_the_whole_rosters(
    app: twores.Twores, store: twores.Store
) -> None:
    system = twores.Scope.system("test")
    roster = synthetic_roster(demo_region(), businesses=500, cadres=160, seed=11, within=CITY)
    with store.unit_of_work(system) as uow:
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.commit()
    assign(app, store, system, on=ON)
    with store.unit_of_work(system) as uow:
        active = list(uow.assignments.stream(active_on=ON))
        cadres = {c.id: c for c in uow.cadres.stream()}
        businesses = {b.key: b for b in uow.businesses.stream()}
    # Seeded violations, across counties.
    by_county: dict[str, list[Assignment]] = {}
    for a in active:
        if cadres[a.cadre_id].tier is not Tier.CITY:
            by_county.setdefault(_county(businesses[a.business_key].area_code), []).append(a)
    first, second, third = sorted(by_county)[:3]
    dropped = by_county[first][0]  # coverage.missing
    doubled = by_county[second][0]  # coverage.multiple and overlap, held by another county's
    foreign = next(c for c in cadres.values() if c.tier is Tier.COUNTY and c.area_code == third)
    # A city cadre given businesses of two counties (wrong tier): their load adds up.
    busiest = min(c.id for c in cadres.values() if c.tier is Tier.CITY)
    strays = [by_county[third][1], by_county[second][1]]
    township_cadre = cadres[by_county[first][1].cadre_id]  # leaves: inactive, unplaceable
    with store.unit_of_work(system) as uow:
        uow.assignments.upsert_many(
            [
                dropped.ended(ON),
                Assignment(foreign.id, doubled.business_key, date(2026, 1, 1)),
                *(stray.ended(ON) for stray in strays),
                *(Assignment(busiest, stray.business_key, ON) for stray in strays),
            ]
        )
        group = [
            c
            for c in cadres.values()
            if (c.area_code, c.tier) == (township_cadre.area_code, township_cadre.tier)
        ]
        uow.cadres.upsert_many([attrs.evolve(c, active_to=date(2026, 6, 1)) for c in group])
        uow.commit()
    with store.unit_of_work(system) as uow:
        held = [a.business_key for a in uow.assignments.stream(cadre_id=busiest, active_on=ON)]
    spread = Counter(_county(businesses[k].area_code) for k in held)
    assert len(spread) > 1
    cap = len(held) - 1  # over it in all, under it in every county
    assert max(spread.values()) <= cap
    app.plugins.register(
        types.SimpleNamespace(
            twores_rule_sets=hookimpl(
                lambda: [RuleSet("capped", "1", "上限", "cap", rules=(CAP,))]
            ),
            twores_load_cap=hookimpl(
                lambda tier: Ruling(cap, CAP) if tier is Tier.CITY else Ruling(None, CAP)
            ),
        )
    )

    whole = _whole_roster_check(app, store, system)
    kinds = {v.kind for v in whole.violations}
    assert {
        "coverage.missing",
        "coverage.multiple",
        "assignment.overlap",
        "assignment.jurisdiction",
        "assignment.tier",
        "assignment.inactive_cadre",
        "assignment.load_cap",
    } <= kinds, kinds
    assert whole.unplaceable
    assert check(app, store, system, on=ON) == whole
    county = twores.Scope("县食安办", twores.Role.OFFICE, third)
    assert check(app, store, county, on=ON) == _whole_roster_check(app, store, county)
