"""The app factory: ``create_app(app, store)`` returns an ASGI app (Litestar).

Embed it in a provincial system by mounting the returned app, or run it with
``twores serve``. Sessions are kept server-side (the cookie holds only a random id);
every form and every unsafe API call carries the CSRF token (cookie ``csrftoken``, form
field ``_csrf_token`` or header ``X-CSRFToken``).
"""

from __future__ import annotations

import errno
import functools
import gc
import re
import secrets
import typing
from collections.abc import Sequence
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

from litestar import Litestar, Request, Response
from litestar.concurrency import sync_to_thread
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import CacheControlHeader, ResponseHeader, State, UploadFile
from litestar.di import Provide
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, Reference, SecurityScheme, Server
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.stores.base import Store as SessionStore
from litestar.stores.memory import MemoryStore
from litestar.template.config import TemplateConfig

import twores
from twores.services.numbers import percent
from twores.services.sign_in import SignInThrottle, SignInThrottledError
from twores.services.stores import database_unavailable, write_conflict
from twores.services.users import AuthenticationError, User
from twores_web.api import Api
from twores_web.auth import Authenticator, Me, request_user, require_user, session_user
from twores_web.handlers import CSRF_SCHEME, SESSION_SCHEME
from twores_web.i18n import FORM_EXPIRED, lang_of, translator
from twores_web.pages import PAGES, app_path, base_path, go, here, import_page, this_page
from twores_web.sessions import RotatingSessionConfig
from twores_web.state import MAX_BODY_SIZE, WebState
from twores_web.writes import WRITE_SLOTS, WRITES_WAIT, WebStore, WriteLane, WritesBusy, is_busy

TEMPLATES = Path(__file__).parent / "templates"
#: Where the guard leaves the user it found for the ``user`` dependency.
_USER = "twores.user"
#: The OpenAPI security schemes: the session cookie, and the CSRF token every unsafe call
#: sends back from the ``csrftoken`` cookie (``GET /login`` sets it).
SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    SESSION_SCHEME: SecurityScheme(
        type="apiKey",
        name="session",
        security_scheme_in="cookie",
        description="登录后的会话（POST /api/login 设置）/ the session cookie set by "
        "POST /api/login (or a user vouched for by the deployment's SSO gateway)",
    ),
    CSRF_SCHEME: SecurityScheme(
        type="apiKey",
        name="X-CSRFToken",
        security_scheme_in="header",
        description="每个 POST 须在此请求头回传 csrftoken Cookie 的值（先 GET /login 取得）/ "
        "every POST sends the `csrftoken` cookie's value back in this header (a new "
        "client first makes a GET: `GET /login` sets the cookie); without it 403",
    ),
}
#: How long a sign-in lasts unused, by default (seconds): a working day.
SESSION_IDLE_TIMEOUT = 8 * 3600
#: When to try again after the database could not be used (seconds): a server's restart.
UNAVAILABLE_RETRY_AFTER = 5


class DatabaseUnavailable(twores.TworesError):
    """The database cannot be used now (no server, a connection lost, an unreadable
    SQLite file): nothing was done; try again after Retry-After."""

    code = "store_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "数据库暂不可用，请稍后重试", "the database is unavailable; try again shortly"
        )


class ServerDiskFull(twores.TworesError):
    """The server's disk (its temporary folder, say) is full: an upload or a download
    could not be written; nothing was imported."""

    code = "server_disk_full"

    def __init__(self) -> None:
        super().__init__(
            "服务器磁盘空间不足，请联系管理员后重试",
            "the server is out of disk space; ask its administrator, then try again",
        )


