"""The TworesError hierarchy.

Every error carries a stable ``code`` (for programs), and a message in Chinese and in
English (for people) that names the field and the value at fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar, Literal

Lang = Literal["zh", "en"]

#: Field name -> (Chinese label, English label), used in every field-level message.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "code": ("区划代码", "area code"),
    "name": ("名称", "name"),
    "tier": ("层级", "tier"),
    "parent_code": ("上级区划代码", "parent area code"),
    "area_code": ("所属区划", "area code"),
    "description": ("问题描述", "description"),
    "valid_from": ("生效日期", "valid from"),
    "valid_to": ("失效日期", "valid to"),
    "licence_no": ("许可证编号", "licence number"),
    "uscc": ("统一社会信用代码", "unified social credit code"),
    "business_type": ("业态", "business type"),
    "scale": ("规模", "scale"),
    "canteen_kind": ("食堂类别", "canteen kind"),
    "diners": ("就餐人数", "diners per meal"),
    "chain_headquarters": ("连锁总部", "chain headquarters"),
    "status": ("经营状态", "operating status"),
    "status_since": ("状态变更日期", "status since"),
    "opened_on": ("成立日期", "opened on"),
    "grade": ("包保等级", "assignment grade"),
    "risk_grade": ("风险等级", "risk grade"),
    "staff": ("人员", "staff"),
    "head": ("主要负责人", "head"),
    "director": ("食品安全总监", "food safety director"),
    "officer": ("食品安全员", "food safety officer"),
    "banned_until": ("禁业截止日期", "banned until"),
    "phone": ("联系电话", "phone"),
    "id_number": ("身份证号", "ID number"),
    "id": ("编号", "id"),
    "post": ("职务", "post"),
    "active_from": ("任职起始日期", "active from"),
    "active_to": ("任职截止日期", "active to"),
    "cadre_id": ("包保干部编号", "cadre id"),
    "business_key": ("主体标识", "business key"),
    "reason": ("原因", "reason"),
    "kind": ("类型", "kind"),
    "as_of": ("统计截止日", "as-of day"),
    "start": ("开始日期", "start"),
    "end": ("结束日期", "end"),
    "visited_on": ("督导日期", "visit date"),
    "recorded_at": ("录入时间", "recorded at"),
    "mode": ("督导方式", "visit mode"),
    "answers": ("检查结果", "checklist answers"),
    "evidence": ("证据哈希", "evidence hash"),
    "findings": ("发现问题", "findings"),
    "late_reason": ("补录原因", "late-entry reason"),
    "exempt_reason": ("免于督导原因", "exemption reason"),
    "checklist": ("检查表", "checklist"),
    "file_name": ("文件名", "file name"),
    "signed_on": ("签订日期", "signed on"),
    "by_role": ("填报人角色", "filed by role"),
    "by_name": ("填报人", "filed by"),
    "on": ("日期", "date"),
    "at": ("时间", "time"),
    "period": ("周期", "period"),
    "year": ("年度", "year"),
    "deadline": ("整改期限", "deadline"),
    "note": ("说明", "note"),
    "action": ("操作", "action"),
    "severity": ("严重程度", "severity"),
    "problem_status": ("问题状态", "problem status"),
    "counterparty": ("签订对象", "counterparty"),
    "username": ("用户名", "username"),
    "display_name": ("显示名称", "display name"),
    "password": ("密码", "password"),
    "role": ("角色", "role"),
    "actor": ("操作人", "actor"),
    "within": ("查询范围", "area filter"),
    "limit": ("条数上限", "limit"),
    "offset": ("起始位置", "offset"),
    "overdue": ("仅看逾期", "overdue only"),
    "overdue_on": ("逾期截至日期", "overdue on"),
    "cadre_offset": ("干部列表起始位置", "cadre list offset"),
    "problem_id": ("问题编号", "problem id"),
    "format": ("格式", "format"),
    "file": ("文件", "file"),
    "path": ("文件路径", "path"),
    "value": ("取值", "value"),
    "businesses": ("主体数", "businesses"),
    "cadres": ("干部数", "cadres"),
}


def field_label(field: str, lang: Lang) -> str:
    """The label of the last segment of a field path, e.g. ``staff.director.name``."""
    last = field.rsplit(".", 1)[-1].split("[", 1)[0]
    zh, en = FIELD_LABELS.get(last, (last, last))
    return zh if lang == "zh" else en


def _show(value: object) -> str:
    """A value as a user typed it: no Python quoting, an empty one as nothing."""
    if value is None:
        text = ""
    elif isinstance(value, tuple | list | set | frozenset):
        text = "、".join(map(_show, value))
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def labelled(field: str, lang: Lang, *, label_of: str | None = None) -> str:
    """``label（field）``, or the bare field when it has no label of its own; ``label_of``:
    the field whose label to show (a field named alike elsewhere, e.g. a problem's
    ``status``, labelled as ``problem_status``)."""
    label = field_label(label_of or field, lang)
    if label == (label_of or field).rsplit(".", 1)[-1]:
        return field
    return f"{label}（{field}）" if lang == "zh" else f"{label} ({field})"


class TworesError(Exception):
    """Base of every error twores raises on purpose."""

    code: ClassVar[str] = "error"

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} | {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en

    def message(self, lang: Lang = "zh") -> str:
        """The message in one language."""
        return self.message_zh if lang == "zh" else self.message_en

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description: code and both messages."""
        return {"code": self.code, "zh": self.message_zh, "en": self.message_en}


