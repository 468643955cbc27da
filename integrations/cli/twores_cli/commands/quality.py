"""``twores quality``: data-quality signals (flagged, never blocking)."""

from __future__ import annotations

import json

import click
from rich.table import Table

from twores.services.quality import quality_report
from twores_cli.context import Context, pass_context


@click.command("quality")
@click.argument("period")
@click.option("--within", help="Only this area's subtree / 仅该区划")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@pass_context
def command(obj: Context, period: str, within: str | None, scope_area: str | None) -> None:
    """Flag implausible supervision data for PERIOD, each signal explained / 数据质量.

    Too many visits per cadre-day (grouped sessions aside), visits outside the
    assignment or after closure, back-filling just before a window closes, one cadre's
    identical finding text at several businesses, evidence reused (a grouped session's
    photo aside), entries at implausible hours. Nothing is blocked.

    \b
    Examples:
      twores quality 2026Q1
      twores --format json quality 2026-03 --within 450323
    """
    store = obj.store()
    scope = obj.scope(scope_area)
    with obj.working("正在检查数据质量…", "checking data quality…"):
        report = quality_report(obj.app, store, scope, period, within=within)
    store.close()
    lang = obj.lang
    if obj.output == "json":
        click.echo(
            json.dumps(
                {
                    "period": str(report.period),
                    "visits": report.visits,
                    "by_area": {
                        area: {kind.value: n for kind, n in counts.items()}
                        for area, counts in sorted(report.by_area.items())
                    },
                    "signals": [
                        {
                            "kind": s.kind.value,
                            "area_code": s.area_code,
                            "subject": s.subject,
                            "visits": list(s.visits),
                            "zh": s.zh,
                            "en": s.en,
                        }
                        for s in report.signals
                    ],
                },
                ensure_ascii=False,
            )
        )
        return
    t = obj.t
    obj.console.print(
        t(
            f"{report.period.label('zh')}：督导记录 {report.visits} 条，"
            f"提示 {len(report.signals)} 条",
            f"{report.period}: {report.visits} visits, {len(report.signals)} signals",
        ),
        highlight=False,
    )
    kinds = sorted({k for counts in report.by_area.values() for k in counts}, key=lambda k: k.value)
    if kinds:  # the report per area: how many signals of each kind
        per_area = Table(t("区划", "area"), *(k.label(lang) for k in kinds), t("合计", "total"))
        for area, counts in sorted(report.by_area.items()):
            total = str(sum(counts.values()))
            per_area.add_row(area, *(str(counts.get(k, 0)) for k in kinds), total)
        obj.note(per_area)
    view = Table(t("类型", "kind"), t("区划", "area"), t("说明", "explanation"))
    for s in report.signals:
        view.add_row(s.kind.label(lang), s.area_code, s.zh if lang == "zh" else s.en)
    obj.show(view)
