"""Small uploads that would take the server down are refused before anything is written:
a workbook with a cell far outside its table (calamine would build the whole block between
and abort the process: the workbooks are read in a child process with its memory capped,
so that a regression fails these tests instead of killing pytest), a text line too long
for any ledger, and a .csv.gz or .csv.xz that inflates without bound."""

from __future__ import annotations

import gzip
import json
import lzma
import os
import resource
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook
from tests.services.test_ledger_reading import _biff_cell, _bof, _compound_file, _record

import twores
from twores.core.errors import InvalidValueError
from twores.services.imports import file_sha256, import_file
from twores.services.sheets import reading

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
HEADER = ["主体名称", "许可证编号", "所属区划", "业态", "规模"]
ROWS = [
    ["大圩豆腐坊", "SC14503231110603", "450323101202", "食品生产", "微型"],
    ["敢兴便利店", "JY14503230034495", "450323101202", "食品销售", "微型"],
]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#: The longest text line read, in bytes (``reading.LINE_LIMIT``, checked below).
LINE_LIMIT = 1 << 22

# -- workbooks: read by a child process whose address space is capped -------------------------

#: Imports each workbook named on the command line into one SQLite store and prints, per
#: workbook, what came of it: the refusal, or the rows stored.
CHILD = """
import json, sys
from pathlib import Path
import twores
from twores.core.errors import InvalidValueError
from twores.divisions import demo_region
from twores.services.imports import file_sha256, import_file
from twores.services.stores import open_store
admin = twores.Scope("测试员", twores.Role.ADMIN)
app = twores.build(load_entrypoints=False)
store = open_store(app, "sqlite:///" + sys.argv[1])
with store.unit_of_work(twores.Scope.system("test set-up")) as uow:
    uow.areas.upsert_many(demo_region())
    uow.commit()
def stored():
    with store.unit_of_work(admin) as uow:
        return len(list(uow.businesses.stream()))
for path in sys.argv[2:]:
    before, outcome = stored(), {"path": path}
    try:
        report = import_file(app, store, admin, "businesses", path)
        outcome["errors"] = [e.reason_en for e in report.errors]
    except InvalidValueError as error:
        outcome["zh"], outcome["en"] = error.message_zh, error.message_en
    with store.unit_of_work(admin) as uow:
        outcome["recorded"] = uow.imports.find(file_sha256(Path(path))) is not None
    outcome["written"] = stored() - before
    print(json.dumps(outcome, ensure_ascii=False), flush=True)
"""
#: The child's address space: ample for twores and these workbooks, far below a block of
#: a sheet's 1,048,576 rows x 16,384 columns (550 GB), whose allocation then fails.
CHILD_MEMORY = 3 << 30


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def _workbook(path: Path, *extra: tuple[str, object]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    for row in [HEADER, *ROWS]:
        sheet.append(row)
    for cell, value in extra:
        sheet[cell] = value
    book.save(path)
    return path


def _sheet_xml(path: Path, change: Callable[[str], str]) -> Path:
    """``path`` with its sheet's XML changed as ``change`` says."""
    with zipfile.ZipFile(path) as source:
        parts = [(item.filename, source.read(item.filename)) for item in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts:
            if name == "xl/worksheets/sheet1.xml":
                data = change(data.decode()).encode()
            target.writestr(name, data)
    return path


def _cells(cells: str, prefix: str = "") -> Callable[[str], str]:
    """A sheet whose cells are ``cells`` (header and rows first), elements in ``prefix``."""

    def text(value: str, ref: str = "") -> str:
        at = f' r="{ref}"' if ref else ""
        return f'<c{at} t="inlineStr"><is><t>{value}</t></is></c>'

    rows = "".join(
        f'<row r="{n}">' + "".join(text(v) for v in row) + "</row>"
        for n, row in enumerate([HEADER, *ROWS], start=1)
    )

    def sheet(_: str) -> str:
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'
            f"<sheetData>{rows}{cells}</sheetData></worksheet>"
        )
        if prefix:
            xml = xml.replace("<", f"<{prefix}:").replace(f"<{prefix}:/", f"</{prefix}:")
            xml = xml.replace(f"<{prefix}:?xml", "<?xml").replace("xmlns=", f"xmlns:{prefix}=")
        return xml

    return sheet


def _xls(path: Path, far: tuple[int, int]) -> Path:
    """An .xls of the header, the rows and one number at ``far`` (row, column)."""
    cells = [
        _biff_cell(r, c, value)
        for r, row in enumerate([HEADER, *ROWS])
        for c, value in enumerate(row)
    ]
    sheet = _bof(0x10) + b"".join(cells) + _biff_cell(*far, 1.0) + _record(0x000A)
    name = "台账"
    bound = len(_bof(5)) + 12 + 2 * len(name) + len(_record(0x000A))
    at = struct.pack("<IBBBB", bound, 0, 0, len(name), 1) + name.encode("utf-16-le")
    path.write_bytes(_compound_file(_bof(5) + _record(0x0085, at) + _record(0x000A) + sheet))
    return path


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    """Each workbook below imported by the child: the far cells of every kind, and a
    stray cell near the table (read, first)."""
    folder = tmp_path_factory.mktemp("bombs")
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    books = {
        "stray": _workbook(folder / "stray.xlsx", ("H3", "备注"), ("B40", "填表人：李")),
        # openpyxl writes the cell; the <dimension> is made to lie, saying A1:E3.
        "far": _sheet_xml(
            _workbook(folder / "far.xlsx", ("XFD1048576", "x")),
            lambda xml: xml.replace('ref="A1:XFD1048576"', 'ref="A1:E3"'),
        ),
        "prefixed": _sheet_xml(_workbook(folder / "prefixed.xlsx"), _cells(far, "x")),
        "reordered": _sheet_xml(
            _workbook(folder / "reordered.xlsx"),
            _cells(far.replace('r="XFD1048576" t="inlineStr"', 't="inlineStr" r="XFD1048576"')),
        ),
        # no r: row 1,048,576 from <row r>, column XFD after the self-closing XFC1048576
        "implied": _sheet_xml(
            _workbook(folder / "implied.xlsx"),
            _cells('<row r="1048576"><c r="XFC1048576"/><c><v>1</v></c></row>'),
        ),
        "far-xls": _xls(folder / "far-xls.xls", (65535, 65535)),
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder / "t.db"), *map(str, books.values())],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_capped,
        check=False,
    )
    by_path = {o["path"]: o for o in map(json.loads, child.stdout.splitlines())}
    found = {name: by_path.get(str(path), {}) for name, path in books.items()}
    found["child"] = {"returncode": child.returncode, "stderr": child.stderr[-2000:]}
    return found


