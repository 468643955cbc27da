"""Importing office ledgers (台账): all-or-nothing per file, idempotent, with a row report.

A file is parsed and checked completely before anything is written; any bad row rejects
the whole file, nothing changes, and a report naming every bad row, column and value (in
Chinese and English) is written beside the input, or into the folder the caller names.
Re-importing the same data changes 0 rows and writes 0 audit entries; each file's SHA-256
is recorded, so a replay is reported.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
from collections import defaultdict
from collections.abc import Callable, Collection, Generator, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import attrs

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy, Tier
from twores.core.assignment import Assignment, AssignmentReason
from twores.core.audit import now_iso
from twores.core.businesses import FoodBusiness, canonical_phone
from twores.core.cadres import Cadre
from twores.core.errors import (
    DateAheadError,
    HierarchyError,
    InvalidAreaCodeError,
    InvalidValueError,
    StructureError,
    TworesError,
)
from twores.core.gc import gc_paused
from twores.core.periods import last_day, today
from twores.core.ports import ImportRecord, Store, UnitOfWork, UpsertResult
from twores.core.roster import RuleBook
from twores.core.security import Scope, ScopeError
from twores.divisions import division_files
from twores.services.assignment_checks import imported_assignment_errors
from twores.services.assignments import (
    end_closed_assignments,
    end_moved_assignments,
    upsert_cadres,
)
from twores.services.credit_codes import by_credit_code, file_by_credit_code
from twores.services.lookups import IMPORTING, check_office, in_scope
from twores.services.sheets.ahead import can_parse_ahead, parsed_ahead, worth_parsing_ahead
from twores.services.sheets.columns import unread_columns
from twores.services.sheets.kept import Absent
from twores.services.sheets.packed import pack_business_chunk, unpack_business_chunk
from twores.services.sheets.parsing import (
    AssignmentRow,
    BusinessRow,
    CadreRef,
    OutOfScopeError,
    ParseResult,
    RowError,
    iter_business_chunks,
    parse_areas,
    parse_assignments,
    parse_cadres,
    person_key,
    read_sheet,
)
from twores.services.sheets.reading import Table, no_such_file
from twores.services.sheets.report import (
    MAX_LISTED_ERRORS,
    listed,
    remove_stale_report,
    written_report,
)
from twores.services.sheets.values import compact_name

KINDS = ("areas", "businesses", "cadres", "assignments")

#: The ledger kinds an import takes, in the order the form offers them: (zh, en).
IMPORT_KINDS = {
    "businesses": ("包保主体", "businesses"),
    "cadres": ("包保干部", "cadres"),
    "assignments": ("包保关系", "assignments"),
    "areas": ("区划", "areas"),
}


def import_kinds(scope: Scope) -> tuple[str, ...]:
    """The kinds ``scope`` may import: areas only with no area of its own (storage refuses
    areas to any scope with one), none unless it keeps the ledgers."""
    if not scope.keeps_ledgers:
        return ()
    return tuple(k for k in IMPORT_KINDS if k != "areas" or scope.area_code is None)


def check_import_kind(scope: Scope, kind: str, *, writing: bool = True) -> None:
    """Refuse an unknown kind, or (``writing``) one ``scope`` may not import, before the
    file is read."""
    if kind not in IMPORT_KINDS:
        raise InvalidValueError(
            "kind",
            kind,
            f"不是可选值（可选：{'、'.join(IMPORT_KINDS)}）",
            f"is not an allowed value (one of: {', '.join(IMPORT_KINDS)})",
        )
    if not writing:
        return
    check_office(scope, IMPORTING)
    if kind not in import_kinds(scope):
        who_zh = f"{scope.actor}（{scope.role.zh}，辖区 {scope.area_code or '全国'}）"
        who_en = f"{scope.actor} ({scope.role.en}, scope {scope.area_code or 'all'})"
        raise ScopeError(
            f"{who_zh}不能导入{IMPORT_KINDS[kind][0]}（类型 kind “{kind}”）："
            "区划只能由不限辖区（全国）的账号导入",
            f"{who_en} may not import {kind} (kind {kind!r}): "
            "areas are imported only by an account scoped nationwide",
        )


@attrs.frozen
class ImportReport:
    """What an import did (or, when rejected, why not)."""

    kind: str
    path: Path
    sha256: str
    rows: int
    records: UpsertResult
    assignments: UpsertResult
    errors: tuple[RowError, ...]
    report_path: Path | None
    replay: bool
    dry_run: bool
    #: Named columns of the file that no field reads (法定代表人, 备注, …): not imported.
    unread_columns: tuple[str, ...] = ()
    #: Why the report of a refused file could not be written (``report_path`` is then
    #: None): also the first of ``errors``, at row 0, so whoever shows the errors shows it.
    report_error: RowError | None = None
    #: Rows of the file skipped as totals rows (合计 20户: a total, no key): not imported.
    totals_rows: tuple[int, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.errors


def file_sha256(path: Path) -> str:
    """Of a file's bytes; of a division folder, its division files' names and bytes."""
    if not path.exists():
        raise no_such_file(path)
    digest = hashlib.sha256()
    folder = path.is_dir()
    for file in division_files(path) if folder else [path]:
        if folder:
            digest.update(f"{file.name}\0".encode())
        with file.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def import_file(
    app: Twores,
    store: Store,
    scope: Scope,
    kind: str,
    path: str | Path,
    *,
    on: date | None = None,
    dry_run: bool = False,
    report_dir: str | Path | None = None,
    parse_ahead: bool | None = None,
) -> ImportReport:
    """Import one ledger file of ``kind`` (areas, businesses, cadres, assignments).

    On any error nothing changes and the row-level report is written into ``report_dir``
    (default: beside the file). ``parse_ahead``: parse a business ledger in a forked
    process while this one writes (``sheets/ahead.py``); by default when
    :func:`worth_parsing_ahead` (a large file, two cores, no other thread but daemons). A
    server passes False; True forks even beside other threads (never in a daemonic
    process, which may have no children)."""
    check_import_kind(scope, kind, writing=not dry_run)
    source = Path(path)
    reports = None if report_dir is None else Path(report_dir)
    sha = file_sha256(source)
    day = on or today()
    rules = app.plugins.rulebook()
    ahead = (
        worth_parsing_ahead(source) if parse_ahead is None else parse_ahead and can_parse_ahead()
    )
    sheet = _Sheet(source, [], [], ahead)
    with store.unit_of_work(scope) as uow:
        uow.claim_writes()  # before the replay check: a file imported at once is a replay
        replay = uow.imports.find(sha) is not None
        importer = _IMPORTERS[kind]
        with gc_paused():  # a large import creates no cycles; GC rescans cost ~9%
            try:
                rows, errors, records, linked = importer(uow, sheet, rules, day)
            except (HierarchyError, StructureError, ScopeError, InvalidAreaCodeError) as error:
                # met on writing (an area that holds records moved, say)
                rows, errors = 0, written_errors(error)
                records = linked = UpsertResult()
        if errors:
            errors = listed(errors)
            report, unwritten = written_report(errors, source, reports)
            return ImportReport(
                kind,
                source,
                sha,
                rows,
                UpsertResult(),
                UpsertResult(),
                tuple(errors if unwritten is None else [unwritten, *errors]),
                report,
                replay,
                dry_run,
                tuple(sheet.unread),
                unwritten,
                sheet.totals_rows(),
            )
        if not replay and not dry_run:
            uow.imports.record(
                ImportRecord(
                    sha,
                    kind,
                    source.name,
                    scope.actor,
                    now_iso(),
                    rows,
                    records.inserted + linked.inserted,
                    records.updated + linked.updated,
                )
            )
        if dry_run:
            uow.rollback()
        else:
            uow.commit()
    if not dry_run:
        remove_stale_report(source, reports)  # the report of an earlier, rejected try of this file
    return ImportReport(
        kind,
        source,
        sha,
        rows,
        records,
        linked,
        (),
        None,
        replay,
        dry_run,
        tuple(sheet.unread),
        totals_rows=sheet.totals_rows(),
    )


Outcome = tuple[int, list[RowError], UpsertResult, UpsertResult]


@attrs.frozen
class _Sheet:
    """The file an importer reads; reading it as a sheet notes the columns nothing reads
    and (once read through) the totals rows it skipped."""

    path: Path
    unread: list[str]
    tables: list[Table]
    parse_ahead: bool = False

    def read(self, kind: str) -> Table:
        table = read_sheet(self.path, kind)
        self.unread.extend(unread_columns(kind, table.header))
        self.tables.append(table)
        return table

    def business_chunks(self, hierarchy: Hierarchy) -> Generator[ParseResult[BusinessRow]]:
        table = self.read("businesses")
        parse = functools.partial(iter_business_chunks, hierarchy=hierarchy)
        if not self.parse_ahead:
            return parse(table)
        return parsed_ahead(
            table,
            parse,
            functools.partial(read_sheet, self.path, "businesses"),
            pack_business_chunk,
            unpack_business_chunk,
        )

    def totals_rows(self) -> tuple[int, ...]:
        return tuple(sorted({row for table in self.tables for row in table.totals}))


def written_errors(error: TworesError) -> list[RowError]:
    """What refused a write, as report entries (row 0: the file as a whole): one per bad
    value a hierarchy or record error lists, else the error itself."""
    found: tuple[InvalidValueError, ...] = ()
    if isinstance(error, HierarchyError):
        found = error.problems
    elif isinstance(error, StructureError):
        found = error.errors
    elif isinstance(error, InvalidValueError):
        found = (error,)
    if not found:
        return [RowError(0, None, "", "", error.message_zh, error.message_en, error.code)]
    return [
        RowError(0, None, e.field, str(e.value), e.reason_zh, e.reason_en, e.code) for e in found
    ]


def _import_areas(uow: UnitOfWork, source: _Sheet, rules: RuleBook, on: date) -> Outcome:
    parsed = parse_areas(source.path)
    if parsed.errors:
        return (
            len(parsed.rows) + len(parsed.errors),
            list(parsed.errors),
            UpsertResult(),
            UpsertResult(),
        )
    return len(parsed.rows), [], uow.areas.upsert_many(parsed.rows), UpsertResult()


def _import_cadres(uow: UnitOfWork, source: _Sheet, rules: RuleBook, on: date) -> Outcome:
    hierarchy, scope_area = uow.areas.hierarchy(), uow.scope.area_code
    parsed: ParseResult[Cadre] = parse_cadres(source.read("cadres"), hierarchy, scope_area)
    if parsed.errors:
        return _count(parsed), list(parsed.errors), UpsertResult(), UpsertResult()
    cadres, errors = _same_people(uow, parsed)
    if errors:
        return _count(parsed), errors, UpsertResult(), UpsertResult()
    kept = _keep_unsaid_of_cadres(uow, cadres, parsed)
    return len(parsed.rows), [], *upsert_cadres(uow, kept, on=on)


#: Cadre fields a sheet may leave out; a stored cadre keeps them (a roster without
#: 身份证号 or 任职截止日期 erases no ID number and brings back no one who left).
_CADRE_OPTIONAL = ("post", "phone", "id_number", "active_from", "active_to")


def _keep_unsaid_of_cadres(
    uow: UnitOfWork, cadres: list[Cadre], parsed: ParseResult[Cadre]
) -> list[Cadre]:
    absent = [f for f in _CADRE_OPTIONAL if f not in parsed.columns]
    if "active_from" in parsed.columns or "active_to" in parsed.columns:  # a pair, kept whole
        absent = [f for f in absent if f not in ("active_from", "active_to")]
    if not absent:
        return cadres
    stored = uow.cadres.get_many([c.id for c in cadres])
    return [
        attrs.evolve(c, **{f: getattr(stored[c.id], f) for f in absent}) if c.id in stored else c
        for c in cadres
    ]


def _same_people(uow: UnitOfWork, parsed: ParseResult[Cadre]) -> tuple[list[Cadre], list[RowError]]:
    """Rows without a 干部编号 (``unnamed``, by provisional id) are identified by area, name
    and phone: the cadre stored so keeps their id (re-importing a roster changes nothing).
    A row whose phone changed is still the person stored under that name in that area —
    when exactly one is (with the same post, where both give one) and no other row claims
    them; one whose name and phone are one cadre's elsewhere is that cadre, moved. Anyone
    else is new, with an id of the area and a random part: nothing of a phone or an ID
    number (a masked list shows the id beside most of the phone)."""
    cadres, unnamed = list(parsed.rows), parsed.unnamed
    new = [c for c in cadres if c.id in unnamed]
    if not new:
        return cadres, []
    hierarchy = uow.areas.hierarchy()
    areas = {c.area_code for c in new}
    by_person: dict[str, list[Cadre]] = defaultdict(list)
    by_name: dict[tuple[str, str], list[Cadre]] = defaultdict(list)
    for county in sorted({_county_of(hierarchy, area) for area in areas}):
        for known in uow.cadres.stream(within=county):
            if known.area_code in areas:
                name = compact_name(known.name)  # as sheets now read name and phone
                phone = canonical_phone(known.phone)
                by_person[person_key(known.area_code, name, phone)].append(known)
                if known.active_to is None:  # not one who left
                    by_name[known.area_code, name].append(known)
    taken = {c.id for c in cadres if c.id not in unnamed}
    renamed: dict[str, str] = {}
    errors: list[RowError] = []
    for cadre in new:  # the same person as stored: first, so no namesake claims them
        who = person_key(cadre.area_code, cadre.name, cadre.phone)
        same = [k for k in by_person.get(who, []) if k.id not in taken]
        serving = [k for k in same if k.active_to is None]
        if len(same) > 1 and len(serving) == 1:
            same = serving
        if len(same) == 1:
            renamed[cadre.id] = same[0].id
            taken.add(same[0].id)
        elif same:
            column = parsed.columns.get("name", "包保干部姓名")
            errors.append(_ambiguous_person(cadre, same, unnamed[cadre.id], column))
    if errors:
        return cadres, errors
    for cadre in new:
        if cadre.id in renamed:
            continue
        same = [
            k
            for k in by_name.get((cadre.area_code, cadre.name), [])
            if k.id not in taken and (not k.post or not cadre.post or k.post == cadre.post)
        ]
        if len(same) == 1:
            renamed[cadre.id] = same[0].id
            taken.add(same[0].id)
    renamed |= _moved_people([c for c in new if c.id not in renamed], uow, taken)
    renamed |= _new_ids(uow, [c for c in new if c.id not in renamed], taken)
    return [attrs.evolve(c, id=renamed[c.id]) if c.id in renamed else c for c in cadres], []


def _county_of(hierarchy: Hierarchy, area: str) -> str:
    """The county a record of ``area`` is filed under (the area itself above county level)."""
    return hierarchy.ancestor_codes(area).get(Tier.COUNTY, area)


def _ambiguous_person(
    cadre: Cadre, same: list[Cadre], where: tuple[int, str | None], column: str
) -> RowError:
    row, serial = where
    ids = "、".join(sorted(k.id for k in same))
    return RowError(
        row,
        serial,
        column,
        cadre.name,
        f"该区划有 {len(same)} 名干部姓名、电话都相同（{ids}）：请填写干部编号以区分",
        f"{len(same)} cadres of this area share this name and phone ({ids}): give the cadre "
        "id (干部编号) to tell them apart",
        "ambiguous_cadre",
    )


def _new_ids(uow: UnitOfWork, new: list[Cadre], taken: set[str]) -> dict[str, str]:
    """An id for each new person: the area and 8 random hex digits, held by no one."""
    made: dict[str, str] = {}
    wanted = list(new)
    while wanted:
        ids = {c.id: f"{c.area_code}-{_random_part()}" for c in wanted}
        held = taken | set(made.values()) | set(uow.cadres.get_many(ids.values()))
        fresh: dict[str, str] = {}
        for provisional, made_id in ids.items():
            if made_id not in held and made_id not in fresh.values():
                fresh[provisional] = made_id
        made |= fresh
        wanted = [c for c in wanted if c.id not in fresh]
    return made


def _random_part() -> str:
    return secrets.token_hex(4)


def _moved_people(new: list[Cadre], uow: UnitOfWork, taken: set[str]) -> dict[str, str]:
    """Rows still new whose name and phone are those of exactly one serving cadre stored
    in another area (and claimed by no other row): that person, moved there."""
    phoned = [c for c in new if c.phone]
    if not phoned:
        return {}
    by_person: dict[tuple[str, str | None], list[Cadre]] = defaultdict(list)
    for known in uow.cadres.stream():
        if known.active_to is None and known.id not in taken:
            by_person[compact_name(known.name), canonical_phone(known.phone)].append(known)
    moved: dict[str, str] = {}
    for cadre in phoned:
        same = by_person.get((cadre.name, cadre.phone), [])
        if len(same) == 1 and same[0].area_code != cadre.area_code and same[0].id not in taken:
            moved[cadre.id] = same[0].id
            taken.add(same[0].id)
    return moved


def _count(parsed: ParseResult[Any]) -> int:
    return len(parsed.rows) + len({e.row for e in parsed.errors})


def _import_businesses(uow: UnitOfWork, source: _Sheet, rules: RuleBook, on: date) -> Outcome:
    """Stream the sheet in chunks inside one transaction: memory stays bounded, and any
    error anywhere still rolls everything back (the caller never commits)."""
    hierarchy = uow.areas.hierarchy()
    resolver = CadreResolver(uow.cadres.stream(), hierarchy, uow.scope.area_code)
    errors: list[RowError] = []
    links: dict[str, str] = {}
    closed: dict[str, date] = {}
    moved_to: dict[str, str] = {}  # business key -> the area this file moves it to
    inside = _scope_test(hierarchy, uow.scope)
    entered_on = today()
    records = UpsertResult()
    rows = 0
    chunks = source.business_chunks(hierarchy)
    stored = bool(uow.businesses.page(limit=1))  # before this file's own rows
    seen: dict[str, int] = {}  # business key -> the row of the file filing it
    read_through = 0  # the last row read
    writing = True  # until a write is refused for the file as a whole
    unread_after: int | None = None  # read_through, when reading stopped at the error limit
    with uow.businesses.bulk_load(), contextlib.closing(chunks):
        for chunk in chunks:
            if len(errors) >= MAX_LISTED_ERRORS:
                unread_after = read_through
                break
            rows += len(chunk.rows) + len({e.row for e in chunk.errors})
            read_through = max([read_through, *(r.row for r in chunk.rows[-1:])])
            read_through = max([read_through, *(e.row for e in chunk.errors)])
            errors.extend(chunk.errors)
            chunk = file_by_credit_code(uow, chunk, errors, in_scope=stored, seen=seen)
            absent = Absent.of(chunk.columns)
            if stored and (absent or any(r.blank for r in chunk.rows)):
                chunk = _keep_unsaid(uow, chunk, absent, errors)
            unfit: set[int] = set()  # rows whose business is not to be stored
            for row in chunk.rows:
                if not inside(row.business.area_code):
                    errors.append(_outside(row, uow.scope, chunk.columns))
                    unfit.add(row.row)
                    continue
                ahead = _dated_ahead(row, chunk.columns, entered_on)
                if ahead:
                    errors.extend(ahead)
                    unfit.add(row.row)
                    continue
                if row.cadre is None:
                    if not row.business.status.in_scope:
                        closed[row.business.key] = row.business.status_since or on
                    continue
                cadre, error = resolver.resolve(row, chunk.columns)
                if error is None:
                    assert cadre is not None
                    error = (
                        _closed_error(row, cadre, chunk.columns)
                        or _inactive_error(row, cadre, chunk.columns, on)
                        or _tier_error(row, cadre, chunk.columns, rules, on)
                    )
                if error is not None:
                    errors.append(error)
                else:
                    links[row.business.key] = cadre.id  # type: ignore[union-attr]
            # Written even after an error (the file is then rolled back): what the store
            # refuses (a business filed outside the jurisdiction, moved to another county)
            # is reported with the rest, not only once the rest is corrected.
            fit = [r for r in chunk.rows if r.row not in unfit] if unfit else chunk.rows
            if not writing:
                continue
            try:
                written = uow.businesses.upsert_many(r.business for r in fit)
                records += written
                moved_to.update(_moved_areas(fit, written.moved))
            except ScopeError as refused:
                if not refused.keys:
                    writing = _refused_with(errors, refused)
                errors += _filed_outside(fit, refused, chunk.columns)
            except (StructureError, InvalidAreaCodeError) as refused:
                moved = _moved_county(fit, refused, chunk.columns)
                if not moved:
                    writing = _refused_with(errors, refused)
                errors += moved
    if errors:
        return rows, listed(errors, unread_after=unread_after), UpsertResult(), UpsertResult()
    # A business moved out of its cadre's area is held by them no longer (before the
    # ledger's own links: a row naming its new cadre then replaces an ended assignment).
    linked = end_moved_assignments(uow, {k: a for k, a in moved_to.items() if k not in closed}, on)
    linked += uow.assignments.upsert_many(_assignments_for(uow, links, on))
    if closed:  # a business the ledger closes or revokes is held by no one from that day
        linked += end_closed_assignments(uow, closed)
    return rows, [], records, linked


def _refused_with(errors: list[RowError], refused: TworesError) -> bool:
    """A write refused for the file as a whole (an area that breaks the hierarchy, say):
    raised as such when nothing else is wrong (:func:`import_file` reports it), else added
    to the row errors found before it; no later chunk is written (False)."""
    if not errors:
        raise refused
    errors += written_errors(refused)
    return False


def _moved_areas(rows: list[BusinessRow], moved: Collection[str]) -> dict[str, str]:
    """Of ``rows``, those whose business was ``moved``: key -> its new area."""
    if not moved:
        return {}
    keys = set(moved)
    return {r.business.key: r.business.area_code for r in rows if r.business.key in keys}


def _keep_unsaid(
    uow: UnitOfWork, chunk: ParseResult[BusinessRow], absent: Absent, errors: list[RowError]
) -> ParseResult[BusinessRow]:
    """The chunk's businesses with the fields their sheet has no column for, or their row
    left blank, kept as stored (a ledger without staff columns re-imported never erases the
    staff; a blank 经营状态 never reopens a closed business)."""
    found = uow.businesses.get_many([r.business.key for r in chunk.rows if absent or r.blank])
    kept: list[BusinessRow] = []
    for row in chunk.rows:
        before = found.get(row.business.key)
        if before is None:  # new, or nothing of it left unsaid
            kept.append(row)
            continue
        try:
            kept.append(attrs.evolve(row, business=absent.keep(before, row.business, row.blank)))
        except InvalidValueError as error:
            column = chunk.columns.get(error.field, error.field)
            errors.append(_at_row(row, column, str(error.value), error))
    return attrs.evolve(chunk, rows=kept)


def _at_row(row: BusinessRow, column: str, value: str, error: InvalidValueError) -> RowError:
    """``error`` reported at ``row``, in ``column``, of ``value``."""
    return RowError(
        row.row, row.serial, column, value, error.reason_zh, error.reason_en, error.code
    )


#: A business's dates that a ledger records once they happened.
_PAST_DATES = ("opened_on", "status_since")


def _dated_ahead(row: BusinessRow, columns: dict[str, str], entered_on: date) -> list[RowError]:
    """A row error for each of the business's past dates that lies after the day of import
    (a typo such as 2062 for 2026 would hide the business from every count until then)."""
    errors = []
    for field in _PAST_DATES:
        day = getattr(row.business, field)
        if day is not None and day > entered_on:
            column = columns.get(field, field)
            error = DateAheadError(
                field,
                day.isoformat(),
                f"晚于导入之日（{entered_on.isoformat()}）：应为已发生的日期",
                f"after the day of import ({entered_on.isoformat()}): it must have happened",
            )
            errors.append(_at_row(row, column, day.isoformat(), error))
    return errors


def _filed_outside(
    rows: list[BusinessRow], refused: ScopeError, columns: dict[str, str]
) -> list[RowError]:
    """The rows whose business is stored outside the caller's jurisdiction (another
    county's licence number, say): each named at the column its key came from."""
    keys = set(refused.keys)
    errors = []
    for row in rows:
        business = row.business
        if business.key not in keys:
            continue
        field = "licence_no" if business.licence_no else "uscc"
        column = columns.get(field, "许可证编号" if business.licence_no else "统一社会信用代码")
        errors.append(
            RowError(
                row.row,
                row.serial,
                column,
                business.key,
                "该编号的主体已登记在辖区外，不能由本辖区导入修改（请核对编号，或由其所在辖区处理）",
                "a business with this number is filed outside your jurisdiction and cannot be "
                "changed by your import (check the number, or ask its own office)",
                refused.code,
            )
        )
    return errors


