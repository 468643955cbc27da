"""Loading, blocking, ordering and the contract checks of the plugin manager."""

from __future__ import annotations

import types
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import twores
from twores.core.areas import Area, Hierarchy, Tier
from twores.core.businesses import BusinessType, FoodBusiness, Grade
from twores.core.errors import NoDecisionError, PluginError, RuleConflictError
from twores.core.periods import Frequency, PeriodKind
from twores.core.rules import Rule, RuleSet, Ruling
from twores.plugins import hookimpl, reads_area_down_to
from twores.plugins.builtin import national
from twores.plugins.manager import make_plugin_manager
from twores.plugins.records import BackendSpec
from twores.testing.strategies import businesses

ON = date(2025, 6, 30)
HOHHOT_COUNTY = "150121"  # 土默特左旗
ALXA = Area(code="1529", name="阿拉善盟", tier=Tier.CITY)
BAOTOU = Area(code="1502", name="包头市", tier=Tier.CITY)


def plugin(**hooks: object) -> types.SimpleNamespace:
    return types.SimpleNamespace(**hooks)


def test_inner_mongolia_is_installed_through_the_entry_point() -> None:
    pm = make_plugin_manager()
    assert pm.has_plugin("inner_mongolia")
    names = [name for name, _ in pm.list_plugin_distinfo()]
    assert names and getattr(names[0], "__name__", "").endswith("inner_mongolia")


def test_region_overrides_the_national_rule_and_blocking_restores_it() -> None:
    regional = make_plugin_manager().supervision_frequency(Tier.COUNTY, ON, HOHHOT_COUNTY)
    assert regional.value == Frequency(PeriodKind.HALF_YEAR, 1)
    assert regional.plugin == "inner_mongolia"
    assert regional.abstained == ()
    blocked = make_plugin_manager(blocked=["inner_mongolia"])
    assert not blocked.has_plugin("inner_mongolia")
    default = blocked.supervision_frequency(Tier.COUNTY, ON, HOHHOT_COUNTY)
    assert default.value == Frequency(PeriodKind.QUARTER, 1)
    assert default.plugin == "national"


def test_region_abstains_outside_its_area_and_tier() -> None:
    pm = make_plugin_manager()
    guilin = pm.supervision_frequency(Tier.COUNTY, ON, "450323")
    assert guilin.plugin == "national" and guilin.abstained == ("inner_mongolia",)
    assert pm.supervision_frequency(Tier.VILLAGE, ON, "150121100200").plugin == "national"
    assert (
        pm.supervision_frequency(Tier.COUNTY, date(2022, 6, 1), HOHHOT_COUNTY).plugin == "national"
    )


def test_mongolian_labels_per_area() -> None:
    pm = make_plugin_manager()
    assert pm.area_label(ALXA).value.zh == "盟"
    assert pm.area_label(BAOTOU).value.zh == "市"
    assert (
        pm.area_label(Area(code="150121", name="土默特左旗", tier=Tier.COUNTY)).value.en == "banner"
    )
    assert pm.area_label(Area(code="150125", name="武川县", tier=Tier.COUNTY)).value.zh == "县"
    gacha = Area(code="152921100201", name="巴彦嘎查村民委员会", tier=Tier.VILLAGE)
    assert pm.area_label(gacha).value.zh == "嘎查"
    assert pm.area_label(Area(code="4522", name="某盟", tier=Tier.CITY)).value.zh == "市"
    blocked = make_plugin_manager(blocked=["inner_mongolia"])
    assert blocked.area_label(ALXA).value.zh == "市"


def test_environment_disables_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWORES_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert not make_plugin_manager().has_plugin("inner_mongolia")
    monkeypatch.delenv("TWORES_DISABLE_PLUGIN_AUTOLOAD")
    monkeypatch.setenv("TWORES_DISABLED_PLUGINS", "inner_mongolia")
    assert not make_plugin_manager().has_plugin("inner_mongolia")


def test_managers_are_independent() -> None:
    first, second = make_plugin_manager(load_entrypoints=False), make_plugin_manager()
    assert not first.has_plugin("inner_mongolia") and second.has_plugin("inner_mongolia")


LOCAL = Rule("local.grade", "本地分级", "local grading")
LOCAL_SET = RuleSet("local", "1", "本地", "local", rules=(LOCAL,))