def test_the_child_reading_the_workbooks_survives(outcomes: dict[str, dict[str, object]]) -> None:
    assert outcomes["child"]["returncode"] == 0, outcomes["child"]["stderr"]


@pytest.mark.parametrize(
    ("book", "far", "block"),
    [
        ("far", "XFD1048576", "1,048,576 行 × 16,384 列"),
        ("prefixed", "XFD1048576", "1,048,576 行 × 16,384 列"),
        ("reordered", "XFD1048576", "1,048,576 行 × 16,384 列"),
        ("implied", "XFD1048576", "1,048,576 行 × 16,384 列"),
        # BIFF8 has 256 columns, but a record may say column 65,535: calamine reads it
        ("far-xls", "CRXP65536", "65,536 行 × 65,536 列"),
    ],
)
def test_a_cell_far_outside_the_table_is_refused_naming_it(
    outcomes: dict[str, dict[str, object]], book: str, far: str, block: str
) -> None:
    outcome = outcomes[book]
    assert "zh" in outcome, (outcome, outcomes["child"])
    zh, en = str(outcome["zh"]), str(outcome["en"])
    assert book in zh and f"工作表“台账”的单元格 {far} 远在表格之外" in zh
    assert "请删除该单元格" in zh and block in zh
    assert book in en and f"cell {far} lies far outside the table" in en
    assert outcome["written"] == 0 and outcome["recorded"] is False


