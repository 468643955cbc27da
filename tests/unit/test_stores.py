"""Opening a store from what a user or the environment names."""

from __future__ import annotations

from pathlib import Path

import pytest

import twores
from twores.services.stores import DB_ENV, database_url, open_store


def test_twores_db_may_be_a_plain_file_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DB_ENV, str(tmp_path / "county.db"))
    assert database_url(None) == f"sqlite:///{tmp_path / 'county.db'}"
    store = open_store(twores.build(load_entrypoints=False))
    try:
        with store.unit_of_work(twores.Scope.system()) as uow:
            assert uow.businesses.count() == 0
    finally:
        store.close()
    assert (tmp_path / "county.db").exists()


def test_a_url_is_kept_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DB_ENV, "postgresql://twores@db/twores")
    assert database_url(None) == "postgresql://twores@db/twores"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"
