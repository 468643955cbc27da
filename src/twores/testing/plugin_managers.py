"""Plugin managers with a chosen set of installed region plugins."""

from __future__ import annotations

from collections.abc import Iterable

from twores.plugins.manager import TworesPluginManager, installed_plugins, make_plugin_manager


def plugin_manager_for(regions: Iterable[str] | None) -> TworesPluginManager:
    """A manager with the built-ins and only the named installed plugins.

    ``None`` keeps every installed plugin; an empty list keeps none (national rules only).
    """
    if regions is None:
        return make_plugin_manager()
    wanted = set(regions)
    installed = installed_plugins()
    unknown = wanted - set(installed)
    if unknown:
        raise ValueError(
            f"unknown twores plugin(s) {sorted(unknown)}; installed: {installed or 'none'}"
        )
    return make_plugin_manager(blocked=[name for name in installed if name not in wanted])


def region_roots(manager: TworesPluginManager) -> tuple[str, ...]:
    """The root area codes of the regional rule sets in force (``RuleSet.region``), so
    that generated data lies where the region's rules apply."""
    return tuple(sorted({r.region for r in manager.rule_sets() if r.region}))
