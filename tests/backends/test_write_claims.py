"""Read-modify-write units of work at once, through the services: each claims the writer
before it reads what it writes from (``UnitOfWork.claim_writes``), so none writes over a
commit it did not read (PostgreSQL, memory) and none is refused for a stale snapshot
(SQLite's "database is locked"). Each race is forced: the services sleep between their
read and their write."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.supervision.helpers import ADMIN, COUNTY, START, load

import twores
from twores.core.periods import china_time
from twores.core.ports import Store
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.services import imports, problems
from twores.services.exports import BUSINESS_HEADERS, _Masker, business_row, write_table
from twores.services.synth import synthetic_businesses, synthetic_roster
from twores.services.users import User, add_user
from twores.testing.postgres import fresh_sql_store, sql_backends

BACKENDS = ["memory", *sql_backends()]
WRITERS = 6
COUNTIES = ((COUNTY, 3), ("450324", 4))  # 灵川县, 全州县
PAUSE = 0.2  # between a service's read and its write: long enough for every race


@contextmanager
def opened(backend: str) -> Iterator[Store]:
    if backend == "memory":
        yield MemoryStore()
        return
    with fresh_sql_store(backend) as store:
        yield store


def together(work: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    """Run each callable in a thread of its own, all released at once: what they
    returned, and what they raised."""
    gate = threading.Barrier(len(work))
    done: list[Any] = []
    failures: list[BaseException] = []

    def run(job: Callable[[], Any]) -> None:
        gate.wait()
        try:
            done.append(job())
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return done, failures


def slowed(function: Callable[..., Any], pause: float = PAUSE) -> Callable[..., Any]:
    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(pause)
        return function(*args, **kwargs)

    return slow


@pytest.mark.parametrize("backend", BACKENDS)
def test_ledger_steps_taken_at_once_on_one_problem_are_all_kept(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six offices send a reminder on one problem at once: six steps stored, as confirmed
    (the step read the problem before another's step was committed, then replaced it)."""
    app = twores.build(load_entrypoints=False)
    roster = synthetic_roster(demo_region(), businesses=20, cadres=5, seed=5, within=COUNTY)
    with opened(backend) as store:
        load(store, roster, START)
        business = min(roster.businesses)
        new = problems.NewProblem(business, "冷藏柜温度超标", "office", START)
        (problem,) = problems.open_problems(app, store, ADMIN, [new])
        at = china_time()  # one time for all: a later step may not come before an earlier
        monkeypatch.setattr(problems, "_step", slowed(problems._step))

        def remind(n: int) -> Callable[[], twores.Problem]:
            action = twores.Action.REMIND
            return lambda: problems.transition_problem(
                app, store, ADMIN, problem.id, action, actor="office", at=at, note=f"提醒{n}"
            )

        done, failures = together([remind(n) for n in range(WRITERS)])
        assert failures == []
        with store.unit_of_work(ADMIN) as uow:
            stored = uow.problems.get(problem.id)
            assert uow.audit.verify() == []
        assert stored is not None
        notes = sorted(step.note for step in stored.history[1:])
        assert notes == sorted(f"提醒{n}" for n in range(WRITERS))
        assert stored.reminders == WRITERS
        assert sorted(len(p.history) for p in done) == list(range(2, WRITERS + 2))


def _ledger(path: Path, within: str, seed: int) -> Path:
    businesses = synthetic_businesses(demo_region(), 30, seed=seed, within=within, graded=True)
    write_table(path, BUSINESS_HEADERS, [list(business_row(b, _Masker(True))) for b in businesses])
    return path


