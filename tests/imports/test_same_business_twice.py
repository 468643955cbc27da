"""One business listed twice in a ledger — once by its licence, once by its credit code
alone — is a duplicate naming both rows, never two writes or two businesses."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

import twores
from twores.core.businesses import uscc_check_digit
from twores.services.imports import import_file
from twores.services.sheets import parsing

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
ON = date(2025, 6, 30)
HEADER = ["主体名称", "统一社会信用代码", "许可证编号", "所属区划", "业态", "包保等级"]
VILLAGE = "450323101202"


def _code(body: str) -> str:
    return body + uscc_check_digit(body)


CODE = _code("92450323MA0000301")
LICENCE = "JY24503231000031"


def _ledger(path: Path, *rows: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([HEADER, *rows])
    return path


def _state(store: twores.Store) -> tuple[object, ...]:
    with store.unit_of_work(ADMIN) as uow:
        return list(uow.businesses.stream()), list(uow.audit.entries())


def _licensed(name: str = "大圩重复米粉店", grade: str = "D") -> list[str]:
    return [name, CODE, LICENCE, VILLAGE, "餐饮服务", grade]


def _coded(name: str = "大圩重复米粉店", grade: str = "D") -> list[str]:
    return [name, CODE, "", VILLAGE, "餐饮服务", grade]


@pytest.fixture(params=[None, 1], ids=["one chunk", "a chunk a row"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param is not None:
        monkeypatch.setattr(parsing, "CHUNK", request.param)


@pytest.mark.usefixtures("chunk")
def test_a_stored_business_listed_by_licence_and_by_code_alone_is_refused(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    first = import_file(app, store, ADMIN, "businesses", _ledger(tmp_path / "a.csv", _licensed()))
    assert first.accepted, first.errors
    before = _state(store)
    twice = _ledger(tmp_path / "b.csv", _licensed(), _coded("大圩重复米粉店改名", "C"))
    report = import_file(app, store, ADMIN, "businesses", twice, on=ON)
    assert [(e.row, e.column, e.value, e.code) for e in report.errors] == [
        (3, "统一社会信用代码", CODE, "duplicate_key")
    ]
    assert "第2行" in report.errors[0].reason_zh and "row 2" in report.errors[0].reason_en
    assert _state(store) == before


@pytest.mark.usefixtures("chunk")
@pytest.mark.parametrize("order", ["code first", "licence first"])
def test_a_new_business_listed_by_licence_and_by_code_alone_is_refused(
    app: twores.Twores, store: twores.Store, tmp_path: Path, order: str
) -> None:
    rows = [_coded(), _licensed()] if order == "code first" else [_licensed(), _coded()]
    path = _ledger(tmp_path / "b.csv", *rows)
    before = _state(store)
    for _ in range(2):  # refused again, the same way: nothing was stored the first time
        report = import_file(app, store, ADMIN, "businesses", path, on=ON)
        assert [(e.row, e.column, e.value, e.code) for e in report.errors] == [
            (3, "统一社会信用代码", CODE, "duplicate_key")
        ]
        assert "第2行" in report.errors[0].reason_zh
        assert _state(store) == before


def test_a_row_by_code_alone_and_a_row_by_licence_alone_of_one_stored_business(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """Only the store tells that the row giving the code and the row giving the licence
    (without its code) are one business: still a duplicate, whichever row comes first.
    (In one chunk: a later chunk looks codes up after the earlier ones were written, and
    the row by licence alone erases the stored code.)"""
    import_file(app, store, ADMIN, "businesses", _ledger(tmp_path / "a.csv", _licensed()))
    before = _state(store)
    by_licence = ["大圩重复米粉店", "", LICENCE, VILLAGE, "餐饮服务", "C"]
    for n, rows in enumerate([[_coded(), by_licence], [by_licence, _coded()]]):
        report = import_file(app, store, ADMIN, "businesses", _ledger(tmp_path / f"{n}.csv", *rows))
        column, value = ("许可证编号", LICENCE) if n == 0 else ("统一社会信用代码", CODE)
        assert [(e.row, e.column, e.value, e.code) for e in report.errors] == [
            (3, column, value, "duplicate_key")
        ]
        assert "第2行" in report.errors[0].reason_zh and LICENCE in report.errors[0].reason_zh
        assert _state(store) == before


def test_outlets_sharing_a_credit_code_are_still_businesses_of_their_own(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    outlet = ["大圩重复米粉店二店", CODE, "JY24503231000032", VILLAGE, "餐饮服务", "D"]
    path = _ledger(tmp_path / "a.csv", _licensed(), outlet)
    report = import_file(app, store, ADMIN, "businesses", path)
    assert report.accepted and report.records.inserted == 2, report.errors
    again = import_file(app, store, ADMIN, "businesses", path)
    assert again.accepted and again.records.changed == 0
