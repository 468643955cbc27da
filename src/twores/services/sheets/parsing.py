"""Sheet rows -> domain records, every bad field of every row reported."""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Generator
from datetime import date
from pathlib import Path
from typing import Generic, TypeVar

import attrs

from twores.core.areas import Area, Hierarchy, Tier, canonical_area_code, is_standard_code
from twores.core.assignment import AssignmentReason
from twores.core.businesses import (
    BusinessType,
    CanteenKind,
    FoodBusiness,
    Grade,
    OperatingStatus,
    RiskLevel,
    Scale,
    Staff,
    StaffMember,
    canonical_licence,
    canonical_uscc,
    checked_id_number,
    checked_phone,
)
from twores.core.cadres import Cadre
from twores.core.errors import (
    InvalidAreaCodeError,
    InvalidValueError,
    MissingValueError,
    StructureError,
    TworesError,
)
from twores.core.labels import LabelledEnum
from twores.core.periods import end_after
from twores.divisions import load_divisions
from twores.services.sheets import values as v
from twores.services.sheets.columns import COLUMNS, REQUIRED, known_headers, map_columns
from twores.services.sheets.columnwise import FREE_TEXT, ColumnwiseBusinesses
from twores.services.sheets.reading import Row, Table, normalise_header, read_table

T = TypeVar("T")
E = TypeVar("E", bound=LabelledEnum)
#: A name path (灵川县/大圩镇/敢兴村) holds Han characters; a code never does.
#: What offices put between the names of a path: 灵川县 / 九屋镇, 灵川县、潭下镇, 灵川县-潮田乡,
#: 灵川县 公平乡, 灵川县>大圩镇, 灵川县\大圩镇 (full-width forms are folded by NFKC first).
_PATH_SEPARATORS = re.compile(r"[\s/\\>、\-—–,，|]+")
_PLACE_SUFFIXES = (
    "村民委员会",
    "居民委员会",
    "社区居委会",
    "村委会",
    "居委会",
    "委员会",
    "街道办事处",
    "街道",
    "镇",
    "乡",
    "苏木",
)


@attrs.frozen
class RowError:
    """One bad value: where (row, 序号, column), what, and why in Chinese and English."""

    row: int
    serial: str | None
    column: str
    value: str
    reason_zh: str
    reason_en: str
    code: str


@attrs.frozen
class CadreRef:
    """A cadre as a ledger row names one (resolved against stored cadres later)."""

    name: str
    phone: str | None = None
    post: str | None = None
    tier: Tier | None = None


@attrs.frozen
class BusinessRow:
    row: int
    serial: str | None
    business: FoodBusiness
    cadre: CadreRef | None
    #: The fields whose cells the row left blank and a stored business keeps as stored
    #: (a blank 经营状态, with 状态变更日期 unless the row gives one; a named person's blank
    #: 禁业截止日期, as ``officer_banned_until``…): the business holds their defaults, for a
    #: new business.
    blank: frozenset[str] = frozenset()


@attrs.frozen
class AssignmentRow:
    row: int
    serial: str | None
    business_key: str
    cadre_id: str | None
    cadre: CadreRef | None
    valid_from: date
    valid_to: date | None
    #: Why it began or ended, as the sheet says (None: not given; the import says
    #: ``imported``).
    reason: AssignmentReason | None = None


@attrs.frozen
class ParseResult(Generic[T]):
    rows: list[T]
    errors: list[RowError]
    columns: dict[str, str]
    #: Of a cadre sheet: each row without a 干部编号, by the provisional id its cadre
    #: carries until the import finds who they are (:func:`provisional_cadre_id`), as
    #: (row, 序号).
    unnamed: dict[str, tuple[int, str | None]] = attrs.Factory(dict)


class _RowReader:
    """Reads fields of one row, collecting every error instead of stopping at the first."""

    def __init__(
        self,
        row: Row,
        columns: dict[str, int],
        headers: dict[str, str],
        formulas: dict[int, str] | None = None,
    ) -> None:
        self.row, self.positions, self.columns = row, columns, headers
        self.formulas = formulas
        self.errors: list[RowError] = []

    def raw(self, field: str) -> object:
        position = self.positions.get(field)
        cells = self.row.cells
        return cells[position] if position is not None and position < len(cells) else None

    def get(self, field: str, read: Callable[[object, str], T | None]) -> T | None:
        if self.formulas and self.positions.get(field) in self.formulas:
            formula = self.formulas[self.positions[field]]
            self.errors.append(_formula_error(self.row, self.column(field), formula))
            return None
        value = self.raw(field)
        try:
            return read(value, field)
        except InvalidValueError as error:
            self.fail(field, value, error)
        except TworesError as error:
            self.errors.append(
                RowError(
                    self.row.number,
                    self.row.serial,
                    self.column(field),
                    _show(value),
                    error.message_zh,
                    error.message_en,
                    error.code,
                )
            )
        return None

    def column(self, field: str) -> str:
        return self.columns.get(field) or _canonical(field)

    def fail(self, field: str, value: object, error: InvalidValueError) -> None:
        self.errors.append(
            RowError(
                self.row.number,
                self.row.serial,
                self.column(field),
                _show(value),
                error.reason_zh,
                error.reason_en,
                error.code,
            )
        )

    def record_errors(self, error: TworesError, field_of: Callable[[str], str]) -> None:
        """Errors a constructor raised, mapped back to this file's columns."""
        problems = error.errors if isinstance(error, StructureError) else (error,)
        for problem in problems:
            if isinstance(problem, InvalidValueError):
                field = field_of(problem.field)
                self.fail(
                    field, self.raw(field) if field in self.columns else problem.value, problem
                )