def _moved_county(
    rows: list[BusinessRow], refused: TworesError, columns: dict[str, str]
) -> list[RowError]:
    """The rows whose business the store refused to move to another county, at their
    所属区划 with the store's reason (each error names ``<key>.area_code``); none unless
    every error the store gave names a row's business so."""
    found = refused.errors if isinstance(refused, StructureError) else (refused,)
    by_key = {row.business.key: row for row in rows}
    errors = []
    column = columns.get("area", "所属区划")
    for error in found:
        key = error.field.removesuffix(".area_code") if isinstance(error, InvalidValueError) else ""
        if not isinstance(error, InvalidAreaCodeError) or key == error.field or key not in by_key:
            return []
        row = by_key[key]
        errors.append(_at_row(row, column, row.business.area_code, error))
    return errors


def _scope_test(hierarchy: Hierarchy, scope: Scope) -> Callable[[str], bool]:
    """Whether an area lies in ``scope``, asked once per distinct area of a file."""
    if scope.area_code is None:
        return lambda _: True
    return functools.cache(lambda area: in_scope(hierarchy, scope, area))


def _outside(row: BusinessRow, scope: Scope, columns: dict[str, str]) -> RowError:
    """A row filed in an area outside the caller's jurisdiction (said so, rather than that
    its cadre cannot be found among the cadres the caller sees)."""
    area = row.business.area_code
    error = OutOfScopeError("area", area, scope.area_code or "")
    column = columns.get("area", "所属区划")
    return _at_row(row, column, area, error)


