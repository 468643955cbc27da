"""A scoped office plans only the assignments its office keeps."""

from __future__ import annotations

from datetime import date

import twores
from twores.divisions import demo_region
from twores.services.assignments import assign, check
from twores.services.synth import synthetic_roster

ON = date(2026, 12, 1)
TOWNSHIP = "450323101"


def test_a_township_office_leaves_county_cadres_assignments_alone(
    app: twores.Twores, store: twores.Store
) -> None:
    roster = synthetic_roster(demo_region(), businesses=600, cadres=150, seed=7, within="450323")
    system = twores.Scope.system("test")
    with store.unit_of_work(system) as uow:
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.commit()
    assign(app, store, system, on=ON)
    assert not check(app, store, system, on=ON).violations
    township = twores.Scope("大圩镇食安办", twores.Role.OFFICE, TOWNSHIP)
    with store.unit_of_work(township) as uow:
        held = {a.business_key: a.cadre_id for a in uow.assignments.stream(active_on=ON)}
        county_held = [k for k, c in held.items() if uow.cadres.get(c) is None]
    assert county_held  # some township businesses are held by cadres the township can't see
    planned = assign(app, store, township, on=ON, dry_run=True).plan
    assert not planned.ends and not planned.creates
    report = check(app, store, township, on=ON)
    assert not report.violations and not report.unplaceable
