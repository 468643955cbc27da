"""``twores duties``: the enterprises' own routine (日管控、周排查、月调度)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from rich.table import Table

import twores
from twores.services.duties import duty_report, import_duties
from twores_cli.context import Context, pass_context, report_dir_option

_DATE = click.DateTime(["%Y-%m-%d"])


@click.group("duties")
def command() -> None:
    """Enterprise routine records and compliance / 企业主体责任."""


@command.command("import")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report, change nothing / 只检查不写入")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@click.option("--actor", default="cli", show_default=True, help="Who (audit log)")
@report_dir_option
@pass_context
def import_command(
    obj: Context,
    file: Path,
    dry_run: bool,
    scope_area: str | None,
    actor: str,
    report_dir: Path | None,
) -> None:
    """Import routine records (CSV or .xlsx) / 导入日管控、周排查、月调度记录.

    Columns: 许可证编号, 类型 (日管控/周排查/月调度), 日期, 填报人角色, 填报人, 零风险,
    发现问题. On any bad row nothing changes, a report is written beside FILE (or into
    --report-dir), exit code 3.
    With --format json a refused file prints one object: kind, file, accepted
    (false), report (its path or null), errors [{row, serial, column, value, code, zh, en}].

    \b
    Examples:
      twores duties import 三月记录.xlsx
    """
    store = obj.store()
    scope = obj.scope(scope_area, actor)
    report = import_duties(obj.app, store, scope, file, dry_run=dry_run, report_dir=report_dir)
    store.close()
    t = obj.t
    if not report.accepted:
        obj.rejected(report.errors, report.report_path, kind="duties", file=file)
    w = report.written
    obj.result(
        {
            "file": str(file),
            "rows": report.rows,
            "dry_run": dry_run,
            "inserted": w.inserted,
            "updated": w.updated,
            "unchanged": w.unchanged,
            "problems": list(report.problems),
        }
    )
    checked = t("检查通过（未写入）：", "checked (nothing written): ") if dry_run else ""
    obj.console.print(
        checked
        + t(
            f"{report.rows} 行：新增 {w.inserted}，更新 {w.updated}，未变 {w.unchanged}",
            f"{report.rows} rows: {w.inserted} new, {w.updated} updated, {w.unchanged} unchanged",
        )
        + obj.opened(report.problems),
        highlight=False,
    )


@command.command("report")
@click.option("--from", "start", type=_DATE, required=True, help="First day / 开始日期")
@click.option(
    "--to",
    "end",
    type=_DATE,
    required=True,
    help="Last day, not after today / 结束日期（不晚于今天）",
)
@click.option("--within", help="Only this area's subtree / 仅该区划")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@click.option("--gaps-only", is_flag=True, help="Only businesses with a gap / 仅列出未达标主体")
@pass_context
def report_command(
    obj: Context,
    start: dt.datetime,
    end: dt.datetime,
    within: str | None,
    scope_area: str | None,
    gaps_only: bool,
) -> None:
    """Compliance per business: records kept / due, and staff gaps / 主体责任落实情况.

    \b
    Examples:
      twores duties report --from 2026-03-01 --to 2026-03-31 --within 450323 --gaps-only
      twores --format json duties report --from 2026-03-01 --to 2026-03-31
    """
    store = obj.store()
    with obj.working("正在统计主体责任…", "counting routine records…"):
        found = duty_report(
            obj.app, store, obj.scope(scope_area), start.date(), end.date(), within=within
        )
    store.close()
    if gaps_only:
        found = [b for b in found if b.staff or any(c.missing for c in b.compliance)]
    lang = obj.lang
    if obj.output == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "business_key": b.business_key,
                        "name": b.name,
                        **{c.kind.value: [c.kept, c.due] for c in b.compliance},
                        "staff": [p.code for p in b.staff],
                    }
                    for b in found
                ],
                ensure_ascii=False,
            )
        )
        return
    t = obj.t
    table = Table(
        t("主体", "business"), *(k.label(lang) for k in twores.DutyKind), t("人员", "staff")
    )
    for b in found:
        table.add_row(
            f"{b.name}（{b.business_key}）",
            *(f"{c.kept}/{c.due}" for c in b.compliance),
            "；".join(p.message(lang) for p in b.staff),
        )
    obj.show(table)
