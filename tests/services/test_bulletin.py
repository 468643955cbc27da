"""The ranking bulletin (日调度周通报, 硬排名) as .docx, .xlsx and Markdown, and its PNG charts."""

from __future__ import annotations

import struct
import zlib
from datetime import date
from pathlib import Path

import attrs
import docx
import pytest
from openpyxl import load_workbook

from twores.core.errors import InvalidValueError
from twores.core.kpis import Direction, KpiSpec, KpiValue, rank_areas
from twores.services.bulletin import (
    CHANGE_HEADERS,
    OVERDUE_HEADERS,
    BulletinInput,
    OverdueItem,
    bar_chart_png,
    bulletin_markdown,
    write_bulletin,
)

COVERAGE = KpiSpec(
    "coverage",
    "包保覆盖率",
    "assignment coverage",
    "已包保主体数",
    "主体数",
    Direction.HIGHER_IS_BETTER,
    "已落实包保的主体占比",
    "share of entities with an assignment",
)
SUPERVISION = KpiSpec(
    "supervision",
    "督导任务完成率",
    "supervision completion",
    "已督导数",
    "应督导数",
    Direction.HIGHER_IS_BETTER,
    "按时完成督导的包保关系占比",
    "share of due pairs visited",
)
SPECS = {s.name: s for s in (COVERAGE, SUPERVISION)}
NAMES = {"450302": "秀峰区", "450303": "叠彩区", "450304": "象山区", "450305": "七星区"}
A, B, C, D = NAMES  # 秀峰, 叠彩, 象山, 七星


def _values(period: str, counts: dict[str, tuple[int, int, int, int]]) -> list[KpiValue]:
    return [
        value
        for code, (n1, d1, n2, d2) in counts.items()
        for value in (
            KpiValue("coverage", code, period, n1, d1),
            KpiValue("supervision", code, period, n2, d2),
        )
    ]


# Last week: 七星 100%, 秀峰 80%, 叠彩 60%; 象山 not ranked.
PREVIOUS = rank_areas(
    "450300",
    "2026-W12",
    _values("2026-W12", {D: (10, 10, 10, 10), A: (8, 10, 8, 10), B: (6, 10, 6, 10)}),
    SPECS,
)
# This week: 秀峰 95% (↑1), 七星 85% (↓1), 叠彩 70% (—), 象山 30% with no supervision due (新).
CURRENT = rank_areas(
    "450300",
    "2026-W13",
    _values(
        "2026-W13",
        {A: (9, 10, 10, 10), B: (8, 10, 6, 10), C: (3, 10, 0, 0), D: (10, 10, 7, 10)},
    ),
    SPECS,
    previous=PREVIOUS,
)
OVERDUE = (
    OverdueItem("P-001", "老李米粉店", "叠彩区", "后厨未设防鼠设施", date(2026, 3, 20), 10),
    OverdueItem("P-002", "毛洲副食店", "象山区", "过期食品未下架", date(2026, 3, 10), 20),
)
BULLETIN = BulletinInput(
    title_area="桂林市",
    period_label="2026年第13周",
    issued_on=date(2026, 3, 30),
    specs=(COVERAGE, SUPERVISION),
    ranking=CURRENT,
    area_names=NAMES,
    laggards=2,
    previous=PREVIOUS,
    overdue=OVERDUE,
)
TITLE = "桂林市食品安全“两个责任”落实情况周通报（2026年第13周）"
HEADERS = ("名次", "区域", "综合得分", "包保覆盖率", "督导任务完成率", "名次变化")
ROWS = [
    ("1", "秀峰区", "95.0%", "90.0%", "100.0%", "↑1"),
    ("2", "七星区", "85.0%", "100.0%", "70.0%", "↓1"),
    ("3", "叠彩区", "70.0%", "80.0%", "60.0%", "—"),
    ("4", "象山区", "30.0%", "30.0%", "—", "新"),
]


def _table_text(table: docx.table.Table) -> list[tuple[str, ...]]:
    return [tuple(cell.text for cell in row.cells) for row in table.rows]