def test_any_registered_plugin_beats_the_trylast_baseline() -> None:

    local = plugin(
        twores_rule_sets=hookimpl(lambda: [LOCAL_SET]),
        twores_grade_business=hookimpl(lambda business: Ruling(Grade.A, LOCAL)),
    )
    pm = make_plugin_manager(load_entrypoints=False, plugins=[local])
    shop = FoodBusiness(
        name="店",
        area_code="450323",
        business_type=BusinessType.SALES,
        licence_no="JY14503230034495",
        grade=Grade.D,
    )
    decision = pm.grade(shop, ON)
    assert decision.value is Grade.A and decision.rule is LOCAL


def test_duplicate_rule_set_names_name_both_plugins() -> None:
    copy = plugin(twores_rule_sets=hookimpl(lambda: [RuleSet("national", "9", "x", "x")]))
    with pytest.raises(RuleConflictError) as info:
        make_plugin_manager(load_entrypoints=False, plugins=[copy])
    assert "national" in info.value.message_en and "both" in info.value.message_en


def test_duplicate_rule_ids_are_rejected() -> None:
    copy = plugin(
        twores_rule_sets=hookimpl(
            lambda: [RuleSet("copy", "1", "x", "x", rules=(national.QUARTERLY,))]
        )
    )
    with pytest.raises(RuleConflictError):
        make_plugin_manager(load_entrypoints=False, plugins=[copy])


def test_deciding_with_an_unregistered_rule_fails() -> None:
    rogue = plugin(
        twores_supervision_frequency=hookimpl(
            lambda: Ruling(Frequency(), Rule("rogue.x", "x", "x"))
        )
    )
    pm = make_plugin_manager(load_entrypoints=False, plugins=[rogue])
    with pytest.raises(PluginError) as info:
        pm.supervision_frequency(Tier.VILLAGE, ON, "450323101202")
    assert "rogue.x" in info.value.message_en


def test_a_ruling_built_the_wrong_way_round_names_the_plugin_and_hook() -> None:
    shop = FoodBusiness(
        name="店", area_code="450323101202", business_type=BusinessType.CATERING,
        licence_no="JY14503230034495",
    )  # fmt: skip
    frequency = plugin(twores_supervision_frequency=hookimpl(lambda: Ruling(LOCAL, Frequency())))
    grading = plugin(twores_grade_business=hookimpl(lambda: Ruling(Grade.B, "oops.grade.b")))
    pm = make_plugin_manager(load_entrypoints=False, plugins=[frequency])
    pf = make_plugin_manager(load_entrypoints=False, plugins=[grading])
    for ask, hook in (
        (lambda: pm.supervision_frequency(Tier.VILLAGE, ON, "450323101202"), "frequency"),
        (lambda: pf.grade(shop, ON), "twores_grade_business"),
        (lambda: pf.rulebook().grades_of([shop], ON), "twores_grade_business"),  # assigning's
    ):
        with pytest.raises(PluginError) as info:
            ask()
        assert (
            "write Ruling(value, rule)" in info.value.message_en and hook in info.value.message_en
        )
        assert "Ruling(值, 规则)" in info.value.message_zh


def test_a_notifier_may_take_only_the_event() -> None:
    heard: list[object] = []

    def twores_on_event(event: object) -> None:
        heard.append(event)

    from datetime import datetime

    from twores.core.periods import CHINA_TZ
    from twores.core.problems import Action, ProblemEvent, ProblemStatus

    pm = make_plugin_manager(
        load_entrypoints=False, plugins=[plugin(twores_on_event=hookimpl(twores_on_event))]
    )
    at = datetime(2025, 6, 30, 9, tzinfo=CHINA_TZ)
    event = ProblemEvent("P1", 1, Action.ORDER, ProblemStatus.RECTIFYING, "甲", at)
    pm.notify(event, "450323101202")
    assert heard == [event]


def test_a_ruling_under_a_rule_not_in_force_leaves_the_decision_to_the_next() -> None:
    stale = plugin(
        twores_requires_director=hookimpl(lambda: Ruling(True, national.DIRECTOR_ORDER_60))
    )
    pm = make_plugin_manager(load_entrypoints=False, plugins=[stale])

    shop = FoodBusiness(
        name="店",
        area_code="450323",
        business_type=BusinessType.SALES,
        licence_no="JY14503230034495",
    )
    assert pm.requires_director(shop, date(2024, 1, 1)).plugin != "national"
    later = pm.requires_director(shop, date(2025, 5, 1))
    assert later.plugin == "national" and len(later.abstained) == 1


