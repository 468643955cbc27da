"""A ledger that moves a business within its county ends the assignments of the cadres
whose area no longer holds it (reason moved, on the day of import), as a cadre's move
does: coverage drops at once, ``twores assign`` finds it orphaned and ``check`` finds no
cadre holding a business outside their area. A cadre whose area still holds it keeps it."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

import twores
from twores.core.assignment import Assignment, AssignmentReason
from twores.core.ports import UpsertResult
from twores.services.assignments import check
from twores.services.imports import import_file

from .conftest import guilin_store

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
OFFICE = twores.Scope("灵川县食安办", twores.Role.OFFICE, "450323")
SINCE, ON = date(2025, 1, 1), date(2025, 6, 30)
HEADER = ["主体名称", "许可证编号", "所属区划", "业态", "包保等级"]
KEY, OTHER = "JY24503231003001", "JY24503231003009"
DAXU_VILLAGE, DAXU_OTHER_VILLAGE = "450323101202", "450323101201"  # 大圩镇
DINGJIANG_VILLAGE = "450323102001"  # 定江镇 定江社区
CADRES = {
    "village": twores.Cadre(
        "c-village", "吴伟", twores.Tier.VILLAGE, DAXU_VILLAGE, phone="18374074002"
    ),
    "township": twores.Cadre(
        "c-township", "李强", twores.Tier.TOWNSHIP, "450323101", phone="18374074003"
    ),
    "county": twores.Cadre("c-county", "王芳", twores.Tier.COUNTY, "450323", phone="18374074004"),
}


def _ledger(path: Path, area: str, *more: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([HEADER, ["大圩搬迁店", KEY, area, "餐饮服务", "D"], *more])
    return path


@pytest.fixture(params=["sqlite", "memory"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'twores.db'}" if request.param == "sqlite" else "memory://"


def _other(area: str) -> list[str]:
    """The row of a second business, held by the village cadre."""
    return ["大圩二店", OTHER, area, "餐饮服务", "D"]


def _filed(app: twores.Twores, url: str, tmp_path: Path, holder: str) -> twores.Store:
    """A business of a 大圩镇 village held since SINCE by the cadre ``holder`` names, and
    another there held by its village cadre."""
    store = guilin_store(app, url)
    path = _ledger(tmp_path / "台账.csv", DAXU_VILLAGE, _other(DAXU_VILLAGE))
    report = import_file(app, store, ADMIN, "businesses", path)
    assert report.accepted, report.errors
    cadre, village = CADRES[holder], CADRES["village"]
    with store.unit_of_work(ADMIN) as uow:
        uow.cadres.upsert_many(sorted({cadre, village}, key=lambda c: c.id))
        uow.assignments.upsert_many(
            [Assignment(cadre.id, KEY, SINCE), Assignment(village.id, OTHER, SINCE)]
        )
        uow.commit()
    return store


def _held(store: twores.Store, key: str) -> list[Assignment]:
    with store.unit_of_work(ADMIN) as uow:
        return list(uow.assignments.stream(business_key=key))


def _state(store: twores.Store) -> tuple[object, ...]:
    with store.unit_of_work(ADMIN) as uow:
        return (
            list(uow.businesses.stream()),
            list(uow.assignments.stream()),
            list(uow.audit.entries()),
        )


def test_a_business_moved_to_another_township_loses_its_village_cadre(
    app: twores.Twores, url: str, tmp_path: Path
) -> None:
    store = _filed(app, url, tmp_path, "village")
    with store.unit_of_work(ADMIN) as uow:
        last_seq = max(e.seq for e in uow.audit.entries())
    path = _ledger(tmp_path / "迁移.csv", DINGJIANG_VILLAGE)
    report = import_file(app, store, OFFICE, "businesses", path, on=ON)
    assert report.accepted, report.errors
    assert report.records.updated == 1
    assert report.assignments == UpsertResult(0, 1, 0)  # 包保关系 +0 ~1 =0
    (ended,) = _held(store, KEY)
    assert (ended.cadre_id, ended.valid_from) == ("c-village", SINCE)
    assert (ended.valid_to, ended.reason) == (ON, AssignmentReason.MOVED)
    with store.unit_of_work(ADMIN) as uow:
        assert [a.business_key for a in uow.assignments.stream(active_on=ON)] == [OTHER]
        written = [e for e in uow.audit.entries() if e.entity == "assignment"]
    (audited,) = [e for e in written if e.seq > last_seq]  # audited as any assignment write
    assert audited.operation == "update" and KEY in audited.key, audited
    assert audited.after is not None and audited.after["reason"] == "moved", audited
    found = check(app, store, OFFICE, on=ON).violations
    assert [v for v in found if v.kind == "assignment.jurisdiction"] == []
    # the same file again: nothing moved, nothing more to end
    again = import_file(app, store, OFFICE, "businesses", path, on=ON)
    assert again.accepted and again.replay
    assert again.assignments == UpsertResult() and _held(store, KEY) == [ended]


@pytest.mark.parametrize(
    ("holder", "area"),
    [
        ("township", DAXU_OTHER_VILLAGE),  # another village of the cadre's township
        ("county", DINGJIANG_VILLAGE),  # another township of the cadre's county
    ],
)
def test_a_cadre_whose_area_still_holds_the_moved_business_keeps_it(
    app: twores.Twores, url: str, tmp_path: Path, holder: str, area: str
) -> None:
    store = _filed(app, url, tmp_path, holder)
    (held,) = _held(store, KEY)
    path = _ledger(tmp_path / "迁移.csv", area, _other(DINGJIANG_VILLAGE))
    report = import_file(app, store, OFFICE, "businesses", path, on=ON)
    assert report.accepted, report.errors
    assert report.records.updated == 2
    assert report.assignments == UpsertResult(0, 1, 0)  # the village cadre's only
    assert _held(store, KEY) == [held]
    assert (held.cadre_id, held.valid_to) == (CADRES[holder].id, None)
    (ended,) = _held(store, OTHER)
    assert (ended.cadre_id, ended.valid_to, ended.reason) == (
        "c-village",
        ON,
        AssignmentReason.MOVED,
    )
    found = check(app, store, OFFICE, on=ON).violations
    assert [v for v in found if v.kind == "assignment.jurisdiction"] == []


def test_a_rejected_file_moving_a_business_ends_nothing(
    app: twores.Twores, url: str, tmp_path: Path
) -> None:
    store = _filed(app, url, tmp_path, "village")
    before = _state(store)
    bad = ["坏行饭店", "JY24503231003002", "450323101202", "餐饮服务", "Z"]  # no such grade
    path = _ledger(tmp_path / "迁移.csv", DINGJIANG_VILLAGE, bad)
    report = import_file(app, store, OFFICE, "businesses", path, on=ON)
    assert not report.accepted
    assert [e.row for e in report.errors] == [3]
    assert report.assignments == UpsertResult()
    assert _state(store) == before
    (held,) = _held(store, KEY)
    assert (held.cadre_id, held.valid_to) == ("c-village", None)
    # the row corrected, the file goes in: and the move ends the assignment
    bad[-1] = "D"
    fixed = import_file(
        app, store, OFFICE, "businesses", _ledger(path, DINGJIANG_VILLAGE, bad), on=ON
    )
    assert fixed.accepted and fixed.assignments == UpsertResult(0, 1, 0), fixed.errors
    (ended,) = _held(store, KEY)
    assert (ended.valid_to, ended.reason) == (ON, AssignmentReason.MOVED)


def test_a_moved_business_the_ledger_gives_a_new_cadre_is_handed_over(
    app: twores.Twores, url: str, tmp_path: Path
) -> None:
    """The old cadre's assignment ends as moved; the cadre the row names takes over."""
    store = _filed(app, url, tmp_path, "village")
    new = twores.Cadre(
        "c-dingjiang", "赵敏", twores.Tier.VILLAGE, DINGJIANG_VILLAGE, phone="18374074005"
    )
    with store.unit_of_work(ADMIN) as uow:
        uow.cadres.upsert_many([new])
        uow.commit()
    path = tmp_path / "迁移.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(
            [
                [*HEADER, "包保干部姓名", "联系电话"],
                ["大圩搬迁店", KEY, DINGJIANG_VILLAGE, "餐饮服务", "D", new.name, new.phone],
            ]
        )
    report = import_file(app, store, OFFICE, "businesses", path, on=ON)
    assert report.accepted, report.errors
    assert report.assignments == UpsertResult(1, 1, 0)
    ended, taken = sorted(_held(store, KEY), key=lambda a: a.valid_from)
    assert (ended.cadre_id, ended.valid_to) == ("c-village", ON)
    assert ended.reason is AssignmentReason.MOVED
    assert (taken.cadre_id, taken.valid_from, taken.valid_to) == (new.id, ON, None)


