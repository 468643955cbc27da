"""What ``twores_kpis`` answers is checked where the manager collects it: a KPI whose
weight, direction, labels or counter later code cannot use is refused naming the plugin,
the hook, the KPI and the field; and the plugin whose definition is in force is named."""

from __future__ import annotations

import json
import math
import types
from datetime import date
from fractions import Fraction
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

import twores
from twores.core.errors import PluginError
from twores.core.kpis import Direction, Kpi, KpiSpec, KpiValue, rank_areas
from twores.plugins import hookimpl
from twores.plugins.builtin.national_kpis import NATIONAL

BY_NAME = {k.spec.name: k for k in NATIONAL}
TASKS = BY_NAME["task_completion"]
COVERAGE = BY_NAME["coverage"]


def _plugin(name: str, make: Any) -> types.ModuleType:
    """A plugin ``name`` whose ``twores_kpis`` returns ``make()`` (made as it is called)."""
    module = types.ModuleType(name)
    module.twores_kpis = hookimpl(make)  # type: ignore[attr-defined]
    return module


def _refused(app: twores.Twores) -> PluginError:
    with pytest.raises(PluginError) as error:
        app.plugins.kpis()
    return error.value


def _changed(record: Any, **fields: object) -> Any:
    """A copy of ``record`` with ``fields`` set after it was made (its checks skipped), as
    a plugin may hand back a record it changed in place."""
    copy = attrs.evolve(record)
    for name, value in fields.items():
        object.__setattr__(copy, name, value)
    return copy


BAD_WEIGHTS = [
    ("nan", math.nan),
    ("inf", math.inf),
    ("-inf", -math.inf),
    ("'2'", "2"),
    ("None", None),
    ("-1.0", -1.0),
    ("-1", -1),
    ("True", True),
    ("10000000000", 10**400),  # no float can hold it: a table could not show it
]


@pytest.mark.parametrize(("shown", "weight"), BAD_WEIGHTS)
def test_a_bad_weight_made_in_the_hook_is_refused_naming_the_plugin(
    shown: str, weight: object
) -> None:
    plugin = _plugin(
        "weights", lambda: [attrs.evolve(TASKS, spec=attrs.evolve(TASKS.spec, weight=weight))]
    )
    error = _refused(twores.build(load_entrypoints=False, plugins=[plugin]))
    for message in (error.message_zh, error.message_en):
        assert "weights" in message and "twores_kpis" in message
        assert "task_completion" in message and "weight" in message and shown in message
    assert error.message_zh.startswith("插件 weights 的 twores_kpis")
    assert "排名权重应为有限的非负数" in error.message_zh
    assert "finite number >= 0" in error.message_en


@pytest.mark.parametrize(("shown", "weight"), BAD_WEIGHTS)
def test_a_bad_weight_set_after_the_spec_was_made_is_refused_too(
    shown: str, weight: object
) -> None:
    spec = _changed(TASKS.spec, weight=weight)
    kpi = _changed(TASKS, spec=spec)
    error = _refused(
        twores.build(load_entrypoints=False, plugins=[_plugin("tampered", lambda: [kpi])])
    )
    assert "插件 tampered 的 twores_kpis" in error.message_zh
    assert "twores_kpis of plugin tampered" in error.message_en
    assert "KPI task_completion with weight" in error.message_en and shown in error.message_en


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("direction", "lower", "Direction.HIGHER_IS_BETTER or Direction.LOWER_IS_BETTER"),
        ("direction", None, "Direction.HIGHER_IS_BETTER or Direction.LOWER_IS_BETTER"),
        ("zh", "", "non-empty text"),
        ("en", "  ", "non-empty text"),
        ("numerator_zh", None, "non-empty text"),
        ("denominator_zh", 3, "non-empty text"),
        ("definition_zh", "", "non-empty text"),
        ("definition_en", b"def", "non-empty text"),
        ("numerator_en", None, "must be text"),
        ("denominator_en", 0, "must be text"),
    ],
)
def test_every_spec_field_later_code_reads_is_checked(field: str, value: object, why: str) -> None:
    made = _plugin(
        "made", lambda: [attrs.evolve(TASKS, spec=attrs.evolve(TASKS.spec, **{field: value}))]
    )
    changed = _plugin(
        "changed", lambda: [_changed(TASKS, spec=_changed(TASKS.spec, **{field: value}))]
    )
    for plugin in (made, changed):
        error = _refused(twores.build(load_entrypoints=False, plugins=[plugin]))
        name = plugin.__name__
        assert f"插件 {name} 的 twores_kpis 返回了不合理的指标 task_completion" in error.message_zh
        assert f"twores_kpis of plugin {name} returned KPI task_completion with {field} " in (
            error.message_en
        )
        assert repr(value) in error.message_en and why in error.message_en