@contextmanager
def guilin(backend: str) -> Iterator[Store]:
    with opened(backend) as store:
        with store.unit_of_work(ADMIN) as uow:
            uow.areas.upsert_many(demo_region())
            uow.commit()
        yield store


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_file_imported_twice_at_once_is_imported_then_replayed(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As one imported after the other: the second is a replay, not a crash on the
    import log's key (PostgreSQL) or a stale snapshot (SQLite), nor a second import."""
    app = twores.build(load_entrypoints=False)
    path = _ledger(tmp_path / "台账.csv", COUNTY, seed=3)
    earlier = _ledger(tmp_path / "全州.csv", "450324", seed=4)
    with guilin(backend) as store:
        imports.import_file(app, store, ADMIN, "businesses", earlier)  # not an empty table
        slow = slowed(imports._IMPORTERS["businesses"])
        monkeypatch.setitem(imports._IMPORTERS, "businesses", slow)

        def run() -> imports.ImportReport:
            return imports.import_file(app, store, ADMIN, "businesses", path)

        done, failures = together([run, run])
        assert failures == []
        assert sorted(report.replay for report in done) == [False, True]
        assert all(report.accepted for report in done)
        with store.unit_of_work(ADMIN) as uow:
            assert uow.businesses.count(within=COUNTY) == 30
            assert uow.audit.verify() == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_counties_imported_at_once_both_land(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writers take turns: on SQLite the second waits for the first (it used to be refused
    with "database is locked", having read before the first committed)."""
    app = twores.build(load_entrypoints=False)
    ledgers = [_ledger(tmp_path / f"{county}.csv", county, seed) for county, seed in COUNTIES]
    monkeypatch.setitem(imports._IMPORTERS, "businesses", slowed(imports._IMPORTERS["businesses"]))
    with guilin(backend) as store:

        def run(path: Path) -> Callable[[], imports.ImportReport]:
            return lambda: imports.import_file(app, store, ADMIN, "businesses", path)

        done, failures = together([run(path) for path in ledgers])
        assert failures == []
        assert [report.records.inserted for report in done] == [30, 30]
        with store.unit_of_work(ADMIN) as uow:
            assert uow.businesses.count(within=COUNTY) == 30
            assert uow.businesses.count(within="450324") == 30


@pytest.mark.parametrize("backend", sql_backends())
def test_one_user_added_twice_at_once_is_added_then_updated(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twores.plugins.sqlalchemy.users import SqlUserRepository

    app = twores.build(load_entrypoints=False)
    system = twores.Scope.system("test")
    monkeypatch.setattr(SqlUserRepository, "get", slowed(SqlUserRepository.get))
    with guilin(backend) as store:

        def add(name: str) -> Callable[[], twores.UpsertResult]:
            user = User("dwz", name, twores.Role.OFFICE, COUNTY)
            return lambda: add_user(app, store, system, user)

        done, failures = together([add("大圩镇食安办"), add("灵川县食安办")])
        assert failures == []
        assert sorted((r.inserted, r.updated) for r in done) == [(0, 1), (1, 0)]
        with store.unit_of_work(system) as uow:
            user = app.plugins.user_repository(uow).get("dwz")
            assert user is not None and user.display_name in ("大圩镇食安办", "灵川县食安办")
            assert uow.audit.verify() == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_escalations_run_at_once_remind_once(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs of the overdue escalation on one day: each overdue problem is reminded
    once (the second run reads the first's reminders), and neither run fails."""
    app = twores.build(load_entrypoints=False)
    roster = synthetic_roster(demo_region(), businesses=20, cadres=5, seed=5, within=COUNTY)
    with opened(backend) as store:
        load(store, roster, START)
        found = START + timedelta(days=300)
        keys = sorted(roster.businesses)[:5]
        news = [problems.NewProblem(key, "未公示", "office", found) for key in keys]
        opened_at = china_time().replace(year=found.year, month=found.month, day=found.day)
        problems.open_problems(app, store, ADMIN, news, at=opened_at)
        day = found + timedelta(days=60)
        monkeypatch.setattr(problems, "next_escalation", slowed(problems.next_escalation, 0.05))

        def run() -> list[problems.Escalation]:
            return problems.escalate_overdue(app, store, ADMIN, day, simulated=True)

        done, failures = together([run, run])
        assert failures == []
        assert sorted(len(steps) for steps in done) == [0, 5]
        with store.unit_of_work(ADMIN) as uow:
            assert [p.reminders for p in uow.problems.stream()] == [1] * 5
