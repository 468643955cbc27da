"""Reading a sheet into a header and numbered rows, the way offices really lay them out.

Titles, "填报单位" and "填报人 | 职务 | 联系电话" lines above the header, blank rows in the
middle, totals rows (合计/小计/总计/汇总, with a count or not, and no key such as a
licence number: a business named 合计 is data; listed in ``Table.totals``) and signature
lines ("填表人：…") below are skipped; the header is the row of the first ten that names
the most known columns, or two rows when a group label is merged over the columns below it
(包保干部 over 姓名 | 职务 | 联系电话). In a workbook the ledger is the active sheet if it
is visible, else the first visible one (a hidden 下拉选项 list sheet is never read); a
workbook whose ledger goes on over other visible sheets is refused, naming them, rather
than read in part. A cell holding an Excel error (#N/A, #REF!…), in .xlsx or .xls, is read as an
:class:`ExcelError`, which every reader refuses (a row error), never as an empty cell.
Text files are separated by commas, tabs or semicolons; an ".xls" that is text is read as
text, one that is a web page or XML is refused saying so.
"""

from __future__ import annotations

import codecs
import csv
import functools
import gzip
import html
import io
import itertools
import lzma
import re
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from xml.etree import ElementTree

import attrs
import xlrd
from xlrd.biffh import XLRDError

from twores.core.errors import InvalidValueError, NotFoundError, StructureError
from twores.services.sheets.cells import ExcelError
from twores.services.sheets.extent import check_extent, check_xls_extent
from twores.services.sheets.values import clean

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
    """The header and the data rows; ``rows`` streams (it can be walked once).

    ``sheet`` is the workbook sheet read (None for a CSV file); ``formulas`` are the
    formula cells the file holds no computed value for (row number -> cell position ->
    formula): they read as empty, so the parsers report them instead. ``totals`` are the
    numbers of the totals rows skipped (合计 20户), filled in as ``rows`` is walked.
    """

    header: list[str]
    header_row: int
    rows: Iterable[Row]
    sheet: str | None = None
    formulas: dict[int, dict[int, str]] = attrs.field(factory=dict)
    totals: list[int] = attrs.field(factory=list)

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
    value = clean(str(text or "")).replace(" ", "").casefold()
    for suffix in ("（必填）", "(必填)", "*"):
        value = value.removesuffix(suffix)
    return value.lstrip("*")


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
    left = start[1]  # rows are numbered from the sheet's first row, cells from its first column
    open_ranges: list[tuple[int, int, int, object]] = []  # (last row, first col, last col, value)
    for number, cells in enumerate(rows):
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


#: What a damaged or truncated .gz or .xz file raises while it is read.
_DAMAGED = (OSError, EOFError, lzma.LZMAError, zlib.error)
_COMPRESSED = (".gz", ".xz")
#: The longest line a text ledger may hold, in bytes (its line break included): a ledger
#: row is a few hundred. A longer one (a damaged file, or a bomb of one endless line) is
#: refused, naming it, as soon as that much of it is read: no line is ever built longer.
LINE_LIMIT = 1 << 22
#: Bytes read from a file (or inflated) at a time.
_READ = 1 << 16


class _Checked(io.RawIOBase):
    """A text file's bytes (a .gz or .xz one's as they inflate), refused once a line runs
    past ``LINE_LIMIT`` or once they pass what a ledger inflates to: the limits of a
    workbook's parts (``_INFLATED_LIMIT`` in all, and ``_RATIO_LIMIT`` times the
    compressed bytes read, beyond the first MiB)."""

    def __init__(
        self, path: Path, raw: BinaryIO, inflating: BinaryIO | None, lines: bool, text: bool
    ) -> None:
        self._path, self._raw, self._inflating, self._lines = path, raw, inflating, lines
        self._text = text  # read as rows: a NUL byte is refused, naming its line
        self._out = 0  # bytes read
        self._run = 0  # bytes since the last line break

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = (self._inflating or self._raw).read(min(len(buffer), _READ))
        size = len(data)
        buffer[:size] = data
        self._out += size
        if self._inflating is not None and self._out > min(
            _INFLATED_LIMIT, (1 << 20) + _RATIO_LIMIT * self._raw.tell()
        ):
            raise InvalidValueError(
                "file",
                self._path.name,
                "压缩文件解压后的大小不合常理（疑似“压缩炸弹”），未读取",
                "the compressed file would inflate to an implausible size (a decompression "
                "bomb?); not read",
            )
        if self._lines:
            self._check_lines(data)
        if self._text and (at := data.find(b"\x00")) >= 0:
            raise _nul_byte(self._path, _line_at(self._path, self._out - size + at))
        return size

    def _check_lines(self, data: bytes) -> None:
        """``data`` just read: the line running on from the chunks before it may not end
        (or go on) past ``LINE_LIMIT``; a line within it is shorter than the chunk."""
        begins = self._out - len(data) - self._run  # where that line begins
        first = data.find(b"\n")
        if first < 0:
            first = data.find(b"\r")
        if first < 0:  # the line goes on
            self._run += len(data)
            if self._run > LINE_LIMIT:
                raise self._too_long(begins)
            return
        if self._run + first + 1 > LINE_LIMIT:
            raise self._too_long(begins)
        last = data.rfind(b"\n")
        self._run = len(data) - 1 - max(last, data.rfind(b"\r", last + 1))

    def _too_long(self, begins: int) -> InvalidValueError:
        number = _line_at(self._path, begins)
        return InvalidValueError(
            "file",
            self._path.name,
            f"第 {number} 行超过 {LINE_LIMIT:,} 字节，不是台账的一行（文件已损坏，或并非 CSV "
            "文本），未读取",
            f"line {number} is longer than {LINE_LIMIT:,} bytes: no ledger row is (the file "
            "is damaged, or not CSV text); not read",
        )

    def close(self) -> None:
        try:
            if self._inflating is not None:
                self._inflating.close()
            self._raw.close()
        finally:
            super().close()


