"""A fresh app, and a store holding the packaged 桂林市 areas (SQLite, or memory)."""

from __future__ import annotations

from pathlib import Path

import pytest

import twores
from twores.divisions import demo_region
from twores.services.stores import open_store


@pytest.fixture
def app() -> twores.Twores:
    return twores.build(load_entrypoints=False)


def guilin_store(app: twores.Twores, url: str) -> twores.Store:
    store = open_store(app, url)
    with store.unit_of_work(twores.Scope.system("test set-up")) as uow:
        uow.areas.upsert_many(demo_region())
        uow.commit()
    return store


@pytest.fixture
def store(app: twores.Twores, tmp_path: Path) -> twores.Store:
    return guilin_store(app, f"sqlite:///{tmp_path / 'twores.db'}")
