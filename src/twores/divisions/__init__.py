"""Real administrative divisions: readers for the published layouts and the demo region.

Two layouts are read:

* the National Bureau of Statistics division files (``provinces``, ``cities``, ``areas``,
  ``streets``, ``villages``; CSV, optionally ``.xz``/``.gz``), one file or a folder of them;
* an area sheet with the columns offices use: 区划代码, 区划名称, 上级区划代码, 层级
  (or code, name, parent_code, tier). The packaged demo region is such a sheet.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import lzma
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from twores.core.areas import Area, Hierarchy, Tier, canonical_area_code, is_standard_code
from twores.core.businesses import whole_number_text
from twores.core.errors import (
    InvalidValueError,
    MissingValueError,
    StructureError,
    TworesError,
    UnknownAreaError,
)
from twores.core.labels import clean_text

#: The packaged demo region: 桂林市 (4503) with its province, complete to village level.
DEMO_REGION_CODE = "4503"
DEMO_REGION_FILE = "guilin-4503.csv"

_NBS_FILES = ("provinces", "cities", "areas", "streets", "villages")
_NBS_PARENT_COLUMNS = ("streetCode", "areaCode", "cityCode", "provinceCode")
_SHEET_COLUMNS = {
    "code": ("code", "区划代码", "代码", "行政区划代码"),
    "name": ("name", "区划名称", "名称", "行政区划名称"),
    "parent_code": ("parent_code", "上级区划代码", "上级代码", "parent"),
    "tier": ("tier", "层级", "级别", "level"),
}


def open_binary(path: Path) -> BinaryIO:
    """Open a file's bytes, decompressing ``.xz`` and ``.gz`` transparently."""
    if path.suffix == ".xz":
        return lzma.open(path, "rb")  # type: ignore[return-value]
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def open_text(path: Path, encoding: str = "utf-8-sig") -> io.TextIOBase:
    """Open a text file (UTF-8 unless told), decompressing ``.xz`` and ``.gz``
    transparently."""
    if path.suffix == ".xz":
        return lzma.open(path, "rt", encoding=encoding, newline="")
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def _within(code: str, root: str | None) -> bool:
    return root is None or code.startswith(root) or root.startswith(code)


def _nbs_rows(rows: Iterable[Mapping[str, str]], source: str, root: str | None) -> Iterator[Area]:
    errors: list[InvalidValueError] = []
    for line, row in enumerate(rows, start=2):
        code = (row.get("code") or "").strip()
        if not _within(code, root):
            continue
        try:
            tier = Tier.for_code(code)
            if tier is None:
                raise InvalidValueError(
                    "code", code, "不是 2/4/6/9/12 位统计区划代码", "not a 2/4/6/9/12-digit code"
                )
            parent_length = tier.parent.code_length if tier.parent else 0
            parent = next(
                (
                    value
                    for column in _NBS_PARENT_COLUMNS
                    if parent_length
                    and len(value := (row.get(column) or "").strip()) == parent_length
                ),
                None,
            )
            yield Area(
                code=code, name=(row.get("name") or "").strip(), tier=tier, parent_code=parent
            )
        except InvalidValueError as exc:
            errors.append(exc.at(row=line))
    if errors:
        raise StructureError(source, errors)


def _sheet_rows(rows: Iterable[Mapping[str, str]], source: str, root: str | None) -> Iterator[Area]:
    errors: list[InvalidValueError] = []
    columns: dict[str, str] | None = None
    for line, row in enumerate(rows, start=2):
        if columns is None:
            columns = {}
            for field, aliases in _SHEET_COLUMNS.items():
                for header in row:
                    if header and header.strip() in aliases:
                        columns[field] = header
        try:
            values = {field: (row.get(header) or "").strip() for field, header in columns.items()}
            code = canonical_area_code(_typed(values.get("code", "")))
            if not _within(code, root):
                continue
            if not values.get("tier"):
                tier = Tier.for_code(code)
                if tier is None:
                    raise MissingValueError("tier")
            else:
                tier = Tier.parse(values["tier"], field="tier")
            parent = values.get("parent_code") or None
            yield Area(
                code=code,
                name=values.get("name", ""),
                tier=tier,
                parent_code=(
                    canonical_area_code(_typed(parent), field="parent_code") if parent else None
                ),
            )
        except InvalidValueError as exc:
            errors.append(exc.at(row=line))
    if errors:
        raise StructureError(source, errors)


