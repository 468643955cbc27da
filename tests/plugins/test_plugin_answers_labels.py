"""``twores_area_label`` answers are checked (a blank or non-text label is refused naming
the plugin), and a region's tier names reach letter status in both languages."""

from __future__ import annotations

import types
from datetime import date
from typing import Any

import attrs
import pytest

import twores
from twores.core.areas import Tier
from twores.core.assignment import plan_assignments
from twores.core.errors import PluginError
from twores.core.rules import Rule, RuleSet, Ruling
from twores.divisions import demo_region
from twores.plugins import hookimpl
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.records import TierLabel
from twores.services.commitments import letter_states
from twores.services.lookups import tier_name
from twores.services.synth import synthetic_roster

LABELS = Rule("labels.test", "测试称谓", "test labels", "test")
COUNTY = "450323"  # 灵川县
ADMIN = twores.Scope("office", twores.Role.ADMIN)
START = date(2026, 1, 1)


def _labelling(name: str, answer: Any) -> types.ModuleType:
    """A plugin ``name`` that labels every area with ``answer()``."""
    module = types.ModuleType(name)
    module.twores_rule_sets = hookimpl(  # type: ignore[attr-defined]
        lambda: [RuleSet(name, "1", "测试", "test", rules=(LABELS,))]
    )
    module.twores_area_label = hookimpl(  # type: ignore[attr-defined]
        lambda area: Ruling(answer(), LABELS)
    )
    return module


def _changed(label: TierLabel, **fields: object) -> TierLabel:
    """``label`` with ``fields`` set after it was made (its checks skipped)."""
    copy = attrs.evolve(label)
    for field, value in fields.items():
        object.__setattr__(copy, field, value)
    return copy


BAD = [{"zh": ""}, {"en": ""}, {"zh": "  "}, {"zh": 1}, {"en": None}, {"zh": 1, "en": 2}]


@pytest.mark.parametrize("fields", BAD)
def test_a_bad_label_returned_is_refused_naming_the_plugin(fields: dict[str, object]) -> None:
    bad = _changed(TierLabel("旗", "banner"), **fields)
    app = twores.build(load_entrypoints=False, plugins=[_labelling("blank", lambda: bad)])
    with pytest.raises(PluginError) as error:
        app.plugins.area_label(demo_region()[COUNTY])
    assert error.value.message_zh.startswith("插件 blank 的 twores_area_label 返回了不合理的值")
    assert "twores_area_label of plugin blank returned" in error.value.message_en
    assert repr(bad) in error.value.message_en and "non-empty text" in error.value.message_en
    with pytest.raises(PluginError):  # nor does it reach a letter's tier name
        tier_name(app, demo_region(), COUNTY)


@pytest.mark.parametrize("fields", BAD)
def test_a_bad_label_made_in_the_hook_is_refused_naming_the_plugin(
    fields: dict[str, object],
) -> None:
    values = {"zh": "旗", "en": "banner", **fields}
    made = _labelling("made", lambda: TierLabel(**values))  # type: ignore[arg-type]
    app = twores.build(load_entrypoints=False, plugins=[made])
    with pytest.raises(PluginError) as error:
        app.plugins.area_label(demo_region()[COUNTY])
    field = next(iter(fields))
    assert error.value.message_zh.startswith("插件 made 的 twores_area_label")
    assert f"TierLabel 的 {field} 应为非空文字" in error.value.message_zh
    assert "twores_area_label of plugin made" in error.value.message_en
    assert f"TierLabel.{field} must be non-empty text, got {fields[field]!r}" in (
        error.value.message_en
    )


def _load(store: twores.Store) -> None:
    roster = synthetic_roster(
        demo_region().subtree(COUNTY), businesses=60, cadres=20, seed=5, within=COUNTY
    )
    plan = plan_assignments(roster, twores.build(load_entrypoints=False).plugins.rulebook(), START)
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(roster.hierarchy)
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan)
        uow.commit()


MONGOLIAN = {
    Tier.CITY: TierLabel("盟", "league"),
    Tier.COUNTY: TierLabel("旗", "banner"),
    Tier.TOWNSHIP: TierLabel("苏木", "sumu"),
    Tier.VILLAGE: TierLabel("嘎查", "gacha"),
}


def test_letter_status_names_a_region_s_tiers_in_english_as_in_chinese() -> None:
    store = MemoryStore()
    _load(store)
    hierarchy = demo_region()
    region = types.ModuleType("banners")
    region.twores_rule_sets = hookimpl(  # type: ignore[attr-defined]
        lambda: [RuleSet("banners", "1", "测试", "test", rules=(LABELS,))]
    )
    region.twores_area_label = hookimpl(  # type: ignore[attr-defined]
        lambda area: Ruling(MONGOLIAN[area.tier], LABELS) if area.tier in MONGOLIAN else None
    )
    app = twores.build(load_entrypoints=False, plugins=[region])
    states = letter_states(app, store, ADMIN, 2026, on=START)
    assert {hierarchy[s.cadre.area_code].tier for s in states} >= set(MONGOLIAN)
    for state in states:
        label = MONGOLIAN[hierarchy[state.cadre.area_code].tier]
        assert (state.level("zh"), state.level("en")) == (f"{label.zh}级", label.en)
    assert tier_name(app, hierarchy, COUNTY, START, lang="en") == "banner"
    assert tier_name(app, hierarchy, COUNTY, START) == "旗级"


def test_national_letter_status_keeps_its_chinese_names_and_gives_their_english() -> None:
    store = MemoryStore()
    _load(store)
    hierarchy = demo_region()
    app = twores.build(load_entrypoints=False)
    states = letter_states(app, store, ADMIN, 2026, on=START)
    seen = set()
    for state in states:
        label = app.plugins.area_label(hierarchy[state.cadre.area_code], START).value
        assert state.level("zh") == f"{label.zh}级"  # 县级, 镇级, 乡级, 村级, 社区级
        assert state.level("en") == label.en  # county, town, township, village, community
        seen.add(state.level("zh"))
    assert "县级" in seen
    assert tier_name(app, hierarchy, "nowhere") == "" == tier_name(app, hierarchy, "x", lang="en")
