"""A refused file lists at most ``MAX_LISTED_ERRORS`` row errors, led by a note saying what
was left out; a business sheet of nothing but bad rows stops being read there (it took
32 s, 451 MB and a 140 MB report for a 12 MB file of a million bad rows)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

import twores
from twores.services import imports
from twores.services.imports import import_file
from twores.services.sheets import report
from twores.services.sheets.parsing import CHUNK
from twores.services.sheets.report import ERRORS_NOT_LISTED, MAX_LISTED_ERRORS

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _stored(store: twores.Store) -> int:
    with store.unit_of_work(ADMIN) as uow:
        return len(list(uow.businesses.stream()))


def test_a_sheet_of_bad_rows_stops_at_the_limit_and_says_where(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    bad = 3 * CHUNK  # one error a row (业态 missing): the first chunk reaches the limit
    assert CHUNK >= MAX_LISTED_ERRORS
    source = _write(
        tmp_path / "台账.csv",
        ["主体名称", "许可证编号", "所属区划", "业态"],
        [[f"店{i}", f"JY1450323{i:07d}", "450323101202", ""] for i in range(bad)],
    )

    result = import_file(app, store, ADMIN, "businesses", source)

    assert not result.accepted
    note, *listed = result.errors
    assert note.code == ERRORS_NOT_LISTED and note.row == 0
    assert len(listed) == MAX_LISTED_ERRORS
    assert [e.row for e in listed] == list(range(2, MAX_LISTED_ERRORS + 2))
    last_read = CHUNK + 1  # rows start at 2, under the header
    assert f"第 {last_read} 行之后未再检查" in note.reason_zh
    assert f"rows after row {last_read} were not checked" in note.reason_en
    assert result.rows == CHUNK  # what was read, not the file's length
    assert result.report_path is not None
    with result.report_path.open(encoding="utf-8-sig", newline="") as stream:
        lines = list(csv.reader(stream))
    assert len(lines) == 1 + 1 + MAX_LISTED_ERRORS  # header, note, errors
    assert lines[1][4] == ERRORS_NOT_LISTED
    assert _stored(store) == 0


def test_errors_beyond_the_limit_are_counted_in_the_note(
    app: twores.Twores, store: twores.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "MAX_LISTED_ERRORS", 5)
    source = _write(
        tmp_path / "干部.csv",
        ["包保干部姓名", "职务", "层级", "所属区划", "联系电话"],
        [[f"干部{i}", "副镇长", "乡级", "450323101", "12345"] for i in range(8)],
    )

    result = import_file(app, store, ADMIN, "cadres", source)

    note, *listed = result.errors
    assert note.code == ERRORS_NOT_LISTED
    assert len(listed) == 5
    assert [e.row for e in listed] == [2, 3, 4, 5, 6]
    assert "另有 3 处未列出" in note.reason_zh and "3 more are not" in note.reason_en
    assert "未再检查" not in note.reason_zh  # every row was read


def test_a_file_within_the_limit_lists_every_error(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    source = _write(
        tmp_path / "台账.csv",
        ["主体名称", "许可证编号", "所属区划", "业态"],
        [["大圩豆腐坊", "SC14503231110603", "450323101202", ""]] * 1
        + [["敢兴便利店", "JY14503230034495", "4503231012", "食品销售"]],
    )

    result = import_file(app, store, ADMIN, "businesses", source)

    assert [e.row for e in result.errors] == [2, 3]
    assert all(e.code != ERRORS_NOT_LISTED for e in result.errors)


def test_the_cli_says_at_least_when_errors_were_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twores_cli.main import cli

    monkeypatch.setattr(report, "MAX_LISTED_ERRORS", 2)
    monkeypatch.setattr(imports, "MAX_LISTED_ERRORS", 2)
    db = f"sqlite:///{tmp_path / 'twores.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "--area", "450300"]).exit_code == 0
    source = _write(
        tmp_path / "台账.csv",
        ["主体名称", "许可证编号", "所属区划", "业态"],
        [[f"店{i}", f"JY1450323{i:07d}", "450323101202", ""] for i in range(4)],
    )

    result = runner.invoke(cli, ["--db", db, "import", "businesses", str(source)])

    assert result.exit_code == 3
    assert "拒绝导入：至少 2 处错误" in result.output
    assert "只列出前 2 处错误，另有 2 处未列出" in result.output


def test_a_long_cell_is_shown_cut_short(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """An error shows at most 200 characters of its cell (row and column name it): a file
    of long bad cells made reports and pages larger than the file."""
    long_area = "4503" * 1_250
    source = _write(
        tmp_path / "台账.csv",
        ["主体名称", "许可证编号", "所属区划", "业态"],
        [["大圩豆腐坊", "SC14503231110603", long_area, "食品生产"]],
    )

    (error,) = import_file(app, store, ADMIN, "businesses", source).errors

    assert (error.row, error.column) == (2, "所属区划")
    assert error.value == long_area[: report.MAX_SHOWN_VALUE] + "…"


def test_a_write_refused_for_the_whole_file_joins_the_row_errors_before_it(
    app: twores.Twores, store: twores.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are written after a row error to find what only writing finds; a refusal of the
    file as a whole there is listed with the row errors, not instead of them."""
    from twores.core.errors import InvalidValueError, StructureError
    from twores.plugins.sqlalchemy.repos.keyed import Keyed

    def refused(self: object, records: object) -> object:
        raise StructureError("区划", [InvalidValueError("parent_code", "45", "上级不符", "bad")])

    monkeypatch.setattr(Keyed, "upsert_many", refused)
    source = _write(
        tmp_path / "台账.csv",
        ["主体名称", "许可证编号", "所属区划", "业态"],
        [
            ["大圩豆腐坊", "SC14503231110603", "450323101202", ""],
            ["敢兴便利店", "JY14503230034495", "450323101202", "食品销售"],
        ],
    )

    errors = import_file(app, store, ADMIN, "businesses", source).errors

    assert [(e.row, e.code) for e in errors] == [(0, "invalid_value"), (2, "missing_value")]