#: The errors of a full disk (or quota) where a file was being written.
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def _disk_full(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it: lxml wraps the OSError of a full disk) is a
    full disk."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _DISK_FULL:
            return True
        if "No space left on device" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def create_app(
    app: twores.Twores,
    store: twores.Store,
    *,
    secret: str | None = None,
    authenticators: Sequence[Authenticator] = (),
    session_store: SessionStore | None = None,
    secure_cookies: bool = False,
    freeze_heap: bool = True,
    sign_in_throttle: SignInThrottle | None = None,
    base_path: str = "",
    debug: bool = False,
    writes_wait: float = WRITES_WAIT,
    write_slots: int = WRITE_SLOTS,
    request_max_body_size: int = MAX_BODY_SIZE,
    session_idle_timeout: int = SESSION_IDLE_TIMEOUT,
) -> Litestar:
    """The web app over ``store``.

    ``secret`` signs the CSRF tokens (default: random per process; give one when several
    workers serve the same users). ``authenticators`` are SSO hooks tried before the
    session. ``session_store`` keeps sessions (default: in memory, one process).
    ``freeze_heap``: on startup, load the area tree and the templates, then move
    everything alive out of the cycle collector's full scans (``gc.freeze``); without it a
    full scan of a province-sized heap stalls every request in flight (60–90 ms).
    ``sign_in_throttle``: how many failed sign-ins within how long lock a username or a
    client out (default: 5 per username, 20 per client, in 15 minutes; counted in the
    database, so shared by every worker). ``base_path``: the path the app is mounted under
    in a host app or behind a proxy (``"/twores"``), which its pages link and redirect to
    and its OpenAPI description names as the server of its paths. ``secure_cookies``: the
    session and CSRF cookies go over HTTPS only (set it whenever the app is served over
    HTTPS). ``writes_wait``: the seconds a request that writes waits for another write (a
    ledger import from the CLI, say) before it answers 503 with Retry-After;
    ``write_slots``: how many such requests run at once, on threads of their own (reads
    never wait for them: docs/web.md).
    ``request_max_body_size``: the largest request body in bytes, an uploaded ledger's
    above all (default 128 MB); a larger one answers 413 saying the limit.
    ``session_idle_timeout``: the seconds a sign-in lasts without a request (default 8
    hours): every answer renews it, and after that long unused the session is gone (a
    shared office computer left signed in), so the next page or form asks to sign in
    again and comes back afterwards.
    """
    if base_path and (not base_path.startswith("/") or base_path.endswith("/")):
        raise twores.InvalidValueError(
            "base_path", base_path, "应以 / 开头且不以 / 结尾", "must start but not end with /"
        )
    if isinstance(request_max_body_size, bool) or not (
        isinstance(request_max_body_size, int) and request_max_body_size > 0
    ):
        raise twores.InvalidValueError(
            "request_max_body_size",
            request_max_body_size,
            "应为正整数（字节数）",
            "must be a positive whole number of bytes",
        )
    if isinstance(session_idle_timeout, bool) or not (
        isinstance(session_idle_timeout, int) and session_idle_timeout > 0
    ):
        raise twores.InvalidValueError(
            "session_idle_timeout",
            session_idle_timeout,
            "应为正整数（秒数）",
            "must be a positive whole number of seconds",
        )
    lane = WriteLane(write_slots, writes_wait)
    store = WebStore(store, writes_wait)
    throttle = sign_in_throttle or SignInThrottle()
    state = WebState(
        app, store, tuple(authenticators), throttle, lane, max_body_size=request_max_body_size
    )

    def provide_state() -> WebState:
        return state

    async def provide_user(request: Request[Any, Any, Any]) -> User:
        checked = request.scope.get(_USER)  # the guard's (signed_in)
        if checked is not None:
            return checked  # type: ignore[no-any-return]
        if not state.authenticators:  # a remembered session user: no thread, no query
            user = session_user(request, app, store, lookup=False)
            if user is not None:
                return user
        found = await sync_to_thread(request_user, request, app, store, state.authenticators)
        return require_user(found)

    async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], handler: Any) -> None:
        """A call of the API that needs a user answers 401 without one before its body is
        read (a malformed body from nobody is not worth parsing); the user found is the
        ``user`` dependency's, not looked up again."""
        if "user" not in handler.parsed_fn_signature.parameters:
            return
        if not app_path(connection).startswith("/api/"):  # type: ignore[arg-type]
            return
        connection.scope[_USER] = await provide_user(connection)  # type: ignore[arg-type,literal-required]

    def warm(server: Litestar) -> None:
        with store.unit_of_work(twores.Scope.system("web startup")) as uow:
            uow.areas.hierarchy()
        if server.template_engine is not None:
            for template in TEMPLATES.glob("*.html"):
                server.template_engine.get_template(template.name)
        if freeze_heap:
            gc.collect()
            gc.freeze()

    return Litestar(
        route_handlers=[Api, *PAGES],
        on_startup=[warm],
        dependencies={
            "web": Provide(provide_state, sync_to_thread=False),
            "user": Provide(provide_user),
        },
        middleware=[
            RotatingSessionConfig(
                secure=secure_cookies,
                httponly=True,
                samesite="lax",
                path=base_path or "/",
                # renewed by every answer: the session ends after this long unused
                max_age=session_idle_timeout,
            ).middleware
        ],
        stores={"sessions": session_store or MemoryStore()},
        csrf_config=CSRFConfig(
            secret=secret or secrets.token_hex(32),
            cookie_secure=secure_cookies,
            cookie_path=base_path or "/",
        ),
        template_config=TemplateConfig(
            directory=TEMPLATES,
            engine=JinjaTemplateEngine,
            engine_callback=functools.partial(_configure, app),
        ),
        openapi_config=OpenAPIConfig(
            title="twores",
            version=twores.__version__,
            description="食品安全“两个责任”包保工作 API (food-safety two responsibilities)",
            path="/schema",
            # the paths are the app's own: its server is the path it is mounted under
            servers=[Server(url=base_path or "/")],
            render_plugins=[_MountedDescription()],
            components=Components(security_schemes=SECURITY_SCHEMES),
            # every call but sign-in names a signed-in session (or the SSO gateway's user)
            security=[{SESSION_SCHEME: []}],
        ),
        guards=[signed_in],
        exception_handlers={Exception: functools.partial(handle_error, state)},
        # Pages and answers hold personal data: no browser or proxy keeps them (Back after
        # 退出 on a shared office computer shows nothing).
        cache_control=CacheControlHeader(no_store=True),
        response_headers=[ResponseHeader(name=k, value=v) for k, v in SECURITY_HEADERS.items()],
        state=State({"base_path": base_path}),
        signature_types=[User, WebState],
        request_max_body_size=request_max_body_size,
        debug=debug,
    )


