"""Tolerant readers for the values offices type into ledgers.

Each takes the raw cell and the field name, returns the clean value (``None`` for an empty
optional cell) and raises an :class:`InvalidValueError` naming the field and the raw value.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import attrs

from twores.core.areas import canonical_area_code
from twores.core.businesses import (
    FoodBusiness,
    Grade,
    RiskLevel,
    StaffMember,
    canonical_licence,
    canonical_uscc,
)
from twores.core.cadres import Cadre
from twores.core.errors import InvalidDateError, InvalidValueError, MissingValueError
from twores.core.labels import LabelledEnum, clean_text

E = TypeVar("E", bound=LabelledEnum)

EXCEL_EPOCH = date(1899, 12, 30)
#: Excel serial days read as dates: 10000 (1927-05-18) to 99999 (2173-10-14).
SERIAL_RANGE = range(10_000, 100_000)
_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME_RE = re.compile(r"^(.+?)[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_SERIAL_RE = re.compile(r"^\d{5}(\.\d+)?$")
_TRAILING_ZERO_DECIMALS = re.compile(r"(?<=\d)\.0+$")
_INTEGER_RE = re.compile(r"^[+-]?\d+$")
_TRUE = frozenset({"是", "有", "y", "yes", "true", "1", "√", "✓"})
_FALSE = frozenset({"否", "无", "n", "no", "false", "0", "×", "✗"})


def is_blank(value: object) -> bool:
    """None, an empty string or only whitespace."""
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def shown(value: object) -> str:
    """A raw cell as the user typed it: 450323.0 -> '450323', dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _absent(value: object, field: str, required: bool) -> bool:
    if is_blank(value):
        if required:
            raise MissingValueError(field)
        return True
    return False


def text(value: object, field: str, *, required: bool = False) -> str | None:
    """NFKC, trimmed, inner whitespace collapsed; 18374074002.0 -> '18374074002'."""
    if _absent(value, field, required):
        return None
    return clean_text(shown(value))


def compact(value: object, field: str, *, required: bool = False) -> str | None:
    """Like :func:`text` with every space removed (codes, phone numbers)."""
    cleaned = text(value, field, required=required)
    return None if cleaned is None else cleaned.replace(" ", "")


def day(value: object, field: str, *, required: bool = False) -> date | None:
    """2023-03-15, 2023年3月15日, 2023/3/15, 2023.3.15, 20230315, 44997, dates and datetimes."""
    if _absent(value, field, required):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise _bad_date(field, value)
    cleaned = clean_text(shown(value))
    with_time = _TIME_RE.match(cleaned)
    cleaned = (with_time.group(1) if with_time else cleaned).replace(" ", "")
    if _SERIAL_RE.match(cleaned):
        serial = int(float(cleaned))
        if serial in SERIAL_RANGE:
            return EXCEL_EPOCH + timedelta(days=serial)
    match = _DATE_RE.match(cleaned) or _COMPACT_DATE_RE.match(cleaned)
    if match is None:
        raise _bad_date(field, value)
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise InvalidDateError(field, value, "不是真实存在的日期", "no such calendar day") from None


def _bad_date(field: str, value: object) -> InvalidDateError:
    return InvalidDateError(
        field,
        value,
        "无法识别的日期（可写 2023-03-15、2023年3月15日、2023/3/15）",
        "unreadable date (write 2023-03-15, 2023/3/15 or 2023年3月15日)",
    )


def choice(enum: type[E], value: object, field: str, *, required: bool = False) -> E | None:
    """A member of a labelled enum from its Chinese or English label or an alias."""
    if _absent(value, field, required):
        return None
    cleaned = clean_text(shown(value))
    try:
        return enum.parse(cleaned, field=field)
    except InvalidValueError as error:
        squeezed = cleaned.replace(" ", "")
        if squeezed != cleaned:
            try:
                return enum.parse(squeezed, field=field)
            except InvalidValueError:
                pass
        raise _with_value(error, value) from None


