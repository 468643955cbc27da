"""``twores.services.staging``: files staged before a commit, placed after it."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from twores import InvalidValueError
from twores.services import staging
from twores.services.staging import StagedFolder, check_replaceable, left_lists, remove_leftover

PREFIX = ".test-staging-"


def _write(folder: StagedFolder, name: str, text: str) -> Path:
    return folder.write(name, lambda part: part.write_text(text, encoding="utf-8"))


def _entries(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_placing_moves_every_file_and_removes_the_staging_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "a.txt").write_text("old", encoding="utf-8")
    folder = StagedFolder.make(target, PREFIX, disposable=True)
    assert folder.path.parent == target and folder.path.name.startswith(PREFIX)
    assert (folder.path / staging.LOCK).exists() and folder.made == ()
    moves = [(_write(folder, n, n), target / n) for n in ("a.txt", "b.txt")]
    assert not list(folder.path.glob("*.part"))  # renamed once complete
    assert folder.place(moves) == []
    assert _entries(target) == ["a.txt", "b.txt"]  # no staging folder left
    assert (target / "a.txt").read_text(encoding="utf-8") == "a.txt"


def test_a_file_failing_to_render_leaves_no_half_file(tmp_path: Path) -> None:
    folder = StagedFolder.make(tmp_path / "out", PREFIX, disposable=False)

    def half(part: Path) -> None:
        part.write_bytes(b"")
        raise OSError(errno.ENOSPC, "full")

    with pytest.raises(OSError, match="full"):
        folder.write("x.docx", half)
    assert not (folder.path / "x.docx").exists()
    folder.discard()


@pytest.mark.parametrize("disposable", [True, False])
def test_discarding_removes_the_folders_made_only(tmp_path: Path, disposable: bool) -> None:
    target = tmp_path / "new" / "deeper" / "out"
    folder = StagedFolder.make(target, PREFIX, disposable=disposable)
    assert folder.made == (target, target.parent, target.parent.parent)
    _write(folder, "a.txt", "a")
    folder.discard()
    assert not (tmp_path / "new").exists()

    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine", encoding="utf-8")
    folder = StagedFolder.make(existing, PREFIX, disposable=disposable)
    _write(folder, "keep.txt", "new")
    folder.discard()
    assert _entries(existing) == ["keep.txt"]
    assert (existing / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_a_folder_failing_to_make_removes_the_folders_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: Any, **kwargs: Any) -> str:
        raise PermissionError(errno.EACCES, "denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refused)
    with pytest.raises(PermissionError):
        StagedFolder.make(tmp_path / "new" / "out", PREFIX, disposable=True)
    assert not (tmp_path / "new").exists()


def test_a_path_through_a_file_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(InvalidValueError, match="not a folder"):
        StagedFolder.make(tmp_path / "file" / "out", PREFIX, disposable=True)


@pytest.mark.parametrize("disposable", [True, False])
def test_a_move_failing_keeps_the_file_and_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, disposable: bool
) -> None:
    target = tmp_path / "out"
    folder = StagedFolder.make(target, PREFIX, disposable=disposable)
    moves = [(_write(folder, n, n), target / n) for n in ("a.txt", "b.txt", "c.txt")]
    real = os.replace

    def held(source: Any, final: Any) -> None:
        if Path(final) == target / "b.txt":
            raise PermissionError(errno.EACCES, "being used by another process")
        real(source, final)

    monkeypatch.setattr(os, "replace", held)
    left = folder.place(moves)
    monkeypatch.setattr(os, "replace", real)
    ((kept, final, error),) = left
    assert kept == folder.path / "b.txt" and final == target / "b.txt"
    assert isinstance(error, PermissionError) and kept.read_text(encoding="utf-8") == "b.txt"
    assert (target / "a.txt").exists() and (target / "c.txt").exists()
    # a disposable folder is marked done (a later run removes it); another, never
    assert (folder.path / staging.DONE).exists() is disposable
    assert remove_leftover(target, PREFIX) == ([folder.path] if disposable else [])
    zh, en = left_lists(left)
    assert zh == f"b.txt → {final}（being used by another process）"
    assert en == f"b.txt -> {final} (being used by another process)"


def test_left_lists_names_the_first_files_and_how_many() -> None:
    left = [
        (Path(f"s/{i}.docx"), Path(f"o/{i}.docx"), OSError(errno.EACCES, "denied"))
        for i in range(12)
    ]
    zh, en = left_lists(left, shown=2)
    assert zh.count("→") == 2 and zh.endswith("等 12 个文件")
    assert en.count("->") == 2 and en.endswith(" (12 files in all)")


def test_a_folder_in_a_files_place_is_found(tmp_path: Path) -> None:
    (tmp_path / "b.txt").mkdir()
    finals = [tmp_path / "a.txt", tmp_path / "b.txt"]
    blocked = check_replaceable(finals, tmp_path)
    assert blocked is not None and blocked.path == tmp_path / "b.txt" and not blocked.folder
    assert blocked.en == "a folder of that name is there"
    assert check_replaceable([tmp_path / "a.txt"], tmp_path) is None
    assert check_replaceable(finals, tmp_path / "not yet") is None  # made by the run


@pytest.mark.skipif(
    sys.platform == "win32" or (hasattr(os, "geteuid") and os.geteuid() == 0),
    reason="permissions as a user",
)
def test_an_output_folder_not_writable_is_found(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o500)
    try:
        blocked = check_replaceable([out / "a.txt"], out)
    finally:
        out.chmod(0o700)
    assert blocked is not None and blocked.folder and blocked.path == out


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_leftover_removal_honours_locks_ages_and_the_prefix(tmp_path: Path) -> None:
    import fcntl

    long_ago = 1_700_000_000.0

    def left(name: str, *, lock: bool, old: bool, done: bool = False) -> Path:
        made = tmp_path / name
        made.mkdir()
        (made / "x.docx").write_bytes(b"x")
        if lock:
            (made / staging.LOCK).touch()
            if old:
                os.utime(made / staging.LOCK, (long_ago, long_ago))
        if done:
            (made / staging.DONE).touch()
        if old:
            os.utime(made, (long_ago, long_ago))
        return made

    died = left(f"{PREFIX}died", lock=True, old=True)
    running = left(f"{PREFIX}running", lock=True, old=True)
    just_made = left(f"{PREFIX}new", lock=True, old=False)
    done = left(f"{PREFIX}done", lock=True, old=False, done=True)
    unlocked_new = left(f"{PREFIX}nolock", lock=False, old=False)
    unlocked_old = left(f"{PREFIX}nolockold", lock=False, old=True)
    other = left(".other-prefix-died", lock=True, old=True)
    other_done = left(".other-prefix-done", lock=True, old=True, done=True)
    (tmp_path / f"{PREFIX}file").write_bytes(b"not a folder")
    with (running / staging.LOCK).open("a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        removed = remove_leftover(tmp_path, PREFIX)
    assert set(removed) == {died, done, unlocked_old}
    for kept in (running, just_made, unlocked_new, other, other_done):
        assert (kept / "x.docx").exists()
    assert (tmp_path / f"{PREFIX}file").exists()
    assert remove_leftover(tmp_path / "missing", PREFIX) == []


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_a_folder_in_use_is_not_removed_until_its_run_is_done(tmp_path: Path) -> None:
    folder = StagedFolder.make(tmp_path, PREFIX, disposable=True)
    long_ago = 1_700_000_000.0
    os.utime(folder.path / staging.LOCK, (long_ago, long_ago))  # past the grace
    assert remove_leftover(tmp_path, PREFIX) == []  # locked: its run is using it
    folder.keep()
    assert remove_leftover(tmp_path, PREFIX) == [folder.path]
