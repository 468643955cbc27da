"""Plugin API: the ``hookimpl`` marker that rule, storage and integration plugins use.

Example::

    from twores.plugins import hookimpl

    @hookimpl
    def twores_supervision_frequency(tier, area, on):
        ...
"""

from __future__ import annotations

import pluggy

#: The pluggy project name and the entry-point group plugins are loaded from.
NAME = "twores"

hookimpl = pluggy.HookimplMarker(NAME)

__all__ = ["NAME", "hookimpl"]
