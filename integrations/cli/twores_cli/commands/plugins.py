"""``twores plugins``: what is installed."""

from __future__ import annotations

import json

import click
from rich.table import Table

from twores_cli.context import Context, pass_context


@click.command("plugins")
@pass_context
def command(obj: Context) -> None:
    """List installed plugins, their hooks and rule versions / 列出已安装插件.

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
    for header in (t("插件", "plugin"), t("规则集", "rule sets"), t("钩子", "hooks")):
        table.add_column(header)
    for plugin in found:
        table.add_row(plugin["name"], "\n".join(plugin["rule_sets"]), "\n".join(plugin["hooks"]))
    obj.show(table)
