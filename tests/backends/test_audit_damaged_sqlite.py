"""`audit verify` on a damaged SQLite file: 16 KB of garbage written over pages in the
middle of a database holding data (rev7 #12; pages of the businesses, which no command
opening the store reads) is reported, never "intact"."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import twores
from twores.services.stores import open_store
from twores_cli.main import cli

SYSTEM = twores.Scope.system("test")
PAGES = 4  # 16 KB of 4 KB pages


def _business_pages(path: Path) -> tuple[int, int]:
    """The page size, and the first of the run of ``PAGES`` pages holding businesses that
    lies nearest the middle of the file."""
    with sqlite3.connect(path) as connection:
        try:
            rows = connection.execute("SELECT name, pageno FROM dbstat").fetchall()
        except sqlite3.OperationalError:
            pytest.skip("this SQLite has no dbstat table")
        size = connection.execute("PRAGMA page_size").fetchone()[0]
    pages = {page for name, page in rows if "businesses" in name}
    middle = max(page for _, page in rows) // 2
    runs = [p for p in pages if all(p + i in pages for i in range(PAGES))]
    assert runs, "no run of business pages"
    return size, min(runs, key=lambda p: abs(p - middle))


def _damaged(tmp_path: Path) -> Path:
    path = tmp_path / "twores.db"
    made = CliRunner().invoke(
        cli,
        ["--db", str(path), "synth", "--businesses", "3000", "--cadres", "2200"],
        prog_name="twores",
    )
    assert made.exit_code == 0, made.output
    store = open_store(twores.build(load_entrypoints=False), f"sqlite:///{path}")
    with store.unit_of_work(SYSTEM) as uow:
        assert uow.audit.verify() == []
    store.close()
    size, first = _business_pages(path)
    with path.open("r+b") as stream:
        stream.seek((first - 1) * size)  # pages count from 1
        stream.write(random.Random(7).randbytes(PAGES * size))
    return path


def test_verify_reports_a_damaged_database(tmp_path: Path) -> None:
    path = _damaged(tmp_path)
    store = open_store(twores.build(load_entrypoints=False), f"sqlite:///{path}")
    try:
        with store.unit_of_work(SYSTEM) as uow:
            problems = uow.audit.verify()
    finally:
        store.close()
    damaged = [p for p in problems if p.kind == "database_damaged"]
    assert len(damaged) == 1, problems
    assert "数据库文件已损坏" in damaged[0].message_zh
    assert "database file is damaged" in damaged[0].message_en
    assert "\n" not in damaged[0].message_zh and len(damaged[0].message_en) < 1000


def test_the_cli_says_so_and_fails(tmp_path: Path) -> None:
    path = _damaged(tmp_path)
    result = CliRunner().invoke(cli, ["--db", str(path), "audit", "verify"], prog_name="twores")
    assert result.exit_code == 1, result.output
    assert "数据库文件已损坏" in result.output and "审计日志完整" not in result.output
