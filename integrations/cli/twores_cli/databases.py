"""What --db names, checked before a command opens it, and database errors made readable."""

from __future__ import annotations

import errno
import io
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import twores
from twores.services.stores import (
    database_unavailable,
    database_url,
    shown_url,
    sqlite_path,
    write_conflict,
)


class _IgnoredTermination(logging.Filter):
    """Drops psycopg's "error ignored terminating <Pipeline [BAD]>" (or COPY) warning: it
    comes while the error that ended the pipeline is raised, which the command reports."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error ignored terminating")


logging.getLogger("psycopg").addFilter(_IgnoredTermination())


def shown(db: str | None) -> str:
    """The database as a user knows it: an SQLite file's path, or the URL sans password."""
    url = database_url(db)
    path = sqlite_path(url)
    return str(path) if path else shown_url(url)


def check(db: str | None, *, create: bool) -> None:
    """Refuse an SQLite path that cannot be a database; unless ``create``, a missing one."""
    path = sqlite_path(database_url(db))
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
    zh, en = explained(reason, db)
    return twores.TworesError(
        f"无法使用数据库 {name}：{zh}", f"cannot use the database {name}: {en}"
    )


def unopened(error: twores.TworesError, db: str | None) -> twores.TworesError:
    """The store's "cannot open the database" error with its reason in Chinese too (the
    driver's English reason kept in the English line), and why when it can be told: a
    read-only folder or mount, a file that cannot be read. Other errors as they are."""
    cause = error.__cause__
    if getattr(error, "code", None) != "store_unavailable" or cause is None:
        return error
    orig = getattr(cause, "orig", None) or cause
    reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    zh, en = explained(reason, db)
    name = shown(db)
    return twores.TworesError(
        f"无法打开数据库 {name}：{zh}", f"cannot open the database {name}: {en}"
    )


#: The common reasons SQLite and PostgreSQL (psycopg) give, by a part of their English
#: text (lower case): its Chinese, and what to do (in both languages; "" if nothing).
_DB_REASONS: tuple[tuple[str, str, str, str], ...] = (
    (
        "database is locked",
        "数据库被另一进程锁定，等待超时",
        "另一写入结束后重试",
        "try again once the other write has finished",
    ),
    (
        "database or disk is full",
        "数据库或磁盘已满",
        "腾出磁盘空间后重试",
        "free disk space and try again",
    ),
    (
        "disk i/o error",
        "磁盘读写出错（磁盘故障、网络盘断开或文件被移走）",
        "检查磁盘及网络盘后重试",
        "check the disk or network share and try again",
    ),
    (
        "database disk image is malformed",
        "数据库文件已损坏",
        "请从备份恢复数据库",
        "restore the database from a backup",
    ),
    ("file is not a database", "不是 SQLite 数据库文件", "", ""),
    ("unable to open database file", "无法打开数据库文件", "", ""),
    ("attempt to write a readonly database", "数据库是只读的，无法写入", "", ""),
    (
        "no such table",
        "数据库中缺少所需的表：它不是 twores 数据库，或结构尚未升级",
        "运行 twores db upgrade，或用 --db 指定 twores 数据库",
        "run twores db upgrade, or name a twores database with --db",
    ),
    (
        "no such column",
        "数据库结构与本版本不符",
        "运行 twores db upgrade",
        "run twores db upgrade",
    ),
    (
        "connection refused",
        "数据库服务器拒绝连接（服务器未运行，或地址、端口不对）",
        "",
        "",
    ),
    (
        "could not translate host name",
        "找不到数据库服务器（主机名无法解析）",
        "",
        "",
    ),
    ("password authentication failed", "数据库登录失败：用户名或密码不对", "", ""),
    ("no pg_hba.conf entry", "数据库服务器不允许此连接（pg_hba.conf）", "", ""),
    ("timeout expired", "连接数据库服务器超时", "", ""),
    ("server closed the connection", "数据库服务器断开了连接", "稍后重试", "try again later"),
    ("terminating connection", "数据库服务器断开了连接", "稍后重试", "try again later"),
    ("could not extend file", "数据库服务器磁盘已满", "", ""),
    ("no space left on device", "磁盘已满", "腾出磁盘空间后重试", "free disk space and try again"),
    ("does not exist", "数据库或用户不存在", "", ""),
)


