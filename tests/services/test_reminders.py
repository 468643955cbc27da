"""The reminder letter (提醒函) of an overdue problem."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import docx
import pytest

from twores.core.errors import InvalidValueError
from twores.core.periods import CHINA_TZ
from twores.core.problems import Action, Problem, ProblemSource, Severity, transition
from twores.services.reminders import CONSEQUENCE, TITLE, write_reminder, zh_date

FOUND_ON = date(2025, 3, 3)
FIRST_DEADLINE = date(2025, 3, 10)
NEW_DEADLINE = date(2025, 3, 18)
ISSUED_ON = date(2025, 3, 11)
BUSINESS = "大圩镇上桥村老李米粉店"
DESCRIPTION = "后厨未设置防蝇防鼠设施，冷藏柜生熟食品混放"
ISSUER = "灵川县市场监督管理局大圩市场监督管理所"


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TZ)


@pytest.fixture
def reminded() -> Problem:
    problem = Problem(
        id="P-450323101-0001",
        business_key="JY24503230034495",
        area_code="450323101",
        source=ProblemSource.VISIT,
        description=DESCRIPTION,
        severity=Severity.MAJOR,
        found_on=FOUND_ON,
        reporter="李明",
    )
    problem, _ = transition(
        problem, Action.ORDER, actor="李明", at=at(FOUND_ON), deadline=FIRST_DEADLINE
    )
    problem, _ = transition(
        problem,
        Action.REMIND,
        actor="系统",
        at=at(ISSUED_ON),
        note="逾期未整改",
        deadline=NEW_DEADLINE,
    )
    return problem


def write(problem: Problem, path: Path) -> Path:
    return write_reminder(
        problem,
        business_name=BUSINESS,
        area_name="广西壮族自治区桂林市灵川县大圩镇",
        issuer=ISSUER,
        issued_on=ISSUED_ON,
        path=path,
    )


def test_letter_text(reminded: Problem, tmp_path: Path) -> None:
    path = write(reminded, tmp_path / "提醒函.docx")
    paragraphs = [p.text for p in docx.Document(str(path)).paragraphs]
    text = "\n".join(paragraphs)
    assert paragraphs[0] == TITLE
    assert f"提醒函编号：{reminded.id}" in text
    assert f"{BUSINESS}：" in paragraphs
    assert DESCRIPTION in paragraphs
    assert Severity.MAJOR.zh in text and ProblemSource.VISIT.zh in text
    assert zh_date(FOUND_ON) in text
    assert reminded.deadline == NEW_DEADLINE
    assert f"原定整改期限为{zh_date(FIRST_DEADLINE)}" in text
    assert "该期限已过，已逾期1日" in text
    assert f"请于{zh_date(NEW_DEADLINE)}前完成整改" in text
    assert "现第1次" in text
    assert CONSEQUENCE in paragraphs
    assert paragraphs[-2:] == [ISSUER, zh_date(ISSUED_ON)]


def test_same_input_same_bytes(reminded: Problem, tmp_path: Path) -> None:
    first = write(reminded, tmp_path / "a.docx").read_bytes()
    assert write(reminded, tmp_path / "b.docx").read_bytes() == first
    props = docx.Document(str(tmp_path / "a.docx")).core_properties
    assert props.author == "twores"
    assert props.created == props.modified
    assert props.created is not None and props.created.date() == ISSUED_ON


def test_second_reminder_replaces_the_first_ones_deadline(
    reminded: Problem, tmp_path: Path
) -> None:
    later = NEW_DEADLINE + timedelta(days=1)
    again, _ = transition(
        reminded,
        Action.REMIND,
        actor="系统",
        at=at(later),
        note="逾期未整改",
        deadline=later + timedelta(days=7),
    )
    path = write(again, tmp_path / "second.docx")
    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert f"原定整改期限为{zh_date(NEW_DEADLINE)}" in text
    assert f"请于{zh_date(later + timedelta(days=7))}前完成整改" in text
    assert "现第2次" in text


def test_no_reminder_no_letter(reminded: Problem, tmp_path: Path) -> None:
    ordered = reminded.history[0]
    problem = Problem(
        id=reminded.id,
        business_key=reminded.business_key,
        area_code=reminded.area_code,
        source=reminded.source,
        description=reminded.description,
        severity=reminded.severity,
        found_on=reminded.found_on,
        reporter=reminded.reporter,
        status=ordered.status,
        deadline=ordered.deadline,
        history=(ordered,),
    )
    with pytest.raises(InvalidValueError):
        write(problem, tmp_path / "none.docx")
    assert not (tmp_path / "none.docx").exists()
