"""``twores kpi``, ``twores rank`` and ``twores bulletin``: rates, rankings, bulletins."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from rich.table import Column, Table

from twores.services.kpi_definitions import kpi_definition
from twores.services.kpis import (
    compute_kpis,
    issue_bulletin,
    kpi_specs,
    rank_children,
    shown_areas,
)
from twores.services.numbers import percent
from twores_cli.context import Context, pass_context

_DATE = click.DateTime(["%Y-%m-%d"])


@click.command("kpi")
@click.argument("period")
@click.option("--area", help="Show this area and its children (default: your scope's root) / 区域")
@click.option("--on", "on", type=_DATE, help="As of this day (default today or period end)")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@click.option(
    "--recount",
    is_flag=True,
    help="Count from raw rows, not the stored summary (after editing a rule or counter in "
    "development) / 不用汇总表，从原始数据重新计数",
)
@pass_context
def kpi_command(
    obj: Context,
    period: str,
    area: str | None,
    on: dt.datetime | None,
    scope_area: str | None,
    recount: bool,
) -> None:
    """The KPI dashboard: each child area's rates (numerator/denominator) / 指标看板.

    Each cell shows the rate and its counts, e.g. 29.8% (28/94): 28 overdue problems of
    94 open. A parent's value is the sum of its children's counts, never an average of
    rates.

    \b
    Examples:
      twores kpi 2026Q1
      twores kpi 2026Q1 --area 450323
      twores --format json kpi 2026-03 --area 4503
    """
    store, scope = obj.store(), obj.scope(scope_area)
    with obj.working("正在计算指标…", "computing KPIs…"):
        table = compute_kpis(
            obj.app,
            store,
            scope,
            period,
            as_of=on.date() if on else None,
            within=area,
            fresh=recount,
        )
    store.close()
    rows = shown_areas(table, scope, area)
    names = {a.code: a.name for a in table.hierarchy}
    if obj.output == "json":
        click.echo(
            json.dumps(
                {
                    "period": str(table.period),
                    "as_of": table.as_of.isoformat(),
                    "areas": [
                        {
                            "area_code": code,
                            "name": names.get(code, code),
                            **{
                                s.name: [
                                    table.value(s.name, code).numerator,
                                    table.value(s.name, code).denominator,
                                ]
                                for s in table.specs
                            },
                        }
                        for code in rows
                    ],
                },
                ensure_ascii=False,
            )
        )
        return
    lang = obj.lang
    view = Table(
        obj.t("区域", "area"), *(Column(s.label(lang), justify="right") for s in table.specs)
    )
    for code in rows:
        values = (table.value(s.name, code) for s in table.specs)
        view.add_row(
            names.get(code, code),
            *(f"{percent(v.rate)} ({v.numerator}/{v.denominator})" for v in values),
        )
    obj.show(view)


@click.command("kpis")
@click.option(
    "--area",
    help="Name tiers in the definitions as this area's region does (reads --db) / "
    "按该区域所在地区的层级称谓（旗、苏木…）解释指标",
)
@pass_context
def kpis_command(obj: Context, area: str | None) -> None:
    """The KPIs in force: what each counts, which way is good, its weight / 指标定义.

    The plugin column names the plugin whose definition is in force, and those it replaces
    where plugins register one KPI name more than once (JSON: plugin, replaces). With
    --area, the definitions call the tiers as the area's region names them (旗县级 in
    Inner Mongolia).

    \b
    Examples:
      twores kpis
      twores --lang en --format json kpis
      twores --region inner_mongolia kpis --area 15
    """
    lang, t = obj.lang, obj.t
    specs = kpi_specs(obj.app)
    sources = obj.app.plugins.kpi_sources()
    hierarchy = None
    if area is not None:
        with obj.store().unit_of_work(obj.scope()) as uow:
            hierarchy = uow.areas.hierarchy()
    definitions = {
        s.name: kpi_definition(obj.app, s, lang, hierarchy=hierarchy, area=area) for s in specs
    }
    if obj.output == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "label": s.label(lang),
                        "numerator": s.counts(lang)[0],
                        "denominator": s.counts(lang)[1],
                        "direction": s.direction.value,
                        "weight": s.weight,
                        "definition": definitions[s.name],
                        "plugin": sources[s.name][0],
                        "replaces": list(sources[s.name][1:]),
                    }
                    for s in specs
                ],
                ensure_ascii=False,
            )
        )
        return
    view = Table(
        t("指标", "KPI"),
        t("分子", "numerator"),
        t("分母", "denominator"),
        t("方向", "direction"),
        t("权重", "weight"),
        t("定义", "definition"),
        t("插件", "plugin"),
    )
    for s in specs:
        numerator, denominator = s.counts(lang)
        view.add_row(
            s.label(lang),
            numerator,
            denominator,
            s.direction.label(lang),
            f"{s.weight:g}",
            definitions[s.name],
            _source(sources[s.name], lang),
        )
    obj.show(view)


def _source(plugins: tuple[str, ...], lang: str) -> str:
    """The plugin whose definition is in force, and those it replaces."""
    first, replaced = plugins[0], plugins[1:]
    if not replaced:
        return first
    if lang == "zh":
        return f"{first}（替代 {'、'.join(replaced)}）"
    return f"{first} (replaces {', '.join(replaced)})"


@click.command("rank")
@click.argument("period")
@click.option("--parent", required=True, help="Rank this area's children / 上级区域")
@click.option("--on", "on", type=_DATE, help="As of this day (default today or period end)")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@pass_context
def rank_command(
    obj: Context, period: str, parent: str, on: dt.datetime | None, scope_area: str | None
) -> None:
    """Rank sibling areas by the weighted composite; the run is stored / 硬排名.

    \b
    Examples:
      twores rank 2026Q1 --parent 4503
      twores --format json rank 2026-W13 --parent 450323
    """
    store = obj.store()
    scope = obj.scope(scope_area)
    with obj.working("正在排名…", "ranking…"):
        day = on.date() if on else None
        table = compute_kpis(obj.app, store, scope, period, as_of=day, within=parent)
        ranking, _ = rank_children(obj.app, store, scope, period, parent, table=table)
    store.close()
    names = {a.code: a.name for a in table.hierarchy}
    if obj.output == "json":
        click.echo(
            json.dumps(
                {
                    "inputs_hash": ranking.inputs_hash,
                    "areas": [
                        {
                            "area_code": a.area_code,
                            "name": names.get(a.area_code, a.area_code),
                            "rank": a.rank,
                            "score": a.score,
                            "movement": a.movement,
                        }
                        for a in ranking.areas
                    ],
                },
                ensure_ascii=False,
            )
        )
        return
    t = obj.t
    view = Table(t("名次", "rank"), t("区域", "area"), t("综合得分", "score"), t("变化", "move"))
    for a in ranking.areas:
        move = (
            "—" if a.movement in (None, 0) else f"{'↑' if a.movement > 0 else '↓'}{abs(a.movement)}"
        )
        view.add_row(str(a.rank), names.get(a.area_code, a.area_code), percent(a.score), move)
    obj.show(view)
    obj.console.print(f"{t('输入摘要', 'inputs hash')} {ranking.inputs_hash[:16]}", highlight=False)


@click.command("bulletin")
@click.argument("period")
@click.option("--parent", required=True, help="Rank this area's children / 上级区域")
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("bulletins"),
    show_default=True,
    help="Output folder / 输出目录",
)
@click.option("--daily", is_flag=True, help="The daily dispatch table (日调度) / 日调度表")
@click.option("--on", "on", type=_DATE, help="As of this day (default today or period end)")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@pass_context
def bulletin_command(
    obj: Context,
    period: str,
    parent: str,
    folder: Path,
    daily: bool,
    on: dt.datetime | None,
    scope_area: str | None,
) -> None:
    """Write the weekly bulletin (周通报) or daily dispatch table as .docx, .xlsx and .md.

    \b
    Examples:
      twores bulletin 2026-W13 --parent 4503 --out 通报
      twores bulletin 2026-03-31 --parent 450323 --daily
    """
    store = obj.store()
    with obj.working("正在生成通报…", "writing the bulletin…"):
        paths = issue_bulletin(
            obj.app,
            store,
            obj.scope(scope_area),
            period,
            parent,
            folder,
            as_of=on.date() if on else None,
            kind="daily" if daily else "weekly",
        )
    store.close()
    for path in paths:
        obj.console.print(str(path), highlight=False)
