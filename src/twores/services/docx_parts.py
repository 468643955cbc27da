"""The pieces every printed .docx of twores is made of (letters, reminders, bulletins):
paragraphs and runs in the official fonts, gridded tables, reproducible archives."""

from __future__ import annotations

import copy
import functools
import io
import re
import zipfile
from collections.abc import Sequence
from typing import Any

import docx
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run

FONT = "宋体"
HEADING_FONT = "黑体"
#: The point size of table text.
TABLE_SIZE = 10.5
#: The id of python-docx's built-in "Table Grid" style.
GRID = "TableGrid"
#: What XML 1.0 cannot hold: control characters but tab and line breaks (Word's soft line
#: break, \x0b, comes in pasted text), lone surrogates and U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` with each character XML cannot hold replaced by a space."""
    return _NOT_XML.sub(" ", text)


def run(
    paragraph: Paragraph, text: str, *, bold: bool = False, size: float = 12, font: str = FONT
) -> Run:
    added = paragraph.add_run(xml_text(text))
    added._r.insert(0, copy.deepcopy(_run_properties(bold, size, font)))
    return added


def _cell_text(paragraph: Paragraph, text: str, *, bold: bool) -> None:
    """A table cell's run, built as XML (python-docx's setters cost most of a letter);
    text with tabs or line breaks goes through python-docx, which writes those as
    elements of their own."""
    text = xml_text(text)
    if "\t" in text or "\n" in text or "\r" in text:
        run(paragraph, text, bold=bold, size=TABLE_SIZE)
        return
    element = OxmlElement("w:r")
    element.append(copy.deepcopy(_run_properties(bold, TABLE_SIZE, FONT)))
    if text:
        t = OxmlElement("w:t")
        t.text = text
        if text != text.strip():
            t.set(qn("xml:space"), "preserve")
        element.append(t)
    paragraph._p.append(element)


@functools.cache
def _run_properties(bold: bool, size: float, font: str) -> Any:
    """A run's formatting (``w:rPr``) as python-docx writes it, made once and copied into
    each run: setting it property by property cost 0.1 s a letter (its child-order checks)."""
    sample = docx.Document().add_paragraph().add_run()
    sample.bold = bold
    sample.font.size = Pt(size)
    sample.font.name = font
    sample._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    return sample._r.rPr


def para(
    document: Document, text: str, *, center: bool = False, bold: bool = False, size: int = 14
) -> None:
    """A body paragraph (indented) or a centred one; bold ones are headings in 黑体."""
    paragraph = document.add_paragraph()
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    else:
        paragraph.paragraph_format.first_line_indent = Pt(24)
    run(paragraph, text, bold=bold, size=size, font=HEADING_FONT if bold else FONT)


def table(document: Document, headers: Sequence[str], rows: list[tuple[str, ...]]) -> None:
    """A gridded table, its header row bold and repeated on each printed page."""
    added = document.add_table(rows=1 + len(rows), cols=len(headers))
    # The style by id: python-docx's style setter looks the default style up each time.
    added._tbl.tblStyle_val = GRID
    # row.cells once per row: table.cell(r, c) rescans the whole table on every call.
    for r, (row, values) in enumerate(zip(added.rows, [tuple(headers), *rows], strict=True)):
        for cell, value in zip(row.cells, values, strict=True):
            _cell_text(cell.paragraphs[0], value, bold=r == 0)
    header = OxmlElement("w:tblHeader")  # repeat the header row on each printed page
    header.set(qn("w:val"), "true")
    added.rows[0]._tr.get_or_add_trPr().append(header)


def stable_zip(data: bytes, year: int) -> bytes:
    """The same archive with every member dated ``year``-01-01 (reproducible bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(max(year, 1980), 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info))
    return out.getvalue()
