"""Writes through the web while another write holds the database (a province's import from
the CLI, say): a web write waits only briefly, then answers 503 with Retry-After; reads
never queue behind the waiting writes; writes at once take turns instead of failing."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import TestClient
from tests.supervision.helpers import ADMIN, COUNTY, START, load
from tests.web.conftest import PASSWORD, sign_in

import twores
from twores.divisions import demo_region
from twores.plugins.sqlalchemy.backend import WRITES, SqlStore
from twores.services import problems
from twores.services.synth import synthetic_roster
from twores.services.users import User, add_user
from twores.testing.postgres import fresh_sql_store, sql_backends

WAIT = 1.0  # the app's writes_wait in these tests
WRITES_AT_ONCE = 8  # more than the event loop's default executor has threads on 2 cores


@contextmanager
def ledger(backend: str) -> Iterator[tuple[twores.Twores, SqlStore, list[str]]]:
    """A small county with an office user and six problems being rectified."""
    app = twores.build(load_entrypoints=False)
    roster = synthetic_roster(demo_region(), businesses=20, cadres=5, seed=5, within=COUNTY)
    with fresh_sql_store(backend) as store:
        load(store, roster, START)
        office = User("office", "灵川县食安办", twores.Role.OFFICE, COUNTY)
        add_user(app, store, twores.Scope.system("test"), office, password=PASSWORD)
        keys = sorted(roster.businesses)[:6]
        news = [problems.NewProblem(key, "未公示", "office", START) for key in keys]
        opened = problems.open_problems(app, store, ADMIN, news)
        yield app, store, [p.id for p in opened]


@contextmanager
def writer_lock_held(store: SqlStore) -> Iterator[None]:
    """Another connection holds the write lock (as a long import does) until the block ends."""
    if store.is_postgres:
        with store.engine.connect() as connection:
            key = sa.func.hashtext(sa.func.current_schema() + f" {WRITES}")
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
            yield
            connection.rollback()
        return
    database = store.engine.url.database
    assert database is not None
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def remind(client: TestClient[Any], problem_id: str) -> Any:
    return client.post(
        "/api/problems/transition",
        json={"problem_id": problem_id, "action": "remind", "note": "请尽快整改"},
        headers={"x-csrftoken": client.cookies.get("csrftoken", "")},
    )


def in_thread(work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("backend", sql_backends())
def test_while_another_write_holds_the_lock_web_writes_get_503_and_reads_answer(
    backend: str,
) -> None:
    from twores_web import create_app

    with ledger(backend) as (app, store, ids):
        web = create_app(app, store, secret="test-secret", writes_wait=WAIT)
        with TestClient(web) as client:
            assert sign_in(client, "office").status_code == 201
            written: list[tuple[float, Any]] = []
            read: list[tuple[float, Any]] = []

            def write(problem_id: str) -> None:
                started = time.monotonic()
                answer = remind(client, problem_id)
                written.append((time.monotonic() - started, answer))

            def list_businesses() -> None:
                started = time.monotonic()
                answer = client.get("/api/businesses", params={"limit": 5})
                read.append((time.monotonic() - started, answer))

            with writer_lock_held(store):
                release = time.monotonic() + 3 * WAIT  # whatever happens
                writers = [in_thread(lambda i=i: write(ids[i % 6])) for i in range(WRITES_AT_ONCE)]
                time.sleep(0.5)  # the writes are waiting now
                reader = in_thread(list_businesses)
                for thread in [reader, *writers]:
                    thread.join(max(0.0, release - time.monotonic()))
            reader.join(60)
            for thread in writers:
                thread.join(60)
            (took, answer), *_ = read
            assert answer.status_code == 200 and took < WAIT, took  # not queued behind them
            assert [a.status_code for _, a in written] == [503] * WRITES_AT_ONCE
            assert max(took for took, _ in written) < 2.5 * WAIT  # refused, not left waiting
            refused = written[0][1]
            assert refused.headers["retry-after"] == "1"
            body = refused.json()
            assert body["code"] == "writes_busy" and body["retry_after"] == 1
            assert body["zh"] == "另一项写入正在进行，请稍后重试"
            assert body["en"] == "another write is under way; try again shortly"
            assert remind(client, ids[0]).status_code == 201  # the lock released: it goes
        with store.unit_of_work(ADMIN) as uow:
            assert [p.reminders for p in uow.problems.stream()] == [1, 0, 0, 0, 0, 0]


@pytest.mark.parametrize("backend", sql_backends())
def test_web_writes_at_once_take_turns(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Five reminders on five problems at once: all answered 201 (on SQLite three used to
    fail with "database is locked": each had read before another committed)."""
    from twores_web import create_app

    slow = problems._step
    monkeypatch.setattr(problems, "_step", lambda *a: (time.sleep(0.1), slow(*a))[1])
    with ledger(backend) as (app, store, ids):
        web = create_app(app, store, secret="test-secret")
        with TestClient(web) as client:
            assert sign_in(client, "office").status_code == 201
            answers: list[Any] = []
            gate = threading.Barrier(5)

            def write(problem_id: str) -> None:
                gate.wait()
                answers.append(remind(client, problem_id))

            for thread in [in_thread(lambda i=i: write(ids[i])) for i in range(5)]:
                thread.join(60)
        assert [a.status_code for a in answers] == [201] * 5, [a.text for a in answers]
        with store.unit_of_work(ADMIN) as uow:
            assert sorted(p.reminders for p in uow.problems.stream()) == [0, 1, 1, 1, 1, 1]


@pytest.mark.parametrize("backend", sql_backends())
def test_six_offices_reminding_one_problem_at_once_are_all_kept(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each 201 is a step stored: none is lost to another's (PostgreSQL used to keep one
    of six), and none is refused for coming "before" one applied first."""
    from twores_web import create_app

    slow = problems._step
    monkeypatch.setattr(problems, "_step", lambda *a: (time.sleep(0.1), slow(*a))[1])
    with ledger(backend) as (app, store, ids):
        web = create_app(app, store, secret="test-secret")
        with TestClient(web) as client:
            assert sign_in(client, "office").status_code == 201
            answers: list[Any] = []
            gate = threading.Barrier(6)

            def write() -> None:
                gate.wait()
                answers.append(remind(client, ids[0]))

            for thread in [in_thread(write) for _ in range(6)]:
                thread.join(60)
        assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
        with store.unit_of_work(ADMIN) as uow:
            stored = uow.problems.get(ids[0])
        assert stored is not None and stored.reminders == 6 and len(stored.history) == 7


def test_a_locked_sqlite_database_is_a_503_never_a_500(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from twores_web import create_app

    def locked(*_: Any, **__: Any) -> Any:
        raise sa.exc.OperationalError(
            "UPDATE problems", {}, sqlite3.OperationalError("database is locked")
        )

    with ledger("sqlite") as (app, store, ids):
        web = create_app(app, store, secret="test-secret", writes_wait=3.0)
        monkeypatch.setattr(problems, "transition_problem", locked)
        with TestClient(web) as client:
            assert sign_in(client, "office").status_code == 201
            answer = remind(client, ids[0])
            assert answer.status_code == 503 and answer.headers["retry-after"] == "3"
            assert answer.json()["code"] == "writes_busy"
            assert "另一项写入正在进行" in answer.json()["zh"]
            page = client.post(
                "/problems/transition",
                data={"problem_id": ids[0], "action": "remind", "_csrf_token": ""},
                headers={"x-csrftoken": client.cookies.get("csrftoken", "")},
            )
            assert page.status_code == 503 and page.headers["retry-after"] == "3"
            assert "另一项写入正在进行" in page.text