def test_containment_follows_a_zones_explicit_parent_not_its_code(
    app: twores.Twores, url: str, tmp_path: Path
) -> None:
    """A development zone nests by its parent: a village coded under 大圩镇's code but
    filed in the zone lies outside 大圩镇 (its township cadre gives the business up), and
    one coded apart from the zone lies inside it (the zone's cadre keeps theirs)."""
    store = _filed(app, url, tmp_path, "township")  # KEY: held by 大圩镇's cadre
    zone = twores.Area("450323-Z", "开发区", twores.Tier.TOWNSHIP, parent_code="450323")
    lookalike = twores.Area("450323101-Z1", "园区一村", twores.Tier.VILLAGE, "450323-Z")
    apart = twores.Area("Z-PARK-2", "园区二村", twores.Tier.VILLAGE, parent_code="450323-Z")
    zone_cadre = twores.Cadre(
        "c-zone", "周敏", twores.Tier.TOWNSHIP, zone.code, phone="18374074006"
    )
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many([zone, lookalike, apart])
        uow.cadres.upsert_many([zone_cadre])
        uow.commit()
    parked = _ledger(tmp_path / "园区.csv", lookalike.code, _other(lookalike.code))
    report = import_file(app, store, OFFICE, "businesses", parked, on=ON)
    assert report.accepted and report.assignments == UpsertResult(0, 2, 0), report.errors
    (ended,) = _held(store, KEY)
    assert (ended.cadre_id, ended.valid_to, ended.reason) == (
        "c-township",
        ON,
        AssignmentReason.MOVED,
    )
    with store.unit_of_work(ADMIN) as uow:  # the zone's cadre takes it from the next day
        uow.assignments.upsert_many([Assignment(zone_cadre.id, KEY, date(2025, 7, 1))])
        uow.commit()
    later = date(2025, 7, 2)
    moved = import_file(
        app, store, OFFICE, "businesses", _ledger(tmp_path / "园区二.csv", apart.code), on=later
    )
    assert moved.accepted and moved.assignments == UpsertResult(), moved.errors
    assert [(a.cadre_id, a.valid_to) for a in _held(store, KEY)] == [
        ("c-township", ON),
        ("c-zone", None),
    ]
