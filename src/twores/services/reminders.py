"""The reminder letter (提醒函) for an overdue problem in the ledger, as a printable .docx.

The letter goes out with the ledger's REMIND step (see
:func:`twores.core.problems.next_escalation`): it tells the business that the rectification
deadline has passed, gives the new one that step set, and warns that a case follows if the
problem is still not fixed. Output is deterministic for the same input.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import docx
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm

from twores.core.errors import InvalidValueError
from twores.core.problems import NEEDS_DEADLINE, Action, Problem, ProblemEvent
from twores.services.docx_parts import FONT, para, run, stable_zip

TITLE = "食品安全问题整改提醒函"
CONSEQUENCE = "逾期仍未整改的，将移交市场监管部门立案调查。"


def zh_date(day: date) -> str:
    """``2025年3月1日``."""
    return f"{day.year}年{day.month}月{day.day}日"


def _last_reminder(problem: Problem) -> tuple[int, ProblemEvent, date]:
    """The latest REMIND step: its ordinal, the event, and the deadline it replaced."""
    reminders = [i for i, e in enumerate(problem.history) if e.action is Action.REMIND]
    if not reminders:
        raise InvalidValueError(
            "id", problem.id, "该问题尚未发出提醒函", "no reminder has been sent for the problem"
        )
    index = reminders[-1]
    # Only the steps that set a deadline count: others may carry one they did not apply.
    earlier = [
        e.deadline
        for e in problem.history[:index]
        if e.action in NEEDS_DEADLINE and e.deadline is not None
    ]
    event = problem.history[index]
    if not earlier or event.deadline is None:
        raise InvalidValueError(
            "id",
            problem.id,
            "提醒前后的整改期限不明",
            "the deadlines around the reminder are unknown",
        )
    return len(reminders), event, earlier[-1]


def _body(
    problem: Problem, *, area_name: str, ordinal: int, old: date, new: date, issued_on: date
) -> list[str]:
    late = (issued_on - old).days
    overdue = f"，已逾期{late}日" if late > 0 else ""
    return [
        f"{zh_date(problem.found_on)}，在{problem.source.zh}中发现你单位（{area_name}）"
        f"存在以下{problem.severity.zh}食品安全问题：",
        problem.description,
        f"问题来源：{problem.source.zh}；问题等级：{problem.severity.zh}；"
        f"发现日期：{zh_date(problem.found_on)}。",
        f"你单位原定整改期限为{zh_date(old)}。该期限已过{overdue}，至今未见整改到位。",
        f"现第{ordinal}次向你单位发出提醒，请于{zh_date(new)}前完成整改，"
        "并将整改情况（附整改前后照片等证明材料）报送属地监管部门。",
        CONSEQUENCE,
        "特此提醒。",
    ]


def _right(document: Document, text: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run(paragraph, text, size=14)


def write_reminder(
    problem: Problem,
    *,
    business_name: str,
    area_name: str,
    issuer: str,
    issued_on: date,
    path: Path,
) -> Path:
    """The reminder letter of ``problem``'s latest REMIND step, written to ``path``.

    The new deadline is the one that step set (``problem.deadline`` right after it); the
    original one is the deadline it replaced. Raises :class:`InvalidValueError` when the
    problem has had no reminder.
    """
    ordinal, event, old = _last_reminder(problem)
    assert event.deadline is not None  # checked by _last_reminder
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin = section.bottom_margin = Mm(25)
    para(document, TITLE, center=True, bold=True, size=22)
    para(document, f"提醒函编号：{problem.id}", center=True, size=12)
    salutation = document.add_paragraph()
    run(salutation, f"{business_name}：", size=14, font=FONT)
    for text in _body(
        problem,
        area_name=area_name,
        ordinal=ordinal,
        old=old,
        new=event.deadline,
        issued_on=issued_on,
    ):
        para(document, text)
    para(document, "")
    _right(document, issuer)
    _right(document, zh_date(issued_on))
    props = document.core_properties
    props.author = props.last_modified_by = "twores"
    props.title = f"{TITLE}（{problem.id}）"
    props.created = props.modified = datetime(issued_on.year, issued_on.month, issued_on.day)
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(stable_zip(buffer.getvalue(), issued_on.year))
    return path
