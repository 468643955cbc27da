"""A licence column under a header twores does not read refuses the file: read without
it, a licensed business would be filed under its credit code alone, and the county's
correct ledger refused later (licensed_later)."""

from __future__ import annotations

import csv
from pathlib import Path

import twores
from twores.core.businesses import uscc_check_digit
from twores.services.imports import import_file

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
CODE = "92450323MA0001501" + uscc_check_digit("92450323MA0001501")
LICENCE = "JY24503231001501"
#: Headers no alias reads (nor is one meant to).
UNREAD = ("食品经营许可证编码", "许可证代码")


def _ledger(path: Path, licence_header: str, *extra: tuple[str, str]) -> Path:
    header = ["主体名称", "统一社会信用代码", licence_header, "所属区划", "业态", "包保等级"]
    row = ["大圩表头店", CODE, LICENCE, "450323101202", "餐饮服务", "D"]
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(
            [header + [h for h, _ in extra], row + [value for _, value in extra]]
        )
    return path


def _businesses(store: twores.Store) -> list[twores.FoodBusiness]:
    with store.unit_of_work(ADMIN) as uow:
        return list(uow.businesses.stream())


def test_an_unread_licence_header_refuses_the_file_naming_the_column(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    for n, header in enumerate(UNREAD):
        report = import_file(
            app, store, ADMIN, "businesses", _ledger(tmp_path / f"{n}.csv", header)
        )
        assert [(e.row, e.column, e.code) for e in report.errors] == [
            (1, header, "unread_licence_column")
        ]
        (error,) = report.errors
        assert "不是可识别的许可证编号表头" in error.reason_zh and "许可证编号" in error.reason_zh
        assert "not a recognised licence header" in error.reason_en
        assert "rename it to 许可证编号" in error.reason_en
        assert _businesses(store) == []
    fixed = import_file(app, store, ADMIN, "businesses", _ledger(tmp_path / "县.csv", "许可证编号"))
    assert fixed.accepted and [b.key for b in _businesses(store)] == [LICENCE]


def test_a_second_licence_column_beside_the_read_one_is_refused(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    path = _ledger(tmp_path / "a.csv", "许可证编号", ("食品经营许可证编码", "JY24503231001599"))
    report = import_file(app, store, ADMIN, "businesses", path)
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (1, "食品经营许可证编码", "unread_licence_column")
    ]
    assert "许可证编号" in report.errors[0].reason_zh
    assert _businesses(store) == []


def test_other_particulars_of_a_licence_are_no_licence_header(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """许可证有效期, 发证机关 and the like are columns of their own: noted as not imported,
    never taken for the number."""
    extra = (("许可证有效期至", "2027-05-01"), ("许可证发证机关", "灵川县市场监督管理局"))
    report = import_file(
        app, store, ADMIN, "businesses", _ledger(tmp_path / "a.csv", "许可证编号", *extra)
    )
    assert report.accepted, report.errors
    assert report.unread_columns == ("许可证有效期至", "许可证发证机关")
    assert [b.licence_no for b in _businesses(store)] == [LICENCE]
