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

    Prints the last entry's number and hash: kept where the app cannot write, they show
    later that no entry was forged into the chain since.

    \b
    Example:
      twores audit verify
    """
    store = obj.store()
    with store.unit_of_work(twores.Scope.system("twores audit verify")) as uow:
        problems = uow.audit.verify()
        summary = None if problems else uow.audit.summary()  # a damaged log may not read
    store.close()
    obj.result(
        {
            "intact": not problems,
            "entries": summary.entries if summary else None,
            "last_seq": summary.last_seq if summary else None,
            "last_hash": summary.last_hash if summary else None,
            "problems": [p.message_en for p in problems],
        }
    )
    if summary is not None:
        count, seq, digest = summary.entries, summary.last_seq, summary.last_hash
        obj.console.print(
            obj.t(f"审计日志完整：{count} 条记录", f"audit log intact: {count} entries")
        )
        if seq is not None:
            obj.console.print(obj.t(f"末条 #{seq} 哈希 {digest}", f"last #{seq} hash {digest}"))
        return
    for problem in problems:  # in Chinese the English follows, as for every error
        said = problem.message_zh if obj.lang == "zh" else problem.message_en
        obj.errors.print(said, style="red", highlight=False, markup=False)
        if obj.lang == "zh" and problem.message_en != problem.message_zh:
            obj.errors.print(problem.message_en, highlight=False, markup=False)
    raise SystemExit(EXIT_ERROR)