def grade(
    value: object, field: str, *, required: bool = False, enum: type[E] = Grade
) -> E | None:
    """A grade as ledgers write it: 'A级', 'a', 'Ａ', ' B ', 'ｄ'."""
    if _absent(value, field, required):
        return None
    cleaned = clean_text(shown(value)).replace(" ", "")
    try:
        return enum.parse(cleaned.removesuffix("级"), field=field)
    except InvalidValueError as error:
        try:
            return enum.parse(cleaned, field=field)
        except InvalidValueError:
            raise _with_value(error, value) from None


def risk_grade(value: object, field: str, *, required: bool = False) -> RiskLevel | None:
    """A regulator risk grade: 'A', 'A级', 'A级风险'."""
    return grade(value, field, required=required, enum=RiskLevel)


def credit_code(value: object, field: str, *, required: bool = False) -> str | None:
    """A unified social credit code, canonical and checksum-validated."""
    cleaned = text(value, field, required=required)
    if cleaned is None:
        return None
    return _validated(FoodBusiness, "uscc", canonical_uscc(cleaned), field, value)


def licence(value: object, field: str, *, required: bool = False) -> str | None:
    """A licence (JY/SC and 14 digits) or registration number, canonical and validated."""
    cleaned = text(value, field, required=required)
    if cleaned is None:
        return None
    return _validated(FoodBusiness, "licence_no", canonical_licence(cleaned), field, value)


def area_code(value: object, field: str, *, required: bool = False) -> str | None:
    """450323, 450323.0, '４５０３２３' or the padded 450323000000 -> '450323'."""
    if _absent(value, field, required):
        return None
    typed = value
    if isinstance(value, str):
        typed = _TRAILING_ZERO_DECIMALS.sub("", clean_text(value).replace(" ", ""))
    try:
        return canonical_area_code(typed, field=field)
    except InvalidValueError as error:
        raise _with_value(error, value) from None


def phone(value: object, field: str, *, required: bool = False) -> str | None:
    """A phone number without spaces, validated."""
    cleaned = compact(value, field, required=required)
    if cleaned is None:
        return None
    return _validated(StaffMember, "phone", cleaned, field, value)


def id_number(value: object, field: str, *, required: bool = False) -> str | None:
    """A resident ID number (身份证号), upper case, validated."""
    cleaned = compact(value, field, required=required)
    if cleaned is None:
        return None
    return _validated(StaffMember, "id_number", cleaned.upper(), field, value)


def boolean(value: object, field: str, *, required: bool = False) -> bool | None:
    """是/否, 有/无, Y/N, 1/0, true/false."""
    if _absent(value, field, required):
        return None
    if isinstance(value, bool):
        return value
    cleaned = clean_text(shown(value)).casefold()
    if cleaned in _TRUE:
        return True
    if cleaned in _FALSE:
        return False
    raise InvalidValueError(field, value, "应为“是”或“否”", "expected yes or no")


def integer(value: object, field: str, *, required: bool = False) -> int | None:
    """A whole number: 120, 120.0, '1,200', '120人'."""
    if _absent(value, field, required):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    cleaned = clean_text(shown(value)).replace(",", "").replace(" ", "").removesuffix("人")
    if not isinstance(value, bool) and _INTEGER_RE.match(cleaned):
        return int(cleaned)
    raise InvalidValueError(field, value, "应为整数", "expected a whole number")


def _validated(cls: type, attribute: str, value: str, field: str, raw: object) -> str:
    """Run the domain's own validator of ``cls.attribute`` on ``value``."""
    spec: Any = getattr(attrs.fields(cls), attribute)
    try:
        spec.validator(None, spec, value)
    except InvalidValueError as error:
        raise _with_value(error, raw, field) from None
    return value


def _with_value(
    error: InvalidValueError, raw: object, field: str | None = None
) -> InvalidValueError:
    """The same error (same class and reason) naming ``field`` and the raw cell value."""
    clone = type(error).__new__(type(error))
    InvalidValueError.__init__(
        clone, field or error.field, raw, error.reason_zh, error.reason_en, row=error.row
    )
    return clone


def identifier(value: object, field: str, *, required: bool = False) -> str | None:
    """A record id (干部编号): 1-64 letters, digits or ``_ . : -``."""
    cleaned = compact(value, field, required=required)
    if cleaned is None:
        return None
    return _validated(Cadre, "id", cleaned, field, value)
