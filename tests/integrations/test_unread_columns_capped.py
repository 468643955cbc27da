"""A sheet with many stray columns is named in a few lines (the first ten, then a count),
in the CLI and on the web's import page; the JSON still lists every one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from twores_cli.main import cli
from twores_web.api import ImportResult

STRAY = [f"备注{i}" for i in range(30)]


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="twores")


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "台账.csv"
    header = ["主体名称", "许可证编号", "所属区划", "业态", *STRAY]
    row = ["阳朔米粉店", "JY14503210000001", "450321100200", "餐饮服务", *["x"] * len(STRAY)]
    path.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    return path


def test_the_cli_names_ten_stray_columns_and_counts_the_rest(tmp_path: Path, ledger: Path) -> None:
    url = f"sqlite:///{tmp_path / 'county.db'}"
    assert _run("--db", url, "init", "--area", "450300").exit_code == 0
    shown = _run("--db", url, "--format", "json", "import", "businesses", str(ledger))
    assert json.loads(shown.stdout)["unread_columns"] == STRAY  # the data: every one
    note = next(line for line in shown.stderr.splitlines() if line.startswith("以下列未导入"))
    assert "备注9" in note and "备注10" not in note and "等 30 个（另有 20 个未列出）" in note


def test_the_import_page_names_ten_and_counts_the_rest() -> None:
    result = ImportResult("businesses", "台账.csv", True, 1, 1, 0, (), tuple(STRAY))
    zh, en = result.unread_message("zh"), result.unread_message("en")
    assert "备注9" in zh and "备注10" not in zh and "另有 20 个" in zh
    assert en.startswith("Columns not imported") and "20 more (30 in all)" in en
