"""Column-wise parsing of business rows: the fast path for the usual, clean ledger row.

A chunk of rows is read a column at a time. Areas, labels, numbers and dates are parsed
once per distinct cell (they repeat down a ledger); free text is normalised for the whole
column at once and checked by the record's own field validators. A row that some column
cannot vouch for (a bad or unusual cell, staff or cadre columns filled in, a cross-field
rule broken) is left to the row parser, which gives its exact values or errors. So a chunk
parses to exactly what the row parser alone would give; a differential property test
(tests/properties/test_columnwise.py) holds the two together.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any, cast

import attrs

from twores.core.businesses import BUSINESS_NAME_MAX, FoodBusiness, OperatingStatus, Staff
from twores.core.convert import stored_builder
from twores.core.errors import TworesError
from twores.core.texts import CONTROL_CHARACTER
from twores.services.sheets.values import INVISIBLE

Reader = Callable[[object, str], object]
#: FoodBusiness field -> (sheet field, reader), as the row parser reads them.
Readers = dict[str, tuple[str, Reader]]

#: Fields whose cells are mostly distinct: normalised per column, not looked up.
FREE_TEXT = ("name", "licence_no", "uscc")
_MEMO_LIMIT = 100_000
_TEXT_CELLS = frozenset({str, type(None)})
_STR_CELLS = frozenset({str})
_SPACE_BUT_NEWLINE = re.compile(r"[^\S\n]")
_FIELDS = attrs.fields(FoodBusiness)
_NO_STAFF = Staff()
#: What the row parser puts for a blank cell (the record's own defaults).
_DEFAULTS: dict[str, object] = {
    "chain_headquarters": False,
    "status": OperatingStatus.OPERATING,
}


@attrs.frozen
class _Normal:
    """How the row parser turns a free-text cell into its value (see ``canonical_*``)."""

    glue: str  # what inner whitespace becomes: " " (clean_text) or "" (codes)
    upper: bool
    drop_dashes: bool


_NORMAL = {
    "name": _Normal(" ", upper=False, drop_dashes=False),
    "licence_no": _Normal("", upper=True, drop_dashes=False),
    "uscc": _Normal("", upper=True, drop_dashes=True),
}


class ColumnwiseBusinesses:
    """Vouches for the rows of one file's chunks that need no row-by-row reading.

    ``positions`` maps sheet fields to cell positions; ``readers`` are the row parser's;
    ``occupied`` are the positions (staff and cadre columns) whose filled cells send a row
    to the row parser.
    """

    def __init__(
        self, positions: dict[str, int], readers: Readers, occupied: Iterable[int]
    ) -> None:
        self._plan = [
            (name, sheet_field, positions.get(sheet_field), read)
            for name, (sheet_field, read) in readers.items()
        ]
        names = (*readers, "staff")
        if set(names) != {field.name for field in _FIELDS}:
            raise ValueError("the readers must give every FoodBusiness field but staff")
        self._build = stored_builder(FoodBusiness, names)
        self._occupied = tuple(occupied)
        self._memo: dict[str, dict[object, object]] = {name: {} for name in readers}
        self._bad: dict[str, set[object]] = {name: set() for name in readers}

    def parse(self, rows: Sequence[Sequence[object]]) -> list[FoodBusiness | None]:
        """A business for each row it vouches for; None for the rows the row parser must read."""
        slow: set[int] = set()
        shortest = min(map(len, rows), default=0)
        for at in self._occupied:
            slow.update(_occupied(_column(rows, at, shortest)))
        columns: list[list[Any]] = []
        for name, sheet_field, position, read in self._plan:
            cells = _column(rows, position, shortest)
            if name in _NORMAL:
                columns.append(self._free_text(name, sheet_field, read, cells, slow))
            else:
                values = self._by_distinct(name, sheet_field, read, cells, slow)
                default = _DEFAULTS.get(name)
                columns.append(values if default is None else [v or default for v in values])
        build = self._build
        vouched: list[FoodBusiness | None] = []
        for index, fields in enumerate(zip(*columns, strict=True)):
            if index in slow:
                vouched.append(None)
                continue
            business = build(*fields, _NO_STAFF)  # each field checked above
            try:
                business.__attrs_post_init__()
            except TworesError:  # a cross-field rule: the row parser reports it
                vouched.append(None)
            else:
                vouched.append(business)
        return vouched

    def _by_distinct(
        self, name: str, field: str, read: Reader, cells: list[object], slow: set[int]
    ) -> list[object]:
        if not _TEXT_CELLS.issuperset(map(type, cells)):
            return _each(name, field, read, cells, slow)  # typed cells (xlsx): 1 == 1.0 == True
        memo, bad = self._memo[name], self._bad[name]
        if len(memo) + len(bad) > _MEMO_LIMIT:
            memo.clear()
            bad.clear()
        for cell in set(cells).difference(memo, bad):
            try:
                memo[cell] = _checked(name, read(cell, field))
            except TworesError:
                bad.add(cell)
        if not bad.isdisjoint(cells):
            slow.update(i for i, cell in enumerate(cells) if cell in bad)
        return list(map(memo.get, cells))

    def _free_text(
        self, name: str, field: str, read: Reader, cells: list[object], slow: set[int]
    ) -> list[object]:
        if not _STR_CELLS.issuperset(map(type, cells)):
            return _each(name, field, read, cells, slow)
        texts = cast(list[str], cells)
        normal = _normalised(texts, _NORMAL[name])
        if normal is None:
            return _each(name, field, read, cells, slow)
        values: list[object] = []
        required = name == "name"
        attribute = getattr(_FIELDS, name)
        check = attribute.validator
        for index, (cell, value) in enumerate(zip(texts, normal, strict=True)):
            if not cell or cell.isspace():
                if required:
                    slow.add(index)
                values.append(None)
                continue
            if required:
                if not value or len(value) > BUSINESS_NAME_MAX or CONTROL_CHARACTER.search(value):
                    slow.add(index)  # the row parser reports it
            else:
                try:
                    check(None, attribute, value)
                except TworesError:
                    slow.add(index)
            values.append(value)
        return values


def _column(rows: Sequence[Sequence[object]], position: int | None, shortest: int) -> list[object]:
    if position is None:
        return [None] * len(rows)
    if position < shortest:
        return list(map(itemgetter(position), rows))
    return [cells[position] if position < len(cells) else None for cells in rows]


def _occupied(cells: list[object]) -> list[int]:
    """Rows whose cell holds anything but an empty or missing value."""
    if _TEXT_CELLS.issuperset(map(type, cells)) and not any(cells):
        return []
    return [i for i, cell in enumerate(cells) if cell or (cell is not None and cell != "")]


def _checked(name: str, value: object) -> object:
    """``value`` once the record's validator for field ``name`` (if any) accepts it."""
    attribute = getattr(_FIELDS, name, None)
    if value is not None and attribute is not None and attribute.validator is not None:
        attribute.validator(None, attribute, value)
    return value