def _closed_error(row: BusinessRow, cadre: Cadre, columns: dict[str, str]) -> RowError | None:
    """A closed or revoked business is held by no cadre."""
    status = row.business.status
    if status.in_scope:
        return None
    return _cadre_refused(
        row,
        cadre,
        columns,
        f"已{status.zh}的主体不再包保，不能指定包保干部",
        f"a {status.en} business is no longer assigned a cadre",
        "closed_business",
    )


def _inactive_error(
    row: BusinessRow, cadre: Cadre, columns: dict[str, str], on: date
) -> RowError | None:
    """A cadre who has left (or not yet started) holds no business from ``on``."""
    if cadre.is_active(on):
        return None
    left = cadre.active_to is not None and cadre.active_to <= on
    served = last_day(cadre.active_to)  # as the roster writes it
    when_zh = f"任职已于 {served} 截止" if left else f"自 {cadre.active_from} 起才在岗"
    when_en = f"served until {served}" if left else f"serves only from {cadre.active_from}"
    return _cadre_refused(
        row,
        cadre,
        columns,
        f"包保干部 {cadre.name}（{cadre.id}）{when_zh}，不能自 {on} 起包保主体",
        f"cadre {cadre.name} ({cadre.id}) {when_en}: cannot hold a business from {on}",
        "inactive_cadre",
    )


