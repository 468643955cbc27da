"""A business moved to another township of its county takes its routine records (日管控、
周排查、月调度) along, as it does its assignments: the routine KPIs count a record at its
business's area and scope it by its own, so a record left behind would vanish from the new
township's own query while the county's table still showed it there."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import attrs
import pytest

import twores
from twores.core.areas import Tier
from twores.core.assignment import plan_assignments
from twores.core.duties import DutyKind, DutyRecord, StaffRole
from twores.core.ports import Store
from twores.core.security import Role, Scope
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.services.kpis import compute_kpis
from twores.services.synth import synthetic_roster
from twores.testing.postgres import fresh_sql_store, sql_backends

APP = twores.build(load_entrypoints=False)
ADMIN = Scope("管理员", Role.ADMIN)
COUNTY = "450323"
AS_OF = date(2026, 3, 31)


@contextmanager
def _store(backend: str) -> Iterator[Store]:
    if backend == "memory":
        yield MemoryStore()
        return
    with fresh_sql_store(backend) as store:
        yield store


def _table(store: Store, scope: Scope, within: str | None, fresh: bool = False) -> dict:
    found = compute_kpis(APP, store, scope, "2026-03", as_of=AS_OF, within=within, fresh=fresh)
    return {
        (kpi, area): (v.numerator, v.denominator)
        for kpi, values in found.values.items()
        for area, v in values.items()
    }


@pytest.mark.parametrize("backend", ["memory", *sql_backends()])
def test_a_moved_business_takes_its_routine_records_to_its_new_township(backend: str) -> None:
    hierarchy = demo_region().subtree(COUNTY)
    roster = synthetic_roster(hierarchy, businesses=30, cadres=10, seed=3, within=COUNTY)
    business = sorted(roster.businesses.values(), key=lambda b: b.key)[0]

    def township(code: str) -> str:
        found = hierarchy.ancestor(code, Tier.TOWNSHIP)
        assert found is not None
        return found.code

    old = township(business.area_code)
    village = next(a.code for a in hierarchy if a.tier is Tier.VILLAGE and township(a.code) != old)
    new = township(village)
    records = [
        DutyRecord(business.key, business.area_code, kind, day, role, "王五")
        for kind, role, days in (
            (DutyKind.DAILY, StaffRole.OFFICER, (2, 3, 4)),
            (DutyKind.WEEKLY, StaffRole.DIRECTOR, (2, 9, 16)),
            (DutyKind.MONTHLY, StaffRole.HEAD, (5,)),
        )
        for day in (date(2026, 3, d) for d in days)
    ]
    with _store(backend) as store:
        with store.unit_of_work(ADMIN) as uow:
            uow.areas.upsert_many(roster.hierarchy)
            uow.businesses.upsert_many(roster.businesses.values())
            uow.cadres.upsert_many(roster.cadres.values())
            uow.assignments.apply(plan_assignments(roster, APP.plugins.rulebook(), AS_OF))
            uow.duties.upsert_many(records)
            uow.commit()
        _table(store, ADMIN, None)  # a summary counted before the move must not linger
        moved = attrs.evolve(business, area_code=village)
        with store.unit_of_work(Scope("县局", Role.OFFICE, COUNTY)) as uow:
            uow.businesses.upsert_many([moved])
            uow.commit()
        refiled = sorted((attrs.evolve(r, area_code=village) for r in records), key=lambda r: r.key)
        with store.unit_of_work(ADMIN) as uow:
            assert list(uow.duties.stream(business_key=business.key)) == refiled
            assert list(uow.duties.stream(within=old)) == []
            updates = [e.after for e in uow.audit.entries() if e.entity == "duty_record"]
            assert any(e and village in str(e) for e in updates)  # the move is audited
            assert uow.audit.verify() == []
        office = Scope("乡镇用户", Role.OFFICE, new)
        with store.unit_of_work(office) as uow:  # the new township's own office sees them
            assert list(uow.duties.stream(business_key=business.key)) == refiled

        county = _table(store, ADMIN, None)
        assert county == _table(store, ADMIN, None, fresh=True)
        for area in (new, old):  # the township's own query agrees with the county's table
            mine = _table(store, Scope("乡镇用户", Role.READ_ONLY, area), area)
            # (a township's letters count only assignments inside it: docs/kpis.md)
            theirs = {
                k: v
                for k, v in county.items()
                if hierarchy.contains(area, k[1]) and k[0] != "letters_signed"
            }
            assert {k: v for k, v in mine.items() if k[0] != "letters_signed"} == theirs, area
        weekly = county["weekly_routine", new]
        assert weekly[0] >= 3  # its three weeks are filed where it now is
