"""Enterprise duties (企业主体责任): routine records in, compliance and staff gaps out."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import attrs

from twores.bootstrap import Twores
from twores.core.businesses import FoodBusiness
from twores.core.convert import given_day
from twores.core.duties import (
    Ban,
    Compliance,
    DutyKind,
    DutyRecord,
    StaffProblem,
    StaffRole,
    banned_until,
    bans_from_revocations,
    duty_compliance,
    owes_period,
    staff_problems,
)
from twores.core.errors import DateAheadError, InvalidDateError, InvalidValueError, TworesError
from twores.core.periods import Period, china_time, today
from twores.core.ports import Store, UnitOfWork, UpsertResult
from twores.core.problems import Problem, ProblemSource
from twores.core.security import Scope
from twores.services.lookups import IMPORTING, business_in_scope, check_office
from twores.services.problems import NewProblem, open_many_in
from twores.services.sheets.duties import parse_duties
from twores.services.sheets.parsing import RowError, read_sheet
from twores.services.sheets.report import listed, remove_stale_report, written_report


@attrs.frozen
class DutyImportReport:
    source: Path
    rows: int
    written: UpsertResult
    errors: tuple[RowError, ...] = ()
    report_path: Path | None = None
    dry_run: bool = False
    #: Ids of the problems its weekly findings opened (a dry run: those it would open).
    problems: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.errors


class DuplicateRecordError(InvalidValueError):
    """A second row of one business's routine record for the same period."""

    code = "duplicate_key"

    def __init__(self, record: DutyRecord, first_row: int) -> None:
        super().__init__(
            "on",
            record.on.isoformat(),
            f"与第{first_row}行重复：同一主体 {record.period} 的{record.kind.zh}记录只能有一条",
            f"repeats row {first_row}: only one {record.kind.en} record per business for "
            f"{record.period}",
        )


class NotOperatingError(InvalidValueError):
    """A routine record for a period the business owed none: before it opened, or once it
    was suspended, closed or revoked (:func:`~twores.core.duties.owes_period`)."""

    code = "not_operating"

    def __init__(self, record: DutyRecord, business: FoodBusiness) -> None:
        period = record.period
        opened, since = business.opened_on, business.status_since
        if not business.opened_by(period.end) and opened is not None:
            why_zh, why_en = f"开业日期为{opened.isoformat()}", f"it opened on {opened}"
        elif since is not None:
            status = business.status
            why_zh = f"自{since.isoformat()}起{status.zh}"
            why_en = f"{status.en} since {since.isoformat()}"
        else:
            why_zh, why_en = f"状态为{business.status.zh}", f"its status is {business.status.en}"
        super().__init__(
            "on",
            record.on.isoformat(),
            f"该主体在{period}未在营（{why_zh}），不应有{record.kind.zh}记录",
            f"the business was not operating in {period} ({why_en}): no {record.kind.en} "
            "record is owed for it",
        )


class BannedFilerError(InvalidValueError):
    """A routine record filed by the business's recorded director or officer while that
    person is banned (the 5-year ban): it cannot count as kept."""

    code = "filer_banned"

    def __init__(self, record: DutyRecord, until: date) -> None:
        role = record.by_role
        super().__init__(
            "by_name",
            record.by_name,
            f"{role.zh}{record.by_name}在禁业期内（至{until.isoformat()}），"
            f"其{record.on.isoformat()}的记录不能计入",
            f"{role.en} {record.by_name} is banned until {until.isoformat()}: "
            f"their record of {record.on.isoformat()} cannot count",
        )


