"""The plugin manager: loads plugins and answers rule questions with explanations.

There is no module-level manager; call :func:`make_plugin_manager` (``twores.build`` does).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar, cast

import attrs
import pluggy

from twores.core.areas import Area, Hierarchy, Tier, is_standard_code, parent_code_of
from twores.core.businesses import FoodBusiness, Grade
from twores.core.errors import NoDecisionError, PluginError, RuleConflictError, TworesError
from twores.core.kpis import InvalidKpiError, Kpi, KpiFault, kpi_fault, kpi_name
from twores.core.periods import Frequency, Period, PeriodKind, today
from twores.core.ports import UnitOfWork
from twores.core.problems import EscalationPolicy, ProblemEvent, Severity
from twores.core.quality import QualityRules
from twores.core.rules import Decision, Rule, RuleSet, Ruling
from twores.core.supervision import VisitMode
from twores.core.users import SignInFailures, UserRepository
from twores.plugins import AREA_DEPTH, NAME, hookspecs
from twores.plugins.builtin import DEFAULT_PLUGINS
from twores.plugins.records import BackendSpec, InvalidRecordError, TierLabel, is_label

LOG = logging.getLogger("twores.plugins")
_LEADING_DIGITS = re.compile(r"\d+")
T = TypeVar("T")
#: More codes than any area path holds: a rule that reads the whole path.
_EVERY_LEVEL = 99

DISABLE_AUTOLOAD_ENV = "TWORES_DISABLE_PLUGIN_AUTOLOAD"
DISABLED_PLUGINS_ENV = "TWORES_DISABLED_PLUGINS"


def truthy(value: str | None) -> bool:
    return bool(value) and value.strip().lower() not in ("0", "false", "no", "")  # type: ignore[union-attr]


class TworesPluginManager(pluggy.PluginManager):
    """A pluggy manager with one typed method per hook.

    Decision methods return a :class:`~twores.core.rules.Decision`; ``decision.explain()``
    names the plugin and the rule that decided.
    """

    def __init__(self, hierarchy: Hierarchy | None = None) -> None:
        super().__init__(NAME)
        self.add_hookspecs(hookspecs)
        self._hierarchy = hierarchy
        self._rules_cache: dict[str, tuple[Rule, str]] | None = None
        self._impls_cache: dict[str, list[tuple[Any, tuple[str, ...], str]]] = {}
        self._values_cache: dict[tuple[Any, ...], Any] = {}
        self._arguments_cache: dict[str, tuple[str, ...]] = {}
        self._levels_cache: dict[str, int] = {}
        self._paths: dict[str, tuple[str, ...]] = {}
        #: (KPI, plugin in force, plugin replaced) overrides already logged.
        self._kpi_overrides_logged: set[tuple[str, str, str]] = set()
        #: Where the stored areas are read when a non-standard code (a development zone)
        #: is not in ``hierarchy``: set by ``open_store``, so every command and request
        #: judges a zone by its region's rules.
        self.areas_source: Callable[[], Hierarchy] | None = None

    @property
    def hierarchy(self) -> Hierarchy | None:
        return self._hierarchy

    @hierarchy.setter
    def hierarchy(self, hierarchy: Hierarchy | None) -> None:
        self._hierarchy = hierarchy
        self._paths.clear()
        self._values_cache.clear()  # the rule book's answers are kept per area code

    # --- registration hooks ---------------------------------------------------------

    def _answers(self, hook_name: str) -> list[tuple[str, object]]:
        """(plugin, what it returned) for each implementation of a registration hook, in
        call order; one that fails is named. With a hook wrapper among them (a plugin that
        filters the others' lists) the hook is called through pluggy, and what it gives is
        attributed to the wrapper."""
        caller = getattr(self.hook, hook_name)
        impls = caller.get_hookimpls()
        wrappers = [i.plugin_name for i in impls if i.hookwrapper or i.wrapper]
        calls: list[tuple[str, Callable[[], object]]]
        if wrappers:
            calls = [(f"{'/'.join(wrappers)} (hook wrapper)", lambda: list(caller()))]
        else:
            calls = [(i.plugin_name, i.function) for i in reversed(impls)]
        answers: list[tuple[str, object]] = []
        for plugin, call in calls:
            try:
                returned = call()
            except TworesError:
                raise
            except Exception as error:
                raise self._failed(plugin, hook_name, error) from error
            if wrappers:  # pluggy's result: one list per implementation that answered
                answers.extend((plugin, item) for item in cast(list[object], returned))
            else:
                answers.append((plugin, returned))
        return answers

    def _lists(self, hook_name: str, of: type | None = None) -> list[tuple[str, list[Any]]]:
        """(plugin, the list it returned) per implementation of a registration hook that
        answered; one that returns no list (of ``of`` items, when given) is named."""
        found: list[tuple[str, list[Any]]] = []
        for plugin, returned in self._answers(hook_name):
            if returned is None:
                continue
            if isinstance(returned, str | bytes) or not isinstance(returned, Iterable):
                raise _not_a_list(plugin, hook_name, of, returned)
            items = list(returned)
            stray = [item for item in items if of is not None and not isinstance(item, of)]
            if stray:
                raise _not_a_list(plugin, hook_name, of, stray[0])
            found.append((plugin, items))
        return found

    def _registered(self, hook_name: str) -> list[tuple[str, Any]]:
        """(plugin, item) for each item of the lists a registration hook's implementations
        return; one that returns no list is named with its plugin."""
        return [(plugin, item) for plugin, items in self._lists(hook_name) for item in items]

    def rule_sets(self) -> list[RuleSet]:
        """Every registered rule set, sorted by name; duplicate names or rule ids fail."""
        return [rule_set for rule_set, _ in self._rule_sets_with_source()]

    def _rule_sets_with_source(self) -> list[tuple[RuleSet, str]]:
        by_name: dict[str, tuple[RuleSet, str]] = {}
        for plugin, rule_set in self._registered("twores_rule_sets"):
            if not isinstance(rule_set, RuleSet):
                raise PluginError(
                    f"插件 {plugin} 的 twores_rule_sets 返回了非 RuleSet 对象",
                    f"plugin {plugin} returned a non-RuleSet from twores_rule_sets",
                )
            if rule_set.name in by_name:
                other = by_name[rule_set.name][1]
                raise _clash(("规则集名称", "rule set name"), rule_set.name, other, plugin)
            by_name[rule_set.name] = (rule_set, plugin)
        return [by_name[name] for name in sorted(by_name)]

    def rules(self) -> Mapping[str, tuple[Rule, str]]:
        """Rule id -> (rule, plugin that registered it)."""
        if self._rules_cache is None:
            table: dict[str, tuple[Rule, str]] = {}
            for rule_set, plugin in self._rule_sets_with_source():
                for rule in rule_set.rules:
                    if rule.id in table:
                        raise _clash(("规则编号", "rule id"), rule.id, table[rule.id][1], plugin)
                    table[rule.id] = (rule, plugin)
            self._rules_cache = table
        return self._rules_cache

    def kpis(self) -> dict[str, Kpi]:
        """Registered KPIs by name, in registration order; a plugin that registers a name
        again replaces the earlier KPI (regions run before the national baseline). Each
        KPI's ``plugin`` names the plugin whose definition is in force; every KPI returned
        is checked (:func:`~twores.core.kpis.kpi_fault`), and a bad one is a
        :class:`PluginError` naming the plugin, the KPI and the field."""
        return {name: kpi for name, (kpi, _) in self._kpis_with_sources().items()}

    def kpi_sources(self) -> dict[str, tuple[str, ...]]:
        """KPI name -> the plugins that register it: first the one whose definition is in
        force (the one pluggy calls first: the last registered, unless ``tryfirst`` or
        ``trylast`` say otherwise), then those it replaces, in the order they would have
        been next."""
        return {name: plugins for name, (_, plugins) in self._kpis_with_sources().items()}

    def _kpis_with_sources(self) -> dict[str, tuple[Kpi, tuple[str, ...]]]:
        hook = "twores_kpis"
        results = self._lists(hook, of=Kpi)  # in call order: the national set last
        found: dict[str, Kpi] = {}
        sources: dict[str, dict[str, None]] = {}
        for plugin, kpis in results:
            for kpi in kpis:
                fault = kpi_fault(kpi)
                if fault is not None:
                    raise _bad_kpi(plugin, hook, kpi_name(kpi), fault)
                name = kpi.spec.name
                sources.setdefault(name, {})[plugin] = None
                if name not in found:
                    found[name] = attrs.evolve(kpi, plugin=plugin)
                elif found[name].plugin != plugin:
                    self._log_kpi_override(name, found[name].plugin, plugin)
        order = dict.fromkeys(k.spec.name for _, kpis in reversed(results) for k in kpis)
        return {name: (found[name], tuple(sources[name])) for name in order}

    def _log_kpi_override(self, name: str, winner: str, replaced: str) -> None:
        """Say (once per manager) that ``winner``'s definition of KPI ``name`` is in force
        over ``replaced``'s: at INFO when a plugin replaces a built-in (national) KPI, as
        regions are meant to; else a WARNING, since one of the two plugins' authors may not
        know their definition is overridden."""
        key = (name, winner, replaced)
        if key in self._kpi_overrides_logged:
            return
        self._kpi_overrides_logged.add(key)
        intended = self.is_builtin(replaced) and not self.is_builtin(winner)
        LOG.log(
            logging.INFO if intended else logging.WARNING,
            "指标 %s：插件 %s 的定义替代了插件 %s 的定义%s | KPI %s: plugin %s's definition "
            "replaces plugin %s's%s",
            name,
            winner,
            replaced,
            "（替代全国指标）" if intended else "",
            name,
            winner,
            replaced,
            " (a national KPI)" if intended else "",
        )

    def is_builtin(self, plugin: str) -> bool:
        """Whether ``plugin`` names a built-in plugin (``national_kpis``...), registered as
        shipped."""
        return any(plugin == n and self.get_plugin(n) is m for n, m in DEFAULT_PLUGINS)

    def cli_commands(self) -> list[Any]:
        """Commands plugins add to the ``twores`` command line."""
        return [command for _, command in self.cli_commands_by_plugin()]

    def cli_commands_by_plugin(self) -> list[tuple[str, Any]]:
        """(plugin, command) for each command plugins add; a command name two plugins
        register fails naming both."""
        found: dict[str, tuple[str, Any]] = {}
        for plugin, command in self._registered("twores_cli_commands"):
            if not callable(command) or not isinstance(getattr(command, "name", None), str):
                raise PluginError(
                    f"插件 {plugin} 的 twores_cli_commands 应返回 click 命令，却返回了 {command!r}",
                    f"twores_cli_commands of plugin {plugin} must return click commands, "
                    f"got {command!r}",
                )
            if command.name in found:
                other = found[command.name][0]
                raise _clash(("命令名称", "command"), command.name, other, plugin)
            found[command.name] = (plugin, command)
        return list(found.values())

    def storage_backends(self) -> dict[str, BackendSpec]:
        found: dict[str, tuple[BackendSpec, str]] = {}
        for plugin, spec in self._registered("twores_storage_backends"):
            if spec.name in found:
                raise _clash(
                    ("存储后端名称", "storage backend"), spec.name, found[spec.name][1], plugin
                )
            found[spec.name] = (spec, plugin)
        return {name: found[name][0] for name in sorted(found)}

    def storage_backend(self, name: str) -> BackendSpec:
        backends = self.storage_backends()
        if name not in backends:
            raise PluginError(
                f"没有名为“{name}”的存储后端（可用：{'、'.join(backends) or '无'}）",
                f"no storage backend named '{name}' (available: {', '.join(backends) or 'none'})",
            )
        return backends[name]

    def user_repository(self, unit_of_work: UnitOfWork) -> UserRepository:
        """Sign-in users in ``unit_of_work``, from the plugin of its backend."""
        found = self.hook.twores_user_repository(unit_of_work=unit_of_work)
        if found is None:
            raise PluginError(
                "该存储后端不保存登录用户",
                "this storage backend keeps no sign-in users",
            )
        return cast("UserRepository", found)

    def sign_in_failures(self, unit_of_work: UnitOfWork) -> SignInFailures:
        """Failed sign-ins in ``unit_of_work``, from the plugin of its backend."""
        found = self.hook.twores_sign_in_failures(unit_of_work=unit_of_work)
        if found is None:
            raise PluginError(
                "该存储后端不记录登录失败（其插件须实现 twores_sign_in_failures 钩子，"
                "网页登录才能限制重试）",
                "this storage backend keeps no failed sign-ins (its plugin must implement the "
                "twores_sign_in_failures hook for web sign-in, which throttles retries)",
            )
        return cast("SignInFailures", found)

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin``, checked as ``build(plugins=[...])`` checks it: a misspelt hook
        or argument name, or a wrapper around a hook the manager calls one by one, is a
        :class:`PluginError` naming the plugin, and the plugin is left unregistered."""
        self._rules_cache = None
        self._impls_cache.clear()
        self._values_cache.clear()
        self._arguments_cache.clear()
        self._levels_cache.clear()
        try:
            registered = super().register(plugin, name)
            self.check_pending()  # a hook no spec declares: a misspelt name
            self._refuse_wrappers(plugin)
        except (pluggy.PluginValidationError, PluginError) as error:
            failed = error if isinstance(error, PluginError) else self._cannot_load(error)
            if self.is_registered(plugin):
                self.unregister(plugin)
            raise failed from error
        return registered

    def _cannot_load(self, error: pluggy.PluginValidationError) -> PluginError:
        plugin = error.plugin
        culprit = self.get_name(plugin) or getattr(plugin, "__name__", repr(plugin))
        return PluginError(
            f"插件 {culprit} 无法加载：{error}", f"plugin {culprit} cannot be loaded: {error}"
        )

    def _refuse_wrappers(self, plugin: object) -> None:
        """The manager calls each implementation of a decision hook (and of
        ``twores_on_event``) itself, to check and explain each answer: a pluggy wrapper
        around one would never run, so it is refused."""
        for caller in self.get_hookcallers(plugin) or ():
            if not _called_one_by_one(caller):
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and (impl.hookwrapper or impl.wrapper):
                    raise PluginError(
                        f"插件 {impl.plugin_name} 的 {caller.name} 是钩子包装器（wrapper）："
                        "该钩子的实现由 twores 逐个调用，包装器不会生效；"
                        "请改为返回 Ruling（需要优先时用 tryfirst=True）",
                        f"{caller.name} of plugin {impl.plugin_name} is a hook wrapper: twores "
                        "calls this hook's implementations one by one, so a wrapper would "
                        "never run; return a Ruling instead (with tryfirst=True to go first)",
                    )

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        self._rules_cache = None
        self._impls_cache.clear()
        self._values_cache.clear()
        self._arguments_cache.clear()
        self._levels_cache.clear()
        return super().unregister(plugin, name)

    def _arguments_read(self, hook_name: str) -> tuple[str, ...]:
        """The arguments some implementation of ``hook_name`` takes, sorted."""
        read = self._arguments_cache.get(hook_name)
        if read is None:
            impls = self._decision_impls(hook_name)
            read = self._arguments_cache[hook_name] = tuple(
                sorted({a for _, argnames, _ in impls for a in argnames})
            )
        return read

    def _area_levels(self, hook_name: str) -> int:
        """How many leading codes of ``area_path`` some implementation of ``hook_name``
        reads: 0 when none takes it, all of them unless every one that does declares
        :func:`~twores.plugins.reads_area_down_to`."""
        levels = self._levels_cache.get(hook_name)
        if levels is None:
            depths = [
                tier.depth if (tier := getattr(function, AREA_DEPTH, None)) else _EVERY_LEVEL
                for function, argnames, _ in self._decision_impls(hook_name)
                if "area_path" in argnames
            ]
            levels = self._levels_cache[hook_name] = max(depths, default=0)
        return levels

    def area_key(self, hook_name: str, area_code: str) -> tuple[str, ...] | None:
        """What of ``area_code`` the rules of ``hook_name`` can tell apart: None when none
        reads the area, else the leading codes of its path that they read. Areas with equal
        keys get equal answers."""
        levels = self._area_levels(hook_name)
        return self.area_path(area_code)[:levels] if levels else None

    def _decision_impls(self, hook_name: str) -> list[tuple[Any, tuple[str, ...], str]]:
        """(function, argnames, plugin name) in call order (a wrapper is refused when its
        plugin registers)."""
        impls = self._impls_cache.get(hook_name)
        if impls is None:
            impls = [
                (impl.function, tuple(impl.argnames), impl.plugin_name)
                for impl in reversed(getattr(self.hook, hook_name).get_hookimpls())
            ]
            self._impls_cache[hook_name] = impls
        return impls

    # --- decisions ------------------------------------------------------------------

    def area_path(self, area_code: str) -> tuple[str, ...]:
        """Codes from the root to ``area_code``: by the hierarchy, else by code prefixes."""
        path = self._paths.get(area_code)
        if path is None:
            path = self._compute_path(area_code)
            known = len(path) > 1 or not area_code or is_standard_code(area_code)
            if known:  # a zone not known yet is asked again
                self._paths[area_code] = path
        return path

    def jurisdiction_path(self, area_code: str, tier: Tier) -> tuple[str, ...]:
        """The path to the jurisdiction of a ``tier`` cadre over ``area_code``: its ancestor
        at ``tier`` (the area itself when it lies at or above ``tier``). A county cadre's
        rules read the county, not the village of the business it holds."""
        return self.area_path(area_code)[: tier.depth]

    def _compute_path(self, area_code: str) -> tuple[str, ...]:
        if self._hierarchy is not None and area_code in self._hierarchy:
            return tuple(area.code for area in self._hierarchy.path(area_code))
        if not area_code:  # a question about no area (nationwide)
            return (area_code,)
        if not is_standard_code(area_code):
            stored = self._stored_hierarchy(area_code)
            if stored is not None:
                return tuple(area.code for area in stored.path(area_code))
            # a zone coded under its parent (4503-KFQ): the statistical code it starts with
            digits = _LEADING_DIGITS.match(area_code)
            if digits is None or not is_standard_code(digits.group()):
                return (area_code,)
            return (*self._compute_path(digits.group()), area_code)
        path = [area_code]
        while (parent := parent_code_of(path[-1])) is not None:
            path.append(parent)
        return tuple(reversed(path))

    def _stored_hierarchy(self, area_code: str) -> Hierarchy | None:
        """The stored areas, once they hold ``area_code`` (then kept as ``hierarchy``)."""
        if self.areas_source is None:
            return None
        try:
            stored = self.areas_source()
        except Exception:  # a store that cannot be read now (busy in this thread, say)
            LOG.debug("stored areas unreadable for %s", area_code, exc_info=True)
            return None
        if area_code not in stored:
            return None  # not stored (yet): asked again next time
        self.hierarchy = stored
        return stored

    def _first_ruling(
        self, hook_name: str, kwargs: dict[str, Any], on: date
    ) -> tuple[Any, str, list[str]] | None:
        """The first implementation's answer, in pluggy's order; one that answers None, or
        with a rule not in force on ``on`` (a dated rule judges its own years only),
        abstains. A plugin's own failure is reported naming the plugin and the hook."""
        abstained: list[str] = []
        for function, argnames, plugin in self._decision_impls(hook_name):
            try:
                result = function(**{arg: kwargs[arg] for arg in argnames})
            except TworesError:
                raise
            except Exception as error:
                raise self._failed(plugin, hook_name, error) from error
            if isinstance(result, Ruling) and not isinstance(cast(object, result.rule), Rule):
                self._check_ruling(result, plugin, hook_name)  # says what is wrong
            if result is None or (isinstance(result, Ruling) and not result.rule.in_force(on)):
                abstained.append(plugin)
                continue
            return result, plugin, abstained
        return None

    @staticmethod
    def _failed(plugin: str, hook_name: str, error: Exception) -> PluginError:
        if isinstance(error, InvalidKpiError):  # a Kpi or KpiSpec the hook made refused it
            return _bad_kpi(plugin, hook_name, error.kpi, error.fault)
        if isinstance(error, InvalidRecordError):  # so did a record (a TierLabel, say)
            return PluginError(
                f"插件 {plugin} 的 {hook_name} 给出了不合理的值：{error.message_zh}",
                f"{hook_name} of plugin {plugin} gave a bad value: {error.message_en}",
            )
        return PluginError(
            f"插件 {plugin} 的 {hook_name} 出错：{type(error).__name__}: {error}",
            f"{hook_name} of plugin {plugin} failed: {type(error).__name__}: {error}",
        )

    def _check_ruling(self, result: object, plugin: str, hook_name: str) -> Ruling[Any]:
        if not isinstance(result, Ruling):
            raise PluginError(
                f"插件 {plugin} 的 {hook_name} 应返回 Ruling，实为 {type(result).__name__}",
                f"{hook_name} of plugin {plugin} must return a Ruling, got {type(result).__name__}",
            )
        rule: object = result.rule  # a plugin's value: not always what the type says
        if not isinstance(rule, Rule):
            got = type(rule).__name__
            raise PluginError(
                f"插件 {plugin} 的 {hook_name} 返回的 Ruling 中 rule 应为 Rule，实为 {got}"
                "（写法：Ruling(值, 规则)）",
                f"{hook_name} of plugin {plugin} returned a Ruling whose rule is a {got}, "
                "not a Rule (write Ruling(value, rule))",
            )
        registered = self.rules().get(rule.id)
        if registered is None or (registered[0] is not rule and registered[0] != rule):
            raise PluginError(
                f"插件 {plugin} 使用了未登记的规则 {rule.id}（请在 twores_rule_sets 中登记）",
                f"plugin {plugin} decided with unregistered rule {rule.id} "
                "(register it through twores_rule_sets)",
            )
        return result

    @staticmethod
    def _check_type(
        value: object,
        expected: type | tuple[type, ...],
        plugin: str,
        hook: str,
        kwargs: dict[str, Any],
    ) -> None:
        if not _is_a(value, expected):
            wanted = " | ".join(
                "None" if t is type(None) else t.__name__
                for t in (expected if isinstance(expected, tuple) else (expected,))
            )
            raise PluginError(
                f"插件 {plugin} 的 {hook} 返回了错误类型的值 {value!r}（应为 {wanted}）",
                f"{hook} of plugin {plugin} returned {value!r} of the wrong type "
                f"(expected {wanted})",
            )
        sensible = _SENSIBLE.get(hook)
        if sensible is not None and not sensible[0](value, kwargs):
            raise PluginError(
                f"插件 {plugin} 的 {hook} 返回了不合理的值 {value!r}：{sensible[1]}",
                f"{hook} of plugin {plugin} returned {value!r}: {sensible[2]}",
            )

    def _value(
        self, hook_name: str, on: date, kwargs: dict[str, Any], expected: type | tuple[type, ...]
    ) -> Any:
        """The decided value alone (the fast path for bulk work)."""
        found = self._first_ruling(hook_name, kwargs, on)
        if found is None:
            raise NoDecisionError(hook_name, repr(kwargs))
        result, plugin, _ = found
        value = self._check_ruling(result, plugin, hook_name).value
        self._check_type(value, expected, plugin, hook_name, kwargs)
        return value

    def _remembered_value(
        self, hook_name: str, on: date, kwargs: dict[str, Any], expected: type | tuple[type, ...]
    ) -> Any:
        """:meth:`_value`, remembered per the arguments its implementations read (a rule
        that reads no area is asked once per day, not once per village)."""
        levels = self._area_levels(hook_name)
        key = (
            hook_name,
            on,
            *(
                kwargs[a][:levels] if a == "area_path" else kwargs[a]
                for a in self._arguments_read(hook_name)
            ),
        )
        try:
            return self._values_cache[key]
        except KeyError:
            value = self._values_cache[key] = self._value(hook_name, on, kwargs, expected)
            return value

    def _decide(
        self,
        hook_name: str,
        question: tuple[str, str],
        subject: str,
        on: date,
        kwargs: dict[str, Any],
        expected: type | tuple[type, ...],
    ) -> Decision[Any]:
        found = self._first_ruling(hook_name, kwargs, on)
        if found is None:
            raise NoDecisionError(question[0], subject)
        result, plugin, abstained = found
        ruling = self._check_ruling(result, plugin, hook_name)
        self._check_type(ruling.value, expected, plugin, hook_name, kwargs)
        return Decision(
            question_zh=question[0],
            question_en=question[1],
            subject=subject,
            value=ruling.value,
            rule=ruling.rule,
            plugin=plugin,
            on=on,
            detail_zh=ruling.detail_zh,
            detail_en=ruling.detail_en,
            abstained=tuple(abstained),
        )

    @staticmethod
    def _business_subject(business: FoodBusiness) -> str:
        return f"{business.name}（{business.key}）"

    def grade(self, business: FoodBusiness, on: date) -> Decision[Grade]:
        """The assignment grade (包保分级) of ``business`` on ``on``."""
        decision = self._decide(
            "twores_grade_business",
            ("包保分级", "assignment grade"),
            self._business_subject(business),
            on,
            {"business": business, "on": on, "area_path": self.area_path(business.area_code)},
            Grade,
        )
        return cast(Decision[Grade], decision)

    def tier_for_grade(
        self, grade: Grade, on: date, area_code: str | None = None
    ) -> Decision[Tier]:
        """The cadre tier that takes businesses of ``grade`` (in ``area_code``)."""
        path = self.area_path(area_code) if area_code else ()
        decision = self._decide(
            "twores_tier_for_grade",
            ("对应包保层级", "cadre tier"),
            grade.zh,
            on,
            {"grade": grade, "on": on, "area_path": path},
            Tier,
        )
        return cast(Decision[Tier], decision)

    def supervision_frequency(self, tier: Tier, on: date, area_code: str) -> Decision[Frequency]:
        """How often a ``tier`` cadre with jurisdiction ``area_code`` (or over a business
        there) must supervise."""
        decision = self._decide(
            "twores_supervision_frequency",
            ("督导频次", "supervision frequency"),
            f"{tier.zh}包保干部（{area_code}）",
            on,
            {"tier": tier, "on": on, "area_path": self.jurisdiction_path(area_code, tier)},
            Frequency,
        )
        return cast(Decision[Frequency], decision)

    def load_cap(self, tier: Tier, on: date, area_code: str) -> Decision[int | None]:
        """The most businesses one ``tier`` cadre in ``area_code`` may hold (None: no cap)."""
        decision = self._decide(
            "twores_load_cap",
            ("包保数量上限", "load cap"),
            f"{tier.zh}包保干部（{area_code}）",
            on,
            {"tier": tier, "on": on, "area_path": self.area_path(area_code)},
            (int, type(None)),
        )
        return cast(Decision[int | None], decision)

    def rulebook(self) -> PluginRuleBook:
        """The rules as values only, for the planner and the invariants (fast, cached)."""
        return PluginRuleBook(self)

    def reads_area(self, hook_name: str) -> bool:
        """Whether some implementation of ``hook_name`` takes ``area_path`` (if none does,
        one answer holds for every area)."""
        return "area_path" in self._arguments_read(hook_name)

    def grading_reads_area(self) -> bool:
        """Whether some grading rule reads ``area_path`` (else grades follow the profile)."""
        return self.reads_area("twores_grade_business")

    def director_reads_area(self) -> bool:
        """Whether some director rule reads ``area_path`` (else it is asked per profile)."""
        return self.reads_area("twores_requires_director")

    def requires_director(self, business: FoodBusiness, on: date) -> Decision[bool]:
        """Whether ``business`` must appoint a food safety director on ``on``."""
        decision = self._decide(
            "twores_requires_director",
            ("须配备食品安全总监", "director required"),
            self._business_subject(business),
            on,
            {"business": business, "on": on, "area_path": self.area_path(business.area_code)},
            bool,
        )
        return cast(Decision[bool], decision)

    def window_close(self, period: Period, area_code: str | None = None) -> Decision[date]:
        """The last day on which records of ``period`` may be entered."""
        path = self.area_path(area_code) if area_code else ()
        decision = self._decide(
            "twores_window_close",
            ("录入截止日期", "entry window closes"),
            period.label("zh"),
            period.start,
            {"period": period, "area_path": path},
            date,
        )
        return cast(Decision[date], decision)

    def counting_visit_modes(self, on: date, area_code: str) -> Decision[frozenset[VisitMode]]:
        """The visit modes that fulfil a task for a business in ``area_code``."""
        decision = self._decide(
            "twores_counting_visit_modes",
            ("计入任务的督导方式", "visit modes that count"),
            area_code,
            on,
            {"on": on, "area_path": self.area_path(area_code)},
            frozenset,
        )
        return cast(Decision[frozenset[VisitMode]], decision)

    def counting_modes(self, on: date, area_code: str) -> frozenset[VisitMode]:
        """The value of :meth:`counting_visit_modes` alone, remembered (for bulk work)."""
        kwargs = {"on": on, "area_path": self.area_path(area_code)}
        modes = self._remembered_value("twores_counting_visit_modes", on, kwargs, frozenset)
        return cast(frozenset[VisitMode], modes)

    def letter_renewal(self, year: int, area_code: str) -> Decision[date]:
        """The day by which cadres in ``area_code`` sign ``year``'s commitment letter."""
        decision = self._decide(
            "twores_letter_renewal",
            ("承诺书签订截止日期", "letter signing deadline"),
            f"{year}年（{area_code}）",
            date(year, 1, 1),
            {"year": year, "area_path": self.area_path(area_code)},
            date,
        )
        return cast(Decision[date], decision)

    def rectification_days(self, severity: Severity, area_code: str, on: date) -> Decision[int]:
        """Days a business in ``area_code`` gets to fix a problem of ``severity`` found ``on``."""
        decision = self._decide(
            "twores_rectification_days",
            ("整改期限（天）", "days to fix"),
            f"{severity.zh}问题（{area_code}）",
            on,
            {"severity": severity, "area_path": self.area_path(area_code)},
            int,
        )
        return cast(Decision[int], decision)

    def escalation_policy(self, area_code: str, on: date) -> Decision[EscalationPolicy]:
        """How a problem in ``area_code`` overdue on ``on`` escalates."""
        decision = self._decide(
            "twores_escalation_policy",
            ("逾期升级办法", "escalation policy"),
            area_code,
            on,
            {"area_path": self.area_path(area_code)},
            EscalationPolicy,
        )
        return cast(Decision[EscalationPolicy], decision)

    def quality_rules(self, area_code: str, on: date) -> Decision[QualityRules]:
        """The thresholds of the data-quality signals for a report on ``area_code``."""
        decision = self._decide(
            "twores_quality_rules",
            ("数据质量阈值", "data-quality thresholds"),
            area_code,
            on,
            {"area_path": self.area_path(area_code)},
            QualityRules,
        )
        return cast(Decision[QualityRules], decision)

    def notify(self, event: ProblemEvent, area_code: str) -> None:
        """Pass a committed transition to every ``twores_on_event`` plugin; a failing
        notifier is logged, never raised (the transition stands)."""
        path = self.area_path(area_code)
        given = {"event": event, "area_path": path}
        for impl in self.hook.twores_on_event.get_hookimpls():
            try:  # an implementation may take fewer arguments than the spec lists
                impl.function(**{arg: given[arg] for arg in impl.argnames})
            except Exception:
                LOG.exception("notifier %s failed on %s", impl.plugin_name, event.problem_id)

    def area_label(self, area: Area, on: date | None = None) -> Decision[TierLabel]:
        """What ``area``'s tier is called on ``on`` (default today), e.g. 旗 for a banner."""
        decision = self._decide(
            "twores_area_label",
            ("层级称谓", "tier label"),
            f"{area.name}（{area.code}）",
            on or today(),
            {"area": area, "area_path": self.area_path(area.code)},
            TierLabel,
        )
        return cast(Decision[TierLabel], decision)

    # --- introspection ----------------------------------------------------------------

    def describe(self) -> list[dict[str, Any]]:
        """Each plugin: name, the hooks it implements, the rule sets it registers, the KPIs
        it registers whose definition is in force (``kpis``) and those it registers that
        another plugin's definition overrides (``kpis_overridden``: name and ``by``)."""
        rule_sets: dict[str, list[str]] = {}
        for rule_set, source in self._rule_sets_with_source():
            rule_sets.setdefault(source, []).append(f"{rule_set.name} {rule_set.version}")
        in_force: dict[str, list[str]] = {}
        overridden: dict[str, list[dict[str, str]]] = {}
        for kpi, sources in self.kpi_sources().items():
            in_force.setdefault(sources[0], []).append(kpi)
            for replaced in sources[1:]:
                overridden.setdefault(replaced, []).append({"name": kpi, "by": sources[0]})
        described = []
        for name, plugin in sorted(self.list_name_plugin(), key=lambda item: item[0]):
            if plugin is None:
                continue
            hooks = sorted(caller.name for caller in self.get_hookcallers(plugin) or ())
            described.append(
                {
                    "name": name,
                    "hooks": hooks,
                    "rule_sets": rule_sets.get(name, []),
                    "kpis": in_force.get(name, []),
                    "kpis_overridden": overridden.get(name, []),
                }
            )
        return described


#: Keys of the rule book's answers among the manager's (never a hook's name).
_TIER_OF, _LOAD_CAP = object(), object()


class PluginRuleBook:
    """:class:`~twores.core.roster.RuleBook` over a plugin manager.

    Caches tier and cap answers per (question, date, area) in the manager's answers, which
    registering or unregistering a plugin forgets; grading is asked per business.
    """

    def __init__(self, manager: TworesPluginManager) -> None:
        self.manager = manager

    def grade_of(self, business: FoodBusiness, on: date) -> Grade:
        path = self.manager.area_path(business.area_code)
        return cast(
            Grade,
            self.manager._value(
                "twores_grade_business",
                on,
                {"business": business, "on": on, "area_path": path},
                Grade,
            ),
        )

    def grades_of(self, businesses: Sequence[FoodBusiness], on: date) -> list[Grade]:
        """Grade many businesses: implementations resolved and rules checked once per batch."""
        return self._business_values("twores_grade_business", "包保分级", businesses, on, Grade)

    def director_required(self, business: FoodBusiness, on: date) -> bool:
        """Whether ``business`` must appoint a food safety director on ``on``: the value of
        :meth:`TworesPluginManager.requires_director` without its explanation (asked once
        per business profile by every KPI recount)."""
        hook, question = "twores_requires_director", "须配备食品安全总监"
        return self._business_values(hook, question, (business,), on, bool)[0]

    def _business_values(
        self,
        hook: str,
        question: str,
        businesses: Sequence[FoodBusiness],
        on: date,
        expected: type[T],
    ) -> list[T]:
        """The decided value of ``hook`` for each business: the first implementation's
        answer whose rule is in force on ``on`` (implementations resolved, and each rule
        checked, once per batch)."""
        manager = self.manager
        impls = manager._decision_impls(hook)
        simple = all(argnames == ("business",) for _, argnames, _ in impls)
        area_path = manager.area_path
        in_force: dict[int, bool] = {}  # per rule: checked, and in force on ``on``?
        values: list[T] = []
        append = values.append
        for business in businesses:
            if not simple:
                arguments = {
                    "business": business,
                    "on": on,
                    "area_path": area_path(business.area_code),
                }
            for function, argnames, plugin in impls:
                try:
                    if simple:
                        result = function(business)
                    else:
                        result = function(*[arguments[arg] for arg in argnames])
                except TworesError:
                    raise
                except Exception as error:
                    raise manager._failed(plugin, hook, error) from error
                if result is None:
                    continue
                applies = in_force.get(id(result.rule)) if isinstance(result, Ruling) else None
                if applies is None:
                    manager._check_ruling(result, plugin, hook)
                    applies = in_force[id(result.rule)] = result.rule.in_force(on)
                if not applies:  # a dated rule judges its own years only
                    continue
                value = result.value
                if type(value) is not expected:
                    manager._check_type(value, expected, plugin, hook, {})
                append(value)
                break
            else:
                raise NoDecisionError(question, business.key)
        return values

    def tier_of(self, grade: Grade, on: date, area_code: str) -> Tier:
        answers = self.manager._values_cache
        key = (_TIER_OF, grade, on, area_code)
        tier = answers.get(key)
        if tier is None:
            kwargs = {"grade": grade, "on": on, "area_path": self.manager.area_path(area_code)}
            tier = answers[key] = self.manager._remembered_value(
                "twores_tier_for_grade", on, kwargs, Tier
            )
        return cast(Tier, tier)

    def frequency(self, tier: Tier, on: date, area_code: str) -> Frequency:
        """The supervision frequency for a ``tier`` cadre over ``area_code``, asked once per
        the arguments its rules read."""
        path = self.manager.jurisdiction_path(area_code, tier)
        kwargs = {"tier": tier, "on": on, "area_path": path}
        return cast(
            Frequency,
            self.manager._remembered_value("twores_supervision_frequency", on, kwargs, Frequency),
        )

    def window_close(self, period: Period, area_code: str) -> date:
        """The entry window's last day, asked once per the arguments its rules read."""
        kwargs = {"period": period, "area_path": self.manager.area_path(area_code)}
        return cast(
            date, self.manager._remembered_value("twores_window_close", period.start, kwargs, date)
        )

    def load_cap(self, tier: Tier, on: date, area_code: str) -> int | None:
        answers = self.manager._values_cache
        key = (_LOAD_CAP, tier, on, area_code)
        if key not in answers:
            answers[key] = self.manager.load_cap(tier, on, area_code).value
        return cast("int | None", answers[key])


#: The longest period of each kind, in days: no rule can ask for more visits than days.
_LONGEST = {
    PeriodKind.DAY: 1,
    PeriodKind.WEEK: 7,
    PeriodKind.MONTH: 31,
    PeriodKind.QUARTER: 92,
    PeriodKind.HALF_YEAR: 184,
    PeriodKind.YEAR: 366,
}


#: Decision hooks the manager leaves to pluggy (a wrapper around them runs).
_DECIDED_BY_PLUGGY = frozenset({"twores_user_repository", "twores_sign_in_failures"})


def _called_one_by_one(caller: pluggy.HookCaller) -> bool:
    """Whether the manager calls each implementation of the hook itself: the decision
    hooks it decides, and the notifiers."""
    spec = caller.spec
    decides = spec is not None and bool(spec.opts.get("firstresult"))
    return caller.name == "twores_on_event" or (decides and caller.name not in _DECIDED_BY_PLUGGY)


def _not_a_list(plugin: str, hook: str, of: type | None, got: object) -> PluginError:
    wanted_zh, wanted_en = (f"{of.__name__} ", f" of {of.__name__}") if of else ("", "")
    name = type(got).__name__
    return PluginError(
        f"插件 {plugin} 的 {hook} 应返回{wanted_zh}列表，却返回了 {name}",
        f"{hook} of plugin {plugin} must return a list{wanted_en}, got a {name}",
    )


def _bad_kpi(plugin: str, hook: str, kpi: str, fault: KpiFault) -> PluginError:
    """KPI ``kpi`` that ``plugin`` returned from ``hook`` has a field later code cannot use."""
    return PluginError(
        f"插件 {plugin} 的 {hook} 返回了不合理的指标 {kpi}：{fault.field} 为 {fault.shown}，"
        f"{fault.why_zh}",
        f"{hook} of plugin {plugin} returned KPI {kpi} with {fault.field} {fault.shown}: "
        f"{fault.why_en}",
    )


def _is_a(value: object, expected: type | tuple[type, ...]) -> bool:
    """``isinstance``, but a bool is no int and a datetime no date (each would be stored
    as something the readers of that value cannot read back)."""
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    if isinstance(value, datetime) and datetime not in kinds:
        return False
    return isinstance(value, kinds)


#: The longest rectification deadline a rule may give (ten years).
MAX_RECTIFICATION_DAYS = 3650

#: hook -> (check of (value, the hook's arguments), why in zh, why in en).
_SENSIBLE: dict[str, tuple[Callable[[Any, dict[str, Any]], bool], str, str]] = {
    "twores_tier_for_grade": (
        lambda tier, _: tier is not Tier.PROVINCE,
        "包保干部为市、县、乡、村四级",
        "cadres are of city, county, township or village tier",
    ),
    "twores_load_cap": (
        lambda cap, _: cap is None or cap >= 1,
        "包保上限至少为 1（None 为不设上限）",
        "a load cap is at least 1 (None for no cap)",
    ),
    "twores_rectification_days": (
        lambda days, _: 1 <= days <= MAX_RECTIFICATION_DAYS,
        f"整改期限应为 1 至 {MAX_RECTIFICATION_DAYS} 天",
        f"a rectification deadline is 1 to {MAX_RECTIFICATION_DAYS} days",
    ),
    "twores_supervision_frequency": (
        lambda f, _: f.visits <= _LONGEST[f.kind],
        "督导次数不能多于周期的天数",
        "no more visits than the period has days",
    ),
    "twores_window_close": (
        lambda close, kw: close >= kw["period"].start,
        "录入截止日期不能早于周期开始",
        "the entry window cannot close before the period starts",
    ),
    "twores_letter_renewal": (
        lambda day, kw: kw["year"] - 1 <= day.year <= kw["year"],
        "承诺书签订截止日期应在该年度内（或上一年末）",
        "a letter's signing deadline falls in its year (or the year before)",
    ),
    "twores_area_label": (
        lambda label, _: is_label(label.zh) and is_label(label.en),
        '层级称谓的 zh 与 en 均应为非空文字（如 TierLabel("旗", "banner")）',
        'a tier label\'s zh and en must both be non-empty text (e.g. TierLabel("旗", "banner"))',
    ),
    "twores_counting_visit_modes": (
        lambda modes, _: bool(modes) and all(isinstance(m, VisitMode) for m in modes),
        "应为非空的 VisitMode 集合（如 frozenset({VisitMode.ON_SITE})）",
        "a non-empty set of VisitMode members (e.g. frozenset({VisitMode.ON_SITE}))",
    ),
}


def installed_plugins() -> list[str]:
    """Names of the plugins installed under the ``twores`` entry-point group."""
    from importlib.metadata import entry_points

    return sorted({ep.name for ep in entry_points(group=NAME)})


def blocked_except(enabled: Iterable[str]) -> list[str]:
    """The installed plugins to block so that only ``enabled`` load; a name that is not
    installed is an error (a typo would otherwise switch every region off unnoticed)."""
    wanted = set(enabled)
    installed = installed_plugins()
    unknown = sorted(wanted - set(installed))
    if unknown:
        shown, known = "、".join(unknown), "、".join(installed) or "无"
        raise PluginError(
            f"未安装的插件：{shown}（已安装：{known}）",
            f"plugin(s) not installed: {', '.join(unknown)} (installed: "
            f"{', '.join(installed) or 'none'})",
        )
    return [name for name in installed if name not in wanted]


def _disabled_by_environment() -> set[str]:
    """The plugins ``TWORES_DISABLED_PLUGINS=a,b`` blocks."""
    return {n.strip() for n in os.environ.get(DISABLED_PLUGINS_ENV, "").split(",") if n.strip()}


def refuse_switched_off(regions: Iterable[str], load_entrypoints: bool = True) -> None:
    """A region plugin asked for by name that a switch keeps out is an error naming the
    switch (else the national rules would answer for it in silence)."""
    wanted = sorted(set(regions))
    if not wanted:
        return
    if not load_entrypoints:
        switch = "load_entrypoints=False"
    elif truthy(os.environ.get(DISABLE_AUTOLOAD_ENV)):
        switch = f"{DISABLE_AUTOLOAD_ENV}={os.environ[DISABLE_AUTOLOAD_ENV]}"
    else:
        wanted = sorted(set(wanted) & _disabled_by_environment())
        switch = f"{DISABLED_PLUGINS_ENV}={os.environ.get(DISABLED_PLUGINS_ENV, '')}"
    if wanted:
        raise PluginError(
            f"所选地区插件 {'、'.join(wanted)} 无法加载：已被 {switch} 关闭",
            f"region plugin(s) {', '.join(wanted)} cannot load: switched off by {switch}",
        )


def _load_entrypoints(pm: TworesPluginManager) -> None:
    """The installed plugins; one whose module cannot be imported is named (pluggy's own
    error does not say which)."""
    try:
        pm.load_setuptools_entrypoints(NAME)
    except PluginError:  # registered, and refused by the manager's checks
        raise
    except Exception as error:
        from importlib.metadata import entry_points

        culprit = "?"
        for entry in entry_points(group=NAME):
            if pm.is_blocked(entry.name) or pm.get_plugin(entry.name) is not None:
                continue
            try:
                entry.load()
            except Exception:
                culprit = f"{entry.name} ({entry.value})"
                break
        raise PluginError(
            f"插件 {culprit} 无法加载：{type(error).__name__}: {error}",
            f"plugin {culprit} cannot be loaded: {type(error).__name__}: {error}",
        ) from error


def make_plugin_manager(
    load_entrypoints: bool = True,
    blocked: Iterable[str] = (),
    *,
    plugins: Iterable[object] = (),
    hierarchy: Hierarchy | None = None,
) -> TworesPluginManager:
    """A new manager with the built-in plugins, entry-point plugins and ``plugins``.

    ``load_entrypoints`` is overridden to False by ``TWORES_DISABLE_PLUGIN_AUTOLOAD=1``;
    ``TWORES_DISABLED_PLUGINS=a,b`` adds to ``blocked``. A blocked name is never
    registered, whether built-in or installed.
    """
    pm = TworesPluginManager(hierarchy)
    for name in {*blocked, *_disabled_by_environment()}:
        pm.set_blocked(name)
    for name, module in DEFAULT_PLUGINS:
        if not pm.is_blocked(name):
            pm.register(module, name)
    if load_entrypoints and not truthy(os.environ.get(DISABLE_AUTOLOAD_ENV)):
        _load_entrypoints(pm)
    for plugin in plugins:
        pm.register(plugin)  # checked as it registers (a misspelt hook or argument name)
    pm.rules()
    return pm


def _clash(what: tuple[str, str], name: str | None, first: str, second: str) -> RuleConflictError:
    """``name`` (a ``what``) registered by two plugins."""
    return RuleConflictError(
        f"{what[0]}“{name}”冲突：插件 {first} 与 {second}",
        f"{what[1]} '{name}' is registered by both {first} and {second}",
    )