def _open_bytes(path: Path, lines: bool = True, text: bool = False) -> BinaryIO:
    """A file's bytes, a .gz or .xz one inflated within bounds, no line over
    ``LINE_LIMIT`` (unless ``lines`` is false), and no NUL byte when ``text`` (read as
    rows)."""
    raw: Any = path.open("rb", buffering=0)
    inflating: Any = None  # closed with the stream returned
    if path.suffix == ".gz":
        inflating = gzip.GzipFile(fileobj=raw)
    elif path.suffix == ".xz":
        inflating = lzma.LZMAFile(raw)  # noqa: SIM115
    return io.BufferedReader(_Checked(path, raw, inflating, lines, text), _READ)


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    stream = io.TextIOWrapper(_open_bytes(path, text=True), encoding=encoding, newline="")
    stream._CHUNK_SIZE = _READ  # type: ignore[attr-defined]  # 64 KiB decoded at a time, not 8
    return stream


def _line_at(path: Path, offset: int) -> int:
    """The number of the line at byte ``offset`` (line breaks: \\n, or \\r alone)."""
    breaks, done = {b"\n": 0, b"\r": 0}, 0
    with _open_bytes(path, lines=False) as stream:
        while done < offset and (data := stream.read(min(_READ, offset - done))):
            done += len(data)
            for byte in breaks:
                breaks[byte] += data.count(byte)
    return 1 + (breaks[b"\n"] or breaks[b"\r"])


def _csv_rows(path: Path, encoding: str, delimiter: str = ",") -> Generator[list[str]]:
    """A text file's rows, its cells separated by ``delimiter``, in ``encoding``.

    Quotes are read strictly: a cell that opens a quote it never closes (a note typed as
    "见附件) is refused, naming its line, rather than swallow the rows below it; a one-line
    row with text after a closing quote ("a"b, from a careless export) reads as it always did.
    """
    done = 0
    lines: list[str] = []  # the lines of the row being read
    with _open_text(path, encoding) as stream:
        reader = csv.reader(_kept(stream, lines), delimiter=delimiter, strict=True)
        try:
            while True:
                try:
                    for row in reader:
                        done += 1
                        yield row
                        lines.clear()
                    return
                except csv.Error as error:
                    if len(lines) != 1 or "expected after" not in str(error):
                        raise _bad_text(path, reader.line_num, lines, delimiter, error) from error
                    done += 1  # a stray quote within one line: read leniently, as before
                    yield next(csv.reader(lines, delimiter=delimiter))
                    lines.clear()
        except UnicodeDecodeError as error:
            raise _mixed_encodings(path, encoding) from error
        except _DAMAGED as error:
            if path.suffix not in _COMPRESSED:
                raise
            raise _damaged(path, done, error) from error


#: How the encodings a text ledger is read in (:func:`text_encoding`) are named to users.
_ENCODING_NAMES = {"utf-8-sig": "UTF-8", "gb18030": "GB18030（GBK）"}
_ENCODING_NAMES_EN = {"utf-8-sig": "UTF-8", "gb18030": "GB18030 (GBK)"}


def _mixed_encodings(path: Path, encoding: str) -> InvalidValueError:
    """A text file read in ``encoding`` (chosen on its first non-ASCII text) with bytes
    further on that are not: named by the line they are on."""
    at = _undecodable_at(path, encoding)
    where_zh = f"第 {_line_at(path, at)} 行" if at is not None else "文件中有一行"
    where_en = f"line {_line_at(path, at)}" if at is not None else "a line of the file"
    zh, en = _ENCODING_NAMES.get(encoding, encoding), _ENCODING_NAMES_EN.get(encoding, encoding)
    return InvalidValueError(
        "file",
        path.name,
        f"文件编码不一致：{where_zh}不是 {zh} 编码的文字，而文件前面的内容按 {zh} 读取。"
        "台账可以是 UTF-8 或 GB18030（GBK）编码，但全文件须用同一种（此文件混用了编码，"
        "多为拼接了不同编码保存的文件）。请核对该行，把整个文件另存为 UTF-8 编码后再导入",
        f"mixed file encodings: {where_en} is not {en} text, while the text before it "
        f"reads as {en}. A ledger may be in UTF-8 or GB18030 (GBK), but all of one file in "
        "one of them (this file mixes them, most often files saved in different encodings "
        "joined together); check that line, save the whole file as UTF-8, then import again",
    )