def _cadre_refused(
    row: BusinessRow, cadre: Cadre, columns: dict[str, str], zh: str, en: str, code: str
) -> RowError:
    """The row's cadre refused, at the cadre's name."""
    column = columns.get("cadre_name", "包保干部姓名")
    return RowError(row.row, row.serial, column, cadre.name, zh, en, code)


def _tier_error(
    row: BusinessRow, cadre: Cadre, columns: dict[str, str], rules: RuleBook, on: date
) -> RowError | None:
    grade = rules.grade_of(row.business, on)
    tier = rules.tier_of(grade, on, row.business.area_code)
    if cadre.tier is tier:
        return None
    if "cadre_tier" in columns:  # the cell, as the sheet gives the cadre's tier
        stated = row.cadre.tier if row.cadre is not None and row.cadre.tier else cadre.tier
        column, value = columns["cadre_tier"], stated.zh
    elif "grade" in columns:
        column, value = columns["grade"], grade.zh
    else:
        column, value = columns.get("cadre_name", "包保干部姓名"), cadre.name
    return RowError(
        row.row,
        row.serial,
        column,
        value,
        f"该主体应由{tier.zh}干部包保，{cadre.name}为{cadre.tier.zh}干部",
        f"the business needs a {tier.en} cadre; {cadre.name} is {cadre.tier.en}",
        "tier_mismatch",
    )


