"""Route decorators for blocking handlers: the services do database I/O, so every handler
runs in a worker thread."""

from __future__ import annotations

import functools

import litestar

get = functools.partial(litestar.get, sync_to_thread=True)
post = functools.partial(litestar.post, sync_to_thread=True)
