"""Files written before a commit and moved into place after it, through a staging folder.

A run that records rows and writes the files they refer to writes the files first, into a
:class:`StagedFolder` made inside the output folder (the same file system: moving a file
into place is one rename), records the rows and commits, then moves the files into place
(:meth:`StagedFolder.place`). A run failed before its commit discards the staging folder
and every folder it made (:meth:`StagedFolder.discard`): the output folder as it was. A
file that cannot move after the commit stays in the staging folder, which is kept, and is
reported with why (:data:`Left`; :func:`left_lists` names them in both languages).

A *disposable* staging folder (commitment letters: a run writes every file again) is held
locked while in use and, once kept, marked done, so that a later run's
:func:`remove_leftover` removes it. One that is not (reminder letters: the files it keeps
are the only copy of letters the database refers to) is neither, and never removed."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

import attrs

from twores.services.exports import check_makeable

#: The file, inside a disposable staging folder, its run holds locked while it uses it.
LOCK = ".lock"
#: The file a run leaves in a disposable staging folder it is done with but keeps (its
#: files could not all be moved into place): a later run removes it at once.
DONE = ".done"
#: A staging folder whose lock file is younger than this is left alone (its run may be
#: about to lock it); one without a lock file, younger than :data:`UNLOCKED_AGE`.
GRACE = 60.0
UNLOCKED_AGE = 86_400.0

#: A file that could not be moved into place: the file in the staging folder, where it
#: was to go, and why.
Left = tuple[Path, Path, OSError]


class StagedFolder:
    """A staging folder inside an output folder (``target``): ``path``. Made by
    :meth:`make`; ended by :meth:`discard` (before the commit) or :meth:`place` (after)."""

    def __init__(
        self, target: Path, path: Path, made: tuple[Path, ...], lock: IO[bytes] | None
    ) -> None:
        self.target = target
        self.path = path
        #: The folders :meth:`make` made (``target`` and parents of it), deepest first.
        self.made = made
        self._lock = lock

    @classmethod
    def make(cls, target: Path, prefix: str, *, disposable: bool) -> StagedFolder:
        """Make ``target`` (and its parents) if need be and a staging folder, named
        ``prefix…``, inside it; a disposable one locked at once (until :meth:`keep`). Should
        that fail, the folders made are removed again (only those left empty)."""
        check_makeable(target)
        made = tuple(p for p in (target, *target.parents) if not p.exists())
        path: Path | None = None
        try:
            target.mkdir(parents=True, exist_ok=True)
            path = Path(tempfile.mkdtemp(prefix=prefix, dir=target))
            lock = _lock(path / LOCK) if disposable else None
        except BaseException:
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)
            _remove_empty(made)
            raise
        return cls(target, path, made, lock)

    @property
    def disposable(self) -> bool:
        return self._lock is not None

    def write(self, name: str, render: Callable[[Path], object]) -> Path:
        """Stage the file ``name``: ``render`` writes it to the path it is given (a
        temporary name), renamed once complete: never a half-written file, even here.
        Returns the staged file."""
        staged = self.path / name
        part = self.path / f".{name}.part"
        render(part)
        part.replace(staged)
        return staged

    def discard(self) -> None:
        """Before (or at) a failed commit: the staging folder removed, and each folder
        :meth:`make` made, if left empty (deepest first): the output folder as it was."""
        self._release()
        shutil.rmtree(self.path, ignore_errors=True)
        _remove_empty(self.made)

    def place(self, moves: Iterable[tuple[Path, Path]]) -> list[Left]:
        """After the commit: move each staged file to its place (``os.replace``: there
        the old file or the new one, never half of one). Returns the files that could not
        move, kept in the staging folder (:meth:`keep`); with none, the folder is removed."""
        left: list[Left] = []
        try:
            for staged, final in moves:
                try:
                    os.replace(staged, final)
                except OSError as error:
                    left.append((staged, final, error))
        finally:
            if left:
                self.keep()
            else:
                self._release()
        if not left:
            shutil.rmtree(self.path, ignore_errors=True)
        return left

    def keep(self) -> None:
        """Done with the folder, which is kept: a disposable one is marked done (the next
        :func:`remove_leftover` removes it at once) and unlocked."""
        if self.disposable:
            with contextlib.suppress(OSError):
                (self.path / DONE).touch()
        self._release()

    def _release(self) -> None:
        _unlock(self._lock)
        self._lock = None


def _remove_empty(folders: Iterable[Path]) -> None:
    for folder in folders:  # deepest first; only the ones left empty
        with contextlib.suppress(OSError):
            folder.rmdir()


def left_lists(left: list[Left], shown: int = 10) -> tuple[str, str]:
    """The first ``shown`` files ``left``, each with where it was to go and why, in Chinese
    and in English (with how many in all when there are more)."""
    first = left[:shown]
    more_zh = f"等 {len(left)} 个文件" if len(left) > shown else ""
    more_en = f" ({len(left)} files in all)" if len(left) > shown else ""
    zh = "；".join(f"{f.name} → {t}（{e.strerror or e}）" for f, t, e in first)
    en = "; ".join(f"{f.name} -> {t} ({e.strerror or e})" for f, t, e in first)
    return zh + more_zh, en + more_en


@attrs.frozen
class Unreplaceable:
    """Why a file cannot take its place by a rename (``path``), in Chinese and English;
    ``folder``: the output folder itself cannot be written to (``path`` is it)."""

    path: Path
    zh: str
    en: str
    folder: bool = False


def check_replaceable(finals: Iterable[Path], folder: Path) -> Unreplaceable | None:
    """The first of ``finals`` (places in ``folder``) a rename cannot take, and why: a
    folder there, a file that cannot be read, one another program holds open or read-only
    (Windows), another user's file in a folder only owners may replace files in (the
    sticky bit); or an output folder that cannot be written to. None: as far as can be
    told, every one can (``folder`` not there yet: made by the run, nothing in the way)."""
    if not folder.exists():
        return None
    if not os.access(folder, os.W_OK | os.X_OK):
        return Unreplaceable(folder, "权限不足", "permission denied", folder=True)
    try:
        owner = folder.stat()
    except OSError:
        return None
    me = os.geteuid() if hasattr(os, "geteuid") else None
    sticky = bool(owner.st_mode & stat.S_ISVTX) and me not in (0, owner.st_uid)
    for final in finals:
        reason = _unreplaceable(final, sticky, me)
        if reason is not None:
            return Unreplaceable(final, *reason)
    return None


def _unreplaceable(final: Path, sticky: bool, me: int | None) -> tuple[str, str] | None:
    """Why a rename cannot replace ``final`` (None: it can, as far as can be told)."""
    try:
        found = final.lstat()
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"无法读取（{error.strerror}）", f"it cannot be read ({error.strerror})"
    if stat.S_ISDIR(found.st_mode):
        return "此处是一个同名文件夹", "a folder of that name is there"
    if sys.platform == "win32":  # a file Excel or WPS has open is locked against writing
        try:
            with open(final, "r+b"):
                pass
        except OSError:
            return (
                "文件被其他程序占用（如 Excel、WPS）或为只读",
                "the file is open in another program (Excel, WPS?) or read-only",
            )
    elif sticky and found.st_uid != me:
        return (
            "文件属于其他用户，而该文件夹只允许所有者替换文件",
            "the file belongs to another user, in a folder where only owners replace files",
        )
    return None


def remove_leftover(folder: Path, prefix: str) -> list[Path]:
    """Remove the disposable staging folders (``prefix…``) in ``folder`` that earlier runs
    left and no run uses: one its run kept, done with it (marked :data:`DONE`), and one of
    a run that died. A run holds its folder's lock file locked from just after it made the
    folder until it is done with it, so a folder whose lock can be taken, its lock file
    older than :data:`GRACE` (so not one a run has just made and is about to lock), is no
    run's; one without a lock file is removed only once older than :data:`UNLOCKED_AGE`.
    Returns the folders removed."""
    removed: list[Path] = []
    now = time.time()
    try:
        entries = [p for p in folder.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.is_symlink() or not entry.is_dir():
                continue
            lock_file = entry / LOCK
            if (entry / DONE).exists():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
                continue
            if not lock_file.exists():
                if now - entry.stat().st_mtime < UNLOCKED_AGE:
                    continue
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
                continue
            if now - lock_file.stat().st_mtime < GRACE:
                continue
            handle = lock_file.open("a+b")
            try:
                _try_lock(handle)  # OSError: a run is using it
            except OSError:
                handle.close()
                continue
            _unlock(handle)
            # no run holds it (nor takes it again: a run only locks the folder it made)
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _lock(lock_file: Path) -> IO[bytes]:
    """``lock_file`` opened and locked (until :func:`_unlock`)."""
    handle = lock_file.open("a+b")
    try:
        _try_lock(handle)
    except BaseException:
        handle.close()
        raise
    return handle


def _try_lock(handle: IO[bytes]) -> None:
    """Lock ``handle``'s file without waiting; OSError when another holds it."""
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unlock(handle: IO[bytes] | None) -> None:
    """Let go of a lock and close its file."""
    if handle is None:
        return
    with contextlib.suppress(OSError):
        if sys.platform == "win32":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    with contextlib.suppress(OSError):
        handle.close()  # closing lets go of a flock too