def test_a_kpi_with_no_name_is_named_by_what_stands_for_it() -> None:
    plugin = _plugin("nameless", lambda: [_changed(TASKS, spec=_changed(TASKS.spec, name=""))])
    error = _refused(twores.build(load_entrypoints=False, plugins=[plugin]))
    assert "twores_kpis of plugin nameless returned KPI '' with name ''" in error.message_en


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("count", "coverage", "callable counter"),
        ("reads", frozenset({"visits"}), "record kinds among"),  # misspelt: never stale
        ("reads", "business", "record kinds among"),
        ("per_county", "yes", "True or False"),
        ("version", 2, "must be text"),
        ("spec", COVERAGE.spec.name, "must be a KpiSpec"),
    ],
)
def test_every_kpi_field_later_code_reads_is_checked(field: str, value: object, why: str) -> None:
    changed = _plugin("changed", lambda: [_changed(COVERAGE, **{field: value})])
    error = _refused(twores.build(load_entrypoints=False, plugins=[changed]))
    assert "插件 changed 的 twores_kpis 返回了不合理的指标" in error.message_zh
    assert "twores_kpis of plugin changed returned KPI" in error.message_en
    assert f"with {field} {value!r}: " in error.message_en and why in error.message_en
    if field != "spec":  # made in the hook: the record refuses it as it is made
        made = _plugin("made", lambda: [attrs.evolve(COVERAGE, **{field: value})])
        error = _refused(twores.build(load_entrypoints=False, plugins=[made]))
        assert f"twores_kpis of plugin made returned KPI coverage with {field}" in (
            error.message_en
        )


def test_the_kinds_of_record_a_counter_may_read_are_those_the_summary_tracks() -> None:
    from twores.core.kpis import RECORD_KINDS
    from twores.plugins.sqlalchemy.summary import SOURCES

    assert set(SOURCES.values()) == RECORD_KINDS
    assert attrs.evolve(COVERAGE, reads=["business", "assignment"]).reads == frozenset(
        {"business", "assignment"}
    )


@pytest.mark.parametrize("weight", [0, 0.0, 2, 1.5, Fraction(1, 2)])
def test_whole_float_and_fraction_weights_are_accepted_and_rank(weight: object) -> None:
    plugin = _plugin(
        "weights", lambda: [attrs.evolve(TASKS, spec=attrs.evolve(TASKS.spec, weight=weight))]
    )
    app = twores.build(load_entrypoints=False, plugins=[plugin])
    spec = app.plugins.kpis()["task_completion"].spec
    assert spec.weight == weight and type(spec.weight) in (int, float)
    specs = {"task_completion": spec, "coverage": COVERAGE.spec}
    values = [
        KpiValue(name, area, "2026Q1", n, 4)
        for name in specs
        for area, n in (("450302", 1), ("450303", 3))
    ]
    ranking = rank_areas("4503", "2026Q1", values, specs, as_of=date(2026, 3, 31))
    assert [a.area_code for a in ranking.areas] == ["450303", "450302"]
    assert dict(ranking.kpis)["task_completion"] == weight