def explained(reason: str, db: str | None) -> tuple[str, str]:
    """A database driver's English ``reason``, as a Chinese reason and an English one (the
    driver's text, then why, when it can be told, and what to do)."""
    lowered = reason.lower()
    found = next((r for r in _DB_REASONS if r[0] in lowered), None)
    if found is None:
        return reason, reason
    _, zh, todo_zh, todo_en = found
    en = reason
    if found[0] in ("unable to open database file", "attempt to write a readonly database"):
        why = _unwritable_sqlite(db, writing=found[0].startswith("attempt"))
        if why is not None:
            zh, todo_zh = why[0], why[1]
            en, todo_en = f"{reason}: {why[2]}", why[3]
    if todo_zh:
        zh, en = f"{zh}；{todo_zh}", f"{en}; {todo_en}"
    return zh, en


_WAL = (
    "SQLite 要在数据库旁创建 -wal 和 -shm 文件，即使只读取，数据库所在的文件夹也必须可写",
    "SQLite creates the -wal and -shm files beside the database, so even to read it the "
    "database's folder must be writable",
)


def _unwritable_sqlite(db: str | None, *, writing: bool) -> tuple[str, str, str, str] | None:
    """Why an SQLite file cannot be opened or written, when the file system tells
    (Chinese, what to do, English, what to do), else None."""
    path = sqlite_path(database_url(db))
    if path is None:
        return None
    folder = path.parent
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no such folder; no statvfs (Windows)
        read_only = False
    copy_zh = "请把数据库复制到可写的文件夹，用 --db 指定它"
    copy_en = "copy the database to a writable folder and name it with --db"
    if read_only:
        return (
            f"数据库所在的磁盘或分区（{folder}）是只读挂载的；{_WAL[0]}",
            copy_zh,
            f"the database's folder {folder} is on a read-only file system; {_WAL[1]}",
            copy_en,
        )
    if path.exists() and not os.access(path, os.R_OK):
        return (
            f"没有读取数据库文件 {path} 的权限",
            "请检查文件权限",
            f"permission denied reading the database file {path}",
            "check the file's permissions",
        )
    if folder.is_dir() and not os.access(folder, os.W_OK):
        return (
            f"没有在数据库所在文件夹 {folder} 中写入的权限；{_WAL[0]}",
            f"{copy_zh}，或请管理员开放该文件夹的写权限",
            f"no permission to write in the database's folder {folder}; {_WAL[1]}",
            f"{copy_en}, or have the folder made writable",
        )
    if writing and path.exists() and not os.access(path, os.W_OK):
        return (
            f"没有写数据库文件 {path} 的权限",
            "请检查文件权限",
            f"no permission to write the database file {path}",
            "check the file's permissions",
        )
    return None


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

#: Why, by the OS error's number, for errors with no type of their own: Chinese, English,
#: and whether only a write meets it.
_ERRNO_REASONS: dict[int, tuple[str, str, bool]] = {
    errno.ENOSPC: ("磁盘已满", "the disk is full", True),
    errno.EDQUOT: ("超出了磁盘配额", "the disk quota is used up", True),
    errno.EFBIG: (
        "文件过大，超出文件系统的限制",
        "the file is too large for the file system",
        True,
    ),
    errno.EROFS: ("磁盘以只读方式挂载（只读文件系统）", "read-only file system", True),
    errno.EIO: (
        "磁盘读写出错（磁盘故障或网络盘断开）",
        "input/output error (a failing disk or a lost network share)",
        False,
    ),
    errno.EACCES: ("无权限", "permission denied", False),
    errno.EPERM: ("不允许此操作", "operation not permitted", False),
    errno.ENAMETOOLONG: ("文件名过长", "the file name is too long", False),
    errno.EMFILE: ("打开的文件过多", "too many open files", False),
    errno.ENFILE: ("系统打开的文件过多", "too many open files in the system", False),
    errno.ENOMEM: ("内存不足", "out of memory", False),
}


def _os_reason(error: OSError) -> tuple[str, str]:
    """Why ``error`` happened, in Chinese and English."""
    typed = next(((z, e) for kind, z, e in _FILE_REASONS if isinstance(error, kind)), None)
    if typed is not None:
        return typed
    known = _ERRNO_REASONS.get(error.errno or 0)
    if known is not None:
        return known[0], known[1]
    words = error.strerror or type(error).__name__
    return f"系统错误（{words}）", words


