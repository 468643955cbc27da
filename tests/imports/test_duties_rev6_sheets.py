"""Review rev6, sheet side: a blank 禁业截止日期 never lifts a ban, staff details without a
name are a row error, and yes/no and date cells read as offices write them."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

import twores
from twores.core.errors import InvalidDateError
from twores.services.imports import import_file
from twores.services.sheets import values as v

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
VILLAGE = "450323101202"
HEADER = [
    "主体名称",
    "许可证编号",
    "所属区划",
    "业态",
    "食品安全员",
    "食品安全员电话",
    "食品安全员身份证号",
    "食品安全员禁业截止日期",
]
ID = "11010519491231002X"
OTHER_ID = "110105198001010016"


def _sheet(path: Path, *rows: list[str]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        csv.writer(stream).writerows([HEADER, *rows])
    return path


def _row(officer: str, id_number: str, ban: str, phone: str = "13800000002") -> list[str]:
    return ["乙超市", "JY14503231000002", VILLAGE, "食品销售", officer, phone, id_number, ban]


def _officer(store: twores.Store) -> twores.StaffMember | None:
    with store.unit_of_work(ADMIN) as uow:
        business = uow.businesses.get("JY14503231000002")
    assert business is not None
    return business.staff.officer


def _banned(app: twores.Twores, store: twores.Store, tmp_path: Path) -> None:
    first = _sheet(tmp_path / "a.csv", _row("王某", ID, "2027-06-30"))
    assert import_file(app, store, ADMIN, "businesses", first).accepted


@pytest.mark.parametrize("id_number", [ID, ""])
def test_a_blank_ban_cell_for_the_same_person_keeps_the_ban(
    app: twores.Twores, store: twores.Store, tmp_path: Path, id_number: str
) -> None:
    _banned(app, store, tmp_path)
    again = _sheet(tmp_path / "b.csv", _row("王某", id_number, ""))
    report = import_file(app, store, ADMIN, "businesses", again)
    assert report.accepted, report.errors
    officer = _officer(store)
    assert officer is not None and officer.banned_until == date(2027, 6, 30)
    if id_number:  # the same file again changes nothing
        assert report.records.changed == 0


@pytest.mark.parametrize(("name", "id_number"), [("李某", ""), ("王某", OTHER_ID)])
def test_another_person_in_the_role_starts_with_no_ban(
    app: twores.Twores, store: twores.Store, tmp_path: Path, name: str, id_number: str
) -> None:
    _banned(app, store, tmp_path)
    other = _sheet(tmp_path / "b.csv", _row(name, id_number, ""))
    assert import_file(app, store, ADMIN, "businesses", other).accepted
    officer = _officer(store)
    assert officer is not None and officer.name == name and officer.banned_until is None


def test_a_ban_is_lifted_only_by_saying_so(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    _banned(app, store, tmp_path)
    lifted = _sheet(tmp_path / "b.csv", _row("王某", ID, "解除"))
    assert import_file(app, store, ADMIN, "businesses", lifted).accepted
    officer = _officer(store)
    assert officer is not None and officer.banned_until is None


@pytest.mark.parametrize(
    ("cells", "named"),
    [
        (["", "", "", "2030-01-01"], "食品安全员禁业截止日期"),
        (["", "13800000006", "", ""], "食品安全员电话"),
        (["", "", ID, ""], "食品安全员身份证号"),
    ],
)
@pytest.mark.parametrize("columnwise_rows", [1, 3])
def test_staff_details_without_a_name_are_a_row_error(
    app: twores.Twores,
    store: twores.Store,
    tmp_path: Path,
    cells: list[str],
    named: str,
    columnwise_rows: int,
) -> None:
    clean = [
        [f"甲店{n}", f"JY24503231000{n:03d}", VILLAGE, "餐饮服务", "", "", "", ""]
        for n in range(columnwise_rows)  # clean rows: the column-wise path reads them
    ]
    bad = ["己面馆", "JY24503231000999", VILLAGE, "餐饮服务", *cells]
    report = import_file(app, store, ADMIN, "businesses", _sheet(tmp_path / "a.csv", *clean, bad))
    (error,) = report.errors
    assert (error.row, error.column) == (columnwise_rows + 2, "食品安全员")
    assert named in error.reason_zh and "未填食品安全员" in error.reason_zh
    assert "no 食品安全员" in error.reason_en
    with store.unit_of_work(ADMIN) as uow:
        assert uow.businesses.get("JY24503231000999") is None  # nothing written


@pytest.mark.parametrize("mark", ["✓", "✔", "☑", "√", "是"])
def test_check_marks_read_as_yes(mark: str) -> None:
    assert v.boolean(mark, "zero_risk") is True


@pytest.mark.parametrize("mark", ["✗", "✘", "×", "否"])
def test_crosses_read_as_no(mark: str) -> None:
    assert v.boolean(mark, "zero_risk") is False


@pytest.mark.parametrize("text", ["2026-02-30", "2026年2月30日", "20260230", "2026/4/31"])
def test_a_day_that_does_not_exist_is_said_so(text: str) -> None:
    with pytest.raises(InvalidDateError) as refused:
        v.day(text, "on")
    assert "该日期不存在" in refused.value.reason_zh
    assert "no such day" in refused.value.reason_en
    assert "无法识别" not in refused.value.reason_zh


def test_an_unreadable_date_is_still_unreadable() -> None:
    with pytest.raises(InvalidDateError) as refused:
        v.day("2026-13-01", "on")
    assert "无法识别" in refused.value.reason_zh
