"""An area's name is checked against its column (100 characters) and for control
characters: an area sheet's overlong name is a row error, not a database error."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import twores
from twores.core.areas import AREA_NAME_MAX, Area, Tier
from twores.core.errors import InvalidValueError
from twores.services.imports import import_file
from twores.services.stores import open_store


@pytest.mark.parametrize("name", ["区" * (AREA_NAME_MAX + 1), "新\x00区"])
def test_an_overlong_or_control_character_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidValueError) as refused:
        Area("450323", name, Tier.COUNTY)
    assert refused.value.field == "name"


def test_a_name_at_the_limit_is_an_area() -> None:
    assert Area("450323", "区" * AREA_NAME_MAX, Tier.COUNTY).name == "区" * AREA_NAME_MAX


def test_an_area_sheet_with_an_overlong_name_is_a_row_error(tmp_path: Path) -> None:
    sheet = tmp_path / "区划.csv"
    with sheet.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["区划代码", "区划名称", "上级区划代码", "层级"])
        writer.writerow(["45", "广西壮族自治区", "", "省级"])
        writer.writerow(["4503", "桂" * (AREA_NAME_MAX + 1), "45", "市级"])
    app = twores.build(load_entrypoints=False)
    store = open_store(app, f"sqlite:///{tmp_path / 't.db'}")

    report = import_file(app, store, twores.Scope("测试员", twores.Role.ADMIN), "areas", sheet)

    assert [(e.row, e.column) for e in report.errors] == [(3, "区划名称")]
    assert "100" in report.errors[0].reason_zh
    with store.unit_of_work(twores.Scope.system()) as uow:
        assert list(uow.areas.hierarchy()) == []
    store.close()


@pytest.mark.parametrize("text", ["foo,bar\n", "区划名称,层级\n桂林市,市级\n"])
@pytest.mark.parametrize("ending", [".csv", ".xlsx"])
def test_an_area_sheet_without_code_or_name_columns_is_refused(
    tmp_path: Path, text: str, ending: str
) -> None:
    """A sheet of other headers was accepted as 0 areas; one without 区划代码 too."""
    from openpyxl import Workbook

    sheet = tmp_path / f"区划{ending}"
    if ending == ".csv":
        sheet.write_text(text, encoding="utf-8")
    else:
        book = Workbook()
        for line in text.splitlines():
            book.active.append(line.split(","))  # type: ignore[union-attr]
        book.save(sheet)
    app = twores.build(load_entrypoints=False)
    store = open_store(app, f"sqlite:///{tmp_path / 't.db'}")

    report = import_file(app, store, twores.Scope("测试员", twores.Role.ADMIN), "areas", sheet)

    assert not report.accepted
    assert {e.code for e in report.errors} == {"missing_column"}
    assert "区划代码" in {e.column for e in report.errors}
    store.close()
