"""Shared set-up for the supervision tests."""

from __future__ import annotations

from datetime import date

import twores
from twores.core.assignment import plan_assignments
from twores.core.ports import Store

COUNTY = "450323"
ADMIN = twores.Scope("office", twores.Role.ADMIN)
START = date(2026, 1, 1)


def load(store: Store, roster: twores.Roster, on: date) -> None:
    plan = plan_assignments(roster, twores.build(load_entrypoints=False).plugins.rulebook(), on)
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(roster.hierarchy)
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan)
        uow.commit()
