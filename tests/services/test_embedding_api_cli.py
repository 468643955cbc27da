"""What the CLI and its reference say to an embedding developer: every error in Chinese
with the English after it; the reference shows the help as ``--help`` prints it; the
documented command lines and names are the ones that work."""

from __future__ import annotations

import importlib
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

import twores
from twores_cli.main import cli

DOCS = Path(__file__).resolve().parents[2] / "docs"
TWORES = [sys.executable, "-m", "twores_cli.main"]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*TWORES, *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def test_a_tampered_audit_log_is_reported_in_chinese_then_english(
    store: twores.Store, tmp_path: Path
) -> None:
    store.close()
    db = tmp_path / "twores.db"
    with sqlite3.connect(db) as connection:
        seq = connection.execute("SELECT min(seq) FROM audit_log").fetchone()[0]
        connection.execute("UPDATE audit_log SET actor = 'evil' WHERE seq = ?", (seq,))
    connection.close()
    said = _run("--db", str(db), "audit", "verify", cwd=tmp_path)
    assert said.returncode == 1
    lines = said.stderr.strip().splitlines()
    assert len(lines) == 2, said.stderr
    assert re.search(r"[\u4e00-\u9fff]", lines[0]) and str(seq) in lines[0]
    assert lines[1].isascii() and "edited" in lines[1] and str(seq) in lines[1]
    english = _run("--lang", "en", "--db", str(db), "audit", "verify", cwd=tmp_path)
    assert english.returncode == 1 and english.stderr.strip().splitlines() == [lines[1]]


def test_a_duty_report_to_a_day_before_its_start_is_refused(
    store: twores.Store, tmp_path: Path
) -> None:
    store.close()
    db = str(tmp_path / "twores.db")
    span = ("duties", "report", "--from", "2026-03-31", "--to", "2026-03-01")
    said = _run("--db", db, "--format", "json", *span, cwd=tmp_path)
    assert said.returncode == 1 and said.stdout == ""
    zh, en = said.stderr.strip().splitlines()
    assert "2026-03-01" in zh and "2026-03-31" in zh and "（end）" in zh
    assert en.isascii() and "2026-03-31" in en and "invalid end value '2026-03-01'" in en
    one_day = ("duties", "report", "--from", "2026-03-01", "--to", "2026-03-01")
    assert _run("--db", db, "--format", "json", *one_day, cwd=tmp_path).returncode == 0


_REFERENCE_MATCHES_HELP = r"""
from click.testing import CliRunner
from twores_cli import reference
from twores_cli.main import cli
page = reference.render()  # (click keeps a command's help option once made: rendering
# without ``-h`` took it away from the commands for the rest of the process)
assert CliRunner().invoke(cli, ["import", "-h"], prog_name="twores").exit_code == 0
commands = reference._walk(cli, ["twores"])
assert len(commands) > 30
for path, _ in commands:
    printed = CliRunner().invoke(
        cli, [*path[1:], "--help"], prog_name="twores", terminal_width=100, max_content_width=100
    )
    assert printed.exit_code == 0, printed.output
    block = page.split(f"## `{' '.join(path)}`\n\n```text\n", 1)[1].split("\n```", 1)[0]
    assert block == printed.output.rstrip(), (path, block, printed.output)
    assert "-h, --help" in block
"""


def test_the_reference_shows_each_help_as_the_command_prints_it() -> None:
    # In a process of its own: other tests' CLI runs leave state in click's commands.
    checked = subprocess.run(
        [sys.executable, "-c", _REFERENCE_MATCHES_HELP], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr[-3000:]


def test_the_glossary_names_are_where_it_says() -> None:
    """Each name in the glossary's first column is importable from ``twores``, or from
    the module its row names."""
    text = (DOCS / "concepts.md").read_text(encoding="utf-8")
    glossary = text.split("## Glossary", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in glossary.splitlines() if line.startswith("| `")]
    assert len(rows) > 20
    for cell in rows:
        names = re.findall(r"`([\w.]+)`", cell)
        module = twores
        if "." in names[0]:
            module = importlib.import_module(names.pop(0))
        for name in names:
            assert hasattr(module, name), f"{name} is not in {module.__name__}"


def test_the_documented_duty_report_for_programs_parses(tmp_path: Path) -> None:
    text = (DOCS / "supervision.md").read_text(encoding="utf-8")
    lines = [c for c in re.findall(r"`(twores [^`]+)`", text) if "--format" in c]
    assert lines
    for line in lines:
        args = line.split()[1:]
        printed = CliRunner().invoke(cli, [*args, "--help"], prog_name="twores")
        assert printed.exit_code == 0, (line, printed.output)
