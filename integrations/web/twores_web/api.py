"""The JSON API under /api: thin calls of the services with the signed-in user's scope.

Domain records (attrs classes) are returned as they are; OpenAPI is at /schema.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import IO, Annotated, Any
from urllib.parse import quote

import attrs
from litestar import Controller, Request, Response
from litestar.datastructures import UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import (
    FromPath,
    FromQuery,
    JSONBody,
    MultipartBody,
    PathParameter,
    QueryParameter,
)

import twores
from twores.services import imports, problems, sign_in, supervision, web_views
from twores.services.kpis import Dashboard, Ranking, kpi_dashboard
from twores.services.sheets.parsing import RowError
from twores.services.sheets.report import unread_columns_message
from twores_web.auth import Me, client_address, session_data
from twores_web.handlers import (
    CSRF_ONLY,
    DOWNLOAD_NAME,
    SIGN_IN_ERRORS,
    WRITE_ERRORS,
    BulletinOperation,
    SignInOperation,
    get,
    post,
    write,
)
from twores_web.sessions import start_session
from twores_web.state import CurrentUser, Web

AREA = QueryParameter(required=False, description="区划代码 / area code")
PERIOD = QueryParameter(required=False, description="e.g. 2026Q1 (default: now)")
IMPORT_KIND = PathParameter(
    description="台账类型 / ledger kind", schema_extra={"enum": list(imports.KINDS)}
)
EXPORT_KIND = QueryParameter(
    pattern="^(businesses|cadres|assignments|cadre-lists)$", description="清单 / list"
)
SEARCH = QueryParameter(
    required=False, description="名称、许可证编号或信用代码的一部分 / part of a name or code"
)
AFTER = QueryParameter(
    required=False,
    max_length=200,
    description=(
        "上一页最后一个主体的编号：从其后读起（翻页不受深度影响；查找 q 时不用）/ the last key "
        "of the page before: the businesses after it, read from the key index however deep "
        "(`offset` is then not skipped; ignored with `q`)"
    ),
)
UNMASK = QueryParameter(description="不脱敏（须有权限）/ unmasked (if the role may)")
MEDIA = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown",  # Litestar adds the charset
    "csv": "text/csv",
}


@attrs.frozen
class Credentials:
    username: str
    password: str


@attrs.frozen
class Transition:
    #: The problem's id (``business/found-on/hash``).
    problem_id: str
    action: twores.Action
    note: str = ""
    evidence: tuple[str, ...] = ()
    deadline: date | None = None


@dataclasses.dataclass
class ImportUpload:
    """The ledger file (.xlsx, .xls or .csv) in the multipart field ``file``."""

    file: UploadFile


@attrs.frozen
class ImportResult:
    """An import's outcome: accepted, or refused with every bad row (nothing changed)."""

    kind: str
    file_name: str
    accepted: bool
    rows: int
    inserted: int
    updated: int
    errors: tuple[RowError, ...]
    #: Named columns no field reads (not imported: check the headers).
    unread_columns: tuple[str, ...] = ()
    #: The same file (by its SHA-256) was imported before.
    replay: bool = False
    #: Rows skipped as totals rows (合计 20户): not imported.
    totals_rows: tuple[int, ...] = ()

    def unread_message(self, lang: str) -> str:
        """The warning naming the first unread columns and counting the rest."""
        zh, en = unread_columns_message(self.unread_columns)
        return zh if lang == "zh" else en[:1].upper() + en[1:]


@attrs.frozen
class VisitResult:
    visit: twores.Visit
    task: twores.SupervisionTask | None
    late: bool
    opened: tuple[twores.Problem, ...]


@attrs.frozen
class RankingResult:
    """The children of the area ranked now (None: fewer than two to rank), and the last
    stored run the movements are counted against (None: none yet)."""

    ranking: Ranking | None
    previous: Ranking | None


def period_of(text: str | None) -> twores.Period:
    return twores.Period.parse(text) if text else web_views.current_period()