def _undecodable_at(path: Path, encoding: str) -> int | None:
    """The offset of the first byte of ``path`` that does not decode in ``encoding``."""
    decoder = codecs.getincrementaldecoder("utf-8" if encoding == "utf-8-sig" else encoding)()
    done = 0
    with _open_bytes(path, lines=False) as stream:
        while True:
            data = stream.read(_READ)
            pending = len(decoder.getstate()[0])  # the bytes of a character cut short
            try:
                decoder.decode(data, final=not data)
            except UnicodeDecodeError as error:  # its offsets count from the pending bytes
                return done - pending + error.start
            if not data:
                return None
            done += len(data)


def _nul_byte(path: Path, line: int) -> InvalidValueError:
    return InvalidValueError(
        "file",
        path.name,
        f"第 {line} 行含有空字符（NUL，字节 0x00）：文本台账中不应有此字符，文件可能被某个"
        "工具按二进制方式保存，或已损坏。请删去该字符（或在 Excel 中打开后另存为 CSV）后再导入",
        f"line {line} holds a NUL byte (0x00), which no text ledger does: the file may have "
        "been saved as binary by some tool, or be damaged; remove it (or open the file in "
        "Excel and save it as CSV again), then import again",
    )


def _kept(stream: Iterable[str], lines: list[str]) -> Iterator[str]:
    """``stream``'s lines, each also added to ``lines``."""
    for line in stream:
        lines.append(line)
        yield line


def _bad_text(
    path: Path, read: int, lines: list[str], delimiter: str, error: csv.Error
) -> InvalidValueError:
    """What stops a text file being read: mostly a quote that is never closed."""
    first = read - len(lines) + 1  # the line the row began on
    if len(lines) > 1 or "end of data" in str(error):
        # The quoted cell is the last one of its first line (it runs past the line's end).
        cell = next(csv.reader(lines[:1], delimiter=delimiter), [""])[-1].strip()
        shown = cell[:20] + ("…" if len(cell) > 20 else "")
        if "end of data" in str(error):
            over_zh = f"{len(lines)} 行（直到文件末尾）"
            over_en = f"{len(lines)} lines (to the end of the file)"
        elif "field limit" in str(error):
            over_zh, over_en = f"{len(lines)} 行以上", f"more than {len(lines)} lines"
        else:
            over_zh, over_en = f"{len(lines)} 行", f"{len(lines)} lines"
        return InvalidValueError(
            "file",
            path.name,
            f'第 {first} 行的单元格“{shown}”以引号（"）开头，引号却未闭合：该单元格跨了 '
            f"{over_zh}，其后的行都被并入了它。请删去或补全这个引号后再导入",
            f'the cell “{shown}” on line {first} opens a quote (") that is never closed: '
            f"the cell runs over {over_en}, swallowing the rows below it; remove or close "
            "the quote, then import again",
        )
    return InvalidValueError(
        "file",
        path.name,
        f"第 {first} 行无法按 CSV 文本读取（{error}）",
        f"line {first} cannot be read as CSV text ({error})",
    )


def _damaged(path: Path, rows: int, error: Exception) -> InvalidValueError:
    where_zh = f"（读到第 {rows} 行）" if rows else ""
    where_en = f" after row {rows}" if rows else ""
    return InvalidValueError(
        "file",
        path.name,
        f"压缩文件已损坏或不完整{where_zh}",
        f"the compressed file is damaged or cut short{where_en} ({error})",
    )


#: Bytes read at a time while looking for the first non-ASCII text, and how much of it is
#: tried as UTF-8.
_CHUNK, _SAMPLE = 1 << 20, 1 << 16
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def text_encoding(path: Path) -> str:
    """``utf-8-sig`` or ``gb18030`` (Chinese ledgers are saved in either), decided before
    any row is read, on the text from the file's first non-ASCII byte on (ASCII reads
    alike in both)."""
    try:
        return _encoding_of(path)
    except _DAMAGED as error:
        if path.suffix not in _COMPRESSED:
            raise
        raise _damaged(path, 0, error) from error


def _encoding_of(path: Path) -> str:
    with _open_bytes(path) as stream:
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


#: A totals row's first cell: 合计, 小 计, 总计：, 共计, 汇总 (the label of Excel's table
#: total row), with a count or a note after it: 合计（户）, 合计：2户, 合计 2 户, 总计（共5家）.
#: Only the label itself, so a business named 汇总超市 is data.
_TOTAL = re.compile(
    r"\s*(?:[合小总共]\s*计|汇\s*总)\s*[:：]?\s*"
    r"(?:[(（][^)）]*[)）]|共?\s*[\d零〇一二两三四五六七八九十百千万]+\s*[户家个条项所处人名]?)?"
    r"\s*[。.]?\s*"
)


#: Fields whose cell names a record (its key, or what identifies a cadre): a row giving one
#: is data, never a totals row, whatever its first cell says (a business named 合计).
_KEY_FIELDS = ("licence_no", "uscc", "business_key", "id", "cadre_id", "id_number", "phone")


@functools.cache
def _key_headers() -> frozenset[str]:
    """The normalised headers of :data:`_KEY_FIELDS` in every kind of sheet."""
    from twores.services.sheets.columns import COLUMNS  # it imports this module

    return frozenset(
        normalise_header(alias)
        for fields in COLUMNS.values()
        for field in _KEY_FIELDS
        for alias in fields.get(field, ())
    )