def test_docx_content(tmp_path: Path) -> None:
    docx_path, _, _ = write_bulletin(BULLETIN, tmp_path, "week13")
    document = docx.Document(str(docx_path))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == TITLE
    assert document.core_properties.title == TITLE
    overview = next(t for t in texts if t.startswith("2026年第13周共对4个区域"))
    assert "秀峰区（95.0%）" in overview and "叠彩区（70.0%）、象山区（30.0%）" in overview
    naming = next(t for t in texts if t.startswith("对排名靠后的"))
    assert "叠彩区" in naming and "象山区" in naming
    assert "秀峰区" not in naming and "七星区" not in naming
    assert "短板为督导任务完成率60.0%" in naming  # 叠彩's weakest KPI
    ranking, changes, overdue = document.tables
    assert _table_text(ranking) == [HEADERS, *ROWS]
    assert _table_text(changes)[0] == CHANGE_HEADERS
    assert _table_text(changes)[1] == (
        "秀峰区",
        "2",
        "1",
        "↑1",
        "80.0%",
        "95.0%",
        "+15.0个百分点",
    )
    assert _table_text(changes)[4][:4] == ("象山区", "—", "4", "新")
    change = next(t for t in texts if t.startswith("与上期"))
    assert "名次上升的有秀峰区（↑1）" in change and "新纳入排名的有象山区" in change
    assert _table_text(overdue) == [
        OVERDUE_HEADERS,
        ("P-002", "毛洲副食店", "象山区", "过期食品未下架", "2026-03-10", "20"),
        ("P-001", "老李米粉店", "叠彩区", "后厨未设防鼠设施", "2026-03-20", "10"),
    ]
    assert len(document.inline_shapes) == 3  # composite + one per KPI
    caption = next(t for t in texts if t.startswith("图1"))
    assert "秀峰区 95.0%、七星区 85.0%、叠彩区 70.0%、象山区 30.0%" in caption


def test_xlsx_content(tmp_path: Path) -> None:
    _, xlsx_path, _ = write_bulletin(BULLETIN, tmp_path, "week13")
    workbook = load_workbook(xlsx_path)
    assert workbook.sheetnames == ["排名", "点名通报", "较上期变化", "逾期问题"]
    named = workbook["点名通报"]
    assert [c.value for c in named[3]] == [3, "叠彩区", 0.7, "督导任务完成率", 0.6]
    assert [c.value for c in named[4]][:2] == [4, "象山区"]
    assert named["E3"].number_format == "0.0%"
    changes = workbook["较上期变化"]
    assert tuple(c.value for c in changes[2]) == CHANGE_HEADERS
    # ranks, scores and the score change as numbers, shown as in the .docx
    assert [c.value for c in changes[3]] == ["秀峰区", 2, 1, "↑1", 0.8, 0.95, 15.0]
    assert [c.value for c in changes[6]][:3] == ["象山区", "—", 4]
    assert changes["E3"].number_format == changes["F3"].number_format == "0.0%"
    assert changes["G3"].number_format == '+0.0"个百分点";-0.0"个百分点";"持平"'
    assert changes["G5"].value == 10.0  # 叠彩 60.0% -> 70.0%
    sheet = workbook["排名"]
    assert sheet["A1"].value == TITLE
    assert tuple(c.value for c in sheet[2]) == HEADERS
    assert all(c.font.bold for c in sheet[2])
    assert [c.value for c in sheet[3]] == [1, "秀峰区", 0.95, 0.9, 1.0, "↑1"]
    assert [c.value for c in sheet[6]] == [4, "象山区", 0.3, 0.3, "—", "新"]
    assert sheet["C3"].number_format == "0.0%"
    assert sheet.column_dimensions["B"].width == 18
    problems = workbook["逾期问题"]
    assert tuple(c.value for c in problems[2]) == OVERDUE_HEADERS
    assert problems["A3"].value == "P-002" and problems["F3"].value == 20
    assert problems["E3"].value.date() == date(2026, 3, 10)


def test_markdown_content(tmp_path: Path) -> None:
    _, _, md_path = write_bulletin(BULLETIN, tmp_path, "week13")
    text = md_path.read_text(encoding="utf-8")
    assert text == bulletin_markdown(BULLETIN)
    assert text.startswith(f"# {TITLE}\n")
    assert "| 名次 | 区域 | 综合得分 | 包保覆盖率 | 督导任务完成率 | 名次变化 |" in text
    assert "| --- | --- | --- | --- | --- | --- |" in text
    for row in ROWS:
        assert f"| {' | '.join(row)} |" in text
    assert "| P-002 | 毛洲副食店 | 象山区 | 过期食品未下架 | 2026-03-10 | 20 |" in text
    assert "## 三、点名通报" in text


