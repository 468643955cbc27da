"""The problem ledger (问题台账): a found problem's closed loop to verified closure (销号).

``transition(problem, action, ...)`` is the only way a problem changes. Every legal move is
in :data:`TRANSITIONS`; anything else raises :class:`IllegalTransitionError` and leaves
the problem as it was. Closing always follows a verification by someone other than the
reporter (a case outcome recorded by the regulator counts as one).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import attrs

from twores.core.errors import InvalidValueError, TworesError
from twores.core.labels import LabelledEnum, clean_text
from twores.core.periods import CHINA_TZ
from twores.core.security import Role
from twores.core.texts import checked_limit, checked_text, text_of_at_most

#: Whole texts that say nothing was found (compared after :func:`clean_text`, lower case,
#: end punctuation dropped): what offices write in a 发现问题 column for "none".
NO_PROBLEM_TEXTS = frozenset(
    {
        *("无", "没有", "暂无", "未发现", "正常", "一切正常", "情况正常", "良好"),
        *("合格", "符合", "符合要求", "均符合要求", "未见异常", "无异常"),
        *("/", "-", "--", "—", "——", "\\", "n/a", "na", "none", "nil", "no", "nothing"),
        *("no problem", "no problems", "no issue", "no issues", "no problems found"),
    }
)
#: "未发现（明显）问题", "经现场检查，未发现明显问题", "无其他问题", "暂未发现安全隐患": a
#: negation, at most a few fixed modifiers, then 问题/异常/隐患; an optional "经…检查，"
#: before it. Nothing else may stand between, so "无证经营问题" (a real problem) stays one.
_NO_PROBLEM = re.compile(
    r"^(?:经?(?:现场|实地|本次|此次)?(?:检查|督导|查看|核查|排查)(?:后|中)?,?)?"
    r"(?:未发现|未见|没有发现|没发现|暂未发现|未查出|无|没有|暂无)"
    r"(?:任何|明显|其他|其它|重大|较大|突出|相关)?的?(?:食品)?(?:安全)?(?:违法违规|违规)?"
    r"(?:问题|异常|隐患|情况)$"
)


def means_no_problem(text: str) -> bool:
    """Whether a finding's text says that nothing was found ("无", "未发现问题",
    "经现场检查，未发现明显问题", "/"): such a text records no finding and opens no
    problem. Recognised conservatively: :data:`NO_PROBLEM_TEXTS` or the fixed pattern."""
    cleaned = clean_text(text).lower().rstrip("。.!！;；")
    return cleaned in NO_PROBLEM_TEXTS or bool(_NO_PROBLEM.match(cleaned.replace(" ", "")))


def real_findings(texts: tuple[str, ...], field: str = "findings") -> tuple[str, ...]:
    """A visit's findings as problems to open: each :func:`checked_text`, those that say
    nothing was found (:func:`means_no_problem`) left out."""
    return tuple(t for t in (checked_text(t, field) for t in texts) if not means_no_problem(t))


#: The longest reporter, verifier (``problems.reporter``/``verified_by``) and source
#: reference (``problems.source_ref``) the store keeps.
PERSON_MAX = 100
SOURCE_REF_MAX = 200
#: The longest problem description (a visit's finding) and ledger step note taken in: a
#: report names the problem, it is not the place for documents (evidence is attached).
DESCRIPTION_MAX = 1_000
NOTE_MAX = 1_000
#: The largest whole number an INTEGER column holds.
INT_MAX = 2_147_483_647


def _check_description(instance: Any, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidValueError(attribute.name, value, "应为非空文本", "must be non-blank text")
    if "\x00" in value:  # PostgreSQL cannot store it; other control characters are refused
        checked_text(value, attribute.name)  # on input (checked_text), stored ones still read
    if len(value) > DESCRIPTION_MAX:  # on input; a stored one reads as written
        checked_limit(value, attribute.name, DESCRIPTION_MAX)


def _check_count(instance: Any, attribute: attrs.Attribute[int], value: object) -> None:
    if value.__class__ is not int or not 0 <= value <= INT_MAX:
        raise InvalidValueError(
            attribute.name,
            value,
            f"应为 0 到 {INT_MAX:,} 之间的整数",
            f"must be a whole number from 0 to {INT_MAX:,}",
        )


class Severity(LabelledEnum):
    MINOR = ("minor", "一般", "minor", ("轻微", "一般问题"))
    MAJOR = ("major", "较重", "major", ("较大", "较重问题"))
    SEVERE = ("severe", "严重", "severe", ("重大", "严重问题"))


class ProblemSource(LabelledEnum):
    VISIT = ("visit", "包保督导", "supervision visit", ("督导",))
    CROSS_INSPECTION = ("cross_inspection", "交叉检查", "cross-inspection", ())
    OVERSIGHT = ("oversight", "督查", "oversight inspection", ("督查检查",))
    WEEKLY_REPORT = ("weekly_report", "企业周排查", "enterprise weekly check", ("周排查",))


class ProblemStatus(LabelledEnum):
    FOUND = ("found", "已发现", "found")
    FIXED_ON_SITE = ("fixed_on_site", "现场整改", "fixed on site")
    RECTIFYING = ("rectifying", "限期整改", "rectifying")
    SUBMITTED = ("submitted", "待验证", "awaiting verification")
    VERIFIED = ("verified", "已验证", "verified")
    REFERRED = ("referred", "已移交立案", "referred for a case")
    CLOSED = ("closed", "已销号", "closed")


class Action(LabelledEnum):
    FIX_ON_SITE = ("fix_on_site", "现场整改", "fix on site")
    ORDER = ("order", "责令限期整改", "order rectification")
    SUBMIT = ("submit", "提交整改", "submit the fix")
    VERIFY = ("verify", "验证", "verify")
    REJECT = ("reject", "验证不通过", "reject the fix")
    CLOSE = ("close", "销号", "close")
    REMIND = ("remind", "发提醒函", "send a reminder letter")
    REFER = ("refer", "移交立案", "refer for a case")
    CASE_CLOSED = ("case_closed", "案件办结", "case concluded")
    REOPEN = ("reopen", "重新打开", "reopen")


S, A = ProblemStatus, Action
#: status -> action -> status after. Nothing else is possible.
TRANSITIONS: dict[ProblemStatus, dict[Action, ProblemStatus]] = {
    S.FOUND: {A.FIX_ON_SITE: S.FIXED_ON_SITE, A.ORDER: S.RECTIFYING, A.REFER: S.REFERRED},
    S.FIXED_ON_SITE: {A.VERIFY: S.VERIFIED},
    S.RECTIFYING: {A.SUBMIT: S.SUBMITTED, A.REMIND: S.RECTIFYING, A.REFER: S.REFERRED},
    S.SUBMITTED: {A.VERIFY: S.VERIFIED, A.REJECT: S.RECTIFYING},
    S.VERIFIED: {A.CLOSE: S.CLOSED},
    S.REFERRED: {A.CASE_CLOSED: S.CLOSED},
    S.CLOSED: {A.REOPEN: S.RECTIFYING},
}
#: Actions that set a new rectification deadline (and need one).
NEEDS_DEADLINE = frozenset({A.ORDER, A.REJECT, A.REMIND, A.REOPEN})
#: Actions that need evidence (file hashes): the fix, its verification, the case decision.
NEEDS_EVIDENCE = frozenset({A.SUBMIT, A.VERIFY, A.CASE_CLOSED})
#: Actions that verify a problem's end: their actor becomes its verifier.
VERIFYING = frozenset({A.VERIFY, A.CASE_CLOSED})
#: Actions the reporter may never take: a problem is verified (or its fix rejected) by
#: someone else.
NOT_BY_REPORTER = VERIFYING | {A.REJECT}
#: Verdicts on a submitted fix, which the one who submitted it may not give.
VERDICTS = frozenset({A.VERIFY, A.REJECT})
#: Steps an office (or the system) takes, never a cadre: reminder letters, referral for a
#: case, the case's outcome, reopening a closed problem.
OFFICE_ACTIONS = frozenset({A.REMIND, A.REFER, A.CASE_CLOSED, A.REOPEN})


def may_take(role: Role, action: Action) -> bool:
    """Whether ``role`` may take ``action`` in the ledger (a cadre takes no office step, a
    read-only user none)."""
    if role is Role.READ_ONLY:
        return False
    return role is not Role.CADRE or action not in OFFICE_ACTIONS


#: Steps after which an overdue problem starts again from its first reminder (a rejected
#: fix only when it was submitted in time: a late fix that fails escalates on).
RESTART_ESCALATION = frozenset({A.REJECT, A.REOPEN})
#: Statuses with a running deadline, which can become overdue.
OPEN_WITH_DEADLINE = frozenset({S.RECTIFYING})


class IllegalTransitionError(TworesError):
    code = "illegal_transition"

    def __init__(self, problem: Problem, action: Action, why_zh: str, why_en: str) -> None:
        super().__init__(
            f"问题 {problem.id}（{problem.status.zh}）不能“{action.zh}”：{why_zh}",
            f"problem {problem.id} ({problem.status.en}) cannot '{action.en}': {why_en}",
        )


@attrs.frozen
class ProblemEvent:
    """One step of a problem's history; every step is also passed to ``twores_on_event``."""

    problem_id: str
    seq: int
    action: Action
    status: ProblemStatus
    actor: str
    at: datetime
    note: str = ""
    evidence: tuple[str, ...] = ()
    deadline: date | None = None