class InvalidValueError(TworesError):
    """A field holds a value the domain does not accept."""

    code = "invalid_value"

    def __init__(
        self, field: str, value: object, reason_zh: str, reason_en: str, *, row: int | None = None
    ) -> None:
        self.field = field
        self.value = value
        self.reason_zh = reason_zh
        self.reason_en = reason_en
        self.row = row
        where_zh = f"第{row}行 " if row is not None else ""
        where_en = f"row {row}: " if row is not None else ""
        shown = _show(value)
        super().__init__(
            f"{where_zh}{labelled(field, 'zh')}的值“{shown}”无效：{reason_zh}",
            f"{where_en}invalid {labelled(field, 'en')} value '{shown}': {reason_en}",
        )

    def at(self, prefix: str | None = None, *, row: int | None = None) -> InvalidValueError:
        """The same error, located under a path prefix and/or at a ledger row."""
        field = f"{prefix}.{self.field}" if prefix else self.field
        if self.field.startswith("[") and prefix:
            field = f"{prefix}{self.field}"
        clone = type(self).__new__(type(self))
        InvalidValueError.__init__(
            clone,
            field,
            self.value,
            self.reason_zh,
            self.reason_en,
            row=self.row if row is None else row,
        )
        return clone

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data.update(field=self.field, value=_show(self.value), row=self.row)
        return data


class MissingValueError(InvalidValueError):
    code = "missing_value"

    def __init__(self, field: str, *, row: int | None = None) -> None:
        super().__init__(field, "", "必填项为空", "a value is required", row=row)


class InvalidUSCCError(InvalidValueError):
    code = "invalid_uscc"


class InvalidAreaCodeError(InvalidValueError):
    code = "invalid_area_code"


class NotFoundError(InvalidValueError):
    """A record the caller names is unknown or outside their scope (the two are not told
    apart, so a scope does not reveal what lies beyond it)."""

    code = "not_found"


class InvalidLicenceError(InvalidValueError):
    code = "invalid_licence_no"


class InvalidGradeError(InvalidValueError):
    code = "invalid_grade"


class InvalidDateError(InvalidValueError):
    code = "invalid_date"


class DateAheadError(InvalidDateError):
    """A date of something that has happened lies after the day it is entered."""

    code = "date_ahead"


class InvalidChoiceError(InvalidValueError):
    """A value outside a closed set of choices (an enum)."""

    code = "invalid_choice"


class InvalidPeriodError(InvalidValueError):
    code = "invalid_period"


class StructureError(TworesError):
    """Structured data with one or more bad fields; lists every one of them."""

    code = "invalid_data"

    def __init__(self, type_name: str, errors: Sequence[InvalidValueError]) -> None:
        self.type_name = type_name
        self.errors: tuple[InvalidValueError, ...] = tuple(errors)
        count = len(self.errors)
        zh = "；".join(e.message_zh for e in self.errors)
        en = "; ".join(e.message_en for e in self.errors)
        super().__init__(
            f"{type_name} 数据有 {count} 处错误：{zh}",
            f"{type_name} data has {count} error(s): {en}",
        )

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(e.field for e in self.errors)

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data["errors"] = [e.to_dict() for e in self.errors]
        return data


