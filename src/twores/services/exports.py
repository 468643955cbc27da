"""Exporting lists as CSV or .xlsx with the headers offices use (and the importer reads).

Each list re-imports as its kind; the cadre lists (包保清单, ``cadre-lists``) as assignments.

Phones and ID numbers are masked unless the caller asks to unmask *and* the caller's role
allows it; an unmasked export re-imports to the identical state.
"""

from __future__ import annotations

import csv
import errno
import gzip
import logging
import lzma
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from twores.core.assignment import Assignment
from twores.core.businesses import FoodBusiness, StaffMember
from twores.core.cadres import Cadre
from twores.core.errors import InvalidValueError
from twores.core.periods import last_day, today
from twores.core.ports import Store
from twores.core.security import Scope, mask_id_number, mask_phone, outside_scope
from twores.services.lookups import check_area
from twores.services.sheets.cells import csv_text, xlsx_row

STAFF_ROLES = (("head", "主要负责人"), ("director", "食品安全总监"), ("officer", "食品安全员"))

LOG = logging.getLogger("twores.exports")

BUSINESS_HEADERS = (
    "主体名称",
    "统一社会信用代码",
    "许可证编号",
    "所属区划",
    "业态",
    "规模",
    "食堂类别",
    "就餐人数",
    "连锁总部",
    "经营状态",
    "状态变更日期",
    "成立日期",
    "包保等级",
    "风险等级",
    *(
        f"{label}{suffix}"
        for _, label in STAFF_ROLES
        for suffix in ("", "电话", "身份证号", "禁业截止日期")
    ),
)
CADRE_HEADERS = (
    "干部编号",
    "包保干部姓名",
    "职务",
    "层级",
    "所属区划",
    "联系电话",
    "身份证号",
    "任职起始日期",
    "任职截止日期",
)
ASSIGNMENT_HEADERS = ("许可证编号", "干部编号", "开始日期", "结束日期", "原因")
CADRE_LIST_HEADERS = (
    "干部编号",
    "包保干部姓名",
    "职务",
    "层级",
    "干部所属区划",
    "主体名称",
    "许可证编号",
    "统一社会信用代码",
    "主体所属区划",
    "业态",
    "包保等级",
    "开始日期",
    "结束日期",
    "原因",
)
KINDS = ("businesses", "cadres", "assignments", "cadre-lists")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    label = getattr(value, "zh", None)
    return str(label) if label is not None else str(value)


#: Whole numbers an .xlsx number cell holds exactly (Excel keeps 15 significant digits).
_EXACT_INT = 10**15
#: The first day Excel's date cells show right (serials before it are off by 1900's leap day).
_FIRST_EXCEL_DAY = date(1900, 3, 1)


def _xlsx_value(value: object) -> object:
    """A cell for .xlsx: a date as a date cell, a whole number as a number, else its text
    (codes, phones and ID numbers are text already, so they stay text cells)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value if value >= _FIRST_EXCEL_DAY else value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < _EXACT_INT:
        return value
    return _text(value)


class _Masker:
    def __init__(self, unmask: bool) -> None:
        self.unmask = unmask

    def phone(self, value: str | None) -> str | None:
        return value if self.unmask else mask_phone(value)

    def id_number(self, value: str | None) -> str | None:
        return value if self.unmask else mask_id_number(value)


def _staff_cells(member: StaffMember | None, mask: _Masker) -> list[object]:
    if member is None:
        return ["", "", "", ""]
    return [
        member.name,
        mask.phone(member.phone),
        mask.id_number(member.id_number),
        member.banned_until,
    ]


def business_row(b: FoodBusiness, mask: _Masker) -> list[object]:
    cells: list[object] = [
        b.name,
        b.uscc,
        b.licence_no,
        b.area_code,
        b.business_type,
        b.scale,
        b.canteen_kind,
        b.diners,
        b.chain_headquarters,
        b.status,
        b.status_since,
        b.opened_on,
        b.grade,
        b.risk_grade,
    ]
    for attribute, _ in STAFF_ROLES:
        cells.extend(_staff_cells(getattr(b.staff, attribute), mask))
    return cells


def cadre_row(c: Cadre, mask: _Masker) -> list[object]:
    return [
        c.id,
        c.name,
        c.post,
        c.tier,
        c.area_code,
        mask.phone(c.phone),
        mask.id_number(c.id_number),
        c.active_from,
        last_day(c.active_to),  # the last day served, as offices write it
    ]


def assignment_row(a: Assignment) -> list[object]:
    return [a.business_key, a.cadre_id, a.valid_from, last_day(a.valid_to), a.reason]


#: What an exported file's name may end in (each one the importer reads back).
EXPORT_ENDINGS = (".xlsx", ".csv", ".csv.gz", ".csv.xz")


def _text_writer(path: Path, named: Path | None = None) -> IO[str]:
    """A CSV file (UTF-8 with BOM, for Excel) to write at ``path``, compressed when the name
    (``named``'s, when given: the file ``path`` is to become) ends .gz or .xz."""
    suffix = (named or path).suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "wt", encoding="utf-8-sig", newline="")
    if suffix == ".xz":
        return lzma.open(path, "wt", encoding="utf-8-sig", newline="")
    return path.open("w", encoding="utf-8-sig", newline="")