@attrs.frozen
class Problem:
    """A problem in the ledger, with its whole history."""

    id: str
    business_key: str
    area_code: str
    source: ProblemSource
    description: str = attrs.field(validator=_check_description)
    severity: Severity
    found_on: date
    reporter: str = attrs.field(validator=text_of_at_most(PERSON_MAX, blank=False))
    source_ref: str | None = attrs.field(
        default=None, validator=text_of_at_most(SOURCE_REF_MAX, optional=True, blank=False)
    )
    status: ProblemStatus = ProblemStatus.FOUND
    deadline: date | None = None
    #: Reminder letters sent since the deadline last restarted (a rejected fix, a reopening).
    reminders: int = attrs.field(default=0, validator=_check_count)
    #: Levels above the problem's own area that now own the follow-up (0: its own).
    escalation: int = attrs.field(default=0, validator=_check_count)
    verified_by: str | None = attrs.field(
        default=None, validator=text_of_at_most(PERSON_MAX, optional=True, blank=False)
    )
    history: tuple[ProblemEvent, ...] = ()

    @property
    def closed(self) -> bool:
        return self.status is ProblemStatus.CLOSED

    @property
    def changed_on(self) -> date:
        """The day (China time) of its latest step, or the day it was found."""
        return _day_of(self.history[-1]) if self.history else self.found_on

    def state_on(self, day: date) -> tuple[ProblemStatus, date | None]:
        """Its status and deadline at the end of ``day`` (its steps up to then replayed)."""
        if day >= self.changed_on:
            return self.status, self.deadline
        status, deadline = ProblemStatus.FOUND, None
        for event in self.history:
            if _day_of(event) > day:
                break
            status, deadline = event.status, deadline_after(event.action, deadline, event.deadline)
        return status, deadline

    def overdue_on(self, day: date) -> bool:
        """Past its deadline, still being rectified, at the end of ``day``."""
        status, deadline = self.state_on(day)
        return status in OPEN_WITH_DEADLINE and deadline is not None and day > deadline


