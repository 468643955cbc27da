"""Supervision (督导): checklists, tasks per period, and visits.

A task is owed by a *business* for a period (the frequency rule's period kind); it moves
with the business when the assignment is handed over, and the visit that fulfils it
credits the cadre assigned on the visit's date. Visits keep the day they happened
(``visited_on``) apart from the moment they were entered (``recorded_at``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import attrs

from twores.core.assignment import Assignment
from twores.core.businesses import FoodBusiness, Grade, OperatingStatus
from twores.core.errors import InvalidValueError, TworesError
from twores.core.labels import LabelledEnum
from twores.core.periods import CHINA_TZ, Frequency, Period, PeriodKind
from twores.core.problems import DESCRIPTION_MAX
from twores.core.texts import checked_limit, text_of_at_most

#: The longest late-entry reason (``visits.late_reason``), exemption reason
#: (``supervision_tasks.exempt_reason``) and checklist reference (``visits.checklist``) the
#: store keeps.
LATE_REASON_MAX = 500
EXEMPT_REASON_MAX = 200
CHECKLIST_REF_MAX = 64


def _check_findings(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Each finding opens a problem: at most as long as a problem's description."""
    if not isinstance(value, tuple):
        raise InvalidValueError(attribute.name, value, "应为文本列表", "must be a tuple of texts")
    for finding in value:
        if not isinstance(finding, str):
            raise InvalidValueError(attribute.name, finding, "应为文本", "must be text")
        if len(finding) > DESCRIPTION_MAX:
            checked_limit(finding, attribute.name, DESCRIPTION_MAX)


class VisitMode(LabelledEnum):
    """How a supervision visit was made; the rules say which modes count."""

    ON_SITE = ("on_site", "现场", "on site", ("现场督导", "实地", "实地督导"))
    VIDEO = ("video", "视频", "video", ("视频督导", "远程视频", "远程"))
    GROUPED = ("grouped", "集中", "grouped", ("集中督导", "集中汇报"))
    OTHER = ("other", "其他", "other", ())


class Answer(LabelledEnum):
    """The answer to one checklist item."""

    YES = ("yes", "符合", "yes", ("是", "合格", "√", "y"))
    NO = ("no", "不符合", "no", ("否", "不合格", "×", "n"))
    NOT_APPLICABLE = ("na", "不适用", "not applicable", ("无", "n/a", "-"))


def check_evidence(digest: str) -> None:
    """An evidence file is named by its SHA-256 digest, in lower-case hex."""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InvalidValueError(
            "evidence", digest, "应为 SHA-256 十六进制摘要", "expected a SHA-256 hex digest"
        )


@attrs.frozen
class ChecklistItem:
    code: str
    zh: str
    en: str
    topic_zh: str


@attrs.frozen
class Checklist:
    """A versioned list of what a visit checks (名称@版本, e.g. ``national@2023.1``)."""

    name: str
    version: str
    items: tuple[ChecklistItem, ...]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def item(self, code: str) -> ChecklistItem | None:
        return next((i for i in self.items if i.code == code), None)

    def check(self, answers: Mapping[str, Answer]) -> None:
        """Every answered item must be on this checklist."""
        unknown = sorted(set(answers) - {i.code for i in self.items})
        if unknown:
            raise InvalidValueError(
                "answers",
                ", ".join(unknown),
                f"不是检查表 {self.ref} 的检查项",
                f"not an item of checklist {self.ref}",
            )


