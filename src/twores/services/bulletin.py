"""The ranking bulletin (日调度周通报, 硬排名): sibling areas ranked on KPIs, laggards named.

One bulletin is written three ways: a printable .docx (with one bar chart per KPI), an .xlsx
(sheets 排名 and 逾期问题) and GitHub-flavoured Markdown. Output is deterministic for the
same input: document dates come from ``issued_on``, zip members carry fixed timestamps, and
the charts are drawn by a small standard-library PNG encoder (no plotting library).
"""

from __future__ import annotations

import io
import math
import os
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import attrs
import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from twores.core.errors import InvalidValueError
from twores.core.kpis import KpiSpec, RankedArea, Ranking, goodness
from twores.services.docx_parts import para, run, stable_zip, table, xml_text
from twores.services.numbers import percent, percent_format
from twores.services.sheets.cells import xlsx_row

KINDS = {"weekly": "周通报", "daily": "日调度表"}
OVERDUE_HEADERS = ("问题编号", "主体", "区域", "问题", "整改期限", "逾期天数")
CHANGE_HEADERS = ("区域", "上期名次", "本期名次", "名次变化", "上期得分", "本期得分", "得分变化")
NONE = "—"
_NUMERALS = "一二三四五六七八九十"


@attrs.frozen
class OverdueItem:
    """A problem past its rectification deadline (逾期未整改)."""

    problem_id: str
    business_name: str
    area_name: str
    description: str
    deadline: date
    days_overdue: int


@attrs.frozen
class BulletinInput:
    """Everything one bulletin shows."""

    title_area: str  # e.g. "桂林市"
    period_label: str  # e.g. "2026年第13周" or "2026年第1季度"
    issued_on: date
    specs: tuple[KpiSpec, ...]  # the KPIs shown, in column order
    ranking: Ranking  # sibling areas ranked
    area_names: Mapping[str, str]  # area code -> name; falls back to the code
    laggards: int = 3  # how many bottom areas to name (点名通报)
    previous: Ranking | None = None  # the last bulletin's ranking, for 较上期变化
    overdue: tuple[OverdueItem, ...] = ()
    kind: str = "weekly"  # "weekly" -> 周通报, "daily" -> 日调度表


# --- content ------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return percent(value)


def _date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _name(b: BulletinInput, code: str) -> str:
    return b.area_names.get(code, code)


def bulletin_title(b: BulletinInput) -> str:
    if b.kind not in KINDS:
        raise InvalidValueError(
            "kind",
            b.kind,
            "通报类型应为 weekly（周通报）或 daily（日调度）",
            "a bulletin is weekly (周通报) or daily (日调度)",
        )
    return f"{b.title_area}食品安全“两个责任”落实情况{KINDS[b.kind]}（{b.period_label}）"


def _previous_areas(b: BulletinInput) -> dict[str, RankedArea]:
    return {a.area_code: a for a in b.previous.areas} if b.previous else {}


def _has_previous(b: BulletinInput) -> bool:
    return b.previous is not None or any(a.movement is not None for a in b.ranking.areas)


def _movement(b: BulletinInput, area: RankedArea) -> int | None:
    """Places moved up: the ranking's own, else derived from ``previous``; None when new."""
    if area.movement is not None:
        return area.movement
    before = _previous_areas(b).get(area.area_code)
    return before.rank - area.rank if before else None


def movement_text(b: BulletinInput, area: RankedArea) -> str:
    moved = _movement(b, area)
    if moved is None:
        return "新" if _has_previous(b) else NONE
    return f"↑{moved}" if moved > 0 else f"↓{-moved}" if moved < 0 else NONE


def best_areas(b: BulletinInput) -> list[RankedArea]:
    return [a for a in b.ranking.areas if a.rank == 1 and a.score is not None]


def laggard_areas(b: BulletinInput) -> list[RankedArea]:
    """The bottom ``laggards`` areas with a score, widened to every area tied with the last
    one named; areas tied for first place, and areas with nothing to count, are never
    named."""
    scored = [a for a in b.ranking.areas if a.score is not None]
    count = min(b.laggards, len(scored))
    if count <= 0:
        return []
    cutoff = scored[-count].rank
    return [a for a in scored if a.rank >= cutoff and a.rank > 1]


