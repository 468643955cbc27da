"""``twores plugins``: what is installed."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.table import Table

from twores_cli.context import Context, pass_context


@click.command("plugins")
@pass_context
def command(obj: Context) -> None:
    """List installed plugins, their hooks, rule versions and KPIs / 列出已安装插件.

    The KPI column names the KPIs each plugin registers whose definition is in force, then
    those it registers that another plugin's definition overrides, marked with the plugin
    in force (JSON: kpis, kpis_overridden).

    \b
    Example:
      twores plugins
    """
    found = obj.app.plugins.describe()
    if obj.output == "json":
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    t = obj.t
    table = Table(title=t("插件", "Plugins"))
    headers = (t("插件", "plugin"), t("规则集", "rule sets"), t("钩子", "hooks"), t("指标", "KPIs"))
    for header in headers:
        table.add_column(header)
    for plugin in found:
        table.add_row(
            plugin["name"],
            "\n".join(plugin["rule_sets"]),
            "\n".join(plugin["hooks"]),
            "\n".join(_kpis(plugin, obj.lang)),
        )
    obj.show(table)


def _kpis(plugin: dict[str, Any], lang: str) -> list[str]:
    """The KPIs ``plugin`` registers: those in force, then those overridden, marked."""
    overridden = [
        f"{k['name']}（已被 {k['by']} 替代）"
        if lang == "zh"
        else f"{k['name']} (overridden by {k['by']})"
        for k in plugin["kpis_overridden"]
    ]
    return [*plugin["kpis"], *overridden]