class _MountedDescription(JsonRenderPlugin):
    """The OpenAPI description (``/schema/openapi.json``) whose server is the path the app
    is mounted under, ``base_path`` or else the ASGI ``root_path`` (as the pages' links):
    a client generated from it calls ``/twores/api/me`` on the host, not ``/api/me``."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        mounted = base_path(request)
        if mounted:
            openapi_schema = {**openapi_schema, "servers": [{"url": mounted}]}
        return self.render_json(request, openapi_schema)


def _configure(app: twores.Twores, engine: JinjaTemplateEngine) -> None:
    """The templates ship with the package: compile each once, never stat it again. They
    name an area's tier as the region does (``tier_label(area, lang)``: 旗 for a banner)."""
    engine.engine.auto_reload = False

    @functools.lru_cache(maxsize=4096)
    def label_on(area: twores.Area, lang: str, day: date) -> str:
        return app.plugins.area_label(area, day).value.label(lang)

    def tier_label(area: twores.Area, lang: str) -> str:
        return label_on(area, lang, twores.today())

    engine.engine.globals["tier_label"] = tier_label
    engine.engine.globals["percent"] = percent
    engine.engine.globals["last_day"] = twores.last_day  # a span's last day, as offices write it


def _as_refusal(error: Exception) -> Exception:
    """A NUL character in a request's text, which PostgreSQL cannot store or compare, as
    the bad input it is (a 400), not a server error."""
    if "cannot contain NUL" in str(getattr(error, "orig", "")):
        return twores.InvalidValueError(
            "value", "\\x00", "含有空字符（NUL），请删除后重试", "holds a NUL character: remove it"
        )
    return error


def _status(error: Exception) -> int:
    if is_busy(error) or isinstance(error, DatabaseUnavailable):
        return 503
    if isinstance(error, ServerDiskFull):
        return 507
    if isinstance(error, AuthenticationError):
        return 401
    if isinstance(error, SignInThrottledError):
        return 429
    if isinstance(error, twores.ScopeError):
        return 403
    if isinstance(error, twores.NotFoundError):
        return 404
    if isinstance(error, twores.PluginError):  # the server's rules broke, not the request
        return 500
    if isinstance(error, twores.TworesError):
        return 400
    if isinstance(error, HTTPException):
        return error.status_code
    return 500


#: No other site frames the one-click ledger forms; nothing is sniffed into script.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
#: What an error answer carries (the app's own settings skip the exception handler's).
_ERROR_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}

#: Chinese for the framework's own refusals, by status.
_HTTP_ZH = {
    400: "请求内容无法解析",
    404: "页面不存在",
    405: "不支持该请求方法",
    415: "不支持该内容类型",
    429: "请求过于频繁，请稍后再试",
}


