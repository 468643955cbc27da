"""What --db names, checked before a command opens it, and database errors made readable."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import twores
from twores.services.stores import database_unavailable, database_url, shown_url, write_conflict


class _IgnoredTermination(logging.Filter):
    """Drops psycopg's "error ignored terminating <Pipeline [BAD]>" (or COPY) warning: it
    comes while the error that ended the pipeline is raised, which the command reports."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error ignored terminating")


logging.getLogger("psycopg").addFilter(_IgnoredTermination())


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names (None for other databases and in-memory SQLite)."""
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme.split("+", 1)[0] != "sqlite":
        return None
    path = rest.split("?", 1)[0]
    return None if not path or path == ":memory:" or path.startswith("file:") else Path(path)


def shown(db: str | None) -> str:
    """The database as a user knows it: an SQLite file's path, or the URL sans password."""
    url = database_url(db)
    path = sqlite_file(url)
    return str(path) if path else shown_url(url)


def check(db: str | None, *, create: bool) -> None:
    """Refuse an SQLite path that cannot be a database; unless ``create``, a missing one."""
    path = sqlite_file(database_url(db))
    if path is None:
        return
    if path.is_dir():
        raise twores.TworesError(
            f"数据库 {path} 是一个文件夹，应为 SQLite 文件",
            f"database {path} is a folder, not an SQLite file",
        )
    if path.exists():
        return
    if not create:
        raise twores.TworesError(
            f"没有数据库 {path}：请先运行 twores init 或 twores demo，或用 --db 指定已有的数据库",
            f"no database {path}: run twores init or twores demo first, or name one with --db",
        )
    if not path.parent.is_dir():
        raise twores.TworesError(
            f"无法创建数据库 {path}：文件夹 {path.parent} 不存在",
            f"cannot create database {path}: folder {path.parent} does not exist",
        )


def as_error(error: Exception, db: str | None) -> twores.TworesError | None:
    """A database driver's failure to reach or read ``db``, as a TworesError (else None)."""
    exc = sys.modules.get("sqlalchemy.exc")  # loaded only once a store was opened
    if exc is None:
        return None
    refused = refused_write(error, exc, db)
    if refused is not None:
        return refused
    conflict = write_conflict(error)
    if not conflict and not database_unavailable(error):
        return None
    orig = getattr(error, "orig", None) or error
    reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    name = shown(db)
    if conflict:  # serialization, deadlock
        return twores.TworesError(
            f"与同时进行的另一写入冲突，未作任何更改，请重试（数据库 {name}：{reason}）",
            f"conflicted with another write made at the same time; nothing changed, try "
            f"again (database {name}: {reason})",
        )
    return twores.TworesError(
        f"无法使用数据库 {name}：{reason}", f"cannot use the database {name}: {reason}"
    )


def refused_write(error: Exception, exc: Any, db: str | None) -> twores.TworesError | None:
    """A value or row the database refused to store (a DataError: too long, too large, a
    NUL; an IntegrityError: a constraint), as a TworesError. It never shows the driver's
    text, the statement or its parameters: they can hold unmasked phone and ID numbers."""
    if isinstance(error, exc.DataError):
        zh = "数据超出数据库的限制（文本过长、数字过大或含有无法保存的字符）"
        en = (
            "a value exceeds the database's limits (a text too long, a number too large "
            "or a character it cannot store)"
        )
    elif isinstance(error, exc.IntegrityError):
        zh = "数据违反数据库的约束（如重复的记录或缺少所关联的记录）"
        en = (
            "the data breaks a database constraint (such as a duplicate record or a "
            "missing linked one)"
        )
    else:
        return None
    orig = getattr(error, "orig", None)
    state = str(getattr(orig, "sqlstate", "") or "")
    known = len(state) == 5 and state.isalnum()  # PostgreSQL's code, e.g. 22001: too long
    name = shown(db)
    return twores.TworesError(
        f"数据库 {name} 拒绝保存：{zh}，操作已中止，请检查输入后重试"
        + (f"（SQLSTATE {state}）" if known else ""),
        f"the database {name} refused to store the data: {en}; the operation was stopped, "
        "check the input and try again" + (f" (SQLSTATE {state})" if known else ""),
    )


#: Why a file could not be read or written, by the OS error raised.
_FILE_REASONS: tuple[tuple[type[OSError], str, str], ...] = (
    (FileNotFoundError, "文件或文件夹不存在", "no such file or folder"),
    (NotADirectoryError, "路径中有一段不是文件夹", "a part of the path is not a folder"),
    (IsADirectoryError, "这是一个文件夹，不是文件", "it is a folder, not a file"),
    (PermissionError, "没有读写权限", "permission denied"),
    (FileExistsError, "已存在", "already exists"),
)


def file_error(error: Exception) -> twores.TworesError | None:
    """A file the command could not read or write (naming it), as a TworesError."""
    if not isinstance(error, OSError) or error.filename is None:
        return None
    zh, en = next(
        ((z, e) for kind, z, e in _FILE_REASONS if isinstance(error, kind)),
        ("无法读写", error.strerror or type(error).__name__),
    )
    return twores.InvalidValueError("file", str(error.filename), zh, en)