def _each(name: str, field: str, read: Reader, cells: list[object], slow: set[int]) -> list[object]:
    """The row parser's reading, cell by cell (typed or unusual cells)."""
    values: list[object] = []
    for index, cell in enumerate(cells):
        try:
            values.append(_checked(name, read(cell, field)))
        except TworesError:
            slow.add(index)
            values.append(None)
    return values


def _normalised(cells: list[str], normal: _Normal) -> list[str] | None:
    """Each cell as the row parser normalises it (invisible characters dropped, NFKC,
    trimmed, inner whitespace collapsed or dropped, upper-cased), for the whole column at
    once; None when a cell holds a line break or an apostrophe, full-width too (then the
    column is read cell by cell).

    NFKC never composes across a line feed, so normalising the joined column equals
    normalising each cell.
    """
    joined = "\n".join(cells)
    if "'" in joined:  # perhaps a leading apostrophe, which v.clean takes off
        return None
    if not joined.isascii():
        if INVISIBLE.search(joined):  # zero-width characters go before NFKC, as in v.clean
            joined = INVISIBLE.sub("", joined)
        joined = unicodedata.normalize("NFKC", joined)
        if "'" in joined:  # a full-width apostrophe (＇), an apostrophe once NFKC folds it
            return None
    if normal.drop_dashes:
        joined = joined.replace("-", "")
    if normal.upper:
        joined = joined.upper()
    parts = joined.split("\n")
    if len(parts) != len(cells):
        return None
    if _SPACE_BUT_NEWLINE.search(joined):
        glue = normal.glue
        return [glue.join(part.split()) for part in parts]
    return parts