def _typed(code: str) -> str:
    """An area sheet's code as a CSV holds it, read as a workbook's cell of it is: without
    the apostrophe typed to keep it as text ('450323), a number written out as text
    (450323.0, as WPS or pandas save a number cell) as its digits."""
    text = clean_text(code)
    return whole_number_text(text[1:].lstrip() if text.startswith("'") else text)


def read_areas(
    stream: Iterable[str], *, source: str = "areas", within: str | None = None
) -> list[Area]:
    """Areas from one CSV text stream in either layout (detected from the header)."""
    reader = csv.DictReader(stream)
    header = set(reader.fieldnames or ())
    if "code" in header and "name" in header and not header & {"tier", "parent_code"}:
        return list(_nbs_rows(reader, source, within))
    named = {h.strip() for h in header if h}
    missing = [f for f in ("code", "name") if not named & set(_SHEET_COLUMNS[f])]
    if missing:  # other headers (or none): no area file, rather than 0 areas
        raise StructureError(source, [MissingColumnError(f).at(row=1) for f in missing])
    return list(_sheet_rows(reader, source, within))


class MissingColumnError(InvalidValueError):
    """An area file without a column every area needs (区划代码, 区划名称)."""

    code = "missing_column"

    def __init__(self, field: str) -> None:
        super().__init__(field, "", "缺少必需的列", "a required column is missing")


def load_divisions(path: str | Path, *, within: str | None = None) -> list[Area]:
    """Areas from a division file or a folder of them, keeping only the subtree ``within``.

    With ``within="4503"`` (or 450300, as GB/T 2260 writes it, or 450300000000) the result
    holds 桂林市, everything below it, and its province, so that it forms a complete
    :class:`~twores.core.areas.Hierarchy`; a code the files hold nothing at or below is an
    :class:`UnknownAreaError`.
    """
    root = division_root(within) if within else None
    if root is not None and not is_standard_code(root):
        raise TworesError(
            f"“{root}”不是统计区划代码", f"'{root}' is not a statistical division code"
        )
    folder = Path(path)
    files = [folder] if folder.is_file() else division_files(folder)
    areas: list[Area] = []
    for file in files:
        with open_text(file) as stream:
            areas.extend(read_areas(stream, source=file.name, within=root))
    if root is not None and not any(area.code.startswith(root) for area in areas):
        raise UnknownAreaError(str(within))  # its ancestors alone (459999: 广西) are no subtree
    return areas


def division_root(code: str) -> str:
    """The statistical code of the area ``code`` names (:func:`canonical_area_code`), a
    6- or 9-digit code padded with zeros (GB/T 2260's 450300 for 桂林市, 450000 for 广西)
    read as the 12-digit padded code is: 4503, 45."""
    root = canonical_area_code(code, field="within")
    if root.isdigit() and len(root) in (6, 9):
        return canonical_area_code(root.ljust(12, "0"), field="within")
    return root


def division_files(folder: Path) -> list[Path]:
    """The division files of ``folder`` (provinces first), or an error naming it."""
    found = []
    for stem in _NBS_FILES:
        for suffix in (".csv", ".csv.xz", ".csv.gz"):
            candidate = folder / f"{stem}{suffix}"
            if candidate.exists():
                found.append(candidate)
                break
    if not found:
        raise TworesError(
            f"目录 {folder} 中没有区划文件（provinces/cities/areas/streets/villages.csv[.xz]）",
            f"no division files (provinces/cities/areas/streets/villages.csv[.xz]) in {folder}",
        )
    return found


def write_area_sheet(areas: Iterable[Area], stream: io.TextIOBase) -> None:
    """Write areas as an area sheet (区划代码, 区划名称, 上级区划代码, 层级)."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["区划代码", "区划名称", "上级区划代码", "层级"])
    for area in sorted(areas, key=lambda a: (a.tier.depth, a.code)):
        writer.writerow([area.code, area.name, area.parent_code or "", area.tier.zh])


def demo_region_areas() -> list[Area]:
    """The packaged 桂林市 areas (see ``data/PROVENANCE.md``)."""
    data = resources.files("twores.divisions").joinpath("data", DEMO_REGION_FILE)
    with data.open("r", encoding="utf-8") as stream:
        return read_areas(stream, source=DEMO_REGION_FILE)


@functools.cache
def demo_region() -> Hierarchy:
    """The packaged 桂林市 hierarchy (17 counties, 148 townships, 1,946 villages)."""
    return Hierarchy(demo_region_areas())