def _is_total(cells: list[object]) -> bool:
    """A totals row (合计/小计/总计/汇总 in its first filled cell, under 序号 or 主体名称);
    callers also check that it gives no key (:data:`_KEY_FIELDS`)."""
    for cell in cells:
        if cell is None or cell == "":
            continue
        return (
            isinstance(cell, str)
            and ("计" in cell or "总" in cell)
            and _TOTAL.fullmatch(cell) is not None
        )
    return False


@attrs.frozen
class _Header:
    """The header found in a sheet's first rows: its last row's index, its texts and the
    known headers it names."""

    last: int
    texts: list[str]
    names: set[str]


def _header_at(head: list[list[object]], known: set[str]) -> _Header | None:
    """The header in ``head``: the row naming the most known columns, at least two (the
    first of equals) — not a 填报人 | 职务 | 联系电话 line above it; or, when a row and the
    one below (or above) read as a two-row header naming more known columns (包保干部
    merged over 姓名 | 职务 | 联系电话), the two rows together."""
    best: _Header | None = None
    for index, cells in enumerate(head):
        texts = [_text(c) for c in cells]
        names = {normalise_header(t) for t in texts} & known
        if len(names) < 2:
            continue
        found = _Header(index, texts, names)
        for top, bottom in ((index, index + 1), (index - 1, index)):
            if top < 0 or bottom >= len(head) or not _labels(head[top], head[bottom]):
                continue
            joined = _two_rows(head[top], head[bottom], known)
            joined_names = {normalise_header(t) for t in joined} & known
            if len(joined_names) > len(found.names):
                found = _Header(bottom, joined, joined_names)
        if best is None or len(found.names) > len(best.names):
            best = found
    return best


def _text(cell: object) -> str:
    return "" if _blank(cell) or isinstance(cell, ExcelError) else clean(str(cell))


_DIGIT = re.compile(r"\d")


def _labels(top: list[object], bottom: list[object]) -> bool:
    """Whether ``bottom`` can be the lower row of a two-row header under ``top``: each of
    its cells blank, the cell above repeated (a merged range), or digit-free text."""
    for i, cell in enumerate(bottom):
        if _blank(cell) or (i < len(top) and cell == top[i]):
            continue
        if not isinstance(cell, str) or _DIGIT.search(cell):
            return False
    return True


def _two_rows(top: list[object], bottom: list[object], known: set[str]) -> list[str]:
    """Each column's header across two rows: the lower label under its group (the upper
    cell, or the nearest filled one to its left, a range merged across) when that names a
    known column (包保干部 + 姓名), else whichever of the lower and the upper label does (a
    unit written below a known header), else the lower label."""
    texts: list[str] = []
    group = ""
    for i in range(max(len(top), len(bottom))):
        upper = _text(top[i]) if i < len(top) else ""
        lower = _text(bottom[i]) if i < len(bottom) else ""
        group = upper or group
        if not lower or lower == upper:
            texts.append(upper)
            continue
        joined = group + lower
        for candidate in (joined, lower, upper):
            if candidate and normalise_header(candidate) in known:
                texts.append(candidate)
                break
        else:
            texts.append(lower)
    return texts


def read_table(path: str | Path, known: Iterable[str]) -> Table:
    """The table in ``path``; ``known`` are the normalised headers that identify the header row.

    Rows are read lazily, so a million-row file is never held in memory at once.
    """
    source = Path(path)
    if not source.is_file():
        raise no_such_file(source)
    known_set = set(known)
    head = _head_bytes(source)
    if not head.removeprefix(codecs.BOM_UTF8).strip():
        raise _empty(source)
    named = source.name.lower().endswith(_WORKBOOKS)
    if named and not head.startswith(_WORKBOOK_MAGIC):
        _refuse_markup(source, head)  # a web page or XML saved under a workbook's name
    # A platform's ".xls" export may be tab-separated text (often GBK): it is read as text.
    text_xls = source.suffix.lower() == ".xls" and not _binary(head) and bool(head.strip())
    if head.startswith(_WORKBOOK_MAGIC) or (named and not text_xls):
        return _workbook_table(source, known_set)  # a workbook, whatever its name says
    if _binary(head) or head.startswith(_OTHER_MAGIC):
        raise _not_a_sheet(source)
    # Text (a .csv, or a platform's "xls" export that is tab-separated text)
    encoding = text_encoding(source)
    stream = _csv_rows(source, encoding, _delimiter(source, encoding, known_set))
    return _table(list(itertools.islice(stream, HEADER_SEARCH_ROWS)), stream, known_set)


#: What may separate a text file's cells; a file's own is the one under which its first
#: rows name the most known headers (the first of equals: a comma).
_DELIMITERS = (",", "\t", ";")


def _delimiter(source: Path, encoding: str, known: set[str]) -> str:
    """The delimiter of a text file: comma, tab or semicolon, whichever yields a header
    naming the most known columns (a comma when none does)."""
    best, most = ",", 0
    for delimiter in _DELIMITERS:
        rows = _csv_rows(source, encoding, delimiter)
        try:
            head: list[list[Any]] = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
            found = _header_at(head, known)
        except InvalidValueError:
            continue  # read it again to say so
        finally:
            rows.close()
        if found is not None and len(found.names) > most:
            best, most = delimiter, len(found.names)
    return best


