"""Server-rendered pages (zh-CN by default, English with ``?lang=en``), thin over the
services like the API. Forms post with the CSRF token; nothing needs JavaScript."""

from __future__ import annotations

import base64
import functools
import tempfile
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import litestar
from litestar import MediaType, Request, Response
from litestar.concurrency import sync_to_thread
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from markupsafe import Markup

import twores
from twores.services import imports, lookups, problems, sign_in, supervision, users, web_views
from twores.services.kpis import Dashboard, kpi_dashboard
from twores.services.sheets.parsing import RowError
from twores.services.sheets.report import write_report
from twores.services.users import User
from twores_web.api import EXPORT_NAMES, bulletin_download, export_download, period_of, run_import
from twores_web.auth import Me, client_address, session_data
from twores_web.charts import bar_chart
from twores_web.handlers import get, post, write
from twores_web.i18n import COOKIE, FORM_EXPIRED, LANGS, lang_of, translator
from twores_web.sessions import start_session
from twores_web.state import CurrentUser, Web, WebState
from twores_web.writes import is_busy

Form = URLEncodedBody[dict[str, Any]]
Upload = MultipartBody[dict[str, Any]]
NO_SCHEMA = {"include_in_schema": False}


def page(
    request: Request[Any, Any, Any],
    name: str,
    user: CurrentUser | None,
    status: int = 200,
    **context: Any,
) -> Template:
    lang = lang_of(request)
    return Template(
        name,
        context={
            "lang": lang,
            "t": translator(lang),
            "user": Me.of(user) if user else None,
            "path": here(request),
            "root": base_path(request),
            "flash": _taken_flash(request),
            "now": twores.today(),
            **context,
        },
        status_code=status,
    )


def _taken_flash(request: Request[Any, Any, Any]) -> dict[str, Any] | None:
    """The message :func:`flash` left for this page (shown once)."""
    session = request.scope.get("session")
    if not isinstance(session, dict) or "flash" not in session:
        return None
    found: dict[str, Any] = request.session.pop("flash")
    return found


def here(request: Request[Any, Any, Any]) -> str:
    """Where a language switch leads back to: this page with its query; after a form was
    posted, home (the form's address answers POST only)."""
    if request.method != "GET":
        return "/"
    return this_page(request)


def this_page(request: Request[Any, Any, Any]) -> str:
    """This request's path within the app (whatever it is mounted under), with its query."""
    query = request.url.query
    return app_path(request) + (f"?{query}" if query else "")


def base_path(request: Request[Any, Any, Any]) -> str:
    """The path the app is mounted under: ``create_app(base_path=…)``, else the ASGI
    ``root_path`` a router or ``uvicorn --root-path`` sets ("" at the root)."""
    given = str(request.app.state.get("base_path") or "")
    return given or str(request.scope.get("root_path") or "").rstrip("/")


def app_path(request: Request[Any, Any, Any]) -> str:
    """The request's path without the prefix the app is mounted under (read off the ASGI
    scope: for an unrouted request the framework's URL holds the root path twice)."""
    path = str(request.scope.get("path") or request.url.path)
    root = str(request.scope.get("root_path") or "").rstrip("/")
    for prefix in dict.fromkeys((root, base_path(request))):
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix) :] or "/"
    return path


def go(request: Request[Any, Any, Any], path: str) -> Redirect:
    """A redirect to ``path`` of this app, wherever it is mounted."""
    return Redirect(base_path(request) + path)


