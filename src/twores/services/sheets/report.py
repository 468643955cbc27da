"""The row-level error report written beside a rejected file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from twores.services.exports import write_table
from twores.services.sheets.parsing import RowError

HEADERS = ("行号", "序号", "列", "值", "错误代码", "原因", "reason")


#: Endings dropped from a file's name to name its report (台账.csv.xz -> 台账.errors.csv).
_ENDINGS = (".xz", ".gz", ".csv", ".xlsx", ".xlsm", ".xls")


def report_path(source: Path) -> Path:
    """``<name>.errors.csv`` (or ``.xlsx`` for a workbook) beside ``source``: its name
    without the file-type endings, so a.v1.csv and a.v2.csv get reports of their own."""
    stem = source.name
    while (ending := next((e for e in _ENDINGS if stem.lower().endswith(e)), None)) is not None:
        stem = stem[: -len(ending)]
    suffix = ".xlsx" if source.suffix.lower() in (".xlsx", ".xlsm", ".xls") else ".csv"
    return source.with_name(f"{stem}.errors{suffix}")


def write_report(errors: Sequence[RowError], source: Path) -> Path:
    target = report_path(source)
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
