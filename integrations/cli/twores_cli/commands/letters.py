"""``twores letters``: commitment letters and the three lists."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from rich.table import Table

from twores.services.commitments import generate_letters, letter_states, sign_letter
from twores_cli.context import Context, pass_context

_DATE = click.DateTime(["%Y-%m-%d"])


@click.group("letters")
def command() -> None:
    """Commitment letters and three lists / 承诺书与三清单."""


@command.command("generate")
@click.option("--year", type=int, required=True, help="Letter year / 年度")
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("letters"),
    show_default=True,
    help="Folder for the .docx and .xlsx files / 输出目录",
)
@click.option("--cadre", "cadre_id", help="Only this cadre / 仅该干部")
@click.option("--counterparty", help="Who signs with the cadre / 签订对象")
@click.option("--on", "on", type=_DATE, help="Lists as of this day (default today)")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@click.option("--actor", default="cli", show_default=True, help="Who (audit log)")
@pass_context
def generate_command(
    obj: Context,
    year: int,
    folder: Path,
    cadre_id: str | None,
    counterparty: str | None,
    on: dt.datetime | None,
    scope_area: str | None,
    actor: str,
) -> None:
    """Generate each cadre's letter and lists as .docx and .xlsx / 生成承诺书及三清单.

    A cadre holding no business owes no letter and is skipped (无需签订). When a
    changed list replaces a signed letter, its files in the folder are kept, renamed
    <year>-<cadre>-<signing day>签订-承诺书及三清单.docx/.xlsx.

    \b
    Examples:
      twores letters generate --year 2026 --out 承诺书
      twores letters generate --year 2026 --cadre C450323101-003 --counterparty 大圩镇党委书记
    """
    store = obj.store()
    with obj.working("正在生成承诺书…", "writing letters…"):
        generated = generate_letters(
            obj.app,
            store,
            obj.scope(scope_area, actor),
            year,
            folder,
            on=on.date() if on else None,
            cadre_id=cadre_id,
            counterparty=counterparty,
        )
    store.close()
    renewed = sum(g.renewed for g in generated)
    skipped = len(generated.not_owed)
    obj.result(
        {
            "year": year,
            "folder": str(folder),
            "cadres": len(generated),
            "renewed": renewed,
            "not_owed": list(generated.not_owed),
            "files": [str(p) for g in generated for p in (g.docx, g.xlsx) if p is not None],
        }
    )
    obj.console.print(
        obj.t(
            f"已生成 {len(generated)} 名干部的承诺书及三清单（新签 {renewed}；"
            f"无包保主体、无需签订 {skipped}）：{folder}",
            f"letters and lists for {len(generated)} cadres ({renewed} new; "
            f"{skipped} holding no business owe none): {folder}",
        ),
        highlight=False,
    )


@command.command("sign")
@click.argument("cadre_id")
@click.option("--year", type=int, required=True, help="Letter year / 年度")
@click.option("--on", "signed_on", type=_DATE, required=True, help="Signing date / 签订日期")
@click.option("--counterparty", required=True, help="Who signed with the cadre / 签订对象")
@click.option(
    "--scan",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scan of the signed letter (its SHA-256 is kept) / 扫描件",
)
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@click.option("--actor", default="cli", show_default=True, help="Who (audit log)")
@pass_context
def sign_command(
    obj: Context,
    cadre_id: str,
    year: int,
    signed_on: dt.datetime,
    counterparty: str,
    scan: Path | None,
    scope_area: str | None,
    actor: str,
) -> None:
    """Record that CADRE_ID signed the year's letter / 登记承诺书签订.

    A letter already signed is refused: a signing is never changed (签订记录不可更改).

    \b
    Examples:
      twores letters sign C450323101-003 --year 2026 --on 2026-03-20 \\
          --counterparty 大圩镇党委书记 --scan 承诺书扫描件.pdf
    """
    store = obj.store()
    letter = sign_letter(
        store,
        obj.scope(scope_area, actor),
        cadre_id,
        year,
        signed_on=signed_on.date(),
        counterparty=counterparty,
        scan=scan,
    )
    store.close()
    obj.console.print(
        obj.t(
            f"已登记：{letter.cadre_id} {year}年承诺书，{letter.signed_on}签订",
            f"recorded: {letter.cadre_id}'s {year} letter, signed {letter.signed_on}",
        ),
        highlight=False,
    )


@command.command("status")
@click.option("--year", type=int, required=True, help="Letter year / 年度")
@click.option("--on", "on", type=_DATE, help="As of this day (default today)")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@pass_context
def status_command(obj: Context, year: int, on: dt.datetime | None, scope_area: str | None) -> None:
    """Who has signed, and who still owes a letter / 承诺书签订情况.

    With --on, as of that day: the letter then in force; a later signing does not show.

    \b
    Examples:
      twores letters status --year 2026
      twores --format json letters status --year 2026 --scope 450323
    """
    store = obj.store()
    states = letter_states(
        obj.app, store, obj.scope(scope_area), year, on=on.date() if on else None
    )
    store.close()
    if obj.output == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "cadre_id": s.cadre.id,
                        "status": s.status.value,
                        "businesses": s.businesses,
                        "deadline": s.deadline.isoformat(),
                        "signed_on": s.letter.signed_on.isoformat()
                        if s.letter and s.letter.signed_on
                        else None,
                    }
                    for s in states
                ],
                ensure_ascii=False,
            )
        )
        return
    t = obj.t
    table = Table(
        t("干部", "cadre"),
        t("层级", "tier"),
        t("包保主体", "businesses"),
        t("状态", "status"),
        t("签订日期", "signed on"),
        t("截止", "deadline"),
    )
    for s in states:
        signed = s.letter.signed_on.isoformat() if s.letter and s.letter.signed_on else ""
        table.add_row(
            f"{s.cadre.name}（{s.cadre.id}）",
            s.level(obj.lang),
            str(s.businesses),
            s.status.label(obj.lang),
            signed,
            s.deadline.isoformat(),
        )
    obj.show(table)
