"""``escalate_overdue(letters=…)``: the reminder letters are written into a staging folder
before the commit and moved into place after it, so a failed run leaves no letter for a
step it never recorded, and never a half-written (0-byte) .docx."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import docx
import pytest

import twores
from twores.core.periods import CHINA_TZ
from twores.core.ports import Store
from twores.core.problems import Action, ProblemStatus, Severity
from twores.services import problems as problems_service
from twores.services.problems import (
    REMINDER_STAGING_PREFIX,
    NewProblem,
    ReminderFilesLeftError,
    escalate_overdue,
    open_problems,
)
from twores.services.reminders import write_reminder
from twores.services.staging import Unreplaceable, check_replaceable

from .helpers import ADMIN, START, load

FOUND = date(2026, 3, 1)
DUE = date(2026, 3, 9)  # a major problem's 7 days passed: each gets a reminder letter
COUNT = 5


def _overdue(store: Store, roster: twores.Roster, app: twores.Twores) -> list[twores.Problem]:
    load(store, roster, START)
    news = [
        NewProblem(
            key,
            f"未落实进货查验 {i}",
            "交叉检查组",
            FOUND,
            twores.ProblemSource.CROSS_INSPECTION,
            Severity.MAJOR,
        )
        for i, key in enumerate(sorted(roster.businesses)[:COUNT])
    ]
    opened = open_problems(app, store, ADMIN, news, at=datetime(2026, 3, 1, 10, tzinfo=CHINA_TZ))
    assert len(opened) == COUNT
    return opened


def _states(store: Store) -> dict[str, tuple[ProblemStatus, int, date | None]]:
    with store.unit_of_work(ADMIN) as uow:
        return {p.id: (p.status, p.reminders, p.deadline) for p in uow.problems.stream()}


def _everything(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_a_successful_run_places_every_letter(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    _overdue(store, roster, app)
    letters = tmp_path / "out" / "提醒函"
    done = escalate_overdue(app, store, ADMIN, DUE, letters=letters)
    assert len(done) == COUNT and all(e.event.action is Action.REMIND for e in done)
    placed = sorted(letters.iterdir())
    assert len(placed) == COUNT  # no staging folder left, no temporary file
    assert all(p.suffix == ".docx" and p.stat().st_size > 0 for p in placed)
    for e in done:
        name = f"提醒函-{e.problem.id.replace('/', '_')}-1.docx"
        text = "\n".join(p.text for p in docx.Document(str(letters / name)).paragraphs)
        assert e.problem.description in text


@contextlib.contextmanager
def _failing_commit(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real = store.unit_of_work

    @contextlib.contextmanager
    def unit(scope: twores.Scope) -> Iterator[Any]:
        with real(scope) as uow:

            def commit() -> None:
                raise OSError(errno.ENOSPC, "database or disk is full")

            monkeypatch.setattr(uow, "commit", commit)
            yield uow

    monkeypatch.setattr(store, "unit_of_work", unit)
    yield
    monkeypatch.setattr(store, "unit_of_work", real)


@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_commit_leaves_no_letter_and_no_staging_folder(
    app: twores.Twores,
    store: Store,
    roster: twores.Roster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    existing: bool,
) -> None:
    _overdue(store, roster, app)
    before = _states(store)
    letters = tmp_path / "out" / "提醒函"
    if existing:
        letters.mkdir(parents=True)
        (letters / "旧的.docx").write_bytes(b"old")
    with _failing_commit(store, monkeypatch), pytest.raises(OSError, match="full"):
        escalate_overdue(app, store, ADMIN, DUE, letters=letters)
    if existing:
        assert _everything(letters) == ["旧的.docx"]
        assert (letters / "旧的.docx").read_bytes() == b"old"
    else:
        assert not (tmp_path / "out").exists()  # the folders the run made, removed again
    assert _states(store) == before
    # and a run that works afterwards writes every letter
    assert len(escalate_overdue(app, store, ADMIN, DUE, letters=letters)) == COUNT
    assert len(list(letters.glob("提醒函-*.docx"))) == COUNT


def test_a_letter_failing_to_write_leaves_no_file_and_the_problems_unchanged(
    app: twores.Twores,
    store: Store,
    roster: twores.Roster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _overdue(store, roster, app)
    before = _states(store)
    real = write_reminder
    calls = []

    def full_disk(problem: twores.Problem, **kwargs: Any) -> Path:
        calls.append(problem.id)
        if len(calls) == 3:  # the disk fills up half-way through the third letter
            Path(kwargs["path"]).write_bytes(b"")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(problem, **kwargs)

    monkeypatch.setattr(problems_service, "write_reminder", full_disk)
    letters = tmp_path / "提醒函"
    with pytest.raises(OSError, match=os.strerror(errno.ENOSPC)) as failed:
        escalate_overdue(app, store, ADMIN, DUE, letters=letters)
    assert failed.value.errno == errno.ENOSPC and len(calls) == 3
    assert not letters.exists()  # no letter, no 0-byte .docx, no staging folder
    assert _states(store) == before  # no step recorded


def test_a_letter_failing_to_move_after_the_commit_is_kept_and_named(
    app: twores.Twores,
    store: Store,
    roster: twores.Roster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _overdue(store, roster, app)
    letters = tmp_path / "提醒函"
    real = os.replace
    moved = []

    def held(source: Any, target: Any) -> None:
        if Path(target).parent == letters:  # into place: the second one is held open
            moved.append(target)
            if len(moved) == 2:
                raise PermissionError(errno.EACCES, "being used by another process")
        real(source, target)

    monkeypatch.setattr(os, "replace", held)
    with pytest.raises(ReminderFilesLeftError) as left:
        escalate_overdue(app, store, ADMIN, DUE, letters=letters)
    monkeypatch.setattr(os, "replace", real)
    staging = left.value.staging
    assert staging.parent == letters and staging.name.startswith(REMINDER_STAGING_PREFIX)
    assert str(staging) in left.value.message_zh and str(staging) in left.value.message_en
    ((kept, final, _),) = left.value.left
    assert kept.parent == staging and kept.stat().st_size > 0 and final.parent == letters
    assert final.name in left.value.message_en and final.name in left.value.message_zh
    assert len(list(letters.glob("提醒函-*.docx"))) == COUNT - 1
    # the steps are recorded: the letters the database refers to are never deleted
    assert all(s[1] == 1 for s in _states(store).values())
    assert escalate_overdue(app, store, ADMIN, DUE, letters=letters) == []
    assert kept.exists()


def test_a_letters_place_a_rename_cannot_take_is_refused_before_the_commit(
    app: twores.Twores,
    store: Store,
    roster: twores.Roster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A folder where a letter goes, or a file a rename cannot replace (open in Word on
    Windows, another user's in a sticky folder: :func:`staging.check_replaceable`), is
    refused under the claim, before the commit: no step recorded, the folder as it was."""
    opened = _overdue(store, roster, app)
    before = _states(store)
    letters = tmp_path / "提醒函"
    letters.mkdir()
    in_the_way = letters / f"提醒函-{sorted(p.id for p in opened)[2].replace('/', '_')}-1.docx"
    in_the_way.mkdir()
    with pytest.raises(twores.InvalidValueError, match="folder") as refused:
        escalate_overdue(app, store, ADMIN, DUE, letters=letters)
    assert refused.value.field == "letters"
    assert _everything(letters) == [in_the_way.name]
    assert _states(store) == before
    in_the_way.rmdir()

    in_the_way.write_bytes(b"open in Word")

    def held_open(finals: Any, folder: Path) -> Any:
        finals = list(finals)
        if in_the_way in finals:
            return Unreplaceable(in_the_way, "文件被其他程序占用", "the file is open")
        return check_replaceable(finals, folder)

    monkeypatch.setattr(problems_service, "check_replaceable", held_open)
    with pytest.raises(twores.InvalidValueError, match="the file is open") as refused:
        escalate_overdue(app, store, ADMIN, DUE, letters=letters)
    assert "the letter cannot go there" in refused.value.reason_en
    assert _everything(letters) == [in_the_way.name]
    assert in_the_way.read_bytes() == b"open in Word"
    assert _states(store) == before
