"""Messy cells of real ledgers: numbers written out as text (450323101202.0), an apostrophe
typed to keep a code as text ('4503…), a blank 经营状态, a cadre named by phone and post but
not by name, and a cadre's phone written +86 183-7407-4002 or 183.7407.4002."""

from __future__ import annotations

import csv
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

import twores
from twores.core.businesses import BusinessType, OperatingStatus, canonical_phone
from twores.core.security import mask_phone
from twores.services.exports import export_list
from twores.services.imports import ImportReport, import_file

from .conftest import guilin_store

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
ON = date(2025, 6, 30)
VILLAGE = "450323101202"
PHONE = "18374074002"
ID_NUMBER = "450323199003151230"
CADRE_HEADER = ["包保干部姓名", "职务", "层级", "所属区划", "联系电话", "身份证号"]
HEADER = [
    "序号",
    "主体名称",
    "统一社会信用代码",
    "许可证编号",
    "所属区划",
    "业态",
    "经营状态",
    "状态变更日期",
    "包保等级",
    "成立日期",
    "就餐人数",
    "包保干部姓名",
    "职务",
    "层级",
    "联系电话",
]
COL = {header: at for at, header in enumerate(HEADER)}
#: The cadre of a row: 吴伟, village cadre of VILLAGE.
CADRE = {"包保干部姓名": "吴伟", "职务": "村委会主任", "层级": "村级", "联系电话": PHONE}


def _row(
    serial: int, name: str, licence: object, cells: dict[str, object] | None = None
) -> list[object]:
    """A D-grade 食品销售 business of VILLAGE, operating, naming no cadre; ``cells`` by header."""
    row: list[object] = [serial, name, None, licence, VILLAGE, "食品销售", "在营", None, "D"]
    row += ["2019-05-02", None, None, None, None, None]
    for header, value in (cells or {}).items():
        row[COL[header]] = value
    return row


def _write(path: Path, rows: list[list[object]], header: list[str] = HEADER) -> Path:
    """A CSV (every cell text) or a workbook (cells as given), by ``path``'s suffix."""
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as stream:
            csv.writer(stream).writerows([header, *rows])
        return path
    workbook = Workbook()
    for row in [header, *rows]:
        workbook.active.append(row)
    workbook.save(path)
    return path


def _import(app: twores.Twores, store: twores.Store, kind: str, path: Path) -> ImportReport:
    return import_file(app, store, ADMIN, kind, path, on=ON)


def _roster(app: twores.Twores, store: twores.Store, path: Path, phone: object = PHONE) -> None:
    """吴伟, village cadre of VILLAGE (phone ``phone``)."""
    rows = [["吴伟", "村委会主任", "村级", VILLAGE, phone, ID_NUMBER]]
    report = _import(app, store, "cadres", _write(path, rows, CADRE_HEADER))
    assert report.accepted, report.errors


def _stored(store: twores.Store) -> tuple[dict[str, twores.FoodBusiness], dict[str, str]]:
    """The businesses by key, and each one's active holder by name."""
    with store.unit_of_work(ADMIN) as uow:
        businesses = {b.key: b for b in uow.businesses.stream()}
        cadres = {c.id: c.name for c in uow.cadres.stream()}
        held = {a.business_key: cadres[a.cadre_id] for a in uow.assignments.stream(active_on=ON)}
    return businesses, held


def _errors(report: ImportReport) -> list[tuple[int, str, str, str]]:
    return [(e.row, e.column, e.value, e.code) for e in report.errors]


# -- 1. numbers written out as text --------------------------------------------------------