LINK_BATCH = 5_000


def _assignments_for(uow: UnitOfWork, wanted: dict[str, str], on: date) -> Iterable[Assignment]:
    """Assignments the ledger implies: keep a matching active one, else end and replace;
    a replacement ends where a holder already assigned from a later day takes over.

    Looks up the businesses' assignments a batch of businesses at a time.
    """
    keys = sorted(wanted)
    for start in range(0, len(keys), LINK_BATCH):
        batch = keys[start : start + LINK_BATCH]
        active: dict[str, list[Assignment]] = defaultdict(list)
        takeover: dict[str, date] = {}
        for assignment in uow.assignments.stream(business_keys=batch):
            key, begins = assignment.business_key, assignment.valid_from
            if assignment.is_active(on):
                active[key].append(assignment)
            elif begins > on and begins < takeover.get(key, date.max):
                takeover[key] = begins
        for key in batch:
            held = active.get(key, [])
            kept = [a for a in held if a.cadre_id == wanted[key]]
            if kept:
                yield from kept  # unchanged: counted as such
                continue
            for other in held:
                yield other.ended(on)
            yield Assignment(wanted[key], key, on, takeover.get(key), AssignmentReason.IMPORTED)


def _import_assignments(uow: UnitOfWork, source: _Sheet, rules: RuleBook, on: date) -> Outcome:
    hierarchy = uow.areas.hierarchy()
    parsed = parse_assignments(source.read("assignments"))
    errors = list(parsed.errors)
    resolver = CadreResolver(uow.cadres.stream(), hierarchy, uow.scope.area_code)
    assignments: list[tuple[AssignmentRow, Assignment]] = []
    unseen_unchanged = 0
    for row in parsed.rows:
        business = uow.businesses.get(row.business_key)
        if business is None:
            business, error = by_credit_code(uow, row, parsed.columns)
            if error is not None:
                errors.append(error)
                continue
        if business is None:
            errors.append(
                RowError(
                    row.row,
                    row.serial,
                    parsed.columns.get("business_key", "许可证编号"),
                    row.business_key,
                    "包保主体不存在（请先导入主体）",
                    "no such business (import businesses first)",
                    "unknown_business",
                )
            )
            continue
        cadre_id = row.cadre_id
        if cadre_id is None and row.cadre is not None:
            cadre, error = resolver.resolve_for(
                row.cadre, business, row.row, row.serial, parsed.columns
            )
            if error is not None:
                errors.append(error)
                continue
            assert cadre is not None
            cadre_id = cadre.id
        if (
            cadre_id is not None
            and resolver.get(cadre_id) is None
            and _stored_as_said(uow, row, business.key, cadre_id)
        ):
            unseen_unchanged += 1  # held by a cadre above the scope, as stored
            continue
        if cadre_id is None or resolver.get(cadre_id) is None:
            errors.append(_unknown_cadre(row, cadre_id, parsed.columns, uow.scope.area_code))
            continue
        reason = row.reason or AssignmentReason.IMPORTED
        assignments.append(
            (row, Assignment(cadre_id, business.key, row.valid_from, row.valid_to, reason))
        )
    if not errors:
        errors = imported_assignment_errors(uow, rules, on, assignments, parsed.columns)
    if errors:
        return (
            _count(parsed),
            sorted(errors, key=lambda e: (e.row, e.column)),
            UpsertResult(),
            UpsertResult(),
        )
    written = uow.assignments.upsert_many(a for _, a in assignments)
    written += UpsertResult(unchanged=unseen_unchanged)
    return len(parsed.rows), [], UpsertResult(), written