def unscored_areas(b: BulletinInput) -> list[RankedArea]:
    """Areas with no KPI to count (no businesses, cadres or tasks there)."""
    return [a for a in b.ranking.areas if a.score is None]


def ranked_specs(b: BulletinInput) -> list[KpiSpec]:
    """The KPIs that count in the score (a KPI weighted 0 is shown, not ranked)."""
    return [s for s in b.specs if s.weight > 0]


def _weakest(b: BulletinInput, area: RankedArea) -> tuple[KpiSpec, float] | None:
    """The ranked KPI where ``area`` does worst, with its rate."""
    rates = dict(area.rates)
    scored = [
        (goodness(r, s), i, s, r)
        for i, s in enumerate(ranked_specs(b))
        if (r := rates.get(s.name)) is not None
    ]
    return min(scored)[2:] if scored else None


def _with_score(b: BulletinInput, areas: Sequence[RankedArea]) -> str:
    return "、".join(f"{_name(b, a.area_code)}（{_pct(a.score)}）" for a in areas)


def overview_text(b: BulletinInput) -> str:
    areas = b.ranking.areas
    if not areas:
        return f"{b.period_label}无参与排名的区域。"
    kpis = "、".join(s.zh for s in ranked_specs(b))
    text = (
        f"{b.period_label}共对{len(areas)}个区域的{kpis}进行排名，综合得分为各项指标的加权平均"
        "（越低越好的指标按“1−比率”计）。"
    )
    if best := best_areas(b):
        text += f"综合得分最高的是{_with_score(b, best)}"
        laggards = laggard_areas(b)
        text += f"；排名靠后的是{_with_score(b, laggards)}。" if laggards else "。"
    if empty := unscored_areas(b):
        names = "、".join(_name(b, a.area_code) for a in empty)
        text += f"{names}本期无指标数据，不参与点名。"
    return text


def naming_text(b: BulletinInput) -> str:
    laggards = laggard_areas(b)
    if not laggards:
        return "本期不作点名。"
    parts = []
    for a in laggards:
        weakest = _weakest(b, a)
        short = f"，短板为{weakest[0].zh}{_pct(weakest[1])}" if weakest else "，无指标数据"
        parts.append(f"{_name(b, a.area_code)}（第{a.rank}名，综合得分{_pct(a.score)}{short}）")
    return (
        f"对排名靠后的{len(laggards)}个区域予以点名通报：{'；'.join(parts)}。"
        "请上述区域对照短板指标，压实包保干部责任，限时整改，并在下期通报前报送整改情况。"
    )


LAGGARD_HEADERS = ("名次", "区域", "综合得分", "短板指标", "短板指标值")


def laggard_rows(b: BulletinInput) -> list[list[object]]:
    """The areas named (点名通报): rank, name, score and weakest KPI (numbers as numbers)."""
    rows: list[list[object]] = []
    for a in laggard_areas(b):
        weakest = _weakest(b, a)
        score = NONE if a.score is None else a.score
        short: list[object] = [weakest[0].zh, weakest[1]] if weakest else [NONE, NONE]
        rows.append([a.rank, _name(b, a.area_code), score, *short])
    return rows


def ranking_headers(b: BulletinInput) -> tuple[str, ...]:
    return ("名次", "区域", "综合得分", *(s.zh for s in b.specs), "名次变化")


def ranking_rows(b: BulletinInput) -> list[tuple[str, ...]]:
    rows = []
    for a in b.ranking.areas:
        rates = dict(a.rates)
        shown = (_pct(rates.get(s.name)) for s in b.specs)
        rows.append(
            (str(a.rank), _name(b, a.area_code), _pct(a.score), *shown, movement_text(b, a))
        )
    return rows


def _points(now: float | None, before: float | None) -> float | None:
    """The change between the two scores as printed (to 0.1%), in percentage points, so it
    adds up by hand."""
    if now is None or before is None:
        return None
    return round(round(now * 100, 1) - round(before * 100, 1), 1)


def _score_change(now: float | None, before: float | None) -> str:
    delta = _points(now, before)
    if delta is None:
        return NONE
    return "持平" if delta == 0 else f"{delta:+.1f}个百分点"


