"""``twores demo``: what ``make demo`` runs."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from twores.services.demo import GUILIN_BUSINESSES, GUILIN_CADRES, DemoReport, run_demo
from twores.services.demo_cycle import CycleReport
from twores.services.numbers import percent
from twores.services.stores import shown_url
from twores.services.synth import CADRE_SHARE
from twores_cli import databases
from twores_cli.context import EXIT_ERROR, Context, pass_context


@click.command("demo")
@click.option(
    "--businesses", default=GUILIN_BUSINESSES, show_default=True, help="Synthetic businesses"
)
@click.option(
    "--cadres",
    default=GUILIN_CADRES,
    show_default=True,
    help="Synthetic cadres, at least one per area (2,112 in 桂林市): a smaller number is "
    "raised to that, with a note / 合成干部数，每个区划至少一名",
)
@click.option("--seed", default=2023, show_default=True, help="Random seed for the synthetic data")
@click.option(
    "--cycle/--no-cycle",
    default=True,
    show_default=True,
    help="Run the next year's quarterly supervision, KPIs and bulletin / 运行一年的季度督导",
)
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("twores-demo"),
    show_default=True,
    help="Folder for the bulletin files / 通报输出目录",
)
@pass_context
def command(
    obj: Context, businesses: int, cadres: int, seed: int, cycle: bool, folder: Path
) -> None:
    """Run the demo on the real 桂林市 hierarchy, stored in SQLite / 在桂林市真实区划上运行演示.

    Stores the region, synthetic businesses and cadres (the sizes Guilin reports), grades
    them, plans and stores the assignments and checks the invariants; then runs the year
    that follows, quarter by quarter: tasks, visits with a realistic completion pattern,
    problems through the ledger; then the last quarter's KPIs, a county ranking and the
    weekly bulletin (in --out). Uses --db (default twores.db here); running it again
    changes nothing.

    \b
    Example:
      twores --db demo.db demo --businesses 5000 --cadres 800
    """
    databases.check(obj.db, create=True)
    with obj.working("正在运行演示…", "running the demo…"):
        report = run_demo(
            obj.app,
            db=obj.db,
            businesses=businesses,
            cadres=cadres,
            seed=seed,
            cycle=cycle,
            folder=folder,
        )
    _print(obj, report)
    minimum = sum(n for tier, n in report.areas_by_tier.items() if tier in CADRE_SHARE)
    if cadres < minimum:
        obj.message(
            f"注意：--cadres {cadres} 少于区划数，每个区划至少一名干部，已按 {minimum} 名生成",
            f"note: --cadres {cadres} is fewer than the areas; each area has at least one "
            f"cadre, so {minimum} were made",
            style="yellow",
        )
    if report.cycle is not None:
        _print_cycle(obj, report.cycle)
    if report.violations:
        raise SystemExit(EXIT_ERROR)


def _print(obj: Context, report: DemoReport) -> None:
    t, console, lang = obj.t, obj.console, obj.lang
    console.print(
        t(f"[bold]演示区域：{report.region}[/]", f"[bold]Demo region: {report.region}[/]")
    )
    console.print(
        "  ".join(f"{tier.label(lang)}: {n}" for tier, n in sorted(report.areas_by_tier.items()))
    )
    table = Table(title=t(f"包保分级（{report.on}）", f"Assignment grades ({report.on})"))
    for header in (t("等级", "grade"), t("主体数", "businesses"), t("包保层级", "cadre tier")):
        table.add_column(header)
    tiers = {r.grade.value: r.tier.value for r in report.examples}
    for grade in sorted(report.grades, key=lambda g: g.value):
        tier = tiers.get(grade)
        table.add_row(
            grade.label(lang), str(report.grades[grade]), tier.label(lang) if tier else ""
        )
    obj.note(table)
    summary = Table(title=t("数据库", "Database"), show_header=False)
    summary.add_column()
    summary.add_column()
    for label_zh, label_en, value in (
        ("包保主体", "businesses", report.businesses),
        ("包保干部", "cadres", report.cadres),
        ("有效包保关系", "active assignments", report.assignments_active),
        ("无法分配", "unplaceable", report.unplaced),
        ("单人最多包保", "largest load", report.max_load),
        ("须配备食品安全总监", "must appoint a director", report.directors_required),
        ("不变量违例", "invariant violations", report.violations),
        ("审计记录", "audit entries", report.audit_entries),
    ):
        summary.add_row(t(label_zh, label_en), str(value))
    obj.note(summary)
    console.print(t("[bold]规则决定示例[/]", "[bold]How some decisions were made[/]"))
    shown: set[str] = set()
    for item in report.examples:
        key = f"{item.grade.rule.id}/{item.director.rule.id}/{item.director.value}"
        if key in shown:
            continue
        shown.add(key)
        for decision in (item.grade, item.director):
            console.print(" • " + decision.explain(lang), highlight=False)
        if len(shown) >= 3:
            break
    first = report.examples[0]
    console.print(" • " + first.frequency.explain(lang), highlight=False)
    for zh, en in report.explanations:
        console.print(" • " + (zh if lang == "zh" else en), highlight=False)
    console.print(
        t(
            f"用时 {report.seconds:.1f} 秒；数据库：{shown_url(report.db_url)}",
            f"took {report.seconds:.1f} s; database: {shown_url(report.db_url)}",
        ),
        highlight=False,
    )


_DASHBOARD = ("coverage", "task_completion", "rectification", "overdue_problems")


def _print_cycle(obj: Context, cycle: CycleReport) -> None:
    t, lang, table = obj.t, obj.lang, cycle.kpis
    for q in cycle.quarters:
        earlier = q.problems_found - q.problems_opened  # recorded by an earlier run
        obj.console.print(
            t(
                f"[bold]{q.period.label('zh')}督导[/]：任务 {q.tasks}，督导记录 {q.visits}，"
                f"发现问题 {q.problems_found}（"
                + (f"此前已记录 {earlier}；" if earlier else "")
                + f"本次销号 {q.problems_closed}，逾期发提醒函 {q.reminders}）",
                f"[bold]{q.period} supervision[/]: {q.tasks} tasks, {q.visits} visits, "
                f"{q.problems_found} problems found ("
                + (f"{earlier} recorded before; " if earlier else "")
                + f"{q.problems_closed} closed now, {q.reminders} reminder letters)",
            ),
            highlight=False,
        )
    specs = {s.name: s for s in table.specs}
    view = Table(title=t("指标看板", "KPI dashboard"))
    view.add_column(t("区域", "area"))
    for name in _DASHBOARD:
        view.add_column(specs[name].label(lang))
    names = {a.code: a.name for a in table.hierarchy}
    top = table.children(None)[0]
    city = next(iter(table.children(top)), top)
    for code in [city, *table.children(city)]:
        cells = []
        for name in _DASHBOARD:
            value = table.value(name, code)
            cells.append(percent(value.rate))
        view.add_row(names.get(code, code), *cells)
    obj.note(view)
    for path in cycle.files:
        obj.console.print(f"{t('文件', 'file')}: {path}", highlight=False)
