"""A workbook sheet whose cells lie implausibly far apart is refused before calamine reads it.

calamine (python-calamine) holds a sheet as one dense block of 32-byte cells, from the top
to the bottom row holding a value and from the leftmost to the rightmost column holding one.
One value typed at XFD1048576 in a 5 KB workbook makes it ask for 550 GB, and a Rust
allocation failure aborts the whole process (``twores serve`` with it): Python cannot catch
it. :func:`check_extent` reads the sheet's XML first and refuses a sheet whose block is
implausible for the cells it holds, naming the far cell. (The ``<dimension>`` a sheet
declares is not read: it may say anything.)

The XML is streamed, never built. Excel, WPS, LibreOffice and openpyxl write each cell as
``<c r="B7" s="1" t="s">``: such a sheet is bounded with one regular-expression search per
chunk (the cell tags in another form, or beyond the columns and rows met so far) while a
thread inflates the next chunk. Anything else (a namespace prefix such as ``<x:c>``, a cell
without ``r`` or with ``r`` not first, a block too large for the bound) is read again with
expat, following calamine's own rules cell by cell: a cell without ``r`` goes after the one
before it, in the row its ``<row r>`` or the rows counted so far name.
"""

from __future__ import annotations

import contextlib
import io
import queue
import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Generator, Iterator
from pathlib import PurePosixPath
from typing import IO, Any
from xml.etree import ElementTree
from xml.parsers import expat

from xlrd.compdoc import CompDoc, CompDocError

from twores.core.errors import InvalidValueError

#: How big a block may be, in cells: calamine spends 32 bytes on each cell of it (on top
#: of about 40 for each cell holding a value). A real ledger (up to about a million rows
#: of about 40 columns) fills most of its block. A block of up to FLOOR cells (512 MiB,
#: a 400,000-row ledger's) is read whatever it holds, so a stray cell a few columns or
#: rows off is no matter; a larger one must hold at least one cell in SPARSE (a stray far
#: cell makes the block thousands of times the cells present), and none may pass CEILING
#: (2 GiB: 1,048,576 rows of 64 columns).
FLOOR = 1 << 24
SPARSE = 10
CEILING = 1 << 26
#: No ledger is wider than this many columns: a far cell beyond it is named by its column.
_WIDE = 256

#: Bytes inflated at a time; and the most a partial cell may hold before the plain
#: reading gives way to expat (no ledger cell comes near: Excel holds 32,767 characters).
_CHUNK = 1 << 18
_CARRY_LIMIT = 1 << 22


def implausible(box: int, cells: int) -> bool:
    """Whether a block of ``box`` cells is implausible for the ``cells`` it holds."""
    return box > CEILING or (box > FLOOR and box > SPARSE * cells)


def check_extent(source_name: str, archive: zipfile.ZipFile, sheet: str) -> None:
    """Refuse ``sheet`` of the workbook ``archive`` if calamine's block for it would be
    implausible; every part that can hold it is measured."""
    parts = _sheet_parts(archive, sheet)
    if not parts:  # calamine cannot find it either, or reads the workbook otherwise
        raise InvalidValueError(
            "file",
            source_name,
            f"找不到工作表“{sheet}”的数据，不是有效的 Excel 文件，未读取",
            f"the data of sheet “{sheet}” cannot be found: not a valid Excel workbook",
        )
    for member in parts:
        try:
            plain = _Plain()
            plain.read(archive, member)
            rows, columns = plain.block()
            box = rows * columns
            if box <= FLOOR or not implausible(box, _closed_cells(archive, member)):
                continue
        except _Unusual:
            pass
        exact = _Exact(source_name, sheet)
        with archive.open(member) as stream:
            exact.read(stream)
        exact.judge()


# -- which part holds the sheet --------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _part(archive: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    try:
        if archive.getinfo(name).file_size > 16 << 20:
            return None
        return ElementTree.fromstring(archive.read(name))
    except (KeyError, ElementTree.ParseError):
        return None