def change_rows(b: BulletinInput) -> list[tuple[str, ...]]:
    before = _previous_areas(b)
    rows: list[tuple[str, ...]] = []
    for a in b.ranking.areas:
        old = before.get(a.area_code)
        rows.append(
            (
                _name(b, a.area_code),
                str(old.rank) if old else NONE,
                str(a.rank),
                movement_text(b, a),
                _pct(old.score) if old else NONE,
                _pct(a.score),
                _score_change(a.score, old.score if old else None),
            )
        )
    return rows


def change_text(b: BulletinInput) -> str:
    if b.previous is None:
        return "无上期数据，不作比较。"
    moves = [(a, _movement(b, a)) for a in b.ranking.areas]
    groups = (
        ("名次上升的有", [f"{_name(b, a.area_code)}（↑{m}）" for a, m in moves if m and m > 0]),
        ("名次下降的有", [f"{_name(b, a.area_code)}（↓{-m}）" for a, m in moves if m and m < 0]),
        ("名次不变的有", [_name(b, a.area_code) for a, m in moves if m == 0]),
        ("新纳入排名的有", [_name(b, a.area_code) for a, m in moves if m is None]),
    )
    current = {a.area_code for a in b.ranking.areas}
    gone = [_name(b, a.area_code) for a in b.previous.areas if a.area_code not in current]
    parts = [f"{label}{'、'.join(names)}" for label, names in groups if names]
    if gone:
        parts.append(f"上期参与排名、本期未参与的有{'、'.join(gone)}")
    return f"与上期相比，{'；'.join(parts) or '无变化'}。"


def _overdue(b: BulletinInput) -> list[OverdueItem]:
    return sorted(b.overdue, key=lambda o: (-o.days_overdue, o.problem_id))


def overdue_rows(b: BulletinInput) -> list[tuple[str, ...]]:
    return [
        (
            o.problem_id,
            o.business_name,
            o.area_name,
            o.description,
            o.deadline.isoformat(),
            str(o.days_overdue),
        )
        for o in _overdue(b)
    ]


def overdue_text(b: BulletinInput) -> str:
    if not b.overdue:
        return "截至本期，无逾期未整改问题。"
    return f"截至本期，共有{len(b.overdue)}个问题超过整改期限仍未销号，请属地督促整改："


def charts(b: BulletinInput) -> list[tuple[str, list[str], list[float | None]]]:
    """(title, labels, values) of each chart: the composite score, then each KPI's rate."""
    labels = [_name(b, a.area_code) for a in b.ranking.areas]
    result = [("综合得分", labels, [a.score for a in b.ranking.areas])]
    for spec in b.specs:
        result.append((spec.zh, labels, [dict(a.rates).get(spec.name) for a in b.ranking.areas]))
    return result


def _caption(number: int, chart_title: str, labels: list[str], values: list[float | None]) -> str:
    bars = "、".join(f"{label} {_pct(v)}" for label, v in zip(labels, values, strict=True))
    return f"图{number}　{chart_title}（柱形从左至右依次为：{bars}）"


def _sections() -> list[str]:
    names = ["总体情况", "排名情况", "点名通报", "较上期变化", "逾期未整改问题", "指标图表"]
    return [f"{_NUMERALS[i]}、{name}" for i, name in enumerate(names)]


# --- chart --------------------------------------------------------------------------------


def bar_chart_png(
    labels: Sequence[str],
    values: Sequence[float | None],
    title: str,
    *,
    width: int = 600,
    height: int = 300,
) -> bytes:
    """An RGB PNG of one bar per value in [0, 1] (clamped; None or NaN: no bar), evenly
    spaced left to right, on a white canvas with axes and gridlines at 25% steps. The image
    holds no text: ``title`` goes in an iTXt chunk and the labels in the caption."""
    if len(labels) != len(values):
        raise ValueError("labels and values differ in length")
    canvas = [bytearray(b"\xff" * (3 * width)) for _ in range(height)]

    def fill(x0: int, y0: int, x1: int, y1: int, rgb: bytes) -> None:
        for row in canvas[max(y0, 0) : max(y1, 0)]:
            row[3 * x0 : 3 * x1] = rgb * (x1 - x0)

    left, right, top, bottom = 40, 20, 20, 30
    base, plot_h, plot_w = height - bottom, height - top - bottom, width - left - right
    for quarter in (1, 2, 3, 4):
        y = base - round(quarter * plot_h / 4)
        fill(left, y, width - right, y + 1, b"\xdd\xdd\xdd")
    slot = plot_w / max(len(values), 1)
    for i, value in enumerate(values):
        if value is None or math.isnan(value):
            continue
        bar = round(min(max(value, 0.0), 1.0) * plot_h)
        x0, x1 = left + round(slot * (i + 0.2)), left + round(slot * (i + 0.8))
        fill(x0, base - bar, max(x1, x0 + 1), base, b"\x2f\x55\x97")
    fill(left - 2, top, left, base + 2, b"\x40\x40\x40")  # y axis
    fill(left - 2, base, width - right, base + 2, b"\x40\x40\x40")  # x axis

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(row) for row in canvas)  # filter type 0 on every row
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
            chunk(b"iTXt", b"Title\x00\x00\x00\x00\x00" + title.encode()),
            chunk(b"IDAT", zlib.compress(raw, 9)),
            chunk(b"IEND", b""),
        )
    )