def _day_of(event: ProblemEvent) -> date:
    return event.at.astimezone(CHINA_TZ).date()


def deadline_after(action: Action, before: date | None, given: date | None) -> date | None:
    """The deadline once ``action`` is taken: the one it sets, none after a referral (the
    level above sets its own), else unchanged."""
    if action in NEEDS_DEADLINE:
        return given
    return None if action is A.REFER else before


def allowed_actions(problem: Problem, role: Role | None = None) -> tuple[Action, ...]:
    """The steps ``problem``'s status allows next; those ``role`` may take, when given."""
    return tuple(a for a in TRANSITIONS[problem.status] if role is None or may_take(role, a))


def transition(
    problem: Problem,
    action: Action,
    *,
    actor: str,
    at: datetime,
    note: str = "",
    evidence: tuple[str, ...] = (),
    deadline: date | None = None,
    role: Role | None = None,
) -> tuple[Problem, ProblemEvent]:
    """The problem after ``action``, and the event that records it. A refused step names
    the steps allowed now (those ``role`` may take, when given)."""
    after = TRANSITIONS[problem.status].get(action)
    if after is None:
        allowed = "、".join(a.zh for a in allowed_actions(problem, role)) or "无"
        allowed_en = ", ".join(a.en for a in allowed_actions(problem, role)) or "none"
        raise IllegalTransitionError(
            problem, action, f"当前可执行：{allowed}", f"allowed now: {allowed_en}"
        )
    barred = why_barred(problem, action, actor)
    if barred is not None:
        raise IllegalTransitionError(problem, action, *barred)
    blank = next((item for item in evidence if not item.strip()), None)
    if blank is not None:
        raise InvalidValueError(
            "evidence",
            blank,
            "证据不能为空白，应为文件名或说明",
            "is blank: name a file or describe it",
        )
    if action in NEEDS_EVIDENCE and not evidence:
        raise IllegalTransitionError(problem, action, "须附证据", "evidence is required")
    if at.tzinfo is None:
        raise InvalidValueError("at", at.isoformat(), "须带时区", "must carry a time zone")
    day = at.astimezone(CHINA_TZ).date()
    if day < problem.found_on:
        raise InvalidValueError(
            "at", at.isoformat(), "早于问题发现日期", "is before the problem was found"
        )
    if action not in NEEDS_DEADLINE:
        deadline = None  # only the steps that set a deadline record one
    if action in NEEDS_DEADLINE:
        if deadline is None:
            raise IllegalTransitionError(
                problem, action, "须给出整改期限", "a deadline is required"
            )
        if deadline < day:
            raise InvalidValueError(
                "deadline", deadline.isoformat(), "整改期限已过", "the deadline has passed"
            )
    if len(note) > NOTE_MAX:
        checked_limit(note, "note", NOTE_MAX)
    if action in (A.REJECT, A.REOPEN, A.REFER) and not note.strip():
        raise IllegalTransitionError(problem, action, "须说明原因", "a reason is required")
    if problem.history and at < problem.history[-1].at:
        raise InvalidValueError(
            "at", at.isoformat(), "早于上一步的时间", "is earlier than the previous step"
        )
    event = ProblemEvent(
        problem.id, len(problem.history) + 1, action, after, actor, at, note, evidence, deadline
    )
    changes: dict[str, Any] = {
        "status": after,
        "history": (*problem.history, event),
        "deadline": deadline_after(action, problem.deadline, deadline),
    }
    if action is A.REMIND:
        changes["reminders"] = problem.reminders + 1
    if action in RESTART_ESCALATION and not (action is A.REJECT and _submitted_late(problem)):
        changes["reminders"] = 0
    if action is A.REFER:
        changes["escalation"] = problem.escalation + 1
    if action in VERIFYING:
        changes["verified_by"] = actor
    if action is A.REOPEN:
        changes["verified_by"] = None
    return attrs.evolve(problem, **changes), event


