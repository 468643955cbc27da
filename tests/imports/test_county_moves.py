"""A business filed in one county is never moved to another by a ledger: a licence is the
county's, so the move is a new registration there. Within its county it moves."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import attrs
import pytest

import twores
from twores.core.assignment import Assignment
from twores.services.imports import import_file

from .conftest import guilin_store

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
ON = date(2025, 6, 30)
HEADER = ["主体名称", "许可证编号", "所属区划", "业态", "包保等级"]
KEY, VILLAGE = "JY24503231003001", "450323101202"
CADRE = twores.Cadre("c-village", "吴伟", twores.Tier.VILLAGE, VILLAGE, phone="18374074002")


@pytest.fixture(params=["sqlite", "memory"])
def filed(request: pytest.FixtureRequest, app: twores.Twores, tmp_path: Path) -> twores.Store:
    """A business of 灵川县 held by its village cadre, on either backend."""
    url = f"sqlite:///{tmp_path / 'twores.db'}" if request.param == "sqlite" else "memory://"
    store = guilin_store(app, url)
    report = import_file(app, store, ADMIN, "businesses", _ledger(tmp_path / "台账.csv", VILLAGE))
    assert report.accepted, report.errors
    with store.unit_of_work(ADMIN) as uow:
        uow.cadres.upsert_many([CADRE])
        uow.assignments.upsert_many([Assignment(CADRE.id, KEY, date(2025, 1, 1))])
        uow.commit()
    return store


def _ledger(path: Path, area: str, *more: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([HEADER, ["大圩搬迁店", KEY, area, "餐饮服务", "D"], *more])
    return path


def _state(store: twores.Store) -> tuple[object, ...]:
    with store.unit_of_work(ADMIN) as uow:
        return (
            list(uow.businesses.stream()),
            list(uow.assignments.stream()),
            list(uow.audit.entries()),
        )


def test_a_ledger_moving_a_business_to_another_county_is_refused_at_its_area(
    app: twores.Twores, filed: twores.Store, tmp_path: Path
) -> None:
    before = _state(filed)
    other = ["全州新店", "JY24503241000001", "450324100", "餐饮服务", "D"]  # a new one: fine
    report = import_file(
        app, filed, ADMIN, "businesses", _ledger(tmp_path / "迁移.csv", "450324100", other), on=ON
    )
    assert [(e.row, e.column, e.value, e.code) for e in report.errors] == [
        (2, "所属区划", "450324100", "cross_county_move")
    ]
    (error,) = report.errors
    assert error.reason_zh.startswith(
        "主体已登记在 灵川县（450323），跨县迁移须在原县注销后在新县重新登记"
    )
    assert "全州县（450324）" in error.reason_zh
    assert "灵川县 (450323)" in error.reason_en and "全州县 (450324)" in error.reason_en
    assert _state(filed) == before  # nothing written: not the business, nor the new one


def test_a_ledger_moving_a_business_within_its_county_moves_it(
    app: twores.Twores, filed: twores.Store, tmp_path: Path
) -> None:
    report = import_file(
        app, filed, ADMIN, "businesses", _ledger(tmp_path / "迁移.csv", "450323102"), on=ON
    )
    assert report.accepted and report.records.updated == 1, report.errors
    with filed.unit_of_work(ADMIN) as uow:
        business = uow.businesses.get(KEY)
        assert business is not None and business.area_code == "450323102"
        assert [a.business_key for a in uow.assignments.stream(within="450323102")] == [KEY]
        assert list(uow.assignments.stream(within="450323101")) == []


def test_a_county_move_through_the_repository_names_key_and_both_counties(
    filed: twores.Store,
) -> None:
    with filed.unit_of_work(ADMIN) as uow:
        business = uow.businesses.get(KEY)
    assert business is not None
    with pytest.raises(twores.TworesError) as refused, filed.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many([attrs.evolve(business, area_code="450324100")])
    assert refused.value.code == "invalid_data"
    (problem,) = refused.value.errors  # type: ignore[attr-defined]
    assert (problem.code, problem.field, problem.value) == (
        "cross_county_move",
        f"{KEY}.area_code",
        "450324100",
    )
    assert (problem.stored_county, problem.new_county) == ("450323", "450324")
    with filed.unit_of_work(ADMIN) as uow:
        assert uow.businesses.get(KEY) == business
