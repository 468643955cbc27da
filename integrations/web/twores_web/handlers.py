"""Route decorators for blocking handlers: the services do database I/O, so every handler
runs in a worker thread, and every error response is documented with one shape."""

from __future__ import annotations

import functools
from typing import Any

import attrs
import litestar
from litestar.openapi.datastructures import ResponseSpec


@attrs.frozen
class ErrorBody:
    """Every error: a stable code and messages in Chinese and English; a refused value
    also names its field (and ledger row)."""

    code: str
    zh: str
    en: str
    field: str | None = None
    value: str | None = None
    row: int | None = None
    extra: Any = None
    #: Seconds until a throttled sign-in may be tried again (as the Retry-After header).
    retry_after: int | None = None


def _error(description: str) -> ResponseSpec:
    return ResponseSpec(ErrorBody, description=description)


ERRORS = {
    400: _error("Bad input / 输入有误"),
    401: _error("Not signed in / 未登录"),
    403: _error("Outside the scope or no CSRF token / 超出辖区或缺少 CSRF 令牌"),
    404: _error("No such record in scope / 记录不存在或不在辖区内"),
}
#: What sign-in answers besides: too many failures, try again after Retry-After seconds.
SIGN_IN_ERRORS = {
    **ERRORS,
    429: _error("Too many failed sign-ins (see Retry-After) / 登录失败次数过多"),
}

get = functools.partial(litestar.get, sync_to_thread=True, responses=ERRORS)
post = functools.partial(litestar.post, sync_to_thread=True, responses=ERRORS)
