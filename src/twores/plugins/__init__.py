"""Plugin API: the ``hookimpl`` marker that rule, storage and integration plugins use.

Example::

    from twores.plugins import hookimpl

    @hookimpl
    def twores_supervision_frequency(tier, area_path, on):
        ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pluggy

from twores.core.areas import Tier

#: The pluggy project name and the entry-point group plugins are loaded from.
NAME = "twores"

hookimpl = pluggy.HookimplMarker(NAME)
F = TypeVar("F", bound=Callable[..., object])
#: The attribute :func:`reads_area_down_to` sets on a rule.
AREA_DEPTH = "twores_area_depth"


def reads_area_down_to(tier: Tier) -> Callable[[F], F]:
    """Declare that a rule reads ``area_path`` only down to ``tier`` (its first
    ``tier.depth`` codes), so its answers hold for every area below that tier.

    Bulk work then asks the rule once per area at ``tier`` instead of once per village::

        @hookimpl
        @reads_area_down_to(Tier.PROVINCE)
        def twores_supervision_frequency(tier, on, area_path):
            if "15" in area_path and tier is Tier.COUNTY: ...
    """

    def mark(rule: F) -> F:
        setattr(rule, AREA_DEPTH, tier)
        return rule

    return mark


__all__ = ["AREA_DEPTH", "NAME", "hookimpl", "reads_area_down_to"]
