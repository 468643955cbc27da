"""The row-level error report of a rejected file: beside it, or in a folder of reports."""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Sequence
from pathlib import Path

import attrs

from twores.services.exports import write_table
from twores.services.sheets.parsing import RowError

HEADERS = ("行号", "序号", "列", "值", "错误代码", "原因", "reason")


#: Endings dropped from a file's name to name its report (台账.csv.xz -> 台账.errors.csv).
_ENDINGS = (".xz", ".gz", ".csv", ".xlsx", ".xlsm", ".xls")


def report_path(source: Path, folder: Path | None = None) -> Path:
    """``<name>.errors.csv`` (or ``.xlsx`` for a workbook) in ``folder`` (default: beside
    ``source``): its name without the file-type endings, so a.v1.csv and a.v2.csv get
    reports of their own."""
    stem = source.name
    while (ending := next((e for e in _ENDINGS if stem.lower().endswith(e)), None)) is not None:
        stem = stem[: -len(ending)]
    suffix = ".xlsx" if source.suffix.lower() in (".xlsx", ".xlsm", ".xls") else ".csv"
    return (folder or source.parent) / f"{stem}.errors{suffix}"


def remove_stale_report(source: Path, folder: Path | None = None) -> None:
    """Remove the report an earlier, rejected import of ``source`` left (only a file this
    module wrote: the report's name, and its header row). Only the report ``source`` itself
    is given: 台账.csv's accepted import leaves 台账.errors.xlsx, the report of 台账.xlsx."""
    target = report_path(source, folder)
    if target.is_file() and _is_report(target):
        target.unlink(missing_ok=True)


def _is_report(path: Path) -> bool:
    from python_calamine import CalamineError, CalamineWorkbook

    first: list[object]
    try:
        if path.suffix == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as stream:
                first = list(next(csv.reader(stream), []))
        else:
            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()
            first = list(next(rows, []))
    except (OSError, ValueError, CalamineError):
        return False
    return tuple(str(cell) for cell in first) == HEADERS


