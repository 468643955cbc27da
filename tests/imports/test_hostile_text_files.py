"""Text ledgers damaged in ways a reviewer met (rev7 #9, #13): a row in another encoding
is named by its line, in words saying the file mixes encodings; a NUL byte is named by
its line; a sheet of 100,000 stray columns is warned of in a few lines."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import twores
from twores.core.errors import InvalidValueError
from twores.services.imports import import_file
from twores.services.sheets.report import unread_columns_message

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
HEADER = "主体名称,许可证编号,所属区划,业态,规模"


def _lines(count: int) -> list[str]:
    """A header and ``count - 1`` rows of Chinese text (so a 64 KB decoded chunk ends
    hundreds of lines before line 2001)."""
    rows = [HEADER]
    for i in range(1, count):
        rows.append(f"测试店{i:05d}甲乙丙丁戊己庚辛,JY1450323{i:07d},450323101202,食品销售,微型")
    return rows


def _refused(app: twores.Twores, store: twores.Store, path: Path) -> InvalidValueError:
    with pytest.raises(InvalidValueError) as refused:
        import_file(app, store, ADMIN, "businesses", path, dry_run=True)
    return refused.value


@pytest.mark.parametrize("packed", [False, True], ids=["csv", "csv.gz"])
def test_a_row_in_another_encoding_is_named_by_its_line(
    app: twores.Twores, store: twores.Store, tmp_path: Path, packed: bool
) -> None:
    rows = _lines(3000)
    data = b"".join(
        (row + "\r\n").encode("gbk" if number == 2001 else "utf-8")
        for number, row in enumerate(rows, start=1)
    )
    path = tmp_path / ("mixed.csv.gz" if packed else "mixed.csv")
    path.write_bytes(gzip.compress(data) if packed else data)
    error = _refused(app, store, path)
    assert error.field == "file" and error.value == path.name
    assert "第 2001 行不是 UTF-8" in error.reason_zh, error.reason_zh
    assert "文件编码" in error.reason_zh and "GB18030" in error.reason_zh
    assert "line 2001 is not UTF-8" in error.reason_en and "encodings" in error.reason_en
    assert "文件（file）" in error.message_zh  # a labelled field, not the bare word


@pytest.mark.parametrize("line", [9, 2501])
def test_a_nul_byte_is_named_by_its_line(
    app: twores.Twores, store: twores.Store, tmp_path: Path, line: int
) -> None:
    rows = _lines(3000)
    rows[line - 1] = rows[line - 1].replace("微型", "微\x00型")
    path = tmp_path / "nul.csv"
    path.write_bytes("\r\n".join(rows).encode("utf-8"))
    error = _refused(app, store, path)
    assert error.field == "file"
    assert f"第 {line} 行" in error.reason_zh and "NUL" in error.reason_zh
    assert f"line {line} holds a NUL byte" in error.reason_en
    assert "不是表格文件" not in error.message_zh


def test_utf16_text_is_still_no_spreadsheet(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.csv"
    path.write_bytes("\n".join(_lines(20)).encode("utf-16-le"))  # no BOM: a NUL a character
    assert "不是表格文件" in _refused(app, store, path).message_zh


def test_100k_unread_columns_make_a_short_warning() -> None:
    columns = [f"未知列{i:06d}" for i in range(100_000)]
    zh, en = unread_columns_message(columns)
    assert len(zh.encode()) < 2048 and len(en.encode()) < 2048
    assert "未知列000000" in zh and "未知列000009" in zh and "未知列000010" not in zh
    assert "等 100000 个" in zh and "99,990 more" in en


def test_a_few_unread_columns_are_all_named_and_a_long_name_is_cut() -> None:
    zh, en = unread_columns_message(["备注", "x" * 5000])
    assert "备注" in zh and "等" not in zh and "more" not in en
    assert len(zh) < 200 and "…" in en
