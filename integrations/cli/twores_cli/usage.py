"""Click's usage errors (exit code 2) with a Chinese line before click's English one."""

from __future__ import annotations

import os
import re
from typing import IO, Any

import click

#: Click's English details and their Chinese; the first match wins.
_DETAILS = (
    (r"(?:Path|File|Directory) '(.*)' does not exist\.", "路径“{0}”不存在"),
    (r"(?:Path|File|Directory) '(.*)' is a directory\.", "“{0}”是文件夹，应为文件"),
    (r"(?:Path|File|Directory) '(.*)' is a file\.", "“{0}”是文件，应为文件夹"),
    (r"'(.*)' is not a valid (?:integer|float)\.", "“{0}”不是数字"),
    (r"(.*) is not in the range (.*)\.", "{0} 不在范围 {1} 内"),
    (r"'(.*)' is not one of (.*)\.", "“{0}”不是可选值之一：{1}"),
    (r"'(.*)' does not match the formats? (.*)\.", "“{0}”不符合格式 {1}"),
    (r"No such command '(.*)'\.", "没有命令“{0}”"),
    (r"Option '(.*)' requires an argument\.", "选项 {0} 需要一个值"),
    (r"Got unexpected extra arguments? \((.*)\)", "多余的参数：{0}"),
    (r"Missing command\.", "缺少命令"),
)


class BadValue(click.BadParameter):
    """A bad option value whose message our own parameter types give in both languages."""

    def __init__(self, message_en: str, message_zh: str, **kwargs: Any) -> None:
        super().__init__(message_en, **kwargs)
        self.message_zh = message_zh


def _detail(message: str) -> str | None:
    for pattern, zh in _DETAILS:
        found = re.fullmatch(pattern, message.strip())
        if found:
            return zh.format(*found.groups())
    return None


def _name(error: click.BadParameter) -> str:
    """E.g. ``选项 --on`` or ``参数 FILE``."""
    param, hint = error.param, error.param_hint
    if param is not None and error.ctx is not None:
        hint = param.get_error_hint(error.ctx)
    kind = "参数" if param is None or param.param_type_name == "argument" else "选项"
    names = hint if isinstance(hint, str) else " / ".join(hint or ())
    return f"{kind} {names.replace(chr(39), '')}".rstrip()


def chinese(error: click.UsageError) -> str:
    """One Chinese line for ``error``; click's English message follows it."""
    if isinstance(error, click.MissingParameter):
        return f"缺少{_name(error)}"
    if isinstance(error, click.NoSuchOption):
        guess = f"，是否想用 {'、'.join(error.possibilities)}" if error.possibilities else ""
        return f"没有选项 {error.option_name}{guess}"
    detail = getattr(error, "message_zh", None) or _detail(error.message) or "用法有误"
    if isinstance(error, click.BadParameter):
        return f"{_name(error)} 的值无效：{detail}"
    return detail


def lang_of(error: click.UsageError) -> str:
    """The --lang in force when ``error`` arose (parsed so far, else TWORES_LANG)."""
    ctx = error.ctx.find_root() if error.ctx else None
    chosen = (getattr(ctx.obj, "lang", None) or ctx.params.get("lang")) if ctx else None
    return str(chosen or os.environ.get("TWORES_LANG") or "zh")


class BilingualUsageError(click.UsageError):
    """``error`` shown with its Chinese line first (under --lang zh)."""

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message(), error.ctx)
        self.zh = chinese(error) if lang_of(error) == "zh" else None

    def show(self, file: IO[Any] | None = None) -> None:
        if self.zh:
            click.echo(f"错误：{self.zh}", file=file, err=file is None)
        super().show(file)


def bilingual(error: click.UsageError) -> click.UsageError:
    """``error`` with its Chinese line, unless it shows itself its own way (e.g. the help
    shown for a group called without a command) or is so already."""
    if isinstance(error, BilingualUsageError) or type(error).show is not click.UsageError.show:
        return error
    return BilingualUsageError(error)