class HierarchyError(TworesError):
    """Areas that do not form a consistent hierarchy; lists every problem found."""

    code = "invalid_hierarchy"

    def __init__(self, problems: Iterable[InvalidValueError]) -> None:
        self.problems = tuple(problems)
        shown = self.problems[:20]
        more = len(self.problems) - len(shown)
        tail_zh = f"；另有 {more} 处" if more else ""
        tail_en = f"; and {more} more" if more else ""
        super().__init__(
            "区划层级不一致：" + "；".join(p.message_zh for p in shown) + tail_zh,
            "inconsistent area hierarchy: " + "; ".join(p.message_en for p in shown) + tail_en,
        )


class UnknownAreaError(TworesError):
    code = "unknown_area"

    def __init__(self, code: str) -> None:
        self.area_code = code
        super().__init__(f"区划代码“{code}”不存在", f"no area with code '{code}'")

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "field": "area", "value": self.area_code}


class StoreUnavailableError(TworesError):
    """The database cannot be opened (a folder that does not exist, a server that does not
    answer, a refused login)."""

    code = "store_unavailable"

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(
            f"无法打开数据库 {where}：{reason}", f"cannot open the database {where}: {reason}"
        )


class AuditTamperedError(TworesError):
    """The audit log's head record is gone: nothing more is written until it is restored
    (``twores audit verify`` reports it)."""

    code = "audit_tampered"

    def __init__(self) -> None:
        super().__init__(
            "审计日志的链头记录缺失（可能被删除）：在恢复之前不能再写入，"
            "请运行 twores audit verify",
            "the audit log's head record is missing (deleted?): nothing can be written until "
            "it is restored; run twores audit verify",
        )


class PluginError(TworesError):
    """A plugin broke the contract of a hook (conflicting names, bad results)."""

    code = "plugin_error"


class RuleConflictError(PluginError):
    code = "plugin_conflict"


class NoDecisionError(PluginError):
    code = "no_decision"

    def __init__(self, question: str, subject: str) -> None:
        super().__init__(
            f"没有任何规则插件回答“{question}”（对象：{subject}）",
            f"no rule plugin answered '{question}' (for {subject})",
        )


class SchemaVersionError(TworesError):
    """The database's schema is not at the revision this code needs (nothing was changed)."""

    code = "schema_version"


class SchemaNewerError(SchemaVersionError):
    """A newer twores migrated the database: upgrade twores to open it."""

    code = "schema_newer"

    def __init__(self, current: str, head: str) -> None:
        self.current, self.head = current, head
        super().__init__(
            f"数据库结构为 {current}，比本程序支持的 {head} 更新（由更新版本的 twores 升级）："
            "请升级 twores 后再打开",
            f"the database schema is at {current}, newer than {head}, the latest this code "
            "knows (a newer twores migrated it): upgrade twores to open it",
        )


class SchemaOutdatedError(SchemaVersionError):
    """The database needs migrating and this connection's role may not change the schema."""

    code = "schema_outdated"

    def __init__(self, current: str | None, head: str) -> None:
        self.current, self.head = current, head
        super().__init__(
            f"数据库结构为 {current or '（空）'}，程序需要 {head}："
            "请以数据表的所有者运行 twores db upgrade",
            f"the database schema is at {current or '(empty)'}, the code needs {head}: "
            "run twores db upgrade as the tables' owner",
        )


class UnitEndedError(TworesError):
    """A unit of work used after its commit() or rollback(): nothing was done."""

    code = "unit_ended"

    def __init__(self) -> None:
        super().__init__(
            "工作单元已提交或回滚，不能再使用：请开启新的工作单元",
            "the unit of work was committed or rolled back and cannot be used again: "
            "open a new one",
        )


class UnitFailedError(TworesError):
    """commit() of a unit of work in which a write raised: the unit was rolled back."""

    code = "unit_failed"

    def __init__(self) -> None:
        super().__init__(
            "此工作单元中有写入被拒绝或出错，整个工作单元已回滚，未保存任何内容",
            "a write in this unit of work was refused or failed, so the whole unit was "
            "rolled back: nothing was stored",
        )


class UnitInUseError(TworesError):
    """A unit of work written, or committed, by a second thread while a first one writes
    with it (a unit belongs to one thread at a time): the unit fails."""

    code = "unit_in_use"

    def __init__(self) -> None:
        super().__init__(
            "另一线程正在使用此工作单元写入：工作单元同一时间只能由一个线程使用，此工作单元已作废",
            "another thread is writing with this unit of work: a unit belongs to one thread "
            "at a time; this unit has failed",
        )