#: The attributes of a writer (``self`` in a traceback's frame) that hold the stream it
#: writes to: rich's Console.file, zipfile's fp, gzip's fileobj, lzma's _fp, ...
_STREAM_ATTRIBUTES = ("file", "_file", "fp", "_fp", "fileobj", "_fileobj", "stream", "buffer")


def _is_stdout(stream: object) -> bool:
    if stream is sys.stdout or stream is sys.__stdout__:
        return True
    if stream is getattr(sys.__stdout__, "buffer", None):
        return True
    fileno = getattr(stream, "fileno", None)
    try:
        return callable(fileno) and fileno() == 1
    except Exception:  # closed, or no descriptor (a StringIO)
        return False


def _written(tb: TracebackType | None) -> Path | str | None:
    """What the failed write wrote to: ``"stdout"``, a file's path, or None (not told),
    found in the stream the innermost frame able to tell was writing to."""
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        values = list(frame.f_locals.values())
        owner = frame.f_locals.get("self")
        values += [getattr(owner, name, None) for name in _STREAM_ATTRIBUTES]
        for value in values:
            if value is None or isinstance(value, str | bytes | int | float):
                continue
            if _is_stdout(value):
                return "stdout"
            name = getattr(value, "name", None) if isinstance(value, io.IOBase) else None
            if isinstance(name, str) and name and not name.startswith("<"):
                return Path(name)
    return None


def broken_pipe(error: BaseException) -> bool:
    """Output to a reader that has gone (``twores … | head``): not an error to report."""
    return isinstance(error, BrokenPipeError) or (
        isinstance(error, OSError) and error.errno == errno.EPIPE
    )


def file_error(error: BaseException) -> twores.TworesError | None:
    """A file the command could not read or write, or its output (stdout) that could not be
    written (a full disk), as a TworesError naming it and why. None for other errors and a
    broken pipe (the reader has gone: nothing to say)."""
    if not isinstance(error, OSError) or broken_pipe(error):
        return None
    zh, en = _os_reason(error)
    if error.filename is not None:
        return twores.InvalidValueError("file", str(error.filename), zh, en)
    target = _written(error.__traceback__)
    write_only = _ERRNO_REASONS.get(error.errno or 0, ("", "", False))[2]
    if target == "stdout":
        return twores.TworesError(
            f"无法写出命令的输出（标准输出）：{zh}",
            f"cannot write the command's output (stdout): {en}",
        )
    verb_zh, verb_en = ("写入", "write") if write_only else ("读写", "read or write")
    if target is not None:
        return twores.TworesError(
            f"无法{verb_zh}文件 {target}：{zh}", f"cannot {verb_en} the file {target}: {en}"
        )
    return twores.TworesError(f"无法{verb_zh}文件：{zh}", f"cannot {verb_en} a file: {en}")


#: Seconds a write waits for another before :func:`announce_waits` says so.
WAIT_NOTICE_AFTER = 2.0


def announce_waits(
    store: object, notice: Callable[[], None], after: float = WAIT_NOTICE_AFTER
) -> None:
    """Call ``notice`` (once) when a write of ``store`` has waited ``after`` seconds for
    another process's write to finish: the store waits in silence for up to its
    ``writes_wait`` (600 s). SQLAlchemy stores only, where the wait is a statement: SQLite's
    ``BEGIN IMMEDIATE``, PostgreSQL's ``pg_advisory_xact_lock``. A no-op elsewhere."""
    engine = getattr(store, "engine", None)
    if engine is None or "sqlalchemy" not in sys.modules:
        return
    from sqlalchemy import event

    told = threading.Event()
    local = threading.local()

    def tell() -> None:
        if not told.is_set():
            told.set()
            notice()

    def started(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        text = statement.lstrip()[:200].upper()
        if told.is_set() or not (
            text.startswith("BEGIN IMMEDIATE") or "PG_ADVISORY_XACT_LOCK(" in text
        ):
            return
        timer = threading.Timer(after, tell)
        timer.daemon = True
        local.timer = timer
        timer.start()

    def ended(*_: Any) -> None:
        timer = getattr(local, "timer", None)
        if timer is not None:
            timer.cancel()
            local.timer = None

    event.listen(engine, "before_cursor_execute", started)
    event.listen(engine, "after_cursor_execute", ended)
    event.listen(engine, "handle_error", ended)
