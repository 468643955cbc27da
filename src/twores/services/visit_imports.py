"""``twores visit import``: a sheet of visits, all or nothing, with a row-level report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import attrs

from twores.bootstrap import Twores
from twores.core.errors import InvalidValueError, TworesError
from twores.core.gc import gc_paused
from twores.core.periods import china_time
from twores.core.ports import Store, UnitOfWork
from twores.core.security import Scope
from twores.core.supervision import (
    NATIONAL_CHECKLIST,
    FindingsRecordedError,
    NotAssignedError,
    WindowClosedError,
)
from twores.services.credit_codes import AmbiguousBusinessError, licensed_keys
from twores.services.sheets.parsing import RowError, read_sheet
from twores.services.sheets.report import listed, remove_stale_report, written_report
from twores.services.sheets.visits import VisitRow, parse_visits, row_error
from twores.services.supervision import VISIT_BATCH, VisitOutcome, VisitRecorder


@attrs.frozen
class VisitImportReport:
    source: Path
    rows: int
    inserted: int
    unchanged: int
    #: Tasks the sheet's new visits fulfilled (a visit recorded before credits nothing new).
    fulfilled: int
    late: int
    errors: tuple[RowError, ...] = ()
    report_path: Path | None = None
    dry_run: bool = False
    #: Visits recorded before whose answers, findings or evidence the sheet changed.
    updated: int = 0
    #: Ids of the problems the sheet's findings opened (a dry run: those it would open).
    problems: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.errors


def _column(error: Exception, columns: dict[str, str]) -> tuple[str, str]:
    if isinstance(error, NotAssignedError):
        return "cadre_id", columns.get("cadre_id", "干部编号")
    if isinstance(error, WindowClosedError):
        return "late_reason", columns.get("late_reason", "补录原因")
    if isinstance(error, FindingsRecordedError):
        return "findings", columns.get("findings", "发现问题")
    field = error.field if isinstance(error, InvalidValueError) else "business_key"
    return field, columns.get(field, columns.get("business_key", "许可证编号"))


def import_visits(
    app: Twores,
    store: Store,
    scope: Scope,
    path: str | Path,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    report_dir: str | Path | None = None,
) -> VisitImportReport:
    """Record every visit of a sheet, or none: a refused row names its column and reason
    (the report is written into ``report_dir``, default beside the sheet)."""
    source = Path(path)
    reports = None if report_dir is None else Path(report_dir)
    parsed = parse_visits(read_sheet(source, "visits"))
    errors = list(parsed.errors)
    recorded_at = china_time(now)
    inserted = updated = unchanged = fulfilled = late = 0
    outcomes: list[VisitOutcome] = []
    with gc_paused(), store.unit_of_work(scope) as uow:
        uow.claim_writes()  # before the first read of what it writes
        recorder = VisitRecorder(app, uow, recorded_at, NATIONAL_CHECKLIST)
        visits = _by_licence(uow, parsed.rows, parsed.columns, errors)
        for index, row in enumerate(visits):
            if index % VISIT_BATCH == 0:
                outcomes += recorder.flush()
                recorder.prefetch([r.visit for r in visits[index : index + VISIT_BATCH]])
            try:
                outcome = recorder.record(row.visit)
            except TworesError as error:
                field, column = _column(error, parsed.columns)
                errors.append(row_error(row, column, getattr(row.visit, field, ""), error))
                continue
            inserted += outcome.written.inserted
            updated += outcome.written.updated
            unchanged += outcome.written.unchanged
            fulfilled += outcome.task is not None and outcome.written.inserted > 0
            late += outcome.late
        outcomes += recorder.flush()
        if not errors and not dry_run:
            uow.commit()
            for outcome in outcomes:
                outcome.notify(app)
    rows = len(parsed.rows) + len({e.row for e in parsed.errors})
    if errors:
        errors = listed(errors)
        report, unwritten = written_report(errors, source, reports)
        if unwritten is not None:  # the row errors still reach the caller
            errors.insert(0, unwritten)
        return VisitImportReport(source, rows, 0, 0, 0, 0, tuple(errors), report, dry_run)
    if not dry_run:
        remove_stale_report(source, reports)
    opened = tuple(p.id for outcome in outcomes for p in outcome.opened)
    return VisitImportReport(
        source, rows, inserted, unchanged, fulfilled, late, (), None, dry_run, updated, opened
    )


def _by_licence(
    uow: UnitOfWork, rows: list[VisitRow], columns: dict[str, str], errors: list[RowError]
) -> list[VisitRow]:
    """The rows, each business named by credit code given by the key of the one licensed
    business stored with it (a code several share is a row error)."""
    found, shared = licensed_keys(uow, {r.visit.business_key for r in rows})
    if not found and not shared:
        return rows
    column = columns.get("business_key", "许可证编号")
    kept = []
    for row in rows:
        key = row.visit.business_key
        if key in shared:
            errors.append(
                row_error(row, column, key, AmbiguousBusinessError(column, key, shared[key]))
            )
        elif key in found:
            kept.append(attrs.evolve(row, visit=attrs.evolve(row.visit, business_key=found[key])))
        else:
            kept.append(row)
    return kept
