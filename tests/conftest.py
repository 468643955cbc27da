from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import settings

from twores.plugins.manager import TworesPluginManager, make_plugin_manager

# The profiles the twores pytest plugin ships, under the names .ci/run and make test use.
settings.register_profile("dev", settings.get_profile("twores-dev"))
settings.register_profile("ci", settings.get_profile("twores-ci"))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def pm() -> TworesPluginManager:
    """A fresh manager with the built-in plugins only (no entry points)."""
    return make_plugin_manager(load_entrypoints=False)


@pytest.fixture
def divisions_dir() -> Path:
    folder = Path(os.environ.get("TWORES_DIVISIONS_DIR", SHARED_DATA / "china-divisions-2022"))
    if not (folder / "villages.csv.xz").exists():
        pytest.skip(f"division data not present at {folder}")
    return folder


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A copy of the sample county ledgers (灵川县), to import and write reports beside."""
    source = SHARED_DATA / "sample-ledgers"
    if not source.exists():
        pytest.skip(f"sample ledgers not present at {source}")
    folder = tmp_path / "samples"
    shutil.copytree(source, folder)
    return folder


class Clock:
    """A settable clock for the throttle: time moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()
