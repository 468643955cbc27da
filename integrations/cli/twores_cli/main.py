"""The ``twores`` command."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

import twores
from twores.services.demo import run_demo

EXIT_ERROR = 1
EXIT_USAGE = 2


class Context:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.console = Console()

    def t(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    envvar="TWORES_LANG",
    show_default=True,
    help="Language of output and errors / 输出语言",
)
@click.version_option(twores.__version__, prog_name="twores")
@click.pass_context
def cli(ctx: click.Context, lang: str) -> None:
    """twores — 食品安全“两个责任”包保工作 (food-safety two responsibilities).

    \b
    Examples:
      twores demo
      twores --lang en plugins
    """
    ctx.obj = Context(lang)


@cli.command()
@click.option("--businesses", default=2000, show_default=True, help="Synthetic businesses to grade")
@click.option("--seed", default=2023, show_default=True, help="Random seed for the synthetic data")
@click.pass_obj
def demo(obj: Context, businesses: int, seed: int) -> None:
    """Run the demo on the real 桂林市 hierarchy / 在桂林市真实区划上运行演示.

    \b
    Example:
      twores demo --businesses 500
    """
    t, console = obj.t, obj.console
    report = run_demo(twores.build(), businesses=businesses, seed=seed)
    console.print(
        t(f"[bold]演示区域：{report.region}[/]", f"[bold]Demo region: {report.region}[/]")
    )
    console.print(
        "  ".join(
            f"{tier.label(obj.lang)}: {count}"
            for tier, count in sorted(report.areas_by_tier.items())
        )
    )
    table = Table(title=t(f"包保分级（{report.on}）", f"Assignment grades ({report.on})"))
    for header in (t("等级", "grade"), t("主体数", "businesses"), t("包保层级", "cadre tier")):
        table.add_column(header)
    for grade in sorted(report.grades, key=lambda g: g.value):
        tier = next(r.tier.value for r in report.ruled if r.grade.value is grade)
        table.add_row(grade.label(obj.lang), str(report.grades[grade]), tier.label(obj.lang))
    console.print(table)
    console.print(
        t(
            f"须配备食品安全总监：{report.directors_required} 家",
            f"Businesses that must appoint a food safety director: {report.directors_required}",
        )
    )
    shown: set[str] = set()
    console.print(t("[bold]规则决定示例[/]", "[bold]How some decisions were made[/]"))
    for item in report.ruled:
        key = f"{item.grade.rule.id}/{item.director.rule.id}/{item.director.value}"
        if key in shown:
            continue
        shown.add(key)
        for decision in (item.grade, item.director):
            console.print(" • " + decision.explain(obj.lang), highlight=False)
        if len(shown) >= 4:
            break
    first = report.ruled[0]
    console.print(" • " + first.tier.explain(obj.lang), highlight=False)
    console.print(" • " + first.frequency.explain(obj.lang), highlight=False)


@cli.command()
@click.pass_obj
def plugins(obj: Context) -> None:
    """List installed plugins, their hooks and rule versions / 列出已安装插件.

    \b
    Example:
      twores plugins
    """
    t = obj.t
    table = Table(title=t("插件", "Plugins"))
    for header in (t("插件", "plugin"), t("规则集", "rule sets"), t("钩子", "hooks")):
        table.add_column(header)
    for plugin in twores.build().plugins.describe():
        table.add_row(plugin["name"], "\n".join(plugin["rule_sets"]), "\n".join(plugin["hooks"]))
    obj.console.print(table)


def main() -> None:
    try:
        cli(standalone_mode=False)
    except twores.TworesError as exc:
        Console(stderr=True).print(f"[red]{exc.message_zh}[/]")
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