def test_wrongly_typed_answers_fail() -> None:
    wrong = plugin(
        twores_rule_sets=hookimpl(lambda: [LOCAL_SET]),
        twores_tier_for_grade=hookimpl(lambda: Ruling("village", LOCAL)),
    )
    pm = make_plugin_manager(load_entrypoints=False, plugins=[wrong])
    from twores.core.businesses import Grade

    with pytest.raises(PluginError):
        pm.tier_for_grade(Grade.D, ON)


def test_blocking_the_baseline_leaves_questions_unanswered() -> None:
    pm = make_plugin_manager(load_entrypoints=False, blocked=["national"])
    with pytest.raises(NoDecisionError):
        pm.supervision_frequency(Tier.VILLAGE, ON, "450323101202")


def test_storage_backends_register_by_name() -> None:
    def opener(url: str) -> object:
        return {"url": url}

    first = plugin(
        twores_storage_backends=hookimpl(lambda: [BackendSpec("toy", "玩具", "toy", opener)])
    )
    pm = make_plugin_manager(load_entrypoints=False, plugins=[first])
    assert pm.storage_backend("toy").open("x") == {"url": "x"}
    with pytest.raises(PluginError):
        pm.storage_backend("missing")
    second = plugin(
        twores_storage_backends=hookimpl(lambda: [BackendSpec("toy", "又一个", "another", opener)])
    )
    pm.register(second, "second")
    with pytest.raises(RuleConflictError):
        pm.storage_backends()


def test_describe_lists_hooks_and_rule_versions() -> None:
    described = {p["name"]: p for p in make_plugin_manager().describe()}
    assert described["national"]["rule_sets"] == ["national 2025.3"]
    assert "twores_supervision_frequency" in described["inner_mongolia"]["hooks"]


def test_non_standard_areas_use_the_hierarchy_for_their_region() -> None:

    zone = Area(code="KFQ-HH", name="呼和浩特经开区", tier=Tier.COUNTY, parent_code="1501")
    hierarchy = Hierarchy(
        [
            Area(code="15", name="内蒙古自治区", tier=Tier.PROVINCE),
            Area(code="1501", name="呼和浩特市", tier=Tier.CITY),
            zone,
        ]
    )
    without = make_plugin_manager()
    assert without.supervision_frequency(Tier.COUNTY, ON, "KFQ-HH").plugin == "national"
    with_tree = make_plugin_manager(hierarchy=hierarchy)
    assert with_tree.supervision_frequency(Tier.COUNTY, ON, "KFQ-HH").plugin == "inner_mongolia"
    # coded under its parent, a zone's region is read off the code until the tree is known
    assert without.area_path("1501-KFQ-01") == ("15", "1501", "1501-KFQ-01")
    assert without.supervision_frequency(Tier.COUNTY, ON, "1501-KFQ").plugin == "inner_mongolia"


def test_an_opened_store_s_zones_are_judged_by_their_region_in_every_command() -> None:
    from twores.services.stores import open_store

    app = twores.build()  # as the CLI and the web app build it: no hierarchy given
    store = open_store(app, "memory://")
    zone = Area(code="KFQ-HH", name="呼和浩特经开区", tier=Tier.COUNTY, parent_code="1501")
    asked = lambda: app.plugins.supervision_frequency(Tier.COUNTY, ON, "KFQ-HH").plugin  # noqa: E731
    assert asked() == "national"  # not stored yet
    with store.unit_of_work(twores.Scope.system("test")) as uow:
        uow.areas.upsert_many(
            [
                Area(code="15", name="内蒙古自治区", tier=Tier.PROVINCE),
                Area(code="1501", name="呼和浩特市", tier=Tier.CITY, parent_code="15"),
                zone,
            ]
        )
        uow.commit()
    assert asked() == "inner_mongolia"
    reads: list[int] = []
    app.plugins.areas_source = lambda: reads.append(1) or Hierarchy([])  # type: ignore[func-returns-value]
    assert [app.plugins.area_path("") for _ in range(3)] == [("",)] * 3  # no area: no reads
    assert reads == []