def _stored_as_said(uow: UnitOfWork, row: AssignmentRow, key: str, cadre_id: str) -> bool:
    """The row's assignment is stored just so (its reason too, when the row gives one)."""
    return any(
        (a.cadre_id, a.valid_from, a.valid_to) == (cadre_id, row.valid_from, row.valid_to)
        and row.reason in (None, a.reason)
        for a in uow.assignments.stream(business_key=key)
    )


def _unknown_cadre(
    row: AssignmentRow, cadre_id: str | None, columns: dict[str, str], scope_root: str | None
) -> RowError:
    column = columns.get("cadre_id", "干部编号")
    if cadre_id and scope_root is not None:  # it may be a cadre above the scope
        return RowError(
            row.row,
            row.serial,
            column,
            cadre_id,
            f"在您的辖区（{scope_root}）内找不到该包保干部；辖区以上的干部（如县级干部）的"
            "新包保关系由上级导入（已登记的原样保留），或核对干部编号",
            f"no such cadre within your jurisdiction ({scope_root}); new assignments to cadres "
            "above it (a county cadre, say) are imported by the level above (stored ones may "
            "stay as they are) — or check the cadre id",
            "unknown_cadre",
        )
    return RowError(
        row.row,
        row.serial,
        column,
        cadre_id or "",
        "包保干部不存在（请先导入干部）",
        "no such cadre (import cadres first)",
        "unknown_cadre",
    )