# --- .docx --------------------------------------------------------------------------------


def _stamp(b: BulletinInput) -> datetime:
    return datetime(b.issued_on.year, b.issued_on.month, b.issued_on.day)


def write_bulletin_docx(b: BulletinInput, path: Path) -> Path:
    """Title, overview, ranking table, 点名通报, changes, overdue problems and charts."""
    heading = bulletin_title(b)
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(25)
    para(document, heading, center=True, bold=True, size=18)
    para(document, f"发布日期：{_date(b.issued_on)}", center=True, size=12)
    overview, ranked, named, changes, overdue, figures = _sections()
    para(document, overview, bold=True, size=16)
    para(document, overview_text(b))
    para(document, ranked, bold=True, size=16)
    table(document, ranking_headers(b), ranking_rows(b))
    para(document, named, bold=True, size=16)
    para(document, naming_text(b))
    para(document, changes, bold=True, size=16)
    para(document, change_text(b))
    if b.previous is not None:
        table(document, CHANGE_HEADERS, change_rows(b))
    para(document, overdue, bold=True, size=16)
    para(document, overdue_text(b))
    if b.overdue:
        table(document, OVERDUE_HEADERS, overdue_rows(b))
    para(document, figures, bold=True, size=16)
    for number, (chart_title, labels, values) in enumerate(charts(b), 1):
        png = bar_chart_png(labels, values, chart_title)
        document.add_picture(io.BytesIO(png), width=Mm(150))
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        caption = document.add_paragraph()
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run(caption, _caption(number, chart_title, labels, values), size=10.5)
    props = document.core_properties
    props.author = props.last_modified_by = "twores"
    props.title = xml_text(heading)
    props.created = props.modified = _stamp(b)
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(stable_zip(buffer.getvalue(), b.issued_on.year))
    return path


# --- .xlsx --------------------------------------------------------------------------------


def _sheet(
    workbook: Workbook,
    name: str,
    caption: str,
    headers: Sequence[str],
    rows: list[list[object]],
    widths: Sequence[int],
) -> None:
    sheet = workbook.create_sheet(name)
    sheet.append([xml_text(caption)])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(list(headers))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for row in rows:
        sheet.append(xlsx_row(sheet, [xml_text(v) if isinstance(v, str) else v for v in row]))
    for column, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A3"
    sheet.print_title_rows = "2:2"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4


#: A score change in percentage points, as the .docx prints it (+1.2个百分点, 持平).
_POINTS = '+0.0"个百分点";-0.0"个百分点";"持平"'


def _change_data(b: BulletinInput) -> list[list[object]]:
    """The 较上期变化 rows with ranks, scores and the score change as numbers."""
    if b.previous is None:
        return []
    before = _previous_areas(b)
    rows: list[list[object]] = []
    for a in b.ranking.areas:
        old = before.get(a.area_code)
        then = old.score if old else None
        change = _points(a.score, then)
        rows.append(
            [
                _name(b, a.area_code),
                old.rank if old else NONE,
                a.rank,
                movement_text(b, a),
                NONE if then is None else then,
                NONE if a.score is None else a.score,
                NONE if change is None else change,
            ]
        )
    return rows


