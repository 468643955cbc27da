"""The composition root: ``build()`` wires plugins (and, later, storage) into one app object.

Nothing here is global; every call builds a fresh, independent app.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from twores.core.areas import Hierarchy
from twores.core.convert import make_converter
from twores.plugins.manager import (
    TworesPluginManager,
    blocked_except,
    make_plugin_manager,
    refuse_switched_off,
)


@attrs.define
class Twores:
    """One configured twores: its plugin manager (rules) and its areas."""

    plugins: TworesPluginManager
    hierarchy: Hierarchy | None = None
    converter: Any = attrs.field(factory=make_converter, repr=False)

    def use_hierarchy(self, hierarchy: Hierarchy) -> None:
        """Answer rule questions with paths from ``hierarchy`` (needed for non-standard codes)."""
        self.hierarchy = hierarchy
        self.plugins.hierarchy = hierarchy


def build(
    *,
    load_entrypoints: bool = True,
    blocked: Iterable[str] = (),
    regions: Iterable[str] | None = None,
    plugins: Iterable[object] = (),
    hierarchy: Hierarchy | None = None,
) -> Twores:
    """A new app: built-in rules, installed plugins (unless disabled) and ``plugins``.

    ``regions`` names the installed plugins to load (None: all); naming one that is not
    installed, or that ``load_entrypoints=False``, ``TWORES_DISABLE_PLUGIN_AUTOLOAD`` or
    ``TWORES_DISABLED_PLUGINS`` keeps out, is a :class:`~twores.core.errors.PluginError`.
    """
    if regions is not None:
        regions = list(regions)
        blocked = [*blocked, *blocked_except(regions)]
        refuse_switched_off(regions, load_entrypoints)
    manager = make_plugin_manager(
        load_entrypoints=load_entrypoints, blocked=blocked, plugins=plugins, hierarchy=hierarchy
    )
    return Twores(plugins=manager, hierarchy=hierarchy)
