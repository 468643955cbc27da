"""Writes from web requests: each waits only briefly for another writer (then 503 with
Retry-After), and runs on threads of its own, so a long write elsewhere (a province's
import from the CLI) never holds the threads or the database connections reads need."""

from __future__ import annotations

import asyncio
import functools
import math
import sqlite3
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from anyio import to_thread

import twores

T = TypeVar("T")

#: The code of a write refused because another held the writer claim too long.
BUSY = "writes_busy"
#: Seconds a web write waits for another writer (the CLI waits minutes).
WRITES_WAIT = 5.0
#: Web writes running at once; the rest wait, without a thread, in the order they came.
#: Writers take turns in the database anyway; one at a time here also applies this
#: process's ledger steps in the order they were timed (none may precede the last).
WRITE_SLOTS = 1
#: PostgreSQL's "lock not available" (a lock timeout).
_LOCK_NOT_AVAILABLE = "55P03"


class WritesBusy(twores.TworesError):
    """Another write is under way: nothing was changed; try again after Retry-After."""

    code = BUSY

    def __init__(self) -> None:
        super().__init__(
            "另一项写入正在进行，请稍后重试", "another write is under way; try again shortly"
        )


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` says another write held the database too long: the store's
    :class:`~twores.core.ports.WritesBusyError`, SQLite's "database is locked" or a
    PostgreSQL lock timeout."""
    if isinstance(error, twores.TworesError):
        return error.code == BUSY
    orig = getattr(error, "orig", None)
    if isinstance(orig, sqlite3.OperationalError):
        return "locked" in str(orig)
    return getattr(orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE


class WebStore:
    """The store as the app's requests use it: every unit of work waits at most ``wait``
    seconds for another writer (:attr:`twores.UnitOfWork.writes_wait`), not the store's
    default of minutes; then its request answers 503. Equal to the store it wraps, so what
    the services remember per store (users, KPI totals) is shared with other callers in
    the process (a user changed by ``add_user`` on the store is forgotten here too)."""

    def __init__(self, store: twores.Store, wait: float) -> None:
        self.store, self.wait = store, wait
        self.url = store.url

    def __eq__(self, other: object) -> bool:
        return other is self.store or (isinstance(other, WebStore) and other.store is self.store)

    def __hash__(self) -> int:
        return hash(self.store)

    def unit_of_work(self, scope: twores.Scope) -> twores.UnitOfWork:
        uow = self.store.unit_of_work(scope)
        uow.writes_wait = self.wait
        return uow

    def close(self) -> None:
        self.store.close()


class WriteLane:
    """Where write handlers run: at most ``slots`` at once, on worker threads that are not
    the event loop's executor (where read handlers run); a write that gets no slot within
    ``wait`` seconds is refused as busy, having held no thread and no connection."""

    def __init__(self, slots: int = WRITE_SLOTS, wait: float = WRITES_WAIT) -> None:
        if slots < 1:
            raise twores.InvalidValueError(
                "write_slots", slots, "应为正整数", "must be a positive whole number"
            )
        if not wait > 0:
            raise twores.InvalidValueError("writes_wait", wait, "应为正数", "must be positive")
        self.slots, self.wait = slots, wait
        self._lock = threading.Lock()
        self._limiters: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, anyio.CapacityLimiter
        ] = weakref.WeakKeyDictionary()

    @property
    def retry_after(self) -> int:
        """Seconds a refused write is told to wait (Retry-After)."""
        return max(1, math.ceil(self.wait))

    def _limiter(self) -> anyio.CapacityLimiter:
        """The slots of this event loop (a test client runs each app in a loop of its own)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._limiters.get(loop)
            if found is None:
                found = self._limiters[loop] = anyio.CapacityLimiter(self.slots)
            return found

    async def run(self, work: Callable[[], T]) -> T:
        limiter, slot = self._limiter(), False
        with anyio.move_on_after(self.wait):
            await limiter.acquire()
            slot = True
        if not slot:
            raise WritesBusy()
        try:
            return await to_thread.run_sync(work)
        finally:
            limiter.release()


def on_write_lane(handler: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """``handler`` (a sync handler that writes, taking ``web``) run on the app's
    :class:`WriteLane` instead of a read thread."""

    @functools.wraps(handler)
    async def run(*args: Any, **kwargs: Any) -> T:
        lane: WriteLane = kwargs["web"].writes
        return await lane.run(functools.partial(handler, *args, **kwargs))

    return run
