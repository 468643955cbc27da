"""``twores import``: office ledgers in, all-or-nothing per file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import click

import twores
from twores.services.imports import KINDS, import_file
from twores.services.sheets.report import unread_columns_message
from twores_cli.context import Context, pass_context, report_dir_option


@click.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report, change nothing / 只检查不写入")
@click.option(
    "--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="Assignment start date (default today)"
)
@click.option("--actor", default="cli", show_default=True, help="Who is importing (audit log)")
@click.option(
    "--role",
    type=click.Choice([r.value for r in twores.Role]),
    default="admin",
    show_default=True,
    help="The importer's role / 角色",
)
@click.option("--scope", "scope_area", help="Limit writes to this area's subtree / 限定辖区")
@report_dir_option
@pass_context
def command(
    obj: Context,
    kind: str,
    file: Path,
    dry_run: bool,
    on: dt.datetime | None,
    actor: str,
    role: str,
    scope_area: str | None,
    report_dir: Path | None,
) -> None:
    """Import a ledger (CSV or .xlsx) / 导入台账.

    On any bad row nothing changes, a report is written beside FILE (or into --report-dir)
    and the exit code is 3.
    With --format json a refused file prints one object: kind, file, accepted
    (false), report (its path or null), unread_columns and errors [{row, serial, column,
    value, code, zh, en}].
    `import areas` of the national division files loads the whole country (665k areas,
    which every later command reads: about 5 s each on 2 cores); for one county or city
    use `twores init --divisions DIR --area CODE`.

    \b
    Examples:
      twores import areas 区划表.xlsx
      twores import cadres 干部名单.csv
      twores import businesses 灵川县台账.xlsx --dry-run
      twores import businesses 灵川县台账.xlsx --role office --scope 450323
    """
    store = obj.store(create=True)
    scope = twores.Scope(actor, twores.Role(role), scope_area)
    with obj.working("正在导入台账…", "importing the ledger…"):
        report = import_file(
            obj.app,
            store,
            scope,
            kind,
            file,
            on=on.date() if on else None,
            dry_run=dry_run,
            report_dir=report_dir,
        )
    store.close()
    t = obj.t
    if report.unread_columns:  # the file's text: the first few named, then a count
        obj.message(*unread_columns_message(report.unread_columns), style="yellow")
    if report.totals_rows:
        shown = "、".join(map(str, report.totals_rows[:20]))
        more = "…" if len(report.totals_rows) > 20 else ""
        obj.message(
            f"已跳过 {len(report.totals_rows)} 个合计行（未导入）：第 {shown}{more} 行",
            f"skipped {len(report.totals_rows)} totals rows (not imported): rows "
            f"{shown.replace('、', ', ')}{more}",
            style="yellow",
        )
    if not report.accepted:
        obj.rejected(
            report.errors,
            report.report_path,
            kind=kind,
            file=file,
            unread_columns=list(report.unread_columns),
        )
    verb = (
        t("检查通过（未写入）", "checked (nothing written)") if dry_run else t("已导入", "imported")
    )
    replay = t("（该文件此前已导入）", " (this file was imported before)") if report.replay else ""
    records, links = report.records, report.assignments
    obj.result(
        {
            "kind": kind,
            "file": str(file),
            "sha256": report.sha256,
            "rows": report.rows,
            "dry_run": dry_run,
            "replay": report.replay,
            "inserted": records.inserted,
            "updated": records.updated,
            "unchanged": records.unchanged,
            "assignments": attrs.asdict(links),
            "unread_columns": list(report.unread_columns),
            "totals_rows": list(report.totals_rows),
        }
    )
    obj.console.print(
        f"{verb}{replay}: {report.rows} {t('行', 'rows')}; "
        f"{t('新增', 'inserted')} {records.inserted}, {t('更新', 'updated')} {records.updated}, "
        f"{t('未变', 'unchanged')} {records.unchanged}; "
        f"{t('包保关系', 'assignments')} +{links.inserted} ~{links.updated} ={links.unchanged}",
        highlight=False,
    )
