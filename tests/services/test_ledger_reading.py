"""Reading ledgers as offices really save them: Excel error cells, stray quotes, a 填报人
line above the header, totals rows, other delimiters and text or web-page ".xls" files,
licence header spellings, and one report per input."""

from __future__ import annotations

import csv
import json
import re
import struct
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

import twores
from twores.core.errors import InvalidValueError
from twores.services.imports import ImportReport, import_file
from twores.services.sheets import values as v
from twores.services.sheets.cells import ExcelError
from twores.services.sheets.columns import COLUMNS, known_headers
from twores.services.sheets.reading import normalise_header, read_table

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
ON = date(2025, 6, 30)
VILLAGE = "450323101202"
PHONE = "18374074002"
HEADER = ["序号", "主体名称", "许可证编号", "所属区划", "业态", "经营状态", "包保等级"]
COL = {name: i for i, name in enumerate(HEADER)}


def rows() -> list[list[object]]:
    return [
        [1, "大圩豆腐坊", "SC14503231110603", VILLAGE, "食品生产", "在营", "D"],
        [2, "敢兴便利店", "JY14503230034495", VILLAGE, "食品销售", "在营", "D"],
    ]


def write_xlsx(path: Path, data: list[list[object]], header: list[str] = HEADER) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["灵川县食品生产经营主体分层分级包保台账"])
    sheet.append(header)
    for row in data:
        sheet.append(row)
    workbook.save(path)
    return path


def write_csv(
    path: Path, data: list[list[object]], header: list[str] = HEADER, **options: str
) -> Path:
    with path.open("w", encoding=options.pop("encoding", "utf-8-sig"), newline="") as stream:
        csv.writer(stream, **options).writerows([header, *data])  # type: ignore[arg-type]
    return path


def stored(store: twores.Store) -> dict[str, twores.FoodBusiness]:
    with store.unit_of_work(ADMIN) as uow:
        return {b.key: b for b in uow.businesses.stream()}


def imported(app: twores.Twores, store: twores.Store, path: Path) -> ImportReport:
    return import_file(app, store, ADMIN, "businesses", path, on=ON)


# -- 1. Excel error values ---------------------------------------------------------------------