#: The four areas a cadre pushes (docs/sources.md, Supervision) with the township task-list items.
NATIONAL_CHECKLIST = Checklist(
    "national",
    "2023.1",
    (
        ChecklistItem("M1", "建立食品安全责任制度", "responsibility system in place", "管理制度"),
        ChecklistItem("M2", "配备食品安全员（及总监）", "officer (and director) named", "管理制度"),
        ChecklistItem("M3", "制定风险管控清单", "risk control list drawn up", "管理制度"),
        ChecklistItem("P1", "落实进货查验和记录", "incoming goods checked", "日常防控"),
        ChecklistItem("P2", "落实过程控制", "process control in place", "日常防控"),
        ChecklistItem("P3", "落实出厂（出售）检验", "release checks done", "日常防控"),
        ChecklistItem(
            "P4", "落实日管控、周排查、月调度", "daily, weekly and monthly routine kept", "日常防控"
        ),
        ChecklistItem("P5", "食品可追溯", "food traceable", "日常防控"),
        ChecklistItem("E1", "制定食品安全事故处置方案", "incident plan in place", "应急处置"),
        ChecklistItem("T1", "开展食品安全宣传和培训", "publicity and training held", "宣传培训"),
    ),
)


class SupervisionError(TworesError):
    code = "supervision"


class NotAssignedError(SupervisionError):
    code = "not_assigned"

    def __init__(self, cadre_id: str, business_key: str, on: date) -> None:
        super().__init__(
            f"干部 {cadre_id} 在 {on.isoformat()} 未包保主体 {business_key}，不能记录督导",
            f"cadre {cadre_id} was not assigned to business {business_key} on {on.isoformat()}",
        )


class WindowClosedError(SupervisionError):
    code = "window_closed"

    def __init__(self, period: Period, closed_on: date) -> None:
        super().__init__(
            f"{period.label('zh')}的录入已于 {closed_on.isoformat()} 截止；补录须填写原因",
            f"entry for {period} closed on {closed_on.isoformat()}; late entry needs a reason",
        )


class FindingsRecordedError(SupervisionError):
    """A visit recorded again without the problems it was first recorded with: those are
    problems in the ledger now, closed there, never by editing the visit."""

    code = "findings_recorded"

    def __init__(self, visit_key: str, findings: tuple[str, ...]) -> None:
        listed_zh, listed_en = "；".join(findings), "; ".join(findings)
        super().__init__(
            f"该督导（{visit_key}）已记录，其发现的问题已进入问题台账，不能删改：{listed_zh}。"
            "再次录入同一天的督导须原样保留这些问题，新发现的问题写在其后",
            f"visit {visit_key} is already recorded and the problems it found are in the "
            f"problem ledger, so they cannot be removed or changed: {listed_en}. Record the "
            "same day's visit again with them kept as they are, new findings after them",
        )


@attrs.frozen
class SupervisionTask:
    """Visit number ``seq`` a business is owed for ``period`` (the frequency's own period).

    ``cadre_id`` is who holds the business now; ``credited_to`` the cadre of the visit
    that fulfilled it. A suspended business is exempt, with the reason.
    """

    business_key: str
    area_code: str
    period: Period
    seq: int
    due_on: date
    cadre_id: str | None = None
    exempt_reason: str | None = attrs.field(
        default=None, validator=text_of_at_most(EXEMPT_REASON_MAX, optional=True)
    )
    visit_id: str | None = attrs.field(default=None)
    credited_to: str | None = None
    key: str = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "key", task_key(self.business_key, self.period, self.seq))

    @visit_id.validator
    def _check_visit_id(self, attribute: attrs.Attribute[str | None], value: str | None) -> None:
        """A visit of this business (its key, :func:`visit_key`, holds the visit's day)."""
        if value is None:
            return
        prefix, day = f"{self.business_key}/", value[len(self.business_key) + 1 :][:10]
        try:
            valid = value.startswith(prefix) and bool(date.fromisoformat(day))
        except ValueError:
            valid = False
        if not valid:
            raise InvalidValueError(
                "visit_id",
                value,
                "应为本主体的督导记录编号（主体标识/日期/干部编号）",
                "must be a visit of this business (business/date/cadre)",
            )

    @property
    def done(self) -> bool:
        return self.visit_id is not None

    @property
    def exempt(self) -> bool:
        return self.exempt_reason is not None


def task_key(business_key: str, period: Period, seq: int) -> str:
    return f"{business_key}/{period}/{seq}"


