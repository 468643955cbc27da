"""The id of a cadre imported without 干部编号: nothing of their phone or ID number, and
the same person found again on every re-import."""

from __future__ import annotations

import csv
import hashlib
from datetime import date
from pathlib import Path

import pytest

import twores
from twores.core.security import mask_phone
from twores.services import imports
from twores.services.exports import export_list
from twores.services.imports import import_file

from .conftest import guilin_store

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
ON = date(2025, 6, 30)
HEADER = ["包保干部姓名", "职务", "层级", "所属区划", "联系电话", "身份证号"]
VILLAGE, OTHER_VILLAGE = "450323101202", "450323101203"
ROSTER = [
    ["吴伟", "村委会主任", "村级", VILLAGE, "18374074002", "450323199003151230"],
    ["赵超涛", "村党支部书记", "村级", OTHER_VILLAGE, "19321602938", ""],
    ["莫丽", "副镇长", "乡级", "450323101", "13807730001", ""],
]


def _sheet(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([header, *rows])
    return path


def _cadres(store: twores.Store) -> dict[str, twores.Cadre]:
    with store.unit_of_work(ADMIN) as uow:
        return {c.id: c for c in uow.cadres.stream()}


def _old_id(area: str, name: str, phone: str) -> str:
    """How ids were once made: a 4-byte hash of name and phone."""
    digest = hashlib.blake2b(f"{name}|{phone}".encode(), digest_size=4).hexdigest()
    return f"{area}-{digest}"


def test_a_masked_phone_cannot_be_recovered_from_the_cadre_id(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """A masked list shows the id, the name and all but 4 digits of the phone: trying the
    10,000 middles against the id must find nothing."""
    report = import_file(app, store, ADMIN, "cadres", _sheet(tmp_path / "干部.csv", ROSTER))
    assert report.accepted and report.records.inserted == 3, report.errors
    for cadre in _cadres(store).values():
        assert cadre.phone is not None
        masked = mask_phone(cadre.phone)
        assert masked is not None and "****" in masked
        head, tail = masked.split("****")
        found = [
            phone
            for middle in range(10_000)
            if _old_id(cadre.area_code, cadre.name, phone := f"{head}{middle:04d}{tail}")
            == cadre.id
        ]
        assert found == [], cadre.id
        assert cadre.id.startswith(f"{cadre.area_code}-")


def test_a_new_cadres_id_is_no_function_of_their_phone_or_id_number(
    app: twores.Twores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the random part fixed, the same name in the same area gets the same id
    whatever the phone and ID number: the id holds nothing else."""
    monkeypatch.setattr(imports, "_random_part", lambda: "0a1b2c3d")
    ids = []
    for n, (phone, id_number) in enumerate(
        [("18374074002", "450323199003151230"), ("13900000009", "")]
    ):
        store = guilin_store(app, f"sqlite:///{tmp_path / f'{n}.db'}")
        row = ["吴伟", "村委会主任", "村级", VILLAGE, phone, id_number]
        import_file(app, store, ADMIN, "cadres", _sheet(tmp_path / f"{n}.csv", [row]))
        (cadre,) = _cadres(store).values()
        assert cadre.phone == phone
        ids.append(cadre.id)
    assert ids == [f"{VILLAGE}-0a1b2c3d"] * 2


def test_a_roster_without_ids_re_imports_to_the_same_cadres(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", _sheet(tmp_path / "干部.csv", ROSTER))
    before = _cadres(store)
    with store.unit_of_work(ADMIN) as uow:
        audit = len(list(uow.audit.entries()))
    again = _sheet(tmp_path / "干部-第二版.csv", [*reversed(ROSTER)])  # other bytes, same people
    report = import_file(app, store, ADMIN, "cadres", again)
    assert report.accepted and not report.replay
    assert (report.records.changed, report.records.unchanged) == (0, 3)
    assert _cadres(store) == before
    with store.unit_of_work(ADMIN) as uow:
        assert len(list(uow.audit.entries())) == audit
    dry = import_file(app, store, ADMIN, "cadres", again, dry_run=True)
    assert dry.accepted and dry.records.changed == 0


def test_a_township_office_re_imports_its_roster_unchanged(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """Found again within the office's own jurisdiction (its county above it unseen)."""
    office = twores.Scope("大圩镇", twores.Role.OFFICE, "450323101")
    path = _sheet(tmp_path / "干部.csv", ROSTER)
    assert import_file(app, store, office, "cadres", path).records.inserted == 3
    before = _cadres(store)
    again = import_file(app, store, office, "cadres", _sheet(tmp_path / "again.csv", ROSTER[::-1]))
    assert again.accepted and (again.records.changed, again.records.unchanged) == (0, 3)
    assert _cadres(store) == before


def test_ids_stored_the_old_way_stay_and_re_import_unchanged(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """Cadres stored under ids made from name and phone are not re-keyed: the roster they
    came from re-imports to 0 changes, and their assignments stay theirs."""
    stored = [
        twores.Cadre(
            _old_id(area, name, phone),
            name,
            twores.Tier.VILLAGE if len(area) == 12 else twores.Tier.TOWNSHIP,
            area,
            post=post,
            phone=phone,
            id_number=id_number or None,
        )
        for name, post, _, area, phone, id_number in ROSTER
    ]
    with store.unit_of_work(ADMIN) as uow:
        uow.cadres.upsert_many(stored)
        uow.commit()
    report = import_file(app, store, ADMIN, "cadres", _sheet(tmp_path / "干部.csv", ROSTER))
    assert report.accepted and (report.records.changed, report.records.unchanged) == (0, 3)
    assert _cadres(store) == {c.id: c for c in stored}


def test_two_rows_of_one_person_are_one_cadre(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """The second row of the same area, name and phone repeats the first: refused, named
    by the person's name (not the phone)."""
    path = _sheet(tmp_path / "干部.csv", [ROSTER[0], ROSTER[1], ROSTER[0]])
    report = import_file(app, store, ADMIN, "cadres", path)
    assert [(e.row, e.column, e.value, e.code) for e in report.errors] == [
        (4, "包保干部姓名", "吴伟", "duplicate_key")
    ]
    assert "第2行" in report.errors[0].reason_zh and "row 2" in report.errors[0].reason_en
    assert _cadres(store) == {}


def test_namesakes_stored_with_one_phone_are_never_guessed_between(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    name, post, _, area, phone, _ = ROSTER[0]
    twins = [
        twores.Cadre(f"{area}-{n}", name, twores.Tier.VILLAGE, area, post=post, phone=phone)
        for n in ("a", "b")
    ]
    with store.unit_of_work(ADMIN) as uow:
        uow.cadres.upsert_many(twins)
        uow.commit()
    report = import_file(app, store, ADMIN, "cadres", _sheet(tmp_path / "干部.csv", ROSTER[:1]))
    assert [(e.row, e.column, e.value, e.code) for e in report.errors] == [
        (2, "包保干部姓名", name, "ambiguous_cadre")
    ]
    assert f"{area}-a" in report.errors[0].reason_zh and "干部编号" in report.errors[0].reason_zh
    assert sorted(_cadres(store)) == [f"{area}-a", f"{area}-b"]


def test_a_business_ledger_still_finds_its_cadre_by_name_and_phone_or_post(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", _sheet(tmp_path / "干部.csv", ROSTER), on=ON)
    by_name = {c.name: c for c in _cadres(store).values()}
    ledger = _sheet(
        tmp_path / "台账.csv",
        [
            ["大圩甲店", "JY24503231002001", VILLAGE, "餐饮服务", "D", "吴伟", "", "18374074002"],
            [
                "大圩乙店",
                "JY24503231002002",
                OTHER_VILLAGE,
                "餐饮服务",
                "D",
                "赵超涛",
                "村党支部书记",
                "",
            ],
        ],
        [
            "主体名称",
            "许可证编号",
            "所属区划",
            "业态",
            "包保等级",
            "包保干部姓名",
            "职务",
            "联系电话",
        ],
    )
    report = import_file(app, store, ADMIN, "businesses", ledger, on=ON)
    assert report.accepted and report.assignments.inserted == 2, report.errors
    with store.unit_of_work(ADMIN) as uow:
        held = {a.business_key: a.cadre_id for a in uow.assignments.stream()}
    assert held == {
        "JY24503231002001": by_name["吴伟"].id,
        "JY24503231002002": by_name["赵超涛"].id,
    }


def test_an_unmasked_export_re_imports_to_the_same_ids(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", _sheet(tmp_path / "干部.csv", ROSTER))
    exported = tmp_path / "导出.csv"
    export_list(store, ADMIN, "cadres", exported, unmask=True)
    elsewhere = guilin_store(app, f"sqlite:///{tmp_path / 'other.db'}")
    report = import_file(app, elsewhere, ADMIN, "cadres", exported)
    assert report.accepted and report.records.inserted == 3, report.errors
    assert _cadres(elsewhere) == _cadres(store)
    again = import_file(app, store, ADMIN, "cadres", exported)
    assert again.accepted and again.records.changed == 0