def write_bulletin_xlsx(b: BulletinInput, path: Path) -> Path:
    """Sheets 排名 (scores and rates as numbers formatted 0.0% — more decimals where that
    would show a rate short of all as 100% — "—" when none), 点名通报
    (the areas named, with their weakest KPI), 较上期变化 (empty without a previous
    bulletin) and 逾期问题."""
    heading = bulletin_title(b)
    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])  # the default sheet
    ranking_data: list[list[object]] = []
    for a in b.ranking.areas:
        rates = dict(a.rates)
        numbers = [a.score, *(rates.get(s.name) for s in b.specs)]
        shown = [NONE if v is None else v for v in numbers]
        ranking_data.append([a.rank, _name(b, a.area_code), *shown, movement_text(b, a)])
    widths = [8, 18, 12, *(max(14, 2 * len(s.zh) + 2) for s in b.specs), 10]
    _sheet(workbook, "排名", heading, ranking_headers(b), ranking_data, widths)
    for row in workbook["排名"].iter_rows(min_row=3, min_col=3, max_col=3 + len(b.specs)):
        for cell in row:
            if isinstance(cell.value, int | float):
                cell.number_format = percent_format(cell.value)
            cell.alignment = Alignment(horizontal="right")
    _sheet(
        workbook,
        "点名通报",
        f"{heading}·点名通报",
        LAGGARD_HEADERS,
        laggard_rows(b),
        [8, 18, 12, 22, 12],
    )
    for row in workbook["点名通报"].iter_rows(min_row=3, min_col=3, max_col=5):
        for cell in row:
            if isinstance(cell.value, float):
                cell.number_format = percent_format(cell.value)
    _sheet(
        workbook,
        "较上期变化",
        f"{heading}·较上期变化",
        CHANGE_HEADERS,
        _change_data(b),
        [18, 10, 10, 10, 10, 10, 14],
    )
    for row in workbook["较上期变化"].iter_rows(min_row=3, min_col=5, max_col=7):
        for cell in row[:2]:
            if isinstance(cell.value, int | float):
                cell.number_format = percent_format(cell.value)
        if isinstance(row[2].value, int | float):
            row[2].number_format = _POINTS
    overdue_data: list[list[object]] = [
        [o.problem_id, o.business_name, o.area_name, o.description, o.deadline, o.days_overdue]
        for o in _overdue(b)
    ]
    widths = [20, 32, 18, 44, 12, 10]
    _sheet(workbook, "逾期问题", f"{heading}·逾期问题", OVERDUE_HEADERS, overdue_data, widths)
    for (cell,) in workbook["逾期问题"].iter_rows(min_row=3, min_col=5, max_col=5):
        cell.number_format = "yyyy-mm-dd"
    props = workbook.properties
    props.creator = props.lastModifiedBy = "twores"
    props.title = xml_text(heading)
    props.created = props.modified = _stamp(b)
    buffer = io.BytesIO()
    # ExcelWriter directly: openpyxl's save() would stamp the current time as modified.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    path.write_bytes(stable_zip(buffer.getvalue(), b.issued_on.year))
    return path


# --- Markdown -----------------------------------------------------------------------------


