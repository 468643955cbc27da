"""Ledgers as offices really send them: closed businesses, padded names, workbooks with
several or hidden sheets, formulas, times after dates, prefixed cadre headers, invisible
characters, totals rows, codes stored as numbers, area paths with any separator, and the
report of an earlier try left beside a fixed file."""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

import twores
from twores.core.assignment import AssignmentReason
from twores.core.errors import InvalidAreaCodeError, InvalidDateError, InvalidValueError
from twores.services.imports import import_file
from twores.services.sheets import values as v
from twores.services.sheets.parsing import AreaResolver, parse_businesses, read_sheet

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
ON = date(2025, 6, 30)
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
    "包保干部姓名",
    "职务",
    "联系电话",
]
COL = {name: i for i, name in enumerate(HEADER)}
VILLAGE = "450323101202"
CADRE_PHONE = "18374074002"


def rows() -> list[list[object]]:
    """Two village-held (D) businesses, the first naming its cadre 吴伟."""
    return [
        [1, "大圩豆腐坊", None, "SC14503231110603", VILLAGE, "食品生产", "在营", None, "D",
         "2019-05-02", "吴伟", "村委会主任", CADRE_PHONE],
        [2, "敢兴便利店", None, "JY14503230034495", VILLAGE, "食品销售", "在营", None, "D",
         "2020-01-01", None, None, None],
    ]  # fmt: skip


def write_xlsx(
    path: Path,
    data: list[list[object]],
    header: list[str] = HEADER,
    *,
    title: str = "包保主体台账",
) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append(["灵川县食品生产经营主体分层分级包保台账"])
    sheet.append(header)
    for row in data:
        sheet.append(row)
    workbook.save(path)
    return path


