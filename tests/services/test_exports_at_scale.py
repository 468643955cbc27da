"""Exports at province scale: the cadre lists (责任清单) in one pass, rows the same as the
per-cadre reading they replace; .xlsx lists refused past the rows a sheet holds."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import attrs
import pytest

import twores
from twores.core.areas import Hierarchy
from twores.core.assignment import AssignmentReason, plan_assignments
from twores.core.errors import InvalidValueError
from twores.core.periods import last_day, today
from twores.divisions import demo_region
from twores.services import exports
from twores.services.exports import export_list
from twores.services.stores import open_store
from twores.services.synth import synthetic_roster

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
START = date(2025, 1, 1)
ON = date(2025, 6, 30)


def _old_cadre_lists(uow: Any, within: str | None, on: date | None) -> Iterator[list[object]]:
    """The oracle: the implementation before the one-pass reading (a query per cadre and
    one per business), kept as it was."""
    day = on or today()
    for cadre in uow.cadres.stream(within=within):
        for assignment in uow.assignments.stream(cadre_id=cadre.id, active_on=day):
            business = uow.businesses.get(assignment.business_key)
            if business is None:
                continue
            yield [
                cadre.id,
                cadre.name,
                cadre.post,
                cadre.tier,
                cadre.area_code,
                business.name,
                business.key,
                business.uscc,
                business.area_code,
                business.business_type,
                business.grade,
                assignment.valid_from,
                last_day(assignment.valid_to),
                assignment.reason,
            ]


def _region() -> Hierarchy:
    """桂林市 cut small: four counties, two townships each and two villages in each."""
    whole = demo_region()
    kept = [*whole.path("4503")]
    for county in whole.children("4503")[:4]:
        kept.append(county)
        for township in whole.children(county.code)[:2]:
            kept += [township, *whole.children(township.code)[:2]]
    return Hierarchy(kept)


def _held_store(app: twores.Twores, url: str, *, cadres: int, seed: int = 3) -> twores.Store:
    """Four counties of 桂林市 (city-level cadres too) with assignments planned; some end
    before ``ON``, some after it, some were imported."""
    store = open_store(app, url)
    hierarchy = _region()
    roster = synthetic_roster(hierarchy, businesses=120, cadres=cadres, seed=seed)
    with store.unit_of_work(twores.Scope.system("test set-up")) as uow:
        uow.areas.upsert_many(hierarchy)
        uow.commit()
    with store.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan_assignments(roster, app.plugins.rulebook(), START))
        held = sorted(uow.assignments.stream(), key=lambda a: (a.business_key, a.cadre_id))
        uow.assignments.upsert_many(
            [
                *(attrs.evolve(a, valid_to=date(2025, 3, 31)) for a in held[:6]),
                *(attrs.evolve(a, valid_to=date(2025, 12, 31)) for a in held[6:10]),
                *(attrs.evolve(a, reason=AssignmentReason.IMPORTED) for a in held[10:14]),
            ]
        )
        uow.commit()
    return store


@pytest.fixture(params=["sqlite", "memory"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'twores.db'}" if request.param == "sqlite" else "memory://"


def _counties(store: twores.Store) -> list[str]:
    with store.unit_of_work(ADMIN) as uow:
        return sorted({b.area_code[:6] for b in uow.businesses.stream()})


def test_the_cadre_lists_are_the_rows_the_per_cadre_reading_gave(
    app: twores.Twores, url: str
) -> None:
    store = _held_store(app, url, cadres=90)
    counties = _counties(store)
    assert len(counties) > 3  # a multi-county set
    scopes = [ADMIN, twores.Scope("县局", twores.Role.OFFICE, counties[0])]
    checked = 0
    for scope in scopes:
        for within in (None, "4503", *counties[:3]):
            if scope is not ADMIN and within not in (None, counties[0]):
                continue
            for on in (date(2025, 2, 1), ON, date(2026, 1, 5)):
                with store.unit_of_work(scope) as uow:
                    old = list(_old_cadre_lists(uow, within, on))
                    new = list(exports._cadre_lists(uow, within, on))
                assert new == old, (scope.area_code, within, on)
                checked += len(new)
    assert checked > 100


def test_the_cadre_lists_split_into_chunks_give_the_same_rows(
    app: twores.Twores, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _held_store(app, url, cadres=60)
    with store.unit_of_work(ADMIN) as uow:
        whole = list(exports._cadre_lists(uow, None, ON))
    monkeypatch.setattr(exports, "LIST_CHUNK", 3)
    with store.unit_of_work(ADMIN) as uow:
        assert list(exports._cadre_lists(uow, None, ON)) == whole
        assert whole == list(_old_cadre_lists(uow, None, ON))


class _Counted:
    """A repository whose calls are counted by method name."""

    def __init__(self, inner: Any, calls: dict[str, int], name: str) -> None:
        self._inner, self._calls, self._name = inner, calls, name

    def __getattr__(self, attribute: str) -> Any:
        found = getattr(self._inner, attribute)
        if not callable(found):
            return found

        def counted(*args: Any, **kwargs: Any) -> Any:
            key = f"{self._name}.{attribute}"
            self._calls[key] = self._calls.get(key, 0) + 1
            return found(*args, **kwargs)

        return counted


class _CountedUow:
    def __init__(self, uow: Any, calls: dict[str, int]) -> None:
        self.businesses = _Counted(uow.businesses, calls, "businesses")
        self.cadres = _Counted(uow.cadres, calls, "cadres")
        self.assignments = _Counted(uow.assignments, calls, "assignments")


def _calls(store: twores.Store, within: str | None = None) -> tuple[dict[str, int], int, int]:
    calls: dict[str, int] = {}
    with store.unit_of_work(ADMIN) as uow:
        rows = list(exports._cadre_lists(_CountedUow(uow, calls), within, ON))
        cadres = uow.cadres.count(within=within)
    return calls, len(rows), cadres


def test_the_queries_of_the_cadre_lists_do_not_grow_with_the_cadres(
    app: twores.Twores, tmp_path: Path
) -> None:
    few = _held_store(app, f"sqlite:///{tmp_path / 'few.db'}", cadres=20)
    many = _held_store(app, f"sqlite:///{tmp_path / 'many.db'}", cadres=240)
    (few_calls, few_rows, few_cadres), (many_calls, many_rows, many_cadres) = (
        _calls(few),
        _calls(many),
    )
    assert many_cadres >= 3 * few_cadres and few_rows and many_rows
    expected = {"assignments.stream": 1, "cadres.stream": 1, "businesses.get_many": 1}
    assert few_calls == many_calls == expected
    # under an area too: one reading each, whatever the cadres
    calls, rows, _ = _calls(many, "4503")
    assert calls == expected and rows == many_rows


def test_business_reads_grow_with_rows_by_the_chunk_only(
    app: twores.Twores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _held_store(app, f"sqlite:///{tmp_path / 'twores.db'}", cadres=60)
    monkeypatch.setattr(exports, "LIST_CHUNK", 25)
    calls, rows, cadres = _calls(store)
    assert rows > 50 and cadres > 10
    assert calls["assignments.stream"] == 1 and calls["cadres.stream"] == 1
    assert "businesses.get" not in calls
    # a chunk closes at a cadre's end, so holds at least LIST_CHUNK rows (but the last)
    assert calls["businesses.get_many"] <= rows // 25 + 1


# --- .xlsx: no more rows than a sheet holds --------------------------------------------


def _lines(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return sum(1 for _ in csv.reader(stream)) - 1


@pytest.mark.parametrize("kind", ["businesses", "cadres", "assignments", "cadre-lists"])
def test_an_xlsx_export_past_the_sheet_rows_is_refused_and_writes_nothing(
    app: twores.Twores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    from openpyxl.worksheet import _writer

    store = _held_store(app, f"sqlite:///{tmp_path / 'twores.db'}", cadres=20)
    rows = export_list(store, ADMIN, kind, tmp_path / "all.csv", on=ON)
    assert rows > 5
    monkeypatch.setattr(exports, "XLSX_ROWS", rows - 1)
    temporary = list(_writer.ALL_TEMP_FILES)
    target = tmp_path / "清单.xlsx"
    with pytest.raises(InvalidValueError) as refused:
        export_list(store, ADMIN, kind, target, on=ON)
    assert not target.exists()  # nothing written, not even a part
    assert temporary == _writer.ALL_TEMP_FILES  # nor a sheet left in the temporary folder
    message = str(refused.value)
    assert "CSV" in message and "--within" in message
    assert "xlsx" in message and f"{rows - 1:,}" in message
    # a file already there is left as it was
    target.write_bytes(b"earlier")
    with pytest.raises(InvalidValueError):
        export_list(store, ADMIN, kind, target, on=ON)
    assert target.read_bytes() == b"earlier"
    # CSV takes them all; .xlsx up to the limit is written
    assert export_list(store, ADMIN, kind, tmp_path / "again.csv", on=ON) == rows
    assert _lines(tmp_path / "again.csv") == rows
    monkeypatch.setattr(exports, "XLSX_ROWS", rows)
    assert export_list(store, ADMIN, kind, target, on=ON) == rows


def test_a_counted_list_is_refused_before_a_row_is_read(
    app: twores.Twores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _held_store(app, f"sqlite:///{tmp_path / 'twores.db'}", cadres=20)
    monkeypatch.setattr(exports, "XLSX_ROWS", 3)

    def unread(*args: object, **kwargs: object) -> object:
        raise AssertionError("rows read")

    monkeypatch.setattr(exports, "_rows", unread)
    with pytest.raises(InvalidValueError, match="--within") as refused:
        export_list(store, ADMIN, "businesses", tmp_path / "b.xlsx")
    assert "120" in str(refused.value)  # the count is said
    assert not (tmp_path / "b.xlsx").exists()


def test_write_table_refuses_the_row_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "XLSX_ROWS", 4)
    read: list[int] = []

    def rows() -> Iterator[list[object]]:
        for n in range(10):
            read.append(n)
            yield [n, f"行{n}"]

    target = tmp_path / "t.xlsx"
    with pytest.raises(InvalidValueError):
        exports.write_table(target, ("号", "名"), rows())
    assert read == [0, 1, 2, 3, 4]  # stopped at the first row too many
    assert not target.exists()
    assert exports.write_table(target, ("号", "名"), ([n] for n in range(4))) == 4
    assert exports.write_table(tmp_path / "t.csv", ("号",), ([n] for n in range(10))) == 10