def _local(target: str | None) -> str:
    """Only same-site paths are followed after sign-in or a language switch."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"  # home: a cadre's desk, else the dashboard
    return target


@litestar.get("/login", sync_to_thread=False, **NO_SCHEMA)  # no I/O here
def login_form(
    request: Request[Any, Any, Any],
    next: FromQuery[str | None] = None,
    expired: FromQuery[str | None] = None,
) -> Template:
    """The sign-in form; ``expired``: a sign-in form posted without a valid token (open too
    long) came back here, saying so."""
    said = None
    if expired:
        said = FORM_EXPIRED[0] if lang_of(request) == "zh" else FORM_EXPIRED[1]
    return page(request, "login.html", None, next=_local(next), error=said)


@post("/login", media_type=MediaType.HTML, **NO_SCHEMA)
def login(request: Request[Any, Any, Any], web: Web, data: Form) -> Template | Redirect:
    try:
        user = sign_in.sign_in(
            web.app,
            web.store,
            str(data.get("username", "")),
            str(data.get("password", "")),
            client=client_address(request),
            throttle=web.throttle,
        )
    except (users.AuthenticationError, sign_in.SignInThrottledError) as error:
        wait = error.retry_after if isinstance(error, sign_in.SignInThrottledError) else None
        form = page(
            request,
            "login.html",
            None,
            401 if wait is None else 429,
            error=error.message(lang_of(request)),
            next=data.get("next"),
        )
        if wait is not None:  # throttled: the password was not checked
            form.headers["Retry-After"] = str(wait)
        return form
    start_session(request, session_data(user))
    return go(request, _local(data.get("next")))


@post("/logout", **NO_SCHEMA)
def logout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return go(request, "/login")


@get("/lang/{code:str}", **NO_SCHEMA)
def switch_lang(
    request: Request[Any, Any, Any], code: FromPath[str], next: FromQuery[str | None] = None
) -> Response[Any]:
    response: Response[Any] = go(request, _local(next))
    if code in LANGS:
        path = base_path(request) or "/"
        response.set_cookie(COOKIE, code, max_age=365 * 86400, samesite="lax", path=path)
    return response


@get("/", **NO_SCHEMA)
def home(request: Request[Any, Any, Any], user: CurrentUser) -> Redirect:
    return go(request, "/cadre" if user.cadre_id else "/dashboard")


@get("/dashboard", **NO_SCHEMA)
def dashboard(
    request: Request[Any, Any, Any],
    user: CurrentUser,
    web: Web,
    area: FromQuery[str | None] = None,
    period: FromQuery[str | None] = None,
) -> Template:
    chosen = period_of(period)
    board = kpi_dashboard(web.app, web.store, user.scope, chosen, area)
    shown = web_views.dashboard_view(web.app, web.store, user.scope, board)
    lang = lang_of(request)
    body = _dashboard_body(request, lang, chosen, board, shown)
    return page(request, "dashboard.html", user, body=body)


#: Dashboard contents rendered lately, by everything they show (see ``_body_key``): the
#: same counts and ranking in the same language give the same HTML, whoever asks (each
#: asks with the counts of their own scope; the user and the session are outside it).
_BODIES: dict[tuple[object, ...], Markup] = {}
_BODIES_MAX = 256
_bodies_lock = threading.Lock()


def _dashboard_body(
    request: Request[Any, Any, Any],
    lang: str,
    period: twores.Period,
    board: Dashboard,
    shown: web_views.DashboardView,
) -> Markup:
    root = base_path(request)
    key = (root, *_body_key(lang, period, board, shown))
    with _bodies_lock:
        found = _BODIES.get(key)
    if found is not None:
        return found
    view = shown.view
    names = {a.code: a.name for a in (*view.path, *view.children)}
    kids = [a for a in board.areas if a != board.area]
    labels = tuple(names.get(k, k) for k in kids)
    charts = [
        bar_chart(
            _kpi_title(spec, lang),
            labels,
            tuple(board.values[spec.name][k].rate for k in kids),
            chart_id=f"chart-{spec.name}",
        )
        for spec in board.specs
    ]
    engine = request.app.template_engine
    assert engine is not None  # create_app configures the templates
    template = engine.get_template("dashboard_body.html")
    body = Markup(
        template.render(
            lang=lang,
            t=translator(lang),
            root=root,
            board=board,
            view=view,
            names=names,
            charts=charts if kids else [],
            ranking=shown.ranking,
            compared=shown.previous is not None,
            period=period,
        )
    )
    with _bodies_lock:
        if len(_BODIES) >= _BODIES_MAX:
            _BODIES.pop(next(iter(_BODIES)))
        _BODIES[key] = body
    return body


def _kpi_title(spec: Any, lang: str) -> str:
    """A KPI's name as a chart heads it, with its direction when lower is better (the rates
    read higher-is-better otherwise)."""
    name = str(spec.zh if lang == "zh" else spec.en)
    if spec.direction.value != "lower":
        return name
    return name + ("（越低越好）" if lang == "zh" else " (lower is better)")


def _body_key(
    lang: str, period: twores.Period, board: Dashboard, shown: web_views.DashboardView
) -> tuple[object, ...]:
    counts = tuple(
        (v.numerator, v.denominator)
        for spec in board.specs
        for v in map(board.values[spec.name].__getitem__, board.areas)
    )
    compared = shown.previous is not None
    return (
        lang,
        period,
        board.area,
        board.areas,
        board.specs,
        counts,
        shown.view,
        shown.ranking,
        compared,
    )


AREA_PAGE = 100


@get("/areas/{code:str}", **NO_SCHEMA)
def area(
    request: Request[Any, Any, Any],
    code: FromPath[str],
    user: CurrentUser,
    web: Web,
    offset: FromQuery[int] = 0,
    cadre_offset: FromQuery[int] = 0,
    q: FromQuery[str | None] = None,
    after: FromQuery[str | None] = None,
) -> Template:
    view = web_views.area_view(web.store, user.scope, code)
    offset, cadre_offset = max(offset, 0), max(cadre_offset, 0)
    web_views.check_offset(cadre_offset, "cadre_offset")
    if q and q.strip():
        after = None  # a search pages by offset
        found = web_views.search_businesses(
            web.store, user.scope, q, code, offset=offset, limit=AREA_PAGE
        )
    else:
        # "next page" links name the last key shown (``after``): a seek on the key index
        # however deep the page; ``offset`` then only numbers it (old links: it skips)
        after = after or None
        found = web_views.businesses(
            web.store, user.scope, code, offset=offset, limit=AREA_PAGE, after=after
        )
    held_by = web_views.cadres(web.store, user.scope, code, offset=cadre_offset, limit=AREA_PAGE)
    codes = (b.area_code for b in found.businesses)
    return page(
        request,
        "area.html",
        user,
        view=view,
        page_=found,
        offset=offset,
        after=after,
        page_size=AREA_PAGE,
        cadres=held_by,
        cadre_offset=cadre_offset,
        q=(q or "").strip(),
        names=web_views.area_names(
            web.store, user.scope, [*codes, *(c.area_code for c in held_by.cadres)]
        ),
        areas=web_views.areas_of(web.store, user.scope, (c.area_code for c in held_by.cadres)),
    )


@get("/businesses/{key:str}", **NO_SCHEMA)
def business(
    request: Request[Any, Any, Any], key: FromPath[str], user: CurrentUser, web: Web
) -> Template:
    detail = web_views.business_detail(web.store, user.scope, key)
    return page(request, "business.html", user, d=detail)


@get("/cadre", **NO_SCHEMA)
def cadre(
    request: Request[Any, Any, Any],
    user: CurrentUser,
    web: Web,
    cadre: FromQuery[str | None] = None,
    done: FromQuery[str | None] = None,
    period: FromQuery[str | None] = None,
) -> Template:
    desk = web_views.cadre_desk(web.app, web.store, user, cadre, period_of(period))
    return _desk_page(request, user, desk, done=done)


def _desk_page(
    request: Request[Any, Any, Any],
    user: CurrentUser,
    desk: web_views.CadreDesk,
    status: int = 200,
    **context: Any,
) -> Template:
    """The desk; after a refused visit, with the reason and the form as it was filled in."""
    return page(
        request,
        "cadre.html",
        user,
        status,
        desk=desk,
        today=twores.today().isoformat(),
        modes=list(twores.VisitMode),
        severities=list(twores.Severity),
        **{"done": None, "error": None, "form": {}, **context},
    )


@write("/cadre/visits", media_type=MediaType.HTML, **NO_SCHEMA)
def record_visit(
    request: Request[Any, Any, Any], user: CurrentUser, web: Web, data: Form
) -> Template | Redirect:
    findings = tuple(x.strip() for x in str(data.get("findings", "")).splitlines() if x.strip())
    cadre_id = str(data.get("cadre_id") or user.cadre_id or "")
    period = str(data.get("period") or "") or None
    try:
        visit = supervision.VisitInput(
            business_key=str(data.get("business_key", "")),
            cadre_id=cadre_id,
            visited_on=_date(str(data.get("visited_on", ""))),
            mode=str(data.get("mode") or "现场"),
            findings=findings,
            late_reason=str(data.get("late_reason") or "") or None,
            severity=str(data.get("severity") or "一般"),
        )
        visit = web_views.visit_as(user, visit)
        supervision.record_visit(web.app, web.store, user.scope, visit)
    except (twores.ScopeError, twores.NotFoundError):
        raise
    except twores.TworesError as error:  # refused: the desk again, nothing typed lost
        if is_busy(error):  # another write: 503, try again
            raise
        desk = web_views.cadre_desk(web.app, web.store, user, cadre_id or None, period_of(period))
        message = error.message(lang_of(request))
        return _desk_page(request, user, desk, 400, error=message, form=dict(data))
    target = "/cadre?done=" + quote(visit.business_key)
    if user.cadre_id != visit.cadre_id:
        target += "&cadre=" + quote(visit.cadre_id)
    if period:
        target += "&period=" + quote(period)
    return go(request, target)


def _date(text: str, field: str = "visited_on") -> date:
    """``text`` as a date; refused naming ``field``, the form field it came from."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise twores.InvalidValueError(
            field, text, "应为 YYYY-MM-DD 格式的日期", "must be a date YYYY-MM-DD"
        ) from None


