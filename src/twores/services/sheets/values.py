"""Tolerant readers for the values offices type: dates, grades, codes, numbers, yes/no."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from twores.core.errors import InvalidDateError, InvalidValueError, MissingValueError
from twores.core.labels import clean_text

_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_TRUE = {"是", "有", "y", "yes", "true", "1", "√"}
_FALSE = {"否", "无", "n", "no", "false", "0", "×"}


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def text(value: object, field: str, *, required: bool = False) -> str | None:
    if blank(value):
        if required:
            raise MissingValueError(field)
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(str(value))


#: What ledgers put between a phone number's digits.
_PHONE_SEPARATORS = str.maketrans("", "", " -()")


def phone(value: object, field: str) -> str | None:
    """A phone number as stored: digits (and a leading +) only, so 183-7407-4002,
    (0773)2345678 and 183 7407 4002 name the same number as 18374074002."""
    found = text(value, field)
    return None if found is None else found.translate(_PHONE_SEPARATORS)


def integer(value: object, field: str) -> int | None:
    if blank(value):
        return None
    if isinstance(value, bool):
        raise InvalidValueError(field, value, "应为整数", "expected a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    cleaned = clean_text(str(value)).replace(",", "")
    if re.fullmatch(r"-?\d+", cleaned):
        return int(cleaned)
    raise InvalidValueError(field, value, "应为整数", "expected a whole number")


def boolean(value: object, field: str) -> bool | None:
    if blank(value):
        return None
    if isinstance(value, bool):
        return value
    cleaned = clean_text(str(value)).casefold()
    if cleaned in _TRUE:
        return True
    if cleaned in _FALSE:
        return False
    raise InvalidValueError(field, value, "应为“是”或“否”", "expected yes or no")


def day(value: object, field: str) -> date | None:
    """2023-03-15, 2023/3/15, 2023.3.15, 2023年3月15日, 20230315, Excel serials, datetimes."""
    if blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2958466 and float(value).is_integer() and value < 100000:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        value = str(int(value)) if float(value).is_integer() else str(value)
    cleaned = clean_text(str(value)).replace(" ", "")
    if re.fullmatch(r"\d{5}(\.0+)?", cleaned):
        return _EXCEL_EPOCH + timedelta(days=int(float(cleaned)))
    cleaned = cleaned.split("T")[0].split(" ")[0]
    for pattern in _DATE_PATTERNS:
        match = pattern.match(cleaned)
        if match:
            try:
                return date(*(int(g) for g in match.groups()))
            except ValueError:
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
    return clean_text(str(value)).upper().removesuffix("级").strip()
