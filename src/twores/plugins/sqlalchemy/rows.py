"""Domain records <-> table rows (tuples in column order, mappings back)."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import attrs
import msgspec

from twores.core.areas import Area, Tier
from twores.core.assignment import Assignment, AssignmentReason
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
)
from twores.core.cadres import Cadre
from twores.core.convert import stored_builder, trusted_fields
from twores.core.duties import DutyKind, DutyRecord, StaffRole
from twores.core.letters import Letter
from twores.core.periods import Period, PeriodKind
from twores.core.problems import (
    Action,
    Problem,
    ProblemEvent,
    ProblemSource,
    ProblemStatus,
    Severity,
)
from twores.core.supervision import Answer, SupervisionTask, Visit, VisitMode
from twores.plugins.storage.common import AncestorCodes, plain, trusted

#: A row as read back: column name -> value (a dict, or SQLAlchemy's ``RowMapping``).
StoredRow = Mapping[Any, Any]

ANCESTORS = ("province_code", "city_code", "county_code", "township_code", "village_code")


_PACKED = msgspec.msgpack.Encoder()


def row_hash(values: tuple[Any, ...]) -> str:
    """A fingerprint of a record's values (packed as MessagePack: 0.8 µs a business, where
    their ``repr`` took 4.4). Rows written set-wise store "" (not known), and an upsert
    compares the columns of any row whose stored hash differs (``Keyed._upsert_batch``), so
    a hash made another way is rewritten, not taken for a change."""
    return hashlib.blake2b(_PACKED.encode(values), digest_size=16).hexdigest()


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def ancestor_values(codes: AncestorCodes) -> tuple[str | None, ...]:
    return (
        codes.province_code,
        codes.city_code,
        codes.county_code,
        codes.township_code,
        codes.village_code,
    )


@attrs.frozen
class Codec:
    """How one entity maps to its table."""

    columns: tuple[str, ...]
    fields: tuple[str, ...]
    key: Callable[[Any], str]
    values_of: Callable[[Any], tuple[Any, ...]]
    record_of: Callable[[StoredRow], Any]

    def values(self, record: Any, codes: AncestorCodes) -> tuple[Any, ...]:
        own = self.values_of(record)
        return (*ancestor_values(codes), *own, row_hash(own))

    def audit_values(self, values: tuple[Any, ...]) -> dict[str, Any]:
        own = values[len(ANCESTORS) : -1]
        return {name: _iso(value) for name, value in zip(self.fields, own, strict=True)}

    def audit(self, row: StoredRow) -> dict[str, Any]:
        return {name: _iso(row[name]) for name in self.fields}

    def record(self, row: StoredRow) -> Any:
        return self.record_of(row)


def _enum(value: Any) -> Any:
    return None if value is None else value._value_  # not .value: a descriptor call


_NO_STAFF = Staff()


def _staff_json(staff: Staff) -> str | None:
    if staff == _NO_STAFF:
        return None
    return json.dumps(plain(staff), ensure_ascii=False, sort_keys=True)


def _business_values(b: FoodBusiness) -> tuple[Any, ...]:
    return (
        b.key,
        b.area_code,
        b.name,
        b.business_type._value_,
        b.licence_no,
        b.uscc,
        _enum(b.scale),
        _enum(b.canteen_kind),
        b.diners,
        b.chain_headquarters,
        b.status._value_,
        b.status_since,
        b.opened_on,
        _enum(b.grade),
        _enum(b.risk_grade),
        _staff_json(b.staff),
    )


def maybe(read: Callable[[Any], Any], value: Any) -> Any:
    """``read(value)``, or None for NULL."""
    return None if value is None else read(value)


def _business_record(row: StoredRow) -> FoodBusiness:
    # Built directly (not through cattrs): streams of a province's businesses read this.
    # ``key`` is derived from the licence number or credit code, not a field of its own.
    staff = row["staff"]
    return trusted(
        FoodBusiness,
        name=row["name"],
        area_code=row["area_code"],
        business_type=BusinessType.of(row["business_type"]),
        licence_no=row["licence_no"],
        uscc=row["uscc"],
        scale=maybe(Scale.of, row["scale"]),
        canteen_kind=maybe(CanteenKind.of, row["canteen_kind"]),
        diners=row["diners"],
        chain_headquarters=bool(row["chain_headquarters"]),
        status=OperatingStatus.of(row["status"]),
        status_since=maybe(_day, row["status_since"]),
        opened_on=maybe(_day, row["opened_on"]),
        grade=maybe(Grade.of, row["grade"]),
        risk_grade=maybe(RiskLevel.of, row["risk_grade"]),
        staff=_staff(staff) if staff else _NO_STAFF,
    )


_STAFF_ROLES = tuple(f.name for f in attrs.fields(Staff))


def _staff(text: str) -> Staff:
    """The staff a row holds as JSON (:func:`_staff_json`), built directly like the
    business itself: through cattrs this was a fifth of reading a business."""
    data = json.loads(text)
    return trusted(Staff, **{role: _staff_member(data.get(role)) for role in _STAFF_ROLES})


def _staff_member(data: Mapping[str, Any] | None) -> StaffMember | None:
    if data is None:
        return None
    return trusted(
        StaffMember,
        name=data["name"],
        phone=data.get("phone"),
        id_number=data.get("id_number"),
        banned_until=maybe(_day, data.get("banned_until")),
    )


BUSINESS_FIELDS = (
    "key",
    "area_code",
    "name",
    "business_type",
    "licence_no",
    "uscc",
    "scale",
    "canteen_kind",
    "diners",
    "chain_headquarters",
    "status",
    "status_since",
    "opened_on",
    "grade",
    "risk_grade",
    "staff",
)
BUSINESS = Codec(
    columns=(*ANCESTORS, *BUSINESS_FIELDS, "row_hash"),
    fields=BUSINESS_FIELDS,
    key=lambda b: b.key,
    values_of=_business_values,
    record_of=_business_record,
)


def _cadre_values(c: Cadre) -> tuple[Any, ...]:
    return (
        c.id,
        c.area_code,
        c.name,
        c.tier._value_,
        c.post,
        c.phone,
        c.id_number,
        c.active_from,
        c.active_to,
    )


def _cadre_record(row: StoredRow) -> Cadre:
    return trusted(
        Cadre,
        id=row["id"],
        name=row["name"],
        tier=Tier.of(row["tier"]),
        area_code=row["area_code"],
        post=row["post"],
        phone=row["phone"],
        id_number=row["id_number"],
        active_from=maybe(_day, row["active_from"]),
        active_to=maybe(_day, row["active_to"]),
    )


CADRE_FIELDS = (
    "id",
    "area_code",
    "name",
    "tier",
    "post",
    "phone",
    "id_number",
    "active_from",
    "active_to",
)
CADRE = Codec(
    columns=(*ANCESTORS, *CADRE_FIELDS, "row_hash"),
    fields=CADRE_FIELDS,
    key=lambda c: c.id,
    values_of=_cadre_values,
    record_of=_cadre_record,
)


_AREA_FIELDS = ("code", "name", "tier", "parent_code", "valid_from", "valid_to")
_stored_area = stored_builder(Area, _AREA_FIELDS)


def area(row: Any) -> Area:
    """The area of a row of ``areas`` (its columns in table order; dates as dates or, off
    the SQLite driver, ISO text). A row holds what the area's checks derived (its parent),
    so they are not run again — but for a province-less row no store of ours wrote."""
    code, name, tier, parent_code, valid_from, valid_to = row
    tier = Tier.of(tier)
    if valid_from is not None or valid_to is not None:
        valid_from, valid_to = _maybe_day(valid_from), _maybe_day(valid_to)
    values = (code, name, tier, parent_code, valid_from, valid_to)
    if parent_code is None and tier is not Tier.PROVINCE:
        return trusted_fields(Area, _AREA_FIELDS, values)
    return _stored_area(*values)


def _maybe_day(value: Any) -> date | None:
    return None if value is None else _day(value)


def area_values(a: Area) -> tuple[Any, ...]:
    return (a.code, a.name, a.tier._value_, a.parent_code, a.valid_from, a.valid_to)


def area_plain(a: Area) -> dict[str, Any]:
    return plain(a)


ASSIGNMENT_COLUMNS = (*ANCESTORS, "business_key", "cadre_id", "valid_from", "valid_to", "reason")


def assignment_id(a: Assignment) -> tuple[str, str, date]:
    return (a.business_key, a.cadre_id, a.valid_from)


def assignment_key(a: Assignment) -> str:
    return f"{a.business_key}|{a.cadre_id}|{a.valid_from.isoformat()}"


def assignment_values(a: Assignment, codes: AncestorCodes) -> tuple[Any, ...]:
    return (
        *ancestor_values(codes),
        a.business_key,
        a.cadre_id,
        a.valid_from,
        a.valid_to,
        a.reason._value_,
    )


def assignment_plain(a: Assignment) -> dict[str, Any]:
    return plain(a)


def assignment(row: Any) -> Assignment:
    return trusted(
        Assignment,
        cadre_id=row["cadre_id"],
        business_key=row["business_key"],
        valid_from=_day(row["valid_from"]),
        valid_to=maybe(_day, row["valid_to"]),
        reason=AssignmentReason.of(row["reason"]),
    )


def assignment_row_plain(row: Any) -> dict[str, Any]:
    return plain(assignment(row))


def _json(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None


def _task_values(t: SupervisionTask) -> tuple[Any, ...]:
    return (
        t.key,
        t.area_code,
        t.business_key,
        str(t.period),
        t.period.kind._value_,
        t.period.start,
        t.period.end,
        t.seq,
        t.due_on,
        t.cadre_id,
        t.exempt_reason,
        t.visit_id,
        t.credited_to,
    )


def _task_record(row: StoredRow) -> SupervisionTask:
    return trusted(
        SupervisionTask,
        business_key=row["business_key"],
        area_code=row["area_code"],
        period=_period(_day(row["period_start"]), row["period_kind"]),
        seq=row["seq"],
        due_on=_day(row["due_on"]),
        cadre_id=row["cadre_id"],
        exempt_reason=row["exempt_reason"],
        visit_id=row["visit_id"],
        credited_to=row["credited_to"],
    )


@functools.cache
def _period(start: date, kind: str) -> Period:
    return Period(start, PeriodKind.of(kind))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


TASK_FIELDS = (
    "key",
    "area_code",
    "business_key",
    "period",
    "period_kind",
    "period_start",
    "period_end",
    "seq",
    "due_on",
    "cadre_id",
    "exempt_reason",
    "visit_id",
    "credited_to",
)
TASK = Codec(
    columns=(*ANCESTORS, *TASK_FIELDS, "row_hash"),
    fields=TASK_FIELDS,
    key=lambda t: t.key,
    values_of=_task_values,
    record_of=_task_record,
)


def _visit_values(v: Visit) -> tuple[Any, ...]:
    return (
        v.key,
        v.area_code,
        v.business_key,
        v.cadre_id,
        v.visited_on,
        v.recorded_at.isoformat(),
        v.mode._value_,
        v.checklist,
        _json([[code, answer._value_] for code, answer in v.answers]),
        _json(list(v.evidence)),
        _json(list(v.findings)),
        v.late_reason,
    )


def _visit_record(row: StoredRow) -> Visit:
    answers = json.loads(row["answers"]) if row["answers"] else []
    return trusted(  # as written (a text stored before its limit was checked still reads)
        Visit,
        business_key=row["business_key"],
        cadre_id=row["cadre_id"],
        area_code=row["area_code"],
        visited_on=_day(row["visited_on"]),
        recorded_at=datetime.fromisoformat(row["recorded_at"]),
        mode=VisitMode.of(row["mode"]),
        checklist=row["checklist"],
        answers=tuple((code, Answer.of(value)) for code, value in answers),
        evidence=tuple(json.loads(row["evidence"])) if row["evidence"] else (),
        findings=tuple(json.loads(row["findings"])) if row["findings"] else (),
        late_reason=row["late_reason"],
    )


VISIT_FIELDS = (
    "key",
    "area_code",
    "business_key",
    "cadre_id",
    "visited_on",
    "recorded_at",
    "mode",
    "checklist",
    "answers",
    "evidence",
    "findings",
    "late_reason",
)
VISIT = Codec(
    columns=(*ANCESTORS, *VISIT_FIELDS, "row_hash"),
    fields=VISIT_FIELDS,
    key=lambda v: v.key,
    values_of=_visit_values,
    record_of=_visit_record,
)

LETTER_FIELDS = (
    "key",
    "area_code",
    "cadre_id",
    "year",
    "list_hash",
    "businesses",
    "generated_on",
    "signed_on",
    "counterparty",
    "scan_sha256",
)


def _letter_values(x: Letter) -> tuple[Any, ...]:
    return (
        x.key,
        x.area_code,
        x.cadre_id,
        x.year,
        x.list_hash,
        x.businesses,
        x.generated_on,
        x.signed_on,
        x.counterparty,
        x.scan_sha256,
    )


def _letter_record(row: StoredRow) -> Letter:
    return trusted(  # as written: a row stored before a limit was set still reads
        Letter,
        cadre_id=row["cadre_id"],
        area_code=row["area_code"],
        year=row["year"],
        list_hash=row["list_hash"],
        businesses=row["businesses"],
        generated_on=_day(row["generated_on"]),
        signed_on=_day(row["signed_on"]) if row["signed_on"] is not None else None,
        counterparty=row["counterparty"],
        scan_sha256=row["scan_sha256"],
    )


LETTER = Codec(
    columns=(*ANCESTORS, *LETTER_FIELDS, "row_hash"),
    fields=LETTER_FIELDS,
    key=lambda x: x.key,
    values_of=_letter_values,
    record_of=_letter_record,
)


DUTY_FIELDS = (
    "key",
    "area_code",
    "business_key",
    "kind",
    "period_start",
    "on_day",
    "by_role",
    "by_name",
    "zero_risk",
    "findings",
)


def _duty_values(d: DutyRecord) -> tuple[Any, ...]:
    return (
        d.key,
        d.area_code,
        d.business_key,
        d.kind._value_,
        d.period.start,
        d.on,
        d.by_role._value_,
        d.by_name,
        d.zero_risk,
        _json(list(d.findings)),
    )


def _duty_record(row: StoredRow) -> DutyRecord:
    return trusted(
        DutyRecord,
        business_key=row["business_key"],
        area_code=row["area_code"],
        kind=DutyKind.of(row["kind"]),
        on=_day(row["on_day"]),
        by_role=StaffRole.of(row["by_role"]),
        by_name=row["by_name"],
        zero_risk=bool(row["zero_risk"]),
        findings=tuple(json.loads(row["findings"])) if row["findings"] else (),
    )


DUTY = Codec(
    columns=(*ANCESTORS, *DUTY_FIELDS, "row_hash"),
    fields=DUTY_FIELDS,
    key=lambda d: d.key,
    values_of=_duty_values,
    record_of=_duty_record,
)


PROBLEM_FIELDS = (
    "key",
    "area_code",
    "business_key",
    "source",
    "source_ref",
    "description",
    "severity",
    "found_on",
    "reporter",
    "status",
    "deadline",
    "reminders",
    "escalation",
    "verified_by",
    "history",
    "changed_on",
)


def _event_plain(e: ProblemEvent) -> list[Any]:
    deadline = e.deadline.isoformat() if e.deadline else None
    return [
        e.seq,
        e.action._value_,
        e.status._value_,
        e.actor,
        e.at.isoformat(),
        e.note,
        list(e.evidence),
        deadline,
    ]


def _event(problem_id: str, data: list[Any]) -> ProblemEvent:
    seq, action, status, actor, at, note, evidence, deadline = data
    return ProblemEvent(
        problem_id,
        seq,
        Action.of(action),
        ProblemStatus.of(status),
        actor,
        datetime.fromisoformat(at),
        note,
        tuple(evidence),
        maybe(_day, deadline),
    )


def _problem_values(p: Problem) -> tuple[Any, ...]:
    return (
        p.id,
        p.area_code,
        p.business_key,
        p.source._value_,
        p.source_ref,
        p.description,
        p.severity._value_,
        p.found_on,
        p.reporter,
        p.status._value_,
        p.deadline,
        p.reminders,
        p.escalation,
        p.verified_by,
        json.dumps([_event_plain(e) for e in p.history], ensure_ascii=False),
        p.changed_on,
    )


def _problem_record(row: StoredRow) -> Problem:
    key = row["key"]
    return trusted(
        Problem,
        id=key,
        business_key=row["business_key"],
        area_code=row["area_code"],
        source=ProblemSource.of(row["source"]),
        description=row["description"],
        severity=Severity.of(row["severity"]),
        found_on=_day(row["found_on"]),
        reporter=row["reporter"],
        source_ref=row["source_ref"],
        status=ProblemStatus.of(row["status"]),
        deadline=maybe(_day, row["deadline"]),
        reminders=row["reminders"],
        escalation=row["escalation"],
        verified_by=row["verified_by"],
        history=tuple(_event(key, e) for e in json.loads(row["history"])),
    )


PROBLEM = Codec(
    columns=(*ANCESTORS, *PROBLEM_FIELDS, "row_hash"),
    fields=PROBLEM_FIELDS,
    key=lambda p: p.id,
    values_of=_problem_values,
    record_of=_problem_record,
)
