"""Ledger imports: the real sample, messy ledgers of our own, all-or-nothing, idempotence."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from openpyxl import Workbook, load_workbook

import twores
from twores.core.assignment import AssignmentReason, plan_assignments
from twores.divisions import demo_region
from twores.services import assignments
from twores.services.exports import (
    BUSINESS_HEADERS,
    _Masker,
    business_row,
    export_list,
    write_table,
)
from twores.services.imports import import_file
from twores.services.kpis import compute_kpis
from twores.services.sheets import parsing
from twores.services.stores import open_store
from twores.services.synth import synthetic_businesses, synthetic_roster

ADMIN = twores.Scope("测试员", twores.Role.ADMIN)
ON = date(2025, 6, 30)


def _sample_cadres(samples: Path) -> list[list[str]]:
    """The sample county's cadre sheet, its header first."""
    with (samples / "lingchuan_cadres.csv").open(encoding="utf-8") as stream:
        return list(csv.reader(stream))


def state(store: twores.Store) -> tuple[list[object], ...]:
    with store.unit_of_work(ADMIN) as uow:
        return (
            list(uow.businesses.stream()),
            list(uow.cadres.stream()),
            list(uow.assignments.stream()),
            list(uow.audit.entries()),
        )


def test_the_sample_county_ledger(app: twores.Twores, store: twores.Store, samples: Path) -> None:
    expected = json.loads((samples / "lingchuan_expected.json").read_text(encoding="utf-8"))
    cadres = import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    assert cadres.accepted and cadres.records.inserted == expected["cadres"]
    report = import_file(app, store, ADMIN, "businesses", samples / "lingchuan_ledger.xlsx", on=ON)
    assert report.accepted and report.rows == expected["businesses"]
    assert report.records.inserted == report.assignments.inserted == expected["businesses"]
    businesses, _, assignments, audit = state(store)
    assert Counter(b.grade.value for b in businesses) == expected["by_grade"]  # type: ignore[attr-defined]
    roster = twores.Roster.build(demo_region(), businesses, state(store)[1], assignments)  # type: ignore[arg-type]
    assert twores.roster_violations(roster, app.plugins.rulebook(), ON) == []

    again = import_file(app, store, ADMIN, "businesses", samples / "lingchuan_ledger.xlsx", on=ON)
    assert again.accepted and again.replay
    assert again.records.changed == 0 and again.assignments.changed == 0
    assert again.assignments.unchanged == expected["businesses"]  # each kept, and said so
    assert state(store)[3] == audit  # no audit entry written


@pytest.mark.parametrize("one_by_one", [50, 0])  # read per cadre, or in one pass
def test_a_cadre_who_left_holds_nothing_from_that_day(
    app: twores.Twores,
    store: twores.Store,
    samples: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    one_by_one: int,
) -> None:
    monkeypatch.setattr(assignments, "_ONE_BY_ONE", one_by_one)
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    import_file(app, store, ADMIN, "businesses", samples / "lingchuan_ledger.xlsx", on=ON)
    left = date(2025, 7, 1)  # the first day not served: 任职截止日期 is the day before
    header, first, *rest = _sample_cadres(samples)
    departed = tmp_path / "干部.csv"
    with departed.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(
            [[*header, "任职截止日期"], [*first, "2025-06-30"], *[[*r, ""] for r in rest]]
        )
    with store.unit_of_work(ADMIN) as uow:
        (cadre,) = [c for c in uow.cadres.stream() if c.name == first[0]]
        held = [a for a in uow.assignments.stream(cadre_id=cadre.id) if a.valid_to is None]
    assert held
    report = import_file(app, store, ADMIN, "cadres", departed, on=ON)
    assert report.accepted and report.records.updated == 1
    assert report.assignments.updated == len(held)
    with store.unit_of_work(ADMIN) as uow:
        ended = list(uow.assignments.stream(cadre_id=cadre.id))
    assert {(a.valid_to, a.reason) for a in ended} == {(left, AssignmentReason.CADRE_LEFT)}
    coverage = compute_kpis(app, store, ADMIN, "2025Q3", as_of=date(2025, 7, 2)).values
    total = coverage["coverage"]["450323"]
    assert total.numerator == total.denominator - len(held)
    again = import_file(app, store, ADMIN, "cadres", departed, on=ON)
    assert again.records.changed == 0 and again.assignments.changed == 0


