"""Tolerant readers for the values offices type: dates, grades, codes, numbers, yes/no."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from twores.core.businesses import canonical_phone, whole_number_text
from twores.core.errors import InvalidDateError, InvalidValueError, MissingValueError
from twores.core.labels import clean_text
from twores.core.texts import HAN_CHARACTERS, without_invisible
from twores.core.texts import INVISIBLE as INVISIBLE  # re-exported for the readers
from twores.core.texts import compact_name as compact_name
from twores.services.sheets.cells import ExcelErrorText, unquoted

_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
#: A time of day after a date: "2019/5/2 0:00", "2023-03-15 00:00:00", "2023-03-15T09:30".
_TIME_OF_DAY = re.compile(r"(?:T|\s+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp][Mm])?$")
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
#: Any Chinese character (a cell holding one is a name, not a code).
HAN = re.compile(f"[{HAN_CHARACTERS}]")
_TRUE = {"是", "有", "y", "yes", "true", "1", "√", "✓", "✔", "☑"}
_FALSE = {"否", "无", "n", "no", "false", "0", "×", "✗", "✘"}


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def visible(value: str) -> str:
    """``value`` without the characters that show as nothing (:data:`INVISIBLE`); the
    text of an Excel error cell (#N/A…: :class:`cells.ExcelError`) raises
    :class:`FormulaError`, so every reader refuses it, whatever its column."""
    if value.__class__ is not str and isinstance(value, ExcelErrorText):
        raise FormulaError("cell", str.__str__(value))
    return without_invisible(value)


def clean(value: str) -> str:
    """:func:`clean_text` of the visible characters: what every text cell is read as, its
    leading apostrophe taken off (:func:`cells.unquoted`: the one typed to keep '4503… or
    '138… as text, or a CSV export's before text that starts like a formula)."""
    found = clean_text(visible(value))
    return unquoted(found).lstrip() if found.startswith("'") else found


def whole_number(text: str) -> str:
    """A whole number written as text the way WPS, pandas or Excel's "General" format write
    a number cell (450323101202.0, 13800138000.0; at most 15 digits, as a number cell
    keeps) as its digits, read as that number cell is; other text as it is."""
    return whole_number_text(text)


def text(value: object, field: str, *, required: bool = False) -> str | None:
    if blank(value):
        if required:
            raise MissingValueError(field)
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    found = clean(str(value))
    if required and not found:
        raise MissingValueError(field)  # only invisible characters
    return found or None


def person_name(value: object, field: str, *, required: bool = False) -> str | None:
    """A person's name (cadre or staff): :func:`text`, then :func:`compact_name` (as
    ``core.texts.clean_person_name``, the models' converter, gives it)."""
    found = text(value, field, required=required)
    return None if found is None else compact_name(found)


class DigitsLostError(InvalidValueError):
    """A code Excel stored as a number: past 15 digits it keeps only zeros."""

    code = "digits_lost"

    def __init__(self, field: str, value: object) -> None:
        super().__init__(
            field,
            value,
            "以数字形式保存，末尾数字已丢失，请将该列设为文本后重新录入",
            "stored as a number: digits were lost; format the column as text and re-enter it",
        )


class FormulaError(InvalidValueError):
    """A cell holding an Excel error value (#N/A, #REF!, #VALUE!…): its formula failed."""

    code = "formula_error"

    def __init__(self, field: str, value: object) -> None:
        super().__init__(
            field,
            value,
            "单元格是 Excel 错误值（公式出错，如 VLOOKUP 未找到），请修正公式或直接填写该值",
            "the cell holds an Excel error (its formula failed, e.g. a VLOOKUP found "
            "nothing); fix the formula or type the value",
        )


#: How Excel writes a long number it holds (and so a CSV it saves): 9.24503E+17.
_SCIENTIFIC = re.compile(r"\s*[0-9](?:\.[0-9]+)?[Ee]\+[0-9]{1,3}\s*")
#: Excel keeps 15 significant digits of a number; a longer code typed as one loses the rest.
_EXACT_DIGITS = 10**15


def code_text(value: object, field: str) -> str | None:
    """A code cell (licence, registration or credit code) as text: a whole number stored as
    a number reads as its digits (4503231234.0 -> "4503231234"), and so does its spelling
    as text (a CSV's "4503231234.0": :func:`whole_number`); a number too long to be kept
    exactly (9.25E+17), or its scientific spelling in a CSV, is an error, not a code with
    its last digits turned to zeros."""
    if blank(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if abs(value) >= _EXACT_DIGITS:
            raise DigitsLostError(field, value)
        return str(int(value)) if float(value).is_integer() else str(value)
    found = clean(str(value))
    if scientific(found):
        raise DigitsLostError(field, value)
    return whole_number(found)


def id_number(value: object, field: str) -> str | None:
    """An ID number cell (居民身份证号) as text, upper-cased (a final x is X); one Excel
    stored as a number has lost its last digits (it keeps 15 of the 18): that, or its
    1.10101E+17 spelling in a CSV, is a :class:`DigitsLostError`, not an invalid number."""
    if blank(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if abs(value) >= _EXACT_DIGITS:
            raise DigitsLostError(field, value)
        value = str(int(value)) if float(value).is_integer() else str(value)
    found = clean(str(value))
    if scientific(found):
        raise DigitsLostError(field, value)
    return whole_number(found).upper() or None


def scientific(text: str) -> bool:
    """Whether ``text`` is a number in Excel's scientific spelling (9.24503E+17): what a
    CSV it saved holds for a long code or phone number, its digits lost."""
    return "+" in text and _SCIENTIFIC.fullmatch(text) is not None


def phone(value: object, field: str) -> str | None:
    """A phone number as stored (``canonical_phone``: separators and a +86 before a mobile
    number dropped, 13800138000.0 read as 13800138000)."""
    found = text(value, field)
    if found is not None and scientific(found):
        raise DigitsLostError(field, value)
    return canonical_phone(found)


def integer(value: object, field: str) -> int | None:
    if blank(value):
        return None
    if isinstance(value, bool):
        raise InvalidValueError(field, value, "应为整数", "expected a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    cleaned = whole_number(clean(str(value)).replace(",", ""))
    if re.fullmatch(r"-?\d+", cleaned):
        return int(cleaned)
    raise InvalidValueError(field, value, "应为整数", "expected a whole number")


def boolean(value: object, field: str) -> bool | None:
    if blank(value):
        return None
    if isinstance(value, bool):
        return value
    cleaned = clean(str(value)).casefold()
    if cleaned in _TRUE:
        return True
    if cleaned in _FALSE:
        return False
    raise InvalidValueError(field, value, "应为“是”或“否”", "expected yes or no")


def day(value: object, field: str) -> date | None:
    """2023-03-15, 2023/3/15, 2023.3.15, 2023年3月15日, 20230315, Excel serials, datetimes;
    a time of day after the date (2019/5/2 0:00, 44999.375) is dropped."""
    if blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 10000 <= value < 100000:  # an Excel serial (1927 on); a fraction is the time of day
            return _EXCEL_EPOCH + timedelta(days=int(value))
        value = str(int(value)) if float(value).is_integer() else str(value)
    cleaned = whole_number(_TIME_OF_DAY.sub("", clean(str(value))).replace(" ", ""))
    if _SERIAL.fullmatch(cleaned):
        return _EXCEL_EPOCH + timedelta(days=int(float(cleaned)))
    for pattern in _DATE_PATTERNS:
        match = pattern.match(cleaned)
        if match:
            year, month, day_of_month = (int(g) for g in match.groups())
            try:
                return date(year, month, day_of_month)
            except ValueError:
                if year >= 1 and 1 <= month <= 12 and day_of_month >= 1:  # no such day
                    raise InvalidDateError(
                        field,
                        value,
                        f"该日期不存在（{year}年{month}月没有{day_of_month}日）",
                        f"no such day ({year}-{month:02d} has no day {day_of_month})",
                    ) from None
                break
    raise InvalidDateError(
        field,
        value,
        "日期无法识别（如 2023-03-15、2023年3月15日）",
        "unreadable date (e.g. 2023-03-15)",
    )


def grade_text(value: object) -> object:
    """'A级', 'ａ', ' B ' -> 'A', 'A', 'B' (left for Grade.parse to judge)."""
    if blank(value):
        return value
    return clean(str(value)).upper().removesuffix("级").strip()
