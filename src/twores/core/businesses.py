"""Food businesses (包保主体): identity, type, scale, status, grades and staff."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import attrs
from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidLength,
    ValidationError,
)

from twores.core.areas import _check_code, check_date_range
from twores.core.errors import (
    InvalidDateError,
    InvalidGradeError,
    InvalidLicenceError,
    InvalidUSCCError,
    InvalidValueError,
    MissingValueError,
)
from twores.core.labels import LabelledEnum, clean_text
from twores.core.texts import CONTROL_CHARACTER, checked_limit, checked_text, clean_person_name


class Grade(LabelledEnum):
    """Assignment grade (包保分级): decides the tier of the cadre who takes the business."""

    A = ("A", "A级", "grade A")
    B = ("B", "B级", "grade B")
    C = ("C", "C级", "grade C")
    D = ("D", "D级", "grade D")

    @classmethod
    def _error(cls, field: str, value: object, choices: str) -> InvalidValueError:
        return InvalidGradeError(field, value, "包保等级应为 A、B、C 或 D", "expected A, B, C or D")


class RiskLevel(LabelledEnum):
    """Regulator risk grade (风险等级, 2016 CFDA rules): A is the *lowest* risk.

    Independent of :class:`Grade`; a business carries both.
    """

    A = ("A", "A级风险", "risk A")
    B = ("B", "B级风险", "risk B")
    C = ("C", "C级风险", "risk C")
    D = ("D", "D级风险", "risk D")

    @classmethod
    def _error(cls, field: str, value: object, choices: str) -> InvalidValueError:
        return InvalidGradeError(field, value, "风险等级应为 A、B、C 或 D", "expected A, B, C or D")


class BusinessType(LabelledEnum):
    """Business type (业态)."""

    PRODUCTION = ("production", "食品生产", "food production", ("生产", "食品生产企业"))
    SALES = ("sales", "食品销售", "food sales", ("销售", "流通", "食品流通"))
    CATERING = ("catering", "餐饮服务", "catering", ("餐饮", "餐饮服务企业"))
    CANTEEN = (
        "canteen",
        "集中用餐单位",
        "canteen",
        ("食堂", "单位食堂", "集中用餐", "集体用餐", "学校食堂"),
    )
    SPECIAL_FOOD = ("special_food", "特殊食品", "special food", ("特殊食品生产", "保健食品"))
    WORKSHOP = ("workshop", "食品小作坊", "food workshop", ("小作坊", "作坊"))
    VENDOR = ("vendor", "食品摊贩", "food vendor", ("摊贩", "小摊点", "食品小摊点"))


class Scale(LabelledEnum):
    """Business scale (规模)."""

    LARGE = ("large", "大型", "large", ("大",))
    MEDIUM = ("medium", "中型", "medium", ("中",))
    SMALL = ("small", "小型", "small", ("小",))
    MICRO = ("micro", "微型", "micro", ("微", "小微", "小微型"))


class CanteenKind(LabelledEnum):
    """What a canteen serves (集中用餐单位类别); drives the director thresholds."""

    KINDERGARTEN = ("kindergarten", "托幼机构", "kindergarten", ("幼儿园", "托育机构"))
    SCHOOL = ("school", "学校", "school", ("学校食堂", "中小学", "高校"))
    ELDERLY_CARE = ("elderly_care", "养老机构", "elderly care", ("养老院", "敬老院"))
    OTHER = ("other", "其他单位", "other", ("机关", "企事业单位", "医院"))


class OperatingStatus(LabelledEnum):
    """Operating status (经营状态)."""

    OPERATING = ("operating", "在营", "operating", ("在产", "在业", "营业", "正常", "存续"))
    SUSPENDED = ("suspended", "停业", "suspended", ("歇业", "停产", "暂停"))
    CLOSED = ("closed", "注销", "closed", ("关闭", "已注销"))
    REVOKED = ("revoked", "吊销", "licence revoked", ("已吊销", "撤销"))

    @property
    def in_scope(self) -> bool:
        """Whether the business still needs an assigned cadre (suspended ones stay)."""
        return self in IN_SCOPE_STATUSES


#: Statuses that keep a business under assignment.
IN_SCOPE_STATUSES = frozenset({OperatingStatus.OPERATING, OperatingStatus.SUSPENDED})


LICENSED_PREFIX: dict[BusinessType, str] = {
    BusinessType.PRODUCTION: "SC",
    BusinessType.SPECIAL_FOOD: "SC",
    BusinessType.SALES: "JY",
    BusinessType.CATERING: "JY",
    BusinessType.CANTEEN: "JY",
}
PROVINCE_CODES = frozenset(
    {
        *("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36"),
        *("37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62"),
        *("63", "64", "65", "71", "81", "82"),
    }
)
_LICENCE_RE = re.compile(r"^(JY|SC)(\d{14})$")
_REGISTRATION_RE = re.compile(r"^[0-9A-Z\u3400-\u9fff〔〕\[\]()（）\-第号字]{4,40}$")
_PHONE_RE = re.compile(r"^\+?[0-9]{7,20}$")


_USCC_CANONICAL = re.compile(r"^[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}$")


def canonical_uscc(value: str) -> str:
    """Full-width, spaced or lower-case credit codes in canonical form (not validated)."""
    return clean_text(value).replace(" ", "").replace("-", "").upper()


def canonical_licence(value: str) -> str:
    """A licence or registration number as imports read it: NFKC (（2020） is (2020)),
    spaces dropped, upper case (not validated)."""
    return clean_text(value).replace(" ", "").upper()


def _licence_key(value: object) -> object:
    """The converter of ``FoodBusiness.licence_no``: text as :func:`canonical_licence` gives
    it, so a number stored through the API keeps its key when an export re-imports."""
    return canonical_licence(value) if isinstance(value, str) else value


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Each code character as the base-34 digit of the same value (0-9, then a-u for 10-30).
_AS_BASE_34 = str.maketrans(_USCC_ALPHABET, "0123456789abcdefghijklmnopqrstu")


def uscc_check_digit(canonical: str) -> str:
    """GB 32100-2015 check digit of an already canonical code (callers check its form first:
    ``int()`` would also read letters outside the code's alphabet).

    The standard weighs character i (from the left) by 3^i mod 31. As 34 = 3 (mod 31), the
    weighted sum mod 31 is the 17 characters read right to left as one base-34 number, mod
    31: one ``int()`` call in C instead of 17 multiplications in Python. Equals
    ``stdnum.cn.uscc.calc_check_digit`` (a property test holds them together) at 9x its
    speed; imports check one per row.
    """
    return _USCC_ALPHABET[-int(canonical[16::-1].translate(_AS_BASE_34), 34) % 31]


#: The largest whole number an INTEGER column holds (PostgreSQL, and SQLite via SQLAlchemy).
MAX_INT = 2_147_483_647
#: Longest texts the store keeps (the VARCHAR(n) columns of ``plugins/sqlalchemy/tables.py``,
#: which PostgreSQL enforces): a business's name, a cadre's name and post.
BUSINESS_NAME_MAX = 200
PERSON_NAME_MAX = 100
POST_MAX = 100


def max_length(limit: int) -> Any:
    """An attrs validator: an optional text field of at most ``limit`` characters, no
    control characters."""

    def check(instance: Any, attribute: attrs.Attribute[str | None], value: str | None) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            raise InvalidValueError(attribute.name, value, "应为文本", "must be text")
        checked_limit(value, attribute.name, limit)

    return check


def enum_of(cls: type[LabelledEnum], *, optional: bool = False) -> Any:
    """An attrs validator: a member of ``cls`` (or None when ``optional``). A text, even a
    spelling :meth:`LabelledEnum.parse` reads, is refused with a bilingual error: records
    hold members (``converter.structure`` and the importers read the spellings)."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        if value.__class__ is cls or (value is None and optional):
            return
        name = attribute.name
        try:
            member = cls.parse(value, field=name)
        except InvalidValueError as error:
            raise error from None
        raise type(cls._error(name, value, ""))(
            name,
            value,
            f"应为 {cls.__name__}.{member.name}（枚举成员），不是文本",
            f"must be the member {cls.__name__}.{member.name}, not text",
        )

    return check


def optional_date(instance: Any, attribute: attrs.Attribute[date | None], value: object) -> None:
    """An attrs validator: a ``date`` (not a datetime, not text) or None."""
    if value is not None and value.__class__ is not date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return  # a date subclass
        raise InvalidDateError(
            attribute.name,
            value,
            "应为日期（datetime.date），不是文本或时间",
            "must be a date (datetime.date), not text or a datetime",
        )


def _check_bool(instance: Any, attribute: attrs.Attribute[bool], value: object) -> None:
    if value is not True and value is not False:
        raise InvalidValueError(attribute.name, value, "应为是或否（bool）", "must be a bool")


def _check_text_type(attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidValueError(attribute.name, value, "应为文本", "must be text")


def _check_uscc(instance: Any, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    _check_text_type(attribute, value)
    if _USCC_CANONICAL.match(value):
        if uscc_check_digit(value) == value[-1]:
            return
        raise InvalidUSCCError(attribute.name, value, "校验码错误", "checksum mismatch")
    try:
        uscc.validate(value)
    except InvalidChecksum:
        raise InvalidUSCCError(attribute.name, value, "校验码错误", "checksum mismatch") from None
    except InvalidLength:
        raise InvalidUSCCError(
            attribute.name, value, "应为 18 位", "must be 18 characters"
        ) from None
    except ValidationError:
        raise InvalidUSCCError(attribute.name, value, "格式错误", "malformed") from None
    if value != canonical_uscc(value):
        raise InvalidUSCCError(
            attribute.name,
            value,
            "应为规范形式（半角大写）",
            "must be canonical (ASCII, upper case)",
        )


def _check_licence(
    instance: Any, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is None:
        return
    _check_text_type(attribute, value)
    match = _LICENCE_RE.match(value)
    if match:
        prefix, digits = match.groups()
        # JY: main type, province, city, county...; SC layouts vary (category or type first).
        if prefix == "JY" and digits[1:3] not in PROVINCE_CODES:
            raise InvalidLicenceError(
                attribute.name,
                value,
                f"其中的省份代码 {digits[1:3]} 不存在",
                f"its province segment {digits[1:3]} does not exist",
            )
        return
    if value.startswith(("JY", "SC")) or not _REGISTRATION_RE.match(value):
        raise InvalidLicenceError(
            attribute.name,
            value,
            "应为 JY 或 SC 加 14 位数字（小作坊、摊贩可为登记证号）",
            "expected JY or SC and 14 digits (workshops and vendors may give a registration no.)",
        )


def _check_optional_text(
    instance: Any, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise MissingValueError(attribute.name)


#: What people put between a phone number's digits.
_PHONE_SEPARATORS = str.maketrans("", "", " -().")
#: A whole number as WPS, pandas or Excel's "General" format write a number cell out as
#: text (13800138000.0, 450323101202.0): its digits, up to the 15 a number cell keeps.
_WHOLE_NUMBER = re.compile(r"([0-9]{1,15})\.0")
#: A mainland mobile number after China's country code (+86, 0086 or 86).
_COUNTRY_MOBILE = re.compile(r"(?:\+|00)?86(1[3-9][0-9]{9})")


def whole_number_text(text: str) -> str:
    """``text`` that spells a whole number as a number cell written out as text does
    (13800138000.0) as its digits, read as the same number in a number cell is; any other
    text as it is."""
    found = _WHOLE_NUMBER.fullmatch(text)
    return text if found is None else found.group(1)


def canonical_phone(value: str | None) -> str | None:
    """A phone number as stored: digits (and a leading +) only, so 183-7407-4002,
    183.7407.4002, (0773)2345678 and 183 7407 4002 name the same number as 18374074002;
    a mobile number after China's country code (+86 183-7407-4002, 0086…, 86…) is the
    number alone, and one a number cell wrote out as text (18374074002.0) its digits.
    Numbers already stored so (digits, or + and digits not a +86 mobile) stay as they are."""
    if value is None or not isinstance(value, str):
        return value  # checked_phone refuses it
    found = _WHOLE_NUMBER.fullmatch(value)
    digits = value.translate(_PHONE_SEPARATORS) if found is None else found.group(1)
    mobile = _COUNTRY_MOBILE.fullmatch(digits)
    return digits if mobile is None else mobile.group(1)


def checked_phone(value: str | None, field: str = "phone") -> str | None:
    """``value`` if it is a phone number as stored (or None), else an error naming ``field``."""
    if value is not None and (not isinstance(value, str) or not _PHONE_RE.match(value)):
        if isinstance(value, str) and "*" in value:
            raise masked_number(field, value)
        raise InvalidValueError(field, value, "不是有效的电话号码", "not a valid phone number")
    return value


def masked_number(field: str, value: str) -> InvalidValueError:
    """A phone or ID number masked for display (138****8000), as a masked export shows it:
    it names no one, so it cannot be stored."""
    return InvalidValueError(
        field,
        value,
        "是脱敏显示的号码（含 *），无法导入：请改用未脱敏导出的文件（twores export --unmask）"
        "，或填写完整号码",
        "a number masked for display (with *) cannot be imported: use an unmasked export "
        "(twores export --unmask) or give the whole number",
    )


def _check_phone(instance: Any, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    checked_phone(value, attribute.name)


def checked_id_number(value: str | None, field: str = "id_number") -> str | None:
    """``value`` if it is a valid resident ID number (or None), else an error naming ``field``."""
    if value is None:
        return None
    if not isinstance(value, str) or not _valid_ric(value):
        if isinstance(value, str) and "*" in value:
            raise masked_number(field, value)
        raise InvalidValueError(
            field, value, "不是有效的居民身份证号", "not a valid resident ID number"
        )
    return value


def _valid_ric(value: str) -> bool:
    """stdnum's check (length, digits, check character, birth date, a known region code),
    except that the region code need not have existed in the birth year: a number keeps
    the code of the county that first issued it (灵川县's 450323 dates from 1998, yet a
    灵川 resident born in 1990 received it when first issued a card there)."""
    try:
        ric.validate(value)
    except InvalidComponent:  # a bad birth date, or a region code unknown or out of years
        try:
            ric.get_birth_date(value)
        except ValidationError:
            return False
        regions = numdb.get("cn/loc").info(value[:6])
        return any("county" in found for _, found in regions)
    except ValidationError:
        return False
    return True


def _check_id_number(
    instance: Any, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    checked_id_number(value, attribute.name)


def _check_diners(instance: Any, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InvalidValueError(
            attribute.name, value, "应为非负整数", "must be a non-negative integer"
        )
    if value is not None and value > MAX_INT:
        raise InvalidValueError(
            attribute.name,
            value,
            f"不能超过 {MAX_INT:,}",
            f"must be at most {MAX_INT:,}",
        )


def _check_name(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise MissingValueError(attribute.name)
    if value != clean_text(value):
        raise InvalidValueError(
            attribute.name,
            value,
            "含有多余空格或全角字符",
            "has stray spaces or full-width characters",
        )
    if CONTROL_CHARACTER.search(value):
        checked_text(value, attribute.name)  # raises: NUL and the like


def name_of_at_most(limit: int) -> Any:
    """An attrs validator: a name (:func:`_check_name`) of at most ``limit`` characters."""

    def check(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
        _check_name(instance, attribute, value)
        if len(value) > limit:
            checked_limit(value, attribute.name, limit)

    return check


@attrs.frozen
class StaffMember:
    """A named person in one of the three roles (三人三责)."""

    name: str = attrs.field(converter=clean_person_name, validator=_check_name)
    phone: str | None = attrs.field(default=None, converter=canonical_phone, validator=_check_phone)
    id_number: str | None = attrs.field(default=None, validator=_check_id_number)
    #: Barred from serving as director or officer until this date (5-year ban).
    banned_until: date | None = attrs.field(default=None, validator=optional_date)

    def is_banned(self, on: date) -> bool:
        return self.banned_until is not None and on <= self.banned_until


def _check_member(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, StaffMember):
        raise InvalidValueError(
            attribute.name, value, "应为 StaffMember 或 None", "must be a StaffMember or None"
        )


@attrs.frozen
class Staff:
    """Enterprise head (主要负责人), food safety director (总监) and officer (安全员)."""

    head: StaffMember | None = attrs.field(default=None, validator=_check_member)
    director: StaffMember | None = attrs.field(default=None, validator=_check_member)
    officer: StaffMember | None = attrs.field(default=None, validator=_check_member)


def _check_staff(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Staff):
        raise InvalidValueError(attribute.name, value, "应为 Staff", "must be a Staff")


@attrs.frozen
class FoodBusiness:
    """A business under tiered assignment (包保主体).

    Identified by its licence number, or by its credit code when it has no licence.
    ``grade`` (包保分级) and ``risk_grade`` (风险等级) are independent.
    """

    name: str = attrs.field(validator=name_of_at_most(BUSINESS_NAME_MAX))
    area_code: str = attrs.field(validator=_check_code)
    business_type: BusinessType = attrs.field(validator=enum_of(BusinessType))
    licence_no: str | None = attrs.field(
        default=None, converter=_licence_key, validator=_check_licence
    )
    uscc: str | None = attrs.field(default=None, validator=_check_uscc)
    scale: Scale | None = attrs.field(default=None, validator=enum_of(Scale, optional=True))
    canteen_kind: CanteenKind | None = attrs.field(
        default=None, validator=enum_of(CanteenKind, optional=True)
    )
    #: Average diners per meal, for canteens and meal suppliers.
    diners: int | None = attrs.field(default=None, validator=_check_diners)
    chain_headquarters: bool = attrs.field(default=False, validator=_check_bool)
    status: OperatingStatus = attrs.field(
        default=OperatingStatus.OPERATING, validator=enum_of(OperatingStatus)
    )
    status_since: date | None = attrs.field(default=None, validator=optional_date)
    opened_on: date | None = attrs.field(default=None, validator=optional_date)
    grade: Grade | None = attrs.field(default=None, validator=enum_of(Grade, optional=True))
    risk_grade: RiskLevel | None = attrs.field(
        default=None, validator=enum_of(RiskLevel, optional=True)
    )
    staff: Staff = attrs.field(default=Staff(), validator=_check_staff)

    def __attrs_post_init__(self) -> None:
        if self.licence_no is None and self.uscc is None:
            raise MissingValueError("licence_no")
        expected = LICENSED_PREFIX.get(self.business_type)
        if self.licence_no is not None and expected and not self.licence_no.startswith(expected):
            raise InvalidLicenceError(
                "licence_no",
                self.licence_no,
                f"{self.business_type.zh}的许可证编号应以 {expected} 开头",
                f"a {self.business_type.en} licence starts with {expected}",
            )
        if self.canteen_kind is not None and self.business_type is not BusinessType.CANTEEN:
            raise InvalidValueError(
                "canteen_kind",
                self.canteen_kind.zh,
                "只有集中用餐单位有食堂类别",
                "only canteens have a canteen kind",
            )
        check_date_range(
            self.opened_on, self.status_since, "opened_on", "status_since", strict=False
        )

    @property
    def key(self) -> str:
        """The natural key: licence number, else credit code."""
        return self.licence_no or self.uscc or ""

    @property
    def in_scope(self) -> bool:
        return self.status.in_scope

    def status_on(self, day: date) -> OperatingStatus:
        """Its status at the end of ``day``: the recorded one once it took effect (or when
        its day is not known), operating before — a business suspended, closed or revoked
        later was still operating then."""
        since = self.status_since
        if self.status is OperatingStatus.OPERATING or since is None or since <= day:
            return self.status
        return OperatingStatus.OPERATING

    def opened_by(self, day: date) -> bool:
        """Whether it had opened by the end of ``day`` (yes when its opening day is not
        known): before that it owes nothing and no KPI counts it."""
        return self.opened_on is None or self.opened_on <= day

    def in_scope_on(self, day: date) -> bool:
        """Open, and operating or suspended, at the end of ``day``."""
        return self.opened_by(day) and self.status_on(day).in_scope
