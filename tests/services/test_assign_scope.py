"""A scoped office plans only the assignments its office keeps."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import twores
from twores.divisions import demo_region
from twores.services.assignments import assign, check
from twores.services.commitments import generate_letters, sign_letter
from twores.services.supervision import schedule
from twores.services.synth import synthetic_roster

ON = date(2026, 12, 1)
TOWNSHIP = "450323101"


def _assigned(
    app: twores.Twores, store: twores.Store, system: twores.Scope, *, businesses: int, cadres: int
) -> twores.Roster:
    """A county's synthetic businesses and cadres, stored and assigned on ``ON``."""
    roster = synthetic_roster(
        demo_region(), businesses=businesses, cadres=cadres, seed=7, within="450323"
    )
    with store.unit_of_work(system) as uow:
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.commit()
    assign(app, store, system, on=ON)
    return roster


def test_a_township_office_leaves_county_cadres_assignments_alone(
    app: twores.Twores, store: twores.Store
) -> None:
    system = twores.Scope.system("test")
    _assigned(app, store, system, businesses=600, cadres=150)
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


def test_office_work_is_refused_to_a_cadre_and_changes_nothing(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    system = twores.Scope.system("test")
    roster = _assigned(app, store, system, businesses=200, cadres=60)
    generate_letters(app, store, system, 2026, tmp_path, on=ON, documents=False)
    cadre = next(c for c in roster.cadres.values() if c.area_code.startswith(TOWNSHIP))
    scope = twores.Scope(cadre.id, twores.Role.CADRE, TOWNSHIP)
    with store.unit_of_work(system) as uow:
        before = sum(1 for _ in uow.audit.entries())
    refused = [
        lambda: assign(app, store, scope, on=ON, mode=twores.PlanMode.FRESH),
        lambda: schedule(app, store, scope, "2026Q4", on=ON),
        lambda: generate_letters(app, store, scope, 2026, tmp_path, on=ON, documents=False),
        lambda: sign_letter(
            store, scope, cadre.id, 2026, signed_on=ON, counterparty="大圩镇人民政府"
        ),
    ]
    for attempt in refused:
        with pytest.raises(twores.ScopeError):
            attempt()
    assert assign(app, store, scope, on=ON, dry_run=True).written is None  # looking is fine
    with store.unit_of_work(system) as uow:
        assert sum(1 for _ in uow.audit.entries()) == before
