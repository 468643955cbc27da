"""The commitment letter and three lists (.docx and .xlsx) of one cadre for one year."""

from __future__ import annotations

import zipfile
from pathlib import Path

import attrs
import docx
import pytest
from openpyxl import load_workbook

from twores.core.areas import Tier
from twores.core.businesses import BusinessType, FoodBusiness, Grade, OperatingStatus
from twores.core.cadres import Cadre
from twores.core.supervision import NATIONAL_CHECKLIST
from twores.services.letters import (
    OVERSIGHT_HEADERS,
    RESPONSIBILITY_HEADERS,
    TASK_HEADERS,
    DocumentInput,
    document_stem,
    list_hash,
    write_documents,
)

PHONE = "13800138000"
ID_NUMBER = "11010519491231002X"
COUNTERPARTY = "大圩镇党委书记"
CADRE = Cadre(
    "450323101-li",
    "李明",
    Tier.TOWNSHIP,
    "450323101",
    post="副镇长",
    phone=PHONE,
    id_number=ID_NUMBER,
)
BUSINESSES = (
    FoodBusiness(
        "大圩镇上桥村老李米粉店",
        "450323101202",
        BusinessType.CATERING,
        licence_no="JY24503230034495",
        grade=Grade.D,
    ),
    FoodBusiness(
        "灵川县大圩镇毛洲副食店",
        "450323101203",
        BusinessType.SALES,
        licence_no="JY14503230034495",
        grade=Grade.C,
        status=OperatingStatus.SUSPENDED,
    ),
    FoodBusiness(
        "大圩古镇豆腐小作坊",
        "450323101202",
        BusinessType.WORKSHOP,
        uscc="92450323MA5L8XY70G",
    ),
)
AREA_NAMES = {"450323101202": "灵川县/大圩镇/上桥村"}  # 450323101203 falls back to its code


def _input(businesses: tuple[FoodBusiness, ...] = BUSINESSES) -> DocumentInput:
    return DocumentInput(
        cadre=CADRE,
        year=2025,
        businesses=businesses,
        area_names=AREA_NAMES,
        jurisdiction_name="灵川县/大圩镇",
        frequency_label="每季度1次",
        counterparty=COUNTERPARTY,
    )


def _docx_text(path: Path) -> tuple[list[str], list[list[list[str]]]]:
    document = docx.Document(str(path))
    paragraphs = [p.text for p in document.paragraphs]
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    return paragraphs, tables


def _xlsx_values(path: Path) -> dict[str, list[tuple[object, ...]]]:
    workbook = load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets}


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, Path]:
    return write_documents(_input(), tmp_path / "out")


def test_file_names(written: tuple[Path, Path]) -> None:
    docx_path, xlsx_path = written
    assert docx_path.name == "2025-450323101-li-承诺书及三清单.docx"
    assert xlsx_path.name == "2025-450323101-li-承诺书及三清单.xlsx"
    assert document_stem("a:b", 2025) == "2025-a%3Ab"


def test_docx_letter_and_lists(written: tuple[Path, Path]) -> None:
    paragraphs, tables = _docx_text(written[0])
    body = "\n".join(paragraphs)
    assert paragraphs[0] == "食品安全责任与任务承诺书"
    assert "2025年度" in paragraphs[1]
    assert "李明" in body and "副镇长" in body and "乡级" in body and "灵川县/大圩镇" in body
    assert "共包保食品生产经营主体3家" in body
    assert "每季度1次" in body and "销号" in body
    for area in ("管理制度", "日常防控", "应急处置", "宣传培训"):
        assert area in body
    assert f"对方：{COUNTERPARTY}" in body and "承诺人：李明" in body and "签订日期" in body
    for heading in ("附件1：责任清单", "附件2：任务清单", "附件3：督查清单"):
        assert heading in paragraphs
    responsibility, tasks, oversight = tables
    assert tuple(responsibility[0]) == RESPONSIBILITY_HEADERS
    assert tuple(tasks[0]) == TASK_HEADERS
    assert tuple(oversight[0]) == OVERSIGHT_HEADERS
    # sorted by key: the credit code sorts before the JY licences
    assert [row[1] for row in responsibility[1:]] == [
        "大圩古镇豆腐小作坊",
        "灵川县大圩镇毛洲副食店",
        "大圩镇上桥村老李米粉店",
    ]
    assert len(tasks) - 1 == len(NATIONAL_CHECKLIST.items)
    assert all(row[-1] == "" for row in oversight[1:])  # 检查结果 left for the inspectors
    everything = body + str(tables)
    assert PHONE not in everything and ID_NUMBER not in everything


