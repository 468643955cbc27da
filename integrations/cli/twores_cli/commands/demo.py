"""``twores demo``: what ``make demo`` runs."""

from __future__ import annotations

import click
from rich.table import Table

from twores.services.demo import run_demo
from twores_cli.context import Context, pass_context


@click.command("demo")
@click.option("--businesses", default=2000, show_default=True, help="Synthetic businesses to grade")
@click.option("--seed", default=2023, show_default=True, help="Random seed for the synthetic data")
@pass_context
def command(obj: Context, businesses: int, seed: int) -> None:
    """Run the demo on the real 桂林市 hierarchy / 在桂林市真实区划上运行演示.

    \b
    Example:
      twores demo --businesses 500
    """
    t, console = obj.t, obj.console
    report = run_demo(obj.app, businesses=businesses, seed=seed)
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
    console.print(t("[bold]规则决定示例[/]", "[bold]How some decisions were made[/]"))
    shown: set[str] = set()
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