def _formula_error(row: Row, column: str, formula: str) -> RowError:
    return RowError(
        row.number,
        row.serial,
        column,
        formula,
        "公式没有计算结果，请在 Excel 中打开并保存后再导入",
        "the formula has no computed value; open the file in Excel, save it and import it again",
        "uncomputed_formula",
    )


def _formula_errors(
    row: Row, formulas: dict[int, str], positions: dict[str, int], columns: dict[str, str]
) -> list[RowError]:
    """A row's formula cells without a computed value, in the columns this import reads."""
    return [
        _formula_error(row, columns.get(field) or _canonical(field), formulas[position])
        for field, position in positions.items()
        if position in formulas
    ]


def _canonical(field: str, kind: str | None = None) -> str:
    """The header offices write for ``field`` (in ``kind``'s sheet when given: a cadre
    sheet's name is 包保干部姓名, a business ledger's 主体名称)."""
    for sheet in ([COLUMNS[kind]] if kind in COLUMNS else []) + list(COLUMNS.values()):
        if field in sheet:
            return sheet[field][0]
    return field


def _show(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple | list):
        return "、".join(map(_show, value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _enum(enum: type[E], *, required: bool = False) -> Callable[[object, str], E | None]:
    def read(value: object, field: str) -> E | None:
        if v.blank(value):
            if required:
                raise MissingValueError(field)
            return None
        return enum.parse(v.clean(str(value)), field=field)

    return read


def _grade(enum: type) -> Callable[[object, str], object]:
    def read(value: object, field: str) -> object:
        if v.blank(value):
            return None
        return enum.parse(v.grade_text(value), field=field)  # type: ignore[attr-defined]

    return read


class AreaResolver:
    """An area given as a code (typed any way) or as a name path (灵川县/大圩镇/上桥村)."""

    def __init__(self, hierarchy: Hierarchy) -> None:
        self.hierarchy = hierarchy
        self._children: dict[str | None, dict[str, list[Area]]] = {}
        self._unknown: dict[str, tuple[str, str]] = {}

    def _by_name(self, parent: str | None) -> dict[str, list[Area]]:
        if parent not in self._children:
            kids = self.hierarchy.children(parent) if parent else self.hierarchy.roots
            table: dict[str, list[Area]] = {}
            for area in kids:
                for name in _aliases(area.name):
                    table.setdefault(name, []).append(area)
            self._children[parent] = table
        return self._children[parent]

    def __call__(self, value: object, field: str) -> str:
        if v.blank(value):
            raise MissingValueError(field)
        text = v.clean(str(value))
        if not text:
            raise MissingValueError(field)
        if isinstance(value, int | float) or not v.HAN.search(text):  # a code, typed any way
            if v.scientific(text):  # 4.50323E+11: Excel saved the code as a number
                raise v.DigitsLostError(field, value)
            typed = value if isinstance(value, int | float) else v.whole_number(text)
            code = canonical_area_code(typed, field=field)
            if code in self.hierarchy:
                return code
            raise InvalidAreaCodeError(field, value, "区划代码不存在", "no such area")
        return self._path(text, field)

    def _path(self, text: str, field: str) -> str:
        parts = [p for p in _PATH_SEPARATORS.split(text) if p]
        if len(parts) == 1:
            parts = self._split_run(parts[0])
        # Start at any area with the first name; then walk down by name.
        starts = [a for a in self.hierarchy if parts[0] in _aliases(a.name)]
        matches = []
        for start in starts:
            current: Area | None = start
            for name in parts[1:]:
                found = self._by_name(current.code).get(name, []) if current else []
                current = found[0] if len(found) == 1 else None
            if current is not None:
                matches.append(current)
        if len(matches) == 1:
            return matches[0].code
        if matches:
            paths = [self.hierarchy.display_path(a.code, "/") for a in matches[:_GUESSES]]
            raise InvalidAreaCodeError(
                field,
                text,
                f"区划名称有歧义，可能是：{'；'.join(paths)}（请写出上级区划）",
                f"ambiguous area name, one of: {'; '.join(paths)} (name its parent too)",
            )
        if text not in self._unknown:
            self._unknown[text] = _no_such_area(self._guesses(parts, starts))
        raise InvalidAreaCodeError(field, text, *self._unknown[text])

    def _guesses(self, parts: list[str], starts: list[Area]) -> list[str]:
        """Paths close to ``parts``: the names walked from each start, then the names near
        the one that stops matching (a start itself: near a county or wider area's name)."""
        if not starts:
            wide = {
                name: area
                for area in self.hierarchy
                if area.tier.depth <= Tier.COUNTY.depth
                for name in _aliases(area.name)
            }
            near = [wide[n] for n in difflib.get_close_matches(parts[0], wide, _GUESSES)]
            paths = [[a.name, *self._walk(a, parts[1:])] for a in near]
            paths.sort(key=len, reverse=True)  # those the rest of the path goes on from first
            return ["/".join(path) for path in paths]
        guesses: list[str] = []
        for start in starts:
            walked, current = [parts[0]], start
            for at, name in enumerate(parts[1:], start=2):
                children = self._by_name(current.code)
                found = children.get(name, [])
                if len(found) != 1:
                    for close in difflib.get_close_matches(name, children, _GUESSES):
                        (area,) = children[close][:1]
                        rest = self._walk(area, parts[at:])
                        guesses.append("/".join([*walked, area.name, *rest]))
                    break
                walked.append(name)
                current = found[0]
        return list(dict.fromkeys(guesses))[:_GUESSES]

    def _walk(self, area: Area, parts: list[str]) -> list[str]:
        """The names of ``parts`` below ``area`` when each names one child (else none)."""
        names = []
        for name in parts:
            found = self._by_name(area.code).get(name, [])
            if len(found) != 1:
                return []
            area = found[0]
            names.append(area.name)
        return names

    def _split_run(self, text: str) -> list[str]:
        """'灵川县大圩镇上桥村' -> ['灵川县', '大圩镇', '上桥村'] by walking known names."""
        for root in self.hierarchy:
            if text.startswith(root.name):
                parts, rest, current = [root.name], text[len(root.name) :], root.code
                while rest:
                    step = next(
                        (
                            n
                            for n in sorted(self._by_name(current), key=len, reverse=True)
                            if rest.startswith(n)
                        ),
                        None,
                    )
                    if step is None:
                        break
                    parts.append(step)
                    current = self._by_name(current)[step][0].code
                    rest = rest[len(step) :]
                if not rest:
                    return parts
        return [text]


_GUESSES = 3


def _no_such_area(guesses: list[str]) -> tuple[str, str]:
    if not guesses:
        return "找不到该区划", "no such area"
    return (
        f"找不到该区划，是否为：{'、'.join(guesses)}？",
        f"no such area; did you mean {', '.join(guesses)}?",
    )


def _short(name: str) -> str:
    for suffix in _PLACE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _aliases(name: str) -> set[str]:
    """敢兴村委会 -> {敢兴村委会, 敢兴, 敢兴村}; 大圩社区居委会 -> {…, 大圩社区}."""
    short = _short(name)
    found = {name, short}
    if short != name:
        tail = name[len(short) :]
        if tail.startswith("村"):
            found.add(short + "村")
        elif tail.startswith(("社区", "居")):
            found.add(short + "社区")
    return found


def _positions(table: Table, columns: dict[str, str]) -> dict[str, int]:
    """field -> cell position, for the fields this file has."""
    return {f: table.index[h] for f, h in columns.items() if h in table.index}


def _header_errors(kind: str, table: Table, columns: dict[str, str]) -> list[RowError]:
    missing = [f for f in REQUIRED[kind] if f not in columns]
    if kind == "businesses" and "licence_no" not in columns and "uscc" not in columns:
        missing.append("licence_no")
    sheet = table.sheet
    where_zh = f"（工作表“{sheet}”）" if sheet else ""
    where_en = f" (sheet “{sheet}”)" if sheet else ""
    errors = [
        RowError(
            table.header_row,
            None,
            _canonical(f, kind),
            "",
            f"缺少必需的列{where_zh}",
            f"a required column is missing{where_en}",
            "missing_column",
        )
        for f in missing
    ]
    if kind == "businesses":
        errors += _unread_licence_headers(table, columns, where_zh, where_en)
    return errors + _repeated_headers(table, columns, where_zh, where_en)


#: Headers of a licence's other particulars (许可证有效期, 发证机关), not its number.
_LICENCE_PARTICULARS = ("日期", "有效期", "期限", "到期", "截止", "发证", "机关", "类别", "项目")


def _unread_licence_headers(
    table: Table, columns: dict[str, str], where_zh: str, where_en: str
) -> list[RowError]:
    """A column no field reads whose header looks like the licence number's (食品经营许可证,
    …许可证编号 in a wording not known): read without it, a licensed business would be
    filed under its credit code alone, and its correct ledger refused later."""
    read = set(columns.values())
    found = [
        h
        for h in table.header
        if h
        and h not in read
        and "许可证" in (normal := normalise_header(h))
        and not any(word in normal for word in _LICENCE_PARTICULARS)
    ]
    used = columns.get("licence_no")
    errors = []
    for header in found:
        if used is None:
            zh = f"“{header}”不是可识别的许可证编号表头，该列未读取{where_zh}：请改为“许可证编号”"
            en = (
                f"“{header}” is not a recognised licence header, so the column is not "
                f"read{where_en}: rename it to 许可证编号"
            )
        else:
            zh = (
                f"“{header}”像是许可证编号列，但许可证编号已从“{used}”列读取{where_zh}："
                "请删除或改名其中一列"
            )
            en = (
                f"“{header}” looks like a licence number column, but the licence number is "
                f"read from “{used}”{where_en}: delete or rename one of them"
            )
        errors.append(
            RowError(table.header_row, None, header, header, zh, en, "unread_licence_column")
        )
    return errors


def _repeated_headers(
    table: Table, columns: dict[str, str], where_zh: str, where_en: str
) -> list[RowError]:
    """A header a field reads written over two columns (two 联系电话, say — often after a
    two-row header): which one is meant cannot be told, so neither is guessed."""
    at: dict[str, list[int]] = {}
    for position, text in enumerate(table.header):
        if text in columns.values():
            at.setdefault(text, []).append(position + 1)
    return [
        RowError(
            table.header_row,
            None,
            text,
            text,
            f"表头“{text}”出现在第 {'、'.join(map(str, spots))} 列{where_zh}，无法确定读哪一列；"
            "请改成不同的表头（如 包保干部联系电话）",
            f"the header “{text}” heads columns {', '.join(map(str, spots))}{where_en}, so "
            "which one to read cannot be told; give them different headers (包保干部联系电话, say)",
            "repeated_column",
        )
        for text, spots in at.items()
        if len(spots) > 1
    ]


def read_sheet(path: str | Path, kind: str) -> Table:
    return read_table(path, known_headers(kind))


def _duplicates(
    rows: list[T],
    key: Callable[[T], str],
    where: Callable[[T], tuple[int, str | None]],
    column: str | Callable[[T], str],
    shown: Callable[[T], str] | None = None,
) -> tuple[list[T], list[RowError]]:
    """Rows whose ``key`` an earlier row has, refused in ``column`` (or the row's, when a
    function) with the value ``shown`` (default: the key)."""
    first: dict[str, int] = {}
    kept, errors = [], []
    for item in rows:
        k = key(item)
        number, serial = where(item)
        if k in first:
            errors.append(
                RowError(
                    number,
                    serial,
                    column if isinstance(column, str) else column(item),
                    k if shown is None else shown(item),
                    f"与第{first[k]}行重复",
                    f"duplicates row {first[k]}",
                    "duplicate_key",
                )
            )
            continue
        first[k] = number
        kept.append(item)
    return kept, errors


CHUNK = 10_000
_FIELD_OF = {"area_code": "area"}


def iter_business_chunks(
    table: Table, hierarchy: Hierarchy, *, size: int | None = None, columnwise: bool = True
) -> Generator[ParseResult[BusinessRow]]:
    """Parse a business sheet ``size`` (default ``CHUNK``) rows at a time (a key repeated
    anywhere is an error).

    Rows are read column-wise where they can be (``columnwise.py``: the same values, about
    4x faster) and one by one where they cannot; ``columnwise=False`` reads every row one
    by one.
    """
    columns = map_columns("businesses", table.header)
    errors = _header_errors("businesses", table, columns)
    if errors:
        yield ParseResult([], errors, columns)
        return
    positions = _positions(table, columns)
    readers = _business_readers(AreaResolver(hierarchy))
    plan = [
        (name, field, positions.get(field), read if name in FREE_TEXT else _memoized(read))
        for name, (field, read) in readers.items()
    ]
    staff_plan = _staff_plan(positions)
    occupied = [p for _, where in staff_plan for p in where]
    if "cadre_name" in positions:  # a cadre's phone or post without a name is an error
        occupied.extend(positions[f] for f in ("cadre_name", *_CADRE_FIELDS) if f in positions)
    status_at, since_at = positions.get("status"), positions.get("status_since")
    fast = ColumnwiseBusinesses(positions, readers, occupied) if columnwise else None
    licence_column = columns.get("licence_no", "许可证编号")
    credit_column = columns.get("uscc", "统一社会信用代码")
    first_seen: dict[str, int] = {}
    licensed_by_code: dict[str, int] = {}  # credit code -> first licensed row giving it
    formulas = table.formulas
    rows_iter = iter(table.rows)
    while batch := list(itertools.islice(rows_iter, CHUNK if size is None else size)):
        parsed: list[BusinessRow] = []
        problems: list[RowError] = []
        vouched = fast.parse([row.cells for row in batch]) if fast else [None] * len(batch)
        for row, business in zip(batch, vouched, strict=True):
            result: BusinessRow | list[RowError]
            if business is not None:
                result = BusinessRow(row.number, row.serial, business, None)
            else:
                result = _parse_business(row, positions, columns, readers, plan, staff_plan)
            if status_at is not None and isinstance(result, BusinessRow):
                blank = _left_blank(row.cells, status_at, since_at)
                if blank:
                    result = attrs.evolve(result, blank=result.blank | blank)
            if formulas and row.number in formulas:
                result = _with_formula_errors(result, row, formulas, positions, columns)
            if isinstance(result, list):
                problems.extend(result)
                continue
            key = result.business.key
            if key in first_seen:
                problems.append(
                    RowError(
                        row.number,
                        row.serial,
                        licence_column if result.business.licence_no else credit_column,
                        key,
                        f"与第{first_seen[key]}行重复",
                        f"duplicates row {first_seen[key]}",
                        "duplicate_key",
                    )
                )
                continue
            same = _same_by_code(result, first_seen, licensed_by_code, credit_column)
            if same is not None:
                problems.append(same)
                continue
            first_seen[key] = row.number
            if result.business.licence_no and result.business.uscc:
                licensed_by_code.setdefault(result.business.uscc, row.number)
            parsed.append(result)
        yield ParseResult(parsed, sorted(problems, key=lambda e: (e.row, e.column)), columns)


_STATUS = frozenset({"status"})
_STATUS_AND_DAY = frozenset({"status", "status_since"})


def _left_blank(cells: list[object], status_at: int, since_at: int | None) -> frozenset[str]:
    """What a row whose 经营状态 cell is blank leaves a stored business as it is: its
    status, and its status date unless the row gives one (empty: the status is given)."""
    size = len(cells)
    if status_at < size and not v.blank(cells[status_at]):
        return frozenset()
    if since_at is not None and since_at < size and not v.blank(cells[since_at]):
        return _STATUS
    return _STATUS_AND_DAY


def _same_by_code(
    row: BusinessRow, first_seen: dict[str, int], licensed_by_code: dict[str, int], column: str
) -> RowError | None:
    """A row that gives only a credit code names the licensed business with that code: a
    licensed row of this file giving it is the same business, listed twice (whichever of
    the two comes first)."""
    business = row.business
    code = business.uscc
    if code is None:
        return None
    coded_first = business.licence_no is not None  # an earlier row gave only this code
    # the key of a row without a licence is its code
    first = first_seen.get(code) if coded_first else licensed_by_code.get(code)
    if first is None:
        return None
    earlier, this = (f"第{first}行", f"row {first}"), ("本行", "this row")
    coded, licensed = (earlier, this) if coded_first else (this, earlier)
    return RowError(
        row.row,
        row.serial,
        column,
        code,
        f"与第{first}行重复：{coded[0]}只填了统一社会信用代码，未填许可证编号，按该代码即"
        f"{licensed[0]}的许可证主体（同一主体只列一行）",
        f"duplicates row {first}: {coded[1]} gives only the credit code, no licence number, "
        f"and by it names the licensed business of {licensed[1]} (list a business once)",
        "duplicate_key",
    )


def _with_formula_errors(
    result: BusinessRow | list[RowError],
    row: Row,
    formulas: dict[int, dict[int, str]],
    positions: dict[str, int],
    columns: dict[str, str],
) -> BusinessRow | list[RowError]:
    """A row holding formulas without a computed value is refused: each such cell is
    reported (instead of whatever its empty reading gave)."""
    found = _formula_errors(row, formulas[row.number], positions, columns)
    if not found:
        return result
    named = {e.column for e in found}
    others = [e for e in result if e.column not in named] if isinstance(result, list) else []
    return sorted(found + others, key=lambda e: e.column)


def parse_businesses(table: Table, hierarchy: Hierarchy) -> ParseResult[BusinessRow]:
    """A whole business sheet at once (for small files; imports stream with chunks)."""
    rows: list[BusinessRow] = []
    errors: list[RowError] = []
    columns: dict[str, str] = {}
    for chunk in iter_business_chunks(table, hierarchy):
        rows.extend(chunk.rows)
        errors.extend(chunk.errors)
        columns = chunk.columns
    return ParseResult(rows, errors, columns)


Plan = list[tuple[str, str, int | None, "Reader"]]
StaffPlan = list[tuple[str, tuple[int, ...]]]


def _staff_plan(positions: dict[str, int]) -> StaffPlan:
    """Roles whose columns this sheet has, with those columns' positions."""
    plan: StaffPlan = []
    for role in ("head", "director", "officer"):
        found = tuple(
            positions[f"{role}_{part}"] for part in _STAFF_PARTS if f"{role}_{part}" in positions
        )
        if found:
            plan.append((role, found))
    return plan


def _parse_business(
    row: Row,
    positions: dict[str, int],
    columns: dict[str, str],
    readers: dict[str, tuple[str, Reader]],
    plan: Plan,
    staff_plan: StaffPlan,
) -> BusinessRow | list[RowError]:
    r = _RowReader(row, positions, columns)
    cells = row.cells
    size = len(cells)
    fields: dict[str, object] = {}
    for name, field, position, read in plan:
        value = cells[position] if position is not None and position < size else None
        try:
            fields[name] = read(value, field)
        except TworesError:
            fields[name] = r.get(field, read)  # records the error with its column
    fields["chain_headquarters"] = fields["chain_headquarters"] or False
    fields["status"] = fields["status"] or OperatingStatus.OPERATING
    staff: dict[str, StaffMember | None] = {}
    unsaid: list[str] = []  # a named person's blank ban cells
    for role, where in staff_plan:
        present = [cells[p] for p in where if p < size]
        # Empty cells are falsy: most ledgers leave the staff columns empty.
        if any(present) and not all(map(v.blank, present)):
            staff[role] = member = _staff(r, role)
            ban = f"{role}_banned_until"
            if member is not None and ban in positions and v.blank(r.raw(ban)):
                unsaid.append(ban)
    cadre = _cadre_ref(r, named=True) if "cadre_name" in positions else None
    if not r.errors:
        try:
            business = FoodBusiness(**fields, staff=Staff(**staff))  # type: ignore[arg-type]
        except TworesError as error:
            # Find every bad field first; the constructor stops at the first.
            _validate_fields(r, fields, readers)
            if not r.errors:
                r.record_errors(error, lambda f: _FIELD_OF.get(f, f))
        else:
            return BusinessRow(row.number, row.serial, business, cadre, frozenset(unsaid))
    else:
        _validate_fields(r, fields, readers)
    return r.errors


Reader = Callable[[object, str], object]
_VALIDATED = ("name", "licence_no", "uscc", "diners")
_MEMO_LIMIT = 100_000


def _memoized(read: Reader) -> Reader:
    """Parse each distinct text once: areas, labels and dates repeat down a ledger.

    Only successes are kept, so every bad cell still raises (and is reported) on its own row.
    """
    seen: dict[str, object] = {}

    def cached(value: object, field: str) -> object:
        if value.__class__ is not str:
            return read(value, field)
        try:
            return seen[value]
        except KeyError:
            result = read(value, field)
            if len(seen) < _MEMO_LIMIT:
                seen[value] = result
            return result

    return cached


def _validate_fields(
    r: _RowReader, fields: dict[str, object], readers: dict[str, tuple[str, Reader]]
) -> None:
    """Run FoodBusiness's own field validators on every field that was read."""
    attributes = attrs.fields(FoodBusiness)
    for name in _VALIDATED:
        value = fields.get(name)
        attribute = getattr(attributes, name)
        if value is None or attribute.validator is None:
            continue
        try:
            attribute.validator(None, attribute, value)
        except InvalidValueError as error:
            sheet_field = readers[name][0]
            r.fail(sheet_field, r.raw(sheet_field), error)


def _business_readers(area: AreaResolver) -> dict[str, tuple[str, Reader]]:
    """FoodBusiness field -> (sheet field, reader), built once per file."""

    def required_text(x: object, f: str) -> object:
        return v.text(x, f, required=True)

    def licence(x: object, f: str) -> object:
        found = v.code_text(x, f)
        return None if found is None else canonical_licence(found)

    def credit_code(x: object, f: str) -> object:
        found = v.code_text(x, f)
        return None if found is None else canonical_uscc(found)

    return {
        "name": ("name", required_text),
        "area_code": ("area", area),
        "business_type": ("business_type", _enum(BusinessType, required=True)),
        "licence_no": ("licence_no", licence),
        "uscc": ("uscc", credit_code),
        "scale": ("scale", _enum(Scale)),
        "canteen_kind": ("canteen_kind", _enum(CanteenKind)),
        "diners": ("diners", v.integer),
        "chain_headquarters": ("chain_headquarters", v.boolean),
        "status": ("status", _enum(OperatingStatus)),
        "status_since": ("status_since", v.day),
        "opened_on": ("opened_on", v.day),
        "grade": ("grade", _grade(Grade)),
        "risk_grade": ("risk_grade", _grade(RiskLevel)),
    }


_STAFF_PARTS = ("name", "phone", "id_number", "banned_until")
#: What a 禁业截止日期 cell says to lift a recorded ban (a blank cell keeps it).
BAN_LIFTED = frozenset({"无", "解除", "已解除", "none"})


def _ban_day(value: object, field: str) -> date | None:
    if isinstance(value, str) and v.clean(value).casefold() in BAN_LIFTED:
        return None
    return v.day(value, field)


def _staff(r: _RowReader, role: str) -> StaffMember | None:
    """The person a row names in ``role``; their phone, ID number or ban given without a
    name is a row error (whose they are is never guessed)."""
    fields = [f"{role}_{part}" for part in _STAFF_PARTS]
    if not any(f in r.positions for f in fields) or all(v.blank(r.raw(f)) for f in fields):
        return None
    errors = len(r.errors)
    name = r.get(f"{role}_name", v.person_name)
    phone = r.get(f"{role}_phone", v.phone)
    id_number = r.get(f"{role}_id_number", v.id_number)
    banned = r.get(f"{role}_banned_until", _ban_day)
    if name is None:
        given = [f for f in fields[1:] if f in r.positions and _filled(r.raw(f))]
        if given and not any(e.column == r.column(fields[0]) for e in r.errors[errors:]):
            r.fail(fields[0], r.raw(fields[0]), UnnamedStaffError(role, given, r.column))
        return None
    try:
        return StaffMember(name, phone, id_number, banned)
    except InvalidValueError as error:
        field = {
            "name": "name",
            "phone": "phone",
            "id_number": "id_number",
            "banned_until": "banned_until",
        }[error.field]
        r.fail(f"{role}_{field}", r.raw(f"{role}_{field}"), error)
        return None


#: The cells besides 包保干部姓名 that name a row's cadre.
_CADRE_FIELDS = ("cadre_post", "cadre_tier", "cadre_phone")


def _cadre_ref(r: _RowReader, *, named: bool = False) -> CadreRef | None:
    """The cadre a row names; with ``named``, a row that fills in a cadre's post, tier or
    phone but no name is an error (which cadre is meant is never guessed)."""
    errors = len(r.errors)
    name = r.get("cadre_name", v.person_name)
    if name is None:
        if named and len(r.errors) == errors:
            given = [f for f in _CADRE_FIELDS if f in r.positions and _filled(r.raw(f))]
            if given:
                r.fail("cadre_name", r.raw("cadre_name"), UnnamedCadreError(given, r.column))
        return None
    return CadreRef(
        name=name,
        phone=r.get("cadre_phone", v.phone),
        post=r.get("cadre_post", v.text),
        tier=r.get("cadre_tier", _enum(Tier)),
    )


def _filled(value: object) -> bool:
    """Whether a cell holds anything to read (not blank once invisible characters and a
    leading apostrophe are taken off; an Excel error value is something)."""
    if v.blank(value):
        return False
    if not isinstance(value, str):
        return True
    try:
        return bool(v.clean(value))
    except InvalidValueError:
        return True


class UnnamedStaffError(MissingValueError):
    """A row giving a person's phone, ID number or ban in a staff role but not their name."""

    def __init__(self, role: str, given: list[str], column: Callable[[str], str]) -> None:
        shown = "、".join(column(f) for f in given)
        who = column(f"{role}_name")
        InvalidValueError.__init__(
            self,
            f"{role}_name",
            "",
            f"填写了{shown}，但未填{who}：请填写姓名（不按电话、身份证号猜测是谁）",
            f"the row gives {shown.replace('、', ', ')} but no {who}: give the person's name "
            "(who it is is never guessed from a phone or ID number)",
        )


class UnnamedCadreError(MissingValueError):
    """A row naming its cadre by phone, post or tier but not by name."""

    def __init__(self, given: list[str], column: Callable[[str], str]) -> None:
        shown = "、".join(column(f) for f in given)
        InvalidValueError.__init__(
            self,
            "cadre_name",
            "",
            f"填写了包保干部的{shown}，但未填包保干部姓名：请填写姓名（不按电话、职务猜测干部）",
            f"the row names a cadre by {shown.replace('、', ', ')} but not by name: give the "
            "cadre's name (a cadre is never guessed from a phone or post)",
        )


def provisional_cadre_id(row: int) -> str:
    """The id a cadre row without 干部编号 carries until the import finds who the row is
    (a stored cadre, else a new one with an id of its own): it names the row, never the
    person, so nothing of their phone or ID number is ever in an id."""
    return f"new:{row}"


def person_key(area_code: str, name: str, phone: str | None) -> str:
    """Who a cadre row without 干部编号 is: area, name and phone (no id holds a ``|``)."""
    return f"{area_code}|{name}|{phone or ''}"


class OutOfScopeError(InvalidValueError):
    """A row filed in an area outside the importer's jurisdiction."""

    code = "out_of_scope"

    def __init__(self, field: str, value: object, scope_area: str) -> None:
        super().__init__(
            field,
            value,
            f"不在您的辖区（{scope_area}）内",
            f"outside your jurisdiction ({scope_area})",
        )


def parse_cadres(
    table: Table, hierarchy: Hierarchy, scope_area: str | None = None
) -> ParseResult[Cadre]:
    """The cadres of a cadre sheet; with ``scope_area``, a row filed outside that subtree
    is a row error (out_of_scope) naming its area."""
    columns = map_columns("cadres", table.header)
    errors = _header_errors("cadres", table, columns)
    positions = _positions(table, columns)
    if errors:
        return ParseResult([], errors, columns)
    area = AreaResolver(hierarchy)
    cadres: list[tuple[Row, Cadre]] = []
    unnamed: dict[str, tuple[int, str | None]] = {}
    for row in table.rows:
        r = _RowReader(row, positions, columns, table.formulas.get(row.number))
        name = r.get("name", lambda x, f: v.person_name(x, f, required=True))
        area_code = r.get("area", area)
        tier = r.get("tier", _enum(Tier))
        phone = r.get("phone", lambda x, f: checked_phone(v.phone(x, f), f))
        fields = {
            "post": r.get("post", v.text),
            "phone": phone,
            "id_number": r.get("id_number", lambda x, f: checked_id_number(v.id_number(x, f), f)),
            "active_from": r.get("active_from", v.day),
            "active_to": end_after(r.get("active_to", v.day)),  # the last day served
        }
        given_id = r.get("id", v.text)
        if r.errors or name is None or area_code is None:
            errors.extend(r.errors)
            continue
        if scope_area is not None and not hierarchy.holds(scope_area, area_code):
            r.fail("area", r.raw("area"), OutOfScopeError("area", area_code, scope_area))
            errors.extend(r.errors)
            continue
        area_tier = hierarchy[area_code].tier
        if tier is not None and tier is not area_tier:
            r.fail(
                "area",
                r.raw("area"),
                InvalidAreaCodeError(
                    "area",
                    area_code,
                    f"{tier.zh}干部的辖区应为{tier.zh}区划，此区划为{area_tier.zh}",
                    f"a {tier.en} cadre's area must be a {tier.en} area, "
                    f"this one is {area_tier.en}",
                ),
            )
            errors.extend(r.errors)
            continue
        try:
            cadre = Cadre(
                id=given_id or provisional_cadre_id(row.number),
                name=name,
                tier=area_tier,
                area_code=area_code,
                **fields,  # type: ignore[arg-type]
            )
        except TworesError as error:
            r.record_errors(error, lambda f: {"area_code": "area"}.get(f, f))
            errors.extend(r.errors)
            continue
        if not given_id:
            unnamed[cadre.id] = (row.number, row.serial)
        cadres.append((row, cadre))
    name_column = columns.get("name", "包保干部姓名")
    kept, duplicates = _duplicates(  # a row without 干部编号 is its area, name and phone
        cadres,
        lambda item: (
            person_key(item[1].area_code, item[1].name, item[1].phone)
            if item[1].id in unnamed
            else item[1].id
        ),
        lambda item: (item[0].number, item[0].serial),
        lambda item: name_column if item[1].id in unnamed else columns["id"],
        lambda item: item[1].name if item[1].id in unnamed else item[1].id,
    )
    return ParseResult(
        [c for _, c in kept],
        sorted(errors + duplicates, key=lambda e: (e.row, e.column)),
        columns,
        {c.id: unnamed[c.id] for _, c in kept if c.id in unnamed},
    )


def parse_assignments(table: Table) -> ParseResult[AssignmentRow]:
    columns = map_columns("assignments", table.header)
    errors = _header_errors("assignments", table, columns)
    positions = _positions(table, columns)
    if errors:
        return ParseResult([], errors, columns)
    rows: list[AssignmentRow] = []
    for row in table.rows:
        r = _RowReader(row, positions, columns, table.formulas.get(row.number))
        key = r.get("business_key", lambda x, f: v.text(x, f, required=True))
        start = r.get("valid_from", v.day)
        if start is None and not r.errors:
            r.fail("valid_from", None, MissingValueError("valid_from"))
        last = r.get("valid_to", v.day)  # the last day held (an empty span: the day before)
        end = end_after(last)
        reason = r.get("reason", _enum(AssignmentReason))
        cadre_id = r.get("cadre_id", v.text)
        cadre = _cadre_ref(r)
        if cadre_id is None and cadre is None and not r.errors:
            r.fail("cadre_id", None, MissingValueError("cadre_id"))
        if start and end and end < start:
            r.fail(
                "valid_to",
                r.raw("valid_to"),
                InvalidValueError(
                    "valid_to", last, "结束日期早于开始日期", "ends before it starts"
                ),
            )
        if r.errors or key is None or start is None:
            errors.extend(r.errors)
            continue
        rows.append(
            AssignmentRow(
                row.number,
                row.serial,
                canonical_licence(v.whole_number(key)),  # 4503231234.0: as its number cell
                cadre_id,
                cadre,
                start,
                end,
                reason,
            )
        )
    return ParseResult(rows, errors, columns)


def parse_areas(path: str | Path) -> ParseResult[Area]:
    """Division files (or a folder of them), or an area sheet (区划代码, 区划名称, …)."""
    source = Path(path)
    try:
        if source.is_dir() or source.name.lower().endswith((".csv", ".csv.xz", ".csv.gz")):
            return ParseResult(load_divisions(source), [], {})
        return _area_sheet(source)
    except StructureError as error:
        return ParseResult(
            [],
            [
                RowError(
                    e.row or 0,
                    None,
                    _canonical_area_field(e.field),
                    _show(e.value),
                    e.reason_zh,
                    e.reason_en,
                    e.code,
                )
                for e in error.errors
            ],
            {},
        )


def _area_code(value: object, field: str) -> str:
    """An area sheet's code cell in canonical form (``canonical_area_code``), its text read
    as every text cell is (a leading apostrophe off) and a whole number written as text
    (450323.0) as its digits, as a number cell of it reads."""
    if isinstance(value, str):
        value = v.whole_number(v.clean(value))
    return canonical_area_code(value, field=field)


def _canonical_area_field(field: str) -> str:
    return {
        "code": "区划代码",
        "name": "区划名称",
        "parent_code": "上级区划代码",
        "tier": "层级",
    }.get(field, field)


def _area_sheet(source: Path) -> ParseResult[Area]:
    table = read_table(
        source,
        {"区划代码", "区划名称", "上级区划代码", "层级", "code", "name", "tier", "parent_code"},
    )
    header = {h: h for h in table.header}
    field = {
        "code": ("区划代码", "code"),
        "name": ("区划名称", "name"),
        "parent_code": ("上级区划代码", "parent_code"),
        "tier": ("层级", "tier"),
    }
    columns = {
        f: next((h for h in aliases if h in header), aliases[0]) for f, aliases in field.items()
    }
    positions = _positions(table, columns)
    missing = [
        RowError(
            table.header_row,
            None,
            columns[f],
            "",
            "缺少必需的列",
            "a required column is missing",
            "missing_column",
        )
        for f in ("code", "name")
        if f not in positions
    ]
    if missing:  # a sheet of other headers is no area sheet (it was taken as 0 rows)
        return ParseResult([], missing, columns)
    areas, errors = [], []
    for row in table.rows:
        r = _RowReader(row, positions, columns, table.formulas.get(row.number))
        code = r.get("code", _area_code)
        parent = r.get("parent_code", lambda x, f: None if v.blank(x) else _area_code(x, f))
        tier = r.get("tier", _enum(Tier))
        name = r.get("name", lambda x, f: v.text(x, f, required=True))
        if code is not None and tier is None and is_standard_code(code):
            tier = Tier.for_code(code)
        if r.errors or code is None or name is None or tier is None:
            errors.extend(r.errors)
            continue
        try:
            areas.append(Area(code=code, name=name, tier=tier, parent_code=parent))
        except TworesError as error:
            r.record_errors(error, lambda f: f)
            errors.extend(r.errors)
    return ParseResult(areas, errors, columns)