def test_a_roster_without_some_columns_keeps_what_it_leaves_unsaid(
    app: twores.Twores, store: twores.Store, samples: Path, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    header, first, *rest = _sample_cadres(samples)
    fuller = tmp_path / "干部（含身份证号）.csv"
    with fuller.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(
            [
                [*header, "身份证号", "任职截止日期"],
                [*first, "110101199003071233", "2025-06-30"],  # served through
                *[[*r, "", ""] for r in rest],
            ]
        )
    assert import_file(app, store, ADMIN, "cadres", fuller, on=ON).accepted
    with store.unit_of_work(ADMIN) as uow:
        before = {c.id: c for c in uow.cadres.stream()}
    again = import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    assert again.accepted and again.records.changed == 0  # neither erased nor brought back
    with store.unit_of_work(ADMIN) as uow:
        assert {c.id: c for c in uow.cadres.stream()} == before
    (left,) = [c for c in before.values() if c.active_to is not None]
    assert left.id_number == "110101199003071233" and str(left.active_to) == "2025-07-01"


def test_a_cadre_whose_phone_changed_is_the_same_cadre(
    app: twores.Twores, store: twores.Store, samples: Path, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    header, first, *rest = _sample_cadres(samples)
    phone = header.index("联系电话")
    moved = [*first[:phone], "13900000001", *first[phone + 1 :]]
    changed = tmp_path / "干部.csv"
    with changed.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([header, moved, *rest])
    with store.unit_of_work(ADMIN) as uow:
        before = {c.id: c for c in uow.cadres.stream()}
    report = import_file(app, store, ADMIN, "cadres", changed, on=ON)
    assert report.accepted and (report.records.inserted, report.records.updated) == (0, 1)
    with store.unit_of_work(ADMIN) as uow:
        after = {c.id: c for c in uow.cadres.stream()}
    assert after.keys() == before.keys()
    assert [c.phone for c in after.values() if c.phone != before[c.id].phone] == ["13900000001"]
    twin = tmp_path / "同名.csv"  # a second 吴伟 in the same village: no longer one person
    with twin.open("w", encoding="utf-8", newline="") as stream:
        other = [*first[:phone], "13900000002", *first[phone + 1 :]]
        csv.writer(stream).writerows([header, moved, other])
    assert import_file(app, store, ADMIN, "cadres", twin, on=ON).records.inserted == 1


def test_rows_outside_the_scope_are_reported_as_such(
    app: twores.Twores, store: twores.Store, samples: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    other_county = twores.Scope("全州县食安办", twores.Role.OFFICE, "450324")
    report = import_file(app, store, other_county, "businesses", samples / "lingchuan_ledger.xlsx")
    assert not report.accepted
    assert {e.code for e in report.errors} == {"out_of_scope"}  # not "cadre not found"


def test_the_bad_ledger_is_refused_whole(
    app: twores.Twores, store: twores.Store, samples: Path
) -> None:
    expected = json.loads((samples / "lingchuan_expected.json").read_text(encoding="utf-8"))
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    before = state(store)
    report = import_file(
        app, store, ADMIN, "businesses", samples / "lingchuan_ledger_bad.xlsx", on=ON
    )
    assert not report.accepted
    assert {e.serial: e.column for e in report.errors} == expected["bad_rows"]
    assert state(store) == before
    assert report.report_path is not None and report.report_path.exists()
    sheet = load_workbook(report.report_path).active
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0] == ("行号", "序号", "列", "值", "错误代码", "原因", "reason")
    assert sorted(str(line[1]) for line in lines[1:]) == sorted(expected["bad_rows"])


MESSY_HEADER = [
    "序号",
    "主体名称",
    "统一社会信用代码",
    "许可证编号",
    "所属区划",
    "业态",
    "规模",
    "经营状态",
    "包保等级",
    "风险等级",
    "成立日期",
    "包保干部姓名",
    "职务",
    "联系电话",
]


def messy_rows() -> list[list[object]]:
    return [
        [
            1,
            " 大圩 豆腐坊 ",
            "９１１１００００６０００３７３４１Ｌ",
            "SC14503231110603",
            450323101202.0,
            "食品生产",
            "微型",
            "在营",
            "A级",
            "B",
            "2019年5月2日",
            None,
            None,
            None,
        ],
        [
            2,
            "敢兴便利店",
            None,
            "jy14503230034495",
            "灵川县/大圩镇/敢兴村",
            "食品销售",
            "小型",
            "在营",
            "ｄ",
            None,
            43587,
            None,
            None,
            None,
        ],
        [None, None, None, None, None, None, None, None, None, None, None, None, None, None],
        [
            3,
            "灵田米粉店",
            None,
            "JY14503230369045",
            "450323107206",
            "餐饮服务",
            "微型",
            "停业",
            " c ",
            "a",
            datetime(2021, 2, 1),
            None,
            None,
            None,
        ],
        [
            4,
            "三街超市",
            None,
            "JY14503232897810",
            "450323100200",
            "食品销售",
            "微型",
            "在营",
            "Ａ",
            None,
            "2019/5/2",
            None,
            None,
            None,
        ],
    ]


def write_xlsx(path: Path, rows: list[list[object]], header: list[str] = MESSY_HEADER) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["灵川县食品生产经营主体分层分级包保台账"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(["填报单位：灵川县食安办", None, None, None, None, "填报日期：2023年3月20日"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    sheet.append([])
    sheet.append(["填表人：莫某某", None, None, None, "审核人：覃某某"])
    workbook.save(path)
    return path


def test_a_messy_xlsx_ledger_imports(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    report = import_file(
        app, store, ADMIN, "businesses", write_xlsx(tmp_path / "台账.xlsx", messy_rows())
    )
    assert report.accepted, report.errors
    businesses = {b.name: b for b in state(store)[0]}  # type: ignore[attr-defined]
    assert set(businesses) == {"大圩 豆腐坊", "敢兴便利店", "灵田米粉店", "三街超市"}
    tofu = businesses["大圩 豆腐坊"]
    assert tofu.uscc == "91110000600037341L" and tofu.grade is twores.Grade.A
    assert tofu.area_code == "450323101202" and tofu.opened_on == date(2019, 5, 2)
    shop = businesses["敢兴便利店"]
    assert shop.licence_no == "JY14503230034495" and shop.opened_on == date(2019, 5, 2)
    assert shop.area_code == "450323101201"  # 敢兴村委会, found by its short name
    assert businesses["灵田米粉店"].status is twores.OperatingStatus.SUSPENDED
    assert businesses["灵田米粉店"].risk_grade is twores.RiskLevel.A


def test_a_cell_merged_down_several_rows_holds_for_each(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    rows = messy_rows()[:2]
    area = MESSY_HEADER.index("所属区划")
    rows[1][area] = None
    path = write_xlsx(tmp_path / "台账.xlsx", rows)
    workbook = load_workbook(path)
    column = area + 1
    workbook.active.merge_cells(start_row=4, start_column=column, end_row=5, end_column=column)
    workbook.save(path)
    report = import_file(app, store, ADMIN, "businesses", path)
    assert report.accepted, report.errors
    areas = {b.area_code for b in state(store)[0]}  # type: ignore[attr-defined]
    assert areas == {"450323101202"}


def test_every_error_of_every_row_is_reported(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    rows = messy_rows()
    rows[0][2], rows[0][8], rows[0][10] = "91110000600037341X", "E", "2019-13-45"
    rows[3][4] = "450323999999"
    rows.append(list(rows[4]))  # a duplicate licence number
    report = import_file(
        app, store, ADMIN, "businesses", write_xlsx(tmp_path / "坏台账.xlsx", rows)
    )
    found = {(e.serial, e.column) for e in report.errors}
    assert found == {
        ("1", "统一社会信用代码"),
        ("1", "包保等级"),
        ("1", "成立日期"),
        ("3", "所属区划"),
        ("4", "许可证编号"),
    }
    assert all(e.reason_zh and e.reason_en for e in report.errors)
    assert state(store)[0] == []


def test_a_bad_value_repeated_down_the_sheet_is_reported_on_every_row(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    rows = messy_rows()
    for row in (rows[1], rows[3], rows[4]):
        row[8], row[10] = "E级", "2019-13-45"
    report = import_file(app, store, ADMIN, "businesses", write_xlsx(tmp_path / "t.xlsx", rows))
    found = sorted((e.serial, e.column, e.value) for e in report.errors)
    assert found == [
        (serial, column, value)
        for serial in ("2", "3", "4")
        for column, value in (("包保等级", "E级"), ("成立日期", "2019-13-45"))
    ]


def test_a_missing_required_column_is_reported(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    path = tmp_path / "缺列.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(
            [["主体名称", "许可证编号", "业态"], ["店", "JY14503230034495", "食品销售"]]
        )
    report = import_file(app, store, ADMIN, "businesses", path)
    assert [(e.column, e.code) for e in report.errors] == [("所属区划", "missing_column")]
    assert report.report_path is not None and report.report_path.suffix == ".csv"


def test_cadres_must_resolve_exactly(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    cadres = tmp_path / "干部.csv"
    with cadres.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(
            [
                ["包保干部姓名", "职务", "层级", "所属区划", "联系电话"],
                ["吴伟", "村委会主任", "村级", "450323101202", "18374074002"],
                ["吴伟", "村委委员", "村级", "450323101202", "18374074003"],
            ]
        )
    assert import_file(app, store, ADMIN, "cadres", cadres).accepted
    dashed = cadres.with_name("干部2.csv")
    dashed.write_text(cadres.read_text().replace("18374074002", "183-7407-4002"))
    again = import_file(app, store, ADMIN, "cadres", dashed)  # the same two cadres
    assert again.accepted and again.records.changed == 0
    rows = messy_rows()[:2]
    rows[0][8], rows[0][11], rows[0][12] = "D", "吴伟", None  # ambiguous: two 吴伟, no phone
    rows[1][11] = "张三"  # unknown
    report = import_file(app, store, ADMIN, "businesses", write_xlsx(tmp_path / "台账.xlsx", rows))
    assert sorted(e.code for e in report.errors) == ["ambiguous_cadre", "unknown_cadre"]
    rows[0][13] = "183 7407 4003"
    rows[1][11] = None
    report = import_file(app, store, ADMIN, "businesses", write_xlsx(tmp_path / "台账2.xlsx", rows))
    assert report.accepted and report.assignments.inserted == 1
    rows[0][8] = "A级"  # a city-tier business: the error names the grade cell
    report = import_file(app, store, ADMIN, "businesses", write_xlsx(tmp_path / "台账3.xlsx", rows))
    (error,) = report.errors
    assert (error.code, error.column, error.value) == ("tier_mismatch", "包保等级", "A级")
    twice = cadres.with_name("干部3.csv")
    twice.write_text(cadres.read_text() + cadres.read_text().splitlines()[1] + "\n")
    (repeated,) = import_file(app, store, ADMIN, "cadres", twice).errors
    assert (repeated.code, repeated.column, repeated.value) == (
        "duplicate_key",
        "包保干部姓名",
        "吴伟",
    )


def test_assignments_that_break_the_invariants_are_refused(
    app: twores.Twores, store: twores.Store, samples: Path, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    import_file(app, store, ADMIN, "businesses", samples / "lingchuan_ledger.xlsx", on=ON)
    with store.unit_of_work(ADMIN) as uow:
        held = sorted(uow.assignments.stream(active_on=ON), key=lambda a: a.business_key)
        cadres = {c.id: c for c in uow.cadres.stream()}
    first = held[0]
    tier = cadres[first.cadre_id].tier
    other_tier = next(c for c in cadres.values() if c.tier is not tier)
    later = ON + timedelta(days=30)

    def sheet(name: str, rows: list[list[object]]) -> Path:
        path = tmp_path / name
        write_table(path, ("许可证编号", "干部编号", "开始日期", "结束日期"), rows)
        return path

    before = state(store)
    bad = sheet(
        "bad.csv",
        [
            [first.business_key, first.cadre_id, later, None],  # a second holder at once
            [held[1].business_key, other_tier.id, ON, None],  # the wrong tier
        ],
    )
    report = import_file(app, store, ADMIN, "assignments", bad, on=ON)
    codes = {(e.row, e.code) for e in report.errors}
    assert (2, "assignment_overlap") in codes and (3, "assignment_tier") in codes
    assert state(store) == before
    hand_over = sheet(
        "hand-over.csv",
        [  # 结束日期 is the last day held: the next holder starts the day after
            [first.business_key, first.cadre_id, first.valid_from, later - timedelta(days=1)],
            [first.business_key, first.cadre_id, later, None],
        ],
    )
    report = import_file(app, store, ADMIN, "assignments", hand_over, on=ON)
    assert report.accepted, report.errors


def test_an_assignment_sheet_may_name_businesses_by_credit_code(
    app: twores.Twores, store: twores.Store, samples: Path, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    import_file(app, store, ADMIN, "businesses", samples / "lingchuan_ledger.xlsx", on=ON)
    with store.unit_of_work(ADMIN) as uow:
        businesses = {b.key: b for b in uow.businesses.stream()}
        held = [
            a
            for a in uow.assignments.stream(active_on=ON)
            if businesses[a.business_key].licence_no and businesses[a.business_key].uscc
        ]
    first, second = held[:2]
    later = ON + timedelta(days=30)
    credit = businesses[first.business_key].uscc
    assert credit is not None
    path = tmp_path / "按信用代码.csv"
    header = ("统一社会信用代码", "干部编号", "开始日期", "结束日期")
    last = later - timedelta(days=1)  # 结束日期: the last day held
    write_table(path, header, [[credit.lower(), first.cadre_id, first.valid_from, last]])
    report = import_file(app, store, ADMIN, "assignments", path, on=ON)
    assert report.accepted, report.errors
    with store.unit_of_work(ADMIN) as uow:
        (ended,) = uow.assignments.stream(
            cadre_id=first.cadre_id, business_keys={first.business_key}
        )
    assert ended.valid_to == later
    with store.unit_of_work(ADMIN) as uow:  # a second licensed shop under the same code
        shop = businesses[second.business_key]
        uow.businesses.upsert_many([attrs.evolve(shop, uscc=credit)])
        uow.commit()
    refused = import_file(app, store, ADMIN, "assignments", path, on=ON)
    assert [(e.row, e.column, e.code) for e in refused.errors] == [
        (2, "统一社会信用代码", "ambiguous_business")
    ]
    assert first.business_key in refused.errors[0].reason_zh


def test_a_gb18030_ledger_whose_first_chinese_comes_late_imports(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    rows = [["name", "licence no", "area", "type", "status"]]
    rows += [[f"Shop {i}", f"JY1450323{i:07d}", "450323", "sales", "operating"] for i in range(400)]
    rows.append(["灵川米粉店", "JY14503239999999", "灵川县", "餐饮服务", "在营"])
    path = tmp_path / "ledger.csv"
    path.write_bytes("\r\n".join(",".join(r) for r in rows).encode("gb18030"))
    report = import_file(app, store, ADMIN, "businesses", path)
    assert not report.errors and report.records.inserted == 401
    with store.unit_of_work(ADMIN) as uow:
        assert uow.businesses.get("JY14503239999999").name == "灵川米粉店"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(64)),
        ("scan.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj"),
        ("ledger.csv", "主体名称,许可证编号\n".encode("utf-16")),  # UTF-16 text: NULs
    ],
    ids=["png", "pdf", "utf-16"],
)
def test_a_file_that_is_no_spreadsheet_is_named_so(
    app: twores.Twores, store: twores.Store, tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = state(store)
    with pytest.raises(twores.InvalidValueError) as refused:
        import_file(app, store, ADMIN, "businesses", path)
    assert refused.value.field == "file" and refused.value.value == name
    assert "不是表格文件" in refused.value.message_zh and "xlsx" in refused.value.message_en
    assert state(store) == before


def test_a_workbook_named_csv_is_read_as_a_workbook(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    shutil.copy(write_xlsx(tmp_path / "台账.xlsx", messy_rows()), tmp_path / "台账.csv")
    report = import_file(app, store, ADMIN, "businesses", tmp_path / "台账.csv")
    assert report.accepted and report.records.inserted == 4


def test_dry_run_changes_nothing(app: twores.Twores, store: twores.Store, tmp_path: Path) -> None:
    before = state(store)
    report = import_file(
        app,
        store,
        ADMIN,
        "businesses",
        write_xlsx(tmp_path / "台账.xlsx", messy_rows()),
        dry_run=True,
    )
    assert report.accepted and report.records.inserted == 4
    assert state(store) == before


def _sheet(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    write_table(path, header, rows)
    return path


def test_a_ledger_without_some_columns_keeps_what_is_stored_in_them(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """A re-import never erases what its sheet says nothing about (staff, status)."""
    header = ["主体名称", "许可证编号", "所属区划", "业态", "经营状态", "状态变更日期"]
    staffed = [*header, "食品安全总监", "食品安全总监电话", "食品安全员"]
    rows = [
        ["甲饭店", "JY14503230000011", "450323101", "餐饮服务", "停业", "2025-05-01"],
        ["乙超市", "JY14503230000029", "450323101", "食品销售", "在营", ""],
    ]
    full = [rows[0] + ["王芳", "13812345678", "李强"], rows[1] + ["", "", ""]]
    first = _sheet(tmp_path / "全.csv", staffed, full)
    assert import_file(app, store, ADMIN, "businesses", first).accepted
    stored = state(store)[0]
    lean = _sheet(
        tmp_path / "少.csv", ["主体名称", "许可证编号", "所属区划", "业态"], [r[:4] for r in rows]
    )
    again = import_file(app, store, ADMIN, "businesses", lean)
    assert again.accepted and again.records.changed == 0
    assert state(store)[0] == stored  # staff, status and its day kept
    named = _sheet(
        tmp_path / "改.csv",
        [*header, "食品安全总监", "食品安全员"],
        [rows[0] + ["王芳", "赵六"], rows[1] + ["", ""]],
    )
    assert import_file(app, store, ADMIN, "businesses", named).records.updated == 1
    with store.unit_of_work(ADMIN) as uow:
        staff = uow.businesses.get("JY14503230000011").staff  # type: ignore[union-attr]
    assert staff.director == twores.StaffMember("王芳", "13812345678")  # same person: phone kept
    assert staff.officer == twores.StaffMember("赵六")  # another person: nothing carried over


def test_unmasked_export_reimports_to_the_identical_state(
    app: twores.Twores, store: twores.Store, samples: Path, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    import_file(app, store, ADMIN, "businesses", samples / "lingchuan_ledger.xlsx", on=ON)
    with store.unit_of_work(ADMIN) as uow:  # reasons other than the import's own come back
        held = sorted(uow.assignments.stream(), key=lambda a: a.business_key)[:2]
        uow.assignments.upsert_many(
            [
                attrs.evolve(held[0], reason=twores.AssignmentReason.MANUAL),
                attrs.evolve(
                    held[1].ended(date(2025, 9, 1)), reason=twores.AssignmentReason.CADRE_LEFT
                ),
            ]
        )
        shop = uow.businesses.get(held[0].business_key)
        assert shop is not None  # a phone written with a dash, as an API caller may
        officer = twores.StaffMember("李四", "0773-1234567")
        uow.businesses.upsert_many([attrs.evolve(shop, staff=twores.Staff(officer=officer))])
        uow.commit()
    kinds = (("cadres", ".csv.gz"), ("businesses", ".xlsx"), ("assignments", ".xlsx"))
    for kind, suffix in kinds:
        export_list(store, ADMIN, kind, tmp_path / f"{kind}{suffix}", unmask=True)
    copy = open_store(app, f"sqlite:///{tmp_path / 'copy.db'}")
    with copy.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(demo_region())
        uow.commit()
    for kind, suffix in kinds:
        report = import_file(app, copy, ADMIN, kind, tmp_path / f"{kind}{suffix}")
        assert report.accepted, report.errors[:3]
    original, restored = state(store), state(copy)
    assert restored[:3] == original[:3]


def test_an_export_is_written_as_its_name_says_or_refused(
    app: twores.Twores, store: twores.Store, samples: Path, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    with pytest.raises(twores.InvalidValueError) as refused:
        export_list(store, ADMIN, "cadres", tmp_path / "干部.xls")  # no CSV text under .xls
    assert ".xlsx" in refused.value.message_zh and not (tmp_path / "干部.xls").exists()
    packed = tmp_path / "干部.csv.xz"
    rows = export_list(store, ADMIN, "cadres", packed, unmask=True)
    assert import_file(app, store, ADMIN, "cadres", packed).records.changed == 0
    cut = tmp_path / "截断.csv.xz"
    cut.write_bytes(packed.read_bytes()[: packed.stat().st_size // 2])
    with pytest.raises(twores.InvalidValueError) as damaged:  # said so, naming the file
        import_file(app, store, ADMIN, "cadres", cut)
    assert rows > 0 and damaged.value.field == "file" and damaged.value.value == cut.name
    assert "损坏或不完整" in damaged.value.reason_zh and "cut short" in damaged.value.reason_en


def test_exports_mask_personal_data_unless_allowed(
    app: twores.Twores,
    store: twores.Store,
    samples: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    masked = tmp_path / "masked.csv"
    export_list(store, ADMIN, "cadres", masked)
    text = masked.read_text(encoding="utf-8-sig")
    assert "18374074002" not in text and "183****4002" in text
    with pytest.raises(twores.ScopeError):
        export_list(
            store, twores.Scope("访客", twores.Role.READ_ONLY), "cadres", masked, unmask=True
        )
    county = twores.Scope("灵川县食安办", twores.Role.OFFICE, "450323")
    assert export_list(store, county, "cadres", masked, within="450323") > 0
    assert not [r for r in caplog.records if r.name == "twores.exports"]  # masked: no record
    with caplog.at_level("WARNING", logger="twores.exports"):
        export_list(store, county, "cadres", tmp_path / "plain.csv", unmask=True)
    (said,) = [r.getMessage() for r in caplog.records if r.name == "twores.exports"]
    assert "灵川县食安办" in said and "kind=cadres" in said and "plain.csv" in said
    with pytest.raises(twores.ScopeError):  # the city above: a file named for it, one county's rows
        export_list(store, county, "cadres", masked, within="4503")


def test_a_township_re_imports_its_assignments_export_held_by_cadres_above_it(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    county = demo_region().subtree("450323")
    roster = synthetic_roster(county, businesses=300, cadres=60, seed=5)
    with store.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan_assignments(roster, app.plugins.rulebook(), ON))
        uow.commit()
    with store.unit_of_work(ADMIN) as uow:
        above = next(
            a
            for a in uow.assignments.stream(within="450323101")
            if roster.cadres[a.cadre_id].area_code == "450323"  # a county cadre's business
        )
    township = twores.Scope("大圩镇食安办", twores.Role.OFFICE, "450323101")
    sheet = tmp_path / "包保关系.csv"
    export_list(store, township, "assignments", sheet, unmask=True)
    before = state(store)
    again = import_file(app, store, township, "assignments", sheet, on=ON)
    assert again.accepted and again.assignments.changed == 0 and again.assignments.unchanged > 0
    assert state(store) == before
    with sheet.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    at = rows[0].index("开始日期")
    changed = next(r for r in rows[1:] if r[rows[0].index("干部编号")] == above.cadre_id)
    changed[at] = (above.valid_from + timedelta(days=1)).isoformat()  # a new assignment
    with sheet.open("w", encoding="utf-8-sig", newline="") as stream:
        csv.writer(stream).writerows(rows)
    refused = import_file(app, store, township, "assignments", sheet, on=ON)
    (error,) = refused.errors
    assert (error.value, error.code) == (above.cadre_id, "unknown_cadre")
    assert "450323101" in error.reason_zh and "由上级导入" in error.reason_zh
    assert state(store) == before


def _businesses(count: int) -> list[twores.FoodBusiness]:
    return list(synthetic_businesses(demo_region(), count, seed=3, graded=True))


def _ledger(path: Path, businesses: list[twores.FoodBusiness], bad_row: int | None = None) -> Path:
    """A clean business ledger; ``bad_row`` (1-based) gets an unreadable grade."""
    rows = [list(business_row(b, _Masker(True))) for b in businesses]
    if bad_row is not None:
        rows[bad_row - 1][BUSINESS_HEADERS.index("包保等级")] = "Z级"
    write_table(path, BUSINESS_HEADERS, rows)
    return path


def test_a_bad_row_in_the_last_chunk_rejects_chunks_already_written(
    app: twores.Twores, store: twores.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "CHUNK", 7)  # 60 rows: eight chunks written before the bad one
    before = state(store)
    path = _ledger(tmp_path / "台账.csv", _businesses(60), bad_row=60)
    report = import_file(app, store, ADMIN, "businesses", path)
    assert [(e.row, e.column) for e in report.errors] == [(61, "包保等级")]
    assert state(store) == before


def test_a_folder_of_division_files_imports_once(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    folder = tmp_path / "divisions"
    folder.mkdir()
    (folder / "provinces.csv").write_text('code,name\n46,"海南省"\n', encoding="utf-8")
    (folder / "cities.csv").write_text(
        'code,name,provinceCode\n4601,"海口市",46\n4602,"三亚市",46\n', encoding="utf-8"
    )
    first = import_file(app, store, ADMIN, "areas", folder)
    assert first.accepted and first.records.inserted == 3 and not first.replay
    again = import_file(app, store, ADMIN, "areas", folder)
    assert again.replay and again.records.unchanged == 3
    (folder / "cities.csv").write_text(
        'code,name,provinceCode\n4601,"海口市",46\n', encoding="utf-8"
    )
    assert not import_file(app, store, ADMIN, "areas", folder).replay


def test_an_area_sheet_that_breaks_the_hierarchy_is_reported(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    sheet = tmp_path / "区划.csv"
    write_table(
        sheet,
        ("区划代码", "区划名称", "上级区划代码", "层级"),
        [["459901", "某区", "4599", "县级"]],
    )
    before = state(store)
    report = import_file(app, store, ADMIN, "areas", sheet)
    assert not report.accepted and report.report_path is not None
    assert any("4599" in e.value for e in report.errors)
    assert state(store) == before


def test_an_area_sheet_that_moves_an_area_holding_records_is_reported(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    headers = ("区划代码", "区划名称", "上级区划代码", "层级")
    zone = tmp_path / "开发区.csv"
    write_table(zone, headers, [["450323-Z", "开发区", "450323", "乡级"]])
    assert import_file(app, store, ADMIN, "areas", zone).accepted
    business = attrs.evolve(_businesses(1)[0], area_code="450323-Z")
    with store.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many([business])
        uow.commit()
    moved = tmp_path / "调整.csv"
    write_table(moved, headers, [["450323-Z", "开发区", "450324", "乡级"]])
    before = state(store)
    report = import_file(app, store, ADMIN, "areas", moved)
    assert not report.accepted and report.report_path is not None
    [error] = report.errors
    assert (error.column, error.value) == ("450323-Z.parent_code", "450324")
    assert "迁" in error.reason_zh and "move them" in error.reason_en
    assert state(store) == before


def test_a_write_refused_mid_file_changes_nothing(
    app: twores.Twores, store: twores.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "CHUNK", 7)
    businesses = _businesses(60)
    county = businesses[0].area_code[:6]
    assert not all(b.area_code.startswith(county) for b in businesses)
    office = twores.Scope("县食安办", twores.Role.OFFICE, area_code=county)
    before = state(store)
    report = import_file(
        app, store, office, "businesses", _ledger(tmp_path / "台账.csv", businesses)
    )
    outside = [b for b in businesses if not b.area_code.startswith(county)]
    assert [e.code for e in report.errors] == ["out_of_scope"] * len(outside)  # each row named
    assert report.report_path is not None and report.report_path.exists()
    assert state(store) == before


def test_each_file_gets_its_own_report_name() -> None:
    from twores.services.sheets.report import report_path

    folder = Path("/data")
    assert report_path(folder / "a.v1.csv") == folder / "a.v1.errors.csv"
    assert report_path(folder / "a.v2.csv") == folder / "a.v2.errors.csv"
    assert report_path(folder / "台账.csv.xz") == folder / "台账.errors.csv"
    assert report_path(folder / "台账.xlsx") == folder / "台账.errors.xlsx"


def test_a_printed_database_url_hides_its_password() -> None:
    from twores.services.stores import shown_url

    assert (
        shown_url("postgresql://app:secret@db:5432/twores") == "postgresql://app:***@db:5432/twores"
    )
    assert (
        shown_url("postgresql://postgres@127.0.0.1/test") == "postgresql://postgres@127.0.0.1/test"
    )
    assert shown_url("sqlite:///twores.db") == "sqlite:///twores.db"


FORMULA_NAMES = ['=HYPERLINK("http://x.invalid","点")', "+豆腐坊", "@便利店", "-5号档口", "'=甲店"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_text_that_looks_like_a_formula_never_runs_in_excel_and_still_round_trips(
    app: twores.Twores, store: twores.Store, tmp_path: Path, suffix: str
) -> None:
    made = _businesses(len(FORMULA_NAMES))
    named = [attrs.evolve(b, name=n) for b, n in zip(made, FORMULA_NAMES, strict=True)]
    with store.unit_of_work(ADMIN) as uow:
        uow.businesses.upsert_many(named)
        uow.commit()
    path = tmp_path / f"out{suffix}"
    export_list(store, ADMIN, "businesses", path, unmask=True)
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as stream:
            cells = {row[0] for row in csv.reader(stream)}
        assert {"'" + n for n in FORMULA_NAMES} <= cells
    else:
        sheet = load_workbook(path).active
        kinds = {c.value: c.data_type for row in sheet.iter_rows(min_row=2) for c in row}
        assert all(t == "s" for v, t in kinds.items() if isinstance(v, str))  # no formulas
    copy = open_store(app, f"sqlite:///{tmp_path / 'copy.db'}")
    with copy.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(demo_region())
        uow.commit()
    report = import_file(app, copy, ADMIN, "businesses", path)
    assert report.accepted, report.errors[:3]
    assert state(copy)[0] == state(store)[0]


def test_a_rejected_value_that_looks_like_a_formula_is_text_in_the_report(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    rows = [["主体名称", "许可证编号", "所属区划", "业态"], ["米粉店", "JY1", "=1+1", "餐饮服务"]]
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.active["C2"].data_type = "s"
    workbook.save(tmp_path / "bad.xlsx")
    (tmp_path / "bad.csv").write_text("\n".join(",".join(r) for r in rows), "utf-8")
    for name in ("bad.xlsx", "bad.csv"):
        report = import_file(app, store, ADMIN, "businesses", tmp_path / name)
        assert report.report_path is not None
        if report.report_path.suffix == ".xlsx":
            sheet = load_workbook(report.report_path).active
            cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value == "=1+1"]
            assert cells and all(c.data_type == "s" for c in cells)
        else:
            assert "'=1+1" in report.report_path.read_text(encoding="utf-8-sig")


def test_a_missing_file_a_wrong_kind_and_an_unopenable_database_are_named(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    from twores.core.errors import StoreUnavailableError

    with pytest.raises(twores.NotFoundError) as missing:
        import_file(app, store, ADMIN, "businesses", tmp_path / "没有.xlsx")
    assert missing.value.field == "file" and "不存在" in missing.value.reason_zh
    with pytest.raises(twores.InvalidValueError) as kind:
        import_file(app, store, ADMIN, "visits", tmp_path / "没有.xlsx")
    assert kind.value.field == "kind" and "businesses" in kind.value.reason_en
    with pytest.raises(StoreUnavailableError) as unopened:
        open_store(app, str(tmp_path / "no-such-folder" / "x.db"))
    assert "无法打开数据库" in unopened.value.message_zh
    ledger = tmp_path / "台账.csv"  # a file that is no database, given as one
    ledger.write_text("主体名称,许可证编号\n" * 200, encoding="utf-8")
    with pytest.raises(StoreUnavailableError) as not_sqlite:
        open_store(app, str(ledger))
    assert str(ledger) in not_sqlite.value.message_zh
    assert "不是 SQLite 数据库" in not_sqlite.value.message_zh


def _coded_sheet(path: Path, businesses: list[twores.FoodBusiness], *, licences: bool) -> Path:
    """The businesses as a ledger naming them by credit code (and licence, if asked)."""
    header = [h for h in BUSINESS_HEADERS if licences or h != "许可证编号"]
    mask = _Masker(True)
    rows = [
        [v for h, v in zip(BUSINESS_HEADERS, business_row(b, mask), strict=True) if h in header]
        for b in businesses
    ]
    write_table(path, header, rows)
    return path


def test_a_ledger_without_licence_numbers_updates_the_licensed_businesses(
    app: twores.Twores, store: twores.Store, samples: Path, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    import_file(app, store, ADMIN, "businesses", samples / "lingchuan_ledger.xlsx", on=ON)
    before = state(store)
    licensed = [b for b in before[0] if b.licence_no and b.uscc]  # type: ignore[attr-defined]
    first, second = licensed[:2]
    suspended = attrs.evolve(
        first, name="灵川县新名称米粉店", status=twores.OperatingStatus.SUSPENDED
    )
    sheet = _coded_sheet(tmp_path / "按信用代码.csv", [suspended], licences=False)
    report = import_file(app, store, ADMIN, "businesses", sheet, on=ON)
    assert report.accepted, report.errors
    assert (report.records.inserted, report.records.updated) == (0, 1)
    with store.unit_of_work(ADMIN) as uow:
        updated = uow.businesses.get(first.key)
        assert updated is not None and updated.licence_no == first.licence_no
        assert (updated.name, updated.status) == (suspended.name, suspended.status)
        assert uow.businesses.get(first.uscc) is None  # not filed again under its code
        uow.businesses.upsert_many([attrs.evolve(second, uscc=first.uscc)])  # one company
        uow.commit()
    shared = state(store)
    refused = import_file(app, store, ADMIN, "businesses", sheet, on=ON)
    assert [(e.row, e.column, e.code) for e in refused.errors] == [
        (2, "统一社会信用代码", "ambiguous_business")
    ]
    assert state(store) == shared
    # A new licensed outlet of that company is a business of its own.
    outlet = attrs.evolve(first, licence_no=second.licence_no[:-4] + "9999")  # type: ignore[index]
    added = import_file(
        app,
        store,
        ADMIN,
        "businesses",
        _coded_sheet(tmp_path / "新门店.csv", [outlet], licences=True),
        on=ON,
    )
    assert added.accepted and added.records.inserted == 1, added.errors


def test_a_business_filed_by_credit_code_is_not_filed_again_under_a_licence(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(demo_region())
        uow.commit()
    (shop,) = synthetic_businesses(demo_region(), 1, seed=5)
    assert shop.licence_no and shop.uscc
    unlicensed = attrs.evolve(shop, licence_no=None)
    sheet = _coded_sheet(tmp_path / "无证.csv", [unlicensed], licences=True)
    assert import_file(app, store, ADMIN, "businesses", sheet, on=ON).records.inserted == 1
    before = state(store)
    licensed = _coded_sheet(tmp_path / "领证后.csv", [shop], licences=True)
    refused = import_file(app, store, ADMIN, "businesses", licensed, on=ON)
    assert [(e.row, e.column, e.value, e.code) for e in refused.errors] == [
        (2, "统一社会信用代码", shop.uscc, "licensed_later")
    ]
    assert state(store) == before
    closed = attrs.evolve(unlicensed, status=twores.OperatingStatus.CLOSED)  # as it advises
    import_file(
        app,
        store,
        ADMIN,
        "businesses",
        _coded_sheet(tmp_path / "注销.csv", [closed], licences=True),
        on=ON,
    )
    assert import_file(app, store, ADMIN, "businesses", licensed, on=ON).records.inserted == 1


def test_a_credit_code_filed_in_another_jurisdiction_is_refused_not_filed_twice(
    app: twores.Twores, store: twores.Store, samples: Path, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    import_file(app, store, ADMIN, "businesses", samples / "lingchuan_ledger.xlsx", on=ON)
    businesses, *_ = state(store)
    theirs = next(b for b in businesses if b.uscc and b.licence_no)  # type: ignore[attr-defined]
    township = theirs.area_code[:9]
    other = next(
        b.area_code[:9]  # type: ignore[attr-defined]
        for b in businesses
        if b.area_code[:9] != township  # type: ignore[attr-defined]
    )
    office = twores.Scope("乡镇办", twores.Role.OFFICE, other)
    moved = attrs.evolve(
        theirs,
        area_code=next(
            b.area_code
            for b in businesses
            if b.area_code.startswith(other)  # type: ignore[attr-defined]
        ),
    )
    sheet = _coded_sheet(tmp_path / "辖区外.csv", [moved], licences=False)
    before = state(store)
    refused = import_file(app, store, office, "businesses", sheet, on=ON)
    assert [(e.row, e.column, e.value, e.code) for e in refused.errors] == [
        (2, "统一社会信用代码", theirs.uscc, "out_of_scope")
    ]
    assert state(store) == before


def test_a_business_filed_outside_is_reported_with_the_rows_other_errors(
    app: twores.Twores, store: twores.Store, samples: Path, tmp_path: Path
) -> None:
    """What the store refuses is listed with the row errors, not only once they are
    corrected (a clerk fixed every row listed and was refused again)."""
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    import_file(app, store, ADMIN, "businesses", samples / "lingchuan_ledger.xlsx", on=ON)
    businesses, *_ = state(store)
    theirs = next(b for b in businesses if b.licence_no)  # type: ignore[attr-defined]
    other = next(
        b
        for b in businesses
        if b.area_code[:9] != theirs.area_code[:9]  # type: ignore[attr-defined]
    )
    office = twores.Scope("乡镇办", twores.Role.OFFICE, other.area_code[:9])
    ahead = attrs.evolve(other, opened_on=date(2099, 1, 1))
    moved = attrs.evolve(theirs, area_code=other.area_code)
    sheet = _coded_sheet(tmp_path / "两处错误.csv", [ahead, moved], licences=True)
    before = state(store)

    refused = import_file(app, store, office, "businesses", sheet, on=ON)

    assert [(e.row, e.code) for e in refused.errors] == [
        (2, "date_ahead"),
        (3, "out_of_scope"),
    ]
    assert state(store) == before


def test_a_ledger_dated_before_a_later_holder_hands_over_until_then(
    app: twores.Twores, store: twores.Store, samples: Path, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    ledger = samples / "lingchuan_ledger.xlsx"
    assert import_file(app, store, ADMIN, "businesses", ledger, on=ON).accepted
    workbook = load_workbook(ledger)
    sheet = workbook.worksheets[0]
    key = sheet["D7"].value
    for column in "KLMN":  # row 7's business named with row 603's cadre (same village, grade)
        sheet[f"{column}7"] = sheet[f"{column}603"].value
    earlier = tmp_path / "早先台账.xlsx"
    workbook.save(earlier)
    before = ON - timedelta(days=30)
    report = import_file(app, store, ADMIN, "businesses", earlier, on=before)
    assert report.accepted, report.errors
    with store.unit_of_work(ADMIN) as uow:
        held = sorted(uow.assignments.stream(business_keys={key}), key=lambda a: a.valid_from)
        names = {c.id: c.name for c in uow.cadres.stream()}
    assert [(names[a.cadre_id], a.valid_from, a.valid_to) for a in held] == [
        ("李娜英", before, ON),  # until the holder the later ledger named takes over
        ("罗霞", ON, None),
    ]


def test_every_bad_field_of_a_cadre_row_is_reported_at_once(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(demo_region())
        uow.commit()
    header = ["包保干部姓名", "职务", "层级", "所属区划", "联系电话", "身份证号"]
    masked = ["周敏", "村主任", "村级", "450323101200", "139****0001", "110105********002X"]
    path = tmp_path / "脱敏干部.csv"
    write_table(path, header, [masked])  # a masked export, imported by mistake
    refused = import_file(app, store, ADMIN, "cadres", path, on=ON)
    assert [(e.row, e.column, e.value) for e in refused.errors] == [
        (2, "联系电话", "139****0001"),
        (2, "身份证号", "110105********002X"),
    ]


def test_a_cadre_moved_to_another_village_stays_one_person_and_gives_up_the_old_one(
    app: twores.Twores, store: twores.Store, samples: Path, tmp_path: Path
) -> None:
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=ON)
    import_file(app, store, ADMIN, "businesses", samples / "lingchuan_ledger.xlsx", on=ON)
    header, *rows = _sample_cadres(samples)
    first = rows[0]  # 吴伟, a village cadre of 450323101202
    other_village = next(r[3] for r in rows if r[2] == "村级" and r[3] != first[3])
    path = tmp_path / "调动.csv"
    write_table(path, header, [[*first[:3], other_village, first[4]]])
    moved_on = ON + timedelta(days=10)
    report = import_file(app, store, ADMIN, "cadres", path, on=moved_on)
    assert report.accepted and report.records.inserted == 0, report.errors
    with store.unit_of_work(ADMIN) as uow:
        (wu,) = [c for c in uow.cadres.stream() if c.name == first[0] and c.phone == first[4]]
        held = list(uow.assignments.stream(cadre_id=wu.id))
    assert wu.area_code == other_village  # the one person, now serving there
    assert held and all(
        a.valid_to == moved_on and a.reason is twores.AssignmentReason.MOVED for a in held
    )
    assert report.assignments.updated == len(held)


def test_an_office_with_an_area_may_not_import_areas(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """Refused before the file is read, not as a row error of a half-read sheet."""
    sheet = tmp_path / "区划.csv"
    sheet.write_text("区划代码,区划名称,上级区划代码,层级\n", encoding="utf-8")
    county = twores.Scope("灵川县食安办", twores.Role.OFFICE, "450323")
    before = state(store)
    with pytest.raises(twores.ScopeError, match="areas are imported only by an account"):
        import_file(app, store, county, "areas", sheet)
    assert state(store) == before
    assert import_file(app, store, county, "areas", sheet, dry_run=True).dry_run


def test_a_hand_over_written_as_offices_write_it_leaves_no_day_uncovered(
    app: twores.Twores, store: twores.Store, samples: Path, tmp_path: Path
) -> None:
    """任职截止日期 is the last day served and 任职起始日期 the first: a successor from 07-01
    after a cadre whose term ends 06-30 leaves no business without a cadre on 06-30 (read
    as the first day not served, it left a day's gap in the quarter's coverage)."""
    start = date(2026, 1, 1)
    import_file(app, store, ADMIN, "cadres", samples / "lingchuan_cadres.csv", on=start)
    import_file(app, store, ADMIN, "businesses", samples / "lingchuan_ledger.xlsx", on=start)
    with store.unit_of_work(ADMIN) as uow:
        held = list(uow.assignments.stream(active_on=start))
        cadres = {c.id: c for c in uow.cadres.stream()}
    leaving = cadres[held[0].cadre_id]
    roster = tmp_path / "交接.csv"
    write_table(
        roster,
        ("干部编号", "包保干部姓名", "职务", "层级", "所属区划", "任职起始日期", "任职截止日期"),
        [
            [
                leaving.id,
                leaving.name,
                leaving.post,
                leaving.tier.zh,
                leaving.area_code,
                "",
                "2026-06-30",
            ],
            ["", "新干部", leaving.post, leaving.tier.zh, leaving.area_code, "2026-07-01", ""],
        ],
    )
    assert import_file(app, store, ADMIN, "cadres", roster, on=date(2026, 6, 1)).accepted
    assignments.assign(app, store, ADMIN, on=date(2026, 7, 1))

    for day in (date(2026, 6, 30), date(2026, 7, 1)):
        coverage = compute_kpis(app, store, ADMIN, "2026Q2", as_of=day).values["coverage"]
        assert coverage["450323"].numerator == coverage["450323"].denominator, day
    with store.unit_of_work(ADMIN) as uow:
        ended = list(uow.assignments.stream(cadre_id=leaving.id))
        taken = [
            a
            for e in ended
            for a in uow.assignments.stream(business_key=e.business_key)
            if a.valid_from == date(2026, 7, 1)
        ]
    assert {a.valid_to for a in ended} == {date(2026, 7, 1)}
    # taken over because the cadre left (干部离岗), not placed as a new business (新增主体)
    assert len(taken) == len(ended) and {a.reason for a in taken} == {AssignmentReason.CADRE_LEFT}