def test_remembered_answers_are_asked_once_per_argument_a_rule_reads() -> None:
    from twores.core.supervision import VisitMode

    asked: list[tuple[str, ...]] = []
    only_on_site = frozenset({VisitMode.ON_SITE})

    def by_area(area_path: tuple[str, ...]) -> Ruling[frozenset[VisitMode]] | None:
        asked.append(area_path)
        return Ruling(only_on_site, LOCAL) if area_path[-1].startswith("450323") else None

    local = plugin(
        twores_rule_sets=hookimpl(lambda: [LOCAL_SET]),
        twores_counting_visit_modes=hookimpl(by_area),
    )
    pm = make_plugin_manager(load_entrypoints=False, plugins=[local])
    for _ in range(3):
        assert pm.counting_modes(ON, "450323101") == only_on_site
        assert VisitMode.VIDEO in pm.counting_modes(ON, "450324")
    assert len(asked) == 2  # one per area, not per question
    assert pm.counting_modes(ON, "450323101") == pm.counting_visit_modes(ON, "450323101").value
    pm.unregister(local)
    assert VisitMode.VIDEO in pm.counting_modes(ON, "450323101")  # forgotten with the plugin


def test_a_rule_that_reads_the_area_down_to_a_tier_is_asked_once_per_area_there() -> None:
    asked: list[tuple[str, ...]] = []
    monthly = Frequency(PeriodKind.MONTH, 1)

    @reads_area_down_to(Tier.CITY)
    def by_city(tier: Tier, area_path: tuple[str, ...]) -> Ruling[Frequency] | None:
        asked.append(area_path)
        return Ruling(monthly, LOCAL) if "4503" in area_path and tier is Tier.VILLAGE else None

    local = plugin(
        twores_rule_sets=hookimpl(lambda: [LOCAL_SET]),
        twores_supervision_frequency=hookimpl(by_city),
    )
    pm = make_plugin_manager(load_entrypoints=False, plugins=[local])
    rules = pm.rulebook()
    villages = ["450323101001", "450323101002", "450324102003", "450102001001"]
    found = [rules.frequency(Tier.VILLAGE, ON, code) for code in villages]
    assert len(asked) == 2  # 桂林市 and 南宁市, not four villages
    national_rule = pm.supervision_frequency(Tier.VILLAGE, ON, "45").value
    assert found == [monthly, monthly, monthly, national_rule]
    assert pm.area_key("twores_supervision_frequency", "450323101001") == ("45", "4503")
    assert pm.area_key("twores_window_close", "450323101001") is None  # no rule reads it

    def whole_path(tier: Tier, area_path: tuple[str, ...]) -> None:
        return None

    pm.register(plugin(twores_supervision_frequency=hookimpl(whole_path)))
    assert pm.area_key("twores_supervision_frequency", "450323101001") == (
        "45", "4503", "450323", "450323101", "450323101001"
    )  # fmt: skip


def _loaded(app: twores.Twores) -> set[str]:
    return {name for name, plugin in app.plugins.list_name_plugin() if plugin is not None}


def test_only_the_named_regions_load_and_a_typo_is_an_error() -> None:
    with pytest.raises(PluginError) as error:
        twores.build(regions=["inner_mongolai"])
    assert "inner_mongolai" in error.value.message_zh and "not installed" in error.value.message_en
    assert "inner_mongolia" in _loaded(twores.build(regions=["inner_mongolia"]))
    assert "inner_mongolia" not in _loaded(twores.build(regions=[]))


def test_a_misspelt_hook_is_a_plugin_error_naming_it() -> None:
    misspelt = types.SimpleNamespace(twores_supervison_frequency=hookimpl(lambda tier: None))
    with pytest.raises(PluginError) as error:
        twores.build(load_entrypoints=False, plugins=[misspelt])
    assert "twores_supervison_frequency" in error.value.message_en
    assert "无法加载" in error.value.message_zh