def test_numbers_written_out_as_text_read_as_the_same_number_cells_do(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """WPS, pandas and Excel's "General" format write a number cell out as 450323101202.0:
    in a CSV that text reads exactly as the number cell itself does in a workbook."""
    as_text = [
        _row(1, "敢兴便利店", "JY14503230034495", {"所属区划": f"{VILLAGE}.0", "就餐人数": "120.0",
             "成立日期": "20190502.0", **CADRE, "联系电话": f"{PHONE}.0"}),
        _row(2, "大圩豆腐坊", "4503231234.0", {"业态": "食品小作坊", "所属区划": f"{VILLAGE}.0"}),
    ]  # fmt: skip
    as_numbers = [
        _row(1, "敢兴便利店", "JY14503230034495", {"所属区划": float(VILLAGE), "就餐人数": 120.0,
             "成立日期": 20190502.0, **CADRE, "联系电话": float(PHONE)}),
        _row(2, "大圩豆腐坊", 4503231234.0, {"业态": "食品小作坊", "所属区划": float(VILLAGE)}),
    ]  # fmt: skip
    _roster(app, store, tmp_path / "干部.csv", f"{PHONE}.0")
    with store.unit_of_work(ADMIN) as uow:
        (cadre,) = uow.cadres.stream()
    assert (cadre.area_code, cadre.phone) == (VILLAGE, PHONE)
    report = _import(app, store, "businesses", _write(tmp_path / "台账.csv", as_text))
    assert report.accepted, report.errors
    other = guilin_store(app, f"sqlite:///{tmp_path / 'other.db'}")
    _roster(app, other, tmp_path / "干部.xlsx", float(PHONE))
    report = _import(app, other, "businesses", _write(tmp_path / "台账.xlsx", as_numbers))
    assert report.accepted, report.errors
    businesses, held = _stored(store)
    assert (businesses, held) == _stored(other)
    assert sorted(businesses) == ["4503231234", "JY14503230034495"]
    shop = businesses["JY14503230034495"]
    assert (shop.area_code, shop.diners, shop.opened_on) == (VILLAGE, 120, date(2019, 5, 2))
    assert businesses["4503231234"].business_type is BusinessType.WORKSHOP
    assert held == {"JY14503230034495": "吴伟"}


def test_a_point_zero_is_read_off_only_where_a_number_cell_would_be(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """A licence number or credit code is never a number: JY….0 or a credit code's .0 stays
    (and is refused), and so do 16 digits, more than a number cell keeps; a catering
    licence written 4503231234.0 is refused as its number cell is (no JY)."""
    rows = [
        _row(1, "甲店", "JY14503230034495.0"),
        _row(2, "乙店", "JY14503230369045", {"统一社会信用代码": "91110000600037341L.0"}),
        _row(3, "丙坊", "1234567890123456.0", {"业态": "食品小作坊"}),
        _row(4, "丁店", "4503231234.0", {"业态": "餐饮服务"}),
    ]
    report = _import(app, store, "businesses", _write(tmp_path / "台账.csv", rows))
    assert [(e.row, e.column, e.value) for e in report.errors] == [
        (2, "许可证编号", "JY14503230034495.0"),
        (3, "统一社会信用代码", "91110000600037341L.0"),
        (4, "许可证编号", "1234567890123456.0"),
        (5, "许可证编号", "4503231234.0"),
    ]
    assert "JY" in report.errors[3].reason_zh and "JY" in report.errors[3].reason_en


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_area_sheets_codes_written_out_as_text_or_after_an_apostrophe_are_read(
    app: twores.Twores, store: twores.Store, tmp_path: Path, suffix: str
) -> None:
    """An area sheet (a CSV is read as the division files are) takes 450323101.0 and
    '450323101 as a workbook's number cell 450323101 is taken."""
    header = ["区划代码", "区划名称", "上级区划代码", "层级"]
    rows = [
        ["450323101298.0", "甲村委会", "'450323101", "村级"],
        ["'450323101299", "乙村委会", "450323101.0", "村级"],
    ]
    report = _import(app, store, "areas", _write(tmp_path / f"区划{suffix}", rows, header))
    assert report.accepted, report.errors
    with store.unit_of_work(ADMIN) as uow:
        hierarchy = uow.areas.hierarchy()
    assert [hierarchy[code].parent_code for code in ("450323101298", "450323101299")] == [
        "450323101",
        "450323101",
    ]


# -- 4. a leading apostrophe --------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_apostrophe_typed_to_keep_a_value_as_text_is_dropped_in_every_column(
    app: twores.Twores, store: twores.Store, tmp_path: Path, suffix: str
) -> None:
    """'4503…, '138…, 'JY1…, '9111…: the apostrophe that keeps Excel from making a code a
    number is no part of the value, in a CSV or a workbook's text cell alike."""
    roster = [["'吴伟", "'村委会主任", "'村级", f"'{VILLAGE}", f"'{PHONE}", f"'{ID_NUMBER}"]]
    cadres = _import(app, store, "cadres", _write(tmp_path / f"干部{suffix}", roster, CADRE_HEADER))
    assert cadres.accepted, cadres.errors
    with store.unit_of_work(ADMIN) as uow:
        (cadre,) = uow.cadres.stream()
    assert (cadre.name, cadre.post, cadre.area_code) == ("吴伟", "村委会主任", VILLAGE)
    assert (cadre.phone, cadre.id_number) == (PHONE, ID_NUMBER)
    quoted = {header: f"'{value}" for header, value in CADRE.items()}
    rows = [
        _row(1, "'敢兴便利店", "'JY14503230034495", {"统一社会信用代码": "'91110000600037341L",
             "所属区划": f"'{VILLAGE}", "经营状态": "'在营", "状态变更日期": "'2019-06-01",
             "包保等级": "'D", "成立日期": "'2019-05-02", "就餐人数": "'120", **quoted}),
    ]  # fmt: skip
    report = _import(app, store, "businesses", _write(tmp_path / f"台账{suffix}", rows))
    assert report.accepted, report.errors
    businesses, held = _stored(store)
    shop = businesses["JY14503230034495"]
    assert (shop.name, shop.uscc, shop.area_code) == ("敢兴便利店", "91110000600037341L", VILLAGE)
    assert (shop.status, shop.status_since) == (OperatingStatus.OPERATING, date(2019, 6, 1))
    assert (shop.opened_on, shop.diners) == (date(2019, 5, 2), 120)
    assert held == {"JY14503230034495": "吴伟"}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_text_that_starts_with_an_apostrophe_still_round_trips_through_an_export(
    app: twores.Twores, store: twores.Store, tmp_path: Path, suffix: str
) -> None:
    """An export doubles a leading apostrophe (as it puts one before = + - @), so the
    apostrophe an import takes off leaves the text as stored."""
    rows = [_row(1, "''t 咖啡", "JY14503230034495"), _row(2, "''=甲店", "JY14503230369045")]
    assert _import(app, store, "businesses", _write(tmp_path / "台账.csv", rows)).accepted
    businesses, _ = _stored(store)
    assert sorted(b.name for b in businesses.values()) == ["'=甲店", "'t 咖啡"]
    path = tmp_path / f"导出{suffix}"
    export_list(store, ADMIN, "businesses", path, unmask=True)
    copy = guilin_store(app, f"sqlite:///{tmp_path / 'copy.db'}")
    report = _import(app, copy, "businesses", path)
    assert report.accepted, report.errors
    assert _stored(copy)[0] == businesses


# -- 3. a blank 经营状态 ---------------------------------------------------------------------


def test_a_blank_status_leaves_a_stored_business_as_stored(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """A blank 经营状态 cell, like a sheet without the column, never reopens a closed
    business (nor a suspended one): the status and its day stay as stored. A new business
    is operating; a status the cell gives is taken."""
    _roster(app, store, tmp_path / "干部.csv")
    shop, mill, stall = "JY14503230034495", "JY14503230369045", "JY14503232897810"
    first = [_row(1, "敢兴便利店", shop), _row(2, "嵅村粮油店", mill, CADRE)]
    assert _import(app, store, "businesses", _write(tmp_path / "1.xlsx", first)).accepted
    second = [
        _row(1, "敢兴便利店", shop, {"经营状态": "注销", "状态变更日期": "2025-03-01"}),
        _row(2, "嵅村粮油店", mill, {**CADRE, "经营状态": "停业", "状态变更日期": "2025-04-01"}),
    ]
    assert _import(app, store, "businesses", _write(tmp_path / "2.xlsx", second)).accepted
    before, _ = _stored(store)
    blank = [
        _row(1, "敢兴便利店", shop, {"经营状态": None}),  # read column-wise
        _row(2, "嵅村粮油店", mill, {**CADRE, "经营状态": "  "}),  # read row by row
        _row(3, "新开小卖部", stall, {"经营状态": None}),
    ]
    report = _import(app, store, "businesses", _write(tmp_path / "3.xlsx", blank))
    assert report.accepted, report.errors
    assert (report.records.inserted, report.records.updated) == (1, 0)
    businesses, held = _stored(store)
    assert {k: businesses[k] for k in before} == before
    assert (businesses[shop].status, businesses[shop].status_since) == (
        OperatingStatus.CLOSED,
        date(2025, 3, 1),
    )
    assert businesses[mill].status is OperatingStatus.SUSPENDED and held[mill] == "吴伟"
    assert businesses[stall].status is OperatingStatus.OPERATING
    again = _import(app, store, "businesses", _write(tmp_path / "3.csv", blank))
    assert again.accepted and (again.records.changed, again.assignments.changed) == (0, 0)
    dated = [_row(1, "敢兴便利店", shop, {"经营状态": None, "状态变更日期": "2025-05-01"})]
    assert _import(app, store, "businesses", _write(tmp_path / "4.xlsx", dated)).accepted
    closed = _stored(store)[0][shop]
    assert (closed.status, closed.status_since) == (OperatingStatus.CLOSED, date(2025, 5, 1))
    reopened = [_row(1, "敢兴便利店", shop, {"经营状态": "在营"})]
    report = _import(app, store, "businesses", _write(tmp_path / "5.xlsx", reopened))
    assert report.accepted and report.records.updated == 1
    assert _stored(store)[0][shop].status is OperatingStatus.OPERATING


# -- 2. a cadre named by phone and post, not by name ---------------------------------------


def test_a_cadre_named_by_phone_or_post_but_not_by_name_is_a_row_error(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """Which cadre a row means is never guessed from their phone or post, nor the phone and
    post dropped unsaid: the row is refused at 包保干部姓名."""
    _roster(app, store, tmp_path / "干部.csv")
    rows = [
        _row(1, "甲店", "JY14503230034495", {**CADRE, "包保干部姓名": None}),
        _row(2, "乙店", "JY14503230369045", {**CADRE, "包保干部姓名": "   "}),
        _row(3, "丙店", "JY14503232897810", {**CADRE, "包保干部姓名": "\u200b"}),
        _row(4, "丁店", "JY14503230000011"),  # no cadre at all: fine
        _row(5, "戊店", "JY14503230000022", {"职务": "村委会主任"}),
    ]
    report = _import(app, store, "businesses", _write(tmp_path / "台账.xlsx", rows))
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (row, "包保干部姓名", "missing_value") for row in (2, 3, 4, 6)
    ]
    for error in report.errors[:3]:
        assert "职务、层级、联系电话" in error.reason_zh and "未填包保干部姓名" in error.reason_zh
        assert "by 职务, 层级, 联系电话 but not by name" in error.reason_en
    assert "的职务，" in report.errors[3].reason_zh
    assert _stored(store) == ({}, {})
    report = _import(app, store, "businesses", _write(tmp_path / "台账2.xlsx", rows[3:4]))
    assert report.accepted and report.assignments.inserted == 0, report.errors


# -- 6. a cadre's phone with a country code or dots ----------------------------------------


def test_a_phone_reads_without_its_country_code_and_separators() -> None:
    for written in ("+86 183-7407-4002", "86-18374074002", "0086 18374074002", "183.7407.4002"):
        assert canonical_phone(written) == PHONE, written
    assert canonical_phone("+86 (183) 7407 4002") == PHONE
    assert canonical_phone("(0773) 1234567") == canonical_phone("0773.1234567") == "07731234567"
    for stored in (PHONE, "07732345678", "2345678", "+15551234567", "+867732345678"):
        assert canonical_phone(stored) == stored  # already canonical: unchanged
    assert mask_phone(canonical_phone("+86 183-7407-4002")) == "183****4002"


def test_a_cadre_phone_written_with_a_country_code_or_dots_names_the_rostered_cadre(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    _roster(app, store, tmp_path / "干部.csv")
    rows = [
        _row(1, "甲店", "JY14503230034495", {**CADRE, "联系电话": "+86 183-7407-4002"}),
        _row(2, "乙店", "JY14503230369045", {**CADRE, "联系电话": "183.7407.4002"}),
        _row(3, "丙店", "JY14503232897810", {**CADRE, "联系电话": "86-18374074002"}),
    ]
    report = _import(app, store, "businesses", _write(tmp_path / "台账.xlsx", rows))
    assert report.accepted, report.errors
    assert _stored(store)[1] == dict.fromkeys(
        ["JY14503230034495", "JY14503230369045", "JY14503232897810"], "吴伟"
    )


def test_a_phone_stored_with_its_country_code_still_names_its_cadre(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """A phone stored as +8618374074002 (read so before) is the same number as a ledger's
    18374074002."""
    _roster(app, store, tmp_path / "干部.csv")
    with sqlite3.connect(tmp_path / "twores.db") as db:
        db.execute("UPDATE cadres SET phone = ?", (f"+86{PHONE}",))
    db.close()
    rows = [_row(1, "甲店", "JY14503230034495", CADRE)]
    report = _import(app, store, "businesses", _write(tmp_path / "台账.xlsx", rows))
    assert report.accepted and _stored(store)[1] == {"JY14503230034495": "吴伟"}, report.errors


def test_a_phone_that_is_not_the_named_cadres_is_reported_at_the_phone(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """The name finds the cadre but the phone does not: the clerk is sent to 联系电话."""
    _roster(app, store, tmp_path / "干部.csv")
    rows = [
        _row(1, "甲店", "JY14503230034495", {**CADRE, "联系电话": "139-0000-0009"}),
        _row(2, "乙店", "JY14503230369045", {**CADRE, "包保干部姓名": "张三"}),
    ]
    report = _import(app, store, "businesses", _write(tmp_path / "台账.xlsx", rows))
    assert _errors(report) == [
        (2, "联系电话", "13900000009", "unknown_cadre"),
        (3, "包保干部姓名", "张三", "unknown_cadre"),
    ]
    phone = report.errors[0]
    assert "吴伟" in phone.reason_zh and "联系电话不符" in phone.reason_zh
    assert "phone differs" in phone.reason_en and PHONE not in phone.reason_zh + phone.reason_en
