"""Reading a sheet into a header and numbered rows, the way offices really lay them out.

Titles and "填报单位" lines above the header, blank rows in the middle and signature lines
("填表人：…") below are skipped; the header is the first row that names known columns.
"""

from __future__ import annotations

import codecs
import csv
import functools
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs

from twores.core.errors import InvalidValueError
from twores.core.labels import clean_text
from twores.divisions import open_binary, open_text

SERIAL_HEADERS = ("序号", "编号序号", "no", "no.", "#")
HEADER_SEARCH_ROWS = 10


@attrs.frozen
class Row:
    """One data row: its line number, its 序号 (if any) and its cells in header order."""

    number: int
    serial: str | None
    cells: list[object]


@attrs.frozen(slots=False)
class Table:
    """The header and the data rows; ``rows`` streams (it can be walked once)."""

    header: list[str]
    header_row: int
    rows: Iterable[Row]

    @functools.cached_property
    def index(self) -> dict[str, int]:
        """Header text -> cell position."""
        return {name: i for i, name in enumerate(self.header) if name}

    def cell(self, row: Row, header: str) -> object:
        position = self.index.get(header)
        if position is None or position >= len(row.cells):
            return None
        return row.cells[position]


def normalise_header(text: object) -> str:
    value = clean_text(str(text or "")).replace(" ", "").casefold()
    for suffix in ("（必填）", "(必填)", "*"):
        value = value.removesuffix(suffix)
    return value.lstrip("*")


def _raw_rows(path: Path) -> Iterator[list[object]]:
    name = path.name.lower()
    if name.endswith((".xlsx", ".xlsm", ".xls")):
        from python_calamine import CalamineWorkbook

        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = (list(row) for row in sheet.iter_rows())
        merged = sheet.merged_cell_ranges or []
        yield from _filled(rows, merged, sheet.start or (0, 0)) if merged else rows
        return
    yield from _csv_rows(path)


Cell = tuple[int, int]


def _filled(
    rows: Iterator[list[object]], merged: list[tuple[Cell, Cell]], start: Cell
) -> Iterator[list[object]]:
    """``rows`` with the value of each range merged down several rows in every cell it
    covers (a 所属区划 merged over the rows of one village holds for each of them); a range
    within one row (a title across the columns) is left as it is."""
    by_top: dict[int, list[tuple[Cell, Cell]]] = defaultdict(list)
    for first, last in merged:
        if last[0] > first[0]:
            by_top[first[0]].append((first, last))
    top, left = start
    open_ranges: list[tuple[int, int, int, object]] = []  # (last row, first col, last col, value)
    for number, cells in enumerate(rows, start=top):
        for (_, first_col), (last_row, last_col) in by_top.get(number, ()):
            at = first_col - left
            value = cells[at] if 0 <= at < len(cells) else None
            open_ranges.append((last_row, first_col, last_col, value))
        open_ranges = [r for r in open_ranges if r[0] >= number]
        for _, first_col, last_col, value in open_ranges:
            if len(cells) <= last_col - left:
                cells.extend([""] * (last_col - left + 1 - len(cells)))
            for at in range(max(first_col - left, 0), last_col - left + 1):
                if _blank(cells[at]):
                    cells[at] = value
        yield cells


def _csv_rows(path: Path) -> Iterator[list[str]]:
    """A CSV file's rows, in the encoding :func:`text_encoding` finds."""
    encoding = text_encoding(path)
    done = 0
    with open_text(path, encoding) as stream:
        try:
            for row in csv.reader(stream):
                done += 1
                yield row
        except UnicodeDecodeError as error:
            raise InvalidValueError(
                "encoding",
                path.name,
                f"第 {done + 1} 行附近的字节不是 {encoding} 编码（文件混用了编码）",
                f"bytes near row {done + 1} are not {encoding} (the file mixes encodings)",
            ) from error


#: Bytes read at a time while looking for the first non-ASCII text, and how much of it is
#: tried as UTF-8.
_CHUNK, _SAMPLE = 1 << 20, 1 << 16
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def text_encoding(path: Path) -> str:
    """``utf-8-sig`` or ``gb18030`` (Chinese ledgers are saved in either), decided before
    any row is read, on the text from the file's first non-ASCII byte on (ASCII reads
    alike in both)."""
    with open_binary(path) as stream:
        while chunk := stream.read(_CHUNK):
            found = _NON_ASCII.search(chunk)
            if found is not None:
                first = found.start()
                sample = chunk[first : first + _SAMPLE]
                if len(sample) < _SAMPLE:
                    sample += stream.read(_SAMPLE - len(sample))
                decoder = codecs.getincrementaldecoder("utf-8")()
                try:
                    decoder.decode(sample)  # a character cut at the sample's end is fine
                except UnicodeDecodeError:
                    return "gb18030"
                return "utf-8-sig"
    return "utf-8-sig"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _all_blank(cells: list[object], positions: list[int]) -> bool:
    size = len(cells)
    for position in positions:  # noqa: SIM110 (a loop: 5x the generator, run per row)
        if position < size and not _blank(cells[position]):
            return False
    return True


_FOOTER_CELLS = 6


def _is_footer(cells: list[object]) -> bool:
    if len(cells) - cells.count("") - cells.count(None) > _FOOTER_CELLS:
        return False  # a data row (counted in C: most rows end here)
    filled = [c for c in cells if c is not None and c != ""]
    if not filled or len(filled) > _FOOTER_CELLS:
        return False
    texts = [str(c) for c in filled if not _blank(c)]
    return bool(texts) and all(("：" in t or ":" in t) and len(t) <= 40 for t in texts)


def read_table(path: str | Path, known: Iterable[str]) -> Table:
    """The table in ``path``; ``known`` are the normalised headers that identify the header row.

    Rows are read lazily, so a million-row file is never held in memory at once.
    """
    source = Path(path)
    known_set = set(known)
    stream = _raw_rows(source)
    head = list(itertools.islice(stream, HEADER_SEARCH_ROWS))
    header_index = 0
    for index, cells in enumerate(head):
        if sum(1 for c in cells if normalise_header(c) in known_set) >= 2:
            header_index = index
            break
    header = (
        [clean_text(str(c)) if not _blank(c) else "" for c in head[header_index]] if head else []
    )
    normalised = [normalise_header(h) for h in header]
    serial_at = next((i for i, h in enumerate(normalised) if h in SERIAL_HEADERS), None)
    recognised = [i for i, h in enumerate(normalised) if h in known_set]
    remaining = itertools.chain(head[header_index + 1 :], stream)
    rows = _data_rows(remaining, header_index + 2, recognised, serial_at)
    return Table(header, header_index + 1, rows)


def _data_rows(
    raw: Iterable[list[object]], first_number: int, recognised: list[int], serial_at: int | None
) -> Iterator[Row]:
    for number, cells in enumerate(raw, start=first_number):
        if _all_blank(cells, recognised):
            continue  # a blank row
        if _is_footer(cells):
            continue  # a signature line such as 填表人：… 审核人：…
        serial = None
        if serial_at is not None and serial_at < len(cells) and not _blank(cells[serial_at]):
            value = cells[serial_at]
            integral = isinstance(value, float) and value.is_integer()
            serial = str(int(value)) if integral else clean_text(str(value))  # type: ignore[arg-type]
        yield Row(number, serial, cells)
