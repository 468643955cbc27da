"""Cells of the files offices open in Excel: text never runs as a formula there.

A business name such as ``=HYPERLINK("http://…","点击")`` is data. In .xlsx it is written
as a text cell (openpyxl would otherwise store a live formula); in CSV, which Excel parses
as it opens it, text starting like a formula (= + - @, tab, carriage return) gets a
leading apostrophe, as OWASP advises against CSV injection, and imports take that
apostrophe off again (:func:`unquoted`), so an export still re-imports to the same data;
text that itself starts with an apostrophe before such a character gets one more, in
.xlsx too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?%?")


def csv_text(value: str) -> str:
    """``value`` as a CSV cell that Excel shows as the text it is."""
    if (value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value)) or _quoted(value):
        return "'" + value
    return value


def _quoted(value: str) -> bool:
    """Text that already starts as :func:`csv_text` marks it: one more apostrophe keeps it
    whole through :func:`unquoted` (in .xlsx too, whose cells imports unquote alike)."""
    return value.startswith("'") and value.lstrip("'")[:1] in FORMULA_START


def unquoted(value: str) -> str:
    """A CSV cell's text without the apostrophe :func:`csv_text` put before it."""
    return value[1:] if _quoted(value) else value


def xlsx_row(sheet: Any, values: Iterable[object]) -> list[object]:
    """``values`` for ``sheet.append``, text starting with "=" as a text cell (not a formula)."""
    from openpyxl.cell import WriteOnlyCell

    row: list[object] = []
    for value in values:
        if isinstance(value, str) and _quoted(value):
            value = "'" + value
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"
            row.append(cell)
        else:
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
