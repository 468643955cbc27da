"""``twores audit``: the tamper-evident audit log."""

from __future__ import annotations

import click

import twores
from twores_cli.context import EXIT_ERROR, Context, pass_context


@click.group("audit")
def command() -> None:
    """Audit log / 审计日志."""


@command.command("verify")
@pass_context
def verify(obj: Context) -> None:
    """Check the hash chain: exit 1 listing any edited or deleted entry / 校验审计日志.

    \b
    Example:
      twores audit verify
    """
    store = obj.store()
    with store.unit_of_work(twores.Scope.system("twores audit verify")) as uow:
        problems = uow.audit.verify()
        count = sum(1 for _ in uow.audit.entries())
    store.close()
    if not problems:
        obj.console.print(
            obj.t(f"审计日志完整：{count} 条记录", f"audit log intact: {count} entries")
        )
        return
    for problem in problems:
        obj.errors.print(
            problem.message_zh if obj.lang == "zh" else problem.message_en, highlight=False
        )
    raise SystemExit(EXIT_ERROR)