@get("/problems", **NO_SCHEMA)
def problem_ledger(
    request: Request[Any, Any, Any],
    user: CurrentUser,
    web: Web,
    status: FromQuery[str | None] = None,
    severity: FromQuery[str | None] = None,
    area: FromQuery[str | None] = None,
    overdue: FromQuery[bool] = False,
    offset: FromQuery[int] = 0,
) -> Template:
    day, offset = twores.today(), max(offset, 0)
    choices = web_views.area_choices(web.store, user.scope)
    within = web_views.area_code_of(web.store, user.scope, area) if area else None
    found = web_views.problem_page(
        web.store,
        user.scope,
        status=twores.ProblemStatus.parse(status, field="problem_status") if status else None,
        severity=twores.Severity.parse(severity, field="severity") if severity else None,
        within=within,
        overdue_on=day if overdue else None,
        offset=offset,
        limit=web_views.PAGE,
    )
    shown = found.problems
    if within and within not in {a.code for a in choices}:  # a deeper area, from a link
        choices = (*choices, *web_views.areas_of(web.store, user.scope, [within]).values())
    held = None  # a cadre moves only the problems of the businesses they hold
    if user.role is twores.Role.CADRE and user.cadre_id:
        held = web_views.held_today(web.store, user.scope, user.cadre_id)
    chosen = {"status": status or "", "severity": severity or "", "area": within or ""}
    if overdue:
        chosen["overdue"] = "1"
    return page(
        request,
        "problems.html",
        user,
        problems=[(p, web_views.next_actions(p, user.role, user.acts_as, held)) for p in shown],
        names=web_views.business_names(web.store, user.scope, (p.business_key for p in shown)),
        statuses=list(twores.ProblemStatus),
        severities=list(twores.Severity),
        chosen=chosen,
        query=urlencode({k: v for k, v in chosen.items() if v}),
        offset=offset,
        page_size=web_views.PAGE,
        more=found.more,
        total=found.total,
        total_exact=found.exact,
        area_choices=choices,
        overdue_ids={p.id for p in shown if p.overdue_on(day)},
        here=this_page(request),
    )


