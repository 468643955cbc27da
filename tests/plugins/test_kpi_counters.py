"""A plugin's KPI counter that fails is named, wherever the KPI is counted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import attrs
import pytest

import twores
from twores.core.errors import PluginError, TworesError
from twores.core.kpis import Kpi, KpiInput
from twores.core.ports import Counts, Store
from twores.core.security import ScopeError
from twores.divisions import demo_region
from twores.plugins import hookimpl
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.builtin.national_kpis import NATIONAL
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.kpis import compute_kpis, kpi_dashboard, rank_children

COUNTY = "450323"
ADMIN = twores.Scope("office", twores.Role.ADMIN)
AS_OF = date(2026, 3, 31)
COVERAGE = next(k for k in NATIONAL if k.spec.name == "coverage")


def _broken(facts: KpiInput) -> Counts:
    raise KeyError("village_code")


def _out_of_scope(facts: KpiInput) -> Counts:
    raise ScopeError("不在辖区内", "outside the jurisdiction")


class _Counter:
    """Replaces the coverage counter with ``count``."""

    def __init__(self, count: Callable[[KpiInput], Counts]) -> None:
        self.kpi = attrs.evolve(COVERAGE, count=count, version="broken")

    @hookimpl
    def twores_kpis(self) -> list[Kpi]:
        return [self.kpi]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    opened: Store = (
        MemoryStore()
        if request.param == "memory"
        else SqlStore(f"sqlite:///{tmp_path / 'twores.db'}")
    )
    with opened.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(demo_region().subtree(COUNTY))
        uow.commit()
    return opened


COUNTINGS: dict[str, Callable[[twores.Twores, Store], object]] = {
    "table": lambda app, store: compute_kpis(app, store, ADMIN, "2026Q1", as_of=AS_OF),
    "raw rows": lambda app, store: compute_kpis(
        app, store, ADMIN, "2026Q1", as_of=AS_OF, fresh=True
    ),
    "dashboard": lambda app, store: kpi_dashboard(app, store, ADMIN, "2026Q1", as_of=AS_OF),
    "ranking": lambda app, store: rank_children(app, store, ADMIN, "2026Q1", COUNTY, as_of=AS_OF),
}


@pytest.mark.parametrize("counting", COUNTINGS)
def test_a_failing_counter_is_a_plugin_error_naming_the_kpi_and_counter(
    store: Store, counting: str
) -> None:
    app = twores.build(load_entrypoints=False, plugins=[_Counter(_broken)])
    with pytest.raises(PluginError) as error:
        COUNTINGS[counting](app, store)
    counter = f"{__name__}._broken"
    assert error.value.message_en == (
        f"the counter {counter} of KPI coverage failed: KeyError: 'village_code'"
    )
    assert error.value.message_zh == (
        f"指标 coverage 的计数函数 {counter} 出错：KeyError: 'village_code'"
    )


def test_a_twores_error_a_counter_raises_on_purpose_passes_unchanged(store: Store) -> None:
    app = twores.build(load_entrypoints=False, plugins=[_Counter(_out_of_scope)])
    with pytest.raises(TworesError) as error:
        compute_kpis(app, store, ADMIN, "2026Q1", as_of=AS_OF)
    assert type(error.value) is ScopeError
    assert error.value.message_en == "outside the jurisdiction"
