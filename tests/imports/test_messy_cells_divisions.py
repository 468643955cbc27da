"""``twores init --divisions … --area``: the area as GB/T 2260 writes it (450300 for 桂林市)
loads that area's subtree, and a code the division files do not hold is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import twores
from twores.core.errors import UnknownAreaError
from twores.divisions import load_divisions
from twores.services.setup import init


@pytest.fixture
def divisions(divisions_dir: Path, tmp_path: Path) -> Path:
    """The division files down to counties (quick to read)."""
    folder = tmp_path / "divisions"
    folder.mkdir()
    for stem in ("provinces", "cities", "areas"):
        shutil.copy(divisions_dir / f"{stem}.csv.xz", folder)
    return folder


def _codes(folder: Path, within: str) -> list[str]:
    return sorted(area.code for area in load_divisions(folder, within=within))


def test_a_six_digit_code_loads_the_same_areas_as_its_statistical_code(divisions: Path) -> None:
    guilin = _codes(divisions, "4503")
    assert guilin[:2] == ["45", "4503"] and len(guilin) == 2 + 17  # its 17 counties
    assert _codes(divisions, "450300") == _codes(divisions, "450300000000") == guilin
    assert _codes(divisions, "450000") == _codes(divisions, "45")
    assert _codes(divisions, "450323") == ["45", "4503", "450323"]


@pytest.mark.parametrize("code", ["459999", "4599", "459900", "99"])
def test_an_area_the_division_files_do_not_hold_is_refused(
    app: twores.Twores, divisions: Path, tmp_path: Path, code: str
) -> None:
    """Not "initialised" with its province alone; as the packaged region refuses it."""
    with pytest.raises(UnknownAreaError) as refused:
        load_divisions(divisions, within=code)
    assert f"“{code}”不存在" in refused.value.message_zh
    assert f"no area with code '{code}'" in refused.value.message_en
    database = tmp_path / "twores.db"
    with pytest.raises(UnknownAreaError):
        init(app, f"sqlite:///{database}", area=code, divisions=divisions)
    assert not database.exists()
    with pytest.raises(UnknownAreaError):
        init(app, f"sqlite:///{database}", area=code)


def test_the_packaged_region_takes_the_six_digit_code_too() -> None:
    from twores.services.setup import region

    assert {a.code for a in region("450300", None)} == {a.code for a in region("4503", None)}
    assert {a.code for a in region("450323000000", None)} == {
        a.code for a in region("450323", None)
    }
