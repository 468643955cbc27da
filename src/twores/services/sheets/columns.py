"""The headers offices use for each sheet, and their English aliases."""

from __future__ import annotations

from twores.services.sheets.reading import SERIAL_HEADERS, normalise_header

#: The licence number's headers: a sheet names the one licence its businesses hold.
LICENCE_HEADERS = (
    "许可证编号",
    "许可证号",
    "许可证号码",
    "食品经营许可证编号",
    "食品经营许可证号",
    "食品生产许可证编号",
    "食品生产许可证号",
    "licence no",
    "license no",
    "licence_no",
)
#: How a sheet of records names their business: its licence number, or its credit code.
BUSINESS_KEY_HEADERS = (*LICENCE_HEADERS, "主体标识", "统一社会信用代码", "business")
#: kind -> field -> accepted headers (the first is the canonical Chinese header).
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "businesses": {
        "name": (
            "主体名称",
            "单位名称",
            "企业名称",
            "经营者名称",
            "经营主体名称",
            "市场主体名称",
            "name",
            "business name",
        ),
        "uscc": (
            "统一社会信用代码",
            "社会信用代码",
            "信用代码",
            "统一信用代码",
            "uscc",
            "credit code",
        ),
        "licence_no": LICENCE_HEADERS,
        "area": (
            "所属区划",
            "区划代码",
            "所在区划",
            "行政区划代码",
            "所属行政区划",
            "area",
            "area code",
            "area_code",
        ),
        "business_type": ("业态", "主体业态", "经营业态", "business type", "type"),
        "scale": ("规模", "经营规模", "scale"),
        "status": ("经营状态", "状态", "status"),
        "grade": ("包保等级", "包保分级", "grade"),
        "risk_grade": ("风险等级", "风险分级", "风险级别", "risk grade", "risk"),
        "opened_on": ("成立日期", "开业日期", "opened on", "opened"),
        "status_since": ("状态变更日期", "status since"),
        "canteen_kind": ("食堂类别", "canteen kind"),
        "diners": ("就餐人数", "供餐人数", "diners"),
        "chain_headquarters": ("连锁总部", "chain headquarters"),
        # The cadre's own headers (包保干部职务, …) come first: a sheet that has them keeps its
        # plain 联系电话/身份证号 for the business or its head, and those are not read.
        "cadre_name": ("包保干部姓名", "包保干部", "cadre name", "cadre"),
        "cadre_post": ("包保干部职务", "干部职务", "职务", "cadre post", "post"),
        "cadre_tier": ("包保干部层级", "干部层级", "层级", "cadre tier", "tier"),
        "cadre_phone": (
            "包保干部联系电话",
            "包保干部电话",
            "干部联系电话",
            "干部电话",
            "联系电话",
            "cadre phone",
            "phone",
        ),
        "cadre_id_number": (
            "包保干部身份证号",
            "干部身份证号",
            "身份证号",
            "cadre id number",
            "id number",
        ),
        **{
            f"{role}_{part}": tuple(f"{label}{suffix}" for suffix in suffixes)
            for role, label in (
                ("head", "主要负责人"),
                ("director", "食品安全总监"),
                ("officer", "食品安全员"),
            )
            for part, suffixes in (
                ("name", ("", "姓名")),
                ("phone", ("电话", "联系电话", "手机")),
                ("id_number", ("身份证号",)),
                ("banned_until", ("禁业截止日期",)),
            )
        },
    },
    "cadres": {
        "id": ("干部编号", "cadre id", "id"),
        "name": ("包保干部姓名", "姓名", "干部姓名", "name"),
        "post": ("职务", "post"),
        "tier": ("层级", "tier"),
        "area": ("所属区划", "辖区", "area", "area code"),
        "phone": ("联系电话", "电话", "phone"),
        "id_number": ("身份证号", "id number"),
        "active_from": ("任职起始日期", "active from"),
        "active_to": ("任职截止日期", "active to"),
    },
    "assignments": {
        "business_key": BUSINESS_KEY_HEADERS,
        "cadre_id": ("干部编号", "cadre id"),
        "cadre_name": ("包保干部姓名", "cadre name"),
        "cadre_phone": ("联系电话", "phone"),
        "cadre_post": ("职务", "post"),
        "cadre_tier": ("包保干部层级", "干部层级", "层级", "cadre tier", "tier"),
        "valid_from": ("开始日期", "包保开始日期", "valid from"),
        "valid_to": ("结束日期", "包保结束日期", "valid to"),
        "reason": ("原因", "reason"),
    },
    "visits": {
        "business_key": BUSINESS_KEY_HEADERS,
        "cadre_id": ("干部编号", "包保干部编号", "cadre id"),
        "visited_on": ("督导日期", "检查日期", "visited on", "date"),
        "mode": ("督导方式", "方式", "mode"),
        "findings": ("发现问题", "存在问题", "findings"),
        "evidence": ("证据哈希", "照片哈希", "evidence"),
        "late_reason": ("补录原因", "late reason"),
        "answers": ("检查结果", "answers"),
        "severity": ("问题严重程度", "严重程度", "问题等级", "severity"),
    },
    "duties": {
        "business_key": BUSINESS_KEY_HEADERS,
        "kind": ("类型", "记录类型", "kind"),
        "on": ("日期", "记录日期", "date", "on"),
        "by_role": ("填报人角色", "角色", "role"),
        "by_name": ("填报人", "填报人姓名", "filed by"),
        "zero_risk": ("零风险", "零风险报告", "zero risk"),
        "findings": ("发现问题", "存在问题", "findings"),
    },
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "businesses": ("name", "area", "business_type"),
    "cadres": ("name", "area"),
    "assignments": ("business_key", "valid_from"),
    "visits": ("business_key", "cadre_id", "visited_on"),
    "duties": ("business_key", "kind", "on", "by_role", "by_name"),
}


def known_headers(kind: str) -> set[str]:
    return {normalise_header(h) for aliases in COLUMNS[kind].values() for h in aliases}


def map_columns(kind: str, header: list[str]) -> dict[str, str]:
    """field -> the header text this file uses for it."""
    by_normal = {normalise_header(h): h for h in header if h}
    found: dict[str, str] = {}
    for field, aliases in COLUMNS[kind].items():
        for alias in aliases:
            actual = by_normal.get(normalise_header(alias))
            if actual is not None and actual not in found.values():
                found[field] = actual
                break
    return found


def unread_columns(kind: str, header: list[str]) -> list[str]:
    """The named columns of ``header`` that no field of ``kind`` reads (reported, so that
    nothing a ledger holds is left out unsaid)."""
    columns = map_columns(kind, header)
    if kind == "businesses" and "cadre_name" not in columns:  # read only beside a cadre's name
        columns = {f: h for f, h in columns.items() if not f.startswith("cadre_")}
    read = set(columns.values())
    return [h for h in header if h and h not in read and normalise_header(h) not in SERIAL_HEADERS]
