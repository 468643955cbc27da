"""The commitment letter (承诺书) and the three lists of one cadre for one year.

Writes printable .docx and .xlsx files. Output is deterministic for the same input (fixed
document dates and zip timestamps), and never shows a cadre's phone or ID number.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote

import attrs
import docx
from docx.enum.section import WD_ORIENT
from docx.shared import Mm
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from twores.core.businesses import FoodBusiness
from twores.core.cadres import Cadre
from twores.core.supervision import NATIONAL_CHECKLIST, Checklist
from twores.services.docx_parts import para, stable_zip, table
from twores.services.sheets.cells import xlsx_row

TITLE = "食品安全责任与任务承诺书"
FOUR_AREAS = "管理制度、日常防控、应急处置、宣传培训"
RESPONSIBILITY_HEADERS = (
    "序号",
    "主体名称",
    "许可证编号/统一社会信用代码",
    "业态",
    "包保等级",
    "所属区划",
    "经营状态",
)
TASK_HEADERS = ("序号", "类别", "编号", "任务内容", "督导频次")
OVERSIGHT_HEADERS = ("序号", "督查事项", "督查内容", "检查结果")
# Column widths (characters) of the .xlsx sheets.
_WIDTHS = {
    "责任清单": (6, 36, 30, 14, 10, 32, 10),
    "任务清单": (6, 12, 8, 40, 14),
    "督查清单": (6, 16, 60, 20),
}


@attrs.frozen
class DocumentInput:
    """Everything the letter and lists of one cadre for one year show."""

    cadre: Cadre
    year: int
    businesses: tuple[FoodBusiness, ...]  # any order; output sorted by key
    area_names: Mapping[str, str]  # area code -> name path; falls back to the code
    jurisdiction_name: str
    frequency_label: str  # e.g. "每季度1次"
    counterparty: str  # who signs with the cadre, e.g. "大圩镇党委书记"
    checklist: Checklist = NATIONAL_CHECKLIST
    #: The cadre's tier as the region names it, e.g. "旗级" (default: the tier's own name).
    tier_name: str = ""

    @property
    def tier(self) -> str:
        return self.tier_name or self.cadre.tier.zh


def list_hash(businesses: Iterable[FoodBusiness]) -> str:
    """SHA-256 (hex) of the sorted business keys joined by newlines: the list a letter covers."""
    return keys_hash(b.key for b in businesses)


def keys_hash(keys: Iterable[str]) -> str:
    """:func:`list_hash` of the businesses with these keys."""
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()


def document_stem(cadre_id: str, year: int) -> str:
    """``<year>-<cadre id>``, with characters unsafe in file names percent-encoded."""
    return f"{year}-{quote(cadre_id, safe='-_.')}"


# --- content ------------------------------------------------------------------------------


def _stamp(year: int) -> datetime:
    return datetime(year, 1, 1)


def _responsibility_rows(doc: DocumentInput) -> list[tuple[str, ...]]:
    ordered = sorted(doc.businesses, key=lambda b: b.key)
    return [
        (
            str(i),
            b.name,
            b.key,
            b.business_type.zh,
            b.grade.zh if b.grade is not None else "—",
            doc.area_names.get(b.area_code, b.area_code),
            b.status.zh,
        )
        for i, b in enumerate(ordered, 1)
    ]


def _task_rows(doc: DocumentInput) -> list[tuple[str, ...]]:
    topics: dict[str, list[tuple[str, str]]] = {}  # first-seen topic order
    for item in doc.checklist.items:
        topics.setdefault(item.topic_zh, []).append((item.code, item.zh))
    grouped = [(t, c, z) for t, items in topics.items() for c, z in items]
    return [(str(i), t, c, z, doc.frequency_label) for i, (t, c, z) in enumerate(grouped, 1)]


def _oversight_rows(doc: DocumentInput) -> list[tuple[str, ...]]:
    items = (
        ("承诺书签订", f"已与{doc.counterparty}签订{doc.year}年度《{TITLE}》"),
        ("清单上传", "责任清单、任务清单和承诺书已上传系统，与实际包保关系一致"),
        (
            "督导频次",
            f"对包保的{len(doc.businesses)}家主体按{doc.frequency_label}开展督导，"
            f"督促落实{FOUR_AREAS}",
        ),
        ("问题整改", "督导发现的问题已督促整改，需移交的已移交监管部门，跟踪至销号"),
        ("记录留存", "督导记录、照片或视频等资料完整留存，可追溯"),
        ("状态更新", "包保主体经营状态、包保关系变化已及时报告更新"),
    )
    return [(str(i), what, detail, "") for i, (what, detail) in enumerate(items, 1)]


def _lists(doc: DocumentInput) -> list[tuple[str, Sequence[str], list[tuple[str, ...]]]]:
    return [
        ("责任清单", RESPONSIBILITY_HEADERS, _responsibility_rows(doc)),
        ("任务清单", TASK_HEADERS, _task_rows(doc)),
        ("督查清单", OVERSIGHT_HEADERS, _oversight_rows(doc)),
    ]


def _letter_paragraphs(doc: DocumentInput) -> list[str]:
    cadre = doc.cadre
    post = f"，职务{cadre.post}" if cadre.post else ""
    return [
        f"本人{cadre.name}{post}，为{doc.tier}包保干部（辖区：{doc.jurisdiction_name}），"
        f"{doc.year}年度共包保食品生产经营主体{len(doc.businesses)}家（见附件1责任清单）。"
        "为落实地方党政领导干部食品安全责任和企业主体责任，本人郑重承诺：",
        f"一、按{doc.frequency_label}的频次对包保主体开展督导，如实记录督导情况并按时上传。",
        f"二、督促包保主体在{FOUR_AREAS}四个方面落实食品安全主体责任（见附件2任务清单）。",
        "三、对督导发现的问题及时督促整改，需由监管部门处理的及时移交，跟踪落实直至整改销号。",
        "四、自觉接受上级党委、政府和食品安全委员会办公室的督查考核（见附件3督查清单），"
        "履职不到位的，愿承担相应责任。",
        f"本承诺书一式两份，承诺人与{doc.counterparty}各执一份。",
    ]


# --- .docx --------------------------------------------------------------------------------


def write_docx(doc: DocumentInput, path: Path) -> Path:
    """The letter, signature block and (as landscape annexes) the three lists."""
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin = section.bottom_margin = Mm(25)
    para(document, TITLE, center=True, bold=True, size=22)
    para(document, f"（{doc.year}年度）", center=True)
    for text in [*_letter_paragraphs(doc), ""]:
        para(document, text)
    para(document, f"承诺人：{doc.cadre.name}　　签字：＿＿＿＿＿＿")
    para(document, f"对方：{doc.counterparty}　　签字：＿＿＿＿＿＿")
    para(document, f"签订日期：{doc.year}年　　月　　日")
    annexes = document.add_section()  # new page, landscape
    annexes.orientation = WD_ORIENT.LANDSCAPE
    annexes.page_width, annexes.page_height = Mm(297), Mm(210)
    for number, (name, headers, rows) in enumerate(_lists(doc), 1):
        para(document, f"附件{number}：{name}", center=True, bold=True, size=16)
        para(document, f"包保干部：{doc.cadre.name}　年度：{doc.year}", center=True, size=12)
        table(document, headers, rows)
        para(document, "")
    props = document.core_properties
    props.author = props.last_modified_by = "twores"
    props.title = f"{doc.year}年度{TITLE}"
    props.created = props.modified = _stamp(doc.year)
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(stable_zip(buffer.getvalue(), doc.year))
    return path


# --- .xlsx --------------------------------------------------------------------------------


def write_xlsx(doc: DocumentInput, path: Path) -> Path:
    """Three sheets (责任清单, 任务清单, 督查清单): a title row, a bold header, the rows."""
    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])  # the default sheet
    who = f"包保干部：{doc.cadre.name}，{doc.tier}，{doc.jurisdiction_name}"
    for name, headers, rows in _lists(doc):
        sheet = workbook.create_sheet(name)
        sheet.append([f"{doc.year}年度{name}（{who}）"])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
        sheet["A1"].font = Font(bold=True, size=14)
        sheet.append(list(headers))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center")
        for row in rows:
            sheet.append(xlsx_row(sheet, row))
        for column, width in enumerate(_WIDTHS[name], 1):
            sheet.column_dimensions[get_column_letter(column)].width = width
        sheet.freeze_panes = "A3"
        sheet.print_title_rows = "2:2"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.orientation = "landscape"
    props = workbook.properties
    props.creator = props.lastModifiedBy = "twores"
    props.title = f"{doc.year}年度{TITLE}及三清单"
    props.created = props.modified = _stamp(doc.year)
    buffer = io.BytesIO()
    # ExcelWriter directly: openpyxl's save() would stamp the current time as modified.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    path.write_bytes(stable_zip(buffer.getvalue(), doc.year))
    return path


def document_paths(
    cadre_id: str, year: int, folder: Path, signed_on: date | None = None
) -> tuple[Path, Path]:
    """A letter's files: ``<stem>-承诺书及三清单.docx`` and ``.xlsx``; a superseded letter's
    (``signed_on``) ``<stem>-<signing day>签订-承诺书及三清单.docx`` and ``.xlsx``."""
    signed = "" if signed_on is None else f"-{signed_on.isoformat()}签订"
    stem = f"{document_stem(cadre_id, year)}{signed}-承诺书及三清单"
    return folder / f"{stem}.docx", folder / f"{stem}.xlsx"


def keep_signed_documents(cadre_id: str, year: int, signed_on: date, folder: Path) -> list[Path]:
    """Move the files of a letter signed on ``signed_on``, now replaced, aside in
    ``folder`` (:func:`document_paths` of ``signed_on``), so generating its successor keeps them;
    files already moved are left alone. Returns the files moved to."""
    moved = []
    current = document_paths(cadre_id, year, folder)
    for old, new in zip(current, document_paths(cadre_id, year, folder, signed_on), strict=True):
        if old.exists() and not new.exists():
            old.replace(new)
            moved.append(new)
    return moved


def write_documents(doc: DocumentInput, folder: Path) -> tuple[Path, Path]:
    """Both files in ``folder``, named ``<stem>-承诺书及三清单.docx`` and ``.xlsx``."""
    folder.mkdir(parents=True, exist_ok=True)
    docx_path, xlsx_path = document_paths(doc.cadre.id, doc.year, folder)
    return write_docx(doc, docx_path), write_xlsx(doc, xlsx_path)
