"""KPI names are checked: a misspelt one is refused (listing the known KPIs), never read as
0 of 0 nor raised as a bare KeyError, and refused before any unit of work opens."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

import twores
from twores.core.errors import InvalidChoiceError
from twores.services.kpis import compute_kpis, kpi_dashboard

COUNTY = "450323"  # 灵川县
OFFICE = twores.Scope("灵川县食安办", twores.Role.OFFICE, COUNTY)
END = date(2026, 3, 31)


@pytest.fixture
def opened(store: twores.Store, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The scopes each unit of work of ``store`` was opened for, from here on."""
    scopes: list[object] = []
    unit_of_work = store.unit_of_work

    def counting(scope: twores.Scope) -> Any:
        scopes.append(scope)
        return unit_of_work(scope)

    monkeypatch.setattr(store, "unit_of_work", counting)
    return scopes


def _assert_unknown(error: InvalidChoiceError, field: str, value: str) -> None:
    assert error.field == field
    assert error.value == value
    data = error.to_dict()
    assert data["code"] == "invalid_choice"
    assert data["field"] == field and data["value"] == value
    assert value in error.message_zh and value in error.message_en
    # the known KPIs, each with its label in the message's own language
    assert "coverage（包保覆盖率）" in error.message_zh
    assert "task_completion（督导任务完成率）" in error.message_zh
    assert "coverage (assignment coverage)" in error.message_en
    assert "task_completion (supervision completion)" in error.message_en


def test_a_misspelt_kpi_name_is_refused_by_compute_kpis_before_any_unit_of_work(
    app: twores.Twores, store: twores.Store, opened: list[object]
) -> None:
    with pytest.raises(InvalidChoiceError) as caught:
        compute_kpis(app, store, OFFICE, "2026Q1", as_of=END, names=["coverage", "coverge"])
    _assert_unknown(caught.value, "names", "coverge")
    assert opened == []


def test_a_misspelt_kpi_name_is_refused_by_the_dashboard_before_any_unit_of_work(
    app: twores.Twores, store: twores.Store, opened: list[object]
) -> None:
    with pytest.raises(InvalidChoiceError) as caught:
        kpi_dashboard(app, store, OFFICE, "2026Q1", as_of=END, names=["coverge"])
    _assert_unknown(caught.value, "names", "coverge")
    assert opened == []


def test_every_unknown_name_is_named_and_a_non_text_one_is_refused_too(
    app: twores.Twores, store: twores.Store, opened: list[object]
) -> None:
    with pytest.raises(InvalidChoiceError) as caught:
        compute_kpis(app, store, OFFICE, "2026Q1", as_of=END, names=["coverge", "visitz"])
    assert caught.value.value == ("coverge", "visitz")
    assert "coverge" in caught.value.message_en and "visitz" in caught.value.message_en
    with pytest.raises(InvalidChoiceError):
        compute_kpis(app, store, OFFICE, "2026Q1", as_of=END, names=[None])  # type: ignore[list-item]
    assert opened == []


def test_known_names_are_counted_as_before(
    app: twores.Twores, store: twores.Store, opened: list[object]
) -> None:
    table = compute_kpis(app, store, OFFICE, "2026Q1", as_of=END, names=["coverage"])
    assert [s.name for s in table.specs] == ["coverage"]
    assert table.value("coverage", COUNTY).denominator == 0  # nothing loaded: 0 of 0
    one = compute_kpis(app, store, OFFICE, "2026Q1", as_of=END, names="coverage")
    assert [s.name for s in one.specs] == ["coverage"]  # a bare string is one name
    board = kpi_dashboard(app, store, OFFICE, "2026Q1", as_of=END, names=["coverage"])
    assert list(board.values) == ["coverage"]
    assert opened  # units of work are seen opening (the refusals above open none)


def test_the_table_refuses_a_misspelt_kpi_but_keeps_its_rule_for_areas(
    app: twores.Twores, store: twores.Store
) -> None:
    table = compute_kpis(app, store, OFFICE, "2026Q1", as_of=END)
    with pytest.raises(InvalidChoiceError) as caught:
        table.value("coverge", COUNTY)
    _assert_unknown(caught.value, "kpi", "coverge")
    # a known KPI: an area in the counted subtree with nothing counted is 0 of 0 ...
    township = table.children(COUNTY)[0]
    value = table.value("coverage", township)
    assert (value.kpi, value.area_code, value.numerator, value.denominator) == (
        "coverage",
        township,
        0,
        0,
    )
    # ... and one outside it is still a scope error, not a partial sum
    with pytest.raises(twores.ScopeError):
        table.value("coverage", COUNTY[:4])


def test_a_kpi_left_out_of_the_table_is_refused_naming_the_ones_in_it(
    app: twores.Twores, store: twores.Store
) -> None:
    table = compute_kpis(app, store, OFFICE, "2026Q1", as_of=END, names=["coverage"])
    with pytest.raises(InvalidChoiceError) as caught:
        table.value("task_completion", COUNTY)
    assert caught.value.field == "kpi"
    assert "coverage（包保覆盖率）" in caught.value.message_zh
    assert "督导任务完成率" not in caught.value.message_zh
