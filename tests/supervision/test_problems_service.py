"""The problem ledger through the store: opened by visits, moved, escalated exactly once."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import docx
import pytest

import twores
from twores.core import periods
from twores.core.assignment import Assignment
from twores.core.errors import MissingValueError
from twores.core.periods import CHINA_TZ
from twores.core.ports import Store
from twores.core.problems import Action, IllegalTransitionError, ProblemStatus, Severity
from twores.plugins import hookimpl
from twores.services.problems import (
    NewProblem,
    escalate_overdue,
    list_problems,
    open_in,
    open_problems,
    transition_problem,
)
from twores.services.supervision import VisitInput, record_visit, schedule

from .helpers import ADMIN, COUNTY, START, load

EVIDENCE = ("ab" * 32,)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TZ)


def _one_finding(
    app: twores.Twores, store: Store, roster: twores.Roster, day: date
) -> tuple[Assignment, twores.Problem]:
    """2026Q1 scheduled, and a visit on ``day`` that found one (minor) problem."""
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        held = next(uow.assignments.stream(active_on=START))
    visit = VisitInput(held.business_key, held.cadre_id, day, findings=("无健康证",))
    (problem,) = record_visit(app, store, ADMIN, visit, now=_at(day)).opened
    return held, problem


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    @hookimpl
    def twores_on_event(self, event: twores.ProblemEvent, area_path: tuple[str, ...]) -> None:
        self.events.append((event.problem_id, event.action.value))


def test_a_visit_finding_goes_through_the_ledger_to_verified_closure(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    heard = Recorder()
    app.plugins.register(heard)
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        a = next(uow.assignments.stream(active_on=START))
    visit = VisitInput(a.business_key, a.cadre_id, date(2026, 3, 2), findings=("冷藏柜温度超标",))
    outcome = record_visit(app, store, ADMIN, visit, now=_at(date(2026, 3, 2)))
    (problem,) = outcome.opened
    assert problem.status is ProblemStatus.RECTIFYING
    assert problem.deadline == date(2026, 3, 17)  # national: minor problems in 15 days
    assert heard.events == [(problem.id, "order")]
    again = record_visit(app, store, ADMIN, visit, now=_at(date(2026, 3, 2)))
    assert again.opened == ()  # the same finding is the same problem

    with pytest.raises(IllegalTransitionError):  # nothing to verify yet
        transition_problem(
            app,
            store,
            ADMIN,
            problem.id,
            Action.VERIFY,
            actor="镇食安办",
            evidence=EVIDENCE,
            at=_at(date(2026, 3, 5)),
        )
    transition_problem(
        app,
        store,
        ADMIN,
        problem.id,
        Action.SUBMIT,
        actor="店主",
        evidence=EVIDENCE,
        at=_at(date(2026, 3, 6)),
    )
    with pytest.raises(IllegalTransitionError, match="验证人不能是发现人"):
        transition_problem(
            app,
            store,
            ADMIN,
            problem.id,
            Action.VERIFY,
            actor=a.cadre_id,
            evidence=EVIDENCE,
            at=_at(date(2026, 3, 7)),
        )
    transition_problem(
        app,
        store,
        ADMIN,
        problem.id,
        Action.VERIFY,
        actor="镇食安办",
        evidence=EVIDENCE,
        at=_at(date(2026, 3, 7)),
    )
    closed = transition_problem(
        app, store, ADMIN, problem.id, Action.CLOSE, actor="镇食安办", at=_at(date(2026, 3, 7), 11)
    )
    assert closed.closed and closed.verified_by == "镇食安办"
    assert [e.action for e in closed.history] == [
        Action.ORDER,
        Action.SUBMIT,
        Action.VERIFY,
        Action.CLOSE,
    ]
    assert [action for _, action in heard.events] == ["order", "submit", "verify", "close"]
    with store.unit_of_work(ADMIN) as uow:
        entries = [e for e in uow.audit.entries() if e.entity == "problem"]
    assert len(entries) == 4  # every step audited


def test_overdue_problems_escalate_exactly_once_per_step(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    (problem,) = open_problems(
        app,
        store,
        ADMIN,
        [
            NewProblem(
                key,
                "未落实进货查验",
                "交叉检查组",
                date(2026, 3, 1),
                twores.ProblemSource.CROSS_INSPECTION,
                Severity.MAJOR,
            )
        ],
        at=_at(date(2026, 3, 1)),
    )
    assert problem.deadline == date(2026, 3, 8)
    assert escalate_overdue(app, store, ADMIN, date(2026, 3, 8)) == []
    ahead = twores.today() + timedelta(days=30)
    with pytest.raises(twores.InvalidValueError):  # never a step dated ahead
        escalate_overdue(app, store, ADMIN, ahead)
    letters = tmp_path / "提醒函"
    (reminded,) = escalate_overdue(app, store, ADMIN, date(2026, 3, 9), letters=letters)
    assert reminded.event.action is Action.REMIND
    (letter,) = letters.glob("*.docx")
    text = "\n".join(p.text for p in docx.Document(str(letter)).paragraphs)
    assert "提醒函" in text and "未落实进货查验" in text and "2026年3月16日" in text
    assert reminded.problem.deadline == date(2026, 3, 16)
    assert escalate_overdue(app, store, ADMIN, date(2026, 3, 9)) == []  # same day: nothing
    assert escalate_overdue(app, store, ADMIN, date(2026, 3, 16)) == []
    (referred,) = escalate_overdue(app, store, ADMIN, date(2026, 3, 17))
    assert referred.event.action is Action.REFER
    assert referred.problem.status is ProblemStatus.REFERRED and referred.problem.escalation == 1
    for day in range(18, 31):
        assert escalate_overdue(app, store, ADMIN, date(2026, 3, day)) == []
    overdue = list(list_problems(store, ADMIN, overdue_on=date(2026, 3, 17)))
    assert overdue == []
    referred_list = list(list_problems(store, ADMIN, status=ProblemStatus.REFERRED))
    assert [p.id for p in referred_list] == [problem.id]
    township = twores.Scope("大圩镇食安办", twores.Role.OFFICE, problem.area_code[:9])
    with pytest.raises(twores.ScopeError) as refused:  # the referring township: one level up
        transition_problem(
            app, store, township, problem.id, Action.CASE_CLOSED,
            actor="大圩镇食安办", evidence=EVIDENCE, at=_at(date(2026, 4, 20)),
        )  # fmt: skip
    assert "县级及以上" in refused.value.message_zh and "county-level" in refused.value.message_en
    with store.unit_of_work(ADMIN) as uow:
        assert uow.problems.get(problem.id).status is ProblemStatus.REFERRED  # type: ignore[union-attr]
    county = twores.Scope("灵川县市场监管局", twores.Role.OFFICE, COUNTY)
    closed = transition_problem(
        app,
        store,
        county,
        problem.id,
        Action.CASE_CLOSED,
        actor="灵川县市场监管局",
        evidence=EVIDENCE,
        at=_at(date(2026, 4, 20)),
    )
    assert closed.closed and closed.verified_by == "灵川县市场监管局"


def test_queries_by_subtree_status_and_severity(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    keys = sorted(roster.businesses)[:6]
    news = [
        NewProblem(
            k,
            f"问题{i}",
            "督查组",
            date(2026, 3, 1),
            twores.ProblemSource.OVERSIGHT,
            Severity.SEVERE if i % 2 else Severity.MINOR,
            fixed_on_site=i == 0,
        )
        for i, k in enumerate(keys)
    ]
    opened = open_problems(app, store, ADMIN, news, at=_at(date(2026, 3, 1)))
    assert opened[0].status is ProblemStatus.FIXED_ON_SITE
    severe = list(list_problems(store, ADMIN, severity=Severity.SEVERE))
    assert {p.business_key for p in severe} == {keys[1], keys[3], keys[5]}
    township = roster.businesses[keys[2]].area_code[:9]
    office = twores.Scope("镇食安办", twores.Role.OFFICE, township)
    mine = list(list_problems(store, office))
    assert mine and all(p.area_code.startswith(township) for p in mine)
    assert (
        len(list(list_problems(store, ADMIN, overdue_on=date(2026, 3, 5)))) == 3
    )  # severe: 3 days


def test_a_failing_notifier_does_not_undo_the_step(
    app: twores.Twores, store: Store, roster: twores.Roster, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        @hookimpl
        def twores_on_event(self, event: object, area_path: object) -> None:
            raise RuntimeError("SMS gateway down")

    app.plugins.register(Broken())
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    with caplog.at_level(logging.INFO):
        (problem,) = open_problems(
            app,
            store,
            ADMIN,
            [NewProblem(key, "过期食品", "甲", date(2026, 3, 1))],
            at=_at(date(2026, 3, 1)),
        )
    assert "SMS gateway down" in caplog.text and "twores.events" in {r.name for r in caplog.records}
    with store.unit_of_work(ADMIN) as uow:
        assert uow.problems.get(problem.id) == problem
    assert timedelta(days=15) == problem.deadline - date(2026, 3, 1)  # type: ignore[operator]


def test_a_fix_is_judged_by_another_and_a_cadre_cannot_push_its_deadline_out(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    a, problem = _one_finding(app, store, roster, date(2026, 3, 2))

    def step(action: Action, actor: str, day: int, **more: object) -> twores.Problem:
        return transition_problem(
            app,
            store,
            more.pop("scope", ADMIN),
            problem.id,
            action,
            actor=actor,
            at=_at(date(2026, 3, day)),
            **more,  # type: ignore[arg-type]
        )

    step(Action.SUBMIT, "干部乙", 5, evidence=EVIDENCE)
    for verdict in (Action.REJECT, Action.VERIFY):
        with pytest.raises(IllegalTransitionError, match="提交整改的人"):
            step(verdict, "干部乙", 6, note="不合格", evidence=EVIDENCE)
        with pytest.raises(IllegalTransitionError, match="验证人不能是发现人"):
            step(verdict, a.cadre_id, 6, note="不合格", evidence=EVIDENCE)
    with store.unit_of_work(ADMIN) as uow:  # the business passes to another cadre
        other = next(c.id for c in uow.cadres.stream() if c.id != a.cadre_id)
        handed_over = Assignment(other, a.business_key, date(2026, 3, 4))
        uow.assignments.upsert_many([a.ended(date(2026, 3, 4)), handed_over])
        uow.commit()
    stranger = twores.Scope("干部丙", twores.Role.CADRE)
    with pytest.raises(twores.ScopeError):  # a cadre acts only where they hold the business
        step(Action.REJECT, "干部丙", 6, note="不合格", scope=stranger)
    cadre = twores.Scope(other, twores.Role.CADRE)
    with pytest.raises(twores.InvalidValueError, match="本人"):  # and in their own name only
        step(Action.REJECT, a.cadre_id, 6, note="不合格", scope=cadre)
    with pytest.raises(twores.InvalidValueError, match="2026-03-21"):  # 6 March + 15 days
        step(Action.REJECT, other, 6, note="不合格", deadline=date(2099, 12, 31), scope=cadre)
    with store.unit_of_work(ADMIN) as uow:
        unchanged = uow.problems.get(problem.id)
    assert unchanged is not None and unchanged.status is ProblemStatus.SUBMITTED
    rejected = step(Action.REJECT, other, 6, note="不合格", scope=cadre)
    assert rejected.deadline == date(2026, 3, 21)  # the rules' deadline
    step(Action.SUBMIT, "店主", 9, evidence=EVIDENCE)
    extended = step(Action.REJECT, "镇食安办", 10, note="须更换设备", deadline=date(2026, 5, 1))
    assert extended.deadline == date(2026, 5, 1)  # an office may grant more time
    from datetime import UTC, datetime

    from twores.services.problems import Step, transition_many

    step(Action.SUBMIT, "店主", 11, evidence=EVIDENCE)
    late_utc = datetime(2026, 3, 12, 17, tzinfo=UTC)  # 13 March, 01:00 in China
    (again,) = transition_many(
        app, store, ADMIN, [Step(problem.id, Action.REJECT, "镇食安办", late_utc, note="仍不合格")]
    )
    assert again.deadline == date(2026, 3, 28)  # 15 days from the China day, not 12 March's


def test_a_cadre_scope_records_visits_in_its_own_name_only(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        held = list(uow.assignments.stream(active_on=START))
    mine, theirs = held[0], next(h for h in held if h.cadre_id != held[0].cadre_id)
    scope = twores.Scope("user-li", twores.Role.CADRE, cadre_id=mine.cadre_id)
    as_another = VisitInput(theirs.business_key, theirs.cadre_id, date(2026, 3, 2))
    with pytest.raises(twores.InvalidValueError) as refused:
        record_visit(app, store, scope, as_another, now=_at(date(2026, 3, 2)))
    assert refused.value.code == "not_own_name" and refused.value.field == "cadre_id"
    own = VisitInput(mine.business_key, mine.cadre_id, date(2026, 3, 2))
    assert record_visit(app, store, scope, own, now=_at(date(2026, 3, 2))).written.inserted == 1
    with store.unit_of_work(ADMIN) as uow:
        assert [v.cadre_id for v in uow.visits.stream()] == [mine.cadre_id]


def test_a_cadre_opens_problems_in_their_own_name_for_businesses_they_hold(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    with store.unit_of_work(ADMIN) as uow:
        held = list(uow.assignments.stream(active_on=START))
    mine = held[0]
    other = next(a for a in held if a.cadre_id != mine.cadre_id)
    cadre = twores.Scope(mine.cadre_id, twores.Role.CADRE, COUNTY, cadre_id=mine.cadre_id)
    day = date(2026, 3, 2)

    def new(business: str, reporter: str) -> NewProblem:
        return NewProblem(business, "冷库温度超标", reporter, day, fixed_on_site=True)

    with pytest.raises(twores.InvalidValueError):  # not in another's name
        open_problems(app, store, cadre, [new(mine.business_key, "店主张三")], at=_at(day))
    with pytest.raises(twores.ScopeError, match=other.business_key):  # nor for another's shop
        open_problems(app, store, cadre, [new(other.business_key, mine.cadre_id)], at=_at(day))
    (opened,) = open_problems(
        app, store, cadre, [new(mine.business_key, f" {mine.cadre_id} ")], at=_at(day)
    )
    assert opened.reporter == mine.cadre_id  # so the reporter bar holds against them
    with pytest.raises(IllegalTransitionError, match="验证人不能是发现人"):
        transition_problem(
            app,
            store,
            ADMIN,
            opened.id,
            Action.VERIFY,
            actor=f"{mine.cadre_id} ",
            at=_at(day, 11),
            evidence=EVIDENCE,
        )
    with pytest.raises(MissingValueError):
        transition_problem(
            app,
            store,
            ADMIN,
            opened.id,
            Action.VERIFY,
            actor=" ",
            at=_at(day, 11),
            evidence=EVIDENCE,
        )


def test_findings_of_two_sources_alike_stay_two_problems(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    day = date(2026, 3, 2)
    found = open_problems(
        app,
        store,
        ADMIN,
        [
            NewProblem(key, "冷库温度超标", "督查组", day, source=twores.ProblemSource.OVERSIGHT),
            NewProblem(
                key, "冷库温度超标", "交叉检查组", day, source=twores.ProblemSource.CROSS_INSPECTION
            ),
        ],
        at=_at(day),
    )
    assert len({p.id for p in found}) == 2


def test_escalation_judges_the_china_day_of_its_time_and_no_other(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    a, problem = _one_finding(app, store, roster, date(2026, 3, 3))
    assert problem.deadline == date(2026, 3, 18)
    one_am = datetime(2026, 3, 17, 17, tzinfo=UTC)  # 01:00 on 3/18 in China: not yet overdue
    assert escalate_overdue(app, store, ADMIN, at=one_am) == []
    with pytest.raises(twores.InvalidValueError, match="2026-03-20"):
        escalate_overdue(app, store, ADMIN, date(2026, 3, 20), at=_at(date(2026, 3, 10)))
    (reminded,) = escalate_overdue(app, store, ADMIN, at=_at(date(2026, 3, 19)))
    assert reminded.event.action is Action.REMIND
    with pytest.raises(twores.InvalidValueError, match="时区"):  # a naive time: which day?
        open_problems(
            app,
            store,
            ADMIN,
            [NewProblem(a.business_key, "地面湿滑", "督查组", date(2026, 3, 2))],
            at=datetime(2026, 3, 2, 20),
        )


def test_a_bad_value_of_a_step_names_the_problem_and_the_step(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    _, problem = _one_finding(app, store, roster, date(2026, 3, 2))
    with pytest.raises(twores.InvalidValueError) as refused:
        transition_problem(
            app,
            store,
            ADMIN,
            problem.id,
            Action.SUBMIT,
            actor="干部乙",
            at=_at(date(2026, 3, 5)),
            evidence=(" ",),
        )
    said = refused.value
    assert problem.id in said.message_zh and "提交整改" in said.message_zh
    assert problem.id in said.message_en and said.field == "evidence"


def test_a_ledger_step_timed_after_now_is_refused(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    _, problem = _one_finding(app, store, roster, date(2026, 3, 2))
    tomorrow = datetime.now(CHINA_TZ) + timedelta(days=1)
    with pytest.raises(twores.InvalidValueError, match="晚于现在") as refused:
        transition_problem(
            app,
            store,
            ADMIN,
            problem.id,
            Action.SUBMIT,
            actor="干部乙",
            at=tomorrow,
            evidence=EVIDENCE,
        )
    assert refused.value.code == "date_ahead"
    with pytest.raises(twores.InvalidValueError, match="晚于现在"):
        open_problems(
            app,
            store,
            ADMIN,
            [NewProblem(problem.business_key, "地面湿滑", "督查组", tomorrow.date())],
            at=tomorrow,
        )
    later = transition_problem(  # a step taken now still follows the finding
        app, store, ADMIN, problem.id, Action.SUBMIT, actor="干部乙", evidence=EVIDENCE
    )
    assert later.status is ProblemStatus.SUBMITTED


def test_a_cadres_refused_step_names_only_the_steps_a_cadre_may_take(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    day = date(2026, 3, 2)
    held, problem = _one_finding(app, store, roster, day)
    assert problem.status is ProblemStatus.RECTIFYING
    cadre = twores.Scope(held.cadre_id, twores.Role.CADRE, COUNTY, cadre_id=held.cadre_id)

    with pytest.raises(IllegalTransitionError) as refused:
        transition_problem(
            app, store, cadre, problem.id, Action.CLOSE, actor=held.cadre_id, at=_at(day, 11)
        )

    assert refused.value.message_zh.endswith(f"当前可执行：{Action.SUBMIT.zh}")
    assert refused.value.message_en.endswith(f"allowed now: {Action.SUBMIT.en}")
    with pytest.raises(IllegalTransitionError) as office:  # an office is offered its steps
        transition_problem(
            app, store, ADMIN, problem.id, Action.CLOSE, actor="监管员", at=_at(day, 11)
        )
    assert Action.REMIND.zh in office.value.message_zh


class _EarlyMorning(datetime):
    """China time 06:30 on 2026-03-17, the day after a deadline (the nightly job's hour)."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return datetime(2026, 3, 17, 6, 30, tzinfo=CHINA_TZ).astimezone(tz)


def test_an_escalation_run_before_eight_is_stamped_now_and_blocks_no_later_step(
    app: twores.Twores, store: Store, roster: twores.Roster, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    opened = _at(date(2026, 3, 1))
    (problem,) = open_problems(
        app, store, ADMIN, [NewProblem(key, "进货查验记录不全", "督查组", opened.date())], at=opened
    )
    assert problem.deadline == date(2026, 3, 16)
    monkeypatch.setattr(periods, "datetime", _EarlyMorning)
    (reminded,) = escalate_overdue(app, store, ADMIN)  # judging today, 06:30
    assert reminded.event.at == datetime(2026, 3, 17, 6, 30, tzinfo=CHINA_TZ)
    fixed = transition_problem(
        app, store, ADMIN, problem.id, Action.SUBMIT, actor="店主", evidence=EVIDENCE
    )
    assert fixed.status is ProblemStatus.SUBMITTED


def test_a_problem_opened_just_after_midnight_in_china_counts_its_days_from_that_china_day(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    at = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)  # 00:30 on 04-01 in China
    with store.unit_of_work(ADMIN) as uow:  # open_in: the unit-of-work API, any time zone
        problem, _ = open_in(app, uow, NewProblem(key, "地面湿滑", "督查组", date(2026, 3, 31)), at)
        same, _ = open_in(
            app,
            uow,
            NewProblem(key, "墙面霉斑", "督查组", date(2026, 3, 31)),
            at.astimezone(CHINA_TZ),
        )
    assert problem.deadline == same.deadline == date(2026, 4, 16)
