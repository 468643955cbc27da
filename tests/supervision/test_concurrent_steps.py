"""Ledger steps on one problem from two writers at once: a step the caller gave no time is
timed once its unit holds the writer, so one that waited for another's commit follows it
instead of being refused as "earlier than the previous step" (rev1 §3)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest

import twores
from twores.core.periods import CHINA_TZ, china_time
from twores.core.ports import Store, UnitOfWork
from twores.core.problems import Action, transition
from twores.services.problems import transition_problem
from twores.services.supervision import VisitInput, record_visit, schedule

from .helpers import ADMIN, START, load


def _finding(app: twores.Twores, store: Store, roster: twores.Roster) -> twores.Problem:
    """One problem being rectified (found at a visit on 2026-03-02)."""
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        held = next(uow.assignments.stream(active_on=START))
    day = date(2026, 3, 2)
    visit = VisitInput(held.business_key, held.cadre_id, day, findings=("无健康证",))
    at = datetime(day.year, day.month, day.day, 10, tzinfo=CHINA_TZ)
    (problem,) = record_visit(app, store, ADMIN, visit, now=at).opened
    return problem


class _Watched:
    """The store, whose units set ``waiting`` as they start to claim the writer."""

    def __init__(self, store: Store, waiting: threading.Event) -> None:
        self.store, self.waiting = store, waiting

    def unit_of_work(self, scope: twores.Scope) -> UnitOfWork:
        uow = self.store.unit_of_work(scope)
        claim = uow.claim_writes

        def claim_writes() -> None:
            self.waiting.set()
            claim()

        uow.claim_writes = claim_writes  # type: ignore[method-assign]
        return uow

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_step_that_waited_for_another_writer_follows_its_step(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    problem = _finding(app, store, roster)
    waiting = threading.Event()
    outcome: dict[str, Any] = {}

    def second_office() -> None:
        try:
            outcome["moved"] = transition_problem(
                app, _Watched(store, waiting), ADMIN, problem.id, Action.REMIND, actor="乙办"
            )
        except BaseException as error:  # reported to the test's thread
            outcome["error"] = error

    with store.unit_of_work(ADMIN) as first:
        first.claim_writes()  # the first office holds the writer ...
        thread = threading.Thread(target=second_office)
        thread.start()
        assert waiting.wait(10)  # ... while the second office's step waits for it
        thread.join(0.2)
        assert thread.is_alive()  # still waiting: nothing commits before the first does
        stored = first.problems.get(problem.id)
        assert stored is not None
        first_at = china_time()  # after the second step was asked for
        after, _ = transition(
            stored,
            Action.REMIND,
            actor="甲办",
            at=first_at,
            deadline=first_at.date() + timedelta(days=30),
            role=twores.Role.ADMIN,
        )
        first.problems.upsert_many([after])
        first.commit()
    thread.join(30)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    moved = outcome["moved"]
    *_, mine, theirs = moved.history
    assert (mine.actor, theirs.actor) == ("甲办", "乙办")
    assert theirs.at >= mine.at == first_at
    assert moved.reminders == 2


def test_a_step_given_a_time_before_the_last_one_is_still_refused(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    problem = _finding(app, store, roster)
    done = transition_problem(app, store, ADMIN, problem.id, Action.REMIND, actor="甲办")
    earlier = done.history[-1].at - timedelta(minutes=1)
    with pytest.raises(twores.InvalidValueError, match="早于上一步的时间"):
        transition_problem(app, store, ADMIN, problem.id, Action.REMIND, actor="乙办", at=earlier)


def test_a_step_without_a_time_never_precedes_a_last_step_a_little_ahead(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    """Another machine's clock a minute ahead (within the skew allowed) stamped the last
    step: a step stamped here now takes that step's time rather than being refused."""
    problem = _finding(app, store, roster)
    ahead = china_time() + timedelta(minutes=2)
    transition_problem(app, store, ADMIN, problem.id, Action.REMIND, actor="甲办", at=ahead)
    moved = transition_problem(app, store, ADMIN, problem.id, Action.REMIND, actor="乙办")
    assert moved.history[-1].at == ahead and moved.history[-1].actor == "乙办"
