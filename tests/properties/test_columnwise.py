"""Column-wise parsing gives exactly what the row parser gives: the same businesses, the same
errors, on clean and messy sheets alike (and vouches for the clean rows itself)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from twores.core.areas import Hierarchy
from twores.core.businesses import (
    BusinessType,
    CanteenKind,
    OperatingStatus,
    Scale,
    canonical_licence,
    canonical_uscc,
    uscc_check_digit,
)
from twores.core.labels import clean_text
from twores.divisions import demo_region
from twores.services.exports import BUSINESS_HEADERS, _Masker, business_row, write_table
from twores.services.sheets.columns import map_columns
from twores.services.sheets.columnwise import _NORMAL, ColumnwiseBusinesses, _normalised
from twores.services.sheets.parsing import (
    AreaResolver,
    _business_readers,
    _positions,
    iter_business_chunks,
    read_sheet,
)
from twores.services.sheets.reading import Row, Table
from twores.services.sheets.values import visible
from twores.services.synth import synthetic_businesses

HIERARCHY = Hierarchy(demo_region())
VILLAGE = next(a for a in HIERARCHY if len(a.code) == 12)
VALID_USCC = "92450327P3MPWH2JD" + uscc_check_digit("92450327P3MPWH2JD")
HEADER = [*BUSINESS_HEADERS, "包保干部姓名"]


def _labels(*enums: type) -> list[object]:
    return [label for enum in enums for m in enum for label in (m.zh, m.value, *m._aliases)]  # type: ignore[attr-defined]


def _cells(good: list[object], bad: list[object]) -> st.SearchStrategy[object]:
    """Mostly readable cells (in any spelling), so that whole rows reach the fast path."""
    return st.sampled_from(good * 8 + bad)


NAMES = _cells(
    ["鹰嘴山饭店", " 塘头米粉店 ", "Ｋ记（二分店）", "Joe's  Pizza", "a\tb", "ﬁ店", "-", "Ａ",
     "\u3000桂林米粉\u3000", "a\u00a0b", "甲\u2028乙", "x\x1cy", "店\r", "①号店", 12345.0, 7,
     "\u200b定江莲花超市", "定江\u200b莲花超市\ufeff", "e\u200b\u0301", "a \u2060 b"],
    ["", "  ", "\u00a0", "a\nb", None, "\u200b", "\ufeff "],
)  # fmt: skip
USCCS = _cells(
    [VALID_USCC, VALID_USCC.lower(), f" {VALID_USCC} ", VALID_USCC[:6] + "-" + VALID_USCC[6:],
     VALID_USCC.replace("9", "９"), "", None, "\ufeff" + VALID_USCC, VALID_USCC + "\u200b"],
    [VALID_USCC[:-1] + "0", "-", "9245", "I" * 18, 123.0, 9.2450323e17, "9.24503E+17"],
)  # fmt: skip
JY = ["JY14503272341057", "jy14503272341057", "JY 1450\u00a03272341057", "ＪＹ14503272341057",
      "JY14503272341057\u200b"]  # fmt: skip
SC = ["SC10145032700012", "sc1014503270 0012"]
#: Licences that fit each kind of business, so that whole rows can be valid.
LICENCES = {
    **dict.fromkeys((BusinessType.SALES, BusinessType.CATERING, BusinessType.CANTEEN), JY),
    **dict.fromkeys((BusinessType.PRODUCTION, BusinessType.SPECIAL_FOOD), SC),
    BusinessType.WORKSHOP: ["桂食登字(2023)第001号", "", 4503231234.0, "4503231234"],
    BusinessType.VENDOR: ["桂食登字(2023)第001号", "", 45032300001234.0],
}
BAD_LICENCES = [
    "JY19903272341057", "JY1450327234105", "-", 14503272341057.0, "JY1450327234105\n7", None,
    9.25e17, "1.4503E+15",
]  # fmt: skip
AREAS = _cells(
    [VILLAGE.code, f" {VILLAGE.code}", float(VILLAGE.code), VILLAGE.code + "\u2060"],
    ["999999999999", "", None, "桂林市", "\u200b"],
)
SCALES = _cells([*_labels(Scale), "", None], ["巨型"])
CANTEENS = _cells([""], [*_labels(CanteenKind), "x"])
DINERS = _cells(["", "120", "1,200", 30.0], ["-5", "三十", True])
CHAIN = _cells(["", "是", "否", True, 0, "Y"], ["maybe"])
STATUS = _cells(["", *_labels(OperatingStatus), "\ufeff注销"], ["x"])
DATES = _cells(
    ["", "2023-03-15", "2023年3月15日", "2023/3/15", "45000", datetime(2023, 1, 2, 8),
     date(2022, 5, 1), 44927.0, "2025-1-1", "2019/5/2 0:00", "2023-3-15 0:00:00", 44999.375,
     "44999.375", "2023-03-15 00:00:00"],
    ["2023-02-30", "x"],
)  # fmt: skip
GRADES = _cells(["", "A级", "a", "Ａ", "b级 ", None, "C\u200b"], ["E"])
RISKS = _cells(["", "B", "c"], ["x"])
STAFF = _cells(["", None], ["张三", "13800138000", " ", 0])
CADRES = _cells(["", None], ["李四", " ", 0])


@st.composite
def rows(draw: st.DrawFn) -> list[object]:
    kind = draw(st.sampled_from(list(BusinessType)))
    spelling = draw(st.sampled_from([kind.zh, kind.value, *kind._aliases] * 8 + ["", "菜场"]))
    licence = draw(_cells(LICENCES[kind], BAD_LICENCES))
    canteens = _cells([*_labels(CanteenKind), ""], ["x"])
    canteen = draw(canteens if kind is BusinessType.CANTEEN else CANTEENS)
    staffed = draw(st.integers(0, 9)) == 0
    staff = [draw(STAFF) if staffed else "" for _ in range(len(BUSINESS_HEADERS) - 14)]
    cells = [
        draw(NAMES), draw(USCCS), licence, draw(AREAS), spelling, draw(SCALES),
        canteen, draw(DINERS), draw(CHAIN), draw(STATUS), draw(DATES), draw(DATES),
        draw(GRADES), draw(RISKS), *staff, draw(CADRES),
    ]  # fmt: skip
    return cells[: draw(st.sampled_from([len(cells)] * 18 + [20, 4]))]  # ragged rows too


def _parse(header: list[str], table_rows: list[Row], size: int, columnwise: bool) -> list[object]:
    table = Table(header, 1, iter(table_rows))
    chunks = iter_business_chunks(table, HIERARCHY, size=size, columnwise=columnwise)
    return [(chunk.rows, chunk.errors) for chunk in chunks]


@given(
    st.lists(rows(), min_size=1, max_size=25),
    st.integers(min_value=1, max_value=8),
    st.booleans(),
)
def test_columnwise_parse_equals_the_row_parser(
    cells: list[list[object]], size: int, with_cadres: bool
) -> None:
    header = HEADER if with_cadres else list(BUSINESS_HEADERS)
    table_rows = [Row(n, str(n - 1), c[: len(header)]) for n, c in enumerate(cells, start=2)]
    assert _parse(header, table_rows, size, True) == _parse(header, table_rows, size, False)


def test_clean_rows_are_read_column_wise(tmp_path: Path) -> None:
    """The fast path must really vouch for a clean ledger, not leave it to the row parser."""
    businesses = list(synthetic_businesses(demo_region(), 300, seed=7, graded=True))
    path = tmp_path / "businesses.csv"
    write_table(path, BUSINESS_HEADERS, (business_row(b, _Masker(True)) for b in businesses))
    table = read_sheet(path, "businesses")
    positions = _positions(table, map_columns("businesses", table.header))
    fast = ColumnwiseBusinesses(positions, _business_readers(AreaResolver(HIERARCHY)), ())
    assert fast.parse([row.cells for row in table.rows]) == businesses


@given(st.text())
def test_clean_text_is_nfkc_with_whitespace_collapsed(text: str) -> None:
    assert clean_text(text) == " ".join(unicodedata.normalize("NFKC", text).split())


#: Text with the invisible characters sheets drop (zero-width space, BOM, ...) mixed in.
TEXTS = st.text(st.one_of(st.characters(), st.sampled_from("\u200b\u200c\u200d\u2060\ufeff\u00ad")))


@given(st.lists(TEXTS, min_size=1, max_size=6))
def test_a_column_normalises_as_its_cells_do(cells: list[str]) -> None:
    """Normalising the joined column equals normalising each cell as the row parser does
    (NFKC never composes across the line feed that joins them; invisible characters are
    dropped first in both); a column with a line break or an apostrophe goes cell by cell."""
    for name, canonical in (
        ("name", lambda c: clean_text(visible(c))),
        ("licence_no", lambda c: canonical_licence(visible(c))),
        ("uscc", lambda c: canonical_uscc(visible(c))),
    ):
        column = _normalised(cells, _NORMAL[name])
        if column is None:
            assert any("\n" in cell or "'" in cell for cell in cells)
        else:
            assert column == [canonical(cell) for cell in cells]
