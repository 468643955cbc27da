"""Column headers offices use in each kind of ledger, and matching them to fields."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from twores.core.labels import clean_text

KINDS = ("areas", "businesses", "cadres", "assignments")

#: kind -> canonical field -> accepted headers; the first is the canonical Chinese header.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "areas": {
        "code": ("区划代码", "行政区划代码", "代码", "code", "area code"),
        "name": ("区划名称", "行政区划名称", "名称", "name", "area name"),
        "parent_code": ("上级区划代码", "上级代码", "parent_code", "parent code", "parent"),
        "tier": ("层级", "级别", "tier", "level"),
    },
    "businesses": {
        "name": ("主体名称", "单位名称", "企业名称", "经营者名称", "name", "business name"),
        "uscc": ("统一社会信用代码", "社会信用代码", "信用代码", "uscc", "credit code"),
        "licence_no": (
            "许可证编号",
            "许可证号",
            "食品经营许可证号",
            "食品生产许可证号",
            "licence no",
            "license no",
            "licence_no",
        ),
        "area": ("所属区划", "所在区划", "区划代码", "所属区域", "area", "area code", "area_code"),
        "business_type": ("业态", "主体业态", "经营业态", "business type", "business_type", "type"),
        "scale": ("规模", "经营规模", "scale"),
        "status": ("经营状态", "状态", "status"),
        "status_since": ("状态变更日期", "status since", "status_since"),
        "grade": ("包保等级", "包保分级", "分级", "grade"),
        "risk_grade": ("风险等级", "风险分级", "risk grade", "risk_grade", "risk"),
        "opened_on": ("成立日期", "开业日期", "opened on", "opened_on"),
        "canteen_kind": ("食堂类别", "食堂类型", "canteen kind", "canteen_kind"),
        "diners": ("就餐人数", "供餐人数", "diners"),
        "chain_headquarters": ("连锁总部", "是否连锁总部", "chain headquarters"),
        "cadre_name": ("包保干部姓名", "包保干部", "干部姓名", "cadre name", "cadre"),
        "cadre_post": ("职务", "干部职务", "包保干部职务", "cadre post", "post"),
        "cadre_tier": ("层级", "干部层级", "包保层级", "cadre tier", "tier"),
        "cadre_phone": ("联系电话", "干部电话", "包保干部电话", "cadre phone", "phone"),
        "cadre_id_number": ("身份证号", "干部身份证号", "cadre id number", "id number"),
    },
    "cadres": {
        "id": ("干部编号", "cadre id", "id"),
        "name": ("包保干部姓名", "姓名", "干部姓名", "name"),
        "post": ("职务", "post"),
        "tier": ("层级", "干部层级", "tier"),
        "area": ("所属区划", "辖区", "区划代码", "area", "area code"),
        "phone": ("联系电话", "电话", "手机号码", "phone"),
        "id_number": ("身份证号", "身份证号码", "id number"),
        "active_from": ("任职起始日期", "任职日期", "active from"),
        "active_to": ("任职截止日期", "离任日期", "active to"),
    },
    "assignments": {
        "business_key": ("主体标识", "business key", "business"),
        "licence_no": ("许可证编号", "许可证号", "licence no", "license no"),
        "uscc": ("统一社会信用代码", "社会信用代码", "uscc", "credit code"),
        "cadre_id": ("干部编号", "包保干部编号", "cadre id"),
        "cadre_name": ("包保干部姓名", "干部姓名", "cadre name"),
        "cadre_phone": ("联系电话", "干部电话", "cadre phone", "phone"),
        "cadre_post": ("职务", "干部职务", "cadre post", "post"),
        "valid_from": ("开始日期", "包保开始日期", "valid from"),
        "valid_to": ("结束日期", "包保结束日期", "valid to"),
    },
}

#: Headers of the 序号 (serial number) column.
SERIAL_HEADERS = frozenset({"序号", "no", "no.", "#", "serial"})

#: kind -> groups of fields; each group needs at least one of its fields as a column.
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "areas": (("code",), ("name",)),
    "businesses": (("name",), ("area",), ("business_type",), ("licence_no", "uscc")),
    "cadres": (("name",), ("area",)),
    "assignments": (
        ("licence_no", "uscc", "business_key"),
        ("cadre_id", "cadre_name"),
        ("valid_from",),
    ),
}


def normalise_header(text: object) -> str:
    """NFKC, no spaces, case-folded, without a trailing ``*`` or ``（必填）``."""
    value = clean_text("" if text is None else str(text)).replace(" ", "").casefold()
    for suffix in ("*", "(必填)", "(选填)"):
        value = value.removesuffix(suffix)
    return value.strip("*")


@functools.cache
def lookup(kind: str) -> Mapping[str, str]:
    """Normalised header -> field, for ``kind`` (``None``-free; aliases earlier win)."""
    table: dict[str, str] = {}
    for field, aliases in ALIASES[kind].items():
        for alias in aliases:
            table.setdefault(normalise_header(alias), field)
    return table


def known_headers(kind: str | None) -> frozenset[str]:
    """Normalised headers that identify a header row of ``kind`` (any kind when None)."""
    kinds = KINDS if kind is None else (kind,)
    return frozenset(h for k in kinds for h in lookup(k))


def map_columns(kind: str, header: Iterable[str]) -> dict[str, str]:
    """Canonical field -> the header text this file uses for it (leftmost column wins)."""
    table = lookup(kind)
    found: dict[str, str] = {}
    for text in header:
        field = table.get(normalise_header(text))
        if field is not None and field not in found:
            found[field] = text
    return found


def canonical_header(kind: str, field: str) -> str:
    """The canonical Chinese header of ``field``."""
    return ALIASES[kind][field][0]


def missing_columns(kind: str, columns: Mapping[str, str]) -> list[str]:
    """For each required group absent from ``columns``, its first field."""
    return [group[0] for group in REQUIRED[kind] if not any(f in columns for f in group)]
