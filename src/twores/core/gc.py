"""Pausing Python's cyclic garbage collector around bulk work that creates no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cycle collector inside the block; restore its previous state after.

    Reference counting still frees everything at once; only the periodic rescans of all
    live objects (costly when a province is in memory) are deferred. Nested use is safe.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
