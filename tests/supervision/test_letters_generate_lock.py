"""``letters generate`` holds the store's writer only for the database work (rev2 §3):
the files are written first, into a staging folder, while other writers go on; the
letters are then worked out again under the writer (a list changed or a letter signed
meanwhile is honoured), recorded, and the files moved into place. A run that fails while
writing files records nothing and leaves the output folder as it was."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

import twores
from twores.core.assignment import Assignment
from twores.core.businesses import BusinessType, FoodBusiness, Grade, Scale
from twores.core.cadres import Cadre
from twores.core.letters import Letter
from twores.core.periods import CHINA_TZ
from twores.core.ports import Store, UnitOfWork
from twores.divisions import demo_region
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services import commitments
from twores.services import letters as letter_files
from twores.services import staging as staging_folders
from twores.services.commitments import LetterRun, generate_letters, sign_letter
from twores.services.letters import DocumentInput
from twores.services.supervision import VisitInput, record_visit, schedule
from twores.services.synth import synthetic_roster

from .helpers import ADMIN, COUNTY, START, load

VILLAGE = "450323101001"  # 灵川县 / 大圩镇 / 大圩社区
DAY = date(2026, 3, 10)


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'twores.db'}")
    yield store
    store.close()


def _business(i: int) -> FoodBusiness:
    return FoodBusiness(
        name=f"店{i}",
        area_code=VILLAGE,
        licence_no=f"JY1450323{i:07d}",
        business_type=BusinessType.CATERING,
        scale=Scale.MICRO,
        grade=Grade.D,
    )


BUSINESSES = [_business(i) for i in range(1, 6)]


def _small(store: Store) -> None:
    """Three cadres: v0 holds b1 and b2, v1 holds b3, v2 holds nothing."""
    b1, b2, b3 = (b.key for b in BUSINESSES[:3])
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(demo_region().subtree(COUNTY))
        uow.businesses.upsert_many(BUSINESSES)
        uow.cadres.upsert_many(
            Cadre(id=c, name=f"干部{c}", tier=twores.Tier.VILLAGE, area_code=VILLAGE)
            for c in ("v0", "v1", "v2")
        )
        uow.assignments.upsert_many(
            [
                Assignment("v0", b1, date(2025, 1, 1)),
                Assignment("v0", b2, date(2025, 1, 1)),
                Assignment("v1", b3, date(2025, 1, 1)),
            ]
        )
        uow.commit()


def _hold(store: Store, *held: Assignment) -> None:
    with store.unit_of_work(ADMIN) as uow:
        uow.assignments.upsert_many(held)
        uow.commit()


class _Impatient:
    """The store, whose units wait at most a second for another writer."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def unit_of_work(self, scope: twores.Scope) -> UnitOfWork:
        uow = self.store.unit_of_work(scope)
        uow.writes_wait = 1.0
        return uow

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _while_writing(
    monkeypatch: pytest.MonkeyPatch,
    app: twores.Twores,
    store: Store,
    folder: Path,
    meanwhile: Callable[[], object],
) -> LetterRun:
    """Generate the letters as of ``DAY``; as the first file is being written, run
    ``meanwhile`` (in this thread) and let the run go on once it returned."""
    writing, release = threading.Event(), threading.Event()
    write = letter_files.write_documents

    def held_write(doc: DocumentInput, to: Path) -> tuple[Path, Path]:
        writing.set()
        assert release.wait(30)
        return write(doc, to)

    monkeypatch.setattr(commitments, "write_documents", held_write)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["run"] = generate_letters(app, store, ADMIN, 2026, folder, on=DAY)
        except BaseException as error:  # reported to the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert writing.wait(30)
        meanwhile()
    finally:
        release.set()
        thread.join(60)
    assert not thread.is_alive()
    monkeypatch.setattr(commitments, "write_documents", write)
    if "error" in outcome:
        raise outcome["error"]
    made: LetterRun = outcome["run"]
    return made