def _temporary_beside(target: Path) -> Path:
    """A new empty file, hidden, in ``target``'s folder (``.<name>.tmp-`` and eight random
    hex digits), made as a new file is (the umask applies: ``mkstemp`` would give 0o600),
    else with the mode of the file it is to replace."""
    for _ in range(100):
        candidate = target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        with suppress(OSError):
            os.chmod(candidate, stat.S_IMODE(os.stat(target).st_mode))
        return candidate
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))


def _sync(path: Path) -> None:
    """``path``'s data on disk, before it is put in place."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    """``folder``'s entries on disk (a replaced file's new name kept across a power cut)."""
    with suppress(OSError, AttributeError):  # best effort: not every system opens folders
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write in the block; once the block ends without
    error it is synced to disk and put in place of ``path`` in one step (``os.replace``).
    On any error, Ctrl-C included, it is removed and ``path`` is left as it was (a full
    disk or an interrupted export never leaves a cut-short file, nor loses the earlier
    one). An OSError names ``path``, not the temporary file."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path  # the file linked
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    temporary: Path | None = None
    try:
        temporary = _temporary_beside(target)
        yield temporary
        _sync(temporary)
        os.replace(temporary, target)
        temporary = None
        _sync_folder(target.parent)
    except BaseException as error:
        if temporary is not None:
            with suppress(OSError):
                temporary.unlink()
        if isinstance(error, OSError):
            _name_target(error, path, target)
        raise


def _name_target(error: OSError, path: Path, target: Path) -> None:
    """Let ``error`` name the export's file ``path``, not the temporary one beside
    ``target`` (nor nothing: a full disk's error names no file)."""
    if error.errno is None:
        return
    named = error.filename
    if named is None or (
        isinstance(named, str | os.PathLike) and Path(named).name.startswith(f".{target.name}.tmp-")
    ):
        error.filename = str(path)
        error.filename2 = None


def check_folder(target: Path) -> None:
    """Refuse, before anything is read or written, a file whose folder is not there."""
    folder = target.parent
    if folder.is_dir():
        return
    missing = not folder.exists() and not any(p.is_file() for p in folder.parents)
    raise InvalidValueError(
        "path",
        target.name,
        f"所在文件夹 {folder} 不存在" if missing else f"路径 {folder} 中有一段不是文件夹",
        f"its folder {folder} does not exist"
        if missing
        else f"a part of the path {folder} is not a folder",
    )


def check_makeable(folder: Path) -> Path:
    """``folder``, once it is there or can be made (nothing is made yet); refused before
    anything else is done when a part of its path is a file."""
    for part in (folder, *folder.parents):
        if part.is_dir():
            return folder
        if part.exists():
            raise InvalidValueError(
                "path",
                str(folder),
                f"路径 {folder} 中有一段不是文件夹",
                f"a part of the path {folder} is not a folder",
            )
    return folder


#: The data rows an .xlsx sheet holds: Excel's 1,048,576 rows less the header (Excel and
#: WPS refuse, or cut short, a sheet with more, and openpyxl writes them without a word).
XLSX_ROWS = 1_048_575


def too_many_rows(path: Path, rows: int | None = None) -> InvalidValueError:
    """The refusal of an .xlsx export of more rows than a sheet holds."""
    counted_zh = f"（{rows:,} 行）" if rows is not None else ""
    counted_en = f" ({rows:,} rows)" if rows is not None else ""
    return InvalidValueError(
        "path",
        path.name,
        f"清单行数{counted_zh}超过 .xlsx 工作表的上限 {XLSX_ROWS:,} 行，Excel、WPS 无法完整"
        "打开：请改为导出 CSV（.csv，或压缩的 .csv.gz、.csv.xz），或用 --within "
        "（网页上选择下级区划）缩小范围；未写出任何文件",
        f"the list{counted_en} has more rows than an .xlsx sheet holds ({XLSX_ROWS:,}), "
        "which Excel and WPS cannot open whole: export to CSV (.csv, or compressed "
        ".csv.gz, .csv.xz) instead, or narrow it with --within (in the web: a smaller "
        "area); no file was written",
    )


def write_table(path: Path, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write ``rows`` under ``headers`` to .xlsx, else CSV (compressed when the name ends
    .gz or .xz); text never runs as a formula in Excel (:mod:`twores.services.sheets.cells`).
    In .xlsx dates are date cells and whole numbers number cells (sorted and filtered as
    such); in CSV every value is written as text.

    The file is written under a temporary name in the same folder and put in place of
    ``path`` only once whole (:func:`_replacing`): a failure, a full disk or Ctrl-C leaves a
    file already at ``path`` as it was. An .xlsx of more than :data:`XLSX_ROWS` rows is
    refused (:func:`too_many_rows`) when the row past the limit comes, and nothing is
    written."""
    count = 0
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        limit = XLSX_ROWS
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        try:
            sheet.append(list(headers))
            for row in rows:
                if count >= limit:
                    raise too_many_rows(path)
                sheet.append(xlsx_row(sheet, [_xlsx_value(cell) for cell in row]))
                count += 1
            with _replacing(path) as temporary:
                workbook.save(temporary)
        except BaseException:
            _discard(sheet)
            raise
        return count
    with _replacing(path) as temporary, _text_writer(temporary, path) as stream:
        writer = csv.writer(stream)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([csv_text(_text(cell)) for cell in row])
            count += 1
    return count


def _discard(sheet: Any) -> None:
    """Drop an unsaved (or half-saved) write-only sheet's temporary file now: openpyxl would
    keep it, rows and all, until the process ends (a web server's never). Its file is
    removed even when closing the sheet fails (a full temporary folder fails it again)."""
    try:
        sheet.close()
    except Exception:  # best effort: the first error is what the caller needs
        LOG.debug("an unsaved .xlsx sheet could not be closed", exc_info=True)
    writer: Any = getattr(sheet, "_writer", None)
    out = getattr(writer, "out", None)
    if not isinstance(out, str):
        return
    with suppress(Exception):  # its stream, if closing the sheet did not end it
        writer.xf.close()
    try:
        os.remove(out)
    except FileNotFoundError:
        pass
    except OSError:
        LOG.debug("an unsaved .xlsx sheet's temporary file was not removed", exc_info=True)
        return
    from openpyxl.worksheet import _writer

    with suppress(ValueError):
        _writer.ALL_TEMP_FILES.remove(out)


def export_list(
    store: Store,
    scope: Scope,
    kind: str,
    path: str | Path,
    *,
    unmask: bool = False,
    within: str | None = None,
    on: date | None = None,
) -> int:
    """Export one list (``businesses``, ``cadres``, ``assignments``, ``cadre-lists``).

    Returns the number of rows written. Unmasking needs a role that may see personal data;
    ``within`` an area outside the scope, or above it, is refused (a file named for the city
    would hold one county's rows).
    """
    if unmask and not scope.can_unmask:
        raise outside_scope(scope, "未脱敏的个人信息", "unmasked personal data")
    if kind not in KINDS:
        raise InvalidValueError(
            "kind", kind, f"应为以下之一：{'、'.join(KINDS)}", f"must be one of {', '.join(KINDS)}"
        )
    mask = _Masker(unmask)
    target = Path(path)
    if not target.name.lower().endswith(EXPORT_ENDINGS):
        raise InvalidValueError(
            "path",
            target.name,
            "导出文件应为 .xlsx 或 .csv（可压缩为 .csv.gz、.csv.xz）",
            "export to .xlsx or .csv (or .csv.gz, .csv.xz)",
        )
    check_folder(target)
    with store.unit_of_work(scope) as uow:
        if within is not None:
            check_area(uow.areas.hierarchy(), scope, within)
        if target.suffix.lower() == ".xlsx":  # refused before a row is read, when known
            known = _known_count(uow, kind, within, on)
            if known is not None and known > XLSX_ROWS:
                raise too_many_rows(target, known)
        headers, rows = _rows(uow, kind, mask, within, on)
        written = write_table(target, headers, rows)
    if unmask:  # personal data left the system: who, what and where, for the record
        LOG.warning(
            "未脱敏导出 / unmasked export: actor=%r role=%s kind=%s within=%s rows=%d file=%s",
            scope.actor,
            scope.role.value,
            kind,
            within or scope.area_code or "全国",
            written,
            target.name,
        )
    return written


def _rows(
    uow: Any, kind: str, mask: _Masker, within: str | None, on: date | None
) -> tuple[Sequence[str], Iterator[list[object]]]:
    generators: dict[str, Callable[[], tuple[Sequence[str], Iterator[list[object]]]]] = {
        "businesses": lambda: (
            BUSINESS_HEADERS,
            (business_row(b, mask) for b in uow.businesses.stream(within=within)),
        ),
        "cadres": lambda: (
            CADRE_HEADERS,
            (cadre_row(c, mask) for c in uow.cadres.stream(within=within)),
        ),
        "assignments": lambda: (
            ASSIGNMENT_HEADERS,
            (assignment_row(a) for a in uow.assignments.stream(within=within, active_on=on)),
        ),
        "cadre-lists": lambda: (CADRE_LIST_HEADERS, _cadre_lists(uow, within, on)),
    }
    return generators[kind]()


def _known_count(uow: Any, kind: str, within: str | None, on: date | None) -> int | None:
    """The rows a list of ``kind`` will have, when the store counts them (not the cadre
    lists: a row needs its business in scope)."""
    if kind == "businesses":
        return int(uow.businesses.count(within=within))
    if kind == "cadres":
        return int(uow.cadres.count(within=within))
    if kind == "assignments":
        return int(uow.assignments.count(active_on=on, within=within))
    return None


#: The list rows whose businesses are read together (``get_many`` batches them further).
LIST_CHUNK = 2_000


def _cadre_lists(uow: Any, within: str | None, on: date | None) -> Iterator[list[object]]:
    """Each cadre's responsibility list (责任清单): the businesses assigned on ``on``.

    It re-imports as assignments (``import_file(..., "assignments", ...)``): a row names
    its business by 许可证编号 (its credit code when it has none, as the assignments list
    does), its cadre by 干部编号, and gives the assignment's 开始日期, 结束日期 and 原因.
    The other columns (names, areas, type, grade) are there to be read by people: the
    import reports them as not read.

    Cadres in id order, each one's businesses in key order. One pass: the assignments in
    force on the day under ``within`` are read once and grouped by cadre, the cadres once,
    and the businesses :data:`LIST_CHUNK` rows at a time (a query per cadre would scan the
    assignments once per cadre). A cadre's businesses lie in the cadre's area
    (jurisdiction), so under ``within`` when the cadre is; an assignment breaking that
    rule (``twores check`` reports it) is listed only under an area holding its business.
    """
    day = on or today()
    held: dict[str, list[Assignment]] = {}
    for assignment in uow.assignments.stream(within=within, active_on=day):
        held.setdefault(assignment.cadre_id, []).append(assignment)
    pending: list[tuple[Cadre, Assignment]] = []
    for cadre in uow.cadres.stream(within=within):
        for assignment in held.pop(cadre.id, ()):
            pending.append((cadre, assignment))
        if len(pending) >= LIST_CHUNK:
            yield from _list_rows(uow, pending)
            pending = []
    yield from _list_rows(uow, pending)


def _list_rows(uow: Any, pending: list[tuple[Cadre, Assignment]]) -> Iterator[list[object]]:
    """The list rows of ``pending`` (cadre, assignment) pairs, in order; a business not in
    scope (or gone) gives none."""
    if not pending:
        return
    businesses = uow.businesses.get_many({a.business_key for _, a in pending})
    for cadre, assignment in pending:
        business = businesses.get(assignment.business_key)
        if business is None:
            continue
        yield [
            cadre.id,
            cadre.name,
            cadre.post,
            cadre.tier,
            cadre.area_code,
            business.name,
            business.key,  # its credit code when it has no licence (as assignments)
            business.uscc,
            business.area_code,
            business.business_type,
            business.grade,
            assignment.valid_from,
            last_day(assignment.valid_to),
            assignment.reason,
        ]