def _sheet_parts(archive: zipfile.ZipFile, sheet: str) -> list[str]:
    """The archive members calamine may read as ``sheet``: those the relationships of every
    ``<sheet>`` so named point to, by any attribute named ``id`` (calamine reads
    ``r:id``) and by each spelling of the target calamine or a path join gives."""
    names = archive.namelist()
    workbook = _part(archive, "xl/workbook.xml")
    rels = _part(archive, "xl/_rels/workbook.xml.rels")
    found: list[str] = []
    if workbook is not None and rels is not None:
        ids = {
            value
            for element in workbook.iter()
            if _local(element.tag) == "sheet" and element.get("name") == sheet
            for key, value in element.attrib.items()
            if _local(key) == "id"
        }
        for element in rels.iter():
            if _local(element.tag) != "Relationship" or element.get("Id") not in ids:
                continue
            target = element.get("Target", "")
            spellings = {
                target[1:] if target.startswith("/") else "xl/" + target,
                target.lstrip("/"),
                str(PurePosixPath("xl") / target),
            }
            found += [name for name in names if name in spellings and name not in found]
    return found


# -- the plain reading -----------------------------------------------------------------


class _Unusual(Exception):
    """The sheet's XML is not in the plain form :class:`_Plain` relies on."""


#: An element with a namespace prefix that calamine reads as a cell.
_PREFIXED = re.compile(rb":c[\s/>]")
#: A plain cell tag: ``r`` first, then lower-case attributes other than ``r``.
_TAIL = rb'(?: [a-qs-z][a-zA-Z]*+="[^"]*+")*+ ?'
_CELL = re.compile(rb'<c r="([A-Z]++)([0-9]++)"' + _TAIL + rb"(/?)>")
_NAME_BYTE = re.compile(rb"[\w.:-]")


def _column(letters: bytes) -> int:
    """A column's index from its name (A: 0), in either case."""
    index = 0
    for letter in letters.upper():
        index = index * 26 + letter - 64
    return index - 1


def _up_to(last: bytes, first: int, any_of: bytes) -> bytes:
    """A pattern for the names up to ``last`` in an alphabet from ``first`` (column names
    A…Z, AA…; row numbers): shorter, or as long and not after it symbol by symbol."""
    size = len(last)
    parts = [any_of + rb"{1,%d}+" % (size - 1)] if size > 1 else []
    for at, symbol in enumerate(last):
        if symbol > first:
            rest = any_of + rb"{%d}" % (size - at - 1) if at < size - 1 else b""
            parts.append(re.escape(last[:at]) + rb"[%c-%c]" % (first, symbol - 1) + rest)
    parts.append(re.escape(last))
    return b"|".join(parts)


#: The rows a plain sheet's bound starts at, and how it grows (never past 1.5 times the
#: bottom row met): the pattern of the rows below it is made again a few times a sheet.
_FIRST_ROWS = 10_000


