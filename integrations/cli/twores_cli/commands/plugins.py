"""``twores plugins``: what is installed."""

from __future__ import annotations

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
    t = obj.t
    table = Table(title=t("插件", "Plugins"))
    for header in (t("插件", "plugin"), t("规则集", "rule sets"), t("钩子", "hooks")):
        table.add_column(header)
    for plugin in obj.app.plugins.describe():
        table.add_row(plugin["name"], "\n".join(plugin["rule_sets"]), "\n".join(plugin["hooks"]))
    obj.console.print(table)