def test_a_stray_cell_near_the_table_is_read(outcomes: dict[str, dict[str, object]]) -> None:
    outcome = outcomes["stray"]
    assert outcome.get("errors") == [], (outcome, outcomes["child"])
    assert outcome["written"] == len(ROWS) and outcome["recorded"] is True
    # and the same sheet with the stray cell far away is refused
    assert "远在表格之外" in str(outcomes["far"].get("zh")), outcomes["child"]


# -- text ledgers -------------------------------------------------------------------------------


def _stored(store: twores.Store) -> int:
    with store.unit_of_work(ADMIN) as uow:
        return len(list(uow.businesses.stream()))


def _text(path: Path, *lines: str) -> Path:
    data = "".join(f"{line}\n" for line in [",".join(HEADER), *lines]).encode()
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=9)
    elif path.suffix == ".xz":
        data = lzma.compress(data)
    path.write_bytes(data)
    return path


def _refused(app: twores.Twores, store: twores.Store, path: Path) -> InvalidValueError:
    """The refusal of ``path``, once it is seen to have written nothing."""
    before = _stored(store)
    with pytest.raises(InvalidValueError) as refused:
        import_file(app, store, ADMIN, "businesses", path)
    assert refused.value.field == "file" and refused.value.value == path.name
    assert _stored(store) == before
    with store.unit_of_work(ADMIN) as uow:
        assert uow.imports.find(file_sha256(path)) is None
    return refused.value


def test_a_line_up_to_the_limit_is_read_one_longer_refused_naming_it(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """A line of LINE_LIMIT bytes (its line break included) in notes of about 100,000
    characters each (a csv field may hold 131,072) is a row like any other."""
    notes = LINE_LIMIT // 100_000 + 1
    header = [*HEADER, *(f"备注{n}" for n in range(notes))]
    filler = LINE_LIMIT - 1 - len(",".join(ROWS[0]).encode()) - notes  # the notes' bytes
    cells = [*ROWS[0], *("x" * (filler // notes + (n < filler % notes)) for n in range(notes))]
    line = ",".join(cells)
    assert len(line.encode()) + 1 == LINE_LIMIT and max(map(len, cells)) < 131_072
    path = tmp_path / "长行.csv"
    path.write_text(",".join(header) + "\n" + line + "\n", encoding="utf-8")
    report = import_file(app, store, ADMIN, "businesses", path)
    assert report.accepted, report.errors
    assert _stored(store) == 1
    longer = tmp_path / "更长.csv"
    longer.write_text(",".join(header) + "\n" + line + "x\n", encoding="utf-8")
    error = _refused(app, store, longer)
    assert f"第 2 行超过 {LINE_LIMIT:,} 字节" in error.message_zh
    assert f"line 2 is longer than {LINE_LIMIT:,} bytes" in error.message_en
    assert getattr(reading, "LINE_LIMIT", None) == LINE_LIMIT


@pytest.mark.parametrize("name", ["台账.csv", "台账.csv.gz"])
def test_a_line_too_long_is_refused_naming_it_before_it_is_built(
    app: twores.Twores, store: twores.Store, tmp_path: Path, name: str
) -> None:
    noise = os.urandom(LINE_LIMIT).hex()  # 2 x LINE_LIMIT bytes, compressing little
    path = _text(tmp_path / name, ",".join(ROWS[0]), ",".join(ROWS[1]) + noise)
    error = _refused(app, store, path)
    assert f"第 3 行超过 {LINE_LIMIT:,} 字节" in error.message_zh
    assert f"line 3 is longer than {LINE_LIMIT:,} bytes" in error.message_en


@pytest.mark.parametrize("name", ["台账.csv.gz", "台账.csv.xz"])
def test_a_compressed_ledger_inflating_without_bound_is_refused(
    app: twores.Twores, store: twores.Store, tmp_path: Path, name: str
) -> None:
    """One endless line, 1,000 times and more its compressed size (rev2 finding 2)."""
    path = _text(tmp_path / name, "a" * (16 << 20))
    assert path.stat().st_size < 64 << 10
    error = _refused(app, store, path)
    assert "压缩文件解压后的大小不合常理（疑似“压缩炸弹”）" in error.message_zh
    assert "would inflate to an implausible size" in error.message_en
