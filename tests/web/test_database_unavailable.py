"""The database going away under a running app (a PostgreSQL restart or failover, an
SQLite file gone): every page and call answers 503 with Retry-After and a bilingual
message, logged in one line, never a 500 with a traceback; the next request after the
database is back answers as before."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import TestClient
from tests.supervision.helpers import COUNTY, START, load
from tests.web.conftest import PASSWORD, sign_in

import twores
from twores.divisions import demo_region
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.synth import synthetic_roster
from twores.services.users import User, add_user
from twores.testing.postgres import fresh_sql_store, sql_backends


class Kept(logging.Handler):
    """The records logged while it is attached (the app's logging config replaces the
    root's handlers, caplog's among them)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def unreachable(store: SqlStore) -> Iterator[None]:
    """New connections go to a closed port (PostgreSQL) or a folder that does not exist
    (SQLite), and the pooled ones are dropped, as after the server went down."""

    def elsewhere(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        if store.is_postgres:
            cparams.update(host="127.0.0.1", port=1)
        else:
            cargs[0] = "/nonexistent/twores-test/twores.db"

    sa.event.listen(store.engine, "do_connect", elsewhere)
    store.engine.dispose()
    try:
        yield
    finally:
        sa.event.remove(store.engine, "do_connect", elsewhere)


def test_the_store_helpers_tell_an_unavailable_database_from_a_conflict() -> None:
    from twores.services.stores import database_unavailable, write_conflict

    class Refused(Exception):
        sqlstate = None

    class Serialization(Exception):
        sqlstate = "40001"

    lost = sa.exc.OperationalError("SELECT 1", {}, Refused("connection refused"))
    conflict = sa.exc.OperationalError("UPDATE x", {}, Serialization("could not serialize"))
    assert database_unavailable(lost) and not write_conflict(lost)
    assert write_conflict(conflict) and not database_unavailable(conflict)
    assert database_unavailable(sa.exc.InterfaceError("SELECT 1", {}, Refused("closed")))
    assert not database_unavailable(sa.exc.ProgrammingError("SELEC", {}, Refused("syntax")))
    assert not database_unavailable(ValueError("no"))


@pytest.mark.parametrize("backend", sql_backends())
def test_a_database_gone_answers_503_in_one_log_line_and_comes_back(
    backend: str,
) -> None:
    from twores_web import create_app
    from twores_web.app import UNAVAILABLE_RETRY_AFTER

    app = twores.build(load_entrypoints=False)
    roster = synthetic_roster(demo_region(), businesses=10, cadres=3, seed=3, within=COUNTY)
    with fresh_sql_store(backend) as store:
        load(store, roster, START)
        office = User("office", "灵川县食安办", twores.Role.OFFICE, COUNTY)
        add_user(app, store, twores.Scope.system("test"), office, password=PASSWORD)
        web = create_app(app, store, secret="test-secret", freeze_heap=False)
        with TestClient(web) as client:
            assert sign_in(client, "office").status_code == 201
            listing = f"/api/businesses?area={COUNTY}"
            assert client.get(listing).status_code == 200
            kept, root = Kept(), logging.getLogger()
            root.addHandler(kept)
            try:
                with unreachable(store):
                    answer = client.get(listing)
                    page = client.get(f"/areas/{COUNTY}")
            finally:
                root.removeHandler(kept)
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == str(UNAVAILABLE_RETRY_AFTER)
            body = answer.json()
            assert body["code"] == "store_unavailable"
            assert body["zh"].startswith("数据库暂不可用") and "unavailable" in body["en"]
            assert body["retry_after"] == UNAVAILABLE_RETRY_AFTER
            assert "nonexistent" not in answer.text and "127.0.0.1" not in answer.text
            assert page.status_code == 503 and page.headers["retry-after"]
            assert "数据库暂不可用" in page.text
            records = kept.records
            assert len(records) == 2, [r.getMessage() for r in records]  # one per request
            assert all(r.exc_info is None and "unavailable" in r.getMessage() for r in records)
            assert all(r.levelno == logging.WARNING for r in records)
            assert client.get(listing).status_code == 200  # back: the next request answers
            assert client.get(f"/areas/{COUNTY}").status_code == 200


def test_a_write_conflict_is_a_503_to_try_again_not_a_500(monkeypatch: pytest.MonkeyPatch) -> None:
    from twores.services import web_views
    from twores_web import create_app

    class Deadlock(Exception):
        sqlstate = "40P01"

    def conflicted(*_: Any, **__: Any) -> Any:
        raise sa.exc.OperationalError("UPDATE x", {}, Deadlock("deadlock detected"))

    app = twores.build(load_entrypoints=False)
    with fresh_sql_store("sqlite") as store:
        load(store, synthetic_roster(demo_region(), businesses=5, cadres=2, within=COUNTY), START)
        office = User("office", "灵川县食安办", twores.Role.OFFICE, COUNTY)
        add_user(app, store, twores.Scope.system("test"), office, password=PASSWORD)
        web = create_app(app, store, secret="test-secret", freeze_heap=False, writes_wait=2.0)
        monkeypatch.setattr(web_views, "businesses", conflicted)
        with TestClient(web) as client:
            assert sign_in(client, "office").status_code == 201
            answer = client.get(f"/api/businesses?area={COUNTY}")
            assert answer.status_code == 503 and answer.headers["retry-after"] == "2"
            assert answer.json()["code"] == "writes_busy"
