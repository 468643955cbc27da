"""An unmasked export re-imports to the identical state, whatever was stored through the
API: businesses named like a totals row (合计) or an Excel error (#N/A), person names
padded with a space (周 敏), registration numbers with full-width brackets, +86 landlines;
and the .xlsx export types its dates and counts."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import attrs
import pytest
from openpyxl import load_workbook

import twores
from twores.core.assignment import Assignment, plan_assignments
from twores.core.businesses import (
    BusinessType,
    FoodBusiness,
    OperatingStatus,
    Staff,
    StaffMember,
)
from twores.core.cadres import Cadre
from twores.divisions import demo_region
from twores.services.exports import export_list
from twores.services.imports import import_file
from twores.services.synth import synthetic_roster

from .conftest import guilin_store

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
ON = date(2025, 6, 30)
VILLAGE = "450323100001"
LANDLINE = "+867732345678"
EXCEL_ERRORS = ("#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!")
TOTALS = ("合计", "汇总", "小计", "总计", "共计")


def _state(store: twores.Store) -> tuple[object, ...]:
    with store.unit_of_work(ADMIN) as uow:
        return (
            sorted(uow.businesses.stream(), key=lambda b: b.key),
            sorted(uow.cadres.stream(), key=lambda c: c.id),
            sorted(uow.assignments.stream(), key=lambda a: (a.business_key, a.valid_from)),
        )


def _hostile() -> list[FoodBusiness]:
    def shop(n: int, name: str, **fields: object) -> FoodBusiness:
        return FoodBusiness(
            name=name,
            area_code=VILLAGE,
            business_type=BusinessType.CATERING,
            licence_no=f"JY2450323010{n:04d}",
            **fields,  # type: ignore[arg-type]
        )

    named = [*TOTALS, *EXCEL_ERRORS]
    made = [shop(i, name) for i, name in enumerate(named)]
    made.append(
        shop(
            90,
            "周记饭店",
            diners=9,
            opened_on=date(1999, 12, 31),
            status=OperatingStatus.SUSPENDED,
            status_since=date(2024, 2, 29),
            staff=Staff(head=StaffMember(name="周 敏", phone=LANDLINE)),
        )
    )
    made.append(shop(91, "十人食堂", diners=10, opened_on=date(2020, 1, 1)))
    made.append(
        FoodBusiness(
            name="摊点",
            area_code=VILLAGE,
            business_type=BusinessType.VENDOR,
            licence_no="（2020）第001号",
        )
    )
    return made


@pytest.fixture
def source(app: twores.Twores, tmp_path: Path) -> twores.Store:
    """A county's roster held by its cadres, with the hostile records beside it."""
    store = guilin_store(app, f"sqlite:///{tmp_path / 'source.db'}")
    roster = synthetic_roster(demo_region().subtree("450323"), businesses=20, cadres=12, seed=3)
    cadres = sorted(roster.cadres.values(), key=lambda c: c.id)
    cadres[0] = attrs.evolve(cadres[0], name="周 敏", phone=LANDLINE, active_to=date(2030, 1, 1))
    cadres[1] = attrs.evolve(cadres[1], name="合计")
    with store.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many([*roster.businesses.values(), *_hostile()])
        uow.cadres.upsert_many(cadres)
        roster = twores.Roster.build(roster.hierarchy, roster.businesses.values(), cadres)
        uow.assignments.apply(plan_assignments(roster, app.plugins.rulebook(), date(2025, 1, 1)))
        first = min(uow.assignments.stream(), key=lambda a: a.business_key)
        uow.assignments.upsert_many([attrs.evolve(first, valid_to=date(2025, 12, 31))])
        uow.commit()
    return store


def _round_trip(
    app: twores.Twores, source: twores.Store, folder: Path, suffix: str
) -> twores.Store:
    copy = guilin_store(app, f"sqlite:///{folder / 'copy.db'}")
    for kind in ("cadres", "businesses", "assignments"):
        path = folder / f"{kind}{suffix}"
        export_list(source, ADMIN, kind, path, unmask=True)
        report = import_file(app, copy, ADMIN, kind, path, on=ON)
        assert report.accepted, report.errors[:3]
    return copy


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".csv.gz"])
def test_an_unmasked_export_re_imports_to_the_identical_state(
    app: twores.Twores, source: twores.Store, tmp_path: Path, suffix: str
) -> None:
    before = _state(source)
    names = {b.name for b in before[0]}  # type: ignore[attr-defined]
    assert set(TOTALS) | set(EXCEL_ERRORS) <= names
    copy = _round_trip(app, source, tmp_path, suffix)
    assert _state(copy) == before
    # and into the store it came from: nothing changes (no duplicate business)
    for kind in ("cadres", "businesses", "assignments"):
        report = import_file(app, source, ADMIN, kind, tmp_path / f"{kind}{suffix}", on=ON)
        assert report.accepted, report.errors[:3]
        changed = report.records if kind != "assignments" else report.assignments
        assert (changed.inserted, changed.updated) == (0, 0), kind
    assert _state(source) == before


