"""The row-level error report of a rejected file: beside it, or in a folder of reports."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

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
    module wrote: the report's name, and its header row)."""
    target = report_path(source, folder)
    for stale in (target, target.with_suffix(".csv" if target.suffix == ".xlsx" else ".xlsx")):
        if stale.is_file() and _is_report(stale):
            stale.unlink(missing_ok=True)


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
