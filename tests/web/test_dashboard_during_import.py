"""The dashboard while another process holds the writer (a CLI import on SQLite): a stale
dashboard is a read, so it answers 200 at once with counts recounted in its own snapshot,
never 503 "another write is under way" after writes_wait (as it did when its refresh
claimed the write lock to store the counts)."""

from __future__ import annotations

import time

from litestar.testing import TestClient
from tests.web.conftest import sign_in
from tests.web.test_write_waits import ledger, remind, writer_lock_held

QUICK = 3.0  # loose: a wait for the writer took writes_wait (5 s), then 503


def test_a_stale_dashboard_answers_while_an_import_holds_the_writer() -> None:
    """SQLite, where an import holds the one write lock (on PostgreSQL an import holds the
    writes' advisory lock, which the dashboard never took; a busy KPI summary claim there is
    covered by tests/services/test_kpi_refresh_busy.py)."""
    from twores_web import create_app

    with ledger("sqlite") as (app, store, ids):
        web = create_app(app, store, secret="test-secret")  # writes_wait: 5 s
        with TestClient(web) as client:
            assert sign_in(client, "office").status_code == 201
            assert client.get("/dashboard").status_code == 200  # warm: counts stored
            assert remind(client, ids[0]).status_code == 201  # the county's counts go stale
            with writer_lock_held(store):
                for path in ("/dashboard", "/api/dashboard"):
                    started = time.monotonic()
                    answer = client.get(path)
                    assert answer.status_code == 200, answer.text[:200]
                    assert time.monotonic() - started < QUICK
                during = client.get("/api/dashboard").json()
            assert client.get("/api/dashboard").json() == during  # the writer gone: the same