def test_output_is_deterministic(tmp_path: Path) -> None:
    first = write_bulletin(BULLETIN, tmp_path / "a", "x")
    second = write_bulletin(BULLETIN, tmp_path / "b", "x")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_daily_without_previous_or_overdue(tmp_path: Path) -> None:
    daily = attrs.evolve(
        BULLETIN,
        kind="daily",
        ranking=rank_areas("450300", "2026-03-30", _values("d", {A: (1, 2, 1, 2)}), SPECS),
        previous=None,
        overdue=(),
    )
    text = bulletin_markdown(daily)
    assert text.startswith("# 桂林市食品安全“两个责任”落实情况日调度表（2026年第13周）")
    assert "无上期数据" in text and "无逾期未整改问题" in text
    assert "| 1 | 秀峰区 | 50.0% | 50.0% | 50.0% | — |" in text
    assert "本期不作点名" in text  # the only area is first: never named a laggard
    docx_path, _, _ = write_bulletin(daily, tmp_path, "day")
    assert len(docx.Document(str(docx_path)).tables) == 1


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(InvalidValueError, match="monthly") as raised:
        bulletin_markdown(attrs.evolve(BULLETIN, kind="monthly"))
    assert raised.value.field == "kind" and "通报类型" in raised.value.message_zh


def test_bar_chart_png() -> None:
    png = bar_chart_png(["甲", "乙", "丙"], [1.0, None, 0.5], "综合得分", width=300, height=200)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind, width, height, depth, colour = struct.unpack(">I4sIIBB", png[8:26])
    assert (length, kind, width, height, depth, colour) == (13, b"IHDR", 300, 200, 8, 2)
    assert png == bar_chart_png(
        ["甲", "乙", "丙"], [1.0, None, 0.5], "综合得分", width=300, height=200
    )
    # Decode: walk the chunks, check CRCs, inflate IDAT, one filter-0 byte per row.
    chunks, offset = {}, 8
    while offset < len(png):
        (size,) = struct.unpack(">I", png[offset : offset + 4])
        kind, data = png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + size]
        (crc,) = struct.unpack(">I", png[offset + 8 + size : offset + 12 + size])
        assert crc == zlib.crc32(kind + data)
        chunks[kind] = data
        offset += 12 + size
    assert list(chunks) == [b"IHDR", b"iTXt", b"IDAT", b"IEND"]
    assert chunks[b"iTXt"].endswith("综合得分".encode())
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + 3 * width
    assert len(raw) == height * stride and all(raw[r * stride] == 0 for r in range(height))

    def pixel(x: int, y: int) -> bytes:
        start = y * stride + 1 + 3 * x
        return raw[start : start + 3]

    slot, base = (width - 60) / 3, height - 30
    middle = [40 + round(slot * (i + 0.5)) for i in range(3)]
    assert pixel(middle[0], 25) == pixel(middle[0], base - 1) == b"\x2f\x55\x97"  # full bar
    assert pixel(middle[1], base - 1) == b"\xff\xff\xff"  # None: no bar
    assert pixel(middle[2], base - 1) == b"\x2f\x55\x97"  # half bar: bottom is filled ...
    assert pixel(middle[2], 25) == b"\xff\xff\xff"  # ... the top is not
    with pytest.raises(ValueError, match="length"):
        bar_chart_png(["甲"], [], "x")


def test_laggards_widen_to_ties_and_never_include_first() -> None:
    tied = rank_areas(
        "450300",
        "w",
        _values("w", {A: (9, 10, 9, 10), B: (5, 10, 5, 10), C: (5, 10, 5, 10), D: (8, 10, 8, 10)}),
        SPECS,
    )
    one = attrs.evolve(BULLETIN, ranking=tied, previous=None, laggards=1)
    naming = next(line for line in bulletin_markdown(one).splitlines() if "点名通报：" in line)
    assert "叠彩区" in naming and "象山区" in naming and "七星区" not in naming
    level = rank_areas("450300", "w", _values("w", {A: (1, 2, 1, 2), B: (1, 2, 1, 2)}), SPECS)
    text = bulletin_markdown(attrs.evolve(BULLETIN, ranking=level, previous=None))
    assert "本期不作点名" in text


def test_areas_with_nothing_to_count_are_never_named() -> None:
    empty = rank_areas(
        "450300",
        "w",
        _values("w", {A: (9, 10, 9, 10), B: (4, 10, 5, 10), C: (0, 0, 0, 0), D: (0, 0, 0, 0)}),
        SPECS,
    )
    text = bulletin_markdown(attrs.evolve(BULLETIN, ranking=empty, previous=None, laggards=2))
    naming = next(line for line in text.splitlines() if "点名通报：" in line)
    assert "叠彩区" in naming and "象山区" not in naming and "七星区" not in naming
    assert "象山区、七星区本期无指标数据，不参与点名。" in text


def test_a_score_change_is_the_difference_of_the_scores_as_printed() -> None:
    from twores.services.bulletin import _score_change

    assert _score_change(0.673421, 0.670789) == "+0.2个百分点"  # 67.3% - 67.1%, not +0.3
    assert _score_change(0.67041, 0.67049) == "持平"  # both print 67.0%
    assert _score_change(None, 0.5) == "—"
