"""`audit verify` checks the chain over the stored text and never parses a payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

import twores
from twores.core.audit import encoded_entry_hash
from twores.divisions import demo_region_areas
from twores.plugins.sqlalchemy import tables
from twores.plugins.sqlalchemy.repos import logs
from twores.services.stores import open_store

SYSTEM = twores.Scope.system("test")


@pytest.fixture
def store(tmp_path: Path) -> twores.Store:
    app = twores.build(load_entrypoints=False)
    store = open_store(app, f"sqlite:///{tmp_path / 'twores.db'}")
    areas = demo_region_areas()[:40]
    for start in range(0, 40, 10):  # a few entries
        with store.unit_of_work(SYSTEM) as uow:
            uow.areas.upsert_many(areas[start : start + 10])
            uow.commit()
    with store.unit_of_work(SYSTEM) as uow:
        assert len(list(uow.audit.entries())) >= 3
    return store


def _engine(store: twores.Store) -> sa.Engine:
    engine = getattr(store, "engine", None)
    assert isinstance(engine, sa.Engine)
    return engine


def _forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("verify parsed a payload")

    monkeypatch.setattr(logs.json, "loads", refuse)


def test_verify_parses_no_payload(store: twores.Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _forbid_parsing(monkeypatch)
    with store.unit_of_work(SYSTEM) as uow:
        assert uow.audit.verify() == []


def test_an_edit_is_found_without_parsing(
    store: twores.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = tables.audit_log
    with _engine(store).begin() as connection:
        after = connection.execute(sa.select(t.c.after).where(t.c.seq == 2)).scalar_one()
        edited = json.dumps(json.loads(after) | {"name": "改过"}, ensure_ascii=False)
        connection.execute(sa.update(t).where(t.c.seq == 2).values(after=edited))
    _forbid_parsing(monkeypatch)
    with store.unit_of_work(SYSTEM) as uow:
        assert [(p.seq, p.kind) for p in uow.audit.verify()] == [(2, "edited")]


def test_the_chain_is_the_stored_texts(store: twores.Store) -> None:
    """A payload that is no JSON at all, rehashed with every entry after it: the chain the
    stored text dictates is intact (the check hashes text; it does not read payloads)."""
    t = tables.audit_log
    with _engine(store).begin() as connection:
        rows = connection.execute(sa.select(t).order_by(t.c.seq)).all()
        prev = rows[0].prev_hash
        for row in rows:
            after = "{not json" if row.seq == 2 else row.after
            digest = encoded_entry_hash(
                prev,
                row.seq,
                row.at,
                row.actor,
                row.operation,
                row.entity,
                row.key,
                "null" if row.before is None else row.before,
                "null" if after is None else after,
            )
            connection.execute(
                sa.update(t)
                .where(t.c.seq == row.seq)
                .values(after=after, prev_hash=prev, hash=digest)
            )
            prev = digest
        connection.execute(sa.update(tables.audit_head).values(hash=prev))
    with store.unit_of_work(SYSTEM) as uow:
        assert uow.audit.verify() == []
        (entry,) = [e for e in uow.audit.entries(after_seq=1) if e.seq == 2]
        assert entry.after == "{not json"  # entries() still parses what it can
