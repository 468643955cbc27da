"""``twores schedule`` and ``twores visit``: supervision tasks and visits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

import twores
from twores.services.imports import file_sha256
from twores.services.supervision import VisitInput, record_visit, schedule
from twores.services.visit_imports import import_visits
from twores_cli.context import Context, pass_context, report_dir_option
from twores_cli.usage import BadValue

_DATE = click.DateTime(["%Y-%m-%d"])


class _Answer(click.ParamType):
    """A checklist answer ``CODE=RESULT`` (``:`` and ``：`` also separate)."""

    name = "CODE=RESULT"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str]:
        text = str(value)
        code, sep, result = text.replace("：", "=").replace(":", "=").partition("=")
        if not (sep and code.strip() and result.strip()):
            raise BadValue(
                f"'{text}' is not CODE=RESULT, e.g. M1=符合",
                f"“{text}”应为“编号=结果”，如 M1=符合",
                param=param,
                ctx=ctx,
            )
        return code.strip(), result.strip()


def _who(function: click.decorators.FC) -> click.decorators.FC:
    for option in (
        click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区"),
        click.option(
            "--role",
            type=click.Choice([r.value for r in twores.Role]),
            default="admin",
            show_default=True,
            help="Your role / 角色",
        ),
        click.option("--actor", default="cli", show_default=True, help="Who (audit log)"),
    ):
        function = option(function)
    return function


@click.command("schedule")
@click.argument("period")
@click.option("--on", "on", type=_DATE, help="As of this day (default today) / 以该日为准")
@click.option("--within", help="Only this area's subtree / 仅该区划")
@_who
@pass_context
def schedule_command(
    obj: Context,
    period: str,
    on: dt.datetime | None,
    within: str | None,
    actor: str,
    role: str,
    scope_area: str | None,
) -> None:
    """Create the supervision tasks due in PERIOD / 生成督导任务.

    PERIOD is 2026Q1, 2026H1, 2026-03, 2026-W11 or 2026. Running it again changes nothing
    unless assignments or businesses changed (a handed-over task follows its business).

    \b
    Examples:
      twores schedule 2026Q1
      twores schedule 2026Q2 --within 450323 --on 2026-04-01
    """
    store = obj.store()
    with obj.working("正在生成督导任务…", "scheduling tasks…"):
        report = schedule(
            obj.app,
            store,
            obj.scope(scope_area, actor, role),
            period,
            on=on.date() if on else None,
            within=within,
        )
    store.close()
    t, written = obj.t, report.written
    obj.result(
        {
            "period": str(report.period),
            "tasks": report.tasks,
            "exempt": report.exempt,
            "unassigned": report.unassigned,
            "inserted": written.inserted,
            "updated": written.updated,
            "unchanged": written.unchanged,
            "retired": report.retired,
            "credited": report.credited,
        }
    )
    obj.console.print(
        t(
            f"{report.period.label('zh')}：任务 {report.tasks} 项（豁免 {report.exempt}，"
            f"无人包保 {report.unassigned}）；新增 {written.inserted}，更新 {written.updated}，"
            f"未变 {written.unchanged}，撤销 {report.retired}"
            + (f"；已录督导记录完成 {report.credited} 项" if report.credited else ""),
            f"{report.period}: {report.tasks} tasks ({report.exempt} exempt, "
            f"{report.unassigned} unassigned); {written.inserted} new, {written.updated} updated, "
            f"{written.unchanged} unchanged, {report.retired} retired"
            + (f"; {report.credited} done by visits recorded earlier" if report.credited else ""),
        ),
        highlight=False,
    )


@click.group("visit")
def visit_group() -> None:
    """Record supervision visits / 督导记录."""


@visit_group.command("record")
@click.argument("business")
@click.argument("cadre")
@click.option("--date", "visited_on", type=_DATE, required=True, help="Visit date / 督导日期")
@click.option("--mode", default="现场", show_default=True, help="现场/视频/集中/其他")
@click.option(
    "--answer", "answers", multiple=True, type=_Answer(), help="Checklist answer, e.g. M1=符合"
)
@click.option(
    "--evidence",
    "evidence",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Evidence file (its SHA-256 is kept) / 证据文件",
)
@click.option(
    "--finding",
    "findings",
    multiple=True,
    help="A problem found (无 or 未发现问题 records none) / 发现的问题",
)
@click.option(
    "--severity",
    default="一般",
    show_default=True,
    help="How serious the findings are, which sets their deadline: 一般/较重/严重 "
    "(minor/major/severe) / 问题严重程度",
)
@click.option("--late-reason", help="Reason for entry after the window closed / 补录原因")
@_who
@pass_context
def record_command(
    obj: Context,
    business: str,
    cadre: str,
    visited_on: dt.datetime,
    mode: str,
    answers: tuple[tuple[str, str], ...],
    evidence: tuple[Path, ...],
    findings: tuple[str, ...],
    severity: str,
    late_reason: str | None,
    actor: str,
    role: str,
    scope_area: str | None,
) -> None:
    """Record one visit of CADRE to BUSINESS / 记录一次督导.

    \b
    Examples:
      twores visit record JY14503230034495 450323101-li --date 2026-03-15
      twores visit record JY14503230034495 450323101-li --date 2026-03-15 \\
          --mode 视频 --answer M1=符合 --answer P1=不符合 --finding 未公示许可证
      twores visit record JY14503230034495 450323101-li --date 2026-03-15 \\
          --finding 使用过期原料 --severity 严重
    """
    visit = VisitInput(
        business,
        cadre,
        visited_on.date(),
        mode,
        answers,
        tuple(file_sha256(p) for p in evidence),
        findings,
        late_reason,
        severity,
    )
    store = obj.store()
    outcome = record_visit(obj.app, store, obj.scope(scope_area, actor, role), visit)
    store.close()
    obj.result(
        {
            "visit": outcome.visit.key,
            "task": outcome.task.key if outcome.task else None,
            "late": outcome.late,
            "problems": [p.id for p in outcome.opened],
        }
    )
    t = obj.t
    task = outcome.task
    done = (
        t(f"完成任务 {task.key}", f"fulfils task {task.key}")
        if task
        else t("不计入任务", "fulfils no task")
    )
    late = t("（补录）", " (late entry)") if outcome.late else ""
    problems = obj.opened([p.id for p in outcome.opened])
    obj.console.print(
        f"{t('已记录', 'recorded')} {outcome.visit.key}{late}; {done}{problems}", highlight=False
    )


@visit_group.command("import")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report, change nothing / 只检查不写入")
@_who
@report_dir_option
@pass_context
def import_command(
    obj: Context,
    file: Path,
    dry_run: bool,
    actor: str,
    role: str,
    scope_area: str | None,
    report_dir: Path | None,
) -> None:
    """Import a sheet of visits (CSV or .xlsx) / 批量导入督导记录.

    Columns: 许可证编号, 干部编号, 督导日期, 督导方式, 检查结果 (M1:符合；P1:不符合),
    发现问题, 证据哈希, 补录原因, 问题严重程度 (一般/较重/严重). On any bad row nothing changes, a
    report is written beside FILE (or into --report-dir) and the exit code is 3.
    With --format json a refused file prints one object: kind, file, accepted
    (false), report (its path or null), errors [{row, serial, column, value, code, zh, en}].

    \b
    Examples:
      twores visit import 一季度督导记录.xlsx
    """
    store = obj.store()
    with obj.working("正在导入督导记录…", "importing visits…"):
        report = import_visits(
            obj.app,
            store,
            obj.scope(scope_area, actor, role),
            file,
            dry_run=dry_run,
            report_dir=report_dir,
        )
    store.close()
    t = obj.t
    if not report.accepted:
        obj.rejected(report.errors, report.report_path, kind="visits", file=file)
    obj.result(
        {
            "file": str(file),
            "rows": report.rows,
            "dry_run": dry_run,
            "inserted": report.inserted,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "fulfilled": report.fulfilled,
            "late": report.late,
            "problems": list(report.problems),
        }
    )
    obj.console.print(
        t(
            f"督导记录 {report.rows} 行：新增 {report.inserted}，更新 {report.updated}，"
            f"未变 {report.unchanged}，完成任务 {report.fulfilled}，补录 {report.late}"
            + obj.opened(report.problems)
            + ("（仅检查，未写入）" if dry_run else ""),
            f"{report.rows} visit rows: {report.inserted} new, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.fulfilled} tasks fulfilled, {report.late} late"
            + obj.opened(report.problems)
            + (" (checked only, nothing written)" if dry_run else ""),
        ),
        highlight=False,
    )
