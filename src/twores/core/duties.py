"""Enterprise routines (日管控、周排查、月调度) and the three-persons setup (三人三责).

A business files one record per routine and period: a daily control record for every
operating day, a weekly check report per ISO week and a monthly review per calendar month.
A period is due once it has ended, in the span where it ends (a week across two quarters is
owed once, in the later), by a business that had opened by its last day and was not
suspended before its first.
Who must appoint a food safety director is a rule decision (see the plugin manager's
``requires_director``); this module takes its answer as ``director_required``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date

import attrs

from twores.core.areas import check_date_range
from twores.core.businesses import FoodBusiness, OperatingStatus, StaffMember
from twores.core.errors import InvalidValueError
from twores.core.labels import LabelledEnum
from twores.core.periods import Period, PeriodKind
from twores.core.texts import text_of_at_most

__all__ = [
    "Ban",
    "Compliance",
    "DutyKind",
    "DutyRecord",
    "StaffProblem",
    "StaffRole",
    "banned_until",
    "bans_from_revocations",
    "due_periods",
    "duty_compliance",
    "owes_period",
    "staff_problems",
]


#: The longest filer's name (``duty_records.by_name``) the store keeps.
BY_NAME_MAX = 100


class DutyKind(LabelledEnum):
    """An enterprise routine (Order 60: 日管控、周排查、月调度)."""

    DAILY = ("daily", "日管控", "daily control", ("每日检查", "日检查"))
    WEEKLY = ("weekly", "周排查", "weekly check", ("每周排查",))
    MONTHLY = ("monthly", "月调度", "monthly review", ("每月调度", "月调度会议"))

    @property
    def period_kind(self) -> PeriodKind:
        """The period one record covers: a day, an ISO week or a calendar month."""
        return _PERIOD_KINDS[self]


_PERIOD_KINDS = {
    DutyKind.DAILY: PeriodKind.DAY,
    DutyKind.WEEKLY: PeriodKind.WEEK,
    DutyKind.MONTHLY: PeriodKind.MONTH,
}


class StaffRole(LabelledEnum):
    """The three persons of 三人三责."""

    HEAD = ("head", "主要负责人", "head", ("企业主要负责人", "负责人", "法定代表人"))
    DIRECTOR = ("director", "食品安全总监", "food safety director", ("总监",))
    OFFICER = ("officer", "食品安全员", "food safety officer", ("安全员",))


#: Who may file each routine: daily by the officer (or, escalated, the director or head);
#: weekly by the director or officer; monthly by the head, who hears the director.
FILERS: dict[DutyKind, tuple[StaffRole, ...]] = {
    DutyKind.DAILY: (StaffRole.OFFICER, StaffRole.DIRECTOR, StaffRole.HEAD),
    DutyKind.WEEKLY: (StaffRole.DIRECTOR, StaffRole.OFFICER),
    DutyKind.MONTHLY: (StaffRole.HEAD, StaffRole.DIRECTOR),
}


@attrs.frozen
class DutyRecord:
    """One routine record (《每日食品安全检查记录》, weekly report or monthly minutes).

    ``on`` is the day the record is for; for weekly and monthly records any day inside
    the ISO week or month. A record with ``zero_risk`` (零风险报告) counts like any other.
    """

    business_key: str
    area_code: str
    kind: DutyKind = attrs.field(validator=attrs.validators.instance_of(DutyKind))
    on: date
    by_role: StaffRole = attrs.field(validator=attrs.validators.instance_of(StaffRole))
    by_name: str = attrs.field(validator=text_of_at_most(BY_NAME_MAX))
    zero_risk: bool = False
    findings: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        allowed = FILERS[self.kind]
        if self.by_role not in allowed:
            raise InvalidValueError(
                "by_role",
                self.by_role.value,
                f"{self.kind.zh}记录不能由{self.by_role.zh}填报，应由"
                + "或".join(r.zh for r in allowed)
                + "填报",
                f"a {self.kind.en} record cannot be filed by the {self.by_role.en}; "
                + "expected "
                + " or ".join(f"the {r.en}" for r in allowed),
            )
        if self.zero_risk and self.findings:
            raise InvalidValueError(
                "findings",
                "；".join(self.findings),
                "零风险报告不应列出发现的问题",
                "a zero-risk report lists no findings",
            )

    @property
    def period(self) -> Period:
        return Period.containing(self.kind.period_kind, self.on)

    @property
    def key(self) -> str:
        """One record per business, routine and period; a later one replaces it."""
        return f"{self.business_key}/{self.kind.value}/{self.period}"


@attrs.frozen
class Compliance:
    """How one business kept one routine over a span."""

    kind: DutyKind
    #: Periods in the span where a record was required.
    due: int
    #: Of those, how many have a record.
    kept: int
    #: The due periods without a record, in order.
    missing: tuple[Period, ...]

    @property
    def rate(self) -> float | None:
        """``kept / due``; None when nothing was due."""
        return self.kept / self.due if self.due else None


def due_periods(kind: DutyKind, start: date, end: date) -> list[Period]:
    """The periods of ``kind`` that end within ``[start, end]``: days, ISO weeks or
    calendar months — one still running on ``end`` is not due yet."""
    check_date_range(start, end, "start", "end", strict=False)
    found: list[Period] = []
    period = Period.containing(kind.period_kind, start)
    if period.end < start:
        period = period.next()
    while period.end <= end:
        found.append(period)
        period = period.next()
    return found


def owes_period(business: FoodBusiness, period: Period) -> bool:
    """Whether ``business`` owed a routine record for ``period``: it had opened by the
    period's last day, and was operating or stopped only after the period began."""
    if not business.opened_by(period.end):
        return False
    since = business.status_since
    return business.status is OperatingStatus.OPERATING or (
        since is not None and period.start < since
    )


