"""An export is written under a temporary name beside its file and put in place whole: an
export stopped midway (Ctrl-C, a full disk, a failing save) leaves the earlier file as it
was and no temporary file behind; a bulletin folder that cannot be written is named."""

from __future__ import annotations

import csv
import errno
import gzip
import lzma
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

import twores
import twores.services.bulletin as bulletin_module
from twores.core.areas import Hierarchy
from twores.core.errors import InvalidValueError
from twores.divisions import demo_region
from twores.services import exports
from twores.services.bulletin import write_bulletin
from twores.services.exports import export_list, write_table
from twores.services.stores import open_store
from twores.services.synth import synthetic_roster

from .test_bulletin import BULLETIN

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
BUSINESSES = 150
SUFFIXES = (".csv", ".csv.gz", ".csv.xz", ".xlsx")


def _region() -> Hierarchy:
    """桂林市 cut small: two counties, two townships each and two villages in each."""
    whole = demo_region()
    kept = [*whole.path("4503")]
    for county in whole.children("4503")[:2]:
        kept.append(county)
        for township in whole.children(county.code)[:2]:
            kept += [township, *whole.children(township.code)[:2]]
    return Hierarchy(kept)


@pytest.fixture
def held(app: twores.Twores, tmp_path: Path) -> twores.Store:
    store = open_store(app, f"sqlite:///{tmp_path / 'twores.db'}")
    hierarchy = _region()
    roster = synthetic_roster(hierarchy, businesses=BUSINESSES, cadres=10, seed=5)
    with store.unit_of_work(twores.Scope.system("test set-up")) as uow:
        uow.areas.upsert_many(hierarchy)
        uow.commit()
    with store.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many(roster.businesses.values())
        uow.commit()
    return store


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _rows(path: Path) -> int:
    """The data rows of an exported list."""
    if path.name.endswith(".xlsx"):
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        try:
            return sum(1 for _ in book.worksheets[0].iter_rows()) - 1
        finally:
            book.close()
    opener: Callable[..., IO[str]] = (
        gzip.open if path.name.endswith(".gz") else lzma.open if path.name.endswith(".xz") else open
    )
    with opener(path, "rt", encoding="utf-8-sig", newline="") as stream:
        return sum(1 for _ in csv.reader(stream)) - 1


def _earlier(held: twores.Store, out: Path, suffix: str) -> tuple[Path, bytes]:
    """A good earlier export of the businesses (all of them) at ``out/主体<suffix>``."""
    target = out / f"主体{suffix}"
    assert export_list(held, ADMIN, "businesses", target) == BUSINESSES
    assert _rows(target) == BUSINESSES
    return target, target.read_bytes()


def _stop_after(monkeypatch: pytest.MonkeyPatch, rows: int, error: BaseException) -> None:
    """The businesses' rows raise ``error`` after ``rows`` of them were written."""
    made = exports.business_row
    count = 0

    def row(*args: Any) -> list[object]:
        nonlocal count
        count += 1
        if count > rows:
            raise error
        return made(*args)

    monkeypatch.setattr(exports, "business_row", row)