_IMPORTERS = {
    "areas": _import_areas,
    "cadres": _import_cadres,
    "businesses": _import_businesses,
    "assignments": _import_assignments,
}


class CadreResolver:
    """Finds the one cadre a ledger row names; ambiguity or absence is an error, never a guess."""

    def __init__(
        self, cadres: Iterable[Cadre], hierarchy: Hierarchy, scope_root: str | None = None
    ) -> None:
        """``cadres``: those the importer sees (the subtree ``scope_root``, when given)."""
        self.hierarchy, self.scope_root = hierarchy, scope_root
        self.by_name: dict[str, list[Cadre]] = {}
        self.by_id: dict[str, Cadre] = {}
        for cadre in cadres:  # names as sheets now read them (周　敏 stored before: 周敏)
            self.by_name.setdefault(compact_name(cadre.name), []).append(cadre)
            self.by_id[cadre.id] = cadre

    def get(self, cadre_id: str) -> Cadre | None:
        return self.by_id.get(cadre_id)

    def resolve(
        self, row: BusinessRow, columns: dict[str, str]
    ) -> tuple[Cadre | None, RowError | None]:
        assert row.cadre is not None
        return self.resolve_for(row.cadre, row.business, row.row, row.serial, columns)

    def resolve_for(
        self,
        ref: CadreRef,
        business: FoodBusiness,
        row: int,
        serial: str | None,
        columns: dict[str, str],
    ) -> tuple[Cadre | None, RowError | None]:
        column = columns.get("cadre_name", "包保干部姓名")
        candidates = [
            c
            for c in self.by_name.get(ref.name, [])
            if c.area_code in self.hierarchy
            and business.area_code in self.hierarchy
            and self.hierarchy.contains(c.area_code, business.area_code)
        ]
        if ref.tier is not None:
            candidates = [c for c in candidates if c.tier is ref.tier]
        if ref.phone:
            named = candidates  # phones as sheets now read them (+86 183… stored before)
            candidates = [c for c in named if canonical_phone(c.phone) == ref.phone]
            if named and not candidates:
                return None, _phone_differs(ref, len(named), row, serial, columns)
        elif ref.post:
            candidates = [c for c in candidates if c.post == ref.post]
        if len(candidates) == 1:
            return candidates[0], None
        if not candidates and self.scope_root is not None:  # cadres above it are not seen
            root = self.scope_root
            return None, RowError(
                row,
                serial,
                column,
                ref.name,
                f"在您的辖区（{root}）内找不到该包保干部；辖区以上的干部（如县级干部）包保的"
                "主体由上级导入，或核对姓名、电话、职务",
                f"no such cadre within your jurisdiction ({root}); businesses held by cadres "
                "above it (a county cadre, say) are imported by the level above — or check the "
                "name, phone and post",
                "unknown_cadre",
            )
        if not candidates:
            return None, RowError(
                row,
                serial,
                column,
                ref.name,
                "在主体所在辖区找不到该包保干部（请先导入干部，或核对姓名、电话、职务）",
                "no such cadre over the business's area (import cadres first, or check the "
                "name, phone and post)",
                "unknown_cadre",
            )
        return None, RowError(
            row,
            serial,
            column,
            ref.name,
            f"有 {len(candidates)} 名同名干部，请填写联系电话以区分",
            f"{len(candidates)} cadres share this name; give the phone number to tell them apart",
            "ambiguous_cadre",
        )


def _phone_differs(
    ref: CadreRef, named: int, row: int, serial: str | None, columns: dict[str, str]
) -> RowError:
    """The row's cadre phone is not the phone of the cadre (or namesakes) its name finds:
    reported at the phone, the cell to check (the stored phone is not shown)."""
    column = columns.get("cadre_phone", "联系电话")
    whom_zh, whom_en = f"包保干部{ref.name}的联系电话", f"cadre {ref.name}"
    if named > 1:
        whom_zh, whom_en = f"{named} 名{whom_zh}都", f"any of the {named} cadres named {ref.name}"
    return RowError(
        row,
        serial,
        column,
        ref.phone or "",
        f"与已登记的{whom_zh}不符（请核对联系电话，或先导入更新了电话的干部名单）",
        f"the phone differs from the one stored for {whom_en} (check the phone, or import "
        "the cadre roster with the new phone first)",
        "unknown_cadre",
    )