def write_report(errors: Sequence[RowError], source: Path, folder: Path | None = None) -> Path:
    """Write the report of ``source``'s errors (into ``folder``, made if missing)."""
    target = report_path(source, folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(errors, key=lambda e: (e.row, e.column))
    write_table(
        target,
        HEADERS,
        (
            [e.row, e.serial or "", e.column, e.value, e.code, e.reason_zh, e.reason_en]
            for e in ordered
        ),
    )
    return target


#: The code of the note a refusal carries when its report could not be written.
REPORT_NOT_WRITTEN = "report_not_written"

#: The most row errors a refused file lists: a sheet of nothing but bad rows would
#: otherwise take memory and a report of millions of lines; the first ones show what is
#: wrong. A streamed business sheet stops being read once it has this many.
MAX_LISTED_ERRORS = 10_000
#: The code of the note that says errors were left out, or rows left unread.
ERRORS_NOT_LISTED = "errors_not_listed"


#: The most characters of a cell an error shows (the cell is named by row and column).
MAX_SHOWN_VALUE = 200


def listed(errors: Sequence[RowError], *, unread_after: int | None = None) -> list[RowError]:
    """``errors`` in row order, at most :data:`MAX_LISTED_ERRORS` of them, each value cut to
    :data:`MAX_SHOWN_VALUE` characters, led by a note (row 0, the file as a whole) when some
    were left out or reading stopped after row ``unread_after``. A list already listed so
    is returned as it is."""
    ordered = sorted(errors, key=lambda e: (e.row, e.column))
    if ordered and ordered[0].code == ERRORS_NOT_LISTED:
        return ordered
    left_out = len(ordered) - MAX_LISTED_ERRORS
    kept = [_shortened(e) for e in ordered[:MAX_LISTED_ERRORS]]
    if left_out <= 0 and unread_after is None:
        return kept
    zh = f"只列出前 {len(kept)} 处错误"
    en = f"only the first {len(kept):,} errors are listed"
    if left_out > 0:
        zh += f"，另有 {left_out} 处未列出"
        en += f"; {left_out:,} more are not"
    if unread_after is not None:
        zh += f"；第 {unread_after} 行之后未再检查"
        en += f"; rows after row {unread_after} were not checked"
    note = RowError(
        0,
        None,
        "",
        "",
        f"{zh}：请先改正这些错误，再重新导入",
        f"{en}: correct these and import again",
        ERRORS_NOT_LISTED,
    )
    return [note, *kept]


#: Why a report could not be written, by the OS error met.
_UNWRITABLE: tuple[tuple[type[OSError], str, str], ...] = (
    (PermissionError, "没有写权限", "permission denied"),
    (FileNotFoundError, "文件夹不存在", "no such folder"),
    (NotADirectoryError, "路径中有一段不是文件夹", "a part of the path is not a folder"),
    (IsADirectoryError, "同名的文件夹已存在", "a folder of that name exists"),
)


def written_report(
    errors: list[RowError], source: Path, folder: Path | None
) -> tuple[Path | None, RowError | None]:
    """The report of a refused file, written (its path), or why it could not be (a
    read-only or shared folder: the row errors are still returned, with a note to name a
    writable folder with --report-dir)."""
    target = report_path(source, folder)
    made = False
    try:
        # made and opened first: a workbook that fails half-written leaves noise on stderr
        target.parent.mkdir(parents=True, exist_ok=True)
        made = not target.exists()
        with target.open("ab"):
            pass
        return write_report(errors, source, folder), None
    except OSError as error:
        if made:  # no empty or half-written report left behind
            with contextlib.suppress(OSError):
                target.unlink(missing_ok=True)
        zh, en = next(
            ((z, e) for kind, z, e in _UNWRITABLE if isinstance(error, kind)),
            (error.strerror or type(error).__name__, error.strerror or type(error).__name__),
        )
        note = RowError(
            0,
            None,
            "错误报告",
            str(target),
            f"错误报告无法写入（{zh}），各行错误只在此列出：请用 --report-dir 指定一个可写的"
            "文件夹（接口为 report_dir=）后重新导入，以得到错误报告",
            f"the error report could not be written ({en}), so the row errors are listed only "
            "here: name a writable folder with --report-dir (report_dir= in the API) and "
            "import again to get the report",
            REPORT_NOT_WRITTEN,
        )
        return None, note


def _shortened(error: RowError) -> RowError:
    if len(error.value) <= MAX_SHOWN_VALUE:
        return error
    return attrs.evolve(error, value=error.value[:MAX_SHOWN_VALUE] + "…")


#: The most unread columns (:func:`unread_columns_message`) named, and the most characters
#: of each name shown.
MAX_SHOWN_COLUMNS = 10
MAX_SHOWN_COLUMN = 40


def unread_columns_message(columns: Sequence[str]) -> tuple[str, str]:
    """The warning (Chinese, English) that a file's ``columns`` were not imported: the first
    :data:`MAX_SHOWN_COLUMNS` named, each cut to :data:`MAX_SHOWN_COLUMN` characters, and
    the count of the rest (a sheet of 100,000 stray columns is a few lines, not 700 KB)."""
    shown = [
        name if len(name) <= MAX_SHOWN_COLUMN else name[:MAX_SHOWN_COLUMN] + "…"
        for name in columns[:MAX_SHOWN_COLUMNS]
    ]
    more = len(columns) - len(shown)
    zh = f"以下列未导入（不是可识别的表头，请核对）：{'、'.join(shown)}"
    en = f"columns not imported (not headers twores reads; check them): {', '.join(shown)}"
    if more > 0:
        zh += f" 等 {len(columns)} 个（另有 {more} 个未列出）"
        en += f" and {more:,} more ({len(columns):,} in all)"
    return zh, en