def task_business_key(key: str) -> str:
    """The business of a task's key (:func:`task_key`; a business key may hold slashes, a
    period and a slot number do not)."""
    return key.rsplit("/", 2)[0]


@attrs.frozen
class Visit:
    """One supervision visit (督导记录)."""

    business_key: str = attrs.field(validator=attrs.validators.min_len(1))
    cadre_id: str = attrs.field(validator=attrs.validators.min_len(1))
    area_code: str
    visited_on: date
    recorded_at: datetime
    mode: VisitMode = VisitMode.ON_SITE
    checklist: str = attrs.field(
        default=NATIONAL_CHECKLIST.ref, validator=text_of_at_most(CHECKLIST_REF_MAX)
    )
    answers: tuple[tuple[str, Answer], ...] = ()
    evidence: tuple[str, ...] = ()
    findings: tuple[str, ...] = attrs.field(default=(), validator=_check_findings)
    late_reason: str | None = attrs.field(
        default=None, validator=text_of_at_most(LATE_REASON_MAX, optional=True)
    )

    def __attrs_post_init__(self) -> None:
        if self.recorded_at.tzinfo is None:
            raise InvalidValueError(
                "recorded_at", self.recorded_at, "须带时区", "must carry a time zone"
            )
        if self.visited_on > self.recorded_day:
            raise InvalidValueError(
                "visited_on",
                self.visited_on.isoformat(),
                "督导日期晚于录入日期",
                "a visit cannot be dated after it was recorded",
            )
        for finding in self.findings:
            if not finding.strip():
                raise InvalidValueError(
                    "findings", finding, "发现问题不能为空白", "a finding is blank: describe it"
                )
        for digest in self.evidence:
            check_evidence(digest)

    @property
    def key(self) -> str:
        return visit_key(self.business_key, self.visited_on, self.cadre_id)

    @property
    def recorded_day(self) -> date:
        """The recording day in China (Asia/Shanghai)."""
        return self.recorded_at.astimezone(CHINA_TZ).date()


def visit_key(business_key: str, visited_on: date, cadre_id: str) -> str:
    return f"{business_key}/{visited_on.isoformat()}/{cadre_id}"


def counts_toward(
    first: date, last: date, span: tuple[date, date], containing: date | None = None
) -> bool:
    """Whether a task of the period ``first``..``last`` counts toward ``span``: it meets the
    span, and — with ``containing`` — lies within it or holds that day (a week's figure
    counts the quarter it is in, not the one before it that the week also meets)."""
    if first > span[1] or last < span[0]:
        return False
    return (
        containing is None or (span[0] <= first and last <= span[1]) or first <= containing <= last
    )


def credited_on(task: SupervisionTask) -> date | None:
    """The day of the visit that fulfilled ``task`` (read off the visit's key, which holds
    it right after the business key: :func:`visit_key`), or None while it is open."""
    if task.visit_id is None:
        return None
    start = len(task.business_key) + 1
    return date.fromisoformat(task.visit_id[start : start + 10])


# --- scheduling -------------------------------------------------------------------------


@functools.cache
def task_periods(requested: Period, kind: PeriodKind) -> tuple[Period, ...]:
    """The periods of ``kind`` that overlap ``requested`` (a half-year task shows in Q1 and Q2)."""
    found = [Period.containing(kind, requested.start)]
    while found[-1].end < requested.end:
        found.append(found[-1].next())
    return tuple(found)


def holder_on(assignments: Sequence[Assignment], day: date) -> str | None:
    """The cadre holding a business on ``day``: the latest-starting active assignment (of
    two starting the same day, the greater cadre id)."""
    active = [a for a in assignments if a.is_active(day)]
    return max(active, key=lambda a: (a.valid_from, a.cadre_id)).cadre_id if active else None


#: Why a task that is no longer due is kept, not deleted.
NO_LONGER_DUE = "不再需要（主体注销或频次调整）"


