"""A stale KPI dashboard while another process holds the writer (a CLI import on SQLite, or
another process storing KPI counts on PostgreSQL): the read recounts the stale counties in
its own snapshot and answers at once, without storing; it never waits for the writer, nor
is it refused because of it. Once the writer is gone, a later dashboard stores the counts,
and the summary equals a recount from raw rows."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
import sqlalchemy as sa
from tests.supervision.helpers import ADMIN, COUNTY, START, load

import twores
from twores.core.periods import Period
from twores.divisions import demo_region
from twores.plugins.sqlalchemy.backend import WRITES, SqlStore
from twores.services import kpis as kpi_service
from twores.services import problems
from twores.services.kpis import Dashboard, compute_kpis, kpi_dashboard
from twores.services.synth import synthetic_roster
from twores.testing.postgres import fresh_sql_store, sql_backends
from twores_web.writes import WRITES_WAIT, WebStore

PERIOD = "2026Q1"
DAY = date(2026, 3, 31)
CITY = COUNTY[:4]
#: Loose: a read answers in milliseconds here; a wait for the writer took 5 s (writes_wait).
QUICK = 3.0

Values = dict[tuple[str, str], tuple[int, int]]


@contextmanager
def county(backend: str) -> Iterator[tuple[twores.Twores, SqlStore, list[str]]]:
    app = twores.build(load_entrypoints=False)
    roster = synthetic_roster(demo_region(), businesses=30, cadres=6, seed=7, within=COUNTY)
    with fresh_sql_store(backend) as store:
        load(store, roster, START)
        yield app, store, sorted(roster.businesses)


@contextmanager
def writer_busy(store: SqlStore) -> Iterator[None]:
    """Another connection holds the writer until the block ends: on SQLite the write lock
    (``BEGIN IMMEDIATE``, as an import holds it); on PostgreSQL the writes' and the KPI
    summary's advisory locks (an import, and another process storing KPI counts)."""
    if store.is_postgres:
        with store.engine.connect() as connection:
            for name in (WRITES, "twores.kpi_summary"):
                key = sa.func.hashtext(sa.func.current_schema() + f" {name}")
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
            yield
            connection.rollback()
        return
    database = store.engine.url.database
    assert database is not None
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("UPDATE audit_head SET seq = seq")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def make_stale(app: twores.Twores, store: SqlStore, keys: list[str]) -> None:
    """A write in the county that changes its counts (a problem opened)."""
    news = [problems.NewProblem(keys[0], "未公示", "office", START)]
    problems.open_problems(app, store, ADMIN, news)


def shown(board: Dashboard) -> Values:
    return {
        (name, area): (value.numerator, value.denominator)
        for name, by_area in board.values.items()
        for area, value in by_area.items()
    }


def recount(app: twores.Twores, store: SqlStore, board: Dashboard) -> Values:
    table = compute_kpis(app, store, ADMIN, PERIOD, as_of=DAY, within=board.area, fresh=True)
    found = {}
    for name in board.values:
        for area in board.areas:
            value = table.value(name, area)
            found[(name, area)] = (value.numerator, value.denominator)
    return found


def summary_stale(app: twores.Twores, store: SqlStore) -> bool:
    """Whether any stored count of the period is stale (a read-only pass)."""
    every = app.plugins.kpis()
    with store.unit_of_work(ADMIN) as uow:
        try:
            kpi_service._refreshed(app, uow, every, Period.parse(PERIOD), DAY, None, recount=False)
        except kpi_service._Stale:
            return True
    return False


def web_dashboard(app: twores.Twores, store: SqlStore, area: str | None) -> Dashboard:
    return kpi_dashboard(app, WebStore(store, WRITES_WAIT), ADMIN, PERIOD, area, as_of=DAY)


@pytest.mark.parametrize("backend", sql_backends())
def test_a_stale_dashboard_answers_while_a_writer_holds_the_lock(backend: str) -> None:
    with county(backend) as (app, store, keys):
        web_dashboard(app, store, None)  # warm: counts stored
        assert not summary_stale(app, store)
        make_stale(app, store, keys)
        assert summary_stale(app, store)
        boards = {}
        with writer_busy(store):
            for area in (None, CITY, COUNTY):
                started = time.monotonic()
                boards[area] = web_dashboard(app, store, area)
                assert time.monotonic() - started < QUICK
            assert summary_stale(app, store)  # answered, not stored: the writer holds it
        for board in boards.values():
            assert shown(board) == recount(app, store, board)
        # the writer gone, the next dashboard stores the counts: equal to a recount
        again = web_dashboard(app, store, None)
        assert not summary_stale(app, store)
        assert shown(again) == shown(boards[None])
        stored = compute_kpis(app, store, ADMIN, PERIOD, as_of=DAY)
        fresh = compute_kpis(app, store, ADMIN, PERIOD, as_of=DAY, fresh=True)
        for name in app.plugins.kpis():
            for area in (CITY, COUNTY):
                assert stored.value(name, area) == fresh.value(name, area)


@pytest.mark.parametrize("backend", sql_backends())
def test_stale_dashboards_at_once_all_answer_while_a_writer_holds_the_lock(backend: str) -> None:
    """Several threads (a web server's) asking stale dashboards at once: none waits for the
    writer, none for the others' turn in a queue (each took 5 s more before)."""
    with county(backend) as (app, store, keys):
        web_dashboard(app, store, None)
        make_stale(app, store, keys)
        areas = [None, CITY, None, CITY]
        boards: dict[int, Dashboard] = {}
        errors: list[BaseException] = []
        took: dict[int, float] = {}

        def ask(i: int) -> None:
            started = time.monotonic()
            try:
                boards[i] = web_dashboard(app, store, areas[i])
            except BaseException as error:
                errors.append(error)
            took[i] = time.monotonic() - started

        with writer_busy(store):
            threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(areas))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
        assert not errors
        assert sorted(boards) == list(range(len(areas)))
        assert max(took.values()) < QUICK
        expected = {area: recount(app, store, boards[areas.index(area)]) for area in (None, CITY)}
        for i, board in boards.items():
            assert shown(board) == expected[areas[i]]
        web_dashboard(app, store, None)
        assert not summary_stale(app, store)


@pytest.mark.parametrize("backend", sql_backends())
def test_a_stale_dashboard_does_not_queue_behind_another_refresh(backend: str) -> None:
    """Another thread of the process refreshing for long (a province's recount): a stale
    dashboard waits briefly for it at most, then counts on its own."""
    with county(backend) as (app, store, keys):
        web_dashboard(app, store, None)
        make_stale(app, store, keys)
        done: list[Dashboard] = []
        assert kpi_service._REFRESHING.acquire(timeout=5)
        try:
            asker = threading.Thread(target=lambda: done.append(web_dashboard(app, store, CITY)))
            started = time.monotonic()
            asker.start()
            asker.join(timeout=10)
            assert done and time.monotonic() - started < QUICK
        finally:
            kpi_service._REFRESHING.release()
        assert shown(done[0]) == recount(app, store, done[0])
        assert not summary_stale(app, store)  # the claim was free: stored