#: The framework's (msgspec's) refusals of a request's fields, in Chinese and English.
_MISSING = re.compile(r"missing required field `([^`]+)`")
_ENUM = re.compile(r"Invalid enum value")
#: What a type msgspec expected is called.
_TYPES = {
    "int": ("整数", "a whole number"),
    "float": ("数字", "a number"),
    "bool": ("是/否（true/false）", "true or false"),
    "str": ("文本", "text"),
    "date": ("日期（YYYY-MM-DD）", "a date (YYYY-MM-DD)"),
    "datetime": ("时间（ISO 8601）", "a time (ISO 8601)"),
    "array": ("列表（JSON 数组）", "a list (JSON array)"),
    "object": ("对象（JSON 对象）", "an object (JSON object)"),
    "null": ("空值（null）", "null"),
}
_REFUSALS = (
    (
        re.compile(r"Expected `int` <= (\d+)"),
        "应为不大于 {0} 的整数",
        "must be a whole number <= {0}",
    ),
    (
        re.compile(r"Expected `int` >= (-?\d+)"),
        "应为不小于 {0} 的整数",
        "must be a whole number >= {0}",
    ),
    (
        re.compile(r"Invalid RFC3339 encoded date$"),
        "应为日期（YYYY-MM-DD）",
        "must be a date (YYYY-MM-DD)",
    ),
)
_EXPECTED = re.compile(r"Expected `([\w |]+)`(?: of length (\d+))?")
#: A value of a type the field does not take (a multipart text part for a file, two files).
_UNSUPPORTED = re.compile(r"Unsupported type: <class '(\w+)'>")
#: The enum value msgspec refused (a body's field: the query's value is read from the query).
_ENUM_VALUE = re.compile(r"Invalid enum value (.+)$")
#: A parameter whose pattern lists its values (``^(docx|xlsx|md)$``).
_ONE_OF = re.compile(r"Expected `str` matching regex '\^\(([\w|-]+)\)\$'")
#: The framework's refusal of a missing query parameter (no ``extra``).
_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '([^']+)'")


def _refusal(item: dict[str, Any], request: Request[Any, Any, Any] | None) -> dict[str, Any]:
    """One refused field: its name (a body's field, not the body "data"), the value the
    request gave, why in zh and en."""
    key, message = str(item.get("key") or ""), str(item.get("message") or "")
    missing = _MISSING.search(message)
    if missing:
        return {"field": missing.group(1), "value": None, "zh": "缺少必填项", "en": "is required"}
    if key == "data" and message == "'data'":  # no body at all (JSON null or nothing)
        return {"field": key, "value": None, "zh": "缺少必填项", "en": "is required"}
    zh, en = "格式不正确", message or "is invalid"
    value = request.query_params.get(key) if request is not None and key else None
    one_of = _ONE_OF.search(message)
    for pattern, zh_text, en_text in () if one_of else _REFUSALS:
        found = pattern.search(message)
        if found:
            zh, en = zh_text.format(*found.groups()), en_text.format(*found.groups())
            break
    else:
        if one_of:
            values = one_of.group(1).split("|")
            zh = f"不是可选值（可选：{'、'.join(values)}）"
            en = f"is not an allowed value (one of: {', '.join(values)})"
        elif expected := _EXPECTED.search(message):
            zh, en = _expected(expected.group(1), expected.group(2))
        elif unsupported := _UNSUPPORTED.search(message):
            zh, en = _unsupported(request, key, unsupported.group(1))
        elif _ENUM.search(message):
            choices = _choices(request, key)
            zh = "不是可选值" + (f"（可选：{'、'.join(c.zh for c in choices)}）" if choices else "")
            en = "is not an allowed value" + (
                f" (one of: {', '.join(c.en for c in choices)})" if choices else ""
            )
            if value is None and (given := _ENUM_VALUE.search(message)):
                value = _unquoted(given.group(1))
    return {"field": key, "value": value, "zh": zh, "en": en}


def _expected(names: str, length: str | None) -> tuple[str, str]:
    """What msgspec expected (``str | null``, ``array`` of length 2), in zh and en."""
    kinds = [_TYPES.get(name.strip(), (name.strip(), name.strip())) for name in names.split("|")]
    if length is not None and names.strip() == "array":
        return f"应为含 {length} 项的列表", f"must be a list of {length} items"
    return (
        "应为" + "或".join(zh for zh, _ in kinds),
        "must be " + " or ".join(en for _, en in kinds),
    )


def _unsupported(request: Request[Any, Any, Any] | None, key: str, given: str) -> tuple[str, str]:
    """A value of a type the field cannot take: for a file, a form part without a file
    name (no file chosen) or several files."""
    if _body_field(request, key) is UploadFile:
        if given == "list":
            return "只能上传一个文件", "must be one file, not several"
        return "请选择文件（上传的部分没有文件名）", "choose a file (the part has no file name)"
    return "类型不正确", "has the wrong type"


