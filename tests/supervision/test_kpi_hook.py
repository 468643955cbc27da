"""A region adds, reweights and replaces KPIs through ``twores_kpis``; a revised counter is
never served the counts its earlier version stored."""

from __future__ import annotations

from datetime import date
from typing import Any

import attrs
import pytest

import twores
from twores.core.errors import PluginError
from twores.core.kpis import Direction, Kpi, KpiInput, KpiSpec, KpiValue
from twores.core.ports import Counts
from twores.plugins import hookimpl
from twores.plugins.builtin.national_kpis import NATIONAL
from twores.services.kpis import compute_kpis, kpi_dashboard, rank_children

from .helpers import ADMIN, COUNTY, START, load

NATIONAL_BY_NAME = {k.spec.name: k for k in NATIONAL}
AS_OF = date(2026, 3, 31)


def _counts(value: KpiValue) -> tuple[int, int]:
    return value.numerator, value.denominator


def _suspended(k: KpiInput) -> Counts:
    """A region's own KPI: suspended businesses among those in scope, where they sit."""
    return {a: (t.in_scope - t.operating, t.in_scope) for a, t in k.tallies.items()}


def _every_business_counts_once(k: KpiInput) -> Counts:
    """A replacement coverage counter: every in-scope business, held or not."""
    return {a: (t.in_scope, t.in_scope) for a, t in k.tallies.items()}


SUSPENDED = Kpi(
    KpiSpec(
        "suspended",
        "停业主体占比",
        "businesses suspended",
        "停业主体",
        "在营、停业主体",
        Direction.LOWER_IS_BETTER,
        "在营、停业主体中停业的比例。",
        "Share of in-scope businesses that are suspended.",
    ),
    _suspended,
    frozenset({"business"}),
)


class Region:
    """Adds a KPI, doubles task completion's weight and replaces the coverage counter."""

    @hookimpl
    def twores_kpis(self) -> list[Kpi]:
        tasks, coverage = NATIONAL_BY_NAME["task_completion"], NATIONAL_BY_NAME["coverage"]
        return [
            SUSPENDED,
            attrs.evolve(tasks, spec=attrs.evolve(tasks.spec, weight=2.0)),
            attrs.evolve(coverage, count=_every_business_counts_once),
        ]


def test_a_region_adds_reweights_and_replaces_kpis(
    store: twores.Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    national = twores.build(load_entrypoints=False)
    regional = twores.build(load_entrypoints=False, plugins=[Region()])
    kpis = regional.plugins.kpis()
    assert set(kpis) == set(national.plugins.kpis()) | {"suspended"}
    assert kpis["task_completion"].spec.weight == 2.0
    table = compute_kpis(regional, store, ADMIN, "2026Q1", as_of=AS_OF)
    in_scope = sum(b.in_scope for b in roster.businesses.values())
    suspended = sum(
        b.status is twores.OperatingStatus.SUSPENDED for b in roster.businesses.values()
    )
    assert _counts(table.value("suspended", COUNTY)) == (suspended, in_scope)
    assert _counts(table.value("coverage", COUNTY)) == (in_scope, in_scope)
    dashboard = kpi_dashboard(regional, store, ADMIN, "2026Q1", COUNTY, as_of=AS_OF)
    assert _counts(dashboard.values["suspended"][COUNTY]) == (suspended, in_scope)
    ranking, _ = rank_children(regional, store, ADMIN, "2026Q1", COUNTY, as_of=AS_OF)
    assert dict(ranking.kpis)["task_completion"] == 2.0
    assert "suspended" in dict(ranking.kpis)


def _nobody(k: KpiInput) -> Counts:
    """The replacement coverage counter's next release: it counts anew."""
    return {a: (0, t.in_scope) for a, t in k.tallies.items()}


_nobody.__qualname__ = _every_business_counts_once.__qualname__  # same name, new logic


class RevisedRegion(Region):
    @hookimpl
    def twores_kpis(self) -> list[Kpi]:
        coverage = NATIONAL_BY_NAME["coverage"]
        revised = attrs.evolve(coverage, count=_nobody, version=f"{coverage.version}+1")
        return [*(k for k in super().twores_kpis() if k.spec.name != "coverage"), revised]


def test_a_revised_counter_is_not_served_its_earlier_counts(
    store: twores.Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    national = twores.build(load_entrypoints=False)
    held = compute_kpis(national, store, ADMIN, "2026Q1", as_of=AS_OF).value("coverage", COUNTY)
    first = twores.build(load_entrypoints=False, plugins=[Region()])
    everyone = compute_kpis(first, store, ADMIN, "2026Q1", as_of=AS_OF).value("coverage", COUNTY)
    assert everyone.numerator == everyone.denominator > 0
    second = twores.build(load_entrypoints=False, plugins=[RevisedRegion()])
    recounted = compute_kpis(second, store, ADMIN, "2026Q1", as_of=AS_OF)
    assert recounted.value("coverage", COUNTY).numerator == 0
    again = compute_kpis(national, store, ADMIN, "2026Q1", as_of=AS_OF)
    assert again.value("coverage", COUNTY) == held


class _Returns:
    def __init__(self, value: object) -> None:
        self.value = value

    @hookimpl
    def twores_kpis(self) -> object:
        return self.value


def test_a_plugin_returning_no_list_of_kpis_is_named() -> None:
    for returned in (SUSPENDED, SUSPENDED.spec, [SUSPENDED, "coverage"]):
        app = twores.build(load_entrypoints=False, plugins=[_Returns(returned)])
        with pytest.raises(PluginError) as error:
            app.plugins.kpis()
        assert "twores_kpis of plugin" in error.value.message_en
        assert "must return a list of Kpi" in error.value.message_en


@pytest.mark.parametrize(
    ("counts", "why"),
    [
        ({"999999": (1, 2)}, "is no known area"),
        ({COUNTY: (3, 2)}, "0 <= numerator <= denominator"),
        ({COUNTY: (-1, 2)}, "0 <= numerator <= denominator"),
        ({COUNTY: ("1", 2)}, "whole numbers"),
        ({COUNTY: (True, 2)}, "whole numbers"),
        ("50%", "a mapping"),
    ],
)
def test_a_counter_s_impossible_counts_are_refused_naming_the_kpi(
    store: twores.Store, roster: twores.Roster, counts: object, why: str
) -> None:
    load(store, roster, START)
    bad = attrs.evolve(SUSPENDED, count=lambda k: counts, reads=None, per_county=False)
    app = twores.build(load_entrypoints=False, plugins=[_Returns([bad])])
    with pytest.raises(PluginError) as error:
        compute_kpis(app, store, ADMIN, "2026Q1", as_of=AS_OF, names=["suspended"])
    assert "KPI suspended" in error.value.message_en and why in error.value.message_en
    assert "指标 suspended" in error.value.message_zh


class _DropLetters:
    """A hook wrapper: the only way a plugin can take a national KPI away."""

    @hookimpl(wrapper=True)
    def twores_kpis(self) -> Any:
        lists = yield
        return [[k for k in kpis if k.spec.name != "letters_signed"] for kpis in lists]


def test_a_hook_wrapper_can_take_a_kpi_away() -> None:
    national = twores.build(load_entrypoints=False).plugins.kpis()
    wrapped = twores.build(load_entrypoints=False, plugins=[_DropLetters()]).plugins.kpis()
    assert "letters_signed" in national
    assert list(wrapped) == [name for name in national if name != "letters_signed"]
