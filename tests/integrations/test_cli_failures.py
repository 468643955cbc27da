"""Hostile environments reach the CLI as a bilingual line and a non-zero exit, never a
traceback: a full disk (the output, a file written inside a command), Ctrl-C (while it
starts and while a command runs), a database in a read-only folder, another process
holding the write lock, a refused import whose report cannot be written."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from twores_cli import databases
from twores_cli.commands import exports
from twores_cli.main import cli

CLI = Path(__file__).resolve().parents[2] / "integrations" / "cli"
TWORES = [sys.executable, "-m", "twores_cli.main"]


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(CLI), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": "200", "TWORES_LANG": "zh"}


def run(*args: str, cwd: Path, **options: Any) -> subprocess.CompletedProcess[str]:
    options.setdefault("stdout", subprocess.PIPE)
    options.setdefault("timeout", 120)  # a wait that never ends fails, not hangs
    return subprocess.run(
        [*TWORES, *args],
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=_env(),
        check=False,
        **options,
    )


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    made = run("--db", "demo.db", "demo", "--businesses", "200", cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder / "demo.db"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize(
    "args",
    [("kpis",), ("--format", "json", "problems", "list"), ("--format", "xlsx", "kpis")],
)
def test_output_to_a_full_disk_is_named_not_traced(
    demo_db: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    with open("/dev/full", "w") as full:
        shown = run("--db", str(demo_db), *args, cwd=tmp_path, stdout=full)
    assert shown.returncode == 1, shown.stderr
    assert "Traceback" not in shown.stderr and "Exception ignored" not in shown.stderr
    assert "标准输出" in shown.stderr and "磁盘已满" in shown.stderr, shown.stderr
    assert "cannot write the command's output (stdout): the disk is full" in shown.stderr


def _no_space(*_args: object, **_options: object) -> int:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _no_space_while_writing(
    _store: object, _scope: object, _kind: str, target: Path, **_options: object
) -> int:
    with open(target, "w", encoding="utf-8") as stream:
        stream.write("主体名称\n")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as a write() raises it


def test_a_full_disk_inside_a_command_is_named_not_traced(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    target = tmp_path / "主体.csv"
    monkeypatch.setattr(exports, "export_list", _no_space)
    result = runner.invoke(cli, ["--db", str(demo_db), "export", "businesses", str(target)])
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, OSError)  # handled
    assert "无法写入文件：磁盘已满" in result.output
    assert "cannot write a file: the disk is full" in result.output

    monkeypatch.setattr(exports, "export_list", _no_space_while_writing)
    result = runner.invoke(cli, ["--db", str(demo_db), "export", "businesses", str(target)])
    assert result.exit_code == 1, result.output
    assert f"无法写入文件 {target}：磁盘已满" in result.output  # the file written is named
    assert f"cannot write the file {target}: the disk is full" in result.output


def test_os_errors_are_named_in_words() -> None:
    read_only = databases.file_error(OSError(errno.EROFS, "Read-only file system", "/mnt/a.csv"))
    assert read_only is not None and "只读" in read_only.message_zh
    assert "/mnt/a.csv" in read_only.message_zh and "read-only" in read_only.message_en
    denied = databases.file_error(OSError(errno.EACCES, "Permission denied"))
    assert denied is not None and "权限" in denied.message_zh
    assert "permission denied" in denied.message_en
    assert databases.file_error(BrokenPipeError(errno.EPIPE, "Broken pipe")) is None


def _interrupted(
    args: list[str], cwd: Path, after: float, begun: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI and send it SIGINT ``after`` seconds (counted from when ``begun``
    appears, the command's own file, if given: a loaded machine starts slowly)."""
    started = subprocess.Popen(
        [*TWORES, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=_env(),
    )
    deadline = time.monotonic() + 60
    while begun is not None and not begun.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(after)
    running = started.poll() is None
    started.send_signal(signal.SIGINT)
    out, err = started.communicate(timeout=60)
    assert running, "the command ended before it could be interrupted"
    return subprocess.CompletedProcess(args, started.returncode, out, err)


def test_ctrl_c_says_what_was_kept_in_both_languages(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    stopped = _interrupted(
        ["--db", db, "demo", "--businesses", "3000"], tmp_path, 1.0, begun=Path(db)
    )
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr and "Aborted!" not in stopped.stderr
    assert "已中断：未提交的更改均已撤销" in stopped.stderr, stopped.stderr
    assert "interrupted: nothing uncommitted was kept" in stopped.stderr


def test_ctrl_c_while_the_cli_starts_is_no_traceback(tmp_path: Path) -> None:
    stopped = _interrupted(["--db", str(tmp_path / "t.db"), "kpis"], tmp_path, 0.25)
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr and "KeyboardInterrupt" not in stopped.stderr
    assert "已中断" in stopped.stderr and "interrupted" in stopped.stderr, stopped.stderr


def _read_only_run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with ``folder`` read-only: its mode as a user; as root (whom modes do
    not stop), a read-only bind mount in a mount namespace of its own."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return run(*args, cwd=folder.parent)
        finally:
            folder.chmod(0o755)
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("root without unshare: no read-only folder to test")
    command = " ".join([*TWORES, *args])
    script = (
        f'mount --bind "{folder}" "{folder}" && '
        f'mount -o remount,bind,ro "{folder}" "{folder}" || exit 99; exec {command}'
    )
    shown = subprocess.run(
        [unshare, "-m", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=folder.parent,
        env=_env(),
        check=False,
        timeout=120,
    )
    if shown.returncode == 99 or "unshare failed" in shown.stderr:
        pytest.skip(f"cannot mount a read-only folder here: {shown.stderr.strip()}")
    return shown


def test_a_database_in_a_read_only_folder_says_why(demo_db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "只读"
    folder.mkdir()
    shutil.copy(demo_db, folder / "t.db")
    shown = _read_only_run(folder, "--db", str(folder / "t.db"), "audit", "verify")
    assert shown.returncode == 1, (shown.stdout, shown.stderr)
    assert "Traceback" not in shown.stderr
    assert "-wal 和 -shm" in shown.stderr and "文件夹也必须可写" in shown.stderr, shown.stderr
    assert "unable to open database file" in shown.stderr  # the driver's reason, in English
    assert "-wal and -shm" in shown.stderr


def test_database_reasons_are_put_in_chinese() -> None:
    zh, en = databases.explained("database is locked", None)
    assert "锁定" in zh and "database is locked" not in zh and "database is locked" in en
    zh, en = databases.explained("database disk image is malformed", None)
    assert "损坏" in zh and "malformed" in en
    zh, en = databases.explained("disk I/O error", None)
    assert "磁盘读写出错" in zh and "disk I/O error" in en
    assert databases.explained("something new", None) == ("something new", "something new")


def test_a_long_wait_for_another_writer_is_said(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    shutil.copy(demo_db, db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write, under way
    said: list[str] = []
    told = threading.Event()
    with subprocess.Popen(
        [*TWORES, "--db", str(db), "problems", "overdue"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=_env(),
    ) as waiting:

        def read_stderr() -> None:
            assert waiting.stderr is not None
            for line in waiting.stderr:
                said.append(line)
                if "正在等待另一项写入完成" in line:
                    told.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        try:  # the lock is let go once the wait was said (however slowly the command started)
            told.wait(timeout=90)
        finally:
            holder.rollback()
            holder.close()
        assert waiting.stdout is not None
        out = waiting.stdout.read()  # stderr is the reader's alone
        waiting.wait(timeout=120)
        reader.join(timeout=10)
    stderr = "".join(said)
    assert waiting.returncode == 0, stderr
    assert stderr.count("正在等待另一项写入完成") == 1, stderr
    assert "waiting for another write to finish" in stderr
    assert "移交立案" in out  # it went on once the other write ended
    quick = run("--db", str(db), "problems", "overdue", cwd=tmp_path)
    assert quick.returncode == 0 and "等待" not in quick.stderr, quick.stderr


def test_a_refused_import_without_its_report_says_what_is_not_shown(
    demo_db: Path, tmp_path: Path
) -> None:
    ledger = tmp_path / "干部.csv"
    rows = ["包保干部姓名,职务,层级,所属区划,联系电话"] + ["张三,主任,村级,999,1"] * 30
    ledger.write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    refused = run(
        "--db", str(demo_db), "import", "cadres", str(ledger),
        "--report-dir", str(tmp_path / "file" / "reports"),
        cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 3, refused.stderr
    assert "见报告" not in refused.stderr and "in the report" not in refused.stderr
    assert "另有 41 处未在此显示，错误报告也未能写入" in refused.stderr, refused.stderr
    assert "--format json" in refused.stderr and "41 more not shown here" in refused.stderr
    whole = run(
        "--db", str(demo_db), "--format", "json", "import", "cadres", str(ledger),
        "--report-dir", str(tmp_path / "file" / "reports"),
        cwd=tmp_path,
    )  # fmt: skip
    assert whole.returncode == 3 and "未在此显示" not in whole.stderr  # stdout has them all
