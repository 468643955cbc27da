"""``twores init`` and ``twores synth``: a database to start from."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from twores.services.setup import init, synthesize
from twores.services.stores import shown_url
from twores.services.synth import CADRE_SHARE
from twores_cli import databases
from twores_cli.context import Context, pass_context


@click.command("init")
@click.option("--area", help="Only this area's subtree, e.g. 15 or 4503 / 区划")
@click.option(
    "--divisions",
    type=click.Path(exists=True, path_type=Path),
    help="Statistical division files (folder or file; .xz) / 区划代码文件",
)
@pass_context
def init_command(obj: Context, area: str | None, divisions: Path | None) -> None:
    """Create or migrate the database and load the areas / 初始化数据库与区划.

    Without --divisions the packaged 桂林市 hierarchy is loaded.

    \b
    Examples:
      twores init
      twores --db postgresql://user@host/twores init --divisions china-divisions-2022 --area 15
    """
    databases.check(obj.db, create=True)
    report = init(obj.app, obj.db, area=area, divisions=divisions)
    where = shown_url(str(report.url))
    obj.console.print(
        obj.t(
            f"已初始化：{where}，区划 {report.areas} 个",
            f"initialised {where}: {report.areas} areas",
        ),
        highlight=False,
    )


@click.command("synth")
@click.option("--businesses", type=int, required=True, help="Synthetic businesses / 主体数")
@click.option(
    "--cadres",
    type=int,
    required=True,
    help="Synthetic cadres, at least one per city, county, township and village (2,112 in "
    "桂林市): a smaller number is raised to that, with a note / 干部数，每个区划至少一名",
)
@click.option("--area", help="Only this area's subtree, e.g. 15 / 区划")
@click.option(
    "--divisions",
    type=click.Path(exists=True, path_type=Path),
    help="Statistical division files (default: the packaged 桂林市) / 区划代码文件",
)
@click.option(
    "--on",
    "on",
    type=click.DateTime(["%Y-%m-%d"]),
    default="2025-06-30",
    show_default=True,
    help="Assignment day / 分配日期",
)
@click.option("--seed", default=0, show_default=True, help="Random seed / 随机种子")
@click.option("--quarter", is_flag=True, help="Also run the next quarter's supervision / 模拟督导")
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("twores-synth"),
    show_default=True,
    help="Bulletin folder / 通报目录",
)
@pass_context
def synth_command(
    obj: Context,
    businesses: int,
    cadres: int,
    area: str | None,
    divisions: Path | None,
    on: dt.datetime,
    seed: int,
    quarter: bool,
    folder: Path,
) -> None:
    """A real hierarchy with synthetic businesses, cadres (and visits) / 生成模拟数据.

    \b
    Examples:
      twores --db im.db synth --divisions china-divisions-2022 --area 15 \\
          --businesses 225200 --cadres 39300
      twores synth --businesses 5000 --cadres 800 --quarter
    """
    databases.check(obj.db, create=True)
    with obj.working("正在生成模拟数据…", "synthesizing…"):
        report = synthesize(
            obj.app,
            obj.db,
            businesses=businesses,
            cadres=cadres,
            area=area,
            divisions=divisions,
            on=on.date(),
            seed=seed,
            quarter=quarter,
            folder=folder,
        )
    where = shown_url(str(report.url))
    hierarchy = obj.app.hierarchy  # the areas synthesize used
    minimum = sum(1 for a in hierarchy if a.tier in CADRE_SHARE) if hierarchy is not None else 0
    obj.console.print(
        obj.t(
            f"{where}：区划 {report.areas}，主体 {report.businesses}，干部 {report.cadres}，"
            f"新建包保关系 {report.assignments}",
            f"{where}: {report.areas} areas, {report.businesses} businesses, "
            f"{report.cadres} cadres, {report.assignments} assignments created",
        ),
        highlight=False,
    )
    if cadres < minimum:
        obj.message(
            f"注意：--cadres {cadres} 少于区划数，每个区划至少一名干部，"
            f"已按 {report.cadres} 名生成",
            f"note: --cadres {cadres} is fewer than the areas; each area has at least one "
            f"cadre, so {report.cadres} were made",
            style="yellow",
        )
    if report.cycle is not None:
        c = report.cycle.last
        obj.console.print(
            obj.t(
                f"{c.period.label('zh')}：任务 {c.tasks}，督导记录 {c.visits}，"
                f"问题 {c.problems_opened}",
                f"{c.period}: {c.tasks} tasks, {c.visits} visits, {c.problems_opened} problems",
            ),
            highlight=False,
        )