@write("/problems/transition", **NO_SCHEMA)
def transition(
    request: Request[Any, Any, Any], user: CurrentUser, web: Web, data: Form
) -> Redirect:
    evidence = tuple(x.strip() for x in str(data.get("evidence", "")).split() if x.strip())
    deadline = str(data.get("deadline") or "")
    problem_id = str(data.get("problem_id", ""))
    lang = lang_of(request)
    try:
        action = twores.Action.parse(str(data.get("action", "")), field="action")
        problems.transition_problem(
            web.app,
            web.store,
            user.scope,
            problem_id,
            action,
            actor=user.acts_as,
            note=str(data.get("note", "")),
            evidence=evidence,
            deadline=_date(deadline, "deadline") if deadline else None,
        )
    except twores.NotFoundError:
        raise
    except twores.TworesError as error:  # refused: the same list, filters kept, saying why
        # (a step the role may not take, too: the ledger again, not an error page)
        if is_busy(error):  # another write: 503, try again
            raise
        said = error.message(lang)  # most name the problem already
        flash(request, False, said if problem_id in said else f"{problem_id}：{said}")
    else:
        flash(request, True, f"{problem_id}：{action.label(lang)}")
    back = _local(str(data.get("back") or ""))
    return go(request, back if back.startswith("/problems") else "/problems")  # filters kept


def flash(request: Request[Any, Any, Any], ok: bool, text: str) -> None:
    """A message for the next page this session opens (after a redirect)."""
    if request.scope.get("session") is not None:
        request.session["flash"] = {"ok": ok, "text": text}


@litestar.get("/imports", sync_to_thread=False, **NO_SCHEMA)  # no I/O here
def import_form(request: Request[Any, Any, Any], user: CurrentUser, web: Web) -> Template:
    lookups.check_office(user.scope, lookups.IMPORTING)
    return import_page(request, user, web)


