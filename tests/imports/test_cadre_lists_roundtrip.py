"""Unmasked exports re-import to 0 changes: the cadre lists (包保清单) as assignments, and
cadres whose post (职务) was written with stray spaces or full-width characters."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import attrs
import pytest

import twores
from twores.core.assignment import Assignment, AssignmentReason, plan_assignments
from twores.core.businesses import BusinessType
from twores.divisions import demo_region
from twores.services.exports import export_list
from twores.services.imports import import_file
from twores.services.synth import synthetic_roster

from .conftest import guilin_store

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
ON = date(2025, 6, 30)


def _state(store: twores.Store) -> tuple[object, ...]:
    with store.unit_of_work(ADMIN) as uow:
        return (
            list(uow.businesses.stream()),
            list(uow.cadres.stream()),
            sorted(uow.assignments.stream(), key=lambda a: (a.business_key, a.valid_from)),
        )


@pytest.fixture(params=["sqlite", "memory"])
def held(request: pytest.FixtureRequest, app: twores.Twores, tmp_path: Path) -> twores.Store:
    """A county's businesses held by its cadres; one business has only a credit code, one
    assignment ends later and one was imported."""
    url = f"sqlite:///{tmp_path / 'twores.db'}" if request.param == "sqlite" else "memory://"
    store = guilin_store(app, url)
    roster = synthetic_roster(demo_region().subtree("450323"), businesses=40, cadres=25, seed=7)
    businesses = sorted(roster.businesses.values(), key=lambda b: b.key)
    unlicensed = next(b for b in businesses if b.uscc and b.business_type is BusinessType.WORKSHOP)
    businesses[businesses.index(unlicensed)] = attrs.evolve(unlicensed, licence_no=None)
    roster = twores.Roster.build(roster.hierarchy, businesses, roster.cadres.values())
    with store.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many(businesses)
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan_assignments(roster, app.plugins.rulebook(), date(2025, 1, 1)))
        first, second = sorted(uow.assignments.stream(), key=lambda a: a.business_key)[:2]
        uow.assignments.upsert_many(
            [
                attrs.evolve(first, valid_to=date(2025, 12, 31), reason=AssignmentReason.REGRADED),
                attrs.evolve(second, reason=AssignmentReason.IMPORTED),
            ]
        )
        uow.commit()
    return store


@pytest.mark.parametrize("name", ["清单.csv", "清单.xlsx"])
def test_an_unmasked_cadre_list_reimports_as_the_same_assignments(
    app: twores.Twores, held: twores.Store, tmp_path: Path, name: str
) -> None:
    before = _state(held)
    target = tmp_path / name
    rows = export_list(held, ADMIN, "cadre-lists", target, unmask=True, on=ON)
    assert rows == len([a for a in before[2] if isinstance(a, Assignment) and a.is_active(ON)])
    report = import_file(app, held, ADMIN, "assignments", target, on=ON)
    assert report.accepted, report.errors[:3]
    assert (report.assignments.inserted, report.assignments.updated) == (0, 0)
    assert report.assignments.unchanged == rows
    assert _state(held) == before
    # what is printed for people only is said to be left unread, nothing else
    assert set(report.unread_columns) == {
        "干部所属区划",
        "主体名称",
        "统一社会信用代码",
        "主体所属区划",
        "业态",
        "包保等级",
    }


def test_a_cadres_post_is_kept_as_the_importer_reads_it(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    cadre = twores.Cadre("c-1", "吴伟", twores.Tier.VILLAGE, "450323101202", post="副县长\n（兼）")
    assert cadre.post == "副县长 (兼)"
    assert twores.Cadre(
        "c-2", "李娜", twores.Tier.VILLAGE, "450323101202", post="  主任  "
    ).post == ("主任")
    assert twores.Cadre("c-3", "王五", twores.Tier.VILLAGE, "450323101202", post="   ").post is None
    with pytest.raises(twores.TworesError) as refused:
        twores.Cadre("c-4", "赵六", twores.Tier.VILLAGE, "450323101202", post=3)  # type: ignore[arg-type]
    assert refused.value.field == "post"  # type: ignore[attr-defined]
    with store.unit_of_work(ADMIN) as uow:
        uow.cadres.upsert_many([cadre, attrs.evolve(cadre, id="c-2", post=" 主任 ")])
        uow.commit()
    before = _state(store)
    target = tmp_path / "干部.csv"
    export_list(store, ADMIN, "cadres", target, unmask=True)
    report = import_file(app, store, ADMIN, "cadres", target, on=ON)
    assert report.accepted, report.errors[:3]
    assert report.records.changed == 0
    assert _state(store) == before
