"""State shared by every command: language, database, regions, output format."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

import attrs
import click
from rich.console import Console
from rich.status import Status
from rich.table import Table

import twores
from twores.services.sheets.parsing import RowError
from twores.services.sheets.report import ERRORS_NOT_LISTED, REPORT_NOT_WRITTEN
from twores.services.stores import open_store
from twores_cli import databases, output

#: Documented exit codes.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
#: Row errors a refused import prints (the report lists them all).
SHOWN_ERRORS = 20
#: Problem ids a summary prints (--format json lists them all).
SHOWN_PROBLEMS = 20

#: Where a refused file's row-level report goes (every import command takes it).
report_dir_option = click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a refused file's error report here (default: beside the file) / 错误报告目录",
)


@attrs.define
class Context:
    lang: str = "zh"
    db: str | None = None
    regions: tuple[str, ...] | None = None
    output: str = "table"
    # messages are never wrapped (a path or a row error stays one line to copy from a log);
    # tables still fit the terminal
    console: Console = attrs.field(factory=lambda: Console(soft_wrap=True))
    errors: Console = attrs.field(factory=lambda: Console(stderr=True, soft_wrap=True))
    _app: twores.Twores | None = None
    #: An error printed already (the plugins' load error): :meth:`say` skips it.
    said: twores.TworesError | None = None

    def __attrs_post_init__(self) -> None:
        if self.output != "table":  # stdout carries only the data; messages go to stderr
            self.console = Console(stderr=True, soft_wrap=True)

    def t(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    @property
    def app(self) -> twores.Twores:
        if self._app is None:
            self._app = twores.build(regions=self.regions)
        return self._app

    def store(self, *, create: bool = False) -> twores.Store:
        """Open --db; a missing SQLite file is an error unless ``create``."""
        databases.check(self.db, create=create)
        store = open_store(self.app, self.db)
        databases.announce_waits(store, self._waiting)
        return store

    def _waiting(self) -> None:
        """Said once when a write has waited a while for another process's write (the
        store waits up to 600 s, in silence)."""
        self.message(
            "正在等待另一项写入完成…", "waiting for another write to finish…", style="yellow"
        )

    def show(self, table: Table) -> None:
        """Print a command's table in the --format chosen."""
        output.show(self.console, table, self.output)

    def result(self, record: Mapping[str, object]) -> None:
        """A command's outcome that is no table, on stdout for --format json (an object),
        csv or xlsx (one row); with --format table its text says it all."""
        if self.output == "table":
            return
        if self.output == "json":
            click.echo(json.dumps(record, ensure_ascii=False, default=str))
            return
        table = Table(*record.keys())
        table.add_row(*(_cell(value) for value in record.values()))
        output.show(self.console, table, self.output)

    def note(self, table: Table) -> None:
        """Print a secondary table with the messages (stderr unless --format table)."""
        output.show(self.console, table, "table")

    def scope(
        self, area: str | None = None, actor: str = "cli", role: str | None = None
    ) -> twores.Scope:
        """The caller's scope: ``role`` if given, else an office for an area, else admin."""
        chosen = twores.Role(role) if role else (twores.Role.OFFICE if area else twores.Role.ADMIN)
        return twores.Scope(actor, chosen, area)

    def opened(self, problems: Sequence[str]) -> str:
        """The problems a visit or an import opened, as a summary's last clause ("" if
        none): how many, and the ids (the first :data:`SHOWN_PROBLEMS`)."""
        if not problems:
            return ""
        ids = "、".join(problems[:SHOWN_PROBLEMS])
        more = len(problems) > SHOWN_PROBLEMS
        return self.t(
            f"；登记问题 {len(problems)} 个：{ids}" + ("等" if more else ""),
            f"; opened {len(problems)} problems: {ids}" + (" …" if more else ""),
        )

    def working(self, zh: str, en: str) -> Status:
        """A spinner on stderr while a long operation runs (shown on terminals only)."""
        return self.errors.status(self.t(zh, en))

    def rejected(
        self,
        errors: Sequence[RowError],
        report: Path | None,
        *,
        kind: str,
        file: Path,
        **fields: object,
    ) -> NoReturn:
        """A refused file: how many errors, where the report is (or why it is not), the
        first rows; exit 3. With ``--format json`` stdout carries them as one object:
        kind, file, accepted (false), report (its path or null), errors ([{row, serial,
        column, value, code, zh, en}], the notes among them) and ``fields``."""
        t = self.t
        count = sum(e.code not in (REPORT_NOT_WRITTEN, ERRORS_NOT_LISTED) for e in errors)
        if any(e.code == ERRORS_NOT_LISTED for e in errors):
            count_zh, count_en = f"至少 {count}", f"at least {count:,}"
        else:
            count_zh, count_en = str(count), str(count)
        if self.output == "json":
            self.result(
                {
                    "kind": kind,
                    "file": str(file),
                    "accepted": False,
                    "report": str(report) if report else None,
                    **fields,
                    "errors": [
                        {
                            "row": e.row or None,
                            "serial": e.serial,
                            "column": e.column,
                            "value": e.value,
                            "code": e.code,
                            "zh": e.reason_zh,
                            "en": e.reason_en,
                        }
                        for e in errors
                    ],
                }
            )
        shown_zh = str(report) if report else "未能写入（原因见下）"
        shown_en = str(report) if report else "not written (see below)"
        self.message(
            f"拒绝导入：{count_zh} 处错误，数据库未改动。错误报告：{shown_zh}",
            f"rejected: {count_en} error(s), nothing changed. Report: {shown_en}",
            style="red",
        )
        for error in errors[:SHOWN_ERRORS]:
            reason = (
                f"{error.reason_zh} / {error.reason_en}" if self.lang == "zh" else error.reason_en
            )
            where = f"{t('第', 'row ')}{error.row}{t('行', '')}" if error.row else t("文件", "file")
            cell = f" {error.column}“{error.value}”" if error.column or error.value else ""
            # the file's own text: printed as it is, never read as markup
            self.errors.print(f"  {where}{cell}：{reason}", highlight=False, markup=False)
        if len(errors) > SHOWN_ERRORS:
            more = len(errors) - SHOWN_ERRORS
            if report is not None:
                self.errors.print(
                    t(f"  ……另有 {more} 处，见报告", f"  … {more:,} more in the report")
                )
            elif self.output != "json":  # json lists them all on stdout
                self.message(
                    f"  ……另有 {more} 处未在此显示，错误报告也未能写入：用 --format json "
                    "列出全部错误，或用 --report-dir 指定可写的文件夹后重新导入",
                    f"  … {more:,} more not shown here, and the error report could not be "
                    "written: use --format json to list every error, or name a writable "
                    "folder with --report-dir and import again",
                )
        raise SystemExit(EXIT_REJECTED)

    def message(self, zh: str, en: str, style: str = "red") -> None:
        """A message on stderr in the chosen language; in Chinese the English follows (as
        :meth:`say` prints an error). Printed as it is, never read as markup."""
        self.errors.print(self.t(zh, en), style=style, highlight=False, markup=False)
        if self.lang == "zh" and en != zh:
            self.errors.print(en, highlight=False, markup=False)

    def fail(self, error: twores.TworesError, code: int = EXIT_ERROR) -> NoReturn:
        self.say(error)
        raise SystemExit(code)

    def say(self, error: twores.TworesError) -> None:
        """An error on stderr in the chosen language; in Chinese the English follows."""
        said = self.said
        if said is not None and (said.message_zh, said.message_en) == (
            error.message_zh,
            error.message_en,
        ):
            return
        self.message(error.message_zh, error.message_en)


pass_context = click.make_pass_decorator(Context)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