def write_csv(path: Path, data: list[list[object]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        csv.writer(stream).writerows([header, *data])
    return path


def import_cadres(app: twores.Twores, store: twores.Store, tmp_path: Path, name: str) -> None:
    path = write_csv(
        tmp_path / "干部.csv",
        [[name, "村委会主任", "村级", VILLAGE, CADRE_PHONE]],
        ["包保干部姓名", "职务", "层级", "所属区划", "联系电话"],
    )
    report = import_file(app, store, ADMIN, "cadres", path, on=ON)
    assert report.accepted, report.errors


def businesses(store: twores.Store) -> dict[str, twores.FoodBusiness]:
    with store.unit_of_work(ADMIN) as uow:
        return {b.key: b for b in uow.businesses.stream()}


def assignments(store: twores.Store) -> list[twores.Assignment]:
    with store.unit_of_work(ADMIN) as uow:
        return list(uow.assignments.stream())


def test_a_ledger_never_links_a_business_to_a_cadre_who_has_left(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    left = write_csv(
        tmp_path / "离岗.csv",
        [["吴伟", "村委会主任", "村级", VILLAGE, CADRE_PHONE, "2025-06-01"]],
        ["包保干部姓名", "职务", "层级", "所属区划", "联系电话", "任职截止日期"],
    )
    assert import_file(app, store, ADMIN, "cadres", left, on=ON).accepted
    report = import_file(
        app, store, ADMIN, "businesses", write_xlsx(tmp_path / "a.xlsx", rows()), on=ON
    )
    assert [(e.row, e.column, e.value, e.code) for e in report.errors] == [
        (3, "包保干部姓名", "吴伟", "inactive_cadre")
    ]
    assert "任职已于 2025-06-01 截止" in report.errors[0].reason_zh  # as the roster wrote it
    assert "served until 2025-06-01" in report.errors[0].reason_en
    assert businesses(store) == {} and assignments(store) == []


# -- 1. a ledger that closes a business ends its assignments -----------------------------


@pytest.mark.parametrize(
    ("status", "since", "ended_on"),
    [("注销", "2025-07-01", date(2025, 7, 1)), ("吊销", None, ON)],
)
def test_a_business_the_ledger_closes_is_held_by_no_one(
    app: twores.Twores,
    store: twores.Store,
    tmp_path: Path,
    status: str,
    since: str | None,
    ended_on: date,
) -> None:
    import_cadres(app, store, tmp_path, "吴伟")
    path = write_xlsx(tmp_path / "a.xlsx", rows())
    first = import_file(app, store, ADMIN, "businesses", path, on=date(2025, 1, 1))
    assert first.accepted and first.assignments.inserted == 1
    later = rows()
    later[0][COL["经营状态"]], later[0][COL["状态变更日期"]] = status, since
    later[0][COL["包保干部姓名"]] = later[0][COL["职务"]] = later[0][COL["联系电话"]] = None
    path = write_xlsx(tmp_path / "b.xlsx", later)
    report = import_file(app, store, ADMIN, "businesses", path, on=ON)
    assert report.accepted, report.errors
    assert report.assignments.updated == 1
    (ended,) = assignments(store)
    assert (ended.valid_to, ended.reason) == (ended_on, AssignmentReason.BUSINESS_CLOSED)
    with store.unit_of_work(ADMIN) as uow:
        roster = twores.Roster.build(
            uow.areas.hierarchy(),
            uow.businesses.stream(),
            uow.cadres.stream(),
            uow.assignments.stream(),
        )
    found = twores.roster_violations(roster, app.plugins.rulebook(), date(2025, 7, 2))
    assert [x for x in found if "SC14503231110603" in x.ids] == []  # no closed_business
    shutil.copy(path, tmp_path / "c.xlsx")  # the same data again: nothing to end
    again = import_file(app, store, ADMIN, "businesses", tmp_path / "c.xlsx", on=ON)
    assert again.accepted and again.assignments.changed == 0 and again.records.changed == 0


# -- 3. person names padded to align them -----------------------------------------------


def test_padded_person_names_are_the_same_names(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    import_cadres(app, store, tmp_path, "吴\u3000伟")
    with store.unit_of_work(ADMIN) as uow:
        assert [c.name for c in uow.cadres.stream()] == ["吴伟"]
    import_cadres(app, store, tmp_path, " 吴 伟 ")  # the same cadre, not a second one
    with store.unit_of_work(ADMIN) as uow:
        assert [c.name for c in uow.cadres.stream()] == ["吴伟"]
    data = rows()
    data[0][COL["包保干部姓名"]] = "吴\u3000伟"
    header = [*HEADER, "主要负责人"]
    data[0].append("李 四")
    report = import_file(
        app, store, ADMIN, "businesses", write_xlsx(tmp_path / "a.xlsx", data, header)
    )
    assert report.accepted, report.errors
    assert report.assignments.inserted == 1
    head = businesses(store)["SC14503231110603"].staff.head
    assert head is not None and head.name == "李四"


def test_only_spaces_between_han_characters_go() -> None:
    assert v.person_name("周\u3000敏", "name") == "周敏"
    assert v.person_name(" 欧阳 小 明 ", "name") == "欧阳小明"
    assert v.person_name("John  Smith", "name") == "John Smith"
    assert v.person_name("\u200b周敏", "name") == "周敏"


# -- 5 and 7. which sheet of a workbook ---------------------------------------------------


def test_a_ledger_split_over_visible_sheets_is_refused_naming_them(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    path = write_xlsx(tmp_path / "两表.xlsx", rows()[:1], title="第一批")
    workbook = _load(path)
    second = workbook.create_sheet("第二批")
    second.append(HEADER)
    second.append(rows()[1])
    workbook.create_sheet("填表说明").append(["说明：每行填写一个主体"])
    workbook.save(path)
    report = import_file(app, store, ADMIN, "businesses", path)
    assert not report.accepted
    (error,) = report.errors
    assert (error.row, error.column, error.value, error.code) == (
        0,
        "工作表",
        "第二批",
        "several_sheets",
    )
    assert "第二批" in error.reason_zh and "第二批" in error.reason_en
    assert businesses(store) == {}


def test_other_visible_sheets_without_the_ledger_are_left_alone(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    path = write_xlsx(tmp_path / "说明.xlsx", rows()[1:])
    workbook = _load(path)
    workbook.create_sheet("填表说明").append(["说明：每行填写一个主体"])
    empty = workbook.create_sheet("模板")
    empty.append(HEADER)  # the header alone: no rows to lose
    workbook.save(path)
    report = import_file(app, store, ADMIN, "businesses", path)
    assert report.accepted and report.rows == 1


def test_a_hidden_list_sheet_is_not_read(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    path = write_xlsx(tmp_path / "下拉.xlsx", rows()[1:])
    workbook = _load(path)
    lists = workbook.create_sheet("下拉选项", 0)
    for line in (["业态", "经营状态", "包保等级"], ["食品生产", "在营", "A"]):
        lists.append(line)
    lists.sheet_state = "hidden"
    workbook.active = 1
    workbook.save(path)
    table = read_sheet(path, "businesses")
    assert table.sheet == "包保主体台账"
    report = import_file(app, store, ADMIN, "businesses", path)
    assert report.accepted, report.errors
    assert list(businesses(store)) == ["JY14503230034495"]


def test_a_missing_column_names_the_sheet(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    header = [h for h in HEADER if h != "所属区划"]
    data = [[c for i, c in enumerate(r) if i != COL["所属区划"]] for r in rows()[1:]]
    report = import_file(
        app, store, ADMIN, "businesses", write_xlsx(tmp_path / "缺列.xlsx", data, header)
    )
    (error,) = report.errors
    assert error.column == "所属区划" and error.code == "missing_column"
    assert "包保主体台账" in error.reason_zh and "包保主体台账" in error.reason_en


# -- 6. formulas without a computed value ------------------------------------------------


def _formula_workbook(path: Path, *, cached: bool) -> Path:
    data = rows()[1:]
    data[0][COL["许可证编号"]] = '="JY14503230034495"'
    write_xlsx(path, data)
    if cached:  # as Excel saves it: the value beside the formula
        _rewrite_sheet(
            path,
            lambda xml: re.sub(
                r'<c r="D3"><f>(.*?)</f><v\s*/?>(?:</v>)?',
                r'<c r="D3" t="str"><f>\1</f><v>JY14503230034495</v>',
                xml,
            ),
        )
    return path


def test_a_formula_without_a_computed_value_is_a_row_error(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    path = _formula_workbook(tmp_path / "公式.xlsx", cached=False)
    report = import_file(app, store, ADMIN, "businesses", path)
    (error,) = report.errors
    assert (error.row, error.serial, error.column, error.value) == (
        3,
        "2",
        "许可证编号",
        '="JY14503230034495"',
    )
    assert error.code == "uncomputed_formula"
    assert "公式没有计算结果" in error.reason_zh and "no computed value" in error.reason_en
    assert businesses(store) == {}


def test_a_formula_with_its_computed_value_reads_as_the_value(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    path = _formula_workbook(tmp_path / "公式.xlsx", cached=True)
    report = import_file(app, store, ADMIN, "businesses", path)
    assert report.accepted, report.errors
    assert list(businesses(store)) == ["JY14503230034495"]


# -- 8. dates with a time of day ---------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    ["2019/5/2 0:00", "2019-5-2 0:00:00", "2019-05-02 00:00:00", "2019-05-02T08:30", 43587.375],
)
def test_a_date_with_a_time_of_day_reads_as_the_date(
    app: twores.Twores, store: twores.Store, tmp_path: Path, cell: object
) -> None:
    assert v.day(cell, "opened_on") == date(2019, 5, 2)
    data = rows()[1:] * 2
    data[1] = [3, "三街超市", None, "JY14503232897810", *data[1][4:]]
    data[0][COL["成立日期"]] = data[1][COL["成立日期"]] = cell
    for name, write in (("a.csv", write_csv), ("a.xlsx", write_xlsx)):
        path = write(tmp_path / name, data)
        found = parse_businesses(read_sheet(path, "businesses"), _hierarchy(store))
        assert not found.errors
        assert {r.business.opened_on for r in found.rows} == {date(2019, 5, 2)}


@pytest.mark.parametrize("cell", [2019, 2019.05, 2019.0, 201905, 1])
def test_a_year_typed_as_a_number_is_no_date_not_a_serial_of_1905(
    app: twores.Twores, store: twores.Store, tmp_path: Path, cell: object
) -> None:
    with pytest.raises(InvalidDateError):
        v.day(cell, "opened_on")
    data = rows()[1:]
    data[0][COL["成立日期"]] = cell  # a number cell of the workbook
    path = write_xlsx(tmp_path / "a.xlsx", data)
    found = parse_businesses(read_sheet(path, "businesses"), _hierarchy(store))
    assert [(e.column, e.code) for e in found.errors] == [("成立日期", "invalid_date")]


# -- 9. the cadre's own columns, prefixed -------------------------------------------------


def test_prefixed_cadre_columns_are_the_cadres_and_the_business_phone_is_not(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    import_cadres(app, store, tmp_path, "吴伟")
    header = [
        *HEADER[:10],
        "法定代表人",
        "联系电话",
        "包保干部姓名",
        "包保干部职务",
        "包保干部层级",
        "包保干部联系电话",
    ]
    data = [
        [*r[:10], "李某", "0773-8800001", r[10], r[11], "村级" if r[10] else None, r[12]]
        for r in rows()
    ]
    path = write_xlsx(tmp_path / "h.xlsx", data, header)
    report = import_file(app, store, ADMIN, "businesses", path)
    assert report.accepted, report.errors
    assert report.assignments.inserted == 1


# -- 11. invisible characters --------------------------------------------------------------


def test_invisible_characters_are_dropped_everywhere(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    import_cadres(app, store, tmp_path, "吴伟")
    data = rows()
    data[0][COL["许可证编号"]] = "SC14503231110603\u200b"
    data[0][COL["主体名称"]] = "\ufeff大圩\u200d豆腐坊"
    data[0][COL["包保干部姓名"]] = "吴伟\u2060"
    data[0][COL["所属区划"]] = VILLAGE + "\u200c"
    data[1][COL["主体名称"]] = "\u200b敢兴便利店"
    data[1][COL["统一社会信用代码"]] = "\ufeff91110000600037341L"
    data[1][COL["经营状态"]] = "在营\u200b"
    data[1][COL["所属区划"]] = "灵川县/大圩\u200b镇/嵅村村委会"
    for name, write in (("a.csv", write_csv), ("a.xlsx", write_xlsx)):
        parsed = parse_businesses(
            read_sheet(write(tmp_path / name, data), "businesses"), _hierarchy(store)
        )
        assert not parsed.errors
        assert [r.business.name for r in parsed.rows] == ["大圩豆腐坊", "敢兴便利店"]
        assert parsed.rows[1].business.uscc == "91110000600037341L"
    report = import_file(app, store, ADMIN, "businesses", tmp_path / "a.xlsx")
    assert report.accepted, report.errors
    stored = businesses(store)
    assert set(stored) == {"SC14503231110603", "JY14503230034495"}
    assert stored["JY14503230034495"].uscc == "91110000600037341L"
    assert report.assignments.inserted == 1


# -- 12. totals rows -------------------------------------------------------------------------


def test_totals_rows_are_skipped_counted_nowhere_and_reported(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    blank = [None] * len(HEADER)
    total = list(blank)
    total[0], total[1], total[COL["包保等级"]] = "合计", "2户", "2"
    subtotal = list(blank)
    subtotal[1] = "小 计："
    data = [*rows()[1:], subtotal, total]
    # the workbook has a title line above its header
    for name, write, skipped in (("t.csv", write_csv, (3, 4)), ("t.xlsx", write_xlsx, (4, 5))):
        report = import_file(app, store, ADMIN, "businesses", write(tmp_path / name, data))
        assert report.accepted, report.errors
        assert report.rows == 1
        assert report.totals_rows == skipped  # said, never silently dropped


# -- 13. codes stored as numbers ------------------------------------------------------------


def test_a_registration_number_stored_as_a_number_reads_as_its_digits(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    data = rows()[1:]
    data[0][COL["许可证编号"]], data[0][COL["业态"]] = 4503231234.0, "食品小作坊"
    report = import_file(app, store, ADMIN, "businesses", write_xlsx(tmp_path / "n.xlsx", data))
    assert report.accepted, report.errors
    assert list(businesses(store)) == ["4503231234"]


@pytest.mark.parametrize(("name", "cell"), [("n.xlsx", 9.2450323e17), ("n.csv", "9.24503E+17")])
def test_a_code_that_lost_digits_as_a_number_gets_its_own_error(
    app: twores.Twores, store: twores.Store, tmp_path: Path, name: str, cell: object
) -> None:
    data = rows()[1:]
    data[0][COL["统一社会信用代码"]] = cell
    write = write_xlsx if name.endswith(".xlsx") else write_csv
    report = import_file(app, store, ADMIN, "businesses", write(tmp_path / name, data))
    (error,) = report.errors
    row = 3 if name.endswith(".xlsx") else 2  # below a title row / the header
    assert (error.row, error.column, error.code) == (row, "统一社会信用代码", "digits_lost")
    assert error.value in ("924503230000000000", "9.24503E+17")
    assert "末尾数字已丢失" in error.reason_zh and "digits were lost" in error.reason_en


@pytest.mark.parametrize(
    ("column", "cell"), [("所属区划", "4.50323E+11"), ("联系电话", "1.83741E+10")]
)
def test_an_area_code_or_phone_in_scientific_spelling_says_its_digits_are_lost(
    store: twores.Store, column: str, cell: str
) -> None:
    """Excel saves a long number so in a CSV; the error says so rather than that the code
    has bad characters or that no cadre has that phone."""
    from twores.services.sheets import values as v
    from twores.services.sheets.parsing import AreaResolver

    read = AreaResolver(_hierarchy(store)) if column == "所属区划" else v.phone
    with pytest.raises(v.DigitsLostError):
        read(cell, column)


# -- 14. area name paths with any separator --------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "灵川县 / 大圩镇 / 嵅村村委会",
        "灵川县 大圩镇 嵅村村委会",
        "灵川县、大圩镇、嵅村村委会",
        "灵川县-大圩镇-嵅村村委会",
        "灵川县－大圩镇－嵅村村",
        "灵川县 > 大圩镇 > 嵅村",
    ],
)
def test_an_area_path_with_any_separator_is_a_path(store: twores.Store, path: str) -> None:
    from twores.services.sheets.parsing import AreaResolver

    assert AreaResolver(_hierarchy(store))(path, "area") == VILLAGE


@pytest.mark.parametrize("path", ["灵川县 定江", "灵川县/定江", "灵川县定江镇"])
def test_a_township_may_be_named_without_its_suffix(store: twores.Store, path: str) -> None:
    from twores.services.sheets.parsing import AreaResolver

    assert AreaResolver(_hierarchy(store))(path, "area") == "450323102"


def test_a_short_name_two_areas_share_is_refused_naming_both(store: twores.Store) -> None:
    from twores.services.sheets.parsing import AreaResolver

    with pytest.raises(InvalidAreaCodeError) as refused:
        AreaResolver(_hierarchy(store))("大圩", "area")  # 大圩镇, or its 大圩村委会?
    assert "歧义" in refused.value.reason_zh
    assert "灵川县/大圩镇；" in refused.value.reason_zh and "大圩村委会" in refused.value.reason_zh


# -- 15. the report of an earlier try ---------------------------------------------------------


def test_an_accepted_import_removes_the_report_of_an_earlier_try(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    bad = rows()[1:]
    bad[0][COL["包保等级"]] = "E"
    path = write_xlsx(tmp_path / "台账.xlsx", bad)
    rejected = import_file(app, store, ADMIN, "businesses", path)
    assert rejected.report_path == tmp_path / "台账.errors.xlsx" and rejected.report_path.exists()
    theirs = tmp_path / "台账.errors.csv"  # same name, but not a report twores wrote
    theirs.write_text("备注\n这是我自己的文件\n", encoding="utf-8")
    write_xlsx(path, rows()[1:])
    dry = import_file(app, store, ADMIN, "businesses", path, dry_run=True)
    assert dry.accepted and rejected.report_path.exists()  # a dry run writes nothing
    assert import_file(app, store, ADMIN, "businesses", path).accepted
    assert not rejected.report_path.exists()
    assert theirs.exists()


def test_a_repeated_credit_code_is_reported_in_its_own_column(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    credit = "92450323MA5L7X2Y3T"
    data = rows()[1:] * 2
    for row in data:
        row[COL["许可证编号"]], row[COL["统一社会信用代码"]] = None, credit
    report = import_file(app, store, ADMIN, "businesses", write_csv(tmp_path / "a.csv", data))
    assert [(e.row, e.column, e.value, e.code) for e in report.errors] == [
        (3, "统一社会信用代码", credit, "duplicate_key")
    ]


def test_dates_after_the_day_of_import_are_refused(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    from twores.core.periods import today

    ahead = (today() + timedelta(days=1)).isoformat()
    data = rows()
    data[0][COL["成立日期"]] = ahead  # 2062 for 2026, say: hidden from every count till then
    data[1][COL["经营状态"]] = "停业"
    data[1][COL["状态变更日期"]] = ahead
    data[1][COL["成立日期"]] = today().isoformat()  # today itself has happened
    report = import_file(app, store, ADMIN, "businesses", write_xlsx(tmp_path / "a.xlsx", data))
    found = [(e.row, e.column, e.value, e.code) for e in report.errors]
    assert found == [
        (3, "成立日期", ahead, "date_ahead"),  # under the title and header rows
        (4, "状态变更日期", ahead, "date_ahead"),
    ]
    assert "晚于导入之日" in report.errors[0].reason_zh and "after" in report.errors[0].reason_en
    with store.unit_of_work(ADMIN) as uow:
        assert uow.businesses.count() == 0


def test_the_report_goes_into_the_folder_named_for_reports(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    bad = rows()[1:]
    bad[0][COL["包保等级"]] = "E"
    (tmp_path / "in").mkdir()
    path = write_xlsx(tmp_path / "in" / "台账.xlsx", bad)
    folder = tmp_path / "reports" / "2026"  # made when missing
    rejected = import_file(app, store, ADMIN, "businesses", path, report_dir=folder)
    assert rejected.report_path == folder / "台账.errors.xlsx" and rejected.report_path.exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["台账.xlsx"]  # nothing beside it
    write_xlsx(path, rows()[1:])
    assert import_file(app, store, ADMIN, "businesses", path, report_dir=folder).accepted
    assert not rejected.report_path.exists()


# -- helpers -----------------------------------------------------------------------------------


def _load(path: Path) -> Workbook:
    from openpyxl import load_workbook

    return load_workbook(path)


def _hierarchy(store: twores.Store) -> twores.Hierarchy:
    with store.unit_of_work(ADMIN) as uow:
        return uow.areas.hierarchy()


def _rewrite_sheet(path: Path, change: object) -> None:
    copy = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(copy, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data.decode()).encode()  # type: ignore[operator]
            target.writestr(item, data)
    copy.replace(path)


def test_dates_keep_their_day_whatever_the_cell() -> None:
    assert v.day(datetime(2023, 3, 15, 9, 30), "f") == date(2023, 3, 15)
    assert v.day("2023年3月15日 9:30", "f") == date(2023, 3, 15)


def _damaged_workbook(path: Path) -> None:
    book = Workbook()
    book.active.append(["主体名称", "许可证编号", "所属区划", "业态"])
    book.save(path)
    data = bytearray(path.read_bytes())
    directory = data.rfind(b"PK\x01\x02")  # the central directory's last entry
    data[directory : directory + 4] = b"XXXX"
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "make",
    [lambda path: path.write_bytes(b"this is not a workbook"), _damaged_workbook],
    ids=["junk", "damaged"],
)
def test_a_file_that_is_no_workbook_is_refused_by_name(
    app: twores.Twores, store: twores.Store, tmp_path: Path, make: Any
) -> None:
    bad = tmp_path / "台账.xlsx"
    make(bad)
    with pytest.raises(InvalidValueError) as error:
        import_file(app, store, ADMIN, "businesses", bad)
    assert error.value.field == "file" and "Excel" in error.value.message_zh


def test_a_cadre_sheet_missing_columns_names_the_cadre_headers(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    sheet = tmp_path / "干部.csv"
    sheet.write_text("foo,bar\n1,2\n", encoding="utf-8")
    report = import_file(app, store, ADMIN, "cadres", sheet)
    assert {e.column for e in report.errors} == {"包保干部姓名", "所属区划"}


# -- 17. two-row headers: 包保干部 merged over 姓名 | 职务 | 联系电话 --------------------------

GROUPED_TOP: list[object] = [*HEADER[:10], "包保干部", None, None]
GROUPED_BOTTOM: list[object] = [None] * 10 + ["姓名", "职务", "联系电话"]


def _grouped_xlsx(path: Path, top: list[object], bottom: list[object]) -> Path:
    """The title, the two header rows (single-row columns merged down over both), the rows."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["灵川县食品生产经营主体分层分级包保台账"])
    sheet.append(top)
    sheet.append(bottom)
    for at, cell in enumerate(top, start=1):
        if cell is not None and (at > len(bottom) or bottom[at - 1] is None):
            sheet.merge_cells(start_row=2, start_column=at, end_row=3, end_column=at)
    sheet.merge_cells(start_row=2, start_column=11, end_row=2, end_column=13)
    for row in rows():
        sheet.append(row)
    workbook.save(path)
    return path


def test_a_two_row_header_names_the_cadre_columns_under_their_group(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    import_cadres(app, store, tmp_path, "吴伟")
    path = _grouped_xlsx(tmp_path / "g.xlsx", GROUPED_TOP, GROUPED_BOTTOM)
    table = read_sheet(path, "businesses")
    assert table.header[10:] == ["包保干部姓名", "包保干部职务", "包保干部联系电话"]
    assert table.header_row == 3
    assert [row.number for row in table.rows] == [4, 5]
    report = import_file(app, store, ADMIN, "businesses", path)
    assert report.accepted, report.errors
    assert (report.records.inserted, report.assignments.inserted) == (2, 1)


def test_a_two_row_header_in_csv_has_its_group_over_the_first_column_only(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    import_cadres(app, store, tmp_path, "吴伟")
    top = [str(c or "") for c in GROUPED_TOP]
    path = write_csv(tmp_path / "g.csv", [list(GROUPED_BOTTOM), *rows()], top)
    report = import_file(app, store, ADMIN, "businesses", path)
    assert report.accepted, report.errors
    assert (report.records.inserted, report.assignments.inserted) == (2, 1)


def test_a_group_row_above_the_header_joins_it(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """The group row on top names too few columns to be the header itself."""
    import_cadres(app, store, tmp_path, "吴伟")
    top: list[object] = ["基本情况", *[None] * 9, "包保干部", None, None]
    bottom: list[object] = [*HEADER[:10], "姓名", "职务", "联系电话"]
    workbook = Workbook()
    sheet = workbook.active
    for row in (top, bottom, *rows()):
        sheet.append(row)
    sheet.merge_cells("A1:J1")
    sheet.merge_cells("K1:M1")
    workbook.save(tmp_path / "above.xlsx")
    table = read_sheet(tmp_path / "above.xlsx", "businesses")
    assert table.header[:2] == ["序号", "主体名称"]
    assert table.header[10:] == ["包保干部姓名", "包保干部职务", "包保干部联系电话"]
    report = import_file(app, store, ADMIN, "businesses", tmp_path / "above.xlsx")
    assert report.accepted, report.errors
    assert report.assignments.inserted == 1


def test_a_first_data_row_is_never_taken_for_a_second_header_row(tmp_path: Path) -> None:
    data = rows()
    data[0][COL["联系电话"]] = "联系电话"  # text where a header could be, digits elsewhere
    path = write_csv(tmp_path / "d.csv", data, [*HEADER[:10], "包保干部", "职务", "电话"])
    table = read_sheet(path, "businesses")
    assert table.header_row == 1
    assert [row.number for row in table.rows] == [2, 3]


# -- 18. an area name path that matches nothing suggests the nearest ---------------------


@pytest.mark.parametrize(
    ("typed", "guess"),
    [
        ("灵川县/大圩镇/上桥材", "灵川县/大圩镇/上桥村委会"),  # a typo in the village
        ("灵川县/大于镇/上桥村", "灵川县/大圩镇/上桥村委会"),  # in the township: the rest follows
        ("灵州县/大圩镇", "灵川县/大圩镇"),  # in the county
    ],
)
def test_an_unknown_area_name_suggests_the_nearest_paths(
    store: twores.Store, typed: str, guess: str
) -> None:
    resolve = AreaResolver(_hierarchy(store))
    with pytest.raises(InvalidAreaCodeError) as raised:
        resolve(typed, "所属区划")
    assert f"是否为：{guess}" in raised.value.reason_zh
    assert f"did you mean {guess}" in raised.value.reason_en
    with pytest.raises(InvalidAreaCodeError) as nothing_near:
        resolve("完全不存在的地方", "所属区划")
    assert nothing_near.value.reason_zh == "找不到该区划"


# -- 19. columns nothing reads are reported, never dropped unsaid -----------------------


def test_columns_no_field_reads_are_reported_and_staff_phone_spellings_are_read(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    header = [*HEADER[:10], "法定代表人", "食品安全员", "食品安全员联系电话", "风险级别", "备注"]
    data = [[*r[:10], "李某", "王安全", "13800001111", "B", "—"] for r in rows()]
    report = import_file(
        app, store, ADMIN, "businesses", write_csv(tmp_path / "s.csv", data, header)
    )
    assert report.accepted, report.errors
    assert report.unread_columns == ("法定代表人", "备注")
    stored = businesses(store)["SC14503231110603"]
    assert stored.staff.officer is not None and stored.staff.officer.phone == "13800001111"
    # a cadre's post and phone are read only beside the cadre's name: without it, said so
    header = [*HEADER[:10], "法定代表人", "联系电话", "职务"]
    data = [[*r[:10], "李某", "13800002222", "店长"] for r in rows()]
    report = import_file(
        app, store, ADMIN, "businesses", write_csv(tmp_path / "t.csv", data, header)
    )
    assert report.accepted and report.unread_columns == ("法定代表人", "联系电话", "职务")
    assert stored.risk_grade is not None


def test_cadre_rows_outside_the_importers_jurisdiction_are_row_errors(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    office = twores.Scope("大圩镇食安办", twores.Role.OFFICE, VILLAGE[:9])
    other = "450323102001"  # a village of another township
    path = write_csv(
        tmp_path / "干部.csv",
        [
            ["吴伟", "村委会主任", "村级", VILLAGE, CADRE_PHONE],
            ["李明", "村委会主任", "村级", other, "18374074003"],
            ["赵丽", "村委会主任", "村级", other, "18374074004"],
        ],
        ["包保干部姓名", "职务", "层级", "所属区划", "联系电话"],
    )
    report = import_file(app, store, office, "cadres", path, on=ON)
    assert [(e.row, e.column, e.value, e.code) for e in report.errors] == [
        (3, "所属区划", other, "out_of_scope"),
        (4, "所属区划", other, "out_of_scope"),
    ]
    assert "不在您的辖区" in report.errors[0].reason_zh


def test_rows_whose_numbers_are_filed_in_another_jurisdiction_are_each_named(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    elsewhere = "450323102001"  # a village of another township
    data = rows()
    for row in data:
        row[COL["所属区划"]], row[COL["包保干部姓名"]] = elsewhere, None
        row[COL["职务"]] = row[COL["联系电话"]] = None
    assert import_file(
        app, store, ADMIN, "businesses", write_csv(tmp_path / "a.csv", data)
    ).accepted
    before = businesses(store)
    mine = rows()  # the same numbers, filed in this township
    for row in mine:
        row[COL["包保干部姓名"]] = row[COL["职务"]] = row[COL["联系电话"]] = None
    mine.append([3, "三街超市", None, "JY14503232897810", VILLAGE, "食品销售", "在营", None, "D",
                 "2020-01-01", None, None, None])  # fmt: skip
    office = twores.Scope("大圩镇食安办", twores.Role.OFFICE, VILLAGE[:9])
    report = import_file(app, store, office, "businesses", write_csv(tmp_path / "b.csv", mine))
    assert [(e.row, e.column, e.value, e.code) for e in report.errors] == [
        (2, "许可证编号", "SC14503231110603", "out_of_scope"),
        (3, "许可证编号", "JY14503230034495", "out_of_scope"),
    ]
    assert "辖区外" in report.errors[0].reason_zh and "outside" in report.errors[0].reason_en
    assert businesses(store) == before


def test_an_office_is_told_a_cadre_above_its_jurisdiction_is_not_its_to_import(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    cadres = write_csv(
        tmp_path / "干部.csv",
        [["王强", "镇长", "乡级", VILLAGE[:9], "18374074009"]],
        ["包保干部姓名", "职务", "层级", "所属区划", "联系电话"],
    )
    assert import_file(app, store, ADMIN, "cadres", cadres, on=ON).accepted
    data = rows()
    data[0][COL["包保干部姓名"]], data[0][COL["联系电话"]] = "王强", "18374074009"
    village = twores.Scope("敢兴村", twores.Role.OFFICE, VILLAGE)  # the township is above it
    report = import_file(app, store, village, "businesses", write_csv(tmp_path / "b.csv", data))
    (error,) = report.errors
    assert error.code == "unknown_cadre" and f"您的辖区（{VILLAGE}）" in error.reason_zh


def test_a_header_a_field_reads_over_two_columns_is_refused_not_guessed(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """包保干部 over 姓名 | 职务 | 联系电话, then 联系人 over 姓名 | 联系电话: two 联系电话."""
    path = write_csv(
        tmp_path / "干部.csv",
        [
            ["", "", "", "姓名", "职务", "联系电话", "姓名", "联系电话"],
            ["1", "村级", VILLAGE, "张三", "主任", "13900000001", "李四", "13900000002"],
        ],
        ["序号", "层级", "所属区划", "包保干部", "", "", "联系人", ""],
    )
    report = import_file(app, store, ADMIN, "cadres", path, on=ON)
    assert [(e.column, e.code) for e in report.errors] == [("联系电话", "repeated_column")]
    assert "第 6、8 列" in report.errors[0].reason_zh
    with store.unit_of_work(ADMIN) as uow:
        assert uow.cadres.count() == 0


def test_a_workbook_that_would_inflate_absurdly_is_refused_unread(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    book = Workbook()
    book.active.append(["主体名称", "许可证编号", "所属区划", "业态"])
    path = tmp_path / "台账.xlsx"
    book.save(path)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = data.replace(b"<sheets>", b" " * (64 << 20) + b"<sheets>")
            out.writestr(item.filename, data)
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(InvalidValueError) as error:
        import_file(app, store, ADMIN, "businesses", bomb)
    assert error.value.field == "file" and "zip bomb" in error.value.message_en


def test_formatted_empty_rows_below_the_ledger_are_no_giant_row(
    app: twores.Twores, store: twores.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twores.services.sheets import reading

    monkeypatch.setattr(reading, "_ROW_LIMIT", 1 << 20)  # scaled down: 1 MiB rows,
    monkeypatch.setattr(reading, "_XML_CHUNK", 1 << 16)  # read 64 KiB at a time
    book = Workbook()
    sheet = book.active
    sheet.append(["主体名称", "许可证编号", "所属区划", "业态"])
    sheet.append(["灵川米粉店", "JY14503230034495", "450323101202", "餐饮服务"])
    path = tmp_path / "台账.xlsx"
    book.save(path)
    empty = "".join(f'<row r="{n}" s="1" customFormat="1" ht="15"/>' for n in range(3, 60_000))

    def formatted_below(xml: str) -> str:
        return xml.replace("</sheetData>", empty + "</sheetData>")

    _rewrite_sheet(path, formatted_below)
    report = import_file(app, store, ADMIN, "businesses", path)
    assert report.accepted, report.errors
    assert report.records.inserted == 1