def _round_up(row: int, below: int) -> int:
    """A new bound above ``row``, at least half as far again as ``below``, rounded up to two
    significant digits (130,000 above 123,456)."""
    target = max(row + 1, below * 3 // 2)
    step = int("1" + "0" * max(len(str(target)) - 2, 0))
    return -(-target // step) * step


def _flagged(letters: bytes, rows_below: int) -> re.Pattern[bytes]:
    """Cell tags other than plain ones within column ``letters`` and above row
    ``rows_below`` (or anywhere, self-closing: a cell with no value), and tags merely
    starting ``<c`` (``<col``)."""
    columns = _up_to(letters, ord("A"), rb"[A-Z]") if letters else rb"(?!)"
    rows = _up_to(b"%d" % (rows_below - 1), ord("0"), rb"[0-9]") if rows_below > 1 else rb"(?!)"
    return re.compile(
        rb'<c(?! r="(?:' + columns + rb")(?:" + rows + rb')"' + _TAIL + rb"/?>"
        rb'| r="[A-Z]++[0-9]++"' + _TAIL + rb"/>)"
    )


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def _inflated(archive: zipfile.ZipFile, member: str) -> Generator[bytes]:
    """The member's bytes, a chunk at a time, inflated by a thread while the caller reads
    the chunks before: the thread reads a MiB and inflates up to 4 MiB at a call, both
    letting go of the GIL, so on two cores the inflating costs next to no time. (A member
    not deflated is read through ``zipfile``, in this thread.)"""
    info = archive.getinfo(member)
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 1 or not archive.filename:
        with archive.open(member) as stream:
            yield from _chunks(stream)
        return
    ready: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=4)
    stop = threading.Event()

    def offer(item: bytes | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def inflate(path: str) -> None:
        try:
            with open(path, "rb") as raw:
                raw.seek(info.header_offset)
                local = raw.read(30)
                if local[:4] != b"PK\x03\x04":
                    raise zipfile.BadZipFile(f"no local header for {member}")
                name, extra = struct.unpack_from("<HH", local, 26)
                raw.seek(info.header_offset + 30 + name + extra)
                inflater, left = zlib.decompressobj(-zlib.MAX_WBITS), info.compress_size
                while left and not stop.is_set():
                    data = raw.read(min(left, 1 << 20))
                    if not data:
                        raise zipfile.BadZipFile(f"{member} is cut short")
                    left -= len(data)
                    while data and not stop.is_set():
                        out = inflater.decompress(data, 1 << 22)
                        data = inflater.unconsumed_tail
                        if out and not offer(out):
                            return
            offer(None)
        except BaseException as error:  # the reader raises it
            offer(error)

    worker = threading.Thread(
        target=inflate, args=(archive.filename,), name="twores-extent", daemon=True
    )
    worker.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            for at in range(0, len(item), _CHUNK):
                yield item[at : at + _CHUNK]
    finally:
        stop.set()
        worker.join()


class _Plain:
    """A bound on the block of a sheet written the plain way: every cell tag not
    self-closing (any cell holding a value among them) lies in a column up to
    ``last_column`` and a row below ``rows_below``; :class:`_Unusual` at anything else.

    Cells are taken wherever their tags stand (in a comment, past ``</sheetData>``…):
    calamine reads fewer, so its block is never larger."""

    def __init__(self) -> None:
        self.letters = b""
        self.last_column = -1
        self.rows_below = _FIRST_ROWS
        self.flagged = _flagged(self.letters, self.rows_below)

    def read(self, archive: zipfile.ZipFile, member: str) -> None:
        with contextlib.closing(_inflated(archive, member)) as chunks:
            self._read(chunks)

    def _read(self, chunks: Iterator[bytes]) -> None:
        carry, first = b"", True
        for chunk in chunks:
            if first and (b"\x00" in chunk[:4096] or chunk.startswith(b"\xfe\xff")):
                raise _Unusual  # UTF-16 or UTF-32: none of the patterns would match
            first = False
            buffer = carry + chunk
            cut = buffer.rfind(b"<", max(0, len(carry) - 1))
            if cut <= 0:  # no tag starts in it: a long text, or a tag longer than a chunk
                if len(buffer) > _CARRY_LIMIT:
                    raise _Unusual
                carry = buffer
                continue
            self._part(buffer, cut)
            carry = buffer[cut:]
        self._part(carry, len(carry))

    def block(self) -> tuple[int, int]:
        """Rows and columns from A1 to the bound: calamine's block is within it."""
        return self.rows_below - 1, self.last_column + 1

    def _part(self, xml: bytes, end: int) -> None:
        """The run of whole tags ``xml[:end]`` (it ends where a tag starts)."""
        if _PREFIXED.search(xml, 0, end):
            raise _Unusual
        at = 0
        while (found := self.flagged.search(xml, at, end)) is not None:
            at = found.start()
            if _NAME_BYTE.match(xml, at + 2, end):  # <col…, <cfRule…: not a cell
                at += 2
                continue
            cell = _CELL.match(xml, at, end)
            if cell is None or cell.group(3):
                raise _Unusual
            column, row = _column(cell.group(1)), int(cell.group(2))
            if column <= self.last_column and row < self.rows_below:
                raise _Unusual  # within the bounds, yet flagged: 0-padded, say
            if column > self.last_column:
                self.letters, self.last_column = cell.group(1), column
            if row >= self.rows_below:
                self.rows_below = _round_up(row, self.rows_below)
            self.flagged = _flagged(self.letters, self.rows_below)


def _closed_cells(archive: zipfile.ZipFile, member: str) -> int:
    """The cells of a plain sheet that are not self-closing (those that may hold a value)."""
    count, carry = 0, b""
    with archive.open(member) as stream:
        for chunk in _chunks(stream):
            buffer = carry + chunk
            count += buffer.count(b"</c>")
            carry = buffer[-3:]
    return count


# -- the exact reading -----------------------------------------------------------------


class _Stop(Exception):
    """calamine reads no further: ``</sheetData>``."""


class _Extent:
    """A sheet's block as calamine builds it: from the top row to the bottom one and from
    the leftmost column to the rightmost one of the cells holding a value."""

    def __init__(self, source_name: str, sheet: str) -> None:
        self.source_name, self.sheet = source_name, sheet
        self.count = 0
        #: The top, bottom, leftmost and rightmost cells holding a value: (index, name).
        self.top: tuple[int, str] | None = None
        self.bottom: tuple[int, str] | None = None
        self.left: tuple[int, str] | None = None
        self.right: tuple[int, str] | None = None

    def _count(self, row: int, column: int, ref: str) -> None:
        self.count += 1
        if self.top is None or row < self.top[0]:
            self.top = (row, ref)
        if self.bottom is None or row > self.bottom[0]:
            self.bottom = (row, ref)
        if self.left is None or column < self.left[0]:
            self.left = (column, ref)
        if self.right is None or column > self.right[0]:
            self.right = (column, ref)

    def judge(self) -> None:
        if self.top is None or self.bottom is None or self.left is None or self.right is None:
            return
        rows = self.bottom[0] - self.top[0] + 1
        columns = self.right[0] - self.left[0] + 1
        box = rows * columns
        if not implausible(box, self.count):
            return
        if box <= SPARSE * self.count:
            raise self._error(
                f"数据区域达 {rows:,} 行 × {columns:,} 列（{box:,} 个单元格），超过一次可读取的 "
                f"{CEILING:,} 个单元格，未读取。请把台账分成几个文件分别导入",
                f"it spans {rows:,} rows × {columns:,} columns ({box:,} cells), more than "
                f"the {CEILING:,} cells read at once; not read. Split the ledger into "
                "several files",
            )
        far = self.right[1] if columns > _WIDE else self.bottom[1]
        raise self._error(
            f"单元格 {far} 远在表格之外：读取时须为 {rows:,} 行 × {columns:,} 列（{box:,} 个"
            f"单元格）分配内存，其中有内容的只有 {self.count:,} 个，未读取。请删除该单元格"
            "（或其所在的行、列）后再导入",
            f"cell {far} lies far outside the table: reading it would take memory for "
            f"{rows:,} rows × {columns:,} columns ({box:,} cells) for the {self.count:,} "
            "cells that hold anything; not read. Delete that cell (or its row or column), "
            "then import again",
        )

    def _error(self, zh: str, en: str) -> InvalidValueError:
        space = " " if zh[:1].isascii() else ""  # 的 XML
        return InvalidValueError(
            "file",
            self.source_name,
            f"工作表“{self.sheet}”的{space}{zh}",
            f"sheet “{self.sheet}”: {en}",
        )


class _Exact(_Extent):
    """A sheet's block read element by element with expat, following calamine: where it
    could read a value (an empty text of type ``str``, a value written as an entity…) the
    cell counts, so the block found is never smaller than calamine's."""

    def __init__(self, source_name: str, sheet: str) -> None:
        super().__init__(source_name, sheet)
        self.within = False
        self.row = self.column = 0  # where a cell without ``r`` goes
        self.cell: tuple[int, int, str, str | None] | None = None
        self.depth = 0  # elements open within the cell
        self.child: str | None = None  # the cell's last child, and whether it held text
        self.text = False

    def read(self, stream: IO[bytes]) -> None:
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        parser.StartDoctypeDeclHandler = self._doctype
        try:
            for chunk in _chunks(stream):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except _Stop:
            return
        except expat.ExpatError as error:
            raise self._error(
                f"XML 无法解析（{expat.errors.messages[error.code]}），未读取",
                f"its XML cannot be parsed ({error}); not read",
            ) from error

    def _doctype(self, *_: object) -> None:
        raise self._error(
            "XML 带有文档类型声明（DOCTYPE），未读取", "its XML declares a DOCTYPE; not read"
        )

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        if self.cell is not None:  # within a cell: its children
            self.depth += 1
            if self.depth == 1:
                self.child, self.text = local, False
            return
        if not self.within:
            self.within = local == "sheetData"
            return
        if local == "row":
            if (number := attributes.get("r")) is not None:
                self.row = self._number(number) - 1
        elif local == "c":
            if (ref := attributes.get("r")) is not None:
                row, column = self._ref(ref)
            else:
                row, column, ref = self.row, self.column, _name(self.row, self.column)
            self.column = column + 1
            self.cell = (row, column, ref, attributes.get("t"))
            self.depth, self.child, self.text = 0, None, False

    def _end(self, name: str) -> None:
        if self.cell is not None:
            if self.depth:
                self.depth -= 1
                return
            row, column, ref, kind = self.cell
            self.cell = None
            if self._holds_value(kind):
                self._count(row, column, ref)
            return
        local = name.rpartition(":")[2]
        if self.within and local == "row":
            self.row, self.column = self.row + 1, 0
        elif self.within and local == "sheetData":
            raise _Stop

    def _text(self, data: str) -> None:
        if self.cell is not None and self.depth == 1 and data:
            self.text = True

    def _holds_value(self, kind: str | None) -> bool:
        """Whether calamine may read a value in the cell, by its last child (a formula
        alone, an empty value or none is none; a text ``<is>`` always is) and its type (an
        empty ``str`` is one; a value of an inline text is not)."""
        if self.child in (None, "f"):
            return False
        if self.child != "v":
            return True
        if kind in ("inlineStr", "is"):
            return False
        return self.text or kind not in (None, "n", "s", "b", "e")

    def _number(self, text: str) -> int:
        if not text.isascii() or not text.isdigit() or int(text) < 1:
            raise self._error(
                f"行号“{text}”无效，未读取", f"row number “{text}” is not valid; not read"
            )
        return int(text)

    def _ref(self, ref: str) -> tuple[int, int]:
        found = _REF.fullmatch(ref)
        if found is None:
            raise self._error(
                f"单元格位置“{ref}”无效，未读取", f"cell position “{ref}” is not valid; not read"
            )
        return self._number(found.group(2)) - 1, _column(found.group(1).encode())


# -- .xls workbooks ---------------------------------------------------------------------

#: BIFF records holding one cell, its row and column first (FORMULA, BLANK, NUMBER, LABEL,
#: BOOLERR, RK, LABELSST, RSTRING, and their BIFF2-4 forms), and a run of cells in a row
#: (MULRK, MULBLANK: row, first column, the cells, last column).
_BIFF_CELLS = frozenset(
    {0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0201, 0x0203, 0x0204, 0x0205}
    | {0x0206, 0x0406, 0x027E, 0x00FD, 0x00D6}
)
_BIFF_RUNS = {0x00BD: 6, 0x00BE: 2}  # and each cell's bytes
_BIFF_EOF, _BIFF_SHEET, _BIFF_PASSWORD = 0x000A, 0x0085, 0x002F
_TWO = struct.Struct("<HH").unpack_from
_ONE = struct.Struct("<H").unpack_from


def check_xls_extent(source_name: str, content: bytes) -> None:
    """Refuse an .xls workbook if calamine's block for any of its sheets would be
    implausible (calamine builds every sheet as it opens the file). A sheet's cells are
    BIFF records at the place its BOUNDSHEET record names, in every stream calamine may
    take for the workbook's."""
    for stream in _biff_streams(source_name, content):
        for sheet, at in _bound_sheets(stream):
            biff = _Biff(source_name, sheet)
            biff.walk(stream, at)
            biff.judge()


def _biff_streams(source_name: str, content: bytes) -> list[bytes]:
    """The streams of the compound file named Workbook or Book (BIFF5), in any case."""
    try:
        document: Any = CompDoc(content, logfile=io.StringIO())
        return [  # every stream so named (get_named_stream would give the first only)
            document._get_stream(
                *(
                    (document.mem, 512, document.SAT, document.sec_size)
                    if node.tot_size >= document.min_size_std_stream
                    else (document.SSCS, 0, document.SSAT, document.short_sec_size)
                ),
                node.first_SID,
                node.tot_size,
                name=node.name,
                seen_id=None,
            )
            for node in document.dirlist
            if node.etype == 2 and node.name.lower() in ("workbook", "book")
        ]
    except CompDocError as error:
        raise InvalidValueError(
            "file",
            source_name,
            "文件无法读取，不是有效的 Excel 文件（或已加密）",
            f"cannot be read as an Excel workbook (damaged or encrypted: {error})",
        ) from error


def _bound_sheets(stream: bytes) -> list[tuple[str, int]]:
    """Each sheet's name and where its records start; none in an encrypted workbook
    (calamine refuses it)."""
    found: list[tuple[str, int]] = []
    at = 0
    while at + 4 <= len(stream):
        kind, size = _TWO(stream, at)
        if kind == _BIFF_PASSWORD:
            return []
        if kind == _BIFF_SHEET and size >= 4:
            name = _sheet_name(stream[at + 10 : at + 4 + size], len(found))
            found.append((name, int.from_bytes(stream[at + 4 : at + 8], "little")))
        elif kind == _BIFF_EOF:
            break
        at += 4 + size
    return found


def _sheet_name(raw: bytes, index: int) -> str:
    """A BOUNDSHEET's name (BIFF8: length, flags, then Latin-1 or UTF-16 characters)."""
    try:
        size, wide = raw[0], raw[1] & 1
        text = raw[2 : 2 + size * (2 if wide else 1)]
        return text.decode("utf-16-le" if wide else "latin-1") or f"#{index + 1}"
    except (IndexError, UnicodeDecodeError):
        return f"#{index + 1}"


class _Biff(_Extent):
    """A sheet's block read from its BIFF records (every cell record counts)."""

    def walk(self, stream: bytes, at: int) -> None:
        top = left = 1 << 32
        bottom = right = -1
        bottom_at = right_at = 0  # the column of the bottom cell, the row of the rightmost
        count, end = 0, len(stream)
        while at + 4 <= end:
            kind, size = _TWO(stream, at)
            if kind in _BIFF_CELLS:
                if size < 4:
                    at += 4 + size
                    continue
                row, column = _TWO(stream, at + 4)
                last, count = column, count + 1
            elif kind in _BIFF_RUNS:
                if size < 6:
                    at += 4 + size
                    continue
                row, column = _TWO(stream, at + 4)
                cells = max(1, (size - 6) // _BIFF_RUNS[kind])
                last, count = max(column + cells - 1, _ONE(stream, at + 2 + size)[0]), count + cells
            elif kind == _BIFF_EOF:
                break
            else:
                at += 4 + size
                continue
            if row < top:
                top = row
            if row > bottom:
                bottom, bottom_at = row, column
            if column < left:
                left = column
            if last > right:
                right, right_at = last, row
            at += 4 + size
        if count:
            self.count = count
            self.top, self.left = (top, _name(top, left)), (left, _name(top, left))
            self.bottom, self.right = (
                (bottom, _name(bottom, bottom_at)),
                (right, _name(right_at, right)),
            )


_REF = re.compile(r"([A-Za-z]+)([0-9]+)", re.ASCII)


def _name(row: int, column: int) -> str:
    """A cell's A1 name."""
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"
