"""A refused file whose report cannot be written (a read-only or shared folder) still
tells which rows were bad, and to name a writable folder with --report-dir."""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook

import twores
from twores.divisions import DEMO_REGION_FILE
from twores.services import imports
from twores.services.imports import import_file
from twores.services.sheets import report as reports

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
HEADER = ["主体名称", "许可证编号", "所属区划", "业态", "包保等级"]
ROWS = [
    ["大圩甲店", "JY24503231004001", "450323101202", "餐饮服务", "D"],
    ["大圩乙店", "JY24503231004002", "450323101202", "餐饮服务", "E"],  # no grade E
]


def _bad_ledger(path: Path) -> Path:
    if path.suffix == ".xlsx":
        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        for row in [HEADER, *ROWS]:
            sheet.append(row)
        workbook.save(path)
        return path
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([HEADER, *ROWS])
    return path


def _businesses(store: twores.Store) -> list[object]:
    with store.unit_of_work(ADMIN) as uow:
        return list(uow.businesses.stream())


def _check_refused(report: imports.ImportReport, target: Path) -> None:
    """The row error, after a note naming the report that could not be written."""
    assert not report.accepted and report.report_path is None
    note, *rows = report.errors
    assert report.report_error == note
    assert (note.row, note.value, note.code) == (0, str(target), "report_not_written")
    assert "--report-dir" in note.reason_zh and "--report-dir" in note.reason_en
    assert "错误报告无法写入" in note.reason_zh
    assert "could not be written" in note.reason_en
    assert [(e.row, e.column, e.value) for e in rows] == [(3, "包保等级", "E")]


def test_a_report_folder_that_cannot_be_made_keeps_the_row_errors(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    blocker = tmp_path / "不是文件夹.txt"
    blocker.write_text("")
    reports = blocker / "报告"
    ledger = _bad_ledger(tmp_path / "台账.xlsx")
    report = import_file(app, store, ADMIN, "businesses", ledger, report_dir=reports)
    _check_refused(report, reports / "台账.errors.xlsx")
    assert _businesses(store) == []


def test_a_report_that_fails_while_written_leaves_no_file_behind(
    app: twores.Twores,
    store: twores.Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object) -> Path:
        raise PermissionError(13, "Permission denied", str(tmp_path / "台账.errors.csv"))

    monkeypatch.setattr(reports, "write_report", refuse)
    ledger = _bad_ledger(tmp_path / "台账.csv")
    report = import_file(app, store, ADMIN, "businesses", ledger)
    _check_refused(report, tmp_path / "台账.errors.csv")
    assert "没有写权限" in report.errors[0].reason_zh
    assert not (tmp_path / "台账.errors.csv").exists()


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """``folder`` made read-only (for root, who ignores modes, immutable), else skipped."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], check=False).returncode:
        pytest.skip("cannot make a folder read-only for root here")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def test_the_cli_prints_the_row_errors_when_the_folder_is_read_only(tmp_path: Path) -> None:
    db = str(tmp_path / "twores.db")
    areas = Path(imports.__file__).resolve().parents[1] / "divisions" / "data" / DEMO_REGION_FILE
    cli = [sys.executable, "-m", "twores_cli.main", "--db", db]
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run([*cli, "import", "areas", str(areas)], capture_output=True, env=env)
    assert done.returncode == 0, done.stderr
    share = tmp_path / "共享"
    share.mkdir()
    ledger = _bad_ledger(share / "台账.xlsx")
    with _read_only(share):
        result = subprocess.run(
            [*cli, "import", "businesses", str(ledger)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "Traceback" not in output and "Exception ignored" not in output, output
    assert "第3行 包保等级“E”" in output, output
    assert "错误报告无法写入" in output and "--report-dir" in output, output
    assert "拒绝导入：1 处错误" in output and "错误报告：未能写入" in output, output
    assert sorted(p.name for p in share.iterdir()) == ["台账.xlsx"]