def _openpyxl_temporary() -> list[str]:
    from openpyxl.worksheet import _writer

    return list(_writer.ALL_TEMP_FILES)


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize(
    "error",
    [KeyboardInterrupt(), OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))],
    ids=["ctrl-c", "disk-full"],
)
def test_an_export_stopped_midway_leaves_the_earlier_file_as_it_was(
    held: twores.Store,
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
    error: BaseException,
) -> None:
    target, before = _earlier(held, out, suffix)
    names = sorted(p.name for p in out.iterdir())
    temporary = _openpyxl_temporary()
    _stop_after(monkeypatch, 100, error)
    with pytest.raises(type(error)):
        export_list(held, ADMIN, "businesses", target)
    assert target.read_bytes() == before  # byte for byte
    assert sorted(p.name for p in out.iterdir()) == names  # no temporary file left
    assert _openpyxl_temporary() == temporary


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.xz"])
def test_a_full_disk_while_writing_names_the_file_and_keeps_the_earlier_one(
    held: twores.Store, out: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    target, before = _earlier(held, out, suffix)
    opened = exports._text_writer

    class Full:
        """A stream whose disk fills after some writes."""

        def __init__(self, stream: IO[str]) -> None:
            self.stream, self.writes = stream, 0

        def write(self, text: str) -> int:
            self.writes += 1
            if self.writes > 60:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.stream.write(text)

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.stream.close()

    monkeypatch.setattr(exports, "_text_writer", lambda *args: Full(opened(*args)))
    with pytest.raises(OSError, match="No space left") as full:
        export_list(held, ADMIN, "businesses", target)
    assert full.value.errno == errno.ENOSPC
    assert full.value.filename == str(target)  # the export's file, not a hidden one
    assert target.read_bytes() == before
    assert [p.name for p in out.iterdir()] == [target.name]


def test_an_xlsx_save_stopped_midway_leaves_the_earlier_file_and_no_sheet_behind(
    held: twores.Store, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openpyxl.writer.excel import ExcelWriter

    target, before = _earlier(held, out, ".xlsx")
    temporary = _openpyxl_temporary()

    def interrupted(self: Any, ws: Any) -> None:
        ws.close()  # the sheet's rows are in its temporary file, the .xlsx begun
        raise KeyboardInterrupt

    monkeypatch.setattr(ExcelWriter, "write_worksheet", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_list(held, ADMIN, "businesses", target)
    assert target.read_bytes() == before
    assert [p.name for p in out.iterdir()] == [target.name]
    assert _openpyxl_temporary() == temporary
    assert all(os.path.exists(name) for name in temporary)


def test_a_failed_xlsx_sheet_is_removed_even_when_closing_it_fails(
    held: twores.Store, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full temporary folder fails the rows, then the sheet's closing again: its
    temporary file is removed all the same (a web server would keep it until it ends)."""
    from openpyxl.worksheet._writer import WorksheetWriter

    target = out / "主体.xlsx"
    temporary = _openpyxl_temporary()
    made: list[str] = []
    start = WorksheetWriter.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        start(self, *args, **kwargs)
        made.append(self.out)

    def full(self: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(WorksheetWriter, "__init__", init)
    monkeypatch.setattr(WorksheetWriter, "write_tail", full)
    _stop_after(monkeypatch, 50, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    with pytest.raises(OSError, match="No space left"):
        export_list(held, ADMIN, "businesses", target)
    assert made and not any(os.path.exists(name) for name in made)
    assert _openpyxl_temporary() == temporary
    assert not list(out.iterdir())


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_finished_export_replaces_the_file_keeping_its_mode(
    held: twores.Store, out: Path, suffix: str
) -> None:
    target = out / f"主体{suffix}"
    target.write_bytes(b"an earlier file")
    target.chmod(0o640)
    assert export_list(held, ADMIN, "businesses", target) == BUSINESSES
    assert _rows(target) == BUSINESSES
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in out.iterdir()] == [target.name]


def test_a_new_export_is_made_as_a_new_file_is(out: Path) -> None:
    target = out / "新.csv"
    old = os.umask(0o022)
    try:
        write_table(target, ("a",), [["1"]])
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # not a temporary file's 0o600
    assert target.read_text(encoding="utf-8-sig").splitlines() == ["a", "1"]


def test_an_export_over_a_folder_names_it_and_writes_nothing(out: Path) -> None:
    target = out / "主体.csv"
    target.mkdir()
    with pytest.raises(IsADirectoryError) as refused:
        write_table(target, ("a",), [["1"]])
    assert refused.value.filename == str(target)
    assert [p.name for p in out.iterdir()] == [target.name]


def test_an_export_through_a_link_writes_the_file_linked(out: Path) -> None:
    real = out / "real.csv"
    real.write_text("earlier", encoding="utf-8")
    link = out / "link.csv"
    link.symlink_to(real)
    write_table(link, ("a",), [["1"]])
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8-sig").splitlines() == ["a", "1"]


def test_an_xlsx_refusal_still_writes_nothing(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "XLSX_ROWS", 3)
    target = out / "表.xlsx"
    target.write_bytes(b"earlier")
    temporary = _openpyxl_temporary()
    with pytest.raises(InvalidValueError):
        write_table(target, ("a",), iter([[1], [2], [3], [4]]))
    assert target.read_bytes() == b"earlier"
    assert [p.name for p in out.iterdir()] == [target.name]
    assert _openpyxl_temporary() == temporary


# --- bulletins: a folder that cannot be written is named --------------------------------


@pytest.mark.parametrize(
    "error",
    [
        PermissionError(errno.EACCES, os.strerror(errno.EACCES)),
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
    ],
    ids=["read-only", "disk-full"],
)
def test_a_bulletin_folder_that_cannot_be_written_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError
) -> None:
    folder = tmp_path / "通报"
    folder.mkdir()

    def mkdtemp(dir: str | Path, prefix: str = "", **_: Any) -> str:
        error.filename = str(Path(dir) / f"{prefix}wf2ry9nl")
        raise error

    monkeypatch.setattr(bulletin_module.tempfile, "mkdtemp", mkdtemp)
    with pytest.raises(InvalidValueError) as refused:
        write_bulletin(BULLETIN, folder, "week13")
    assert refused.value.value == str(folder)
    message = f"{refused.value.message_zh} {refused.value.message_en}"
    assert str(folder) in message and ".twores-" not in message
    if isinstance(error, PermissionError):
        assert "没有写入权限" in refused.value.reason_zh
        assert "permission denied" in refused.value.reason_en
    else:
        assert os.strerror(errno.ENOSPC) in refused.value.reason_zh
    assert not list(folder.iterdir())


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes a read-only folder"
)
def test_a_read_only_bulletin_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(InvalidValueError) as refused:
            write_bulletin(BULLETIN, folder, "week13")
    finally:
        folder.chmod(0o755)
    assert refused.value.value == str(folder)
    assert ".twores-" not in refused.value.message_en
