"""Route decorators for blocking handlers: the services do database I/O, so every handler
runs in a worker thread (a handler that writes, on the write lane: twores_web.writes), and
every error response is documented with one shape."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import attrs
import litestar
from litestar.datastructures import ResponseHeader
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)

import twores
from twores.services.sign_in import SignInThrottledError
from twores_web.state import MAX_BODY_SIZE, size_text
from twores_web.writes import WritesBusy, on_write_lane


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
    #: Seconds until a throttled sign-in or a refused write may be tried again (as the
    #: Retry-After header).
    retry_after: int | None = None
    #: The largest body the app takes, in bytes (413 ``too_large``).
    max_bytes: int | None = None


def _error(description: str, *examples: dict[str, object]) -> ResponseSpec:
    """An error answer, shown by real bodies the app sends (none generated)."""
    return ResponseSpec(
        ErrorBody,
        description=description,
        generate_examples=False,
        examples=[Example(summary=str(body["code"]), value=body) for body in examples],
    )


#: One real body for each error status (what the app answers, with its stable code).
_EXAMPLE_SCOPE = twores.Scope("town", twores.Role.OFFICE, "450323101")
BAD_INPUT = twores.InvalidValueError("limit", 5000, "应在 1–1000 之间", "must be 1-1000").to_dict()
NOT_SIGNED_IN: dict[str, object] = {
    "code": "not_signed_in",
    "zh": "请先登录",
    "en": "sign in first",
}
OUT_OF_SCOPE = twores.ScopeError(
    f"town（{twores.Role.OFFICE.zh}，辖区 450323101）无权访问区划 450324",
    f"town ({twores.Role.OFFICE.en}, scope 450323101) may not access area 450324",
).to_dict()
NOT_FOUND = twores.NotFoundError(
    "cadre_id", "C450323101-001", "干部不存在或不在辖区内", "no such cadre in scope"
).to_dict()
TOO_LARGE: dict[str, object] = {
    "code": "too_large",
    "zh": f"请求内容超过 {size_text(MAX_BODY_SIZE)} 上限，请精简内容后重试",
    "en": f"the request body is over the {size_text(MAX_BODY_SIZE)} limit: send less and try again",
    "max_bytes": MAX_BODY_SIZE,
}
THROTTLED = SignInThrottledError(900).to_dict()
UNAVAILABLE: dict[str, object] = {
    "code": "store_unavailable",
    "zh": "数据库暂不可用，请稍后重试",
    "en": "the database is unavailable; try again shortly",
    "retry_after": 5,
}
BUSY_BODY: dict[str, object] = {**WritesBusy().to_dict(), "retry_after": 5}

ERRORS = {
    400: _error("Bad input / 输入有误", BAD_INPUT),
    401: _error("Not signed in / 未登录", NOT_SIGNED_IN),
    403: _error("Outside the scope or no CSRF token / 超出辖区或缺少 CSRF 令牌", OUT_OF_SCOPE),
    404: _error("No such record in scope / 记录不存在或不在辖区内", NOT_FOUND),
    503: _error(
        "The database is unavailable, store_unavailable (see Retry-After) / 数据库暂不可用",
        UNAVAILABLE,
    ),
}
#: What sign-in answers besides: too many failures, try again after Retry-After seconds.
SIGN_IN_ERRORS = {
    **ERRORS,
    429: _error("Too many failed sign-ins (see Retry-After) / 登录失败次数过多", THROTTLED),
}


#: What a write answers besides: another write held the database, try again after
#: Retry-After seconds (nothing was changed).
WRITE_ERRORS = {
    **ERRORS,
    413: _error(
        "The body is over the size limit (`max_bytes`) / 请求内容超过上限（too_large）", TOO_LARGE
    ),
    503: _error(
        "Another write is under way (writes_busy) or the database is unavailable "
        "(store_unavailable); see Retry-After / 另一项写入正在进行或数据库暂不可用，请稍后重试",
        BUSY_BODY,
        UNAVAILABLE,
    ),
}


def _retry_after(response: object, description: str) -> None:
    if isinstance(response, OpenAPIResponse):
        response.headers = {
            "Retry-After": OpenAPIHeader(
                description=description,
                schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
                required=True,
            )
        }


@dataclasses.dataclass
class SignInOperation(Operation):
    """Sign-in's operation: its 429 answer documents the Retry-After header."""

    def __post_init__(self) -> None:
        throttled = (self.responses or {}).get("429")
        _retry_after(throttled, "Seconds until sign-in may be tried again / 可再次登录前的秒数")


@dataclasses.dataclass
class WriteOperation(Operation):
    """A write's operation: its 503 answer documents the Retry-After header."""

    def __post_init__(self) -> None:
        busy = (self.responses or {}).get("503")
        _retry_after(busy, "Seconds until the write may be tried again / 可再次提交前的秒数")


@dataclasses.dataclass
class BulletinOperation(WriteOperation):
    """The bulletin's operation: its 201 answer is a .docx, .xlsx or Markdown file, by the
    ``format`` asked for."""

    def __post_init__(self) -> None:
        super().__post_init__()
        issued = (self.responses or {}).get("201")
        if isinstance(issued, OpenAPIResponse):
            issued.content = file_content(*BULLETIN_MEDIA)


#: The bulletin's files, by ``format``: docx, xlsx, md (Markdown, UTF-8).
BULLETIN_MEDIA = (
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/markdown",
)
#: A download's name (RFC 6266, with an RFC 5987 ``filename*`` for a Chinese name).
DOWNLOAD_NAME = ResponseHeader(
    name="Content-Disposition",
    documentation_only=True,  # each download sends its own
    value="attachment",  # documents a text header (not sent)
    required=True,
    description="attachment; an ASCII `filename` and the UTF-8 `filename*` "
    "(`attachment; filename=\"450323101-businesses.csv\"; filename*=UTF-8''…`) / 下载文件名",
)


def file_content(*media_types: str) -> dict[str, OpenAPIMediaType]:
    """A download's body in each of ``media_types``: the file's bytes."""
    body = Schema(type=OpenAPIType.STRING, content_media_type="application/octet-stream")
    return {media_type: OpenAPIMediaType(schema=body) for media_type in media_types}


#: The OpenAPI security schemes (app.SECURITY_SCHEMES): the session cookie and the CSRF
#: header. A GET needs the session (the description's default); a POST the CSRF header as
#: well, and sign-in and sign-out the CSRF header only.
SESSION_SCHEME, CSRF_SCHEME = "session", "csrf"
CSRF_ONLY: list[dict[str, list[str]]] = [{CSRF_SCHEME: []}]
SIGNED_IN_POST: list[dict[str, list[str]]] = [{SESSION_SCHEME: [], CSRF_SCHEME: []}]

get = functools.partial(litestar.get, sync_to_thread=True, responses=ERRORS)
post = functools.partial(
    litestar.post, sync_to_thread=True, responses=ERRORS, security=SIGNED_IN_POST
)


def write(path: str, **options: Any) -> Any:
    """A POST route whose (sync) handler writes: it runs on the app's write lane, not a
    read thread, and answers 503 with Retry-After when another write holds the database
    longer than the app waits (``create_app(writes_wait=…)``)."""

    def route(handler: Any) -> HTTPRouteHandler:
        options.setdefault("responses", WRITE_ERRORS)
        options.setdefault("operation_class", WriteOperation)
        options.setdefault("security", SIGNED_IN_POST)
        return litestar.post(path, **options)(on_write_lane(handler))

    return route
