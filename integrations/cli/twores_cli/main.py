"""The ``twores`` command: global options, then one thin command per use case."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType
from typing import Any, NoReturn

#: Exit code after Ctrl-C (128 + SIGINT), as shells give.
EXIT_INTERRUPTED = 130
#: Said on Ctrl-C while the CLI starts (before any command has run) ...
STARTING_INTERRUPTED = (
    "已中断：命令尚未开始，未作任何更改",
    "interrupted: the command had not started; nothing was changed",
)
#: ... and while a command runs: its database work is in transactions, rolled back
#: unless committed; what it committed, and files it had written in full, stay.
RUNNING_INTERRUPTED = (
    "已中断：未提交的更改均已撤销（中断前已提交的更改和已写完的文件保留）",
    "interrupted: nothing uncommitted was kept (changes committed and files written in "
    "full before the interrupt stay)",
)


def _interrupted_while_starting(_signal: int, _frame: FrameType | None) -> NoReturn:
    """Ctrl-C while the modules below load (about a second): a line, not a traceback."""
    zh, en = STARTING_INTERRUPTED
    with contextlib.suppress(OSError):
        os.write(2, f"\n{zh}\n{en}\n".encode())
    raise SystemExit(EXIT_INTERRUPTED)


_sigint = signal.getsignal(signal.SIGINT)
if _sigint is signal.default_int_handler:  # not when SIGINT is ignored (a background job)
    with contextlib.suppress(ValueError):  # imported outside the main thread: no handler
        signal.signal(signal.SIGINT, _interrupted_while_starting)

import click  # noqa: E402  (after the handler: loading these takes most of the start)

import twores  # noqa: E402
from twores_cli.commands import (  # noqa: E402
    assignments,
    audit,
    db,
    demo,
    duties,
    exports,
    imports,
    kpis,
    letters,
    plugins,
    problems,
    quality,
    setup,
    supervision,
    web,
)
from twores_cli.context import EXIT_ERROR, EXIT_USAGE, Context  # noqa: E402
from twores_cli.databases import as_error, broken_pipe, file_error, unopened  # noqa: E402
from twores_cli.output import FORMATS  # noqa: E402
from twores_cli.usage import bilingual  # noqa: E402


class TworesGroup(click.Group):
    """Renders a TworesError, a database that cannot be reached or read, or a file that
    cannot be written, as a Chinese line and an English one (one with ``--lang en``; exit
    code 1), and usage errors in Chinese too (exit code 2)."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as error:
            raise bilingual(error) from None

    def invoke(self, ctx: click.Context) -> object:
        global _running
        _running = True
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise bilingual(error) from None
        except (KeyboardInterrupt, click.Abort) as error:
            if isinstance(error, click.Abort) and not isinstance(
                error.__context__, KeyboardInterrupt
            ):
                raise  # end of input at a prompt: click's "Aborted!"
            obj = ctx.obj if isinstance(ctx.obj, Context) else Context()
            _say_interrupted(obj, RUNNING_INTERRUPTED)
            raise SystemExit(EXIT_INTERRUPTED) from None
        except Exception as error:
            obj = ctx.obj if isinstance(ctx.obj, Context) else Context()
            failed = (
                unopened(error, obj.db)
                if isinstance(error, twores.TworesError)
                else as_error(error, obj.db) or file_error(error)
            )
            if failed is None:
                raise
            obj.say(failed)  # both languages, as a usage error says it
            raise SystemExit(EXIT_ERROR) from None


#: Whether a command has begun (Ctrl-C then may have been in its transactions).
_running = False


def _say_interrupted(obj: Context | None, said: tuple[str, str]) -> None:
    """The Ctrl-C line on stderr (after the terminal's ``^C``), in --lang; never fails."""
    try:
        click.echo(file=sys.stderr)
        if obj is None:
            click.echo(f"{said[0]}\n{said[1]}", err=True)
        else:
            obj.message(*said, style="yellow")
    except Exception:  # stderr gone: the exit code still tells
        pass


@click.group(cls=TworesGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="TWORES_DB",
    default=None,
    help="Database URL or SQLite file (default: twores.db here) / 数据库地址或 SQLite 文件",
)
@click.option(
    "--region",
    "regions",
    multiple=True,
    help="Enable only these installed region plugins (repeatable) / 只启用这些地区插件",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format of tables; xlsx only to a file or pipe / 输出格式",
)
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
def cli(
    ctx: click.Context, db: str | None, regions: tuple[str, ...], output: str, lang: str
) -> None:
    """twores — 食品安全“两个责任”包保工作 (food-safety two responsibilities).

    \b
    Examples:
      twores demo
      twores --db twores.db import businesses 台账.xlsx
      twores --lang en plugins
    """
    ctx.obj = Context(lang=lang, db=db, regions=regions or None, output=output)
    loading = _load_error.get(regions or None)
    if loading is not None:  # the plugins' load error, once, in the chosen language(s)
        ctx.obj.say(loading)
        ctx.obj.said = loading  # a command that needs the rules fails with it: not again
    if output == "xlsx" and sys.stdout.isatty():
        ctx.obj.fail(
            twores.TworesError(
                "xlsx 不能输出到终端：请重定向到文件（… > 表.xlsx），"
                "或用 --format csv、twores export",
                "xlsx is not written to a terminal: redirect it to a file (... > table.xlsx), "
                "or use --format csv or twores export",
            ),
            EXIT_USAGE,
        )