def _files(folder: Path) -> dict[str, str]:
    """Every entry of ``folder`` (a staging folder left would show) by its content's hash."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<folder>"
        for p in folder.iterdir()
    }


def _letters(store: Store) -> dict[str, Letter]:
    with store.unit_of_work(ADMIN) as uow:
        return {x.key: x for x in uow.letters.stream(year=2026)}


def _as_now(app: twores.Twores, store: Store, tmp_path: Path) -> tuple[LetterRun, dict[str, str]]:
    """What a run as of ``DAY`` makes now, in a fresh folder: rows unchanged, same files."""
    before = _letters(store)
    again = generate_letters(app, store, ADMIN, 2026, tmp_path / "again", on=DAY)
    assert _letters(store) == before
    assert not any(g.renewed for g in again)
    return again, _files(tmp_path / "again")


def test_other_writers_commit_while_the_files_are_written(
    monkeypatch: pytest.MonkeyPatch, app: twores.Twores, sqlite: SqlStore, tmp_path: Path
) -> None:
    """A visit is recorded (claiming the writer, waiting at most a second) while the run
    writes its files; the run's letters and files are those of a run left alone."""
    roster = synthetic_roster(
        demo_region().subtree(COUNTY), businesses=12, cadres=4, seed=5, within=COUNTY
    )
    load(sqlite, roster, START)
    schedule(app, sqlite, ADMIN, "2026Q1", on=START)
    with sqlite.unit_of_work(ADMIN) as uow:
        held = next(uow.assignments.stream(active_on=DAY))
    visit = VisitInput(held.business_key, held.cadre_id, date(2026, 3, 2))
    at = datetime(2026, 3, 2, 10, tzinfo=CHINA_TZ)
    recorded: list[object] = []

    def record() -> None:
        recorded.append(record_visit(app, _Impatient(sqlite), ADMIN, visit, now=at))

    folder = tmp_path / "承诺书"
    made = _while_writing(monkeypatch, app, sqlite, folder, record)
    assert recorded  # not refused as busy, and committed:
    with sqlite.unit_of_work(ADMIN) as uow:
        assert any(v.visited_on == visit.visited_on for v in uow.visits.stream())
    assert made and all(g.renewed for g in made)
    assert {p for g in made for p in (g.docx, g.xlsx)} == set(folder.iterdir())
    again, files = _as_now(app, sqlite, tmp_path)
    assert [g.letter for g in made] == [g.letter for g in again]
    assert _files(folder) == files  # byte-identical, no staging folder left


def test_a_list_changed_or_a_letter_signed_meanwhile_is_honoured(
    monkeypatch: pytest.MonkeyPatch, app: twores.Twores, sqlite: SqlStore, tmp_path: Path
) -> None:
    """While the files are written, v1's letter (its list since changed) is signed, and v0
    takes another business: the run keeps v1's signing as history (its files moved
    aside) and writes v0's letter and files for the new list."""
    _small(sqlite)
    folder = tmp_path / "承诺书"
    generate_letters(app, sqlite, ADMIN, 2026, folder, on=date(2026, 3, 1))
    b4, b5 = (b.key for b in BUSINESSES[3:])
    _hold(sqlite, Assignment("v1", b4, date(2026, 3, 5)))

    def meanwhile() -> None:
        sign_letter(
            _Impatient(sqlite), ADMIN, "v1", 2026, signed_on=date(2026, 3, 2), counterparty="书记"
        )
        _hold(_Impatient(sqlite), Assignment("v0", b5, date(2026, 3, 9)))

    made = _while_writing(monkeypatch, app, sqlite, folder, meanwhile)
    letters = _letters(sqlite)
    assert letters["2026/v1/2026-03-02"].superseded
    assert letters["2026/v1/2026-03-02"].signed_on == date(2026, 3, 2)
    by_cadre = {g.letter.cadre_id: g for g in made}
    assert by_cadre["v0"].letter.businesses == 3 and by_cadre["v0"].renewed
    assert by_cadre["v1"].letter.signed_on is None and by_cadre["v1"].renewed
    assert made.not_owed == ("v2",)
    names = set(_files(folder))
    assert "2026-v1-2026-03-02签订-承诺书及三清单.docx" in names
    assert "2026-v1-2026-03-02签订-承诺书及三清单.xlsx" in names
    again, files = _as_now(app, sqlite, tmp_path)
    assert [g.letter for g in made] == [g.letter for g in again]
    assert {n: h for n, h in _files(folder).items() if "签订" not in n} == files


def test_a_run_failing_while_writing_files_records_nothing_and_leaves_the_folder(
    monkeypatch: pytest.MonkeyPatch, app: twores.Twores, sqlite: SqlStore, tmp_path: Path
) -> None:
    _small(sqlite)
    calls: list[str] = []
    write = letter_files.write_documents

    def failing(doc: DocumentInput, to: Path) -> tuple[Path, Path]:
        calls.append(doc.cadre.id)
        if len(calls) == 2:
            raise OSError("disk full")
        return write(doc, to)

    monkeypatch.setattr(commitments, "write_documents", failing)
    fresh = tmp_path / "new" / "承诺书"
    with pytest.raises(OSError, match="disk full"):
        generate_letters(app, sqlite, ADMIN, 2026, fresh, on=date(2026, 3, 1))
    assert not (tmp_path / "new").exists()
    assert _letters(sqlite) == {}

    monkeypatch.setattr(commitments, "write_documents", write)
    folder = tmp_path / "承诺书"
    generate_letters(app, sqlite, ADMIN, 2026, folder, on=date(2026, 3, 1))
    before, stored = _files(folder), _letters(sqlite)
    _hold(sqlite, Assignment("v0", BUSINESSES[3].key, date(2026, 3, 5)))
    _hold(sqlite, Assignment("v1", BUSINESSES[4].key, date(2026, 3, 5)))
    calls.clear()
    monkeypatch.setattr(commitments, "write_documents", failing)
    with pytest.raises(OSError, match="disk full"):
        generate_letters(app, sqlite, ADMIN, 2026, folder, on=DAY)
    assert _files(folder) == before  # no staging folder, no file replaced
    assert _letters(sqlite) == stored


