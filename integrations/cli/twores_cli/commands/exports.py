"""``twores export``: lists out as CSV or .xlsx."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

import twores
from twores.services.exports import KINDS, export_list
from twores_cli.context import Context, pass_context


@click.command("export")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--within", help="Only this area's subtree / 只导出该区划")
@click.option(
    "--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="Date for assignments and lists"
)
@click.option(
    "--unmask", is_flag=True, help="Show phones and ID numbers (office and admin roles only)"
)
@click.option(
    "--role",
    type=click.Choice([r.value for r in twores.Role]),
    default="read_only",
    show_default=True,
    help="Who exports: unmasking needs office or admin, named explicitly / 导出者角色",
)
@click.option("--actor", default="cli", show_default=True)
@pass_context
def command(
    obj: Context,
    kind: str,
    file: Path,
    within: str | None,
    on: dt.datetime | None,
    unmask: bool,
    role: str,
    actor: str,
) -> None:
    """Export a list to CSV or .xlsx (by the file's suffix) / 导出清单.

    \b
    Examples:
      twores export businesses 主体.xlsx --within 450323
      twores export cadre-lists 责任清单.xlsx --on 2026-03-31
      twores export cadres 干部.csv --unmask --role office
    """
    scope = twores.Scope(actor, twores.Role(role), None)
    if unmask and not scope.can_unmask:
        refused = click.UsageError(
            f"--unmask needs --role office or --role admin, named explicitly (not {role})"
        )
        refused.message_zh = f"--unmask 须明确写出 --role office 或 --role admin（当前为 {role}）"  # type: ignore[attr-defined]
        raise refused
    store = obj.store()
    count = export_list(
        store, scope, kind, file, unmask=unmask, within=within, on=on.date() if on else None
    )
    store.close()
    obj.console.print(
        obj.t(f"已导出 {count} 行：{file}", f"exported {count} rows: {file}"), highlight=False
    )