def test_a_negative_weight_is_refused_not_taken_as_zero() -> None:
    from twores.core.kpis import InvalidKpiError

    with pytest.raises(InvalidKpiError, match=r"weight -0\.5"):
        attrs.evolve(TASKS.spec, weight=-0.5)


# --- which plugin's definition is in force ------------------------------------------------


def _coverage(name: str, weight: float) -> types.ModuleType:
    label = f"覆盖率（{name}口径）"
    return _plugin(
        name,
        lambda: [attrs.evolve(COVERAGE, spec=attrs.evolve(COVERAGE.spec, zh=label, weight=weight))],
    )


def test_the_plugin_whose_kpi_is_in_force_is_named() -> None:
    national = twores.build(load_entrypoints=False).plugins
    assert {k.plugin for k in national.kpis().values()} == {"national_kpis"}
    assert set(national.kpi_sources().values()) == {("national_kpis",)}
    for first, second in (("a", "b"), ("b", "a")):
        plugins = [_coverage(first, 3.0), _coverage(second, 0.5)]
        manager = twores.build(load_entrypoints=False, plugins=plugins).plugins
        kpis, sources = manager.kpis(), manager.kpi_sources()
        # the last registered is asked first, and its definition is in force (unchanged)
        assert kpis["coverage"].spec.zh == f"覆盖率（{second}口径）"
        assert kpis["coverage"].plugin == second
        assert sources["coverage"] == (second, first, "national_kpis")
        assert sources["task_completion"] == ("national_kpis",)
        assert list(kpis) == list(national.kpis())  # the order stays the national one


def test_the_source_is_no_part_of_a_kpi_s_equality() -> None:
    kpis = twores.build(load_entrypoints=False).plugins.kpis()
    assert kpis["coverage"] == COVERAGE and hash(kpis["coverage"]) == hash(COVERAGE)
    assert COVERAGE.plugin == ""


def _kpis_command(app: twores.Twores, lang: str, output: str) -> str:
    from twores_cli.commands.kpis import kpis_command
    from twores_cli.context import Context

    result = CliRunner().invoke(kpis_command, [], obj=Context(lang=lang, output=output, app=app))
    assert result.exit_code == 0, result.output
    return result.output


def test_twores_kpis_names_the_plugin_in_force_and_those_it_replaces() -> None:
    app = twores.build(load_entrypoints=False, plugins=[_coverage("a", 3.0), _coverage("b", 0.5)])
    listed = {k["name"]: k for k in json.loads(_kpis_command(app, "en", "json"))}
    assert (listed["coverage"]["plugin"], listed["coverage"]["replaces"]) == (
        "b",
        ["a", "national_kpis"],
    )
    assert listed["coverage"]["weight"] == 0.5
    assert (listed["rectification"]["plugin"], listed["rectification"]["replaces"]) == (
        "national_kpis",
        [],
    )
    english = _kpis_command(app, "en", "table")
    assert "plugin" in english and "b (replaces a, national_kpis)" in english
    chinese = _kpis_command(app, "zh", "table")
    assert "插件" in chinese and "b（替代 a、national_kpis）" in chinese


def test_a_spec_made_with_a_bad_field_names_the_kpi_and_the_field() -> None:
    from twores.core.kpis import InvalidKpiError

    with pytest.raises(InvalidKpiError) as error:
        KpiSpec("k", "甲", "a", "分子", "分母", "higher", "定义", "def")  # type: ignore[arg-type]
    assert "指标 k 的 direction 为 'higher'" in str(error.value)
    assert "KPI k has direction 'higher'" in str(error.value)
    with pytest.raises(InvalidKpiError, match="KPI k has count None"):
        Kpi(KpiSpec("k", "甲", "a", "分子", "分母", Direction.HIGHER_IS_BETTER, "定义", "d"), None)  # type: ignore[arg-type]
