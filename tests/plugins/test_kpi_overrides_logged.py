"""A KPI one plugin registers over another's is logged, naming the KPI and both plugins:
at INFO when a region replaces a national KPI (as intended), else as a warning."""

from __future__ import annotations

import csv
import io
import json
import logging
import types
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

import twores
from twores.core.areas import Area, Hierarchy, Tier
from twores.plugins import hookimpl
from twores.plugins.builtin.national_kpis import NATIONAL
from twores.plugins.regions import inner_mongolia
from twores.services.kpi_definitions import kpi_definition
from twores.services.kpis import kpi_specs
from twores.services.stores import open_store

TASKS = {k.spec.name: k for k in NATIONAL}["task_completion"]
LOGGER = "twores.plugins"


def _plugin(name: str, make: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.twores_kpis = hookimpl(make)  # type: ignore[attr-defined]
    return module


def _reweighted(weight: float) -> Any:
    return attrs.evolve(TASKS, spec=attrs.evolve(TASKS.spec, weight=weight))


def _overrides(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and "task_completion" in r.message]


def test_a_region_replacing_a_national_kpi_is_logged_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    region = _plugin("region_a", lambda: [_reweighted(3.0)])
    app = twores.build(load_entrypoints=False, plugins=[region])
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert app.plugins.kpis()["task_completion"].plugin == "region_a"
    (record,) = _overrides(caplog)
    assert record.levelno == logging.INFO
    zh, _, en = record.getMessage().partition(" | ")
    for message in (zh, en):
        assert "region_a" in message and "national_kpis" in message
    assert "替代" in zh and "replaces" in en


def test_a_plugin_replacing_another_plugins_kpi_is_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = _plugin("region_a", lambda: [_reweighted(3.0)])
    second = _plugin("region_b", lambda: [_reweighted(5.0)])
    app = twores.build(load_entrypoints=False, plugins=[first, second])
    with caplog.at_level(logging.INFO, logger=LOGGER):
        kpi = app.plugins.kpis()["task_completion"]
    assert kpi.plugin == "region_b" and kpi.spec.weight == 5.0
    warnings = [r for r in _overrides(caplog) if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "region_b" in message and "region_a" in message
    assert "指标 task_completion" in message and "KPI task_completion" in message
    # the national KPI region_a also replaces is said at INFO, not as a warning
    infos = [r for r in _overrides(caplog) if r.levelno == logging.INFO]
    assert all("national_kpis" in r.getMessage() for r in infos)


def test_an_override_is_logged_once_and_none_without_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    plain = twores.build(load_entrypoints=False)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        plain.plugins.kpis()
    assert not _overrides(caplog)
    app = twores.build(
        load_entrypoints=False, plugins=[_plugin("region_a", lambda: [_reweighted(2)])]
    )
    with caplog.at_level(logging.INFO, logger=LOGGER):
        app.plugins.kpis()
        app.plugins.kpi_sources()
    assert len(_overrides(caplog)) == 1


def _plugins_command(app: twores.Twores, lang: str, output: str) -> str:
    from twores_cli.commands.plugins import command
    from twores_cli.context import Context

    context = Context(lang=lang, output=output, app=app)
    result = CliRunner().invoke(command, [], obj=context, terminal_width=400)
    assert result.exit_code == 0, result.output
    return result.output


def test_describe_names_the_kpis_each_plugin_registers() -> None:
    region = _plugin("region_a", lambda: [_reweighted(3.0)])
    app = twores.build(load_entrypoints=False, plugins=[region])
    described = {p["name"]: p for p in app.plugins.describe()}
    assert described["region_a"]["kpis"] == ["task_completion"]
    assert described["region_a"]["kpis_overridden"] == []
    national = described["national_kpis"]
    assert "coverage" in national["kpis"] and "task_completion" not in national["kpis"]
    assert national["kpis_overridden"] == [{"name": "task_completion", "by": "region_a"}]
    assert described["national"]["kpis"] == [] == described["national"]["kpis_overridden"]


def test_twores_plugins_lists_each_plugins_kpis_marking_the_overridden() -> None:
    region = _plugin("region_a", lambda: [_reweighted(3.0)])
    app = twores.build(load_entrypoints=False, plugins=[region])
    rows = {r[0]: r for r in csv.reader(io.StringIO(_plugins_command(app, "zh", "csv")))}
    assert rows["插件"] == ["插件", "规则集", "钩子", "指标"]
    assert rows["region_a"][3] == "task_completion"
    national = rows["national_kpis"][3].splitlines()
    assert "coverage" in national and "task_completion" not in national
    assert "task_completion（已被 region_a 替代）" in national
    english = _plugins_command(app, "en", "table")
    assert "task_completion (overridden by region_a)" in english
    listed = {p["name"]: p for p in json.loads(_plugins_command(app, "en", "json"))}
    assert listed["national_kpis"]["kpis_overridden"] == [
        {"name": "task_completion", "by": "region_a"}
    ]


# --- KPI definitions call the tiers as the region names them ---------------------------

MONGOLIA = [
    Area(code="15", name="内蒙古自治区", tier=Tier.PROVINCE),
    Area(code="1501", name="呼和浩特市", tier=Tier.CITY, parent_code="15"),
    Area(code="1525", name="锡林郭勒盟", tier=Tier.CITY, parent_code="15"),
    Area(code="150121", name="土默特左旗", tier=Tier.COUNTY, parent_code="1501"),
    Area(code="150125", name="武川县", tier=Tier.COUNTY, parent_code="1501"),
]


def _mongolia_app() -> twores.Twores:
    return twores.build(load_entrypoints=False, plugins=[inner_mongolia])


def test_a_definition_uses_the_regions_tier_names() -> None:
    app = _mongolia_app()
    hierarchy = Hierarchy(MONGOLIA)
    spec = {s.name: s for s in kpi_specs(app)}["letters_signed"]
    assert "市级、省级干部的包保主体分布在各县" in spec.definition("zh")
    region = kpi_definition(app, spec, "zh", hierarchy=hierarchy, area="15")
    assert "盟市级、省级干部的包保主体分布在各旗县" in region
    banner = kpi_definition(app, spec, "zh", hierarchy=hierarchy, area="150121")
    assert "市级、省级干部的包保主体分布在各旗，" in banner  # its city is a 市
    english = kpi_definition(app, spec, "en", hierarchy=hierarchy, area="15")
    assert "above banner/county level" in english and "in the banners/counties" in english
    assert kpi_definition(app, spec, "zh") == spec.definition("zh")  # no area: as given


def test_a_definition_keeps_national_names_where_no_region_renames_them() -> None:
    app = twores.build(load_entrypoints=False)
    hierarchy = Hierarchy(MONGOLIA)  # the Inner Mongolia plugin is not installed
    spec = {s.name: s for s in kpi_specs(app)}["letters_signed"]
    assert kpi_definition(app, spec, "zh", hierarchy=hierarchy, area="15") == spec.definition()


def test_twores_kpis_explains_with_the_areas_tier_names(tmp_path: Path) -> None:
    from twores_cli.commands.kpis import kpis_command
    from twores_cli.context import Context

    app = _mongolia_app()
    db = f"sqlite:///{tmp_path / 'twores.db'}"
    store = open_store(app, db)
    with store.unit_of_work(twores.Scope.system("test set-up")) as uow:
        uow.areas.upsert_many(MONGOLIA)
        uow.commit()
    context = Context(lang="zh", output="json", app=app, db=db)
    result = CliRunner().invoke(kpis_command, ["--area", "15"], obj=context)
    assert result.exit_code == 0, result.output
    listed = {k["name"]: k for k in json.loads(result.output)}
    assert "分布在各旗县" in listed["letters_signed"]["definition"]
