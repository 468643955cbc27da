"""Cells written for Excel read back as the values written: every text a text cell (never
a formula or an error value), +86… kept from Excel's numbers in CSV, dates as date cells."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from twores.services.sheets.cells import csv_text, unquoted, xlsx_row

ERROR_TEXTS = ["#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("+867732345678", "'+867732345678"),  # Excel would read a number, its + lost
        ("+5", "'+5"),
        ("=1+1", "'=1+1"),
        ("-5号档口", "'-5号档口"),
        ("-2", "-2"),  # a plain number stays
        ("12.5%", "12.5%"),
        ("'甲", "''甲"),
        ("#N/A", "#N/A"),  # CSV has no error values
        ("周敏", "周敏"),
    ],
)
def test_csv_text_protects_what_excel_would_change_and_unquotes_back(
    value: str, written: str
) -> None:
    assert csv_text(value) == written
    assert unquoted(written) == value


@pytest.mark.parametrize("write_only", [True, False], ids=["write-only", "workbook"])
def test_every_text_is_a_text_cell_and_a_date_a_date_cell(tmp_path: Path, write_only: bool) -> None:
    texts = [*ERROR_TEXTS, "=SUM(A1:A2)", "'=甲", "0012345", "TRUE", "1E+17"]
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet() if write_only else workbook.active
    sheet.append(xlsx_row(sheet, [*texts, date(2024, 2, 29), 9, None]))
    path = tmp_path / "cells.xlsx"
    workbook.save(path)
    cells = next(load_workbook(path).active.iter_rows())
    assert [(c.value, c.data_type) for c in cells[: len(texts)]] == [
        ("''=甲" if t == "'=甲" else t, "s") for t in texts
    ]
    day, count = cells[len(texts)], cells[len(texts) + 1]
    assert day.value == datetime(2024, 2, 29) and day.number_format == "yyyy-mm-dd"
    assert (count.value, count.data_type) == (9, "n")
