from __future__ import annotations

from pathlib import Path

import pytest

import twores
from twores.core.ports import Store
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.synth import synthetic_roster

from .helpers import COUNTY


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return MemoryStore()
    return SqlStore(f"sqlite:///{tmp_path / 'twores.db'}")


@pytest.fixture
def app() -> twores.Twores:
    return twores.build(load_entrypoints=False)


@pytest.fixture
def roster() -> twores.Roster:
    hierarchy = demo_region().subtree(COUNTY)
    return synthetic_roster(hierarchy, businesses=120, cadres=40, seed=5, within=COUNTY)
