"""``twores problems``: the problem ledger (问题台账)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from rich.table import Table

import twores
from twores import Action, Problem, ProblemStatus, Severity
from twores.services.imports import file_sha256
from twores.services.problems import escalate_overdue, list_problems, transition_problem
from twores_cli.context import Context, pass_context

_DATE = click.DateTime(["%Y-%m-%d"])


def _plain(p: Problem) -> dict[str, object]:
    return {
        "id": p.id,
        "business_key": p.business_key,
        "area_code": p.area_code,
        "status": p.status.value,
        "severity": p.severity.value,
        "source": p.source.value,
        "description": p.description,
        "found_on": p.found_on.isoformat(),
        "deadline": p.deadline.isoformat() if p.deadline else None,
        "reporter": p.reporter,
        "verified_by": p.verified_by,
        "reminders": p.reminders,
        "escalation": p.escalation,
    }


@click.group("problems")
def command() -> None:
    """The problem ledger: found -> fixed -> verified -> closed / 问题台账."""


@command.command("list")
@click.option("--status", type=click.Choice([s.value for s in ProblemStatus]))
@click.option("--severity", type=click.Choice([s.value for s in Severity]))
@click.option("--overdue-on", type=_DATE, help="Only problems overdue on this day / 逾期")
@click.option("--business", help="One business's history / 某主体")
@click.option("--within", help="Only this area's subtree / 仅该区划")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@pass_context
def list_command(
    obj: Context,
    status: str | None,
    severity: str | None,
    overdue_on: dt.datetime | None,
    business: str | None,
    within: str | None,
    scope_area: str | None,
) -> None:
    """List problems / 问题清单.

    \b
    Examples:
      twores problems list --status rectifying --within 450323
      twores problems list --overdue-on 2026-04-20
      twores --format json problems list --business JY14503230034495
    """
    store = obj.store()
    found = list(
        list_problems(
            store,
            obj.scope(scope_area),
            status=ProblemStatus(status) if status else None,
            severity=Severity(severity) if severity else None,
            overdue_on=overdue_on.date() if overdue_on else None,
            business_key=business,
            within=within,
        )
    )
    store.close()
    if obj.output == "json":
        click.echo(json.dumps([_plain(p) for p in found], ensure_ascii=False))
        return
    t, lang = obj.t, obj.lang
    table = Table(
        t("编号", "id"),
        t("问题", "problem"),
        t("程度", "severity"),
        t("状态", "status"),
        t("期限", "deadline"),
    )
    for p in found:
        table.add_row(
            p.id,
            p.description,
            p.severity.label(lang),
            p.status.label(lang),
            p.deadline.isoformat() if p.deadline else "",
        )
    obj.show(table)


@command.command("show")
@click.argument("problem_id")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@pass_context
def show_command(obj: Context, problem_id: str, scope_area: str | None) -> None:
    """One problem with its whole history / 问题详情.

    \b
    Examples:
      twores problems show JY14503230034495/2026-03-02/1a2b3c4d
    """
    store = obj.store()
    with store.unit_of_work(obj.scope(scope_area)) as uow:
        problem = uow.problems.get(problem_id)
    store.close()
    if problem is None:
        raise twores.InvalidValueError(
            "id", problem_id, "问题不存在或不在辖区内", "no such problem"
        )
    if obj.output != "table":
        data = _plain(problem)
        data["history"] = [
            {
                "seq": e.seq,
                "action": e.action.value,
                "status": e.status.value,
                "actor": e.actor,
                "at": e.at.isoformat(),
                "note": e.note,
                "evidence": list(e.evidence),
                "deadline": e.deadline.isoformat() if e.deadline else None,
            }
            for e in problem.history
        ]
        obj.result(data)
        return
    t, lang = obj.t, obj.lang
    about = t("（{}，{}）", " ({}, {}) ").format(
        problem.severity.label(lang), problem.source.label(lang)
    )
    obj.console.print(
        f"{problem.id}  {problem.description}{about}→ {problem.status.label(lang)}",
        highlight=False,
        markup=False,
    )
    for e in problem.history:
        deadline = f" → {e.deadline}" if e.deadline else ""
        note = f"{t('：', ': ')}{e.note}" if e.note else ""
        obj.console.print(
            f"  {e.seq}. {e.at:%Y-%m-%d %H:%M} {e.actor} {e.action.label(lang)}{deadline}{note}",
            highlight=False,
            markup=False,
        )
        for digest in e.evidence:  # the SHA-256 of each evidence file, to check it against
            obj.console.print(f"     {obj.t('证据', 'evidence')} {digest}", highlight=False)


@command.command("transition")
@click.argument("problem_id")
@click.argument("action", type=click.Choice([a.value for a in Action]))
@click.option("--actor", required=True, help="Who takes the step (audit log) / 操作人")
@click.option("--note", default="", help="Reason or remark / 说明")
@click.option(
    "--evidence",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Evidence file (its SHA-256 is kept) / 证据",
)
@click.option("--deadline", type=_DATE, help="New deadline (default from the rules) / 期限")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@pass_context
def transition_command(
    obj: Context,
    problem_id: str,
    action: str,
    actor: str,
    note: str,
    evidence: tuple[Path, ...],
    deadline: dt.datetime | None,
    scope_area: str | None,
) -> None:
    """Move a problem one step / 问题流转.

    ACTION is one of order, fix_on_site, submit, verify, reject, close, remind, refer,
    case_closed, reopen. The verifier is never the reporter; submit, verify and
    case_closed need evidence.

    \b
    Examples:
      twores problems transition ID submit --actor 店主 --evidence 整改照片.jpg
      twores problems transition ID verify --actor 镇食安办 --evidence 复查照片.jpg
      twores problems transition ID close --actor 镇食安办
    """
    store = obj.store()
    after = transition_problem(
        obj.app,
        store,
        obj.scope(scope_area, actor),
        problem_id,
        Action(action),
        actor=actor,
        note=note,
        evidence=tuple(file_sha256(p) for p in evidence),
        deadline=deadline.date() if deadline else None,
    )
    store.close()
    obj.console.print(f"{after.id} → {after.status.label(obj.lang)}", highlight=False)


@command.command("overdue")
@click.option("--on", "on", type=_DATE, help="Day to judge (default today) / 日期")
@click.option("--within", help="Only this area's subtree / 仅该区划")
@click.option(
    "--letters",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each reminder letter (.docx) here / 提醒函输出目录",
)
@click.option(
    "--issuer",
    default="食品安全委员会办公室",
    show_default=True,
    help="The letters' signature / 落款单位",
)
@click.option("--actor", default="cli", show_default=True, help="Who runs it (audit log) / 操作人")
@click.option("--scope", "scope_area", help="Your area's subtree / 限定辖区")
@pass_context
def overdue_command(
    obj: Context,
    on: dt.datetime | None,
    within: str | None,
    letters: Path | None,
    issuer: str,
    actor: str,
    scope_area: str | None,
) -> None:
    """Escalate overdue problems one step each: reminder letter, then referral / 逾期升级.

    Running it twice on one day changes nothing the second time.

    \b
    Examples:
      twores problems overdue
      twores problems overdue --on 2026-04-20 --within 450323 --letters 提醒函
      twores problems overdue --scope 450323 --actor 张三
    """
    if on is not None and on.date() > twores.today():  # China's today; later steps would block
        obj.fail(
            twores.InvalidValueError("on", on.date(), "不能晚于今天", "must not be after today")
        )
    store = obj.store()
    with obj.working("正在处理逾期问题…", "escalating overdue problems…"):
        done = escalate_overdue(
            obj.app,
            store,
            obj.scope(scope_area, actor),  # who ran it: the audit log's actor
            on.date() if on else None,
            within=within,
            actor=actor,
            letters=letters,
            issuer=issuer,
        )
    store.close()
    if obj.output == "json":
        click.echo(
            json.dumps(
                [{"id": e.problem.id, "action": e.event.action.value} for e in done],
                ensure_ascii=False,
            )
        )
        return
    reminded = sum(e.event.action is Action.REMIND for e in done)
    obj.console.print(
        obj.t(
            f"发提醒函 {reminded} 件，移交立案 {len(done) - reminded} 件",
            f"{reminded} reminder letters, {len(done) - reminded} referrals",
        ),
        highlight=False,
    )
