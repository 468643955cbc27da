"""Cells of the files offices open in Excel: text never runs as a formula there.

A business name such as ``=HYPERLINK("http://…","点击")`` is data. In .xlsx every text is
written as a text cell (openpyxl would otherwise store a live formula, and #N/A or #REF!
an error value, which imports refuse); in CSV, which Excel parses as it opens it, text
starting like a formula (= + - @, tab, carriage return) gets a leading apostrophe, as
OWASP advises against CSV injection, and so does a number written with a + (a landline
+867732345678, which Excel would read as a number without its +). Imports take a leading
apostrophe off every text cell (:func:`unquoted`): that one, and the one clerks type (and
platforms export) before '450323…, '138… or 'JY1… to keep Excel from turning a code into
a number. So an export still re-imports to the same data: text that itself starts with an
apostrophe gets one more, in .xlsx too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?%?")


def csv_text(value: str) -> str:
    """``value`` as a CSV cell that Excel shows as the text it is."""
    if value.startswith(("+", "'")) or (
        value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value)
    ):
        return "'" + value  # a formula, +86… (a number to Excel), or a quote to keep
    return value


def _quoted(value: str) -> bool:
    """Text that starts with an apostrophe, which :func:`unquoted` would take off: one more
    keeps it whole (in .xlsx too, whose cells imports unquote alike)."""
    return value.startswith("'")


def unquoted(value: str) -> str:
    """A cell's text without its leading apostrophe: the one :func:`csv_text` put before
    it, or one typed to keep a code as text ('4503231011 -> 4503231011)."""
    return value[1:] if _quoted(value) else value


#: How a date cell shows its day.
DATE_FORMAT = "yyyy-mm-dd"


def xlsx_row(sheet: Any, values: Iterable[object]) -> list[object]:
    """``values`` for ``sheet.append``: every text as a text cell (never a formula or an
    error value such as #N/A), a date as a date cell shown yyyy-mm-dd, others as they are."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES

    row: list[object] = []
    for value in values:
        if isinstance(value, str):
            if _quoted(value):
                value = "'" + value
            if value.startswith("=") or value in ERROR_CODES:
                # openpyxl types these alone as a formula or an error; other text it
                # writes as text (an explicit cell for each costs exports 60% more time)
                cell = WriteOnlyCell(sheet, value)
                cell.data_type = "s"
                row.append(cell)
                continue
        elif isinstance(value, date) and not isinstance(value, datetime):
            cell = WriteOnlyCell(sheet)
            cell.value = value
            cell.number_format = DATE_FORMAT
            row.append(cell)
            continue
        row.append(value)
    return row


class ExcelErrorText(str):
    """The text of an Excel error value (#N/A, #REF!, …) as ``str()`` of its cell gives
    it: plain text to print or save, still known for an error by :func:`values.visible`,
    which every reader passes a cell's text through."""

    __slots__ = ()


class ExcelError(ExcelErrorText):
    """A workbook cell holding an Excel error value (a failed formula, such as a VLOOKUP
    that found nothing). It is never read as the empty cell Excel's file readers make of
    it: reading it as text raises :class:`values.FormulaError` (a row error)."""

    __slots__ = ()

    def __str__(self) -> str:
        # Still an error's text (readers stringify a cell first); str() of that is plain.
        return ExcelErrorText(str.__str__(self))
