"""``twores assign`` and ``twores check``: the plan and the invariants."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import click
from rich.table import Table

import twores
from twores.services.assignments import assign, check
from twores_cli.context import EXIT_ERROR, Context, pass_context

_DATE = click.DateTime(["%Y-%m-%d"])


@click.command("assign")
@click.option("--on", "on", type=_DATE, help="Plan date (default today) / 日期")
@click.option(
    "--mode",
    type=click.Choice([m.value for m in twores.PlanMode]),
    help="fresh / incremental (default once assignments exist) / rebalance",
)
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing / 只看方案")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@pass_context
def assign_command(
    obj: Context, on: dt.datetime | None, mode: str | None, dry_run: bool, scope_area: str | None
) -> None:
    """Plan assignments by (area, tier) group and apply them / 分配包保关系.

    \b
    Examples:
      twores assign --dry-run
      twores assign --mode rebalance --on 2026-04-01
    """
    store = obj.store()
    with obj.working("正在分配包保关系…", "planning assignments…"):
        report = assign(
            obj.app,
            store,
            obj.scope(scope_area),
            on=on.date() if on else None,
            mode=twores.PlanMode(mode) if mode else None,
            dry_run=dry_run,
        )
    store.close()
    plan, t, lang = report.plan, obj.t, obj.lang
    changes = Counter((c.action.label(lang), c.reason.label(lang)) for c in plan.changes)
    loads = sorted(
        (
            (group, max(held.values(), default=0), sum(held.values()))
            for group, held in plan.loads.items()
        ),
        key=lambda g: -g[1],
    )
    if obj.output == "json":
        click.echo(
            json.dumps(
                {
                    "mode": plan.mode.value,
                    "dry_run": dry_run,
                    "changes": [
                        {"action": a, "reason": r, "count": n} for (a, r), n in changes.items()
                    ],
                    "unplaced": len(plan.unplaced),
                    "max_load": max((m for _, m, _ in loads), default=0),
                },
                ensure_ascii=False,
            )
        )
        return
    view = Table(t("变更", "change"), t("原因", "reason"), t("数量", "count"))
    for (action, reason), count in sorted(changes.items()):
        view.add_row(action, reason, str(count))
    obj.show(view)
    busiest = Table(
        t("分组（区划，层级）", "group (area, tier)"),
        t("最大负荷", "max load"),
        t("主体数", "businesses"),
    )
    for group, most, total in loads[:10]:
        busiest.add_row(f"{group[0]} {group[1].label(lang)}", str(most), str(total))
    obj.note(busiest)
    verb = t("方案（未写入）", "plan (nothing written)") if dry_run else t("已应用", "applied")
    obj.console.print(
        f"{verb}: {len(plan.changes)} {t('项变更', 'changes')}，"
        f"{t('无法安排', 'unplaceable')} {len(plan.unplaced)}",
        highlight=False,
    )


@click.command("check")
@click.option("--on", "on", type=_DATE, help="Day to check (default today) / 日期")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@pass_context
def check_command(obj: Context, on: dt.datetime | None, scope_area: str | None) -> None:
    """Check the assignment invariants; exit 1 with a table of violations / 不变量检查.

    \b
    Examples:
      twores check
      twores --format json check --on 2026-03-31
    """
    store = obj.store()
    with obj.working("正在检查不变量…", "checking invariants…"):
        report = check(obj.app, store, obj.scope(scope_area), on=on.date() if on else None)
    store.close()
    t = obj.t
    if obj.output == "json":
        click.echo(
            json.dumps(
                {
                    "violations": [
                        {"kind": v.kind, "ids": list(v.ids), "zh": v.message_zh, "en": v.message_en}
                        for v in report.violations
                    ],
                    "unplaceable": len(report.unplaceable),
                },
                ensure_ascii=False,
            )
        )
    else:
        if report.violations or obj.output != "table":
            view = Table(t("类型", "kind"), t("说明", "message"))
            for v in report.violations[:200]:
                view.add_row(v.kind, v.message_zh if obj.lang == "zh" else v.message_en)
            obj.show(view)
        obj.console.print(
            t(
                f"违反不变量 {len(report.violations)} 处；无合适干部可包保的主体 "
                f"{len(report.unplaceable)} 家",
                f"{len(report.violations)} violations; {len(report.unplaceable)} businesses "
                "no eligible cadre can take",
            ),
            highlight=False,
        )
    if report.violations:
        raise SystemExit(EXIT_ERROR)
