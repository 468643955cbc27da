"""Visit sheets (督导记录): one row per visit, every bad field reported."""

from __future__ import annotations

import re

import attrs

from twores.core.businesses import canonical_licence
from twores.core.errors import InvalidValueError
from twores.core.problems import Severity, real_findings
from twores.core.supervision import (
    NATIONAL_CHECKLIST,
    Answer,
    VisitMode,
    check_evidence,
    visit_key,
)
from twores.services.sheets import values as v
from twores.services.sheets.columns import map_columns
from twores.services.sheets.parsing import (
    ParseResult,
    RowError,
    _duplicates,
    _header_errors,
    _positions,
    _RowReader,
)
from twores.services.sheets.reading import Table
from twores.services.supervision import VisitInput

_SPLIT = re.compile(r"[；;、\n]+")
_ANSWER = re.compile(r"^\s*([A-Za-z]\d+)\s*[:：=]\s*(\S+)\s*$")


@attrs.frozen
class VisitRow:
    row: int
    serial: str | None
    visit: VisitInput


def split_items(value: object, field: str) -> tuple[str, ...]:
    text = v.text(value, field)
    return tuple(p.strip() for p in _SPLIT.split(text) if p.strip()) if text else ()


def read_findings(value: object, field: str) -> tuple[str, ...]:
    """The problems a 发现问题 cell names: "无", "未发现问题" and the like name none."""
    return real_findings(split_items(value, field), field)


def _answers(value: object, field: str) -> tuple[tuple[str, str], ...]:
    """``M1:符合；P1:不符合`` -> (("M1", "符合"), ("P1", "不符合")): items of the national
    checklist (the one a sheet's visits are recorded against), answers it knows."""
    found: list[tuple[str, str]] = []
    parsed: dict[str, Answer] = {}
    for item in split_items(value, field):
        match = _ANSWER.match(item)
        if match is None:
            raise InvalidValueError(
                field, item, "应形如 M1:符合；P1:不符合", "expected e.g. M1:yes; P1:no"
            )
        code, answer = match.group(1).upper(), match.group(2)
        parsed[code] = Answer.parse(answer, field=field)
        found.append((code, answer))
    NATIONAL_CHECKLIST.check(parsed)
    return tuple(found)


def _evidence(value: object, field: str) -> tuple[str, ...]:
    """Evidence digests (SHA-256 hex; upper case read as lower)."""
    digests = tuple(d.lower() for d in split_items(value, field))
    for digest in digests:
        check_evidence(digest)
    return digests


def _mode(value: object, field: str) -> str | None:
    text = v.text(value, field)
    return None if text is None else VisitMode.parse(text, field=field).zh


def _severity(value: object, field: str) -> str | None:
    text = v.text(value, field)
    return None if text is None else Severity.parse(text, field=field).zh


def parse_visits(table: Table) -> ParseResult[VisitRow]:
    columns = map_columns("visits", table.header)
    errors = _header_errors("visits", table, columns)
    if errors:
        return ParseResult([], errors, columns)
    positions = _positions(table, columns)
    rows: list[VisitRow] = []
    for row in table.rows:
        r = _RowReader(row, positions, columns, table.formulas.get(row.number))
        key = r.get("business_key", lambda x, f: v.text(x, f, required=True))
        cadre = r.get("cadre_id", lambda x, f: v.text(x, f, required=True))
        day = r.get("visited_on", v.day)
        if day is None and not any(e.column == r.column("visited_on") for e in r.errors):
            r.fail(
                "visited_on",
                r.raw("visited_on"),
                InvalidValueError("visited_on", "", "必填项为空", "a value is required"),
            )
        mode = r.get("mode", _mode) or "现场"
        findings = r.get("findings", read_findings) or ()
        evidence = r.get("evidence", _evidence) or ()
        answers = r.get("answers", _answers) or ()
        late = r.get("late_reason", v.text)
        severity = r.get("severity", _severity) or Severity.MINOR.zh
        if r.errors or key is None or cadre is None or day is None:
            errors.extend(r.errors)
            continue
        visit = VisitInput(
            canonical_licence(key), cadre, day, mode, answers, evidence, findings, late, severity
        )
        rows.append(VisitRow(row.number, row.serial, visit))
    # one row per visit (business, day, cadre): a second is refused, never merged
    kept, repeated = _duplicates(
        rows,
        lambda r: visit_key(r.visit.business_key, r.visit.visited_on, r.visit.cadre_id),
        lambda r: (r.row, r.serial),
        columns.get("business_key", "许可证编号"),
        lambda r: r.visit.business_key,
    )
    return ParseResult(kept, errors + repeated, columns)


def row_error(row: VisitRow, column: str, value: object, error: Exception) -> RowError:
    """A service's refusal of one visit, placed at its row."""
    zh = str(getattr(error, "reason_zh", None) or getattr(error, "message_zh", error))
    en = str(getattr(error, "reason_en", None) or getattr(error, "message_en", error))
    code = getattr(error, "code", "rejected")
    return RowError(row.row, row.serial, column, cell_text(value), zh, en, code)


def cell_text(value: object) -> str:
    """A visit field as its sheet cell spells it: ``M1:符合；P1:不符合`` for answers,
    items joined by ； for findings and evidence."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return "；".join(":".join(v) if isinstance(v, tuple) else str(v) for v in value)
    return str(value)