def test_a_rule_not_in_force_abstains_and_a_failing_hook_is_named() -> None:
    later = Rule("test.grade.later", "2030年起", "from 2030", "测试", date(2030, 1, 1))
    dated = plugin(
        twores_rule_sets=hookimpl(lambda: [RuleSet("later", "1", "测试", "test", (later,))]),
        twores_grade_business=hookimpl(tryfirst=True)(lambda business: Ruling(Grade.A, later)),
    )
    pm = make_plugin_manager(load_entrypoints=False, plugins=[dated])
    shop = FoodBusiness(
        name="店",
        area_code="450323",
        business_type=BusinessType.SALES,
        licence_no="JY14503230034495",
    )
    before = pm.grade(shop, date(2026, 1, 1))
    assert before.rule is not later and len(before.abstained) == 1
    assert pm.grade(shop, date(2030, 1, 1)).rule is later
    assert pm.rulebook().grades_of([shop], date(2026, 1, 1)) == [before.value]

    def broken(business: FoodBusiness) -> Ruling[Grade]:
        raise KeyError("scale")

    failing = plugin(twores_grade_business=hookimpl(tryfirst=True)(broken))
    pm = make_plugin_manager(load_entrypoints=False, plugins=[failing])
    for ask in (lambda: pm.grade(shop, ON), lambda: pm.rulebook().grades_of([shop], ON)):
        with pytest.raises(PluginError) as error:
            ask()
        assert "twores_grade_business" in error.value.message_en
        assert "KeyError" in error.value.message_en


def test_an_explanation_lists_a_set_of_values_and_who_abstained() -> None:
    from twores.core.rules import Decision
    from twores.core.supervision import VisitMode

    rule = national.TIER_LABELS
    modes = frozenset({VisitMode.VIDEO, VisitMode.ON_SITE})
    decision = Decision(
        "督导方式", "visit modes", "灵川县", modes, rule, "national", abstained=("x",)
    )
    assert "frozenset" not in decision.explain("zh") and "frozenset" not in decision.explain("en")
    assert VisitMode.VIDEO.label("zh") in decision.explain("zh")
    assert "未作决定的插件：x" in decision.explain("zh") and "abstained: x" in decision.explain(
        "en"
    )


def test_a_senseless_value_is_refused_naming_the_plugin() -> None:
    rule = Rule("test.odd", "怪规则", "odd rule")
    odd = plugin(
        twores_rule_sets=hookimpl(lambda: [RuleSet("odd", "1", "测试", "test", (rule,))]),
        twores_tier_for_grade=hookimpl(tryfirst=True)(lambda: Ruling(Tier.PROVINCE, rule)),
        twores_supervision_frequency=hookimpl(tryfirst=True)(
            lambda: Ruling(Frequency(PeriodKind.YEAR, 400), rule)
        ),
    )
    pm = make_plugin_manager(load_entrypoints=False, plugins=[odd])
    for ask in (
        lambda: pm.tier_for_grade(Grade.D, ON, "450323"),
        lambda: pm.supervision_frequency(Tier.VILLAGE, ON, "450323101202"),
    ):
        with pytest.raises(PluginError) as error:
            ask()
        assert "不合理" in error.value.message_zh
    with pytest.raises(TypeError):
        Frequency("month", 1)  # type: ignore[arg-type]


def test_values_the_store_could_not_read_back_are_refused_naming_the_plugin() -> None:
    from datetime import datetime

    from twores.core.periods import Period
    from twores.core.problems import Severity

    rule = Rule("test.loose", "宽松规则", "loose rule")
    period = Period(date(2026, 1, 1), PeriodKind.QUARTER)
    answers = {
        "twores_window_close": lambda: Ruling(datetime(2026, 3, 31, 12), rule),
        "twores_load_cap": lambda: Ruling(True, rule),
        "twores_rectification_days": lambda: Ruling(10**9, rule),
        "twores_counting_visit_modes": lambda: Ruling(frozenset({"现场"}), rule),
        "twores_supervision_frequency": lambda: Ruling(PeriodKind.MONTH, rule),
    }
    asks = {
        "twores_window_close": lambda pm: pm.window_close(period, "450323"),
        "twores_load_cap": lambda pm: pm.load_cap(Tier.VILLAGE, ON, "450323101202"),
        "twores_rectification_days": lambda pm: pm.rectification_days(Severity.MINOR, "450323", ON),
        "twores_counting_visit_modes": lambda pm: pm.counting_visit_modes(ON, "450323"),
        "twores_supervision_frequency": lambda pm: pm.supervision_frequency(
            Tier.VILLAGE, ON, "450323101202"
        ),
    }
    for hook, answer in answers.items():
        loose = plugin(
            twores_rule_sets=hookimpl(lambda: [RuleSet("loose", "1", "测试", "test", (rule,))]),
            **{hook: hookimpl(tryfirst=True)(answer)},
        )
        pm = make_plugin_manager(load_entrypoints=False, plugins=[loose])
        with pytest.raises(PluginError) as error:
            asks[hook](pm)
        assert hook in error.value.message_en
    assert "(expected Frequency)" in error.value.message_en  # the last: a PeriodKind given