def _unquoted(text: str) -> str:
    """A value msgspec quoted in its message (``'zzz'``), as it was given."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


class _Choice(NamedTuple):
    zh: str
    en: str


def _choices(request: Request[Any, Any, Any] | None, key: str) -> list[_Choice]:
    """The values an enumerated query parameter or body field takes: ``code（标签）``."""
    parameter = None if request is None else _parameter(request, key)
    if parameter is None:
        parameter = _body_field(request, key)
    kinds = typing.get_args(parameter) or (parameter,)
    enum = next((k for k in kinds if isinstance(k, type) and issubclass(k, Enum)), None)
    if enum is None:
        return []
    labelled = [(str(m.value), getattr(m, "zh", None)) for m in enum]  # twores's have zh
    return [_Choice(f"{v}（{zh}）" if zh else v, v) for v, zh in labelled]


def _parameter(request: Request[Any, Any, Any], key: str) -> Any:
    handler = request.scope.get("route_handler")  # none for a path no route matched
    field = None if handler is None else handler.parsed_fn_signature.parameters.get(key)
    return None if field is None else field.annotation


def _body_field(request: Request[Any, Any, Any] | None, key: str) -> Any:
    """The type of the field ``key`` of the request body's (``data``) class, if any."""
    body = None if request is None else _parameter(request, "data")
    args = typing.get_args(body)
    kind = args[0] if typing.get_origin(body) is typing.Annotated and args else body
    if not isinstance(kind, type):
        return None
    try:
        return typing.get_type_hints(kind).get(key)
    except (NameError, TypeError):  # pragma: no cover - a class whose hints do not resolve
        return None


def _label_of(request: Request[Any, Any, Any] | None, field: str) -> str | None:
    """The field a route names differently (a problem's ``status`` is 问题状态)."""
    handler = None if request is None else request.scope.get("route_handler")
    labels = {} if handler is None else handler.opt.get("field_labels", {})
    return labels.get(field)  # type: ignore[no-any-return]


def _invalid_request(
    error: ValidationException, request: Request[Any, Any, Any] | None
) -> dict[str, Any]:
    """Each refused field named, with its value where the request gave one, in zh and en."""
    refused = [_refusal(item, request) for item in error.extra or () if isinstance(item, dict)]
    if not refused and (missing := _MISSING_PARAMETER.search(str(error.detail))):
        refused = [
            {"field": missing.group(1), "value": None, "zh": "缺少必填项", "en": "is required"}
        ]
    if not refused:
        detail = error.detail
        return {"code": "invalid_request", "zh": "请求参数无效", "en": f"invalid request: {detail}"}

    def said(one: dict[str, Any], lang: str) -> str:
        field = one["field"]
        if field == "data":  # the handler's name for the whole body, not a field of it
            name = "请求体（JSON）" if lang == "zh" else "the request body (JSON)"
        else:
            name = twores.labelled_field(field, lang, label_of=_label_of(request, field))  # type: ignore[arg-type]
        value = one["value"]
        if lang == "zh":
            return f"{name}{'' if value is None else f'“{value}”'}{one['zh']}"
        return f"{name}{'' if value is None else f' {value!r}'} {one['en']}"

    return {
        "code": "invalid_request",
        "zh": "请求参数无效：" + "；".join(said(one, "zh") for one in refused),
        "en": "invalid request: " + "; ".join(said(one, "en") for one in refused),
        "field": refused[0]["field"],
        "value": refused[0]["value"],
        "extra": error.extra,
    }


def _body(
    error: Exception, status: int, request: Request[Any, Any, Any] | None = None
) -> dict[str, Any]:
    if isinstance(error, twores.TworesError):
        return error.to_dict()
    if isinstance(error, NotAuthorizedException):
        return {"code": "not_signed_in", "zh": "请先登录", "en": "sign in first"}
    if is_csrf_refusal(error):
        return {
            "code": "forbidden",
            "zh": FORM_EXPIRED[0],
            "en": FORM_EXPIRED[1],
            "detail": str(getattr(error, "detail", "")),
        }
    if isinstance(error, PermissionDeniedException):
        return {
            "code": "forbidden",
            "zh": "无权操作（或表单已过期，请刷新页面）",
            "en": "not allowed (or the form has expired: reload the page)",
            "detail": str(error.detail),
        }
    if isinstance(error, NotFoundException):
        return {"code": "not_found", "zh": "页面不存在", "en": "not found"}
    if isinstance(error, ValidationException):
        return _invalid_request(error, request)
    if isinstance(error, HTTPException):
        zh = _HTTP_ZH.get(status, f"请求无法处理（HTTP {status}）")
        return {"code": "http_error", "zh": zh, "en": str(error.detail)}
    return {"code": "internal_error", "zh": "服务器内部错误", "en": "internal server error"}


