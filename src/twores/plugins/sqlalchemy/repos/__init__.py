"""The SQL store's repositories, one module per kind of record."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

BATCH = 5_000


def batches(items: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (default :data:`BATCH`, read at each call so a test
    can make it small; the last may be shorter)."""
    size = BATCH if size is None else size
    pending = iter(items)
    while batch := list(itertools.islice(pending, size)):
        yield batch