def import_duties(
    app: Twores,
    store: Store,
    scope: Scope,
    path: str | Path,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    report_dir: str | Path | None = None,
) -> DutyImportReport:
    """Import routine records, all or nothing; a later record for a period replaces it.
    A refused sheet's report is written into ``report_dir`` (default: beside it).

    Problems a weekly check report lists are opened in the problem ledger. A record for a
    period the business owed none (before it opened, while suspended, once closed or
    revoked: :func:`~twores.core.duties.owes_period`, as the KPIs count) is a row error
    (``not_operating``), and so is one filed by the business's recorded director or officer
    on a day that person is banned (``filer_banned``)."""
    source = Path(path)
    reports = None if report_dir is None else Path(report_dir)
    check_office(scope, IMPORTING)  # a business's records come in through its office
    written = UpsertResult()
    with store.unit_of_work(scope) as uow:
        uow.claim_writes()  # before the first read of what it writes
        seen: dict[str, FoodBusiness] = {}

        def known(key: str) -> FoodBusiness:
            if key not in seen:
                seen[key] = business_in_scope(uow, key)
            return seen[key]

        parsed = parse_duties(read_sheet(source, "duties"), known)
        errors = list(parsed.errors)
        key_column = parsed.columns.get("business_key", "许可证编号")
        records: list[DutyRecord] = []
        first_row: dict[str, int] = {}  # record key -> the sheet row that gave it
        # read once, when a filer could be under one
        revocation_bans = functools.cache(lambda: bans_from_revocations(uow.businesses.stream()))

        entered_on = china_time(now).date()
        for row in parsed.rows:
            try:
                if row.on > entered_on:
                    raise DateAheadError(
                        "on",
                        row.on.isoformat(),
                        f"晚于填报之日（{entered_on.isoformat()}）：记录不能预先填写",
                        f"after the day it is entered ({entered_on.isoformat()}): "
                        "records cannot be filed ahead",
                    )
                business = known(row.business_key)
                record = DutyRecord(
                    business.key,
                    business.area_code,
                    row.kind,
                    row.on,
                    row.by_role,
                    row.by_name,
                    row.zero_risk,
                    row.findings,
                )
                if not owes_period(business, record.period):
                    raise NotOperatingError(record, business)
                until = _filer_banned(record, business, revocation_bans)
                if until is not None:
                    raise BannedFilerError(record, until)
                if record.key in first_row:  # one record a period: refused, never merged
                    raise DuplicateRecordError(record, first_row[record.key])
                first_row[record.key] = row.row
                records.append(record)
            except InvalidValueError as error:
                column = parsed.columns.get(error.field, key_column)
                shown = row.by_role.zh if error.field == "by_role" else str(error.value)
                errors.append(
                    RowError(
                        row.row,
                        row.serial,
                        column,
                        shown,
                        error.reason_zh,
                        error.reason_en,
                        error.code,
                    )
                )
        opened: list[Problem] = []
        if not errors:
            try:
                refiled = _refiled_weeks(uow, records)
                written = uow.duties.upsert_many(records)
                opened = _open_weekly_findings(app, uow, records, refiled, now)
            except TworesError as error:  # e.g. a record outside the caller's scope
                errors.append(
                    RowError(
                        0, None, key_column, "", error.message_zh, error.message_en, error.code
                    )
                )
        if not errors and not dry_run:
            uow.commit()
            for problem in opened:
                app.plugins.notify(problem.history[-1], problem.area_code)
    rows = len(parsed.rows) + len({e.row for e in parsed.errors})
    if errors:
        errors = listed(errors)
        report, unwritten = written_report(errors, source, reports)
        if unwritten is not None:  # the row errors still reach the caller
            errors.insert(0, unwritten)
        return DutyImportReport(source, rows, UpsertResult(), tuple(errors), report, dry_run)
    if not dry_run:
        remove_stale_report(source, reports)
    problems = tuple(p.id for p in opened)
    return DutyImportReport(source, rows, written, (), None, dry_run, problems)


def _filer_banned(
    record: DutyRecord, business: FoodBusiness, revocation_bans: Callable[[], dict[str, Ban]]
) -> date | None:
    """The last day of the ban the filer is under on the record's day, when they file as the
    business's recorded director or officer (by name); a name unlike the recorded one is
    not judged (ledgers often lack the staff)."""
    if record.by_role is StaffRole.HEAD:
        return None
    member = getattr(business.staff, record.by_role.value)
    if member is None or member.name != record.by_name:
        return None
    until = banned_until(member, record.on)
    if until is None and member.id_number:
        until = banned_until(member, record.on, revocation_bans())
    return until


def _refiled_weeks(uow: UnitOfWork, records: list[DutyRecord]) -> dict[str, DutyRecord]:
    """The stored weekly reports, by key, that ``records`` file again otherwise: re-dated
    within their week, or with findings reordered, added or dropped."""
    weekly = {r.key: r for r in records if r.kind is DutyKind.WEEKLY and r.findings}
    stored = uow.duties.get_many(list(weekly)) if weekly else {}
    return {
        key: before
        for key, before in stored.items()
        if before.findings
        and (before.on, before.findings) != (weekly[key].on, weekly[key].findings)
    }