def test_names_and_registration_numbers_are_stored_as_imports_read_them() -> None:
    assert StaffMember(name="周 敏").name == "周敏"
    assert StaffMember(name=" 周　敏\u200b ").name == "周敏"
    assert StaffMember(name="Li  Wei").name == "Li Wei"  # a Latin name keeps its space
    cadre = Cadre(id="c1", name="周 敏", tier=twores.Tier.VILLAGE, area_code=VILLAGE)
    assert cadre.name == "周敏" and attrs.evolve(cadre, name="王 五").name == "王五"
    vendor = FoodBusiness(
        name="摊点",
        area_code=VILLAGE,
        business_type=BusinessType.VENDOR,
        licence_no="（2020）第001号",
    )
    assert vendor.key == vendor.licence_no == "(2020)第001号"
    with pytest.raises(twores.InvalidValueError):
        StaffMember(name=" ")
    with pytest.raises(twores.InvalidValueError):
        attrs.evolve(vendor, licence_no="（2020）第001号#")


def test_a_csv_export_keeps_a_plus_86_landline_from_excel(
    source: twores.Store, tmp_path: Path
) -> None:
    path = tmp_path / "cadres.csv"
    export_list(source, ADMIN, "cadres", path, unmask=True)
    with path.open(encoding="utf-8-sig", newline="") as stream:
        phones = [row[5] for row in csv.reader(stream)]
    assert "'" + LANDLINE in phones and LANDLINE not in phones


def test_the_xlsx_export_types_dates_and_counts_and_keeps_codes_as_text(
    source: twores.Store, tmp_path: Path
) -> None:
    for kind in ("businesses", "cadres", "assignments"):
        export_list(source, ADMIN, kind, tmp_path / f"{kind}.xlsx", unmask=True)
    sheets = {
        kind: list(load_workbook(tmp_path / f"{kind}.xlsx").active.iter_rows())
        for kind in ("businesses", "cadres", "assignments")
    }
    header = [c.value for c in sheets["businesses"][0]]
    row = next(r for r in sheets["businesses"][1:] if r[0].value == "周记饭店")
    cell = dict(zip(header, row, strict=True))
    assert cell["成立日期"].value == datetime(1999, 12, 31)
    assert cell["成立日期"].is_date and cell["成立日期"].number_format == "yyyy-mm-dd"
    assert (cell["就餐人数"].value, cell["就餐人数"].data_type) == (9, "n")
    for column in ("许可证编号", "所属区划", "主要负责人电话"):
        assert cell[column].data_type == "s", column
    errors = [r[0] for r in sheets["businesses"][1:] if r[0].value in EXCEL_ERRORS]
    assert len(errors) == len(EXCEL_ERRORS) and all(c.data_type == "s" for c in errors)
    cadre_header = [c.value for c in sheets["cadres"][0]]
    cadre = dict(zip(cadre_header, sheets["cadres"][1], strict=True))
    assert cadre["干部编号"].data_type == "s"
    ended = [r for r in sheets["cadres"][1:] if r[8].value is not None]
    assert ended and ended[0][8].value == datetime(2029, 12, 31)  # the last day served
    dates = [c for r in sheets["assignments"][1:] for c in r[2:4] if c.value is not None]
    assert dates and all(c.is_date and c.number_format == "yyyy-mm-dd" for c in dates)
    assert datetime(2025, 12, 30) in {c.value for c in dates}  # ends 12-31: last day 12-30


def test_a_masked_xlsx_export_keeps_its_numbers_masked_text(
    source: twores.Store, tmp_path: Path
) -> None:
    path = tmp_path / "cadres.xlsx"
    export_list(source, ADMIN, "cadres", path)
    phones = [r[5] for r in load_workbook(path).active.iter_rows(min_row=2) if r[5].value]
    assert phones and all(c.data_type == "s" and "*" in c.value for c in phones)


def test_a_cadre_list_of_assignments_ending_later_round_trips(
    app: twores.Twores, source: twores.Store, tmp_path: Path
) -> None:
    before = _state(source)
    held = [a for a in before[2] if isinstance(a, Assignment) and a.valid_to is not None]
    assert held  # one assignment ends later: its last day is written as a date cell
    path = tmp_path / "清单.xlsx"
    export_list(source, ADMIN, "cadre-lists", path, unmask=True, on=ON)
    report = import_file(app, source, ADMIN, "assignments", path, on=ON)
    assert report.accepted, report.errors[:3]
    assert (report.assignments.inserted, report.assignments.updated) == (0, 0)
    assert _state(source) == before