class _FailingCommit:
    """The store, whose units fail to commit."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def unit_of_work(self, scope: twores.Scope) -> UnitOfWork:
        uow = self.store.unit_of_work(scope)

        def commit() -> None:
            uow.rollback()
            raise OSError("connection lost")

        uow.commit = commit  # type: ignore[method-assign]
        return uow

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_failed_commit_puts_the_signed_letters_files_back(
    app: twores.Twores, sqlite: SqlStore, tmp_path: Path
) -> None:
    _small(sqlite)
    folder = tmp_path / "承诺书"
    generate_letters(app, sqlite, ADMIN, 2026, folder, on=date(2026, 3, 1))
    sign_letter(sqlite, ADMIN, "v1", 2026, signed_on=date(2026, 3, 2), counterparty="书记")
    _hold(sqlite, Assignment("v1", BUSINESSES[3].key, date(2026, 3, 5)))
    before, stored = _files(folder), _letters(sqlite)
    with pytest.raises(OSError, match="connection lost"):
        generate_letters(app, _FailingCommit(sqlite), ADMIN, 2026, folder, on=DAY)
    assert _files(folder) == before
    assert _letters(sqlite) == stored
    made = generate_letters(app, sqlite, ADMIN, 2026, folder, on=DAY)
    assert {g.letter.cadre_id for g in made if g.renewed} == {"v1"}
    assert (
        _files(folder)["2026-v1-2026-03-02签订-承诺书及三清单.docx"]
        == (before["2026-v1-承诺书及三清单.docx"])
    )


# --- rev6: what the files show, file places refused before the commit, files left after it


def _docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    cells = (c.text for t in document.tables for r in t.rows for c in r.cells)
    return "\n".join([*(p.text for p in document.paragraphs), *cells])


def test_details_edited_while_the_files_are_written_show_in_the_files(
    monkeypatch: pytest.MonkeyPatch, app: twores.Twores, sqlite: SqlStore, tmp_path: Path
) -> None:
    """rev6 §1: while the run writes its files (the lists unchanged), v0's 店1 is renamed
    and regraded, its 店2 moved to another village, and that village renamed: the files
    placed show them as stored, and are those a run made afterwards makes."""
    import attrs

    _small(sqlite)
    renamed = attrs.evolve(BUSINESSES[0], name="新名字餐馆", grade=Grade.C)
    moved = attrs.evolve(BUSINESSES[1], area_code="450323101201")  # 敢兴村委会

    def meanwhile() -> None:
        with sqlite.unit_of_work(ADMIN) as uow:
            village = uow.areas.hierarchy()["450323101201"]
            uow.areas.upsert_many([attrs.evolve(village, name="新兴村委会")])
            uow.businesses.upsert_many([renamed, moved])
            uow.commit()

    folder = tmp_path / "承诺书"
    made = _while_writing(monkeypatch, app, sqlite, folder, meanwhile)
    v0 = next(g for g in made if g.letter.cadre_id == "v0")
    assert v0.docx is not None
    text = _docx_text(v0.docx)
    assert "新名字餐馆" in text and "店1" not in text.split("\n")
    assert "新兴村委会" in text
    _, files = _as_now(app, sqlite, tmp_path)
    assert _files(folder) == files  # byte-identical to a run made afterwards


def test_documents_unchanged_meanwhile_are_not_written_again(
    monkeypatch: pytest.MonkeyPatch, app: twores.Twores, sqlite: SqlStore, tmp_path: Path
) -> None:
    _small(sqlite)
    written: list[str] = []
    write = letter_files.write_documents

    def counting(doc: DocumentInput, to: Path) -> tuple[Path, Path]:
        written.append(doc.cadre.id)
        return write(doc, to)

    monkeypatch.setattr(commitments, "write_documents", counting)
    generate_letters(app, sqlite, ADMIN, 2026, tmp_path / "承诺书", on=DAY)
    assert sorted(written) == ["v0", "v1"]  # once each: the check under the claim wrote none


def test_a_folder_in_a_files_place_is_refused_before_any_letter_is_recorded(
    app: twores.Twores, sqlite: SqlStore, tmp_path: Path
) -> None:
    """rev6 §3: refused before the commit, the output folder as it was."""
    _small(sqlite)
    folder = tmp_path / "承诺书"
    folder.mkdir()
    letter_files.document_paths("v1", 2026, folder)[1].mkdir()
    before = _files(folder)
    with pytest.raises(twores.InvalidValueError, match="folder of that name"):
        generate_letters(app, sqlite, ADMIN, 2026, folder, on=DAY)
    assert _letters(sqlite) == {}
    assert _files(folder) == before  # nothing replaced, no staging folder

    letter_files.document_paths("v1", 2026, folder)[1].rmdir()
    generate_letters(app, sqlite, ADMIN, 2026, folder, on=date(2026, 3, 1))
    _hold(sqlite, Assignment("v0", BUSINESSES[3].key, date(2026, 3, 5)))
    letter_files.document_paths("v0", 2026, folder)[0].unlink()
    letter_files.document_paths("v0", 2026, folder)[0].mkdir()
    before, stored = _files(folder), _letters(sqlite)
    with pytest.raises(twores.InvalidValueError, match="no letter recorded"):
        generate_letters(app, sqlite, ADMIN, 2026, folder, on=DAY)
    assert _letters(sqlite) == stored
    assert _files(folder) == before


def test_a_file_failing_to_move_after_the_commit_is_kept_and_the_next_run_places_it(
    monkeypatch: pytest.MonkeyPatch, app: twores.Twores, sqlite: SqlStore, tmp_path: Path
) -> None:
    """rev6 §3: the letters stay recorded, the file not moved stays in the staging folder
    (named in the error, in both languages); running again places it, changing no letter,
    and removes the staging folder left."""
    import os

    _small(sqlite)
    folder = tmp_path / "承诺书"
    replace = os.replace
    failed: list[str] = []

    def failing_once(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
        if not failed and Path(target) == letter_files.document_paths("v1", 2026, folder)[1]:
            failed.append(str(target))
            raise PermissionError(13, "Permission denied")
        replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_once)
    with pytest.raises(commitments.LetterFilesLeftError) as left:
        generate_letters(app, sqlite, ADMIN, 2026, folder, on=DAY)
    monkeypatch.setattr(os, "replace", replace)
    error = left.value
    assert "承诺书已登记" in error.message_zh and "were recorded" in error.message_en
    assert "letters generate" in error.message_en
    staged = [p for p in folder.iterdir() if p.name.startswith(commitments.STAGING_PREFIX)]
    assert staged == [error.staging]
    kept = error.staging / letter_files.document_paths("v1", 2026, folder)[1].name
    assert kept.is_file() and str(error.staging) in error.message_zh
    assert [(f, t) for f, t, _ in error.left] == [
        (kept, letter_files.document_paths("v1", 2026, folder)[1])
    ]
    recorded = _letters(sqlite)
    assert {x.cadre_id for x in recorded.values()} == {"v0", "v1"}
    placed = {p.name for p in folder.iterdir() if p.is_file()}
    assert kept.name not in placed and len(placed) == 3

    again = generate_letters(app, sqlite, ADMIN, 2026, folder, on=DAY)
    assert _letters(sqlite) == recorded
    assert not any(g.renewed for g in again)
    _, files = _as_now(app, sqlite, tmp_path)
    assert _files(folder) == files  # every file in place, the staging folder removed


def test_only_staging_folders_no_run_uses_are_removed(
    app: twores.Twores, sqlite: SqlStore, tmp_path: Path
) -> None:
    import fcntl
    import os

    _small(sqlite)
    folder = tmp_path / "承诺书"
    folder.mkdir()
    long_ago = datetime(2026, 1, 1).timestamp()

    def staging(name: str, *, lock: bool, old: bool) -> Path:
        made = folder / f"{commitments.STAGING_PREFIX}{name}"
        made.mkdir()
        (made / "x.docx").write_bytes(b"x")
        if lock:
            (made / staging_folders.LOCK).touch()
            if old:
                os.utime(made / staging_folders.LOCK, (long_ago, long_ago))
        if old:
            os.utime(made, (long_ago, long_ago))
        return made

    died = staging("died", lock=True, old=True)  # a run that died: unlocked
    running = staging("running", lock=True, old=True)  # a long run still going
    just_made = staging("new", lock=True, old=False)  # a run about to lock it
    unlocked_new = staging("nolock", lock=False, old=False)
    unlocked_old = staging("nolockold", lock=False, old=True)
    with (running / staging_folders.LOCK).open("a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        generate_letters(app, sqlite, ADMIN, 2026, folder, on=DAY)
        left = {p for p in folder.iterdir() if p.name.startswith(commitments.STAGING_PREFIX)}
    assert left == {running, just_made, unlocked_new}
    assert not died.exists() and not unlocked_old.exists()