for module in (demo, plugins, db, imports, exports, audit, duties, letters, problems, quality):
    cli.add_command(module.command)
cli.add_command(setup.init_command)
cli.add_command(setup.synth_command)
cli.add_command(assignments.assign_command)
cli.add_command(assignments.check_command)
cli.add_command(supervision.schedule_command)
cli.add_command(supervision.visit_group)
cli.add_command(kpis.kpi_command)
cli.add_command(kpis.kpis_command)
cli.add_command(kpis.rank_command)
cli.add_command(kpis.bulletin_command)
cli.add_command(web.serve_command)
cli.add_command(web.users_group)


def regions_named(args: list[str]) -> tuple[str, ...] | None:
    """The ``--region`` values given before the command (None: every installed plugin)."""
    found: list[str] = []
    for at, arg in enumerate(args):
        if arg in cli.commands:
            break
        if arg == "--region" and at + 1 < len(args):
            found.append(args[at + 1])
        elif arg.startswith("--region="):
            found.append(arg.partition("=")[2])
    return tuple(found) or None


#: The error loading the plugins gave, by the ``--region`` values it was for: printed
#: once, in ``--lang``, when the command line is read (a command that needs the rules
#: fails with the same error, which is not printed again).
_load_error: dict[tuple[str, ...] | None, twores.TworesError] = {}


def add_plugin_commands(regions: tuple[str, ...] | None = None) -> None:
    """Commands installed plugins add through ``twores_cli_commands``; with ``--region``,
    only those plugins' commands.

    A plugin that fails to load costs its commands, not the CLI: the error is kept and
    printed once, in the chosen language(s), before the command runs (``--region`` can
    leave the plugin out). Ours keep their names: a plugin command named like one is
    refused, its error printed."""
    _load_error.pop(regions, None)
    try:
        commands = twores.build(regions=regions).plugins.cli_commands_by_plugin()
    except twores.TworesError as error:
        _load_error[regions] = error
        return
    for plugin, command in commands:
        if command.name in cli.commands:
            click.echo(
                f"插件 {plugin} 的命令“{command.name}”与内置命令重名，未添加 | "
                f"command '{command.name}' of plugin {plugin} has a built-in command's name: "
                "not added",
                err=True,
            )
            continue
        cli.add_command(command)


def main() -> None:
    """Run the CLI (exit codes: 0 ok, 1 error, 2 usage, 3 input rejected, 130 Ctrl-C).

    Ctrl-C prints one line in both languages (once a command has started: what is kept),
    never a traceback; so does output that cannot be written (a full disk), also when
    stdout fails only as the command ends. A reader that has gone (``| head``) ends it
    quietly."""
    code: int | str | None = 0
    try:
        add_plugin_commands(regions_named(sys.argv[1:]))
        try:
            cli.main(prog_name="twores")
        except SystemExit as done:
            code = done.code
        unwritten = _flushed()
        if unwritten is not None and not code:
            raise unwritten
    except KeyboardInterrupt:
        _say_interrupted(None, RUNNING_INTERRUPTED if _running else STARTING_INTERRUPTED)
        code = EXIT_INTERRUPTED
    except OSError as error:
        _flushed()
        code = EXIT_ERROR
        if not broken_pipe(error):
            failed = file_error(error)
            _say(f"{failed.message_zh}\n{failed.message_en}" if failed else str(error))
    sys.exit(code)


def _say(text: str) -> None:
    with contextlib.suppress(OSError):  # stderr gone too: the exit code still tells
        click.echo(text, err=True)


def _flushed() -> OSError | None:
    """Write out what stdout still holds, so that a full disk fails here and not at the
    interpreter's exit (a traceback there, and exit code 120). When it cannot be written,
    what it holds is dropped (stdout then goes nowhere) and the error returned."""
    try:
        sys.stdout.flush()
        return None
    except OSError as error:
        try:
            nowhere = os.open(os.devnull, os.O_WRONLY)
            os.dup2(nowhere, sys.stdout.fileno())
            os.close(nowhere)
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        return error


# Loaded: Ctrl-C raises KeyboardInterrupt again, which main() (or a test, or a program
# embedding the CLI) handles.
if signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
    signal.signal(signal.SIGINT, _sigint)

if __name__ == "__main__":
    main()