#: How a web page (HTML) or an XML spreadsheet begins, after any BOM and white space.
_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body|meta|table)\b", re.I)
_XML = re.compile(rb"<\?xml\b", re.I)
_XML_SPREADSHEET = b"urn:schemas-microsoft-com:office:spreadsheet"


def _refuse_markup(source: Path, head: bytes) -> None:
    """Refuse a "workbook" that is a web page or XML: platforms export tables so."""
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if not text.startswith(b"<"):
        return
    suffix = source.suffix.lower()
    spreadsheet = _XML_SPREADSHEET in head  # Excel 2003 XML: its <Table> is no web page
    if not spreadsheet and _HTML.search(head):
        raise InvalidValueError(
            "file",
            source.name,
            f"此 {suffix} 实为网页（HTML）导出，请在 Excel 中另存为 .xlsx",
            f"this {suffix} is an HTML export; save it as .xlsx in Excel",
        )
    if spreadsheet or _XML.match(text):
        raise InvalidValueError(
            "file",
            source.name,
            f"此 {suffix} 实为 XML 表格导出，请在 Excel 中另存为 .xlsx",
            f"this {suffix} is an XML spreadsheet export; save it as .xlsx in Excel",
        )


def _table(
    head: list[list[Any]],
    stream: Iterator[list[Any]],
    known: set[str],
    sheet: str | None = None,
    formulas: dict[int, dict[int, str]] | None = None,
) -> Table:
    found = _header_at(head, known)
    if found is None:
        last, header = 0, [_text(c) for c in head[0]] if head else []
    else:
        last, header = found.last, found.texts
    normalised = [normalise_header(h) for h in header]
    serial_at = next((i for i, h in enumerate(normalised) if h in SERIAL_HEADERS), None)
    recognised = [i for i, h in enumerate(normalised) if h in known]
    keys = _key_positions(normalised, known)
    remaining = itertools.chain(head[last + 1 :], stream)
    totals: list[int] = []
    rows = _data_rows(remaining, last + 2, recognised, serial_at, keys, totals)
    return Table(header, last + 1, rows, sheet, formulas or {}, totals)


def _key_positions(normalised: list[str], known: set[str]) -> list[int]:
    """Positions of the known headers that name a record's key (:data:`_KEY_FIELDS`)."""
    keys = _key_headers()
    return [i for i, h in enumerate(normalised) if h in known and h in keys]


def _data_rows(
    raw: Iterable[list[object]],
    first_number: int,
    recognised: list[int],
    serial_at: int | None,
    keys: list[int],
    totals: list[int],
) -> Iterator[Row]:
    for number, cells in enumerate(raw, start=first_number):
        if _all_blank(cells, recognised):
            continue  # a blank row
        if _is_total(cells) and _all_blank(cells, keys):
            totals.append(number)
            continue  # a totals row: 合计 20户 (a business named 合计 has a licence)
        if _is_footer(cells):
            continue  # a signature line such as 填表人：… 审核人：…
        serial = None
        if serial_at is not None and serial_at < len(cells) and not _blank(cells[serial_at]):
            value = cells[serial_at]
            integral = isinstance(value, float) and value.is_integer()
            if isinstance(value, ExcelError):
                serial = str.__str__(value)
            else:
                serial = str(int(value)) if integral else clean(str(value))  # type: ignore[call-overload]
        yield Row(number, serial, cells)


# -- workbooks -------------------------------------------------------------------------

_WORKBOOKS = (".xlsx", ".xlsm", ".xls")
#: Share of the ledger's known headers another sheet must name to hold "the same table".
_SAME_TABLE = 0.8


class SheetsError(InvalidValueError):
    """A workbook whose ledger goes on over several visible sheets."""

    code = "several_sheets"


def _workbook_table(source: Path, known: set[str]) -> Table:
    """The ledger sheet's table: the active sheet if visible, else the first visible one
    (the first visible sheet whose header names known columns, when that one names none).
    Another visible sheet with a header naming the same columns and rows beneath it means
    the ledger is split: that is refused, naming the sheets, rather than read in part."""
    from python_calamine import (
        CalamineError,
        CalamineWorkbook,
        SheetTypeEnum,
        SheetVisibleEnum,
    )

    zipped = zipfile.is_zipfile(source)
    if zipped:
        _check_inflation(source)
    else:
        with source.open("rb") as stream:
            compound = stream.read(4) == _WORKBOOK_MAGIC[1]
        if compound:  # an .xls, whose sheets calamine builds as it opens it
            check_xls_extent(source.name, source.read_bytes())
    try:
        workbook = CalamineWorkbook.from_path(str(source))
    except CalamineError as error:  # not a workbook, damaged, or password-protected
        raise _unreadable(source, error) from error
    names = [
        m.name
        for m in workbook.sheets_metadata
        if m.visible == SheetVisibleEnum.Visible and m.typ == SheetTypeEnum.WorkSheet
    ] or workbook.sheet_names[:1]
    active = _active_sheet(source, workbook.sheet_names)
    if active in names:
        names.remove(active)
        names.insert(0, active)
    if zipped:  # each sheet read below, before calamine builds it (a far cell aborts it)
        with zipfile.ZipFile(source) as archive:
            for name in names:
                check_extent(source.name, archive, name)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The sheet scan inflates the sheet's XML again: it runs while calamine (which
        # lets go of the GIL) loads the sheets, so it costs no time on a machine with 2 cores.
        scan = pool.submit(_scan_sheet, source, names[0]) if zipped else None
        return _choose_table(workbook, source, names, known, scan)