def _with_error_results(path: Path, errors: dict[str, str]) -> Path:
    """``path`` with formula cells (by reference) saved as Excel saves a failed formula:
    t="e" and the error as the computed value."""
    with zipfile.ZipFile(path) as source:
        members = [(item, source.read(item.filename)) for item in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item, data in members:
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                for ref, error in errors.items():
                    xml, count = re.subn(
                        rf'<c r="{ref}"[^>]*>(<f>.*?</f>)(?:<v\s*/>|<v>[^<]*</v>)?</c>',
                        rf'<c r="{ref}" t="e">\1<v>{error}</v></c>',
                        xml,
                    )
                    assert count == 1, ref
                data = xml.encode()
            target.writestr(item, data)
    return path


def test_an_error_result_of_a_formula_is_a_row_error_not_an_empty_cell(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    closed = rows()[1:]
    closed[0][COL["经营状态"]] = "注销"
    assert imported(app, store, write_csv(tmp_path / "注销.csv", closed)).accepted
    data = rows()
    data[0][COL["包保等级"]] = "=VLOOKUP(C3,[分级.xlsx]S!A:B,2,0)"
    data[1][COL["经营状态"]] = "=VLOOKUP(C4,[状态.xlsx]S!A:B,2,0)"
    data[1][COL["所属区划"]] = "=VLOOKUP(C4,区划!A:B,2,0)"
    path = _with_error_results(
        write_xlsx(tmp_path / "台账.xlsx", data), {"G3": "#N/A", "F4": "#REF!", "D4": "#N/A"}
    )
    report = imported(app, store, path)
    found = [(e.row, e.serial, e.column, e.value, e.code) for e in report.errors]
    assert found == [
        (3, "1", "包保等级", "#N/A", "formula_error"),
        (4, "2", "所属区划", "#N/A", "formula_error"),
        (4, "2", "经营状态", "#REF!", "formula_error"),
    ]
    assert "Excel 错误值" in report.errors[0].reason_zh
    assert "Excel error" in report.errors[0].reason_en
    business = stored(store)["JY14503230034495"]  # nothing written: still closed
    assert business.status is twores.OperatingStatus.CLOSED and len(stored(store)) == 1
    assert report.report_path is not None
    sheet = load_workbook(report.report_path).active
    assert [c.value for c in sheet[2]][2:5] == ["包保等级", "#N/A", "formula_error"]


@pytest.mark.parametrize("column", ["主体名称", "许可证编号", "所属区划", "业态", "包保等级"])
def test_an_error_typed_in_any_column_read_is_a_row_error(
    app: twores.Twores, store: twores.Store, tmp_path: Path, column: str
) -> None:
    data = rows()
    data[1][COL[column]] = "#DIV/0!"  # openpyxl writes it as an error cell (t="e")
    report = imported(app, store, write_xlsx(tmp_path / "台账.xlsx", data))
    assert [(e.row, e.column, e.value, e.code) for e in report.errors] == [
        (4, column, "#DIV/0!", "formula_error")
    ]
    assert stored(store) == {}


def test_an_error_in_a_cadre_column_is_a_row_error(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    header = [*HEADER, "包保干部姓名", "联系电话"]
    data = [[*rows()[0], "#N/A", PHONE]]
    report = imported(app, store, write_xlsx(tmp_path / "台账.xlsx", data, header))
    assert [(e.column, e.value, e.code) for e in report.errors] == [
        ("包保干部姓名", "#N/A", "formula_error")
    ]


def test_an_error_in_a_column_no_field_reads_is_left_alone(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    data = [[*row, "#VALUE!"] for row in rows()]
    report = imported(app, store, write_xlsx(tmp_path / "台账.xlsx", data, [*HEADER, "备注"]))
    assert report.accepted, report.errors


def test_an_error_cell_reads_as_its_text_everywhere_but_in_a_reader() -> None:
    cell = ExcelError("#N/A")
    assert cell == "#N/A" and not v.blank(cell)
    assert json.dumps([str(cell)]) == '["#N/A"]' and type(str(str(cell))) is str
    with pytest.raises(v.FormulaError) as refused:
        v.text(cell, "name")
    assert refused.value.code == "formula_error" and refused.value.value == "#N/A"
    for read in (v.code_text, v.integer, v.boolean, v.day, v.phone, v.person_name):
        with pytest.raises(v.FormulaError):
            read(cell, "field")  # type: ignore[operator]
    with pytest.raises(v.FormulaError):
        v.grade_text(cell)


def test_a_row_error_holding_an_error_value_encodes_as_json() -> None:
    serialization = pytest.importorskip("litestar.serialization")
    shown = str(ExcelError("#REF!"))  # what a row error's value is made of
    assert serialization.encode_json({"value": shown}) == b'{"value":"#REF!"}'


# .xls: BIFF8 records in an OLE compound file, written here as Excel lays them out.

_END, _FREE, _FAT_SECTOR, _NO_STREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def _record(kind: int, body: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))


def _biff_cell(row: int, col: int, value: object) -> bytes:
    if isinstance(value, str):
        text = struct.pack("<HHHHB", row, col, 0, len(value), 1) + value.encode("utf-16-le")
        return _record(0x0204, text)  # LABEL
    if isinstance(value, tuple) and value[0] == "typed":  # BOOLERR holding an error
        return _record(0x0205, struct.pack("<HHHBB", row, col, 0, value[1], 1))
    if isinstance(value, tuple):  # FORMULA whose computed value is an error
        result = bytes([2, 0, value[1], 0, 0, 0, 0xFF, 0xFF])
        formula = struct.pack("<HBH", 3, 0x1E, 1)  # =1
        body = struct.pack("<HHH", row, col, 0) + result + struct.pack("<HI", 0, 0) + formula
        return _record(0x0006, body)
    return _record(0x0203, struct.pack("<HHHd", row, col, 0, float(value)))  # type: ignore[arg-type]


def _biff(sheets: list[tuple[str, list[list[object]]]]) -> bytes:
    bodies = [
        _bof(0x10)
        + b"".join(
            _biff_cell(r, c, value)
            for r, cells in enumerate(data)
            for c, value in enumerate(cells)
            if value is not None
        )
        + _record(0x000A)
        for _, data in sheets
    ]

    def bound(at: int, name: str) -> bytes:
        body = struct.pack("<IBBBB", at, 0, 0, len(name), 1) + name.encode("utf-16-le")
        return _record(0x0085, body)

    at = len(_bof(5)) + sum(len(bound(0, n)) for n, _ in sheets) + len(_record(0x000A))
    globals_ = _bof(5)
    for (name, _), body in zip(sheets, bodies, strict=True):
        globals_ += bound(at, name)
        at += len(body)
    return globals_ + _record(0x000A) + b"".join(bodies)


def _compound_file(stream: bytes) -> bytes:
    """A version-3 compound file holding the Workbook stream (in the mini stream when
    shorter than 4096 bytes, as Excel keeps small streams)."""
    mini = len(stream) < 4096
    body = stream + bytes(-len(stream) % (64 if mini else 512))
    sectors = body + bytes(-len(body) % 512)
    count = len(sectors) // 512
    fat = [_FREE] * 128
    for i in range(count):
        fat[i] = i + 1 if i + 1 < count else _END
    fat[count], fat[count + 1] = _END, _FAT_SECTOR  # the directory, the FAT itself
    if mini:
        fat[count + 2] = _END

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        links = struct.pack("<HBBIII", len(raw), kind, 1, _NO_STREAM, _NO_STREAM, child)
        return raw.ljust(64, b"\0") + links + bytes(36) + struct.pack("<IQ", start, size)

    root = entry("Root Entry", 5, 1, 0 if mini else _END, len(body) if mini else 0)
    sectors += (root + entry("Workbook", 2, _NO_STREAM, 0, len(stream))).ljust(512, b"\0")
    sectors += struct.pack("<128I", *fat)
    if mini:
        small = len(body) // 64
        sectors += struct.pack(
            "<128I",
            *[i + 1 if i + 1 < small else _END for i in range(small)],
            *[_FREE] * (128 - small),
        )
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<9I", 0, 1, count, 0, 4096, count + 2 if mini else _END, int(mini), _END, 0)
        + struct.pack("<I108I", count + 1, *[_FREE] * 108)
    )
    return header + sectors


@pytest.mark.parametrize("padding", [0, 200], ids=["small stream", "large stream"])
def test_an_xls_error_cell_is_a_row_error(
    app: twores.Twores, store: twores.Store, tmp_path: Path, padding: int
) -> None:
    data: list[list[object]] = [["灵川县包保台账"], HEADER, *rows()]
    data[2][COL["经营状态"]] = ("formula", 0x2A)  # #N/A
    data[3][COL["包保等级"]] = ("typed", 0x17)  # #REF!
    data += [[None] * len(HEADER) + ["备注"] * 3] * padding  # rows of an unread column
    other = ("填表说明", [["说明"]])
    path = tmp_path / "台账.xls"
    stream = _biff([other, ("台账", data)])
    assert (len(stream) < 4096) == (padding == 0)  # in the mini stream, or in sectors
    path.write_bytes(_compound_file(stream))
    table = read_table(path, known_headers("businesses"))
    assert table.sheet == "台账"
    report = imported(app, store, path)
    assert [(e.row, e.column, e.value, e.code) for e in report.errors] == [
        (3, "经营状态", "#N/A", "formula_error"),
        (4, "包保等级", "#REF!", "formula_error"),
    ]
    assert stored(store) == {}


# -- 2. a quote never closed -------------------------------------------------------------------


def _stray_quote_ledger(path: Path, count: int) -> Path:
    lines = [",".join(HEADER)]
    for i in range(count):
        note = '"见附件' if i == 1 else ""
        licence = f"JY1450323{i:07d}"
        lines.append(f"{i + 1},大圩店{i},{licence},{VILLAGE},餐饮服务,在营,D,{note}")
    lines[0] += ",备注"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("count", [6, 3000])
def test_a_quote_never_closed_refuses_the_file_naming_its_line(
    app: twores.Twores, store: twores.Store, tmp_path: Path, count: int
) -> None:
    path = _stray_quote_ledger(tmp_path / "台账.csv", count)
    with pytest.raises(InvalidValueError) as refused:
        imported(app, store, path)
    assert refused.value.field == "file" and refused.value.value == "台账.csv"
    assert "第 3 行" in refused.value.reason_zh and "“见附件”" in refused.value.reason_zh
    assert "引号" in refused.value.reason_zh and "line 3" in refused.value.reason_en
    assert stored(store) == {}


def test_a_quoted_cell_with_a_line_break_still_reads(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    data = [[*row, note] for row, note in zip(rows(), ["见附件\n第二页", "无"], strict=True)]
    path = write_csv(tmp_path / "台账.csv", data, [*HEADER, "备注"])
    report = imported(app, store, path)
    assert report.accepted and report.rows == 2, report.errors


def test_text_after_a_closing_quote_on_one_line_reads_as_before(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    lines = [",".join(HEADER)] + [",".join(map(str, row)) for row in rows()]
    lines[1] = lines[1].replace("大圩豆腐坊", '"大圩"豆腐坊')  # a careless export
    path = tmp_path / "台账.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert imported(app, store, path).accepted
    assert stored(store)["SC14503231110603"].name == "大圩豆腐坊"


# -- 3. a 填报人 line above the header -----------------------------------------------------------


def test_the_header_is_the_row_naming_the_most_known_columns(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["灵川县大圩镇食品经营主体包保台账"])
    sheet.append(["填报单位：大圩镇食安办", None, "填报人", "莫某某", "职务", "副镇长", "联系电话"])
    sheet.append([])
    sheet.append(HEADER)
    for row in rows():
        sheet.append(row)
    path = tmp_path / "台账.xlsx"
    workbook.save(path)
    table = read_table(path, known_headers("businesses"))
    assert (table.header_row, table.header) == (4, HEADER)
    report = imported(app, store, path)
    assert report.accepted and report.rows == 2, report.errors


# -- 4. totals rows ----------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["合计：2户", "合计 2 户", "总计（共5家）", "汇总", "共计2户"])
@pytest.mark.parametrize("write", [write_csv, write_xlsx], ids=["csv", "xlsx"])
def test_totals_rows_with_counts_are_skipped(
    app: twores.Twores, store: twores.Store, tmp_path: Path, label: str, write: object
) -> None:
    header = [*HEADER, "就餐人数"]
    data = [[*row, diners] for row, diners in zip(rows(), [100, 200], strict=True)]
    total: list[object] = [label] + [None] * (len(HEADER) - 1) + [300]  # the sum: read
    path = tmp_path / ("台账.csv" if write is write_csv else "台账.xlsx")
    report = imported(app, store, write(path, [*data, total], header))  # type: ignore[operator]
    assert report.accepted and report.rows == 2, report.errors


def test_a_business_named_like_a_total_is_data(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    data = rows()
    data[0][0], data[0][1] = None, "汇总超市"  # its first filled cell: the name
    assert imported(app, store, write_xlsx(tmp_path / "台账.xlsx", data)).accepted
    assert stored(store)["SC14503231110603"].name == "汇总超市"


# -- 5. other delimiters, and ".xls" files that are text or web pages ---------------------------


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter"),
    [("分号.csv", "utf-8-sig", ";"), ("制表符.csv", "utf-8", "\t"), ("平台导出.xls", "gbk", "\t")],
)
def test_semicolons_tabs_and_a_text_xls_are_read(
    app: twores.Twores,
    store: twores.Store,
    tmp_path: Path,
    name: str,
    encoding: str,
    delimiter: str,
) -> None:
    data = rows()
    data[0][COL["主体名称"]] = "大圩豆腐坊,有限公司"  # a comma inside a cell
    path = write_csv(tmp_path / name, data, encoding=encoding, delimiter=delimiter)
    report = imported(app, store, path)
    assert report.accepted and report.rows == 2, report.errors
    assert stored(store)["SC14503231110603"].name == "大圩豆腐坊,有限公司"


def test_an_html_xls_is_refused_saying_what_it_is(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    cells = "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in [HEADER, *rows()]
    )
    path = tmp_path / "网页导出.xls"
    path.write_text(f"<html><meta charset='utf-8'><table>{cells}</table></html>", "utf-8")
    with pytest.raises(InvalidValueError) as refused:
        imported(app, store, path)
    assert refused.value.reason_zh == "此 .xls 实为网页（HTML）导出，请在 Excel 中另存为 .xlsx"
    assert refused.value.reason_en == "this .xls is an HTML export; save it as .xlsx in Excel"


def test_an_xml_spreadsheet_xls_is_refused_saying_what_it_is(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    path = tmp_path / "导出.xls"
    path.write_text(
        '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
        "<Worksheet><Table><Row><Cell><Data>主体名称</Data></Cell></Row></Table></Worksheet>"
        "</Workbook>",
        "utf-8",
    )
    with pytest.raises(InvalidValueError) as refused:
        imported(app, store, path)
    assert "XML" in refused.value.reason_zh and ".xlsx" in refused.value.reason_en


# -- 6. licence header spellings ---------------------------------------------------------------


@pytest.mark.parametrize("header", ["食品经营许可证编号", "食品生产许可证编号", "许可证号码"])
def test_licence_headers_offices_use_are_read(
    app: twores.Twores, store: twores.Store, tmp_path: Path, header: str
) -> None:
    named = [header if h == "许可证编号" else h for h in HEADER]
    report = imported(app, store, write_csv(tmp_path / "台账.csv", rows(), named))
    assert report.accepted and not report.unread_columns, report.errors
    assert sorted(stored(store)) == ["JY14503230034495", "SC14503231110603"]


@pytest.mark.parametrize("kind", sorted(COLUMNS))
def test_no_header_names_two_fields(kind: str) -> None:
    owner: dict[str, str] = {}
    for field, aliases in COLUMNS[kind].items():
        for alias in aliases:
            assert owner.setdefault(normalise_header(alias), field) == field, (kind, alias)


# -- 7. one report per input -------------------------------------------------------------------


def test_an_accepted_csv_leaves_the_report_of_the_workbook_of_the_same_name(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    bad = rows()
    bad[0][COL["包保等级"]] = "E"
    refused = imported(app, store, write_xlsx(tmp_path / "台账.xlsx", bad))
    assert refused.report_path == tmp_path / "台账.errors.xlsx"
    assert imported(app, store, write_csv(tmp_path / "台账.csv", rows())).accepted
    assert refused.report_path.exists()  # still the report of the refused 台账.xlsx
    assert imported(app, store, write_xlsx(tmp_path / "台账.xlsx", rows())).accepted
    assert not refused.report_path.exists()


# -- 8. an ID number typed as a number ---------------------------------------------------------


@pytest.mark.parametrize("cell", [1.10101199003151e17, "1.10101E+17", " 1.10101E+17 "])
def test_an_id_number_that_lost_digits_as_a_number_says_so(cell: object) -> None:
    with pytest.raises(v.DigitsLostError) as refused:
        v.id_number(cell, "id_number")
    assert refused.value.code == "digits_lost"


def test_a_ledger_whose_id_numbers_lost_digits_says_so_at_the_row(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """A cadre roster (and a business's staff columns) saved by Excel as numbers: the
    clerk is told to type the column as text, not that the number is invalid."""
    header = ["干部编号", "包保干部姓名", "职务", "层级", "所属区划", "联系电话", "身份证号"]
    row = ["C1", "刘华军", "副乡长", "乡级", VILLAGE[:9], PHONE, "1.10101E+17"]
    path = write_csv(tmp_path / "干部.csv", [row], header)
    report = import_file(app, store, ADMIN, "cadres", path, on=ON)
    assert [(e.row, e.column, e.code) for e in report.errors] == [(2, "身份证号", "digits_lost")]
    staff = [*HEADER, "食品安全员", "食品安全员身份证号"]
    data = [[*rows()[0], "黄丽", "1.10101E+17"]]
    report = imported(app, store, write_csv(tmp_path / "台账.csv", data, staff))
    assert [(e.column, e.code) for e in report.errors] == [("食品安全员身份证号", "digits_lost")]


def test_an_id_number_typed_as_text_reads_as_it_is() -> None:
    assert v.id_number(" 45032319900315123x ", "id_number") == "45032319900315123X"
    assert v.id_number(None, "id_number") is None and v.id_number("", "id_number") is None