class Api(Controller):
    path = "/api"
    tags = ["twores"]  # noqa: RUF012

    @post(
        "/login",
        summary="Sign in / 登录",
        description="429 with Retry-After (seconds): too many failed sign-ins for the name "
        "or from the client; the password is not checked.",
        responses=SIGN_IN_ERRORS,
        operation_class=SignInOperation,
        security=CSRF_ONLY,
    )
    def login(self, request: Request[Any, Any, Any], web: Web, data: JSONBody[Credentials]) -> Me:
        user = sign_in.sign_in(
            web.app,
            web.store,
            data.username,
            data.password,
            client=client_address(request),
            throttle=web.throttle,
        )
        start_session(request, session_data(user))
        return Me.of(user)

    @post("/logout", summary="Sign out / 退出", status_code=204, security=CSRF_ONLY)
    def logout(self, request: Request[Any, Any, Any]) -> None:
        request.clear_session()

    @get("/me", summary="The signed-in user / 当前用户")
    def me(self, user: CurrentUser) -> Me:
        return Me.of(user)

    @get("/areas", summary="The scope's root area and its children / 辖区")
    def root_area(self, user: CurrentUser, web: Web) -> web_views.AreaView:
        return web_views.area_view(web.store, user.scope)

    @get("/areas/{code:str}", summary="An area with its children / 区划及下级")
    def area(self, code: FromPath[str], user: CurrentUser, web: Web) -> web_views.AreaView:
        return web_views.area_view(web.store, user.scope, code)

    @get("/dashboard", summary="KPIs of an area and its children / 指标看板")
    def dashboard(
        self,
        user: CurrentUser,
        web: Web,
        area: Annotated[str | None, AREA] = None,
        period: Annotated[str | None, PERIOD] = None,
    ) -> Dashboard:
        return kpi_dashboard(web.app, web.store, user.scope, period_of(period), area)

    @get("/ranking", summary="Children ranked, with movements / 排名")
    def ranking(
        self,
        user: CurrentUser,
        web: Web,
        area: Annotated[str | None, AREA] = None,
        period: Annotated[str | None, PERIOD] = None,
    ) -> RankingResult:
        board = kpi_dashboard(web.app, web.store, user.scope, period_of(period), area)
        found = web_views.ranking_view(web.app, web.store, user.scope, board)
        return RankingResult(*(found or (None, None)))

    @get("/businesses", summary="Businesses in an area / 包保主体")
    def businesses(
        self,
        user: CurrentUser,
        web: Web,
        area: Annotated[str | None, AREA] = None,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        q: Annotated[str | None, SEARCH] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> web_views.BusinessPage:
        if q and q.strip():
            return web_views.search_businesses(
                web.store, user.scope, q, area, offset=offset, limit=limit
            )
        return web_views.businesses(
            web.store, user.scope, area, offset=offset, limit=limit, after=after or None
        )

    @get("/businesses/{key:str}", summary="A business with its history / 主体详情")
    def business(self, key: FromPath[str], user: CurrentUser, web: Web) -> web_views.BusinessDetail:
        return web_views.business_detail(web.store, user.scope, key)

    @get("/cadres/{cadre_id:str}", summary="A cadre's businesses and tasks / 干部工作台")
    def cadre(
        self,
        cadre_id: FromPath[str],
        user: CurrentUser,
        web: Web,
        period: Annotated[str | None, PERIOD] = None,
    ) -> web_views.CadreDesk:
        return web_views.cadre_desk(web.app, web.store, user, cadre_id, period_of(period))

    @write("/visits", summary="Record a visit / 录入督导记录")
    def visit(
        self, user: CurrentUser, web: Web, data: JSONBody[supervision.VisitInput]
    ) -> VisitResult:
        data = web_views.visit_as(user, data)
        done = supervision.record_visit(web.app, web.store, user.scope, data)
        return VisitResult(done.visit, done.task, done.late, done.opened)

    @get(
        "/problems",
        summary="The problem ledger / 问题台账",
        opt={"field_labels": {"status": "problem_status"}},
    )
    def problems(
        self,
        user: CurrentUser,
        web: Web,
        status: FromQuery[twores.ProblemStatus | None] = None,
        severity: FromQuery[twores.Severity | None] = None,
        area: Annotated[str | None, AREA] = None,
        overdue_on: FromQuery[date | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
    ) -> list[twores.Problem]:
        return web_views.problem_ledger(
            web.store,
            user.scope,
            status=status,
            severity=severity,
            within=area,
            overdue_on=overdue_on,
            limit=limit,
            offset=offset,
        )

    @write("/problems/transition", summary="Move a problem / 问题流转")
    def transition(self, user: CurrentUser, web: Web, data: JSONBody[Transition]) -> twores.Problem:
        return problems.transition_problem(
            web.app,
            web.store,
            user.scope,
            data.problem_id,
            data.action,
            actor=user.acts_as,
            note=data.note,
            evidence=data.evidence,
            deadline=data.deadline,
        )

    @write(
        "/imports/{kind:str}",
        summary="Import a ledger (all or nothing) / 导入台账",
        description="201: imported; 422: rejected, nothing changed, every bad row listed.",
        responses={
            **WRITE_ERRORS,
            422: ResponseSpec(
                ImportResult, description="Rejected, nothing changed: every bad row / 拒绝导入"
            ),
        },
    )
    def import_ledger(
        self,
        kind: Annotated[str, IMPORT_KIND],
        user: CurrentUser,
        web: Web,
        data: MultipartBody[ImportUpload],
    ) -> Response[ImportResult]:
        result = run_import(web, user, kind, data.file.filename, data.file.file)
        return Response(result, status_code=201 if result.accepted else 422)

    @get(
        "/export.xlsx",
        summary="Download a list as .xlsx / 导出清单",
        media_type=MEDIA["xlsx"],
        response_headers=[DOWNLOAD_NAME],
    )
    def export_xlsx(
        self,
        user: CurrentUser,
        web: Web,
        kind: Annotated[str, EXPORT_KIND],
        area: Annotated[str | None, AREA] = None,
        unmask: Annotated[bool, UNMASK] = False,
    ) -> Response[bytes]:
        return export_download(web, user, kind, area, "xlsx", unmask=unmask)

    @get(
        "/export.csv",
        summary="Download a list as CSV / 导出清单",
        media_type="text/csv",
        response_headers=[DOWNLOAD_NAME],
    )
    def export_csv(
        self,
        user: CurrentUser,
        web: Web,
        kind: Annotated[str, EXPORT_KIND],
        area: Annotated[str | None, AREA] = None,
        unmask: Annotated[bool, UNMASK] = False,
    ) -> Response[bytes]:
        return export_download(web, user, kind, area, "csv", unmask=unmask)

    @write(
        "/bulletin",
        summary="Issue the bulletin and download it / 周通报下载",
        description="201: the bulletin as .docx (default), .xlsx or Markdown, by `format`.",
        media_type=MEDIA["docx"],
        response_headers=[DOWNLOAD_NAME],
        operation_class=BulletinOperation,
    )
    def bulletin(
        self,
        user: CurrentUser,
        web: Web,
        area: Annotated[str, QueryParameter(description="区划代码 / area code")],
        period: Annotated[str | None, PERIOD] = None,
        format: Annotated[str, QueryParameter(pattern="^(docx|xlsx|md)$")] = "docx",
    ) -> Response[bytes]:
        return bulletin_download(web, user, area, period, format)


#: File names stay within what a file system takes (255 bytes), suffixes included.
_NAME_BYTES = 200


def upload_name(file_name: str | None) -> str:
    """A name to store an upload under: the client's base name, shortened to fit a file
    system (its type suffix kept, which tells a workbook from a CSV), or ``upload.xlsx``."""
    name = Path((file_name or "").replace("\\", "/")).name
    if name in ("", ".", ".."):
        return "upload.xlsx"
    suffixes = "".join(Path(name).suffixes[-2:])  # 台账.csv.xz
    if len(suffixes.encode()) > 20:  # no type suffix, but dots in a long name
        suffixes = ""
    return _fitted(name[: len(name) - len(suffixes)], suffixes, "upload")


def _fitted(stem: str, suffix: str, default: str) -> str:
    """``stem + suffix``, the stem shortened to fit :data:`_NAME_BYTES`."""
    while len((stem + suffix).encode()) > _NAME_BYTES:
        stem = stem[:-1]
    return (stem or default) + suffix


#: What a download's name may not hold: path separators, control characters and the
#: characters Windows refuses in a file name.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def download_name(stem: str, suffix: str) -> str:
    """A download's name for ``Content-Disposition``: ``stem`` with unsafe characters
    replaced by ``-`` and shortened to fit a file system, then ``suffix`` (``-包保主体.xlsx``)."""
    return _fitted(_UNSAFE.sub("-", stem).strip(" ."), suffix, "download")


def run_import(
    web: Web, user: CurrentUser, kind: str, file_name: str | None, content: IO[bytes]
) -> ImportResult:
    """Import an uploaded file (copied to disk, never held in memory whole) through the
    import service; the report names every bad row."""
    imports.check_import_kind(user.scope, kind)  # 400/403 before the file is read
    safe = upload_name(file_name)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / safe
        with path.open("wb") as stored:
            content.seek(0)
            shutil.copyfileobj(content, stored)
        report = imports.import_file(web.app, web.store, user.scope, kind, path, parse_ahead=False)
    return ImportResult(
        kind,
        safe,
        report.accepted,
        report.rows,
        report.records.inserted + report.assignments.inserted,
        report.records.updated + report.assignments.updated,
        report.errors,
        report.unread_columns,
        report.replay,
        report.totals_rows,
    )


EXPORT_NAMES = {
    "businesses": "包保主体",
    "cadres": "包保干部",
    "assignments": "包保关系",
    "cadre-lists": "责任清单",
}


def export_download(
    web: Web, user: CurrentUser, kind: str, area: str | None, fmt: str, *, unmask: bool
) -> Response[bytes]:
    """One list under ``area`` (default: the user's scope) as a download; phones and ID
    numbers masked unless asked for and the role may see them."""
    from twores.services.exports import export_list

    where = web_views.area_view(web.store, user.scope, area or None).area  # refused outside
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"export.{fmt}"  # the area's name is for the header only
        export_list(web.store, user.scope, kind, path, unmask=unmask, within=area or None)
        content = path.read_bytes()
    # an unmasked file is named so (never mistaken for the masked one it sits beside)
    suffix, ascii_suffix = ("-未脱敏", "-unmasked") if unmask else ("", "")
    name = download_name(where.name if where else "全国", f"-{EXPORT_NAMES[kind]}{suffix}.{fmt}")
    ascii_name = f"{where.code if where else 'all'}-{kind}{ascii_suffix}.{fmt}"
    return _download(content, name, MEDIA[fmt], ascii_name)


def _download(
    content: bytes, name: str, media_type: str, ascii_name: str | None = None
) -> Response[bytes]:
    """``content`` as an attachment named ``name`` (RFC 6266/5987 ``filename*``), with an
    ASCII ``filename`` for clients that do not read ``filename*``."""
    fallback = ascii_name or _ascii(name)
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


def _ascii(name: str) -> str:
    """``name``'s ASCII letters, digits, dots and dashes (``4503-2026-W49-周通报.docx`` ->
    ``4503-2026-W49.docx``), or ``download`` with its suffix."""
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    kept = re.sub(r"[^A-Za-z0-9._-]+", "", stem).strip("-_.") or "download"
    return kept + (f".{re.sub(r'[^A-Za-z0-9]+', '', suffix)}" if suffix else "")


def bulletin_download(
    web: Web, user: CurrentUser, area: str, period: str | None, fmt: str
) -> Response[bytes]:
    from twores.services.kpis import issue_bulletin

    with tempfile.TemporaryDirectory() as folder:
        # 周通报 of the supervision cycle to date (the quarter) unless a period is given
        files = issue_bulletin(web.app, web.store, user.scope, period_of(period), area, folder)
        chosen = next(f for f in files if f.suffix == f".{fmt}")
        content = chosen.read_bytes()
        name = chosen.name
    return _download(content, name, MEDIA[fmt])