@attrs.frozen
class _Scan:
    """What calamine does not tell of a sheet's cells (row number -> column index -> text):
    formulas saved without a computed value, and cells holding an Excel error (#N/A…),
    which it reads as empty."""

    formulas: dict[int, dict[int, str]] = attrs.field(factory=dict)
    errors: dict[int, dict[int, str]] = attrs.field(factory=dict)


def _choose_table(
    workbook: Any,
    source: Path,
    names: list[str],
    known: set[str],
    scan: Future[_Scan] | None,
) -> Table:
    chosen: tuple[str, Any, list[list[Any]], Iterator[list[Any]], int, set[str]] | None = None
    others: list[tuple[str, list[list[Any]], Iterator[list[Any]]]] = []
    for name in names:
        sheet = workbook.get_sheet_by_name(name)
        rows, left = _sheet_rows(sheet)
        head = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
        found = _header_at(head, known)
        if chosen is None and found is not None:
            chosen = (name, sheet, head, rows, left, found.names)
        else:
            others.append((name, head, rows))
    if chosen is None:  # no sheet names known columns: read the first (its errors say so)
        name = names[0]
        rows, left = _sheet_rows(workbook.get_sheet_by_name(name))
        return _table(list(itertools.islice(rows, HEADER_SEARCH_ROWS)), rows, known, name)
    name, sheet, head, rows, left, columns = chosen
    split = [
        other
        for other, other_head, other_rows in others
        if _same_table(other_head, other_rows, known, columns)
    ]
    if split:
        listed = "、".join(f"“{n}”" for n in split)
        raise StructureError(
            "工作簿 workbook",
            [
                SheetsError(
                    "工作表",
                    "、".join(split),
                    f"除工作表“{name}”外，工作表{listed}也有同样表头的数据。为免漏导，请把"
                    "台账合并到一个工作表，或把每个工作表另存为单独的文件后分别导入",
                    f"besides sheet “{name}”, sheet(s) {listed} hold rows under the same "
                    "header; so that no rows are left out, merge the ledger into one sheet, or "
                    "save each sheet as a file of its own and import them one by one",
                )
            ],
        )
    if scan is None:  # an .xls (BIFF) workbook: no formula without its value there
        found_cells = _Scan(errors=_xls_errors(source, workbook.sheet_names.index(name)))
    else:
        found_cells = scan.result() if name == names[0] else _scan_sheet(source, name)
    formulas = found_cells.formulas
    if formulas and left:  # positions count from the sheet's first used column
        formulas = {r: {c - left: f for c, f in cells.items()} for r, cells in formulas.items()}
    if found_cells.errors:  # read again, each error cell as what it holds
        rows, left = _sheet_rows(sheet, found_cells.errors)
        head = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
    return _table(head, rows, known, name, formulas)


def _sheet_rows(
    sheet: Any, errors: dict[int, dict[int, str]] | None = None
) -> tuple[Iterator[list[Any]], int]:
    """A sheet's rows from its first row (cells from its first used column), its error
    cells (row number -> column index -> #N/A…) as :class:`ExcelError`, merged cells
    filled; and that first column's index."""
    rows: Iterator[list[Any]] = (list(row) for row in sheet.iter_rows())
    start = sheet.start or (0, 0)
    if errors:
        rows = _with_errors(rows, errors, start[1])
    # A range merged beyond the cells (A1:XFD1048576) is cut to them: filling it whole
    # would spend minutes on cells no column reads.
    end = sheet.end or (0, 0)
    merged = [
        (first, (min(last[0], end[0]), min(last[1], end[1])))
        for first, last in sheet.merged_cell_ranges or []
        if first[0] <= end[0] and first[1] <= end[1]
    ]
    return (_filled(rows, merged, start) if merged else rows), start[1]


def _with_errors(
    rows: Iterator[list[Any]], errors: dict[int, dict[int, str]], left: int
) -> Iterator[list[Any]]:
    for number, cells in enumerate(rows, start=1):
        found = errors.get(number)
        for column, text in found.items() if found else ():
            at = column - left
            if at < 0:
                continue
            if at >= len(cells):
                cells.extend([""] * (at + 1 - len(cells)))
            cells[at] = ExcelError(text)
        yield cells


def _same_table(
    head: list[list[Any]], rows: Iterator[list[Any]], known: set[str], columns: set[str]
) -> bool:
    """Whether a sheet holds rows under a header naming (nearly) the ledger's columns."""
    found = _header_at(head, known)
    if found is None or len(found.names & columns) < max(2, _SAME_TABLE * len(columns)):
        return False
    normalised = [normalise_header(text) for text in found.texts]
    at = [i for i, text in enumerate(normalised) if text in known]
    keys = _key_positions(normalised, known)
    below = itertools.chain(head[found.last + 1 :], rows)
    return any(
        not _all_blank(cells, at)
        and not _is_footer(cells)
        and not (_is_total(cells) and _all_blank(cells, keys))
        for cells in below
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


#: What a workbook may inflate to: in all, and per member beyond its first MiB, as a
#: multiple of its compressed size (sheet XML compresses 5-20x; a zip bomb 1,000x).
_INFLATED_LIMIT = 4 << 30
_RATIO_LIMIT = 100
#: The most a workbook's small parts (its sheet list and their links) may hold.
_PART_LIMIT = 16 << 20
#: The most one sheet row's XML may hold while its end is looked for.
_ROW_LIMIT = 64 << 20


#: How a workbook's bytes begin (.xlsx: a ZIP archive; .xls: an OLE compound file).
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
#: Files offices upload by mistake: PDF, PNG, JPEG, GIF (text never holds a NUL either).
_OTHER_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")


#: Bytes text never holds (NUL and the control characters but tab, line breaks, form
#: feed, and the SUB and ESC a few old tools leave).
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x19\x1c-\x1f]")
_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # and UTF-32's, which begin alike