def is_csrf_refusal(error: Exception) -> bool:
    """The framework's refusal of a form or call without a valid CSRF token."""
    return isinstance(error, PermissionDeniedException) and "CSRF" in str(error.detail)


def is_upload(request: Request[Any, Any, Any]) -> bool:
    """Whether the request sends a file (a multipart form), not JSON or a plain form."""
    return request.headers.get("content-type", "").lower().startswith("multipart/")


def came_from(request: Request[Any, Any, Any]) -> str:
    """The page of this app a form was posted from (its ``Referer``, same site only), to
    come back to after signing in again; home when it is not known."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return "/"
    path, root = referer.path, base_path(request)
    if root:
        if not (path == root or path.startswith(root + "/")):
            return "/"
        path = path[len(root) :] or "/"
    if not path.startswith("/") or path.startswith("//") or path == "/login":
        return "/"
    return path + (f"?{referer.query}" if referer.query else "")


def handle_error(
    state: WebState, request: Request[Any, Any, Any], error: Exception
) -> Response[Any]:
    """JSON with a code and zh/en messages under /api; elsewhere an error page with the
    signed-in user's navigation, or sign-in (coming back here afterwards)."""
    error = _as_refusal(error)
    reason = ""
    if _disk_full(error):
        request.logger.error("服务器磁盘已满 / the server's disk is full: %s", error)
        error = ServerDiskFull()
    if (is_busy(error) or write_conflict(error)) and not isinstance(error, twores.TworesError):
        # SQLite's "database is locked", a lock timeout, a serialization failure or a
        # deadlock: nothing changed, never a 500
        error = WritesBusy()
    elif database_unavailable(error):  # one log line below, not a traceback
        orig = getattr(error, "orig", None) or error
        reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        error = DatabaseUnavailable()
    status = _status(error)
    body = (
        state.too_large(upload=is_upload(request))
        if status == 413
        else _body(error, status, request)
    )
    if status == 500:
        request.logger.exception("unhandled error", exc_info=error)
    # a throttled sign-in, a write refused as busy, the database unavailable: when to retry
    headers = dict(_ERROR_HEADERS)
    if isinstance(error, SignInThrottledError):
        headers["Retry-After"] = str(error.retry_after)
    if status == 503:
        unavailable = isinstance(error, DatabaseUnavailable)
        wait = UNAVAILABLE_RETRY_AFTER if unavailable else state.writes.retry_after
        body["retry_after"] = wait
        headers["Retry-After"] = str(wait)
        where = app_path(request)
        if unavailable:
            request.logger.warning(
                "数据库暂不可用 / the database is unavailable: %s %s: %s",
                request.method,
                where,
                reason,
            )
        else:
            request.logger.warning("写入繁忙 / write refused as busy: %s %s", request.method, where)
    if app_path(request).startswith(("/api", "/schema")):
        return Response(body, status_code=status, headers=headers)
    if status == 401:  # after signing in: this page, or the page a form was posted from
        back = this_page(request) if request.method == "GET" else came_from(request)
        return go(request, f"/login?next={quote(back)}")
    lang = lang_of(request)
    if is_csrf_refusal(error) and app_path(request) == "/login":  # not signed in: sign in
        return go(request, "/login?expired=1")
    if status == 413 and app_path(request) == "/imports":  # the form again, saying why
        user = session_user(request, state.app, state.store)  # the database is fine
        if user is not None:
            form = import_page(request, user, state, 413, error=body[lang])
            form.headers.update(headers)
            return form
    # a refusal (4xx) names the user, looked up if need be, to keep the navigation; after a
    # server error the remembered user only: the page asks no database (the error may be its)
    user = session_user(request, state.app, state.store, lookup=status < 500)
    return Template(
        "error.html",
        context={
            "lang": lang,
            "t": translator(lang),
            "path": here(request),
            "root": base_path(request),
            "message": body[lang],
            "status": status,
            "user": Me.of(user) if user else None,
        },
        status_code=status,
        headers=headers,
    )
