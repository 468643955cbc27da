"""A row giving a key is data, whatever its first cell says: a business or cadre named 合计
re-imports; a real totals row (no key) is skipped, and listed in ``Table.totals``."""

from __future__ import annotations

from pathlib import Path

import pytest

import twores
from twores.core.labels import clean_text
from twores.services.imports import import_file
from twores.services.sheets.columns import known_headers
from twores.services.sheets.reading import read_table

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
VILLAGE = "450323100001"
HEADER = "序号,主体名称,统一社会信用代码,许可证编号,所属区划,业态,就餐人数"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


@pytest.mark.parametrize("label", ["合计", "汇总", "小 计", "合计：2户", "总计（共5家）"])
def test_a_business_named_like_a_total_is_read_and_a_real_total_is_listed(
    app: twores.Twores, store: twores.Store, tmp_path: Path, label: str
) -> None:
    path = _write(
        tmp_path / "台账.csv",
        [
            "主体名称,统一社会信用代码,许可证编号,所属区划,业态,就餐人数",
            f"{label},,JY24503230100001,{VILLAGE},餐饮服务,10",
            f"米粉店,,JY24503230100002,{VILLAGE},餐饮服务,20",
            f"{label},,,,,30",  # the totals row: no key
        ],
    )
    table = read_table(path, known_headers("businesses"))
    assert [row.number for row in table.rows] == [2, 3]
    assert table.totals == [4]
    report = import_file(app, store, ADMIN, "businesses", path)
    assert report.accepted and report.rows == 2, report.errors
    with store.unit_of_work(ADMIN) as uow:
        assert uow.businesses.get("JY24503230100001").name == clean_text(label)


def test_a_totals_row_under_a_serial_column_is_still_skipped(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "台账.csv",
        [HEADER, f"1,合计,,JY24503230100001,{VILLAGE},餐饮服务,10", "合计,2户,,,,,10"],
    )
    table = read_table(path, known_headers("businesses"))
    assert [row.serial for row in table.rows] == ["1"]
    assert table.totals == [3]


def test_a_cadre_named_like_a_total_is_read_by_its_phone(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "干部.csv",
        ["包保干部姓名,职务,层级,所属区划,联系电话", f"合计,村委会主任,村级,{VILLAGE},13800138000"],
    )
    table = read_table(path, known_headers("cadres"))
    assert len(list(table.rows)) == 1 and table.totals == []
    report = import_file(app, store, ADMIN, "cadres", path)
    assert report.accepted and report.rows == 1, report.errors
    with store.unit_of_work(ADMIN) as uow:
        assert [c.name for c in uow.cadres.stream()] == ["合计"]