def duty_compliance(
    records: Iterable[DutyRecord],
    kind: DutyKind,
    start: date,
    end: date,
    *,
    owes: Callable[[Period], bool] = lambda period: True,
) -> Compliance:
    """Compliance with ``kind`` over its periods that end within ``[start, end]``
    (:func:`due_periods`) and that ``owes`` says the business owed.

    Weekly periods are ISO weeks and monthly ones calendar months: one the span's start cuts
    counts whole (its records from before ``start`` count), one still running on ``end``
    not yet. Records of other kinds are ignored; a record counts for the period it falls
    in. Records must belong to one business.
    """
    filed: set[Period] = set()
    keys: set[str] = set()
    for record in records:
        if record.kind is kind:
            filed.add(record.period)
            keys.add(record.business_key)
    if len(keys) > 1:
        raise InvalidValueError(
            "business_key",
            "、".join(sorted(keys)),
            "记录属于多个主体，应逐个主体统计",
            "records belong to several businesses; count one business at a time",
        )
    due = 0
    missing: list[Period] = []
    for period in due_periods(kind, start, end):
        if owes(period):
            due += 1
            if period not in filed:
                missing.append(period)
    return Compliance(kind=kind, due=due, kept=due - len(missing), missing=tuple(missing))


@attrs.frozen
class StaffProblem:
    """A gap in a business's three-persons setup."""

    business_key: str
    role: StaffRole
    #: ``missing_officer``, ``missing_director`` or ``banned``.
    code: str
    zh: str
    en: str

    def message(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


#: Years the people responsible for a business whose licence was revoked may not manage
#: food safety at a business (食品安全法 第一百三十五条).
BAN_YEARS = 5


#: The first and last day of a ban.
Ban = tuple[date, date]


def bans_from_revocations(businesses: Iterable[FoodBusiness]) -> dict[str, Ban]:
    """ID number -> the ban (first and last day) of each head, director or officer of a
    business whose licence was revoked (吊销): from the revocation day (``status_since``)
    for five years. As 民法典 第二百零一、二百零二条 count a period of years: the day of the
    decision is not counted, and the period ends on the same day of the month five years on
    (the month's last day when that month has no such day). A person at several revoked
    businesses: overlapping bans join; of bans apart, the latest is kept."""
    found: dict[str, Ban] = {}
    for business in businesses:
        since = business.status_since
        if business.status is not OperatingStatus.REVOKED or since is None:
            continue
        ban = (since, _years_after(since, BAN_YEARS))
        staff = business.staff
        for member in (staff.head, staff.director, staff.officer):
            if member is not None and member.id_number:
                known = found.get(member.id_number)
                found[member.id_number] = ban if known is None else _joined(known, ban)
    return found


def _joined(one: Ban, other: Ban) -> Ban:
    first, later = sorted((one, other))
    if later[0] <= first[1]:  # overlapping: one ban
        return (first[0], max(first[1], later[1]))
    return later


def banned_until(
    member: StaffMember, on: date, bans: Mapping[str, Ban] | None = None
) -> date | None:
    """The last day of the ban ``member`` is under on ``on``, if any: the date recorded with
    them (banned through it), or a ban of ``bans`` (:func:`bans_from_revocations`, by ID
    number) that has begun by ``on``."""
    recorded = member.banned_until
    found = [recorded] if recorded is not None and on <= recorded else []
    ban = bans.get(member.id_number) if bans and member.id_number else None
    if ban is not None and ban[0] <= on <= ban[1]:
        found.append(ban[1])
    return max(found, default=None)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none: the month's last day
        return day.replace(year=day.year + years, day=28)


def staff_problems(
    business: FoodBusiness,
    on: date,
    director_required: bool,
    bans: Mapping[str, Ban] | None = None,
) -> list[StaffProblem]:
    """What is wrong with ``business``'s director and officer on ``on``.

    Every in-scope business (operating or suspended) needs an officer; it needs a director
    when ``director_required`` (pass ``plugins.requires_director(business, on).value``).
    Nobody banned on ``on`` (the 5-year ban: the date recorded with the person, or from
    ``bans``, :func:`bans_from_revocations`, by ID number, once begun) may serve as
    director or officer. A business not open, or closed or revoked, on ``on`` has no
    problems (its status on that day, not today's).
    """
    if not business.in_scope_on(on):
        return []
    problems: list[StaffProblem] = []
    staff = business.staff
    for role, member, required in (
        (StaffRole.DIRECTOR, staff.director, director_required),
        (StaffRole.OFFICER, staff.officer, True),
    ):
        if member is None and required:
            problems.append(
                StaffProblem(
                    business.key,
                    role,
                    f"missing_{role.value}",
                    f"须配备{role.zh}但未配备",
                    f"a {role.en} is required but none is appointed",
                )
            )
        elif member is not None and (until_day := banned_until(member, on, bans)) is not None:
            until = until_day.isoformat()
            problems.append(
                StaffProblem(
                    business.key,
                    role,
                    "banned",
                    f"{role.zh}{member.name}在禁业期内（至{until}），不得担任{role.zh}",
                    f"{role.en} {member.name} is banned until {until} and may not serve",
                )
            )
    return problems
