"""The problem ledger (问题台账) against the test's own model of its legal moves.

Any action by any actor, with or without evidence, deadline or note, on any of a few
problems, under a clock that only moves forward; plus the escalation step. The model below
is written from the module's docstrings and tables (and docs/sources.md), not by asking
``transition`` what it would do.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from twores.core.errors import InvalidValueError
from twores.core.periods import CHINA_TZ
from twores.core.problems import (
    NEEDS_DEADLINE,
    NEEDS_EVIDENCE,
    NOT_BY_REPORTER,
    TRANSITIONS,
    Action,
    EscalationPolicy,
    IllegalTransitionError,
    Problem,
    ProblemEvent,
    ProblemSource,
    ProblemStatus,
    Severity,
    next_escalation,
    transition,
)

A, S = Action, ProblemStatus

# --- the model ----------------------------------------------------------------------------

#: status -> action -> status after: found, fixed on site or ordered (or referred at once);
#: a submitted fix is verified or rejected; verified problems are closed (销号); a referred
#: one closes when its case concludes; a closed one may be reopened for rectification.
MODEL_MOVES: dict[ProblemStatus, dict[Action, ProblemStatus]] = {
    S.FOUND: {A.FIX_ON_SITE: S.FIXED_ON_SITE, A.ORDER: S.RECTIFYING, A.REFER: S.REFERRED},
    S.FIXED_ON_SITE: {A.VERIFY: S.VERIFIED},
    S.RECTIFYING: {A.SUBMIT: S.SUBMITTED, A.REMIND: S.RECTIFYING, A.REFER: S.REFERRED},
    S.SUBMITTED: {A.VERIFY: S.VERIFIED, A.REJECT: S.RECTIFYING},
    S.VERIFIED: {A.CLOSE: S.CLOSED},
    S.REFERRED: {A.CASE_CLOSED: S.CLOSED},
    S.CLOSED: {A.REOPEN: S.RECTIFYING},
}
#: Actions that set a new rectification deadline, which must be given and not yet passed.
MODEL_SETS_DEADLINE = frozenset({A.ORDER, A.REJECT, A.REMIND, A.REOPEN})
#: The fix, its verification and the case decision need evidence.
MODEL_NEEDS_EVIDENCE = frozenset({A.SUBMIT, A.VERIFY, A.CASE_CLOSED})
#: Verifications: never by the reporter; the actor becomes the problem's verifier.
MODEL_VERIFIES = frozenset({A.VERIFY, A.CASE_CLOSED})
#: Verdicts on a submitted fix: never by the reporter, nor by the one who submitted it.
MODEL_VERDICTS = frozenset({A.VERIFY, A.REJECT})
#: Actions that need a reason.
MODEL_NEEDS_NOTE = frozenset({A.REJECT, A.REOPEN, A.REFER})

ACTORS = ("甲", "乙", "丙", "丁")
SYSTEM = "系统"
START = datetime(2025, 3, 3, 9, 0, tzinfo=CHINA_TZ)
NOTE = "逾期未整改"
HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

notes = st.sampled_from(["", "  ", "整改不到位", NOTE])
evidences = st.sampled_from([(), (HASH,), (HASH, HASH[::-1]), ("",), ("整改照片.jpg", " ")])
policies = st.builds(EscalationPolicy, reminders=st.integers(0, 3), grace_days=st.integers(1, 10))


def problem(
    number: int,
    reporter: str,
    found_on: date,
    *,
    severity: Severity = Severity.MINOR,
    source: ProblemSource = ProblemSource.VISIT,
) -> Problem:
    return Problem(
        id=f"P{number}",
        business_key=f"JY2450323003449{number % 10}",
        area_code="450323101",
        source=source,
        description="后厨未设置防蝇防鼠设施",
        severity=severity,
        found_on=found_on,
        reporter=reporter,
    )


def local_day(at: datetime) -> date:
    return at.astimezone(CHINA_TZ).date()


def model_errors(
    problem: Problem,
    action: Action,
    *,
    actor: str,
    at: datetime,
    note: str,
    evidence: tuple[str, ...],
    deadline: date | None,
) -> set[type[Exception]]:
    """Every error the rules allow for this move (empty: the move is legal)."""
    errors: set[type[Exception]] = set()
    if action not in MODEL_MOVES[problem.status]:
        errors.add(IllegalTransitionError)
    if action in MODEL_VERIFIES | MODEL_VERDICTS and actor == problem.reporter:
        errors.add(IllegalTransitionError)
    submitted = problem.status is S.SUBMITTED and problem.history[-1].action is A.SUBMIT
    if action in MODEL_VERDICTS and submitted and actor == problem.history[-1].actor:
        errors.add(IllegalTransitionError)
    if any(not item.strip() for item in evidence):
        errors.add(InvalidValueError)
    if action in MODEL_NEEDS_EVIDENCE and not evidence:
        errors.add(IllegalTransitionError)
    if action in MODEL_SETS_DEADLINE:
        if deadline is None:
            errors.add(IllegalTransitionError)
        elif deadline < local_day(at):
            errors.add(InvalidValueError)
    if action in MODEL_NEEDS_NOTE and not note.strip():
        errors.add(IllegalTransitionError)
    if problem.history and at < problem.history[-1].at:
        errors.add(InvalidValueError)
    if local_day(at) < problem.found_on:
        errors.add(InvalidValueError)
    return errors


def model_after(problem: Problem, action: Action, *, actor: str, deadline: date | None) -> Problem:
    """The problem after a legal move, history aside."""
    deadline_after = problem.deadline
    if action in MODEL_SETS_DEADLINE:
        deadline_after = deadline
    elif action is A.REFER:
        deadline_after = None  # the regulator's case now runs the follow-up
    verified_by = problem.verified_by
    if action in MODEL_VERIFIES:
        verified_by = actor
    elif action is A.REOPEN:
        verified_by = None
    submitted = problem.history[-1] if problem.history else None
    late_fix = (
        submitted is not None
        and submitted.action is A.SUBMIT
        and problem.deadline is not None
        and local_day(submitted.at) > problem.deadline
    )
    restarts = action is A.REOPEN or (action is A.REJECT and not late_fix)
    return attrs.evolve(
        problem,
        status=MODEL_MOVES[problem.status][action],
        deadline=deadline_after,
        reminders=0 if restarts else problem.reminders + (action is A.REMIND),
        escalation=problem.escalation + (action is A.REFER),
        verified_by=verified_by,
        history=(),
    )


def model_escalation(problem: Problem, on: date, policy: EscalationPolicy) -> Action | None:
    """Overdue (rectifying, past its deadline): a reminder while fewer than the policy's
    have gone out, then a referral."""
    if problem.status is not S.RECTIFYING or problem.deadline is None or on <= problem.deadline:
        return None
    return A.REMIND if reminders_since_restart(problem) < policy.reminders else A.REFER


def reminders_since_restart(problem: Problem) -> int:
    """REMIND events since the last reopening or rejected fix — one submitted in time
    (a late fix that is rejected escalates on)."""
    sent, deadline, late = 0, None, False
    for e in problem.history:
        if e.action is A.SUBMIT:
            late = deadline is not None and local_day(e.at) > deadline
        restarts = e.action is A.REOPEN or (e.action is A.REJECT and not late)
        sent = 0 if restarts else sent + (e.action is A.REMIND)
        if e.action in MODEL_SETS_DEADLINE:
            deadline = e.deadline
        elif e.action is A.REFER:
            deadline = None
    return sent


def checked_transition(
    problem: Problem,
    action: Action,
    *,
    actor: str,
    at: datetime,
    note: str = "",
    evidence: tuple[str, ...] = (),
    deadline: date | None = None,
) -> Problem | None:
    """``transition``, checked against the model: the problem after, or None if refused."""
    errors = model_errors(
        problem, action, actor=actor, at=at, note=note, evidence=evidence, deadline=deadline
    )
    before = copy.copy(problem)  # frozen all the way down: a shallow copy is a snapshot
    if errors:
        with pytest.raises((IllegalTransitionError, InvalidValueError)) as raised:
            transition(
                problem, action, actor=actor, at=at, note=note, evidence=evidence, deadline=deadline
            )
        assert type(raised.value) in errors, f"{action}: {raised.value!r}, expected {errors}"
        assert problem == before
        return None
    after, event = transition(
        problem, action, actor=actor, at=at, note=note, evidence=evidence, deadline=deadline
    )
    assert problem == before
    assert attrs.evolve(after, history=()) == model_after(
        problem, action, actor=actor, deadline=deadline
    )
    assert after.status is TRANSITIONS[problem.status][action]
    assert after.history == (*problem.history, event)
    assert (event.problem_id, event.seq, event.action, event.status) == (
        problem.id,
        len(problem.history) + 1,
        action,
        after.status,
    )
    assert (event.actor, event.at, event.note, event.evidence) == (actor, at, note, evidence)
    if action in MODEL_SETS_DEADLINE:
        assert event.deadline == deadline
    return after


def test_the_model_is_the_module_tables() -> None:
    assert MODEL_MOVES == TRANSITIONS
    assert MODEL_SETS_DEADLINE == NEEDS_DEADLINE
    assert MODEL_NEEDS_EVIDENCE == NEEDS_EVIDENCE
    assert MODEL_VERIFIES | MODEL_VERDICTS == NOT_BY_REPORTER


# --- the state machine --------------------------------------------------------------------


class ProblemLedger(RuleBasedStateMachine):
    """A few problems; anyone tries anything; the clock runs forward; overdue ones escalate."""

    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.policy = EscalationPolicy()
        self.problems: dict[str, Problem] = {}
        #: per problem: (status, deadline) at the end of each day a step was taken
        self.days: dict[str, dict[date, tuple[ProblemStatus, date | None]]] = {}

    def took(self, key: str, after: Problem) -> None:
        self.problems[key] = after
        self.days[key][local_day(after.history[-1].at)] = (after.status, after.deadline)

    @initialize(
        found=st.lists(
            st.tuples(st.sampled_from(ACTORS), st.sampled_from(Severity)), min_size=1, max_size=3
        ),
        source=st.sampled_from(ProblemSource),
        policy=policies,
        seconds=st.integers(0, 86_399),
    )
    def start(
        self,
        found: list[tuple[str, Severity]],
        source: ProblemSource,
        policy: EscalationPolicy,
        seconds: int,
    ) -> None:
        """Up to three problems (reporter, severity) found today; the escalation policy."""
        self.now = START + timedelta(seconds=seconds)
        self.policy = policy
        for number, (reporter, severity) in enumerate(found, 1):
            self.problems[f"P{number}"] = problem(
                number, reporter, local_day(self.now), severity=severity, source=source
            )
            self.days[f"P{number}"] = {local_day(self.now): (S.FOUND, None)}

    def pick(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(sorted(self.problems)), label="problem")

    @rule(days=st.integers(0, 20), seconds=st.integers(0, 86_399))
    def advance_clock(self, days: int, seconds: int) -> None:
        self.now += timedelta(days=days, seconds=seconds)

    @rule(data=st.data())
    def act(self, data: st.DataObject) -> None:
        """Any action by any actor; half the time one the status allows, to go deep."""
        key = self.pick(data)
        before = self.problems[key]
        allowed = list(MODEL_MOVES[before.status])
        action = data.draw(st.sampled_from(allowed) | st.sampled_from(list(Action)), label="action")
        hours_back = data.draw(st.just(0) | st.integers(1, 72), label="hours_back")
        at = self.now - timedelta(hours=hours_back)
        deadline = data.draw(
            st.none() | st.integers(-3, 30).map(lambda d: local_day(at) + timedelta(days=d)),
            label="deadline",
        )
        after = checked_transition(
            before,
            action,
            actor=data.draw(st.sampled_from(ACTORS), label="actor"),
            at=at,
            note=data.draw(notes, label="note"),
            evidence=data.draw(evidences, label="evidence"),
            deadline=deadline,
        )
        if after is not None:
            self.took(key, after)

    @rule(data=st.data())
    def act_in_order(self, data: st.DataObject) -> None:
        """A move the status allows, mostly well-formed (so problems go round the loop)."""
        key = self.pick(data)
        before = self.problems[key]
        action = data.draw(st.sampled_from(list(MODEL_MOVES[before.status])), label="action")
        others = [a for a in ACTORS if a != before.reporter]
        days = data.draw(st.integers(0, 10), label="days")
        after = checked_transition(
            before,
            action,
            actor=data.draw(st.sampled_from(others) | st.just(before.reporter), label="actor"),
            at=self.now,
            note=data.draw(st.just(NOTE) | notes, label="note"),
            evidence=data.draw(st.just((HASH,)) | evidences, label="evidence"),
            deadline=local_day(self.now) + timedelta(days=days),
        )
        if after is not None:
            self.took(key, after)

    @rule(data=st.data())
    def escalate(self, data: st.DataObject) -> None:
        """The daily escalation job: each overdue problem gets its one step for today."""
        self.escalate_all(data)

    @rule(data=st.data(), days=st.integers(1, 20))
    def live_days(self, data: st.DataObject, days: int) -> None:
        """Days go by with the escalation job running once (or twice) each morning."""
        for _ in range(days):
            self.now += timedelta(days=1)
            for _ in range(data.draw(st.integers(1, 2), label="runs")):
                self.escalate_all(data)

    def escalate_all(self, data: st.DataObject) -> None:
        today = local_day(self.now)
        for key in sorted(self.problems):
            before = self.problems[key]
            due = next_escalation(before, today, self.policy)
            assert due is model_escalation(before, today, self.policy)
            if due is None:
                continue
            after = checked_transition(
                before,
                due,
                actor=data.draw(st.sampled_from((SYSTEM, *ACTORS)), label="actor"),
                at=self.now,
                note=NOTE,
                deadline=today + timedelta(days=self.policy.grace_days),
            )
            assert after is not None, f"the escalation step {due} was refused"
            assert next_escalation(after, today, self.policy) is None, "two steps due on one day"
            self.took(key, after)

    @invariant()
    def each_past_day_replays_to_what_it_was(self) -> None:
        for key, p in self.problems.items():
            days = sorted(self.days[key].items())
            for (day, state), (next_day, _) in pairwise([*days, (date.max, None)]):
                assert p.state_on(day) == state
                if next_day > day + timedelta(days=1) and next_day != date.max:
                    assert p.state_on(next_day - timedelta(days=1)) == state
                status, deadline = state
                late = status is S.RECTIFYING and deadline is not None and day > deadline
                assert p.overdue_on(day) is late

    @invariant()
    def ledger_is_consistent(self) -> None:
        for p in self.problems.values():
            assert p.status in TRANSITIONS
            assert [e.seq for e in p.history] == list(range(1, len(p.history) + 1))
            assert all(e.problem_id == p.id for e in p.history)
            assert all(a.at <= b.at for a, b in pairwise(p.history))
            assert p.status is (p.history[-1].status if p.history else S.FOUND)
            # the history replays through the model to the statuses it records
            status = S.FOUND
            for e in p.history:
                status = MODEL_MOVES[status][e.action]
                assert e.status is status
            assert p.reminders == reminders_since_restart(p)
            assert p.escalation == sum(e.action is A.REFER for e in p.history)
            if p.status is S.RECTIFYING:
                assert p.deadline is not None
            # the verifier is whoever verified since the last reopening
            verifier = None
            for e in p.history:
                if e.action in MODEL_VERIFIES:
                    verifier = e.actor
                elif e.action is A.REOPEN:
                    verifier = None
            assert p.verified_by == verifier
            if p.closed:
                assert p.verified_by is not None and p.verified_by != p.reporter


ProblemLedger.TestCase.settings = settings(stateful_step_count=30, deadline=None)
TestProblemLedger = ProblemLedger.TestCase


# --- escalation, day by day ---------------------------------------------------------------


@given(
    policy=policies,
    days_to_fix=st.integers(0, 15),
    tries_per_day=st.integers(1, 3),
    reporter=st.sampled_from(ACTORS),
)
def test_each_overdue_day_gets_exactly_one_reminder_or_referral(
    policy: EscalationPolicy, days_to_fix: int, tries_per_day: int, reporter: str
) -> None:
    """Run the escalation step several times a day, every day: one step on each overdue day
    (and none on other days), ``policy.reminders`` reminders then one referral, then quiet."""
    p = problem(1, reporter, START.date())
    p, _ = transition(
        p, A.ORDER, actor=reporter, at=START, deadline=START.date() + timedelta(days=days_to_fix)
    )
    steps: list[ProblemEvent] = []
    horizon = days_to_fix + (policy.reminders + 1) * (policy.grace_days + 1) + 5
    for offset in range(horizon + 1):
        day = START.date() + timedelta(days=offset)
        deadline_in_force = p.deadline
        overdue = (
            p.status is S.RECTIFYING and deadline_in_force is not None and day > deadline_in_force
        )
        today: list[ProblemEvent] = []
        for hour in range(tries_per_day):
            due = next_escalation(p, day, policy)
            if due is None:
                continue
            at = datetime.combine(day, time(9 + hour), tzinfo=CHINA_TZ)
            grace = day + timedelta(days=policy.grace_days)
            p, event = transition(p, due, actor=SYSTEM, at=at, note=NOTE, deadline=grace)
            today.append(event)
        assert len(today) == int(overdue), f"{day}: {[e.action for e in today]}"
        if today:
            # the step comes on the first day past the deadline then in force
            assert deadline_in_force is not None and day == deadline_in_force + timedelta(days=1)
        steps.extend(today)
    assert [e.action for e in steps] == [A.REMIND] * policy.reminders + [A.REFER]
    assert p.status is S.REFERRED and p.reminders == policy.reminders and p.escalation == 1


def test_a_passed_deadline_is_refused_whatever_the_zone_of_at() -> None:
    """01:00 on 11 March in China, written in UTC (17:00 on the 10th): the 10th has passed."""
    at = datetime(2025, 3, 10, 17, 0, tzinfo=UTC)
    assert local_day(at) == date(2025, 3, 11)
    p = problem(1, "甲", date(2025, 3, 10))
    assert model_errors(
        p, A.ORDER, actor="甲", at=at, note="", evidence=(), deadline=date(2025, 3, 10)
    ) == {InvalidValueError}
    try:
        transition(p, A.ORDER, actor="甲", at=at, deadline=date(2025, 3, 10))
    except InvalidValueError:
        return
    raise AssertionError("ordered with a deadline that had already passed in China")