def why_barred(problem: Problem, action: Action, actor: str) -> tuple[str, str] | None:
    """Why ``actor`` may not take ``action`` on ``problem`` (zh, en), or None: the reporter
    never verifies or rejects, nor does the one who submitted the fix under review."""
    if action in NOT_BY_REPORTER and actor == problem.reporter:
        return "验证人不能是发现人", "the verifier must not be the reporter"
    if action in VERDICTS and actor == _submitted_by(problem):
        return "验证人不能是提交整改的人", "the verifier must not be the one who submitted the fix"
    return None


def _pending_fix(problem: Problem) -> ProblemEvent | None:
    """The submission of the fix now awaiting a verdict (None when none is)."""
    if problem.status is not S.SUBMITTED or not problem.history:
        return None
    last = problem.history[-1]
    return last if last.action is A.SUBMIT else None


def _submitted_late(problem: Problem) -> bool:
    """Whether the fix now awaiting a verdict was submitted after the deadline."""
    fix, deadline = _pending_fix(problem), problem.deadline
    return fix is not None and deadline is not None and _day_of(fix) > deadline


def _submitted_by(problem: Problem) -> str | None:
    """Who submitted the fix now awaiting a verdict (None when none is)."""
    fix = _pending_fix(problem)
    return None if fix is None else fix.actor


@attrs.frozen
class EscalationPolicy:
    """What happens to an overdue problem: a reminder letter with ``grace_days`` more, and
    after ``reminders`` of them a referral one level up the tree."""

    reminders: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    grace_days: int = attrs.field(default=7, validator=attrs.validators.ge(1))


def next_escalation(problem: Problem, on: date, policy: EscalationPolicy) -> Action | None:
    """The one step an overdue problem is due on ``on`` (None when not overdue, or when
    it has moved on since that day)."""
    if on < problem.changed_on or not problem.overdue_on(on):
        return None
    return A.REMIND if problem.reminders < policy.reminders else A.REFER
