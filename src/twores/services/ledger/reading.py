"""Reading a ledger file into its header and numbered data rows.

Offices put a title and a "填报单位/填报日期" line above the header, leave blank rows in the
middle and sign at the bottom ("填表人：… 审核人：…"). The header is the first of the first
ten rows that names at least two known columns; blank and signature rows are skipped.
"""

from __future__ import annotations

import csv
import gzip
import io
import lzma
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import attrs

from twores.core.errors import TworesError
from twores.core.labels import clean_text
from twores.services.ledger.columns import SERIAL_HEADERS, known_headers, normalise_header

HEADER_SEARCH_ROWS = 10
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
CSV_SUFFIXES = (".csv", ".csv.xz", ".csv.gz")
#: Signature and note lines below a ledger, as their first cell begins.
FOOTER_WORDS = ("填表人", "填报人", "制表人", "审核人", "负责人", "联系人", "分管领导", "备注", "注")


@attrs.frozen
class Row:
    """One data row: its 1-based line in the sheet, its 序号 and its cells by header."""

    number: int
    serial: str | None
    values: dict[str, object]


@attrs.frozen
class Table:
    """The header (texts as the file writes them) and the data rows below it."""

    header: list[str]
    rows: list[Row]
    #: 1-based line of the header row.
    header_row: int = 1


def read_table(path: str | Path, kind: str | None = None) -> Table:
    """The ledger in ``path`` (.csv, .csv.xz, .csv.gz, .xlsx); ``kind`` picks the known headers."""
    source = Path(path)
    known = known_headers(kind)
    lines = _read_lines(source, known)
    header_index = _find_header(lines, known)
    if header_index is None:
        return Table([], [], 1)
    header = _header_texts(lines[header_index])
    normalised = [normalise_header(h) for h in header]
    serial_at = next((i for i, h in enumerate(normalised) if h in SERIAL_HEADERS), None)
    recognised = [i for i, h in enumerate(normalised) if h in known]
    rows = [
        row
        for index in range(header_index + 1, len(lines))
        if (row := _row(index + 1, lines[index], header, recognised, serial_at)) is not None
    ]
    return Table([h for h in header if h], rows, header_index + 1)


def _read_lines(source: Path, known: frozenset[str]) -> list[list[object]]:
    name = source.name.lower()
    if name.endswith(EXCEL_SUFFIXES):
        return _excel_lines(source, known)
    if name.endswith(CSV_SUFFIXES):
        return _csv_lines(source)
    raise TworesError(
        f"不支持的文件类型：{source.name}（应为 .xlsx、.csv、.csv.xz 或 .csv.gz）",
        f"unsupported file type: {source.name} (expected .xlsx, .csv, .csv.xz or .csv.gz)",
    )


def _csv_lines(source: Path) -> list[list[object]]:
    name = source.name.lower()
    if name.endswith(".xz"):
        data = lzma.decompress(source.read_bytes())
    elif name.endswith(".gz"):
        data = gzip.decompress(source.read_bytes())
    else:
        data = source.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise TworesError(
                f"{source.name} 既不是 UTF-8 也不是 GB18030 编码",
                f"{source.name} is neither UTF-8 nor GB18030 text",
            ) from None
    return [list(cells) for cells in csv.reader(io.StringIO(text, newline=""))]


def _excel_lines(source: Path, known: frozenset[str]) -> list[list[object]]:
    """The first sheet that has a header row (else the first sheet), every row from row 1."""
    sheets = _calamine_sheets(source)
    if sheets is None:
        sheets = _openpyxl_sheets(source)
    first: list[list[object]] | None = None
    for lines in sheets:
        if first is None:
            first = lines
        if _find_header(lines, known) is not None:
            return lines
    return first or []


def _calamine_sheets(source: Path) -> Iterator[list[list[object]]] | None:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - python-calamine is optional
        return None
    try:
        workbook = CalamineWorkbook.from_path(str(source))
    except Exception as error:  # calamine raises its own error types for broken files
        raise _unreadable(source, error) from error

    def sheets() -> Iterator[list[list[object]]]:
        try:
            for name in workbook.sheet_names:
                sheet = workbook.get_sheet_by_name(name)
                yield [list(r) for r in sheet.to_python(skip_empty_area=False)]
        finally:
            workbook.close()

    return sheets()


def _openpyxl_sheets(source: Path) -> Iterator[list[list[object]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except Exception as error:  # zipfile, XML and openpyxl errors for broken files
        raise _unreadable(source, error) from error
    try:
        for sheet in workbook.worksheets:
            yield [list(r) for r in sheet.iter_rows(min_row=1, values_only=True)]
    finally:
        workbook.close()


def _unreadable(source: Path, error: Exception) -> TworesError:
    return TworesError(
        f"无法读取工作簿 {source.name}：{error}", f"cannot read workbook {source.name}: {error}"
    )


def _find_header(lines: Sequence[Sequence[object]], known: frozenset[str]) -> int | None:
    for index, cells in enumerate(lines[:HEADER_SEARCH_ROWS]):
        if sum(1 for c in cells if not _blank(c) and normalise_header(c) in known) >= 2:
            return index
    return None


def _header_texts(cells: Iterable[object]) -> list[str]:
    """Header cell texts; a repeated header gets a suffix so no column is lost."""
    seen: dict[str, int] = {}
    texts = []
    for cell in cells:
        text = "" if _blank(cell) else clean_text(str(cell))
        if text:
            seen[text] = seen.get(text, 0) + 1
            if seen[text] > 1:
                text = f"{text}({seen[text]})"
        texts.append(text)
    return texts


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def _row(
    number: int,
    cells: Sequence[object],
    header: Sequence[str],
    recognised: Sequence[int],
    serial_at: int | None,
) -> Row | None:
    size = len(cells)
    if all(i >= size or _blank(cells[i]) for i in recognised) or _is_footer(cells):
        return None
    values = {
        text: None if i >= size or _blank(cells[i]) else cells[i]
        for i, text in enumerate(header)
        if text
    }
    serial = None
    if serial_at is not None and serial_at < size and not _blank(cells[serial_at]):
        serial = _serial(cells[serial_at])
    return Row(number, serial, values)


def _serial(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(str(value))


def _is_footer(cells: Sequence[object]) -> bool:
    """A signature or note line: a few texts that all read "label：…"."""
    filled = [c for c in cells if not _blank(c)]
    if not filled or len(filled) > 4:
        return False
    texts = [clean_text(c) for c in filled if isinstance(c, str)]
    if len(texts) != len(filled):
        return False
    if texts[0].startswith(FOOTER_WORDS) and (":" in texts[0]):
        return True
    return all(":" in t and len(t) <= 60 for t in texts)