def import_page(
    request: Request[Any, Any, Any],
    user: User,
    web: WebState,
    status: int = 200,
    **context: Any,
) -> Template:
    """The import form offering the kinds ``user`` may import, with the size limit, and a
    report or an error (``report``, ``error``)."""
    kinds = [(k, *imports.IMPORT_KINDS[k]) for k in imports.import_kinds(user.scope)]
    shown = {
        "report": None,
        "error": None,
        "chosen_kind": None,
        "error_report": None,
        "error_report_name": None,
        **context,
    }
    return page(request, "imports.html", user, status, kinds=kinds, limit=web.upload_limit, **shown)


@litestar.post("/imports", **NO_SCHEMA)
async def import_upload(
    request: Request[Any, Any, Any], user: CurrentUser, web: Web, data: Upload
) -> Template:
    upload = data.get("file")
    if upload is None or not hasattr(upload, "read"):
        raise twores.InvalidValueError("file", "", "请选择文件", "choose a file")
    kind = str(data.get("kind", ""))
    try:
        report = await web.writes.run(
            functools.partial(run_import, web, user, kind, upload.filename, upload.file)
        )
    except twores.InvalidValueError as error:  # a file that cannot be read: the form again
        if is_busy(error):
            raise
        said = error.message(lang_of(request))
        return import_page(request, user, web, 400, error=said, chosen_kind=kind)
    if report.accepted:
        return import_page(request, user, web, 200, report=report)
    name, link = await sync_to_thread(error_report_link, report.errors, report.file_name)
    return import_page(
        request, user, web, 422, report=report, error_report=link, error_report_name=name
    )


def error_report_link(errors: Sequence[RowError], file_name: str) -> tuple[str, str]:
    """A refused file's error report as the CLI writes it (CSV, UTF-8 with BOM, one row an
    error: :data:`~twores.services.sheets.report.HEADERS`), named after the file
    (``台账.errors.csv``), as a ``data:`` link the page downloads: the app keeps nothing of
    an upload, and any worker may answer the next request. The service lists at most
    10,001 errors, so the link stays within a few MB."""
    source = Path(file_name).name or "upload.csv"
    with tempfile.TemporaryDirectory() as folder:
        written = write_report(errors, Path(folder, source).with_suffix(".csv"), Path(folder))
        content, name = written.read_bytes(), written.name
    return name, "data:text/csv;charset=utf-8;base64," + base64.b64encode(content).decode()


@litestar.get("/bulletin", sync_to_thread=False, **NO_SCHEMA)  # no I/O here
def bulletin_form(request: Request[Any, Any, Any], user: CurrentUser) -> Template:
    lookups.check_office(user.scope, lookups.ISSUING)
    return page(request, "bulletin.html", user, period=str(web_views.current_period()))


@write("/bulletin", status_code=200, **NO_SCHEMA)  # a download, not a created resource
def bulletin(user: CurrentUser, web: Web, data: Form) -> Response[bytes]:
    fmt = str(data.get("format") or "docx")
    if fmt not in ("docx", "xlsx", "md"):
        raise twores.InvalidValueError("format", fmt, "应为 docx、xlsx 或 md", "docx, xlsx or md")
    return bulletin_download(
        web, user, str(data.get("area") or user.area_code or ""), data.get("period"), fmt
    )


@post("/exports", status_code=200, **NO_SCHEMA)  # a download, not a created resource
def unmasked_export(user: CurrentUser, web: Web, data: Form) -> Response[bytes]:
    """An unmasked list, asked for with the form (POST, CSRF token) the area page shows an
    office or admin: no link a crawler or a browser's prefetch follows exports personal
    data. The masked lists stay links (``/api/export.xlsx``)."""
    kind = str(data.get("kind") or "")
    if kind not in EXPORT_NAMES:
        raise twores.InvalidValueError(
            "kind", kind, "应为 " + "、".join(EXPORT_NAMES), "one of " + ", ".join(EXPORT_NAMES)
        )
    area = str(data.get("area") or "") or None
    return export_download(web, user, kind, area, "xlsx", unmask=True)


PAGES = [
    login_form,
    login,
    logout,
    switch_lang,
    home,
    dashboard,
    area,
    business,
    cadre,
    record_visit,
    problem_ledger,
    transition,
    import_form,
    import_upload,
    bulletin_form,
    bulletin,
    unmasked_export,
]
