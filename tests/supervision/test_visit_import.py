"""A sheet of visits imports whole, or is refused with a row-level report and nothing changed."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest

import twores
from twores.core.periods import CHINA_TZ
from twores.core.ports import Store
from twores.services.supervision import VisitInput, record_visit, schedule
from twores.services.visit_imports import import_visits

from .helpers import ADMIN, START, load

NOW = datetime(2026, 3, 20, 18, tzinfo=CHINA_TZ)
HEADER = [
    "序号",
    "许可证编号",
    "干部编号",
    "督导日期",
    "督导方式",
    "检查结果",
    "发现问题",
    "补录原因",
]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def _held(store: Store) -> list[twores.Assignment]:
    with store.unit_of_work(ADMIN) as uow:
        return list(uow.assignments.stream(active_on=START))


def test_a_good_sheet_imports_and_fulfils_tasks(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    held = _held(store)[:3]
    rows = [
        [
            "1",
            held[0].business_key,
            held[0].cadre_id,
            "2026年3月2日",
            "视频",
            "M1:符合；P2:不符合",
            "过期食品",
            "",
        ],
        ["2", held[1].business_key, held[1].cadre_id, "2026/3/5", "现场", "", "", ""],
        ["3", held[2].business_key, held[2].cadre_id, "2026-03-06", "其他", "", "", ""],
    ]
    report = import_visits(app, store, ADMIN, _write(tmp_path / "v.csv", rows), now=NOW)
    assert report.accepted and report.inserted == 3 and report.fulfilled == 2
    with store.unit_of_work(ADMIN) as uow:
        first = uow.visits.get(f"{held[0].business_key}/2026-03-02/{held[0].cadre_id}")
    assert first is not None and first.findings == ("过期食品",)
    assert [(c, a.value) for c, a in first.answers] == [("M1", "yes"), ("P2", "no")]
    again = import_visits(app, store, ADMIN, tmp_path / "v.csv", now=NOW)
    assert again.inserted == 0 and again.unchanged == 3 and again.fulfilled == 0
    twice = [*rows, ["4", *rows[0][1:4], "现场", "", "", ""]]  # the first visit again, otherwise
    refused = import_visits(app, store, ADMIN, _write(tmp_path / "dup.csv", twice), now=NOW)
    ((error,),) = [refused.errors]
    assert (error.row, error.code) == (5, "duplicate_key") and "第2行" in error.reason_zh


def test_a_bad_sheet_is_refused_whole_with_a_report(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    held = _held(store)
    stranger = next(a for a in held if a.cadre_id != held[0].cadre_id)
    rows = [
        ["1", held[0].business_key, held[0].cadre_id, "2026-03-02", "现场", "", "", ""],
        ["2", held[0].business_key, stranger.cadre_id, "2026-03-02", "现场", "", "", ""],
        ["3", held[1].business_key, held[1].cadre_id, "2026-13-02", "飞行", "", "", ""],
        ["4", held[2].business_key, held[2].cadre_id, "2026-03-02", "现场", "M9:符合", "", ""],
    ]
    report = import_visits(app, store, ADMIN, _write(tmp_path / "bad.csv", rows), now=NOW)
    found = {(e.serial, e.column, e.code) for e in report.errors}
    assert found == {
        ("2", "干部编号", "not_assigned"),
        ("3", "督导日期", "invalid_date"),
        ("3", "督导方式", "invalid_choice"),
        ("4", "检查结果", "invalid_value"),
    }
    assert report.report_path is not None and report.report_path.exists()
    with store.unit_of_work(ADMIN) as uow:
        assert list(uow.visits.stream()) == []
        assert not any(t.done for t in uow.tasks.stream())
    (tmp_path / "报告").write_text("")  # a report folder that cannot be: the rows still tell
    path = _write(tmp_path / "bad.csv", rows)
    unwritten = import_visits(app, store, ADMIN, path, now=NOW, report_dir=tmp_path / "报告" / "x")
    assert unwritten.report_path is None and unwritten.errors[0].code == "report_not_written"
    assert {(e.serial, e.column, e.code) for e in unwritten.errors[1:]} == found


def test_late_rows_need_a_reason(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    a = _held(store)[0]
    late = datetime(2026, 4, 2, 9, tzinfo=CHINA_TZ)
    row = ["1", a.business_key, a.cadre_id, "2026-03-30", "现场", "", "", ""]
    refused = import_visits(app, store, ADMIN, _write(tmp_path / "l.csv", [row]), now=late)
    assert [(e.column, e.code) for e in refused.errors] == [("补录原因", "window_closed")]
    row[-1] = "网络故障，4月2日补录"
    accepted = import_visits(app, store, ADMIN, _write(tmp_path / "l2.csv", [row]), now=late)
    assert accepted.accepted and accepted.late == 1 and accepted.fulfilled == 1
    assert date(2026, 3, 30) < late.date()


def test_a_refused_answer_is_reported_as_the_cell_spells_it(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    held = _held(store)[0]
    row = ["1", held.business_key, held.cadre_id, "2026-03-02", "现场", "M1:好", "", ""]
    report = import_visits(app, store, ADMIN, _write(tmp_path / "v.csv", [row]), now=NOW)
    assert not report.accepted
    (error,) = report.errors
    assert (error.row, error.column, error.value) == (2, "检查结果", "M1:好")


def test_a_severity_column_sets_the_findings_deadline(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    held = _held(store)[:2]
    sheet = tmp_path / "督导.csv"
    with sheet.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([*HEADER, "问题严重程度"])
        writer.writerow(
            [
                "1",
                held[0].business_key,
                held[0].cadre_id,
                "2026-03-02",
                "现场",
                "",
                "使用过期原料",
                "",
                "严重",
            ]
        )
        writer.writerow(
            [
                "2",
                held[1].business_key,
                held[1].cadre_id,
                "2026-03-02",
                "现场",
                "",
                "未公示许可证",
                "",
                "",
            ]
        )
    report = import_visits(app, store, ADMIN, sheet, now=NOW)
    assert report.accepted, report.errors
    with store.unit_of_work(ADMIN) as uow:
        found = {p.business_key: p for p in uow.problems.stream()}
    severe, minor = found[held[0].business_key], found[held[1].business_key]
    assert severe.severity is twores.Severity.SEVERE and minor.severity is twores.Severity.MINOR
    entered = NOW.date()  # deadlines count from the day the finding is entered
    assert severe.deadline == date.fromordinal(entered.toordinal() + 3)  # national: 3 days
    assert minor.deadline == date.fromordinal(entered.toordinal() + 15)
    bad = tmp_path / "督导2.csv"
    bad.write_text(sheet.read_text(encoding="utf-8-sig").replace(",严重\n", ",天大\n"), "utf-8-sig")
    refused = import_visits(app, store, ADMIN, bad, now=NOW)
    assert [(e.row, e.column, e.value) for e in refused.errors] == [(2, "问题严重程度", "天大")]


def test_a_business_met_again_in_a_later_batch_is_checked_against_its_own_day(
    app: twores.Twores,
    store: Store,
    roster: twores.Roster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from twores.services import visit_imports

    monkeypatch.setattr(visit_imports, "VISIT_BATCH", 2)  # rows 1-2, then row 3
    load(store, roster, START)
    for quarter in ("2026Q1", "2026Q2"):
        schedule(app, store, ADMIN, quarter, on=START)
    first, other = _held(store)[:2]
    rows = [
        ["1", first.business_key, first.cadre_id, "2026-03-02", "现场", "", "", "补录"],
        ["2", other.business_key, other.cadre_id, "2026-04-08", "现场", "", "", ""],
        ["3", first.business_key, first.cadre_id, "2026-05-06", "现场", "", "", ""],
    ]
    later = datetime(2026, 5, 20, 18, tzinfo=CHINA_TZ)
    report = import_visits(app, store, ADMIN, _write(tmp_path / "v.csv", rows), now=later)
    assert report.accepted and report.fulfilled == 3, report.errors
    with store.unit_of_work(ADMIN) as uow:
        done = {
            str(t.period) for t in uow.tasks.stream(business_keys={first.business_key}) if t.done
        }
    assert done == {"2026Q1", "2026Q2"}
    rows[2][6] = "未公示许可证"  # a finding recorded on the stored visit …
    assert import_visits(app, store, ADMIN, _write(tmp_path / "f.csv", rows), now=later).accepted
    rows[2][6] = ""  # … cannot be dropped by a later sheet, whatever batch the row falls in
    refused = import_visits(app, store, ADMIN, _write(tmp_path / "g.csv", rows), now=later)
    assert [(e.row, e.column, e.code) for e in refused.errors] == [
        (4, "发现问题", "findings_recorded")
    ]


def test_a_visit_changed_to_a_mode_that_does_not_count_gives_its_task_back(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    (held,) = _held(store)[:1]
    row = ["1", held.business_key, held.cadre_id, "2026-03-02", "现场", "", "", ""]
    assert (
        import_visits(app, store, ADMIN, _write(tmp_path / "a.csv", [row]), now=NOW).fulfilled == 1
    )
    row[4] = "其他"
    report = import_visits(app, store, ADMIN, _write(tmp_path / "b.csv", [row]), now=NOW)
    assert report.accepted and report.updated == 1
    with store.unit_of_work(ADMIN) as uow:
        (task,) = uow.tasks.stream(business_keys={held.business_key})
    assert not task.done and task.credited_to is None


def test_a_visit_recorded_before_its_quarter_was_scheduled_fulfils_the_new_task(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    first, other = _held(store)[:2]
    rows = [
        ["1", first.business_key, first.cadre_id, "2026-03-02", "现场", "", "", ""],
        ["2", other.business_key, other.cadre_id, "2026-03-03", "其他", "", "", ""],  # not counted
    ]
    report = import_visits(app, store, ADMIN, _write(tmp_path / "v.csv", rows), now=NOW)
    assert report.accepted and report.fulfilled == 0  # no task yet
    scheduled = schedule(app, store, ADMIN, "2026Q1", on=START)
    assert scheduled.credited == 1
    with store.unit_of_work(ADMIN) as uow:
        tasks = list(uow.tasks.stream(business_keys={first.business_key, other.business_key}))
    assert [(t.business_key, t.credited_to) for t in tasks if t.done] == [
        (first.business_key, first.cadre_id)
    ]
    again = schedule(app, store, ADMIN, "2026Q1", on=START)
    assert again.written.changed == 0 and again.credited == 0


def test_every_bad_field_of_a_row_is_reported_at_once(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    held = _held(store)[0]
    path = tmp_path / "v.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([*HEADER, "证据哈希"])
        row = [held.business_key, held.cadre_id, "2026-03-02", "电话", "X1:符合", "", "", "zz"]
        writer.writerow(["1", *row])
    report = import_visits(app, store, ADMIN, path, now=NOW)
    assert sorted((e.column, e.value) for e in report.errors) == [
        ("检查结果", "X1:符合"),
        ("督导方式", "电话"),
        ("证据哈希", "zz"),
    ]


def test_a_sheet_may_name_licensed_businesses_by_credit_code(
    app: twores.Twores, store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    import attrs

    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        coded = [
            (a, b)
            for a in _held(store)
            if (b := uow.businesses.get(a.business_key)) is not None and b.licence_no and b.uscc
        ][:2]
    (first, shop), (_, other) = coded
    assert shop.uscc is not None
    header = ["统一社会信用代码" if h == "许可证编号" else h for h in HEADER]
    row = ["1", shop.uscc.lower(), first.cadre_id, "2026-03-02", "现场", "", "", ""]
    path = tmp_path / "按信用代码.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        csv.writer(stream).writerows([header, row])
    report = import_visits(app, store, ADMIN, path, now=NOW)
    assert report.accepted and report.inserted == 1 and report.fulfilled == 1, report.errors
    with store.unit_of_work(ADMIN) as uow:  # filed under the business's own key
        assert uow.visits.get(f"{shop.key}/2026-03-02/{first.cadre_id}") is not None
        uow.businesses.upsert_many([attrs.evolve(other, uscc=shop.uscc)])  # one company
        uow.commit()
    refused = import_visits(app, store, ADMIN, path, now=NOW)
    assert [(e.row, e.column, e.code) for e in refused.errors] == [
        (2, "统一社会信用代码", "ambiguous_business")
    ]


def test_one_visit_may_name_its_licensed_business_by_credit_code(
    app: twores.Twores, store: Store, roster: twores.Roster
) -> None:
    """As the desk form, the CLI and the API record one: filed under the licence key."""
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        held, shop = next(
            (a, b)
            for a in _held(store)
            if (b := uow.businesses.get(a.business_key)) is not None and b.licence_no and b.uscc
        )
    assert shop.uscc is not None
    visit = VisitInput(shop.uscc, held.cadre_id, date(2026, 3, 2), "现场")
    outcome = record_visit(app, store, ADMIN, visit, now=NOW)
    assert outcome.visit.business_key == shop.key and outcome.task is not None