def test_a_window_closing_before_its_period_is_refused() -> None:
    from twores.core.periods import Period

    rule = Rule("test.early", "提前截止", "closes early")
    early = plugin(
        twores_rule_sets=hookimpl(lambda: [RuleSet("early", "1", "测试", "test", (rule,))]),
        twores_window_close=hookimpl(tryfirst=True)(lambda: Ruling(date(2025, 12, 31), rule)),
    )
    pm = make_plugin_manager(load_entrypoints=False, plugins=[early])
    with pytest.raises(PluginError) as error:
        pm.window_close(Period(date(2026, 1, 1), PeriodKind.QUARTER), "450323")
    assert "不合理" in error.value.message_zh and "before the period starts" in (
        error.value.message_en
    )


def test_a_registration_hook_returning_no_list_is_named() -> None:
    rule = Rule("test.single", "单条", "single")
    single = plugin(twores_rule_sets=hookimpl(lambda: RuleSet("one", "1", "测试", "test", (rule,))))
    with pytest.raises(PluginError) as error:
        make_plugin_manager(load_entrypoints=False, plugins=[single])
    assert "twores_rule_sets" in error.value.message_en
    assert "must return a list, got a RuleSet" in error.value.message_en

    def command() -> None: ...

    bare = plugin(twores_cli_commands=hookimpl(lambda: [command]))
    pm = make_plugin_manager(load_entrypoints=False, plugins=[bare])
    with pytest.raises(PluginError) as error:
        pm.cli_commands()
    assert "must return click commands" in error.value.message_en