def test_docx_fonts_page_and_properties(written: tuple[Path, Path]) -> None:
    document = docx.Document(str(written[0]))
    run = document.paragraphs[0].runs[0]
    assert run.font.name == "黑体"
    assert run._element.rPr.rFonts.get(docx.oxml.ns.qn("w:eastAsia")) == "黑体"
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    props = document.core_properties
    assert props.author == "twores" and props.created.year == 2025
    assert props.modified == props.created


def test_xlsx_sheets(written: tuple[Path, Path]) -> None:
    workbook = load_workbook(written[1])
    assert workbook.sheetnames == ["责任清单", "任务清单", "督查清单"]
    sheet = workbook["责任清单"]
    assert "李明" in sheet["A1"].value and "2025" in sheet["A1"].value
    assert sheet["B2"].font.bold and sheet.column_dimensions["B"].width > 20
    assert workbook.properties.creator == "twores"
    values = _xlsx_values(written[1])
    assert values["责任清单"][1] == RESPONSIBILITY_HEADERS
    rows = values["责任清单"][2:]
    assert [row[2] for row in rows] == sorted(b.key for b in BUSINESSES)
    assert rows[1] == (
        "2",
        "灵川县大圩镇毛洲副食店",
        "JY14503230034495",
        "食品销售",
        "C级",
        "450323101203",
        "停业",
    )
    assert rows[0][4] == "—" and rows[2][5] == "灵川县/大圩镇/上桥村"
    assert values["任务清单"][1] == TASK_HEADERS
    tasks = values["任务清单"][2:]
    assert [row[3] for row in tasks] == [item.zh for item in NATIONAL_CHECKLIST.items]
    assert {row[1] for row in tasks} == {"管理制度", "日常防控", "应急处置", "宣传培训"}
    assert all(row[4] == "每季度1次" for row in tasks)
    assert values["督查清单"][1] == OVERSIGHT_HEADERS
    assert all(row[3] is None for row in values["督查清单"][2:])
    flat = str(values)
    assert PHONE not in flat and ID_NUMBER not in flat


def test_list_hash_identifies_the_list() -> None:
    assert list_hash(BUSINESSES) == list_hash(reversed(BUSINESSES))
    extra = attrs.evolve(BUSINESSES[0], licence_no="JY24503230034496", name="新开米粉店")
    assert list_hash([*BUSINESSES, extra]) != list_hash(BUSINESSES)
    assert len(list_hash([])) == 64


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    first = write_documents(_input(), tmp_path / "a")
    second = write_documents(_input(tuple(reversed(BUSINESSES))), tmp_path / "b")
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes()
    assert _docx_text(first[0]) == _docx_text(second[0])
    assert _xlsx_values(first[1]) == _xlsx_values(second[1])


def test_archives_carry_no_generation_time(written: tuple[Path, Path]) -> None:
    for path in written:
        with zipfile.ZipFile(path) as archive:
            assert {i.date_time for i in archive.infolist()} == {(2025, 1, 1, 0, 0, 0)}
            core = archive.read("docProps/core.xml").decode()
        assert core.count("2025-01-01T00:00:00Z") == 2  # created and modified


def test_a_letter_names_the_tier_as_the_region_does(tmp_path: Path) -> None:
    import twores
    from twores.core.areas import Area, Hierarchy
    from twores.services.lookups import tier_name

    banner = Hierarchy(
        [
            Area("15", "内蒙古自治区", Tier.PROVINCE),
            Area("1501", "呼和浩特市", Tier.CITY, "15"),
            Area("150121", "土默特左旗", Tier.COUNTY, "1501"),
        ]
    )
    app = twores.build(regions=["inner_mongolia"])
    assert tier_name(app, banner, "150121") == "旗级"
    assert tier_name(twores.build(regions=[]), banner, "150121") == "县级"
    cadre = attrs.evolve(CADRE, id="150121-wang", area_code="150121", tier=Tier.COUNTY)
    doc = DocumentInput(
        cadre, 2025, BUSINESSES[:1], {}, "土默特左旗", "每半年1次", "旗委书记", tier_name="旗级"
    )
    paragraphs, _ = _docx_text(write_documents(doc, tmp_path)[0])
    assert "为旗级包保干部" in "\n".join(paragraphs)