def _md_table(headers: Sequence[str], rows: list[tuple[str, ...]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        escaped = (xml_text(c).replace("|", "\\|").replace("\n", " ") for c in cells)
        return f"| {' | '.join(escaped)} |"

    return [line(headers), line(["---"] * len(headers)), *(line(r) for r in rows), ""]


def bulletin_markdown(b: BulletinInput) -> str:
    """The bulletin as Markdown with GitHub tables (charts are left to the .docx)."""
    overview, ranked, named, changes, overdue, figures = _sections()
    lines = [f"# {bulletin_title(b)}", "", f"发布日期：{_date(b.issued_on)}", ""]
    lines += [f"## {overview}", "", overview_text(b), ""]
    lines += [f"## {ranked}", "", *_md_table(ranking_headers(b), ranking_rows(b))]
    lines += [f"## {named}", "", naming_text(b), ""]
    lines += [f"## {changes}", "", change_text(b), ""]
    if b.previous is not None:
        lines += _md_table(CHANGE_HEADERS, change_rows(b))
    lines += [f"## {overdue}", "", overdue_text(b), ""]
    if b.overdue:
        lines += _md_table(OVERDUE_HEADERS, overdue_rows(b))
    lines += [f"## {figures}", ""]
    for number, (chart_title, labels, values) in enumerate(charts(b), 1):
        lines += [f"- {_caption(number, chart_title, labels, values)}"]
    return "\n".join(lines).rstrip("\n") + "\n"


class StagedBulletin:
    """A bulletin's three files rendered in a scratch folder inside the target folder, to be
    published all together or not at all (see :func:`staged_bulletin`)."""

    def __init__(self, scratch: Path, paths: tuple[Path, Path, Path]) -> None:
        self.paths = paths
        self._scratch = scratch
        self._replaced: list[tuple[Path, Path | None]] = []  # a target, its old file aside
        self._kept = False

    def publish(self) -> None:
        """Move the three files into place, each old file of the same name first moved aside
        into the scratch folder. If a move fails, the ones done are undone and it raises."""
        try:
            for target in self.paths:
                backup = self._scratch / f"{target.name}.bak"
                try:
                    os.replace(target, backup)
                    self._replaced.append((target, backup))
                except FileNotFoundError:  # no old file
                    self._replaced.append((target, None))
                os.replace(self._scratch / target.name, target)
        except BaseException:
            self.unpublish()
            raise

    def unpublish(self) -> None:
        """Put back what :meth:`publish` replaced: the old files restored, new ones removed."""
        while self._replaced:
            target, backup = self._replaced[-1]
            if backup is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(backup, target)
            self._replaced.pop()  # only once put back: a failed restore keeps the backup

    def keep(self) -> None:
        """The published files stay (the old ones, moved aside, go with the scratch folder)."""
        self._kept = True

    def _close(self) -> None:
        if not self._kept:
            self.unpublish()
        shutil.rmtree(self._scratch)


def _scratch_folder(folder: Path) -> Path:
    """A hidden scratch folder in ``folder``; when it cannot be made (a read-only folder, a
    full disk), the error names ``folder``, not the scratch folder's name."""
    try:
        return Path(tempfile.mkdtemp(dir=folder, prefix=".twores-"))
    except PermissionError as error:
        raise InvalidValueError(
            "path",
            str(folder),
            "没有写入权限，无法在此文件夹中写入通报文件",
            "permission denied: the bulletin's files cannot be written in this folder",
        ) from error
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InvalidValueError(
            "path",
            str(folder),
            f"无法在此文件夹中写入通报文件（{reason}）",
            f"the bulletin's files cannot be written in this folder ({reason})",
        ) from error


@contextmanager
def staged_bulletin(b: BulletinInput, folder: Path, stem: str) -> Iterator[StagedBulletin]:
    """``<stem>.docx``, ``<stem>.xlsx`` and ``<stem>.md`` rendered in a scratch folder inside
    ``folder`` (created if needed). Inside the block, :meth:`~StagedBulletin.publish` moves
    them into place and :meth:`~StagedBulletin.keep` makes that final; leaving the block
    without ``keep`` (an error, or a commit that failed after publishing) puts the earlier
    files back and removes the new ones. The scratch folder is removed either way (left only
    if an old file could not be put back, so that the old file is not lost)."""
    folder.mkdir(parents=True, exist_ok=True)
    docx_path, xlsx_path, md_path = (folder / f"{stem}{e}" for e in (".docx", ".xlsx", ".md"))
    for target in (docx_path, xlsx_path, md_path):
        if target.is_dir():
            raise InvalidValueError(
                "file", str(target), "这是一个文件夹，不是文件", "it is a folder, not a file"
            )
    scratch = _scratch_folder(folder)
    staged = StagedBulletin(scratch, (docx_path, xlsx_path, md_path))
    try:
        write_bulletin_docx(b, scratch / docx_path.name)
        write_bulletin_xlsx(b, scratch / xlsx_path.name)
        (scratch / md_path.name).write_bytes(bulletin_markdown(b).encode())
        yield staged
    finally:
        staged._close()


def write_bulletin(b: BulletinInput, folder: Path, stem: str) -> tuple[Path, Path, Path]:
    """``<stem>.docx``, ``<stem>.xlsx`` and ``<stem>.md`` in ``folder`` (created if needed),
    all three or none (:func:`staged_bulletin`)."""
    with staged_bulletin(b, folder, stem) as staged:
        staged.publish()
        staged.keep()
    return staged.paths