def test_an_installed_plugin_that_cannot_be_imported_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.metadata

    from twores.plugins import manager

    broken = importlib.metadata.EntryPoint(
        name="broken_region", value="twores_no_such_module:plugin", group="twores"
    )

    def load_all(self: object, group: str) -> int:
        broken.load()
        return 0

    monkeypatch.setattr(manager.TworesPluginManager, "load_setuptools_entrypoints", load_all)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken])
    with pytest.raises(PluginError) as error:
        make_plugin_manager()
    assert "broken_region (twores_no_such_module:plugin)" in error.value.message_en
    assert "ModuleNotFoundError" in error.value.message_en


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TWORES_DISABLED_PLUGINS", "inner_mongolia"), ("TWORES_DISABLE_PLUGIN_AUTOLOAD", "1")],
)
def test_a_region_asked_for_but_switched_off_is_an_error_naming_the_switch(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(PluginError) as error:
        twores.build(regions=["inner_mongolia"])
    switch = f"{variable}={value}"
    assert error.value.message_en == (
        f"region plugin(s) inner_mongolia cannot load: switched off by {switch}"
    )
    assert error.value.message_zh == f"所选地区插件 inner_mongolia 无法加载：已被 {switch} 关闭"
    assert "inner_mongolia" not in _loaded(twores.build(regions=[]))  # national rules asked for


def test_a_region_asked_for_without_installed_plugins_is_an_error() -> None:
    with pytest.raises(PluginError) as error:
        twores.build(load_entrypoints=False, regions=["inner_mongolia"])
    assert "switched off by load_entrypoints=False" in error.value.message_en


def _halving(**marker: bool) -> types.ModuleType:
    """A plugin that wraps the deadline rule (halves every deadline)."""

    @hookimpl(**marker)
    def twores_rectification_days(severity: object, area_path: tuple[str, ...]) -> object:
        ruling = yield
        return Ruling(max(1, ruling.value // 2), ruling.rule)

    halve = types.ModuleType("halve")
    halve.twores_rectification_days = twores_rectification_days  # type: ignore[attr-defined]
    return halve


@pytest.mark.parametrize("marker", ["wrapper", "hookwrapper"])
def test_a_wrapper_on_a_decision_hook_is_refused_naming_plugin_and_hook(marker: str) -> None:
    halve = _halving(**{marker: True})
    with pytest.raises(PluginError) as error:
        twores.build(load_entrypoints=False, plugins=[halve])
    assert error.value.message_en.startswith(
        "twores_rectification_days of plugin halve is a hook wrapper"
    )
    assert error.value.message_zh.startswith("插件 halve 的 twores_rectification_days 是钩子包装器")
    app = twores.build(load_entrypoints=False)
    with pytest.raises(PluginError):
        app.plugins.register(halve)
    assert not app.plugins.is_registered(halve)  # refused, not left half-registered
    from twores.core.problems import Severity

    assert app.plugins.rectification_days(Severity.MINOR, "450323", ON).value == 15


def test_register_checks_a_plugin_as_build_does() -> None:
    def twores_supervision_frequncy(tier: Tier) -> None:  # misspelt hook name
        return None

    misspelt = types.ModuleType("misspelt")
    misspelt.twores_supervision_frequncy = hookimpl(twores_supervision_frequncy)  # type: ignore[attr-defined]
    with pytest.raises(PluginError) as built:
        twores.build(load_entrypoints=False, plugins=[misspelt])
    app = twores.build(load_entrypoints=False)
    with pytest.raises(PluginError) as registered:
        app.plugins.register(misspelt)
    assert registered.value.message_en == built.value.message_en
    assert registered.value.message_zh == built.value.message_zh
    assert "plugin misspelt cannot be loaded" in registered.value.message_en
    assert not app.plugins.is_registered(misspelt)
    app.plugins.register(plugin(twores_rule_sets=hookimpl(lambda: [LOCAL_SET])), "local")
    assert "local.grade" in app.plugins.rules()  # the manager still takes good plugins


def _command_plugin(name: str, command_name: str) -> types.ModuleType:
    import click

    module = types.ModuleType(name)
    command = click.Command(command_name, callback=lambda: None)
    module.twores_cli_commands = hookimpl(lambda: [command])  # type: ignore[attr-defined]
    return module


def test_a_command_name_two_plugins_register_fails_naming_both() -> None:
    first, second = _command_plugin("plug_a", "report"), _command_plugin("plug_b", "report")
    app = twores.build(load_entrypoints=False, plugins=[first, second])
    with pytest.raises(RuleConflictError) as error:
        app.plugins.cli_commands()
    assert "command 'report' is registered by both" in error.value.message_en
    assert "plug_a" in error.value.message_en and "plug_b" in error.value.message_en
    assert "命令名称“report”冲突" in error.value.message_zh


def test_a_plugin_command_named_like_a_built_in_is_refused_naming_plugin_and_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from twores_cli import main as cli_main

    built_in = cli_main.cli.commands["kpi"]
    app = twores.build(
        load_entrypoints=False,
        plugins=[_command_plugin("clashing", "kpi"), _command_plugin("extra", "extra-report")],
    )
    monkeypatch.setattr(twores, "build", lambda **_: app)
    try:
        cli_main.add_plugin_commands()
        assert cli_main.cli.commands["kpi"] is built_in
        assert "extra-report" in cli_main.cli.commands  # the others still added
    finally:
        cli_main.cli.commands.pop("extra-report", None)
    said = capsys.readouterr().err
    assert "插件 clashing 的命令“kpi”与内置命令重名，未添加" in said
    assert "command 'kpi' of plugin clashing has a built-in command's name: not added" in said


_DAYS = st.sampled_from([date(2019, 6, 1), date(2023, 6, 1), date(2025, 6, 30), date(2026, 3, 31)])


@settings(max_examples=60, deadline=None)
@given(business=businesses(), on=_DAYS)
def test_the_rule_books_director_answer_is_the_explained_decisions(
    business: FoodBusiness, on: date
) -> None:
    """KPI recounts ask the rule book (no explanation built); it answers as the manager."""
    for pm in (make_plugin_manager(), make_plugin_manager(load_entrypoints=False)):
        assert (
            pm.rulebook().director_required(business, on)
            is pm.requires_director(business, on).value
        )
