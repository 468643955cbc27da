from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TWORES = [sys.executable, "-m", "twores_cli.main"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*TWORES, *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def test_demo_grades_and_explains(tmp_path: Path) -> None:
    result = run("demo", "--businesses", "400", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "桂林市" in result.stdout
    assert "national.grade.table" in result.stdout
    assert "D级" in result.stdout


def test_demo_in_english(tmp_path: Path) -> None:
    result = run("--lang", "en", "demo", "--businesses", "50", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Decided by rule" in result.stdout


def test_plugins_lists_rule_versions(tmp_path: Path) -> None:
    result = run("plugins", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "inner_mongolia 2023.1" in result.stdout and "national 2025.1" in result.stdout