def _open_weekly_findings(
    app: Twores,
    uow: UnitOfWork,
    records: list[DutyRecord],
    refiled: dict[str, DutyRecord],
    now: datetime | None,
) -> list[Problem]:
    """A problem for each finding of a weekly report; a finding its report, filed again,
    had already opened stays that one problem (found on the day first reported)."""
    opened = _opened_before(uow, refiled)
    news = []
    for record in records:
        if record.kind is not DutyKind.WEEKLY:
            continue
        for index, finding in enumerate(record.findings, 1):
            ref, found_on = opened.get((record.key, finding), (f"{record.key}#{index}", record.on))
            reporter = f"{record.by_role.zh}{record.by_name}"
            news.append(
                NewProblem(
                    record.business_key,
                    finding,
                    reporter,
                    found_on,
                    ProblemSource.WEEKLY_REPORT,
                    source_ref=ref,
                )
            )
    return [p for p, events in open_many_in(app, uow, news, china_time(now)) if events]


def _opened_before(
    uow: UnitOfWork, refiled: dict[str, DutyRecord]
) -> dict[tuple[str, str], tuple[str, date]]:
    """(report key, finding) -> the reference and day of the problem it opened, for the
    findings of the reports filed again."""
    found: dict[tuple[str, str], tuple[str, date]] = {}
    for business_key in sorted({r.business_key for r in refiled.values()}):
        for problem in uow.problems.stream(business_key=business_key):
            report = (problem.source_ref or "").split("#")[0]
            if problem.source is ProblemSource.WEEKLY_REPORT and report in refiled:
                key = (report, problem.description)
                if key not in found or problem.found_on < found[key][1]:
                    found[key] = (problem.source_ref or "", problem.found_on)
    return found


@attrs.frozen
class BusinessDuties:
    """One business's routine compliance over a span, and its staff gaps on the last day."""

    business_key: str
    name: str
    area_code: str
    compliance: tuple[Compliance, ...]
    staff: tuple[StaffProblem, ...]


def duty_report(
    app: Twores,
    store: Store,
    scope: Scope,
    start: date | str,
    end: date | str,
    *,
    within: str | None = None,
) -> list[BusinessDuties]:
    """Daily, weekly and monthly compliance of every business open and in scope on
    ``end``, over the periods that end within the span (a week or month its start cuts
    counts whole: its records from before ``start`` are read too) and that the business
    owed (:func:`~twores.core.duties.owes_period`: none before it opened or once it was
    suspended). Staff gaps include anyone under the 5-year ban for a business revoked
    within the caller's scope (matched by ID number). ``start`` and ``end`` may be written
    ``YYYY-MM-DD``; an ``end`` before ``start`` is refused (a reversed span would read as
    "nothing due"), and so is an ``end`` after today (staff and scope are judged on
    ``end``: a day not yet come would hide a ban in force today)."""
    start, end = given_day(start, "start"), given_day(end, "end")
    if end < start:
        raise InvalidDateError(
            "end",
            end.isoformat(),
            f"不能早于开始日期（{start.isoformat()}）",
            f"must not be before the start ({start.isoformat()})",
        )
    now = today()
    if end > now:
        raise DateAheadError(
            "end",
            end.isoformat(),
            f"晚于今天（{now.isoformat()}），尚未到来的日子不能统计",
            f"is after today ({now.isoformat()}): days not yet come cannot be counted",
        )
    found: list[BusinessDuties] = []
    owed_by = min(end, now - timedelta(days=1))  # a day not yet over owes nothing yet
    first = min(Period.containing(kind.period_kind, start).start for kind in DutyKind)
    with store.unit_of_work(scope) as uow:
        by_business: dict[str, list[DutyRecord]] = defaultdict(list)
        for record in uow.duties.stream(between=(first, end), within=within):
            by_business[record.business_key].append(record)
        # the 5-year ban of whoever ran a business since revoked, anywhere in the scope
        bans = bans_from_revocations(uow.businesses.stream())
        for business in uow.businesses.stream(within=within):
            if not business.in_scope_on(end):
                continue
            owed = functools.partial(owes_period, business)
            records = by_business.get(business.key, [])
            compliance = tuple(
                duty_compliance(records, kind, start, owed_by, owes=owed)
                if owed_by >= start
                else Compliance(kind=kind, due=0, kept=0, missing=())
                for kind in DutyKind
            )
            director = app.plugins.requires_director(business, end).value
            found.append(
                BusinessDuties(
                    business.key,
                    business.name,
                    business.area_code,
                    compliance,
                    tuple(staff_problems(business, end, director, bans)),
                )
            )
    return found
