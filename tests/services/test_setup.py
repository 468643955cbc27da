"""Setting up a database: ``init`` and ``synthesize`` report what they stored."""

from __future__ import annotations

from pathlib import Path

import pytest

import twores
from twores.core.errors import InvalidValueError
from twores.services.setup import synthesize
from twores.services.stores import open_store


def test_synthesize_reports_what_it_stored(tmp_path: Path) -> None:
    app = twores.build(load_entrypoints=False)
    url = f"sqlite:///{tmp_path / 'synth.db'}"
    report = synthesize(app, url, businesses=40, cadres=1, area="450323")
    store = open_store(app, url)
    try:
        with store.unit_of_work(twores.Scope.system()) as uow:
            assert (report.businesses, report.cadres) == (
                uow.businesses.count(),
                uow.cadres.count(),
            )
    finally:
        store.close()
    assert report.businesses == 40 and report.cadres > 1  # at least one cadre per area


def test_a_negative_size_is_refused(tmp_path: Path) -> None:
    app = twores.build(load_entrypoints=False)
    with pytest.raises(InvalidValueError) as error:
        synthesize(app, f"sqlite:///{tmp_path / 'x.db'}", businesses=-5, cadres=10)
    assert error.value.field == "businesses"
    assert not (tmp_path / "x.db").exists()
