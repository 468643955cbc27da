"""Built-in plugins, registered through the same path as installed ones.

Block one by name (``make_plugin_manager(blocked=["national"])``) like any other plugin.
"""

from __future__ import annotations

from types import ModuleType

from twores.plugins import sqlalchemy as sqlalchemy_backend
from twores.plugins.builtin import log_events, memory, national, national_kpis

#: (name, module) of each built-in plugin, in registration order.
DEFAULT_PLUGINS: tuple[tuple[str, ModuleType], ...] = (
    ("national", national),
    ("national_kpis", national_kpis),
    ("memory", memory),
    ("sqlalchemy", sqlalchemy_backend),
    ("log_events", log_events),
)
