"""Plugin managers with a chosen set of installed region plugins."""

from __future__ import annotations

from collections.abc import Iterable

from twores.core.errors import PluginError
from twores.plugins.manager import (
    TworesPluginManager,
    blocked_except,
    installed_plugins,
    make_plugin_manager,
)


def plugin_manager_for(regions: Iterable[str] | None) -> TworesPluginManager:
    """A manager with the built-ins and only the named installed plugins.

    ``None`` keeps every installed plugin; an empty list keeps none (national rules only).
    """
    if regions is None:
        return make_plugin_manager()
    try:
        blocked = blocked_except(regions)
    except PluginError as error:  # pytest shows a ValueError's message plainly
        raise ValueError(f"unknown twores plugin(s): {error.message_en}") from error
    return make_plugin_manager(blocked=blocked)


__all__ = ["installed_plugins", "plugin_manager_for", "region_roots"]


def region_roots(manager: TworesPluginManager) -> tuple[str, ...]:
    """The root area codes of the regional rule sets in force (``RuleSet.region``), so
    that generated data lies where the region's rules apply."""
    return tuple(sorted({r.region for r in manager.rule_sets() if r.region}))
