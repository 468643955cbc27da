"""An empty file is refused as empty (not as a sheet missing every column), and a masked
export imported back is told to use the unmasked one (not that its numbers are invalid)."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

import twores
from twores.core.businesses import StaffMember, checked_id_number, checked_phone
from twores.core.errors import InvalidValueError
from twores.services.imports import import_file
from twores.services.sheets import report

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n \n"])
@pytest.mark.parametrize("name", ["台账.csv", "台账.csv.gz"])
def test_an_empty_file_is_refused_as_empty(
    app: twores.Twores, store: twores.Store, tmp_path: Path, content: bytes, name: str
) -> None:
    source = tmp_path / name
    source.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)

    with pytest.raises(InvalidValueError) as refused:
        import_file(app, store, ADMIN, "businesses", source)

    assert "文件为空" in refused.value.message_zh
    assert "the file is empty" in refused.value.message_en


@pytest.mark.parametrize(
    ("check", "value"),
    [(checked_phone, "138****8000"), (checked_id_number, "450323********1234")],
)
def test_a_masked_number_says_to_use_the_unmasked_export(check: object, value: str) -> None:
    with pytest.raises(InvalidValueError) as refused:
        check(value)  # type: ignore[operator]
    assert "脱敏" in refused.value.message_zh and "--unmask" in refused.value.message_en


def test_a_masked_cadre_sheet_is_refused_at_each_number_saying_so(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    source = tmp_path / "干部.csv"
    with source.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["包保干部姓名", "职务", "层级", "所属区划", "联系电话", "身份证号"])
        writer.writerow(["王伟", "副镇长", "乡级", "450323101", "138****8000", ""])

    result = import_file(app, store, ADMIN, "cadres", source)

    assert [(e.row, e.column) for e in result.errors] == [(2, "联系电话")]
    assert "脱敏" in result.errors[0].reason_zh
    assert report.ERRORS_NOT_LISTED not in {e.code for e in result.errors}


def test_a_staff_member_with_a_masked_phone_says_so() -> None:
    with pytest.raises(InvalidValueError) as refused:
        StaffMember("李四", phone="139****4696")
    assert "脱敏" in refused.value.message_zh