def _binary(head: bytes) -> bool:
    """Whether a file beginning with ``head`` is no text: UTF-16 or UTF-32 (Excel's
    "Unicode text": a NUL in every other byte), or bytes with many control characters. A
    text ledger with a stray NUL is text (read, it is refused naming the NUL's line)."""
    if head.startswith(_WIDE_BOMS):
        return True
    if b"\x00" not in head:
        return False
    return len(_CONTROL.findall(head)) > max(4, len(head) // 256)


def _head_bytes(path: Path) -> bytes:
    try:
        with _open_bytes(path) as stream:
            return stream.read(4096)
    except _DAMAGED as error:
        if path.suffix not in _COMPRESSED:
            raise
        raise _damaged(path, 0, error) from error


def _not_a_sheet(path: Path) -> InvalidValueError:
    return InvalidValueError(
        "file",
        path.name,
        "不是表格文件：请上传 Excel 工作簿（.xlsx/.xls）或 CSV 文本（UTF-8 或 GB18030 编码）",
        "not a spreadsheet: upload an Excel workbook (.xlsx/.xls) or CSV text (UTF-8 or GB18030)",
    )


def _empty(path: Path) -> InvalidValueError:
    return InvalidValueError(
        "file",
        path.name,
        "文件为空：没有表头，也没有数据行",
        "the file is empty: it has no header and no rows",
    )


def no_such_file(path: Path) -> NotFoundError:
    return NotFoundError("file", str(path), "文件不存在", "no such file")


def _unreadable(source: Path, error: Exception) -> InvalidValueError:
    return InvalidValueError(
        "file",
        source.name,
        "文件无法读取，不是有效的 Excel 文件（或已加密）",
        f"cannot be read as an Excel workbook (damaged or encrypted: {error})",
    )


def _check_inflation(source: Path) -> None:
    """Refuse a workbook that would inflate to an implausible size before anything reads
    it (each member's declared size is also all that ``zipfile`` will inflate); and one
    calamine would not read as .xlsx (an .xlsb or .ods, whose cells no check here sees),
    or whose parts are named twice (which of them a reader takes is its own choice)."""
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise _unreadable(source, error) from error
    names = {m.filename for m in members}
    if len(names) < len(members):
        raise _unreadable(source, zipfile.BadZipFile("a part is named twice"))
    if names & {"xl/workbook.bin", "mimetype"} or "xl/workbook.xml" not in names:
        raise InvalidValueError(
            "file",
            source.name,
            "不是 .xlsx 工作簿（.xlsb、.ods 等格式请在 Excel 中另存为 .xlsx 后再导入）",
            "not an .xlsx workbook (save an .xlsb, .ods or the like as .xlsx in Excel)",
        )
    total = sum(m.file_size for m in members)
    inflated = [m for m in members if m.file_size > (1 << 20) + _RATIO_LIMIT * m.compress_size]
    if total > _INFLATED_LIMIT or inflated:
        raise InvalidValueError(
            "file",
            source.name,
            "工作簿解压后的大小不合常理（疑似“压缩炸弹”），未读取",
            "the workbook would inflate to an implausible size (a zip bomb?); not read",
        )


def _small_part(archive: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    try:
        if archive.getinfo(name).file_size > _PART_LIMIT:
            return None
        return ElementTree.fromstring(archive.read(name))
    except (KeyError, ElementTree.ParseError):
        return None


def _workbook_xml(archive: zipfile.ZipFile) -> ElementTree.Element | None:
    return _small_part(archive, "xl/workbook.xml")


def _active_sheet(source: Path, names: list[str]) -> str | None:
    """The sheet the workbook opens on (``activeTab``; the first sheet when not set)."""
    if not zipfile.is_zipfile(source):
        return None
    with zipfile.ZipFile(source) as archive:
        root = _workbook_xml(archive)
    if root is None:
        return None
    for element in root.iter():
        if _local(element.tag) == "workbookView":
            tab = element.get("activeTab", "0")
            if tab.isdigit() and int(tab) < len(names):
                return names[int(tab)]
            break
    return names[0] if names else None


def _sheet_member(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The archive member holding the sheet named ``sheet``."""
    root = _workbook_xml(archive)
    if root is None:
        return None
    rel_id = next(
        (
            next((v for k, v in e.attrib.items() if _local(k) == "id"), None)
            for e in root.iter()
            if _local(e.tag) == "sheet" and e.get("name") == sheet
        ),
        None,
    )
    rels = _small_part(archive, "xl/_rels/workbook.xml.rels")
    if rels is None:
        return None
    for element in rels.iter():
        if _local(element.tag) == "Relationship" and element.get("Id") == rel_id:
            target = element.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return str(PurePosixPath("xl") / target)
    return None


_FORMULA_START = re.compile(rb"<f[\s>/]")
_CELL_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_CELL_TYPE = re.compile(rb'\bt="([a-zA-Z]+)"')
_CACHED = re.compile(rb"<v>[^<]")
_FORMULA_TEXT = re.compile(rb"<f[^>]*>(.*?)</f>", re.S)
_XML_CHUNK = 1 << 22


def _scan_sheet(source: Path, sheet: str) -> _Scan:
    """The formula cells of ``sheet`` saved without a computed value (a file written by a
    script and never opened in Excel: "=formula"), and its cells holding an Excel error
    (#N/A…), that calamine reads as empty.

    The sheet's XML is scanned a few MB at a time; a part with neither ``<f`` nor an error
    cell costs two searches.
    """
    found = _Scan()
    with zipfile.ZipFile(source) as archive:
        member = _sheet_member(archive, sheet)
        if member is None or member not in archive.namelist():
            return found
        with archive.open(member) as stream:
            rest = b""
            while chunk := stream.read(_XML_CHUNK):
                buffer = rest + chunk
                cut = _last_row_start(buffer)  # the rows before it are whole
                if cut <= 0:
                    if len(buffer) > _ROW_LIMIT:  # no ledger row is this long
                        raise InvalidValueError(
                            "file",
                            source.name,
                            f"工作表“{sheet}”中有一行超过 64 MB，不是台账",
                            f"a row of sheet '{sheet}' exceeds 64 MB: not a ledger",
                        )
                    rest = buffer
                    continue
                part, rest = buffer[:cut], buffer[cut:]
                _scan_part(part, found)
            _scan_part(rest, found)
    return found


def _scan_part(xml: bytes, found: _Scan) -> None:
    if b"<f" in xml:
        _scan_formulas(xml, found.formulas)
    if _ERROR_TYPE.search(xml):
        _scan_errors(xml, found.errors)


_ROW_START = re.compile(rb"<row[\s>/]")


def _last_row_start(xml: bytes) -> int:
    """Where the last row tag of ``xml`` starts (-1: none); a formatted empty row is a
    self-closing ``<row …/>`` with no ``</row>``."""
    at = xml.rfind(b"<row")
    while at >= 0 and not _ROW_START.match(xml, at):
        at = xml.rfind(b"<row", 0, at)
    return at


def _scan_formulas(xml: bytes, found: dict[int, dict[int, str]]) -> None:
    for match in _FORMULA_START.finditer(xml):
        start = xml.rfind(b"<c ", 0, match.start())
        end = xml.find(b"</c>", match.start())
        if start < 0 or end < 0:
            continue
        cell = xml[start:end]
        open_tag = cell[: cell.find(b">") + 1]
        ref = _CELL_REF.search(open_tag)
        kind = _CELL_TYPE.search(open_tag)
        # A computed value, or an empty text result (Excel saves t="str" and an empty <v>).
        if ref is None or _CACHED.search(cell) or (kind and kind.group(1) != b"n"):
            continue
        text = _FORMULA_TEXT.search(cell)
        formula = html.unescape(text.group(1).decode()) if text else ""
        found.setdefault(int(ref.group(2)), {})[_column_index(ref.group(1))] = (
            f"={formula}" if formula else "（共享公式 shared formula）"
        )


_ERROR_TYPE = re.compile(rb"""\bt=["']e["']""")
#: An error cell: <c r="F2" s="1" t="e"><f>VLOOKUP(…)</f><v>#N/A</v></c>
_ERROR_CELL = re.compile(rb"""<c\s[^>]*?\bt=["']e["'][^>]*(?<!/)>(.*?)</c>""", re.S)
_VALUE = re.compile(rb"<v>([^<]*)</v>")


def _scan_errors(xml: bytes, found: dict[int, dict[int, str]]) -> None:
    for match in _ERROR_CELL.finditer(xml):
        ref = _CELL_REF.search(xml, match.start(), match.start(1))
        value = _VALUE.search(match.group(1))
        if ref is None or value is None:
            continue
        text = html.unescape(value.group(1).decode(errors="replace")).strip() or "#N/A"
        found.setdefault(int(ref.group(2)), {})[_column_index(ref.group(1))] = text


def _xls_errors(source: Path, index: int) -> dict[int, dict[int, str]]:
    """The error cells (#N/A…) of the ``index``-th sheet of an .xls workbook: row number
    -> column index -> error; an error computed by a formula, or typed as one (calamine
    reads them as empty cells, xlrd as errors)."""
    try:
        book = xlrd.open_workbook(str(source), on_demand=True)
    except XLRDError:  # calamine read it: not expected
        return {}
    try:
        sheet = book.sheet_by_index(index)
        found: dict[int, dict[int, str]] = {}
        for row in range(sheet.nrows):
            for column, kind in enumerate(sheet.row_types(row)):
                if kind == xlrd.XL_CELL_ERROR:
                    code = int(sheet.cell_value(row, column))
                    text = xlrd.error_text_from_code.get(code, "#N/A")
                    found.setdefault(row + 1, {})[column] = text
        return found
    finally:
        book.release_resources()


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1