@attrs.frozen
class TaskSlot:
    """Visit ``seq`` of ``period`` that a business owes, due by ``due_on``; it names the
    cadre holding the business on ``holder_day``."""

    period: Period
    seq: int
    due_on: date
    holder_day: date


def task_slots(
    requested: Period, frequency: Frequency, due_on: Callable[[Period], date], as_of: date
) -> tuple[TaskSlot, ...]:
    """The visits ``frequency`` requires in ``requested``, held as of day ``as_of`` (clamped
    into each visit's period)."""
    return tuple(
        TaskSlot(period, seq, due_on(period), min(max(as_of, period.start), period.end))
        for period in task_periods(requested, frequency.kind)
        for seq in range(1, frequency.visits + 1)
    )


@attrs.frozen
class TaskPlan:
    """What scheduling ``requested`` requires of each business.

    ``area_slots`` answers for every business filed in an area at once, or None where the
    answer depends on the business's grade: ``grade_of`` grades it (from its
    classification, and its area only if ``grading_reads_area``) and ``grade_slots``
    answers for a grade in an area.
    """

    requested: Period
    area_slots: Callable[[str], tuple[TaskSlot, ...] | None]
    grade_of: Callable[[FoodBusiness], Grade]
    grade_slots: Callable[[Grade, str], tuple[TaskSlot, ...]]
    grading_reads_area: bool = True

    def slots(self, business: FoodBusiness) -> tuple[TaskSlot, ...]:
        found = self.area_slots(business.area_code)
        if found is None:
            return self.grade_slots(self.grade_of(business), business.area_code)
        return found


def exemption(business: FoodBusiness) -> str:
    """Why a suspended ``business`` owes no visit."""
    since = f"（自{business.status_since.isoformat()}）" if business.status_since else ""
    return f"停业{since}"


def required_tasks(
    businesses: Iterable[FoodBusiness],
    assignments: Mapping[str, Sequence[Assignment]],
    slots_of: Callable[[FoodBusiness], Sequence[TaskSlot]],
) -> list[SupervisionTask]:
    """The tasks ``slots_of`` requires of ``businesses``.

    A business opened after a slot's period, or closed or revoked by its end, owes nothing
    for it; one suspended by then is exempt with the reason (:meth:`FoodBusiness.status_on`);
    each task names the cadre holding the business on its slot's holder day.
    """
    tasks: list[SupervisionTask] = []
    for business in businesses:
        held = assignments.get(business.key, ())
        for slot in slots_of(business):
            if not business.in_scope_on(slot.period.end):
                continue
            status = business.status_on(slot.period.end)
            cadre = holder_on(held, slot.holder_day)
            tasks.append(
                SupervisionTask(
                    business.key,
                    business.area_code,
                    slot.period,
                    slot.seq,
                    slot.due_on,
                    cadre,
                    exemption(business) if status is OperatingStatus.SUSPENDED else None,
                )
            )
    return tasks


def merge_task(existing: SupervisionTask | None, required: SupervisionTask) -> SupervisionTask:
    """A rescheduled task keeps its fulfilment; holder, area and exemption follow the rules."""
    if existing is None or existing.visit_id is None:
        return required
    return attrs.evolve(required, visit_id=existing.visit_id, credited_to=existing.credited_to)


def window_open(recorded_day: date, closes_on: date) -> bool:
    """Entry is open through the whole closing day (until 23:59:59 in China)."""
    return recorded_day <= closes_on


def task_for_visit(
    visit: Visit, tasks: Iterable[SupervisionTask], counts: bool
) -> SupervisionTask | None:
    """The open task ``visit`` fulfils: the first open one whose period holds the visit date."""
    if not counts:
        return None
    open_tasks = sorted(
        (t for t in tasks if not t.done and not t.exempt and visit.visited_on in t.period),
        key=lambda t: (t.period.start, t.seq),
    )
    if not open_tasks:
        return None
    return attrs.evolve(open_tasks[0], visit_id=visit.key, credited_to=visit.cadre_id)
